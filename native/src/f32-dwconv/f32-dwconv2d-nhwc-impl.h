/*
 * The depthwise kernels' channel-contiguous (NHWC) body, included by the per-ISA files
 * (f32-dwconv2d-16p-8x16c-avx512.c, f32-dwconv2d-8p-8x8c-avx2.c) after the ISA's vector
 * vocabulary (simd-<isa>.h) and these:
 *   IC_M (a lane mask), IC_MASK_RANGE(lo, hi) (lanes [lo, hi)), IC_MASK_IS_ALL(m),
 *   IC_VMASKLOAD(p, m) (0 in masked-off lanes), IC_VMASKSTORE(p, m, v),
 *   IC_VI (a vector of lane indices), IC_VI_ZERO(), IC_VI_LOAD(p) (from int32_t[IC_VL]),
 *   IC_VPERMUTE(v, idx) (lane j of the result is lane idx[j] of v), IC_VACT(v, activation),
 *   IC_TRANSPOSE(r) (r[i] holds row i of an IC_VL x IC_VL block; afterwards column i).
 * Vectors run along the output channels: IC_VL channels x up to IC_PX pixels of one row in
 * registers, 3x3 weights in registers, a channel multiplier through a lane permutation.
 * Small pixel-contiguous (NCHW) planes take the same rows through a transposed tile
 * (ic_planar_transposed).
 */
#include "internal.h"
#include "ukernels.h"

enum { IC_PX = 8 };

/* Input vector for output channels [o0, o0 + IC_VL) at one pixel: channel (o0 + j) / multiplier. */
IC_INLINE IC_V ic_load_channels(const float* pixel, int64_t o0, IC_M lanes, int64_t multiplier,
                                int64_t in_channels, IC_VI spread) {
  if (multiplier == 1) return IC_VMASKLOAD(pixel + o0, lanes);
  if (multiplier == 0) return IC_VLOAD(pixel + o0); /* multiplier 1, all lanes */
  const int64_t c0 = o0 / multiplier;
  const IC_V v = IC_VMASKLOAD(pixel + c0, IC_MASK_RANGE(0, in_channels - c0));
  return IC_VPERMUTE(v, spread);
}

typedef struct ic_channel_vector {
  int64_t o0;
  IC_M lanes;
  bool all_lanes;
  IC_V bias;
  IC_VI spread;
  const float* weights; /* packed weights of tap 0 at channel o0; tap t at + t * padded */
  int64_t padded;
} ic_channel_vector_t;

/* np pixels from output column x of row y; taps [kh0, kh1) x [kw0, kw1), in that order.
 * With nine register weights (wv != NULL) the kernel is 3x3 and all its columns are used. */
IC_INLINE void ic_pixels(const ic_f32_dwconv2d_args_t* a, const ic_channel_vector_t* cv,
                         const IC_V* wv, int64_t y, int64_t x, int64_t iy0, int64_t kh0,
                         int64_t kh1, int64_t kw0, int64_t kw1, const int np,
                         const int64_t multiplier) {
  const ic_conv2d_geometry_t* g = a->geometry;
  const ic_view_strides_t xs = a->src_stride, ds = a->dst_stride;
  const int64_t ix0 = x * g->stride_w - g->pad_left;
  const int64_t px_step = g->stride_w * xs.w;
  IC_V acc[IC_PX];
  IC_UNROLL for (int i = 0; i < np; i++) acc[i] = cv->bias;
  for (int64_t kh = kh0; kh < kh1; kh++) {
    const float* row = a->src + (iy0 + kh * g->dilation_h) * xs.h + ix0 * xs.w;
    if (wv != NULL) {
      IC_UNROLL for (int kw = 0; kw < 3; kw++) {
        const float* px = row + kw * g->dilation_w * xs.w;
        IC_UNROLL for (int i = 0; i < np; i++) {
          const IC_V v = ic_load_channels(px + i * px_step, cv->o0, cv->lanes, multiplier,
                                            g->in_channels, cv->spread);
          acc[i] = IC_VFMA(v, wv[kh * 3 + kw], acc[i]);
        }
      }
    } else {
      for (int64_t kw = kw0; kw < kw1; kw++) {
        const IC_V w = IC_VLOAD(cv->weights + (kh * g->kernel_w + kw) * cv->padded);
        const float* px = row + kw * g->dilation_w * xs.w;
        IC_UNROLL for (int i = 0; i < np; i++) {
          const IC_V v = ic_load_channels(px + i * px_step, cv->o0, cv->lanes, multiplier,
                                            g->in_channels, cv->spread);
          acc[i] = IC_VFMA(v, w, acc[i]);
        }
      }
    }
  }
  IC_UNROLL for (int i = 0; i < np; i++) {
    const int64_t offset = (y - a->y0) * ds.h + (x + i) * ds.w + cv->o0;
    IC_V v = acc[i];
    if (a->residual != NULL) v = IC_VADD(v, IC_VMASKLOAD(a->residual + offset, cv->lanes));
    IC_VMASKSTORE(a->dst + offset, cv->lanes, IC_VACT(v, a->activation));
  }
}

