/*
 * The prepared operands of the SIMD direct conv kernels (layouts in ukernels.h): weights
 * packed once at create, the source image packed by every run (operators/conv2d.c runs the
 * rows in parallel before the kernels).
 *
 * Portable C: the same packing serves every ISA, and the scalar kernel tests use it too. The
 * NCHW source is transposed in 4x4 SSE blocks where SSE is available (the x86-64 baseline),
 * which keeps packing to a few percent of a conv's time.
 */
#include <string.h>

#include "internal.h"
#include "ukernels.h"

#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#define IC_PACK_SSE 1
#else
#define IC_PACK_SSE 0
#endif

bool ic_f32_conv2d_packing(const ic_conv2d_geometry_t* g, ic_f32_conv2d_packing_t* pk) {
  memset(pk, 0, sizeof *pk);
  pk->group_in = g->in_channels / g->groups;
  pk->group_out = g->out_channels / g->groups;
  pk->folded = pk->group_in < 16 && g->kernel_w > 1;
  pk->channels = pk->folded ? pk->group_in * g->kernel_w : pk->group_in; /* fits: weights */
  pk->taps_w = pk->folded ? 1 : g->kernel_w;
  pk->block = 16;
  pk->blocks = ic_divide_round_up(pk->channels, pk->block);
  pk->kernel_taps = g->kernel_h * pk->taps_w; /* fits: the weights buffer was checked */
  /* Chunks of whole blocks, about 512 products each, as even as possible. */
  const int64_t chunk_max = ic_max_i64(1, 512 / (pk->kernel_taps * pk->block));
  pk->chunk_blocks = ic_divide_round_up(pk->blocks, ic_divide_round_up(pk->blocks, chunk_max));
  const int64_t taps = g->kernel_h * g->kernel_w; /* fits: the weights buffer was checked */
  int64_t reach_h;
  if (ic_mul_overflow(g->kernel_h - 1, g->dilation_h, &reach_h)) return false;
  if (g->kernel_h == 1 && g->kernel_w == 1) {
    /* Decimated: packed pixel (r, q) is input pixel (r * stride - pad). */
    pk->rows = g->out_h;
    pk->cols = g->out_w;
    pk->step_h = g->stride_h;
    pk->step_w = g->stride_w;
    pk->row_step = pk->col_step = pk->tap_h = pk->tap_w = 1;
  } else {
    if (ic_mul_overflow(g->out_h - 1, g->stride_h, &pk->rows) ||
        ic_add_overflow(pk->rows, reach_h + 1, &pk->rows)) {
      return false;
    }
    pk->step_h = pk->step_w = 1;
    pk->row_step = g->stride_h;
    pk->tap_h = g->dilation_h;
    if (pk->folded) {
      /* One packed column per output column; the kernel columns are in the channels. */
      pk->cols = g->out_w;
      pk->col_step = pk->tap_w = 1;
    } else {
      int64_t reach_w;
      if (ic_mul_overflow(g->out_w - 1, g->stride_w, &pk->cols) ||
          ic_mul_overflow(g->kernel_w - 1, g->dilation_w, &reach_w) ||
          ic_add_overflow(pk->cols, reach_w + 1, &pk->cols)) {
        return false;
      }
      pk->col_step = g->stride_w;
      pk->tap_w = g->dilation_w;
    }
  }
  int64_t out_blocks_floats;
  return !ic_mul_overflow(pk->rows, pk->cols, &pk->plane_floats) &&
         !ic_mul_overflow(pk->plane_floats, pk->block, &pk->plane_floats) &&
         !ic_mul_overflow(pk->plane_floats, pk->blocks, &pk->src_floats) &&
         !ic_mul_overflow(pk->src_floats, g->groups, &pk->src_floats) &&
         !ic_mul_overflow(ic_divide_round_up(pk->group_out, 16) * 16, g->groups,
                          &out_blocks_floats) &&
         !ic_mul_overflow(out_blocks_floats, taps, &pk->weights_floats) &&
         !ic_mul_overflow(pk->weights_floats, pk->group_in, &pk->weights_floats) &&
         (uint64_t)pk->src_floats <= SIZE_MAX / sizeof(float) &&
         (uint64_t)pk->weights_floats <= SIZE_MAX / sizeof(float);
}

