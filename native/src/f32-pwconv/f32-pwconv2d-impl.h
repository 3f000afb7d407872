/*
 * The pointwise kernels' one body, included by the per-ISA files
 * (f32-pwconv2d-8x48-6x64-avx512.c, f32-pwconv2d-4x24-6x16-avx2.c) after they define:
 *   IC_V, IC_VL (lanes), IC_VZERO(), IC_VLOAD(p), IC_VSTORE(p, v), IC_VADD(a, b),
 *   IC_VFMA(a, b, c) (a * b + c), IC_VBCAST(p) (*p in every lane), IC_VSET1(x),
 *   IC_VACT(v, activation) (the ISA's ic_activate),
 *   IC_M (a lane mask), IC_MASK_RANGE(lo, hi) (lanes [lo, hi)), IC_MASK_ALL,
 *   IC_MASK_BITS(m) (an int, bit k = lane k), IC_VMASKLOAD(p, m) (0 in masked-off lanes),
 *   IC_VMASKSTORE(p, m, v),
 *   IC_P_MR (output channels of a pixel-contiguous tile), IC_C_NV (channel vectors of a
 *   channel-contiguous tile), IC_PW_AHEAD (1: channel-contiguous tiles prefetch the next
 *   group's weights, ic_ahead_t), IC_PW_FN (the kernel's name).
 *
 * Pointwise convolution as a GEMM over channels with the packed weights (ukernels.h,
 * [ceil(out/16)][in][16]), two register tiles:
 *
 *   pixel-contiguous source (NCHW):   IC_P_MR output channels x 3 vectors of pixels; each step
 *                                     loads three pixel vectors and broadcasts IC_P_MR weights
 *   channel-contiguous source (NHWC): 6 pixels x IC_C_NV vectors of output channels; each step
 *                                     loads IC_C_NV weight vectors and broadcasts 6 inputs
 *
 * The tile is chosen by the source (dst of another layout is written element by element).
 * The reduction runs in chunks of at most IC_CHUNK input channels, each from zero
 * accumulators and then added to the partial sum, in channel order: short accumulation chains
 * and a fixed order whatever the slice. Bias, residual and activation are applied before the
 * single store. Other source strides, or no packed weights, take the scalar kernel.
 */
#include "internal.h"
#include "ukernels.h"

/* IC_PREFETCH_CHANNELS: how far ahead (in input channels) the first tile of a strip of pixels
 * prefetches the strip's input. In a network the strip is usually in memory, and its planes
 * are as many streams as channels, more than the hardware prefetchers follow; the other tiles
 * of the strip find it in cache. */
enum { IC_CHUNK = 256, IC_PREFETCH_CHANNELS = 24 };

/* ---- pixel-contiguous: IC_P_MR channels x nv vectors of IC_VL pixels ---- */

enum { IC_P_NV = 3 };

/* Channels [o0, o0 + IC_P_MR) with o0 a multiple of IC_P_MR (inside one weight block); only
 * those in [c0, c1) are stored. The last vector holds the lanes of `last`. `lead`: the strip's
 * first tile, which prefetches the strip's input; every tile prefetches the next tile's output
 * (and residual) rows while it reduces its first channels. */