/* np (1 to IC_PX) pixels from output column x of a 3x3 kernel of dilation 1 and stride 1 or 2
 * along the row, multiplier 1, all lanes, kernel rows [kh0, kh1): each input pixel of a row is
 * loaded once for all its taps (np + 2 or 2 * np + 1 loads per kernel row instead of 3 * np).
 * Guarded runs touch the left or right border: input columns outside the image are zero
 * vectors, so a whole row of a small image (7 or 14 pixels) is one or two runs instead of
 * pixels one at a time through the generic loop. */
IC_INLINE void ic_run_k3(const ic_f32_dwconv2d_args_t* a, const ic_channel_vector_t* cv,
                         const IC_V* wv, int64_t y, int64_t x, int64_t iy0, int64_t kh0,
                         int64_t kh1, const int np, const int stride, const bool guarded) {
  const ic_conv2d_geometry_t* g = a->geometry;
  const ic_view_strides_t xs = a->src_stride, ds = a->dst_stride;
  const int loads = (np - 1) * stride + 3;
  const int64_t ix0 = x * stride - g->pad_left; /* the input column of v[0] */
  /* v[i] is inside the image for lo <= i < hi */
  const int64_t lo = guarded ? -ix0 : 0, hi = guarded ? g->in_w - ix0 : loads;
  IC_V acc[IC_PX];
  IC_UNROLL for (int i = 0; i < np; i++) acc[i] = cv->bias;
  IC_UNROLL for (int kh = 0; kh < 3; kh++) {
    if (kh < kh0 || kh >= kh1) continue;
    /* An offset, not a pointer: the run's first column may lie left of the image. */
    const int64_t row = (iy0 + kh) * xs.h + ix0 * xs.w + cv->o0;
    IC_V v[2 * IC_PX + 1];
    IC_UNROLL for (int i = 0; i < loads; i++) {
      v[i] = i >= lo && i < hi ? IC_VLOAD(a->src + row + i * xs.w) : IC_VZERO();
    }
    IC_UNROLL for (int kw = 0; kw < 3; kw++) {
      IC_UNROLL for (int i = 0; i < np; i++) {
        acc[i] = IC_VFMA(v[i * stride + kw], wv[kh * 3 + kw], acc[i]);
      }
    }
  }
  IC_UNROLL for (int i = 0; i < np; i++) {
    const int64_t offset = (y - a->y0) * ds.h + (x + i) * ds.w + cv->o0;
    IC_V out = acc[i];
    if (a->residual != NULL) out = IC_VADD(out, IC_VLOAD(a->residual + offset));
    IC_VSTORE(a->dst + offset, IC_VACT(out, a->activation));
  }
}

static void ic_pixels_8_k3_s1(const ic_f32_dwconv2d_args_t* a, const ic_channel_vector_t* cv,
                              const IC_V* wv, int64_t y, int64_t x, int64_t iy0) {
  ic_run_k3(a, cv, wv, y, x, iy0, 0, 3, IC_PX, 1, false);
}
static void ic_pixels_8_k3_s2(const ic_f32_dwconv2d_args_t* a, const ic_channel_vector_t* cv,
                              const IC_V* wv, int64_t y, int64_t x, int64_t iy0) {
  ic_run_k3(a, cv, wv, y, x, iy0, 0, 3, IC_PX, 2, false);
}

