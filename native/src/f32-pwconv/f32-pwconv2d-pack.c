/*
 * Packing of pointwise weights for the SIMD kernels (layout in ukernels.h): done once, at
 * create, by the operators that use f32-pwconv/ kernels.
 */
#include "internal.h"
#include "ukernels.h"

int64_t ic_f32_pwconv2d_packed_floats(int64_t in_channels, int64_t out_channels) {
  return ic_mul_saturate(ic_divide_round_up(out_channels, 16) * 16, in_channels);
}

void ic_f32_pwconv2d_pack_weights(int64_t in_channels, int64_t out_channels,
                                  const float* weights, float* packed) {
  const int64_t blocks = ic_divide_round_up(out_channels, 16);
  for (int64_t ob = 0; ob < blocks; ob++) {
    for (int64_t c = 0; c < in_channels; c++) {
      float* lanes = packed + (ob * in_channels + c) * 16;
      for (int64_t lane = 0; lane < 16; lane++) {
        const int64_t o = ob * 16 + lane;
        lanes[lane] = o < out_channels ? weights[o * in_channels + c] : 0.0f;
      }
    }
  }
}
