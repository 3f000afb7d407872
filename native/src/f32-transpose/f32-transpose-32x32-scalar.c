/*
 * ic_f32_transpose_ukernel_32x32__scalar — the rectangle in 32 x 32 tiles, so that the rows
 * read and the rows written stay in L1 while a tile is copied.
 */
#include "internal.h"
#include "ukernels.h"

enum { IC_TILE = 32 };

void ic_f32_transpose_ukernel_32x32__scalar(const ic_f32_transpose_args_t* a) {
  const bool plain = a->residual == NULL && a->activation == IC_ACTIVATION_NONE;
  for (int64_t rt = a->r0; rt < a->r1; rt += IC_TILE) {
    const int64_t rt1 = ic_min_i64(rt + IC_TILE, a->r1);
    for (int64_t ct = a->c0; ct < a->c1; ct += IC_TILE) {
      const int64_t ct1 = ic_min_i64(ct + IC_TILE, a->c1);
      for (int64_t c = ct; c < ct1; c++) {
        float* dst = a->dst + c * a->dst_stride;
        if (plain) {
          for (int64_t r = rt; r < rt1; r++) dst[r] = a->src[r * a->src_stride + c];
          continue;
        }
        const float* res = a->residual != NULL ? a->residual + c * a->dst_stride : NULL;
        for (int64_t r = rt; r < rt1; r++) {
          const float v = a->src[r * a->src_stride + c] + (res != NULL ? res[r] : 0.0f);
          dst[r] = ic_activate(v, a->activation);
        }
      }
    }
  }
}