/* Guarded runs of np pixels (see ic_run_k3), one function each, [np - 1][stride - 1]. (As the
 * sixteen cases of one switch they took clang's register allocator 69 s under UBSan, a quarter
 * of the AVX-512 file's time.) */
typedef void (*ic_guarded_run_fn)(const ic_f32_dwconv2d_args_t* a, const ic_channel_vector_t* cv,
                                  const IC_V* wv, int64_t y, int64_t x, int64_t iy0, int64_t kh0,
                                  int64_t kh1);
#define IC_GUARDED_RUN(n, s)                                                                  \
  static void ic_run_k3_guarded_##n##_##s(const ic_f32_dwconv2d_args_t* a,                    \
                                          const ic_channel_vector_t* cv, const IC_V* wv,      \
                                          int64_t y, int64_t x, int64_t iy0, int64_t kh0,     \
                                          int64_t kh1) {                                      \
    ic_run_k3(a, cv, wv, y, x, iy0, kh0, kh1, n, s, true);                                    \
  }
#define IC_GUARDED_RUNS(n) IC_GUARDED_RUN(n, 1) IC_GUARDED_RUN(n, 2)
IC_GUARDED_RUNS(1)
IC_GUARDED_RUNS(2)
IC_GUARDED_RUNS(3)
IC_GUARDED_RUNS(4)
IC_GUARDED_RUNS(5)
IC_GUARDED_RUNS(6)
IC_GUARDED_RUNS(7)
IC_GUARDED_RUNS(8)
#undef IC_GUARDED_RUNS
#undef IC_GUARDED_RUN
_Static_assert(IC_PX == 8, "a guarded run for each pixel count");
#define IC_GUARDED_PAIR(n) {ic_run_k3_guarded_##n##_1, ic_run_k3_guarded_##n##_2}
static const ic_guarded_run_fn ic_guarded_runs[IC_PX][2] = {
    IC_GUARDED_PAIR(1), IC_GUARDED_PAIR(2), IC_GUARDED_PAIR(3), IC_GUARDED_PAIR(4),
    IC_GUARDED_PAIR(5), IC_GUARDED_PAIR(6), IC_GUARDED_PAIR(7), IC_GUARDED_PAIR(8)};
#undef IC_GUARDED_PAIR

/* multiplier 0 stands for 1 with all lanes stored (a compile-time constant either way). */
static void ic_pixels_8_k3_full(const ic_f32_dwconv2d_args_t* a, const ic_channel_vector_t* cv,
                                const IC_V* wv, int64_t y, int64_t x, int64_t iy0) {
  ic_pixels(a, cv, wv, y, x, iy0, 0, 3, 0, 3, IC_PX, 0);
}
static void ic_pixels_8_full(const ic_f32_dwconv2d_args_t* a, const ic_channel_vector_t* cv,
                             int64_t y, int64_t x, int64_t iy0, int64_t kh0, int64_t kh1) {
  ic_pixels(a, cv, NULL, y, x, iy0, kh0, kh1, 0, a->geometry->kernel_w, IC_PX, 0);
}
static void ic_pixels_8_k3(const ic_f32_dwconv2d_args_t* a, const ic_channel_vector_t* cv,
                           const IC_V* wv, int64_t y, int64_t x, int64_t iy0) {
  ic_pixels(a, cv, wv, y, x, iy0, 0, 3, 0, 3, IC_PX,
            a->geometry->out_channels / a->geometry->in_channels);
}
static void ic_pixels_8(const ic_f32_dwconv2d_args_t* a, const ic_channel_vector_t* cv,
                        int64_t y, int64_t x, int64_t iy0, int64_t kh0, int64_t kh1) {
  ic_pixels(a, cv, NULL, y, x, iy0, kh0, kh1, 0, a->geometry->kernel_w, IC_PX,
            a->geometry->out_channels / a->geometry->in_channels);
}