IC_INLINE void ic_planar_tile(const ic_f32_pwconv2d_args_t* a, int64_t o0, int64_t p0,
                              const int nv, IC_M last, const bool lead) {
  const int64_t k_total = a->in_channels;
  const bool prefetch_next = a->dst_stride_p == 1 && o0 + IC_P_MR < a->c1;
  const float* w = a->packed_weights + (o0 / 16) * k_total * 16 + o0 % 16;
  const float* x = a->src + p0;
  IC_V acc[IC_P_MR][IC_P_NV];
  IC_UNROLL for (int i = 0; i < IC_P_MR; i++) {
    IC_UNROLL for (int v = 0; v < IC_P_NV; v++) acc[i][v] = IC_VZERO(); /* (for the compiler) */
  }
  /* Chunks of IC_CHUNK channels: the first into acc, each later one from zero, then added. */
  for (int64_t k0 = 0;; k0 += IC_CHUNK) {
    const int64_t k1 = ic_min_i64(k0 + IC_CHUNK, k_total);
    IC_V sum[IC_P_MR][IC_P_NV];
    IC_UNROLL for (int i = 0; i < IC_P_MR; i++) {
      IC_UNROLL for (int v = 0; v < nv; v++) sum[i][v] = IC_VZERO();
    }
    for (int64_t c = k0; c < k1; c++) {
      const float* xc = x + c * a->src_stride_c;
      if (lead && c + IC_PREFETCH_CHANNELS < k_total) {
        IC_UNROLL for (int v = 0; v < nv; v++) {
          IC_PREFETCH(xc + IC_PREFETCH_CHANNELS * a->src_stride_c + v * IC_VL);
        }
      }
      if (prefetch_next && k0 == 0 && c < IC_P_MR * nv) { /* row c % IC_P_MR, vector c / IC_P_MR */
        const int64_t o = o0 + IC_P_MR + c % IC_P_MR;
        if (o < a->c1) {
          const int64_t offset = o * a->dst_stride_c + p0 + c / IC_P_MR * IC_VL;
          IC_PREFETCHW(a->dst + offset);
          if (a->residual != NULL) IC_PREFETCH(a->residual + offset);
        }
      }
      IC_V xv[IC_P_NV];
      IC_UNROLL for (int v = 0; v < nv; v++) {
        xv[v] = v + 1 < nv ? IC_VLOAD(xc + v * IC_VL) : IC_VMASKLOAD(xc + v * IC_VL, last);
      }
      const float* wc = w + c * 16;
      IC_UNROLL for (int i = 0; i < IC_P_MR; i++) {
        const IC_V wv = IC_VBCAST(wc + i);
        IC_UNROLL for (int v = 0; v < nv; v++) sum[i][v] = IC_VFMA(wv, xv[v], sum[i][v]);
      }
    }
    IC_UNROLL for (int i = 0; i < IC_P_MR; i++) {
      IC_UNROLL for (int v = 0; v < nv; v++) {
        acc[i][v] = k0 == 0 ? sum[i][v] : IC_VADD(acc[i][v], sum[i][v]);
      }
    }
    if (k1 >= k_total) break;
  }
  const int64_t first = ic_max_i64(a->c0 - o0, 0), last_row = ic_min_i64(IC_P_MR, a->c1 - o0);
  IC_UNROLL for (int i = 0; i < IC_P_MR; i++) {
    if (i < first || i >= last_row) continue;
    const int64_t o = o0 + i;
    const IC_V bias = IC_VSET1(a->bias != NULL ? a->bias[o] : 0.0f);
    IC_UNROLL for (int v = 0; v < nv; v++) {
      const IC_M m = v + 1 < nv ? IC_MASK_ALL : last;
      IC_V y = IC_VADD(acc[i][v], bias);
      if (a->dst_stride_p == 1) {
        float* dst = a->dst + o * a->dst_stride_c + p0 + v * IC_VL;
        if (a->residual != NULL) {
          y = IC_VADD(y, IC_VMASKLOAD(a->residual + (dst - a->dst), m));
        }
        IC_VMASKSTORE(dst, m, IC_VACT(y, a->activation));
      } else {
        float lanes[IC_VL];
        IC_VSTORE(lanes, y);
        const int bits = IC_MASK_BITS(m);
        for (int64_t k = 0; k < IC_VL && (bits >> k) & 1; k++) {
          const int64_t offset = o * a->dst_stride_c + (p0 + v * IC_VL + k) * a->dst_stride_p;
          float value = lanes[k];
          if (a->residual != NULL) value += a->residual[offset];
          a->dst[offset] = ic_activate(value, a->activation);
        }
      }
    }
  }
}

static void ic_planar_tile_3(const ic_f32_pwconv2d_args_t* a, int64_t o0, int64_t p0, IC_M last) {
  ic_planar_tile(a, o0, p0, 3, last, false);
}
static void ic_planar_tile_3_lead(const ic_f32_pwconv2d_args_t* a, int64_t o0, int64_t p0,
                                   IC_M last) {
  ic_planar_tile(a, o0, p0, 3, last, true);
}
static void ic_planar_tile_2(const ic_f32_pwconv2d_args_t* a, int64_t o0, int64_t p0, IC_M last) {
  ic_planar_tile(a, o0, p0, 2, last, false);
}
static void ic_planar_tile_1(const ic_f32_pwconv2d_args_t* a, int64_t o0, int64_t p0, IC_M last) {
  ic_planar_tile(a, o0, p0, 1, last, false);
}

