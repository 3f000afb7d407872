/*
 * f32-nchwc-unpack-impl.h — the body of the SIMD nChw<block>c unpack kernels, shared by
 * the per-ISA files, which define:
 *   IC_B (block = lanes), IC_V, IC_VZERO(), IC_VLOAD(p), IC_VSTORE(p, v), IC_VADD(a, b),
 *   IC_VDIV(a, b), IC_VSET1(x), IC_LOADN(p, n) / IC_STOREN(p, v, n) (the first n lanes; the
 *   others read as 0 and are not written), IC_TRANSPOSE(in, out), IC_UNPACK_FN.
 *
 * Planar rows (NCHW) are transposed in IC_B x IC_B tiles; pixel vectors whose channels are
 * contiguous (NHWC) are copied as they are.
 */
#ifndef IC_UNPACK_FN
#error "define the vector operations and IC_UNPACK_FN before including this file"
#endif

void IC_UNPACK_FN(const ic_f32_nchwc_unpack_args_t* a) {
  const int64_t s = a->pool, sw = a->src_stride_w, sh = a->src_stride_h;
  const IC_V area = IC_VSET1((float)(s * s));
  for (int64_t q0 = 0; q0 < a->pixels; q0 += IC_B) {
    const int64_t n = a->pixels - q0 < IC_B ? a->pixels - q0 : IC_B;
    IC_V pixels[IC_B], planes[IC_B];
#pragma GCC unroll 16
    for (int i = 0; i < IC_B; i++) {
      if (i >= n) {
        pixels[i] = IC_VZERO();
        continue;
      }
      const float* p = a->src + (q0 + i) * s * sw;
      if (s == 1) {
        pixels[i] = IC_VLOAD(p);
        continue;
      }
      IC_V sum = IC_VZERO();
      for (int64_t j = 0; j < s; j++) {
        IC_V column = IC_VLOAD(p + j * sw);
        for (int64_t r = 1; r < s; r++) column = IC_VADD(column, IC_VLOAD(p + j * sw + r * sh));
        sum = j == 0 ? column : IC_VADD(sum, column);
      }
      pixels[i] = IC_VDIV(sum, area);
    }
    IC_TRANSPOSE(pixels, planes);
#pragma GCC unroll 16
    for (int c = 0; c < IC_B; c++) IC_STOREN(a->dst + c * a->dst_stride_c + q0, planes[c], n);
  }
}