/* The last 1 to IC_PX - 1 interior pixels of a row, 3x3 with the register weights (small
 * images: a 14-pixel row has 12 interior pixels, a 7-pixel row 5). */
static void ic_pixels_k3_tail(const ic_f32_dwconv2d_args_t* a, const ic_channel_vector_t* cv,
                              const IC_V* wv, int64_t y, int64_t x, int64_t iy0, int64_t np) {
  const int64_t m = a->geometry->out_channels / a->geometry->in_channels;
  switch (np) {
#define IC_TAIL(n) \
  case n: ic_pixels(a, cv, wv, y, x, iy0, 0, 3, 0, 3, n, m); break;
    IC_TAIL(1)
    IC_TAIL(2)
    IC_TAIL(3)
    IC_TAIL(4)
    IC_TAIL(5)
    IC_TAIL(6)
    IC_TAIL(7)
#undef IC_TAIL
    default: break;
  }
}

static void ic_pixels_1(const ic_f32_dwconv2d_args_t* a, const ic_channel_vector_t* cv,
                        int64_t y, int64_t x, int64_t iy0, int64_t kh0, int64_t kh1,
                        int64_t kw0, int64_t kw1) {
  ic_pixels(a, cv, NULL, y, x, iy0, kh0, kh1, kw0, kw1, 1,
            a->geometry->out_channels / a->geometry->in_channels);
}

/* Output columns whose taps are all inside the image: [*x_in0, *x_in1). */
static void ic_interior_columns(const ic_conv2d_geometry_t* g, int64_t* x_in0, int64_t* x_in1) {
  const int64_t reach = (g->kernel_w - 1) * g->dilation_w;
  *x_in0 = ic_min_i64(ic_divide_round_up(g->pad_left, g->stride_w), g->out_w);
  const int64_t last = g->in_w - 1 - reach + g->pad_left; /* the last interior column's input */
  *x_in1 = ic_max_i64(ic_min_i64(last < 0 ? 0 : last / g->stride_w + 1, g->out_w), *x_in0);
}

/* 3x3 kernels whose rows ic_run_k3 takes whole (multiplier 1, all lanes). */
static bool ic_runs_fit(const ic_conv2d_geometry_t* g) {
  return g->kernel_h == 3 && g->kernel_w == 3 && (g->stride_w == 1 || g->stride_w == 2) &&
         g->dilation_w == 1 && g->dilation_h == 1;
}

/* The run of IC_PX pixels (or the row's last ones) from output column x of row y. */
static void ic_run_at(const ic_f32_dwconv2d_args_t* a, const ic_channel_vector_t* cv,
                      const IC_V* wv, int64_t y, int64_t x, int64_t iy0, int64_t kh0,
                      int64_t kh1, int64_t x_in0, int64_t x_in1) {
  const ic_conv2d_geometry_t* g = a->geometry;
  if (kh0 == 0 && kh1 == 3 && x >= x_in0 && x + IC_PX <= x_in1) {
    if (g->stride_w == 1) {
      ic_pixels_8_k3_s1(a, cv, wv, y, x, iy0);
    } else {
      ic_pixels_8_k3_s2(a, cv, wv, y, x, iy0);
    }
  } else {
    const int64_t np = ic_min_i64(IC_PX, g->out_w - x);
    ic_guarded_runs[np - 1][g->stride_w - 1](a, cv, wv, y, x, iy0, kh0, kh1);
  }
}

/* Output row y of the vector cv as runs of IC_PX pixels (ic_runs_fit). */
static void ic_row_runs(const ic_f32_dwconv2d_args_t* a, const ic_channel_vector_t* cv,
                        const IC_V* wv, int64_t y, int64_t x_in0, int64_t x_in1) {
  const ic_conv2d_geometry_t* g = a->geometry;
  const int64_t iy0 = y * g->stride_h - g->pad_top;
  int64_t kh0, kh1;
  ic_tap_range(iy0, 1, 3, g->in_h, &kh0, &kh1);
  for (int64_t x = 0; x < g->out_w; x += IC_PX) {
    ic_run_at(a, cv, wv, y, x, iy0, kh0, kh1, x_in0, x_in1);
  }
}