static void ic_columns(const ic_f32_pwconv2d_args_t* a, int64_t p0, int64_t p1);

static void ic_planar(const ic_f32_pwconv2d_args_t* a) {
  /* A short tail of pixels (a 7x7 image has 49 = 3 * 16 + 1) would fill a vector with a few
   * lanes: it goes through the channel-vector tiles instead. */
  const int64_t tail = a->pixels % IC_VL <= IC_VL / 2 && a->pixels > IC_VL ? a->pixels % IC_VL : 0;
  const int64_t pixels = a->pixels - tail;
  if (tail > 0) ic_columns(a, pixels, a->pixels);
  for (int64_t p0 = 0; p0 < pixels; p0 += IC_P_NV * IC_VL) {
    const int64_t n = ic_min_i64(IC_P_NV * IC_VL, pixels - p0);
    const int nv = (int)ic_divide_round_up(n, IC_VL);
    const IC_M last = IC_MASK_RANGE(0, n - (nv - 1) * IC_VL);
    const int64_t o_first = a->c0 - a->c0 % IC_P_MR;
    for (int64_t o0 = o_first; o0 < a->c1; o0 += IC_P_MR) {
      if (nv == 3 && o0 == o_first) {
        ic_planar_tile_3_lead(a, o0, p0, last);
      } else if (nv == 3) {
        ic_planar_tile_3(a, o0, p0, last);
      } else if (nv == 2) {
        ic_planar_tile_2(a, o0, p0, last);
      } else {
        ic_planar_tile_1(a, o0, p0, last);
      }
    }
  }
}

/* ---- channel-contiguous: mr pixels x nv vectors of IC_VL output channels ---- */

/* A group of output channels is IC_C_BLOCKS weight blocks, IC_C_NV vectors, computed in tiles
 * of up to IC_C_MR pixels (wide tiles). A group with fewer vectors left in the slice
 * (MobileNet's 16, 24 and 32 outputs, the last 32 of 96) takes narrow tiles instead: only
 * its nv vectors, over IC_NARROW_MR(nv) pixels. Wide tiles computed all IC_C_NV vectors
 * whatever the group stored: alternating both (4 rounds, AVX-512, NHWC), 112x112 32 -> 16
 * 0.160 -> 0.074 ms, 56x56 144 -> 24 0.181 -> 0.109, 28x28 192 -> 32 0.058 -> 0.035, 14x14
 * 384 -> 96 -14 %, 7x7 576 -> 160 -16 %; the wide layers level. Narrow tiles keep as many
 * accumulators as wide ones, IC_C_ACC, but at most 16 pixels: IC_UNROLL unrolls 16 (and
 * 16 x 1 was faster than 24 x 1, 0.073 against 0.086 ms). Sums are arrays of IC_C_ACC,
 * [pixel * nv + vector]. */
enum {
  IC_C_MR = 6,
  IC_C_ACC = IC_C_MR * IC_C_NV,
  IC_C_BLOCKS = IC_C_NV * IC_VL / 16, /* weight blocks per group */
};
#define IC_NARROW_MR(nv) (IC_C_ACC / (nv) < 16 ? IC_C_ACC / (nv) : 16)

/* sum += the products of pixels [p0, p0 + mr) over input channels [k0, k1). */
IC_INLINE void ic_packed_reduce(const ic_f32_pwconv2d_args_t* a, const float* const* w,
                                int64_t p0, const int mr, const int nv, int64_t k0, int64_t k1,
                                IC_V sum[IC_C_ACC]) {
  const float* x = a->src + p0 * a->src_stride_p;
  const int64_t xps = a->src_stride_p, xcs = a->src_stride_c;
  for (int64_t c = k0; c < k1; c++) {
    IC_V wv[IC_C_NV];
    IC_UNROLL for (int j = 0; j < nv; j++) wv[j] = IC_VLOAD(w[j] + c * 16);
    const float* xc = x + c * xcs;
    IC_UNROLL for (int i = 0; i < mr; i++) {
      const IC_V xv = IC_VBCAST(xc + i * xps);
      IC_UNROLL for (int j = 0; j < nv; j++) {
        sum[i * nv + j] = IC_VFMA(xv, wv[j], sum[i * nv + j]);
      }
    }
  }
}

