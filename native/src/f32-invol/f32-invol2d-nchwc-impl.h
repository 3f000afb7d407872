/*
 * f32-invol2d-nchwc-impl.h — the body of the SIMD involution aggregation kernels on
 * channel-blocked rows, shared by the per-ISA files (f32-invol2d-nchwc-*-avx2.c, -avx512.c),
 * which define the vector operations and include this once:
 *
 *   IC_BLOCK           channels per vector (8, 16)        IC_V        the vector type
 *   IC_PMAX            pixels of the main segment         IC_AGG_FN   the kernel's symbol
 *   IC_VZERO() IC_VLOAD(p) IC_VSTORE(p, v) IC_VSET1(x) IC_VBCAST(p) (broadcast *p)
 *   IC_VFMA(a, b, c) (a * b + c, fused) IC_VMAX(a, b) IC_VMIN(a, b) (x86 semantics: the second
 *   operand when either is NaN)
 *
 * The input columns are src_stride_w floats apart: `block` in packed rows, C when the operator
 * reads an NHWC image in place. One output pixel of one channel block is one vector; a segment
 * keeps P of them in registers (P = IC_PMAX, then 7, 4, 2, 1 for the rest of a row, so nothing
 * outside the segment is read or written). For each kernel row, the specialised segments walk the
 * input columns once, left to right: each input vector is loaded once and multiplied into every
 * pixel whose tap reads it, with the per-pixel weight broadcast from the kernels buffer (an
 * embedded broadcast on AVX-512). Every pixel still sums its taps in (kh, kw) order from +0, so
 * all segment shapes, and the generic segment, give identical results.
 *
 * Specialised: K = 3, 5, 7 with stride 1 or 2, dilation 1, and pixel-contiguous kernels
 * (kernels_stride_p == 1: NCHW kernels and Involution2d's generated tiles). Anything else runs
 * the generic segment (runtime K, stride, dilation, both kernel strides), which loads the input
 * vector of each tap.
 */
#ifndef IC_AGG_FN
#error "define the vector operations and IC_AGG_FN before including f32-invol2d-nchwc-impl.h"
#endif

#include <stdbool.h>


typedef struct ic_agg_epilogue {
  IC_V scale, shift;
  bool affine;
  int32_t activation;
} ic_agg_epilogue_t;

IC_INLINE void ic_agg_store(const ic_f32_invol2d_nchwc_args_t* a, const ic_agg_epilogue_t* e,
                            IC_V v, int64_t pixel) {
  if (e->affine) v = IC_VFMA(v, e->scale, e->shift);
  if (e->activation != IC_ACTIVATION_NONE) {
    v = IC_VMAX(IC_VZERO(), v); /* NaN passes (x86 max returns the second operand) */
    if (e->activation == IC_ACTIVATION_RELU6) v = IC_VMIN(IC_VSET1(6.0f), v);
  }
  IC_VSTORE(a->dst + pixel * a->dst_stride_p, v);
}

/* P pixels from pixel x, compile-time K, S (stride), D (dilation), kernels_stride_p == 1. */
IC_INLINE void ic_agg_segment(const int K, const int S, const int D, const int P,
                              const ic_f32_invol2d_nchwc_args_t* a, const ic_agg_epilogue_t* e,
                              int64_t x) {
  IC_V acc[IC_PMAX];
#pragma GCC unroll 16
  for (int p = 0; p < P; p++) acc[p] = IC_VZERO();
  const int64_t rows = a->kh1 - a->kh0, ts = a->kernels_stride_t, sw = a->src_stride_w;
  const float* in = a->src + x * S * sw;
  const float* kr = a->kernels + x;
  for (int64_t r = 0; r < rows; r++) {
    /* One pointer per kernel column; the empty asm keeps the compiler from folding them into
     * one precomputed offset per (column, pixel), which would not fit in registers. */
    const float* kp[16];
#pragma GCC unroll 16
    for (int kw = 0; kw < K; kw++) {
      kp[kw] = kr + kw * ts;
      __asm__("" : "+r"(kp[kw]));
    }
    /* The input columns one after another, sw floats apart: one add per column (the compiler's
     * precomputed j * sw offsets for a run-time sw spilled to the stack). */
    const float* column = in;
#pragma GCC unroll 64
    for (int j = 0; j < (P - 1) * S + (K - 1) * D + 1; j++) {
      const IC_V v = IC_VLOAD(column);
      column += sw;
      __asm__("" : "+r"(column));
#pragma GCC unroll 16
      for (int kw = 0; kw < K; kw++) {
        const int offset = j - kw * D;
        if (offset < 0 || offset % S != 0 || offset / S >= P) continue;
        const int p = offset / S;
        acc[p] = IC_VFMA(v, IC_VBCAST(kp[kw] + p), acc[p]);
      }
    }
    in += D * a->src_stride_h;
    kr += K * ts;
  }
#pragma GCC unroll 16
  for (int p = 0; p < P; p++) ic_agg_store(a, e, acc[p], x + p);
}

