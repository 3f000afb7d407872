/*
 * The Winograd kernels' weights (layout in ukernels.h): U = G g G^T for every 3x3 kernel g,
 * computed in double and rounded once, then each of the 36 positions packed as a pointwise
 * weight matrix. Done once, at create.
 */
#include <stdlib.h>

#include "internal.h"
#include "ukernels.h"

static const double ic_wino_g[6][3] = {
    {1.0 / 4, 0.0, 0.0},
    {-1.0 / 6, -1.0 / 6, -1.0 / 6},
    {-1.0 / 6, 1.0 / 6, -1.0 / 6},
    {1.0 / 24, 1.0 / 12, 1.0 / 6},
    {1.0 / 24, -1.0 / 12, 1.0 / 6},
    {0.0, 0.0, 1.0},
};

int64_t ic_f32_winograd_packed_floats(int64_t in_channels, int64_t out_channels) {
  return ic_mul_saturate(IC_WINOGRAD_POSITIONS,
                         ic_f32_pwconv2d_packed_floats(in_channels, out_channels));
}

int64_t ic_f32_winograd_scratch_floats(int64_t tiles, int64_t in_channels, int64_t out_channels) {
  const int64_t channels =
      in_channels > INT64_MAX - out_channels ? INT64_MAX : in_channels + out_channels;
  return ic_mul_saturate(ic_mul_saturate(IC_WINOGRAD_POSITIONS, tiles), channels);
}

bool ic_f32_winograd_pack_weights(int64_t in_channels, int64_t out_channels,
                                  const float* weights, float* packed) {
  const int64_t count = in_channels * out_channels;
  float* matrix = malloc((size_t)count * IC_WINOGRAD_POSITIONS * sizeof(float));
  if (matrix == NULL) return false;
  for (int64_t k = 0; k < count; k++) { /* k = o * in_channels + c */
    const float* g = weights + k * 9;
    double gg[6][3]; /* G g */
    for (int i = 0; i < 6; i++) {
      for (int b = 0; b < 3; b++) {
        gg[i][b] = 0.0;
        for (int r = 0; r < 3; r++) gg[i][b] += ic_wino_g[i][r] * g[r * 3 + b];
      }
    }
    for (int i = 0; i < 6; i++) {
      for (int j = 0; j < 6; j++) {
        double u = 0.0;
        for (int b = 0; b < 3; b++) u += gg[i][b] * ic_wino_g[j][b];
        matrix[(i * 6 + j) * count + k] = (float)u;
      }
    }
  }
  const int64_t stride = ic_f32_pwconv2d_packed_floats(in_channels, out_channels);
  for (int64_t xi = 0; xi < IC_WINOGRAD_POSITIONS; xi++) {
    ic_f32_pwconv2d_pack_weights(in_channels, out_channels, matrix + xi * count,
                                 packed + xi * stride);
  }
  free(matrix);
  return true;
}