/* Weights of more than IC_AHEAD_MIN_FLOATS (256 KB) are not in a core's L2 when a network
 * reaches them: the next group of output channels' weights (in the slice, or the next
 * slice's, which its thread likely takes next) are brought to L2 while this group's tiles
 * run, a share per tile and a few lines per IC_AHEAD_STEPS channel steps, so that the next
 * group does not start from L3 or memory. ResNet-50's last stage: 2 to 4 MB of weights for 49
 * pixels, ~2-6 % faster; its 14x14 expands (1 MB), 5 % (with the weights in 2 MB pages; in
 * 4 KB pages the gain was smaller and the reduces lost a little); the 28x28 layers of 256 KB
 * and less lose ~4 % to the steps' bookkeeping. The AVX2 kernel's tiles (16 channels) lost
 * 14-20 % with it on the > 1 MB layers: it does not prefetch (IC_PW_AHEAD 0). */
enum { IC_AHEAD_STEPS = 8, IC_AHEAD_MIN_FLOATS = 1 << 16 };
typedef struct {
  const float* next; /* the next line to fetch */
  const float* end;  /* this tile's share ends here */
  int64_t lines;     /* per IC_AHEAD_STEPS channel steps */
} ic_ahead_t;

/* What a group's tiles fetch: `floats` from `start`, `share` of them per tile (the last tile,
 * a partial one included, takes what is left). */
typedef struct {
  const float* start;
  int64_t floats, share, share_lines;
} ic_ahead_plan_t;

/* The plan of group ob (whose tiles are `tiles`, the partial one included): the caller's
 * ahead_weights, a part per group of the call, or else the next group's weights. */
static ic_ahead_plan_t ic_ahead_plan(const ic_f32_pwconv2d_args_t* a, int64_t ob,
                                     int64_t tiles) {
  const int64_t k_total = a->in_channels;
  ic_ahead_plan_t plan = {a->packed_weights, 0, 0, 0};
  if (!IC_PW_AHEAD) return plan;
  if (a->ahead_weights != NULL) {
    const int64_t first = a->c0 / 16; /* ic_columns' first ob */
    const int64_t groups = ic_divide_round_up(ic_divide_round_up(a->c1, 16) - first, IC_C_BLOCKS);
    const int64_t group = (ob - first) / IC_C_BLOCKS;
    const int64_t part = ic_divide_round_up(a->ahead_floats / 16, groups) * 16;
    plan.start = a->ahead_weights + ic_min_i64(group * part, a->ahead_floats);
    plan.floats = ic_min_i64((group + 1) * part, a->ahead_floats) -
                  ic_min_i64(group * part, a->ahead_floats);
  } else {
    const int64_t all_blocks = ic_divide_round_up(ic_max_i64(a->out_channels, a->c1), 16);
    const int64_t next_block = ic_min_i64(ob + IC_C_BLOCKS, all_blocks);
    plan.start = a->packed_weights + next_block * k_total * 16;
    if (all_blocks * k_total * 16 > IC_AHEAD_MIN_FLOATS) {
      plan.floats = (ic_min_i64(next_block + IC_C_BLOCKS, all_blocks) - next_block) * k_total * 16;
    }
  }
  plan.share = ic_divide_round_up(plan.floats / 16, tiles) * 16;
  plan.share_lines = ic_divide_round_up(plan.share / 16, ic_max_i64(1, k_total / IC_AHEAD_STEPS));
  return plan;
}

/* sum = the products of pixels [p0, p0 + mr) over input channels [k0, k1), from zero. The
 * first chunk's first channel steps each fetch a line of the next tile's output (and
 * residual): in a network they are in memory. Those steps are a loop of their own so that
 * the others test nothing. */
