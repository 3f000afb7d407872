/*
 * Packing of depthwise weights for channel-contiguous images (layout in ukernels.h): each tap's
 * weights as one row over the output channels, so that a vector of 16 channels is one load.
 */
#include "internal.h"
#include "ukernels.h"

int64_t ic_f32_dwconv2d_packed_floats(int64_t out_channels, int64_t taps) {
  return ic_mul_saturate(ic_divide_round_up(out_channels, 16) * 16, taps);
}

void ic_f32_dwconv2d_pack_weights(int64_t out_channels, int64_t taps, const float* weights,
                                  float* packed) {
  const int64_t padded = ic_divide_round_up(out_channels, 16) * 16;
  for (int64_t t = 0; t < taps; t++) {
    for (int64_t o = 0; o < padded; o++) {
      packed[t * padded + o] = o < out_channels ? weights[o * taps + t] : 0.0f;
    }
  }
}