/* P pixels from pixel x, everything at run time. */
IC_INLINE void ic_agg_segment_generic(const int P, const ic_f32_invol2d_nchwc_args_t* a,
                                      const ic_agg_epilogue_t* e, int64_t x) {
  IC_V acc[IC_PMAX];
#pragma GCC unroll 16
  for (int p = 0; p < P; p++) acc[p] = IC_VZERO();
  const int64_t k = a->kernel_size, s = a->stride, d = a->dilation;
  const int64_t rows = a->kh1 - a->kh0, ts = a->kernels_stride_t, ps = a->kernels_stride_p;
  const int64_t sw = a->src_stride_w, step = s * sw;
  for (int64_t r = 0; r < rows; r++) {
    const float* in_row = a->src + r * d * a->src_stride_h + x * step;
    const float* k_row = a->kernels + r * k * ts + x * ps;
    for (int64_t kw = 0; kw < k; kw++) {
      const float* in = in_row + kw * d * sw;
      const float* kp = k_row + kw * ts;
#pragma GCC unroll 16
      for (int p = 0; p < P; p++) {
        acc[p] = IC_VFMA(IC_VLOAD(in + p * step), IC_VBCAST(kp + p * ps), acc[p]);
      }
    }
  }
#pragma GCC unroll 16
  for (int p = 0; p < P; p++) ic_agg_store(a, e, acc[p], x + p);
}

/* A row of pixels as segments of IC_PMAX, then 7, 4, 2, 1. */
#define IC_AGG_ROW(SEGMENT, K, S)                                  \
  int64_t x = 0;                                                   \
  const int64_t n = a->pixels;                                     \
  for (; n - x >= IC_PMAX; x += IC_PMAX) SEGMENT(K, S, IC_PMAX);   \
  if (n - x >= 7) SEGMENT(K, S, 7), x += 7;                        \
  if (n - x >= 4) SEGMENT(K, S, 4), x += 4;                        \
  if (n - x >= 2) SEGMENT(K, S, 2), x += 2;                        \
  if (n - x >= 1) SEGMENT(K, S, 1);

#define IC_AGG_SPECIALISED(K, S, P) ic_agg_segment(K, S, 1, P, a, e, x)
#define IC_AGG_GENERIC(K, S, P) ic_agg_segment_generic(P, a, e, x)

#define IC_DEFINE_AGG_ROW(K, S)                                                \
  static void ic_agg_row_k##K##s##S(const ic_f32_invol2d_nchwc_args_t* a,      \
                                    const ic_agg_epilogue_t* e) {              \
    IC_AGG_ROW(IC_AGG_SPECIALISED, K, S)                                       \
  }

IC_DEFINE_AGG_ROW(3, 1)
IC_DEFINE_AGG_ROW(3, 2)
IC_DEFINE_AGG_ROW(5, 1)
IC_DEFINE_AGG_ROW(5, 2)
IC_DEFINE_AGG_ROW(7, 1)
IC_DEFINE_AGG_ROW(7, 2)

static void ic_agg_row_generic(const ic_f32_invol2d_nchwc_args_t* a,
                               const ic_agg_epilogue_t* e) {
  IC_AGG_ROW(IC_AGG_GENERIC, 0, 0)
}

void IC_AGG_FN(const ic_f32_invol2d_nchwc_args_t* a) {
  ic_agg_epilogue_t e;
  e.affine = a->scale != NULL;
  e.scale = e.affine ? IC_VLOAD(a->scale) : IC_VZERO();
  e.shift = e.affine ? IC_VLOAD(a->shift) : IC_VZERO();
  e.activation = a->activation;
  if (a->kernels_stride_p == 1 && a->dilation == 1 && a->stride <= 2) {
    const int64_t key = a->kernel_size * 10 + a->stride;
    switch (key) {
      case 31: ic_agg_row_k3s1(a, &e); return;
      case 32: ic_agg_row_k3s2(a, &e); return;
      case 51: ic_agg_row_k5s1(a, &e); return;
      case 52: ic_agg_row_k5s2(a, &e); return;
      case 71: ic_agg_row_k7s1(a, &e); return;
      case 72: ic_agg_row_k7s2(a, &e); return;
      default: break;
    }
  }
  ic_agg_row_generic(a, &e);
}