IC_INLINE void ic_packed_chunk(const ic_f32_pwconv2d_args_t* a, const float* const* w,
                               int64_t ob, int64_t p0, const int mr, const int nv, int64_t k0,
                               int64_t k1, ic_ahead_t* ahead, IC_V sum[IC_C_ACC]) {
  IC_UNROLL for (int i = 0; i < mr; i++) {
    IC_UNROLL for (int j = 0; j < nv; j++) sum[i * nv + j] = IC_VZERO();
  }
  int64_t k = k0;
  if (k0 == 0 && a->dst_stride_c == 1) {
    for (const int64_t steps = ic_min_i64(k1, IC_C_ACC); k < steps; k++) {
      const int64_t pixel = p0 + mr + k / nv, channel = ob * 16 + k % nv * IC_VL;
      if (pixel < a->pixels && channel < a->c1) { /* only lines the next tile stores */
        const int64_t offset = pixel * a->dst_stride_p + channel;
        IC_PREFETCHW(a->dst + offset);
        if (a->residual != NULL) IC_PREFETCH(a->residual + offset);
      }
      ic_packed_reduce(a, w, p0, mr, nv, k, k + 1, sum);
    }
  }
  if (IC_PW_AHEAD && ahead->next < ahead->end) {
    for (; k + IC_AHEAD_STEPS <= k1; k += IC_AHEAD_STEPS) {
      for (int64_t n = 0; n < ahead->lines && ahead->next < ahead->end; n++, ahead->next += 16) {
        IC_PREFETCH_L2(ahead->next);
      }
      ic_packed_reduce(a, w, p0, mr, nv, k, k + IC_AHEAD_STEPS, sum);
    }
  }
  ic_packed_reduce(a, w, p0, mr, nv, k, k1, sum);
}

/* `tiles` tiles of mr pixels from p0, channels [ob * 16, ob * 16 + nv * IC_VL); only channels
 * in [c0, c1) and pixels from `from` on are stored. The set-up is done once for them all: with
 * few input channels a tile is short (64 channel steps in ResNet's first stage). `chunked`:
 * more than IC_CHUNK input channels; each chunk is then reduced from zero and added to the sum
 * of the ones before. The tiles are the group's from its tile t_first on (the plan's shares). */
IC_INLINE void ic_packed_tiles(const ic_f32_pwconv2d_args_t* a, int64_t ob, int64_t p0,
                               int64_t tiles, const ic_ahead_plan_t* plan, int64_t t_first,
                               int64_t from, const int mr, const int nv, const bool chunked) {
  const int64_t k_total = a->in_channels;
  const int64_t out_blocks = ic_divide_round_up(a->c1, 16);
  const float* w[IC_C_NV];
  IC_M lanes[IC_C_NV];
  IC_UNROLL for (int j = 0; j < nv; j++) {
    /* Vector j: its block and lanes in it. Blocks past the slice repeat the last one; their
     * results are not stored. */
    const int64_t block = ic_min_i64(ob + j * IC_VL / 16, out_blocks - 1);
    w[j] = a->packed_weights + block * k_total * 16 + j * IC_VL % 16;
    const int64_t base = ob * 16 + j * IC_VL;
    lanes[j] = IC_MASK_RANGE(a->c0 - base, a->c1 - base);
  }
  for (int64_t p = p0, t = t_first; p < p0 + tiles * mr; p += mr, t++) {
    ic_ahead_t ahead = {plan->start + ic_min_i64(t * plan->share, plan->floats),
                        plan->start + ic_min_i64((t + 1) * plan->share, plan->floats),
                        plan->share_lines};
    IC_V acc[IC_C_ACC];
    if (!chunked) {
      ic_packed_chunk(a, w, ob, p, mr, nv, 0, k_total, &ahead, acc);
    } else {
      /* The sum so far waits in memory while a chunk is reduced: in registers, it and the
       * chunk's sum would need 48 vectors, and gcc then spills the weights inside the loop. */
      IC_V partial[IC_C_ACC];
      for (int64_t k0 = 0; k0 < k_total; k0 += IC_CHUNK) {
        IC_V sum[IC_C_ACC];
        ic_packed_chunk(a, w, ob, p, mr, nv, k0, ic_min_i64(k0 + IC_CHUNK, k_total), &ahead,
                        sum);
        IC_UNROLL for (int i = 0; i < mr; i++) {
          IC_UNROLL for (int j = 0; j < nv; j++) {
            const int v = i * nv + j;
            partial[v] = k0 == 0 ? sum[v] : IC_VADD(partial[v], sum[v]);
          }
        }
        IC_KEEP_IN_MEMORY(partial);
      }
      IC_UNROLL for (int i = 0; i < mr; i++) {
        IC_UNROLL for (int j = 0; j < nv; j++) acc[i * nv + j] = partial[i * nv + j];
      }
    }
    IC_UNROLL for (int j = 0; j < nv; j++) {
      const int bits = IC_MASK_BITS(lanes[j]);
      if (bits == 0) continue;
      const int64_t base = ob * 16 + j * IC_VL;
      const IC_V bias = a->bias != NULL ? IC_VMASKLOAD(a->bias + base, lanes[j]) : IC_VZERO();
      IC_UNROLL for (int i = 0; i < mr; i++) {
        if (nv < IC_C_NV && p + i < from) continue; /* (wide tiles store all their pixels) */
        IC_V y = IC_VADD(acc[i * nv + j], bias);
        if (a->dst_stride_c == 1) {
          const int64_t offset = (p + i) * a->dst_stride_p + base;
          if (a->residual != NULL) {
            y = IC_VADD(y, IC_VMASKLOAD(a->residual + offset, lanes[j]));
          }
          IC_VMASKSTORE(a->dst + offset, lanes[j], IC_VACT(y, a->activation));
        } else {
          float values[IC_VL];
          IC_VSTORE(values, y);
          for (int64_t k = 0; k < IC_VL; k++) {
            if (!((bits >> k) & 1)) continue;
            const int64_t offset = (base + k) * a->dst_stride_c + (p + i) * a->dst_stride_p;
            float value = values[k];
            if (a->residual != NULL) value += a->residual[offset];
            a->dst[offset] = ic_activate(value, a->activation);
          }
        }
      }
    }
  }
}