int64_t ic_f32_conv2d_weight_at(const ic_conv2d_geometry_t* g, const ic_f32_conv2d_packing_t* pk,
                                 int64_t t, int64_t c) {
  /* Folded, tap (kh, kw) of channel c is the kernels' tap kh of channel kw * group_in + c. */
  if (pk->folded) {
    return ic_f32_conv2d_weight_offset(pk, t / g->kernel_w, t % g->kernel_w * pk->group_in + c);
  }
  return ic_f32_conv2d_weight_offset(pk, t, c);
}

void ic_f32_conv2d_pack_weights(const ic_conv2d_geometry_t* g, const ic_f32_conv2d_packing_t* pk,
                                const float* weights, float* packed) {
  const int64_t taps = g->kernel_h * g->kernel_w;
  const int64_t out_blocks = ic_divide_round_up(pk->group_out, 16);
  for (int64_t gi = 0; gi < g->groups; gi++) {
    for (int64_t ob = 0; ob < out_blocks; ob++) {
      float* block = packed + (gi * out_blocks + ob) * taps * pk->group_in * 16;
      for (int64_t t = 0; t < taps; t++) {
        for (int64_t c = 0; c < pk->group_in; c++) {
          float* lanes = block + ic_f32_conv2d_weight_at(g, pk, t, c);
          for (int64_t lane = 0; lane < 16; lane++) {
            const int64_t o = ob * 16 + lane;
            lanes[lane] = o < pk->group_out
                              ? weights[((gi * pk->group_out + o) * pk->group_in + c) * taps + t]
                              : 0.0f;
          }
        }
      }
    }
  }
}

/* Columns [q0, q1) of packed row `row` whose input pixels lie inside the image. */
static void ic_valid_columns(const ic_conv2d_geometry_t* g, const ic_f32_conv2d_packing_t* pk,
                             int64_t* q0, int64_t* q1) {
  /* ix = q * step_w - pad_left in [0, in_w) */
  const int64_t first = ic_divide_round_up(g->pad_left, pk->step_w);
  const int64_t last = (g->in_w - 1 + g->pad_left) / pk->step_w + 1;
  *q0 = ic_min_i64(first, pk->cols);
  *q1 = ic_max_i64(ic_min_i64(last, pk->cols), *q0);
}

/* One packed row of one block from an image with unit column stride (NCHW): a transpose of
 * `lanes` channel rows into pixel-major [q][block]. */
static void ic_pack_row_planar(const float* src, int64_t channel_stride, int64_t lanes,
                               int64_t block, int64_t count, float* dst) {
  int64_t q = 0;
#if IC_PACK_SSE
  if (block == 16) {
    for (; q + 4 <= count; q += 4) {
      int64_t lane = 0;
      for (; lane + 4 <= lanes; lane += 4) {
        __m128 r0 = _mm_loadu_ps(src + (lane + 0) * channel_stride + q);
        __m128 r1 = _mm_loadu_ps(src + (lane + 1) * channel_stride + q);
        __m128 r2 = _mm_loadu_ps(src + (lane + 2) * channel_stride + q);
        __m128 r3 = _mm_loadu_ps(src + (lane + 3) * channel_stride + q);
        _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
        _mm_storeu_ps(dst + (q + 0) * 16 + lane, r0);
        _mm_storeu_ps(dst + (q + 1) * 16 + lane, r1);
        _mm_storeu_ps(dst + (q + 2) * 16 + lane, r2);
        _mm_storeu_ps(dst + (q + 3) * 16 + lane, r3);
      }
      for (; lane < lanes; lane++) {
        for (int64_t k = 0; k < 4; k++) dst[(q + k) * 16 + lane] = src[lane * channel_stride + q + k];
      }
    }
  }
#endif
  for (; q < count; q++) {
    for (int64_t lane = 0; lane < lanes; lane++) dst[q * block + lane] = src[lane * channel_stride + q];
  }
}