/* Channel vectors a row's runs take together (ic_pixel_runs): 128 channels with AVX-512. */
enum { IC_PIXEL_VECTORS = 8 };

/* Rows [y0, y1) of whole channel vectors (ic_runs_fit, multiplier 1, c0 and c1 on vector
 * bounds) in groups of up to IC_PIXEL_VECTORS vectors: per row, each run of pixels for every
 * vector of the group before the next run, so that a pixel's lines are read while in L1 and
 * in order. (A row per vector, as ic_interleaved goes, walks each row once per vector, every
 * C / IC_VL-th line: with 32 channels and up, 4-32 % slower on 2 threads.) */
static void ic_pixel_runs(const ic_f32_dwconv2d_args_t* a, int64_t x_in0, int64_t x_in1) {
  const ic_conv2d_geometry_t* g = a->geometry;
  const int64_t padded = ic_divide_round_up(g->out_channels, 16) * 16;
  for (int64_t oa = a->c0; oa < a->c1; oa += IC_PIXEL_VECTORS * IC_VL) {
    const int64_t n = ic_min_i64(IC_PIXEL_VECTORS, (a->c1 - oa) / IC_VL);
    ic_channel_vector_t cv[IC_PIXEL_VECTORS];
    IC_V wv[IC_PIXEL_VECTORS][9];
    for (int64_t k = 0; k < n; k++) {
      const int64_t o0 = oa + k * IC_VL;
      cv[k] = (ic_channel_vector_t){
          .o0 = o0,
          .lanes = IC_MASK_RANGE(0, IC_VL),
          .all_lanes = true,
          .bias = a->bias != NULL ? IC_VLOAD(a->bias + o0) : IC_VZERO(),
          .spread = IC_VI_ZERO(),
          .weights = a->packed_weights + o0,
          .padded = padded,
      };
      for (int t = 0; t < 9; t++) wv[k][t] = IC_VLOAD(cv[k].weights + t * padded);
    }
    for (int64_t y = a->y0; y < a->y1; y++) {
      const int64_t iy0 = y * g->stride_h - g->pad_top;
      int64_t kh0, kh1;
      ic_tap_range(iy0, 1, 3, g->in_h, &kh0, &kh1);
      for (int64_t x = 0; x < g->out_w; x += IC_PX) {
        for (int64_t k = 0; k < n; k++) {
          ic_run_at(a, &cv[k], wv[k], y, x, iy0, kh0, kh1, x_in0, x_in1);
        }
      }
    }
  }
}