typedef void (*ic_packed_tiles_fn)(const ic_f32_pwconv2d_args_t* a, int64_t ob, int64_t p0,
                                   int64_t tiles, const ic_ahead_plan_t* plan, int64_t t_first,
                                   int64_t from);

/* ic_packed_tiles for mr pixels x nv vectors, named `name` and name##_chunked. */
#define IC_PACKED_TILES(name, mr, nv)                                                          \
  static void name(const ic_f32_pwconv2d_args_t* a, int64_t ob, int64_t p0, int64_t tiles,     \
                   const ic_ahead_plan_t* plan, int64_t t_first, int64_t from) {               \
    ic_packed_tiles(a, ob, p0, tiles, plan, t_first, from, mr, nv, false);                     \
  }                                                                                            \
  static void name##_chunked(const ic_f32_pwconv2d_args_t* a, int64_t ob, int64_t p0,          \
                             int64_t tiles, const ic_ahead_plan_t* plan, int64_t t_first,      \
                             int64_t from) {                                                   \
    ic_packed_tiles(a, ob, p0, tiles, plan, t_first, from, mr, nv, true);                      \
  }
IC_PACKED_TILES(ic_wide_tiles_1, 1, IC_C_NV)
IC_PACKED_TILES(ic_wide_tiles_2, 2, IC_C_NV)
IC_PACKED_TILES(ic_wide_tiles_3, 3, IC_C_NV)
IC_PACKED_TILES(ic_wide_tiles_4, 4, IC_C_NV)
IC_PACKED_TILES(ic_wide_tiles_5, 5, IC_C_NV)
IC_PACKED_TILES(ic_wide_tiles_6, 6, IC_C_NV)
IC_PACKED_TILES(ic_narrow_tiles_1, IC_NARROW_MR(1), 1)
#if IC_C_NV == 4
IC_PACKED_TILES(ic_narrow_tiles_2, IC_NARROW_MR(2), 2)
IC_PACKED_TILES(ic_narrow_tiles_3, IC_NARROW_MR(3), 3)
#elif IC_C_NV != 2
#error "narrow tiles are defined for IC_C_NV 2 and 4"
#endif
#undef IC_PACKED_TILES

