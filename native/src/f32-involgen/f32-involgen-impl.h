/*
 * f32-involgen-impl.h — the body of the SIMD kernel-generation GEMMs (planar 1x1 convolution,
 * see ic_f32_involgen_args_t), shared by the per-ISA files, which define:
 *   IC_VW (lanes), IC_MR (output channels per block), IC_NV (pixel vectors per block), IC_V,
 *   IC_MASK (a lane mask type), IC_MASKN(n), IC_VZERO(), IC_VSET1(x), IC_VBCAST(p),
 *   IC_VLOAD(p), IC_VLOADM(p, m), IC_VSTORE(p, v), IC_VSTOREM(p, m, v), IC_VFMA(a, b, c),
 *   IC_VMAX(a, b), IC_VMIN(a, b), IC_GEN_FN.
 *
 * A block is IC_MR output channels x IC_NV vectors of pixels in registers; per input channel
 * it loads IC_NV pixel vectors and broadcasts IC_MR weights. Pixel blocks are the outer loop,
 * so a block's input columns stay in L1 while every output channel passes over them. Each
 * output starts from its bias and adds the channels in order with fused multiply-adds.
 *
 * The optional ahead region (the next call's weights) is prefetched to L2 a share before each
 * block, so that the fetch overlaps this call's arithmetic: Involution2d's span weights are
 * 25 KB per group in RedNet's last stage (800 KB a module) and come from memory in a network
 * (stage-4 modules 0.21 -> 0.20 ms with the input and weights evicted; in RedNet-50 its
 * involutions together 0.14 ms faster, 15 of 16 lower).
 */
#ifndef IC_GEN_FN
#error "define the vector operations and IC_GEN_FN before including f32-involgen-impl.h"
#endif


/* One block: MR output channels from `w` (rows cin apart) x NV pixel vectors from x; the
 * arguments are values, so that the stores cannot make the compiler reload them. */
IC_INLINE void ic_gen_block(const int MR, const int NV, const float* w0, int64_t cin,
                            const float* bias, int32_t activation, const float* x,
                            int64_t x_stride, float* y, int64_t y_stride, IC_MASK last) {
  IC_V acc[IC_MR][IC_NV];
  const float* w[IC_MR];
#pragma GCC unroll 8
  for (int i = 0; i < MR; i++) {
    const IC_V b = bias != NULL ? IC_VSET1(bias[i]) : IC_VZERO();
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) acc[i][v] = b;
    w[i] = w0 + i * cin;
    __asm__("" : "+r"(w[i]));
  }
  for (int64_t c = 0; c < cin; c++) {
    IC_V in[IC_NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) {
      in[v] = v == NV - 1 ? IC_VLOADM(x + v * IC_VW, last) : IC_VLOAD(x + v * IC_VW);
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
      const IC_V wv = IC_VBCAST(w[i] + c);
#pragma GCC unroll 8
      for (int v = 0; v < NV; v++) acc[i][v] = IC_VFMA(wv, in[v], acc[i][v]);
    }
    x += x_stride;
  }
  const IC_V zero = IC_VZERO(), six = IC_VSET1(6.0f);
#pragma GCC unroll 8
  for (int i = 0; i < MR; i++) {
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) {
      IC_V r = acc[i][v];
      if (activation != IC_ACTIVATION_NONE) r = IC_VMAX(zero, r); /* NaN passes */
      if (activation == IC_ACTIVATION_RELU6) r = IC_VMIN(six, r);
      if (v == NV - 1) {
        IC_VSTOREM(y + i * y_stride + v * IC_VW, last, r);
      } else {
        IC_VSTORE(y + i * y_stride + v * IC_VW, r);
      }
    }
  }
}

#define IC_GEN_BLOCK(MR, NV)                                                             \
  ic_gen_block(MR, NV, weights + o0 * cin, cin, bias != NULL ? bias + o0 : NULL, activation, \
               src + q0, src_stride, dst + o0 * dst_stride + q0, dst_stride, last)

#define IC_GEN_ROWS(NV)                                                                  \
  for (int64_t o0 = 0; o0 < out_channels; o0 += IC_MR) {                                 \
    for (int64_t l = 0; l < ahead_share && ahead_at < ahead_floats; l++, ahead_at += 16) \
      IC_PREFETCH_L2(a->ahead_weights + ahead_at);                                       \
    switch (out_channels - o0 < IC_MR ? out_channels - o0 : IC_MR) {                     \
      case 1: IC_GEN_BLOCK(1, NV); break;                                                \
      case 2: IC_GEN_BLOCK(2, NV); break;                                                \
      case 3: IC_GEN_BLOCK(3, NV); break;                                                \
      case 4: IC_GEN_BLOCK(4, NV); break;                                                \
      IC_GEN_ROWS_MORE(NV)                                                               \
      default: break;                                                                    \
    }                                                                                    \
  }

void IC_GEN_FN(const ic_f32_involgen_args_t* a) {
  const int64_t block = (int64_t)IC_NV * IC_VW, pixels = a->pixels;
  const int64_t cin = a->in_channels, out_channels = a->out_channels;
  const int64_t src_stride = a->src_stride_c, dst_stride = a->dst_stride_c;
  const float* weights = a->weights;
  const float* bias = a->bias;
  const float* src = a->src;
  float* dst = a->dst;
  const int32_t activation = a->activation;
  /* The ahead region's lines, a share before each block of output channels. */
  const int64_t ahead_floats = a->ahead_weights != NULL ? a->ahead_floats : 0;
  const int64_t blocks = (pixels + block - 1) / block * ((out_channels + IC_MR - 1) / IC_MR);
  const int64_t ahead_share = blocks > 0 ? (ahead_floats / 16 + blocks) / blocks : 0;
  int64_t ahead_at = 0;
  for (int64_t q0 = 0; q0 < pixels; q0 += block) {
    const int64_t n = pixels - q0 < block ? pixels - q0 : block;
    const int64_t vectors = (n + IC_VW - 1) / IC_VW;
    const IC_MASK last = IC_MASKN(n - (vectors - 1) * IC_VW);
    switch (vectors) {
      case 1: IC_GEN_ROWS(1) break;
      case 2: IC_GEN_ROWS(2) break;
      case 3: IC_GEN_ROWS(3) break;
      IC_GEN_VECTORS_MORE
      default: break;
    }
  }
}
