/*
 * The SIMD transpose kernels' one body, included by the per-ISA files
 * (f32-transpose-16x16-avx512.c, f32-transpose-8x8-avx2.c) after the ISA's vector vocabulary
 * (simd-<isa>.h) and:
 *   IC_M (a lane mask), IC_MASK_RANGE(lo, hi) (lanes [lo, hi)), IC_VMASKLOAD(p, m) (0 in
 *   masked-off lanes), IC_VMASKSTORE(p, m, v), IC_TRANSPOSE(r) (r[i] holds row i of an
 *   IC_VL x IC_VL block; afterwards column i), IC_VACT(v, activation), IC_TRANSPOSE_FN.
 * Blocks of IC_VL x IC_VL in registers: IC_VL rows of the source loaded, transposed, and
 * stored as IC_VL rows of the destination; edge blocks with masks (full ones without: masked
 * stores are slow on AVX2).
 */
#include "internal.h"
#include "ukernels.h"

IC_INLINE void ic_transpose_block(const ic_f32_transpose_args_t* a, int64_t r, int64_t c,
                                  const bool full, const bool plain) {
  const int64_t nr = ic_min_i64(IC_VL, a->r1 - r), nc = ic_min_i64(IC_VL, a->c1 - c);
  const IC_M rows = IC_MASK_RANGE(0, nr), cols = IC_MASK_RANGE(0, nc);
  IC_V v[IC_VL];
  /* Constant indices into v throughout: it stays in registers. */
  IC_UNROLL for (int i = 0; i < IC_VL; i++) {
    const float* p = a->src + (r + i) * a->src_stride + c;
    v[i] = full ? IC_VLOAD(p) : i < nr ? IC_VMASKLOAD(p, cols) : IC_VZERO();
  }
  IC_TRANSPOSE(v);
  IC_UNROLL for (int j = 0; j < IC_VL; j++) {
    if (!full && j >= nc) break;
    const int64_t at = (c + j) * a->dst_stride + r;
    IC_V y = v[j];
    if (!plain) {
      if (a->residual != NULL) {
        y = IC_VADD(y, full ? IC_VLOAD(a->residual + at) : IC_VMASKLOAD(a->residual + at, rows));
      }
      y = IC_VACT(y, a->activation);
    }
    if (full) {
      IC_VSTORE(a->dst + at, y);
    } else {
      IC_VMASKSTORE(a->dst + at, rows, y);
    }
  }
}

void IC_TRANSPOSE_FN(const ic_f32_transpose_args_t* a) {
  const bool plain = a->residual == NULL && a->activation == IC_ACTIVATION_NONE;
  for (int64_t r = a->r0; r < a->r1; r += IC_VL) {
    for (int64_t c = a->c0; c < a->c1; c += IC_VL) {
      const bool full = r + IC_VL <= a->r1 && c + IC_VL <= a->c1;
      if (full && plain) {
        ic_transpose_block(a, r, c, true, true);
      } else if (full) {
        ic_transpose_block(a, r, c, true, false);
      } else {
        ic_transpose_block(a, r, c, false, plain);
      }
    }
  }
}