/* Wide tiles, [chunked][pixels per tile]. */
static const ic_packed_tiles_fn ic_wide_runs[2][IC_C_MR + 1] = {
    {NULL, ic_wide_tiles_1, ic_wide_tiles_2, ic_wide_tiles_3, ic_wide_tiles_4, ic_wide_tiles_5,
     ic_wide_tiles_6},
    {NULL, ic_wide_tiles_1_chunked, ic_wide_tiles_2_chunked, ic_wide_tiles_3_chunked,
     ic_wide_tiles_4_chunked, ic_wide_tiles_5_chunked, ic_wide_tiles_6_chunked}};

/* Narrow tiles of IC_NARROW_MR(nv) pixels, [chunked][vectors]. */
static const ic_packed_tiles_fn ic_narrow_runs[2][IC_C_NV] = {
#if IC_C_NV == 4
    {NULL, ic_narrow_tiles_1, ic_narrow_tiles_2, ic_narrow_tiles_3},
    {NULL, ic_narrow_tiles_1_chunked, ic_narrow_tiles_2_chunked, ic_narrow_tiles_3_chunked}};
#else
    {NULL, ic_narrow_tiles_1},
    {NULL, ic_narrow_tiles_1_chunked}};
#endif

/* Pixels [p0, p1), group by group of output channels. Wide tiles are as few as possible and of
 * balanced sizes: 49 pixels are 4 tiles of 6 and 5 of 5, not 8 of 6 and one of 1, which read
 * all the group's weights for one pixel. Narrow tiles are all whole: the last ends at p1 and
 * stores only the pixels the others left (it computes again a few they stored: with a
 * residual aliasing dst, storing them twice would add it twice). Ranges shorter than a narrow
 * tile take the wide ones. A pixel's sum depends on neither its tile nor the tile's width. */
static void ic_columns(const ic_f32_pwconv2d_args_t* a, int64_t p0, int64_t p1) {
  const bool chunked = a->in_channels > IC_CHUNK;
  const int64_t tiles = ic_divide_round_up(p1 - p0, IC_C_MR);
  if (tiles == 0) return;
  /* `larger` tiles of mr + 1 pixels, then the others of mr. */
  const int64_t mr = (p1 - p0) / tiles, larger = (p1 - p0) % tiles;
  for (int64_t ob = a->c0 / 16; ob * 16 < a->c1; ob += IC_C_BLOCKS) {
    const int64_t nv = ic_min_i64(IC_C_NV, ic_divide_round_up(a->c1 - ob * 16, IC_VL));
    const int64_t narrow_mr = IC_NARROW_MR(nv);
    if (nv < IC_C_NV && p1 - p0 >= narrow_mr) {
      const int64_t whole = (p1 - p0) / narrow_mr, rest = (p1 - p0) % narrow_mr;
      const ic_ahead_plan_t plan = ic_ahead_plan(a, ob, whole + (rest > 0));
      const ic_packed_tiles_fn run = ic_narrow_runs[chunked][nv];
      run(a, ob, p0, whole, &plan, 0, p0);
      if (rest > 0) run(a, ob, p1 - narrow_mr, 1, &plan, whole, p1 - rest);
      continue;
    }
    const ic_packed_tiles_fn* runs = ic_wide_runs[chunked];
    const ic_ahead_plan_t plan = ic_ahead_plan(a, ob, tiles);
    if (larger > 0) runs[mr + 1](a, ob, p0, larger, &plan, 0, p0);
    runs[mr](a, ob, p0 + larger * (mr + 1), tiles - larger, &plan, larger, p0);
  }
}

void IC_PW_FN(const ic_f32_pwconv2d_args_t* args) {
  /* A single pixel (a linear layer) is pixel- and channel-contiguous at once: the channel-vector
   * tile uses every lane, the pixel-vector tile one lane in IC_VL. */
  const bool single = args->pixels == 1 && args->src_stride_c == 1;
  if (args->packed_weights != NULL && args->src_stride_p == 1 && !single) {
    ic_planar(args);
  } else if (args->packed_weights != NULL && args->src_stride_c == 1) {
    ic_columns(args, 0, args->pixels);
  } else {
    ic_f32_pwconv2d_ukernel_gemm__scalar(args);
  }
}