bool ic_f32_conv2d_in_place_columns(const ic_conv2d_geometry_t* g,
                                    const ic_f32_conv2d_packing_t* pk, ic_view_strides_t xs,
                                    int64_t* lo, int64_t* hi) {
  *lo = *hi = 0;
  if (!pk->folded || g->groups != 1 || xs.c != 1 || xs.w != pk->group_in || g->dilation_w != 1) {
    return false;
  }
  /* x * stride_w - pad_left >= 0 and x * stride_w - pad_left + kernel_w - 1 < in_w */
  *lo = ic_min_i64(ic_divide_round_up(g->pad_left, g->stride_w), pk->cols);
  const int64_t last = g->in_w - g->kernel_w + g->pad_left; /* largest x * stride_w */
  *hi = last < 0 ? *lo : ic_max_i64(*lo, ic_min_i64(last / g->stride_w + 1, pk->cols));
  return true;
}

/* Folded packing: lane f = kw * group_in + c of packed column x holds input column
 * x * stride_w - pad_left + kw * dilation_w of channel c. Where the packed columns are runs of
 * the image's rows (ic_f32_conv2d_in_place_columns), those whose window lies inside it are
 * copied a block at a time, except the ones only tiles read in place cover: left out, not even
 * zeroed. The others go lane by lane. */
static void ic_pack_rows_folded(const ic_conv2d_geometry_t* g, const ic_f32_conv2d_packing_t* pk,
                                const float* src, ic_view_strides_t xs, float* packed, int64_t r0,
                                int64_t r1) {
  const int64_t row_floats = pk->cols * 16;
  int64_t lo = 0, hi = 0; /* the columns copied whole: [lo, xa) and [xb, hi) */
  int64_t xa = 0, xb = 0; /* the columns left out */
  if (ic_f32_conv2d_in_place_columns(g, pk, xs, &lo, &hi)) {
    xa = lo + IC_F32_CONV2D_MAX_TILE_W, xb = hi - IC_F32_CONV2D_MAX_TILE_W;
    if (xb <= xa) xa = xb = hi;
  }
  for (int64_t gi = 0; gi < g->groups; gi++) {
    for (int64_t b = 0; b < pk->blocks; b++) {
      float* plane = packed + (gi * pk->blocks + b) * pk->plane_floats;
      const int64_t lanes = ic_min_i64(16, pk->channels - b * 16);
      for (int64_t r = r0; r < r1; r++) {
        float* row = plane + r * row_floats;
        memset(row, 0, (size_t)(xa * 16) * sizeof(float));
        memset(row + xb * 16, 0, (size_t)(row_floats - xb * 16) * sizeof(float));
        const int64_t iy = r - g->pad_top;
        if (iy < 0 || iy >= g->in_h) continue;
        /* Column x starts at input column x * stride_w - pad_left, inside the image here (so
         * the products below fit; stride_w * xs.w alone need not). */
        const float* image_row = src + iy * xs.h + b * 16;
        for (int64_t x = lo; x < hi; x = x + 1 == xa ? xb : x + 1) {
          const float* pixel = image_row + (x * g->stride_w - g->pad_left) * xs.w;
          if (lanes == 16) { /* a constant size: an inline 64-byte copy, not a call */
            memcpy(row + x * 16, pixel, 16 * sizeof(float));
          } else {
            for (int64_t lane = 0; lane < lanes; lane++) row[x * 16 + lane] = pixel[lane];
          }
        }
        for (int64_t lane = 0; lane < lanes; lane++) {
          const int64_t f = b * 16 + lane;
          const int64_t kw = f / pk->group_in, c = gi * pk->group_in + f % pk->group_in;
          const float* in = src + c * xs.c + iy * xs.h;
          /* columns x with 0 <= x * stride_w - pad_left + kw * dilation_w < in_w */
          const int64_t shift = kw * g->dilation_w - g->pad_left;
          const int64_t x0 = shift >= 0 ? 0 : ic_divide_round_up(-shift, g->stride_w);
          const int64_t last = g->in_w - 1 - shift;
          const int64_t x1 = last < 0 ? 0 : ic_min_i64(last / g->stride_w + 1, pk->cols);
          /* The columns not copied whole: [x0, lo) and [hi, x1). */
          for (int64_t x = x0; x < ic_min_i64(x1, lo); x++) {
            row[x * 16 + lane] = in[(x * g->stride_w + shift) * xs.w];
          }
          for (int64_t x = ic_max_i64(x0, hi); x < x1; x++) {
            row[x * 16 + lane] = in[(x * g->stride_w + shift) * xs.w];
          }
        }
      }
    }
  }
}

