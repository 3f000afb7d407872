/*
 * The Winograd F(4x4, 3x3) kernels' one body, included by the per-ISA files
 * (f32-winograd-4x4-3x3-16c-avx512.c, -8c-avx2.c, -1c-scalar.c) after they define the vector
 * vocabulary (simd-<isa>.h, or plain floats for scalar: IC_V, IC_VL, IC_VZERO, IC_VSET1,
 * IC_VLOAD, IC_VSTORE, IC_VADD, IC_VSUB, IC_VFMA) and:
 *   IC_M (a lane mask), IC_MASK_RANGE(lo, hi), IC_VMASKLOAD(p, m) (0 in masked-off lanes),
 *   IC_VMASKSTORE(p, m, v), IC_VACT(v, activation),
 *   IC_WINO_GEMM (a function taking ic_f32_pwconv2d_args_t*: the pointwise kernel of the ISA,
 *   which reads packed weights from a channel-contiguous source),
 *   IC_WINO_FN (the kernel's name).
 *
 * Vectors run along channels: every step below works on IC_VL channels of one tile at once,
 * so the transforms are plain adds and FMAs with constants, the same in every lane.
 *
 * Transform matrices (Lavin & Gray 2016, interpolation points 0, 1, -1, 2, -2, infinity):
 *   B^T = | 4  0 -5  0  1  0 |   G = | 1/4     0     0   |   A^T = | 1  1  1  1  1  0 |
 *         | 0 -4 -4  1  1  0 |       | -1/6  -1/6  -1/6  |         | 0  1 -1  2 -2  0 |
 *         | 0  4 -4 -1  1  0 |       | -1/6   1/6  -1/6  |         | 0  1  1  4  4  0 |
 *         | 0 -2 -1  2  1  0 |       | 1/24  1/12  1/6   |         | 0  1 -1  8 -8  1 |
 *         | 0  2 -1 -2  1  0 |       | 1/24 -1/12  1/6   |
 *         | 0  4  0 -5  0  1 |       | 0      0     1    |
 * G is applied to the weights at create (f32-winograd-pack.c).
 */
#include "internal.h"
#include "ukernels.h"

/* w = B^T d for six vectors d. */
IC_INLINE void ic_wino_input_1d(const IC_V d[6], IC_V w[6]) {
  const IC_V four = IC_VSET1(4.0f), minus_four = IC_VSET1(-4.0f);
  const IC_V two = IC_VSET1(2.0f), minus_two = IC_VSET1(-2.0f), minus_five = IC_VSET1(-5.0f);
  const IC_V d12 = IC_VADD(d[1], d[2]), d34 = IC_VADD(d[3], d[4]);
  const IC_V d1m2 = IC_VSUB(d[1], d[2]), d4m3 = IC_VSUB(d[4], d[3]);
  const IC_V d3m1 = IC_VSUB(d[3], d[1]), d4m2 = IC_VSUB(d[4], d[2]);
  w[0] = IC_VFMA(four, d[0], IC_VFMA(minus_five, d[2], d[4]));
  w[1] = IC_VFMA(minus_four, d12, d34);
  w[2] = IC_VFMA(four, d1m2, d4m3);
  w[3] = IC_VFMA(two, d3m1, d4m2);
  w[4] = IC_VFMA(minus_two, d3m1, d4m2);
  w[5] = IC_VFMA(four, d[1], IC_VFMA(minus_five, d[3], d[5]));
}

/* y = A^T m for six vectors m. */
IC_INLINE void ic_wino_output_1d(const IC_V m[6], IC_V y[4]) {
  const IC_V m12 = IC_VADD(m[1], m[2]), m34 = IC_VADD(m[3], m[4]);
  const IC_V m1m2 = IC_VSUB(m[1], m[2]), m3m4 = IC_VSUB(m[3], m[4]);
  y[0] = IC_VADD(IC_VADD(m[0], m12), m34);
  y[1] = IC_VFMA(IC_VSET1(2.0f), m3m4, m1m2);
  y[2] = IC_VFMA(IC_VSET1(4.0f), m34, m12);
  y[3] = IC_VADD(IC_VFMA(IC_VSET1(8.0f), m3m4, m1m2), m[5]);
}

/* Tile t of the image into V[xi][t - t0][...] (plane stride `plane`), all input channels. */
static void ic_wino_input_tile(const ic_f32_winograd_args_t* a, int64_t t, float* v,
                               int64_t plane) {
  const int64_t y0 = t / a->tiles_w * IC_WINOGRAD_TILE - a->pad_top;
  const int64_t x0 = t % a->tiles_w * IC_WINOGRAD_TILE - a->pad_left;
  /* The patch rows and columns inside the image: [i0, i1) x [j0, j1). */
  const int64_t i0 = ic_max_i64(0, -y0), i1 = ic_min_i64(IC_WINOGRAD_PATCH, a->in_h - y0);
  const int64_t j0 = ic_max_i64(0, -x0), j1 = ic_min_i64(IC_WINOGRAD_PATCH, a->in_w - x0);
  /* The patch's origin may lie outside the image: an offset, not a pointer, until a tap is in. */
  const int64_t origin = y0 * a->src_stride_h + x0 * a->src_stride_w;
  for (int64_t c = 0; c < a->in_channels; c += IC_VL) {
    const IC_M lanes = IC_MASK_RANGE(0, a->in_channels - c);
    IC_V rows[6][6]; /* rows[i] = (d B)[i]: each patch row transformed along x */
    IC_UNROLL for (int i = 0; i < 6; i++) {
      IC_V d[6];
      IC_UNROLL for (int j = 0; j < 6; j++) {
        d[j] = i >= i0 && i < i1 && j >= j0 && j < j1
                   ? IC_VMASKLOAD(a->src + (origin + i * a->src_stride_h + j * a->src_stride_w + c),
                                  lanes)
                   : IC_VZERO();
      }
      ic_wino_input_1d(d, rows[i]);
    }
    IC_UNROLL for (int j = 0; j < 6; j++) {
      IC_V column[6], w[6];
      IC_UNROLL for (int i = 0; i < 6; i++) column[i] = rows[i][j];
      ic_wino_input_1d(column, w);
      IC_UNROLL for (int i = 0; i < 6; i++) IC_VMASKSTORE(v + (i * 6 + j) * plane + c, lanes, w[i]);
    }
  }
}

