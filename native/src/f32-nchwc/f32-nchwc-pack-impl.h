/*
 * f32-nchwc-pack-impl.h — the body of the SIMD nChw<block>c pack kernels, shared by
 * the per-ISA files, which define:
 *   IC_B (block = lanes), IC_V, IC_VZERO(), IC_VLOAD(p), IC_VSTORE(p, v), IC_VADD(a, b),
 *   IC_VDIV(a, b), IC_VSET1(x), IC_LOADN(p, n) / IC_STOREN(p, v, n) (the first n lanes; the
 *   others read as 0 and are not written), IC_TRANSPOSE(in, out), IC_PACK_FN.
 *
 * Planar rows (NCHW) are transposed in IC_B x IC_B tiles; pixel vectors whose channels are
 * contiguous (NHWC) are copied as they are.
 */
#ifndef IC_PACK_FN
#error "define the vector operations and IC_PACK_FN before including this file"
#endif

void IC_PACK_FN(const ic_f32_nchwc_pack_args_t* a) {
  const int64_t width = a->width;
  float* dst = a->dst;
  for (int64_t i = 0; i < a->pad_left; i++) IC_VSTORE(dst + i * IC_B, IC_VZERO());
  float* out = dst + a->pad_left * IC_B;
  const float* src = a->src;
  if (a->src_stride_c == 1) {
    for (int64_t x = 0; x < width; x++) IC_VSTORE(out + x * IC_B, IC_VLOAD(src + x * a->src_stride_w));
  } else if (a->src_stride_w == 1) {
    for (int64_t x0 = 0; x0 < width; x0 += IC_B) {
      const int64_t n = width - x0 < IC_B ? width - x0 : IC_B;
      IC_V rows[IC_B], pixels[IC_B];
#pragma GCC unroll 16
      for (int c = 0; c < IC_B; c++) rows[c] = IC_LOADN(src + c * a->src_stride_c + x0, n);
      IC_TRANSPOSE(rows, pixels);
#pragma GCC unroll 16
      for (int i = 0; i < IC_B; i++) {
        if (i < n) IC_VSTORE(out + (x0 + i) * IC_B, pixels[i]);
      }
    }
  } else {
    for (int64_t x = 0; x < width; x++) {
#pragma GCC unroll 16
      for (int c = 0; c < IC_B; c++) {
        out[x * IC_B + c] = src[c * a->src_stride_c + x * a->src_stride_w];
      }
    }
  }
  float* right = out + width * IC_B;
  for (int64_t i = 0; i < a->pad_right; i++) IC_VSTORE(right + i * IC_B, IC_VZERO());
}