static void ic_interleaved(const ic_f32_dwconv2d_args_t* a) {
  const ic_conv2d_geometry_t* g = a->geometry;
  const int64_t multiplier = g->out_channels / g->in_channels;
  const int64_t padded = ic_divide_round_up(g->out_channels, 16) * 16;
  const bool k3 = g->kernel_h == 3 && g->kernel_w == 3;
  const bool runs = ic_runs_fit(g);
  int64_t x_in0, x_in1;
  ic_interior_columns(g, &x_in0, &x_in1);
  if (runs && multiplier == 1 && a->c0 % IC_VL == 0 && (a->c1 - a->c0) % IC_VL == 0) {
    ic_pixel_runs(a, x_in0, x_in1);
    return;
  }
  /* Partial vectors, channel multipliers, other kernels. Rows outer, channel vectors inner:
   * each input row is read from memory once; the nine weights of a vector are reloaded per
   * row, which is cheap against a row of pixels. (Channel vectors outer measured 2x slower on
   * 7x7 and 14x14 images: the pixels of one vector lie a row of channels apart, where rows
   * outer walks each row's lines in order.) */
  for (int64_t y = a->y0; y < a->y1; y++) {
    const int64_t iy0 = y * g->stride_h - g->pad_top;
    int64_t kh0, kh1;
    ic_tap_range(iy0, g->dilation_h, g->kernel_h, g->in_h, &kh0, &kh1);
    for (int64_t o0 = a->c0 - a->c0 % IC_VL; o0 < a->c1; o0 += IC_VL) {
      ic_channel_vector_t cv;
      cv.o0 = o0;
      cv.lanes = IC_MASK_RANGE(a->c0 - o0, a->c1 - o0);
      cv.all_lanes = IC_MASK_IS_ALL(cv.lanes);
      cv.bias = a->bias != NULL ? IC_VMASKLOAD(a->bias + o0, cv.lanes) : IC_VZERO();
      cv.spread = IC_VI_ZERO();
      if (multiplier > 1) {
        int32_t idx[IC_VL];
        for (int64_t j = 0; j < IC_VL; j++) idx[j] = (int32_t)((o0 + j) / multiplier - o0 / multiplier);
        cv.spread = IC_VI_LOAD(idx);
      }
      cv.weights = a->packed_weights + o0;
      cv.padded = padded;
      IC_V wv[9];
      for (int t = 0; t < 9; t++) {
        wv[t] = k3 ? IC_VLOAD(cv.weights + t * padded) : IC_VZERO();
      }
      const bool full = multiplier == 1 && cv.all_lanes;
      if (full && runs) {
        ic_row_runs(a, &cv, wv, y, x_in0, x_in1);
        continue;
      }
      for (int64_t x = 0; x < g->out_w;) {
        if (x >= x_in0 && x + IC_PX <= x_in1) {
          if (k3 && kh0 == 0 && kh1 == 3) {
            if (full) {
              ic_pixels_8_k3_full(a, &cv, wv, y, x, iy0);
            } else {
              ic_pixels_8_k3(a, &cv, wv, y, x, iy0);
            }
          } else if (full) {
            ic_pixels_8_full(a, &cv, y, x, iy0, kh0, kh1);
          } else {
            ic_pixels_8(a, &cv, y, x, iy0, kh0, kh1);
          }
          x += IC_PX;
        } else if (k3 && kh0 == 0 && kh1 == 3 && x >= x_in0 && x < x_in1) {
          ic_pixels_k3_tail(a, &cv, wv, y, x, iy0, x_in1 - x);
          x = x_in1;
        } else {
          int64_t kw0, kw1;
          ic_tap_range(x * g->stride_w - g->pad_left, g->dilation_w, g->kernel_w, g->in_w, &kw0,
                       &kw1);
          ic_pixels_1(a, &cv, y, x, iy0, kh0, kh1, kw0, kw1);
          x++;
        }
      }
    }
  }
}

/* ---- pixel-contiguous small planes through the channel-contiguous rows ----
 *
 * 3x3 planes of up to IC_TILE_PIXELS pixels (14x14, 7x7: a few vectors of pixels each, whose
 * row ends and borders cost the pixel-vector paths masks and unaligned re-reads): IC_VL
 * channels at a time are transposed into a pixel-major tile (blocks of IC_VL x IC_VL in
 * registers), run through ic_row_runs (the borders as zero vectors), and transposed back with
 * the residual and activation. The transposes are written here rather than calls of the
 * f32-transpose kernels: through those, 7x7x960 took 11 % longer (0.025 -> 0.028 ms on one
 * thread, AVX2 0.036 -> 0.040). */
enum { IC_TILE_PIXELS = IC_F32_DWCONV2D_TILE_PIXELS };

static bool ic_transposed_fits(const ic_f32_dwconv2d_args_t* a) {
  const ic_conv2d_geometry_t* g = a->geometry;
  return ic_runs_fit(g) && a->src_stride.w == 1 && a->dst_stride.w == 1 &&
         a->src_stride.h == g->in_w && a->dst_stride.h == g->out_w &&
         g->in_h * g->in_w <= IC_TILE_PIXELS && (a->y1 - a->y0) * g->out_w <= IC_TILE_PIXELS;
}