/* M[xi][t - t0][...] of tile t (plane stride `plane`; channel c0 first) into its output
 * pixels. */
static void ic_wino_output_tile(const ic_f32_winograd_args_t* a, int64_t t, const float* m,
                                int64_t plane) {
  const int64_t y0 = t / a->tiles_w * IC_WINOGRAD_TILE, x0 = t % a->tiles_w * IC_WINOGRAD_TILE;
  const int64_t rows_in = ic_min_i64(IC_WINOGRAD_TILE, a->out_h - y0);
  const int64_t columns_in = ic_min_i64(IC_WINOGRAD_TILE, a->out_w - x0);
  const int64_t offset = y0 * a->dst_stride_h + x0 * a->dst_stride_w;
  for (int64_t o = a->c0; o < a->c1; o += IC_VL) {
    const IC_M lanes = IC_MASK_RANGE(0, a->c1 - o);
    IC_V rows[6][4]; /* rows[i] = (M A)[i] */
    IC_UNROLL for (int i = 0; i < 6; i++) {
      IC_V mi[6];
      IC_UNROLL for (int j = 0; j < 6; j++) {
        mi[j] = IC_VMASKLOAD(m + (i * 6 + j) * plane + o - a->c0, lanes);
      }
      ic_wino_output_1d(mi, rows[i]);
    }
    const IC_V bias = a->bias != NULL ? IC_VMASKLOAD(a->bias + o, lanes) : IC_VZERO();
    IC_UNROLL for (int x = 0; x < 4; x++) {
      if (x >= columns_in) break;
      IC_V column[6], y[4];
      IC_UNROLL for (int i = 0; i < 6; i++) column[i] = rows[i][x];
      ic_wino_output_1d(column, y);
      IC_UNROLL for (int r = 0; r < 4; r++) {
        if (r >= rows_in) break;
        const int64_t at = offset + r * a->dst_stride_h + x * a->dst_stride_w + o;
        IC_V value = IC_VADD(y[r], bias);
        if (a->residual != NULL) value = IC_VADD(value, IC_VMASKLOAD(a->residual + at, lanes));
        IC_VMASKSTORE(a->dst + at, lanes, IC_VACT(value, a->activation));
      }
    }
  }
}

void IC_WINO_FN(const ic_f32_winograd_args_t* args) {
  const int64_t tiles = args->t1 - args->t0, channels = args->c1 - args->c0;
  const int64_t plane_in = tiles * args->in_channels, plane_out = tiles * channels;
  float* v = args->scratch;
  float* m = v + IC_WINOGRAD_POSITIONS * plane_in;
  for (int64_t t = args->t0; t < args->t1; t++) {
    ic_wino_input_tile(args, t, v + (t - args->t0) * args->in_channels, plane_in);
  }
  /* The weights of channels [c0, c1): the packed matrices from block c0 / 16 on. Each GEMM
   * brings the next position's to L2 on the way: a task's share of a layer's transformed
   * weights is read once, and in a network it comes from memory. */
  const int64_t packed = ic_f32_pwconv2d_packed_floats(args->in_channels, args->out_channels);
  const float* weights = args->packed_weights + args->c0 / 16 * args->in_channels * 16;
  const int64_t slice = ic_divide_round_up(channels, 16) * args->in_channels * 16;
  for (int64_t xi = 0; xi < IC_WINOGRAD_POSITIONS; xi++) {
    const bool last = xi + 1 == IC_WINOGRAD_POSITIONS;
    const ic_f32_pwconv2d_args_t gemm = {
        .in_channels = args->in_channels,
        .activation = IC_ACTIVATION_NONE,
        .pixels = tiles,
        .src = v + xi * plane_in,
        .src_stride_c = 1,
        .src_stride_p = args->in_channels,
        .dst = m + xi * plane_out,
        .dst_stride_c = 1,
        .dst_stride_p = channels,
        .c0 = 0,
        .c1 = channels,
        .packed_weights = weights + xi * packed,
        .ahead_weights = last ? NULL : weights + (xi + 1) * packed,
        .ahead_floats = last ? 0 : slice,
    };
    IC_WINO_GEMM(&gemm);
  }
  for (int64_t t = args->t0; t < args->t1; t++) {
    ic_wino_output_tile(args, t, m + (t - args->t0) * channels, plane_out);
  }
}