void ic_f32_conv2d_pack_src(const ic_conv2d_geometry_t* g, const ic_f32_conv2d_packing_t* pk,
                            const float* src, ic_view_strides_t xs, float* packed, int64_t r0,
                            int64_t r1) {
  if (pk->folded) {
    ic_pack_rows_folded(g, pk, src, xs, packed, r0, r1);
    return;
  }
  const int64_t block = pk->block;
  const int64_t row_floats = pk->cols * block;
  int64_t q0, q1;
  ic_valid_columns(g, pk, &q0, &q1);
  for (int64_t gi = 0; gi < g->groups; gi++) {
    for (int64_t b = 0; b < pk->blocks; b++) {
      float* plane = packed + (gi * pk->blocks + b) * pk->plane_floats;
      const int64_t c_base = gi * pk->group_in + b * block;
      const int64_t lanes = ic_min_i64(block, pk->group_in - b * block);
      for (int64_t r = r0; r < r1; r++) {
        float* row = plane + r * row_floats;
        const int64_t iy = r * pk->step_h - g->pad_top;
        if (iy < 0 || iy >= g->in_h || q0 == q1) {
          memset(row, 0, (size_t)row_floats * sizeof(float));
          continue;
        }
        memset(row, 0, (size_t)(q0 * block) * sizeof(float));
        memset(row + q1 * block, 0, (size_t)((pk->cols - q1) * block) * sizeof(float));
        const int64_t ix0 = q0 * pk->step_w - g->pad_left;
        const float* in = src + c_base * xs.c + iy * xs.h + ix0 * xs.w;
        float* out = row + q0 * block;
        const int64_t count = q1 - q0;
        if (xs.w == 1 && pk->step_w == 1) {
          ic_pack_row_planar(in, xs.c, lanes, block, count, out);
        } else if (xs.c == 1) {
          const int64_t step = pk->step_w * xs.w;
          if (lanes == 16) { /* a constant size: an inline 64-byte copy, not a call */
            for (int64_t q = 0; q < count; q++) memcpy(out + q * 16, in + q * step, 16 * sizeof(float));
          } else {
            for (int64_t q = 0; q < count; q++) {
              memcpy(out + q * block, in + q * step, (size_t)lanes * sizeof(float));
            }
          }
        } else {
          for (int64_t q = 0; q < count; q++) {
            for (int64_t lane = 0; lane < lanes; lane++) {
              out[q * block + lane] = in[lane * xs.c + q * pk->step_w * xs.w];
            }
          }
        }
        if (lanes < block) {
          for (int64_t q = 0; q < count; q++) {
            memset(out + q * block + lanes, 0, (size_t)(block - lanes) * sizeof(float));
          }
        }
      }
    }
  }
}