static void ic_planar_transposed(const ic_f32_dwconv2d_args_t* a) {
  const ic_conv2d_geometry_t* g = a->geometry;
  const int64_t multiplier = g->out_channels / g->in_channels;
  const int64_t in_pixels = g->in_h * g->in_w, out_pixels = (a->y1 - a->y0) * g->out_w;
  _Alignas(64) float in[IC_TILE_PIXELS * IC_VL];
  _Alignas(64) float out[IC_TILE_PIXELS * IC_VL];
  /* The rows read the tiles as channel-contiguous images of one vector per pixel. */
  ic_f32_dwconv2d_args_t t = *a;
  t.src = in;
  t.src_stride = (ic_view_strides_t){1, g->in_w * IC_VL, IC_VL};
  t.dst = out;
  t.dst_stride = (ic_view_strides_t){1, g->out_w * IC_VL, IC_VL};
  t.residual = NULL;
  t.activation = IC_ACTIVATION_NONE;
  int64_t x_in0, x_in1;
  ic_interior_columns(g, &x_in0, &x_in1);
  for (int64_t o0 = a->c0; o0 < a->c1; o0 += IC_VL) {
    const int64_t n = ic_min_i64(IC_VL, a->c1 - o0); /* lanes past n stay 0 */
    const float* planes[IC_VL];
    for (int64_t k = 0; k < n; k++) planes[k] = a->src + (o0 + k) / multiplier * a->src_stride.c;
    /* Constant indices into r throughout: it stays in registers. */
    for (int64_t p0 = 0; p0 < in_pixels; p0 += IC_VL) {
      const IC_M pixels = IC_MASK_RANGE(0, in_pixels - p0);
      IC_V r[IC_VL];
      IC_UNROLL for (int k = 0; k < IC_VL; k++) {
        r[k] = k < n ? IC_VMASKLOAD(planes[k] + p0, pixels) : IC_VZERO();
      }
      IC_TRANSPOSE(r);
      const int64_t count = ic_min_i64(IC_VL, in_pixels - p0);
      IC_UNROLL for (int j = 0; j < IC_VL; j++) {
        if (j < count) IC_VSTORE(in + (p0 + j) * IC_VL, r[j]);
      }
    }
    const IC_M lanes = IC_MASK_RANGE(0, n);
    IC_V wv[9];
    if (a->packed_weights != NULL) {
      const int64_t padded = ic_divide_round_up(g->out_channels, 16) * 16;
      for (int tap = 0; tap < 9; tap++) {
        wv[tap] = IC_VMASKLOAD(a->packed_weights + tap * padded + o0, lanes);
      }
    } else {
      _Alignas(64) float w[9][IC_VL] = {{0}};
      for (int64_t k = 0; k < n; k++) {
        for (int tap = 0; tap < 9; tap++) w[tap][k] = a->weights[(o0 + k) * 9 + tap];
      }
      for (int tap = 0; tap < 9; tap++) wv[tap] = IC_VLOAD(w[tap]);
    }
    const IC_V bias = a->bias != NULL ? IC_VMASKLOAD(a->bias + o0, lanes) : IC_VZERO();
    const ic_channel_vector_t cv = {0, IC_MASK_RANGE(0, IC_VL), true, bias, IC_VI_ZERO(), NULL, 0};
    for (int64_t y = a->y0; y < a->y1; y++) ic_row_runs(&t, &cv, wv, y, x_in0, x_in1);
    for (int64_t q0 = 0; q0 < out_pixels; q0 += IC_VL) {
      const int64_t count = ic_min_i64(IC_VL, out_pixels - q0);
      const IC_M pixels = IC_MASK_RANGE(0, count);
      IC_V r[IC_VL];
      IC_UNROLL for (int j = 0; j < IC_VL; j++) {
        r[j] = j < count ? IC_VLOAD(out + (q0 + j) * IC_VL) : IC_VZERO();
      }
      IC_TRANSPOSE(r);
      IC_UNROLL for (int k = 0; k < IC_VL; k++) {
        if (k >= n) break;
        const int64_t offset = (o0 + k) * a->dst_stride.c + q0;
        IC_V v = r[k];
        if (a->residual != NULL) v = IC_VADD(v, IC_VMASKLOAD(a->residual + offset, pixels));
        IC_VMASKSTORE(a->dst + offset, pixels, IC_VACT(v, a->activation));
      }
    }
  }
}
