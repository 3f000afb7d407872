/*
 * The direct convolution kernels' one body, included by the per-ISA files
 * (f32-conv2d-14x32c-avx512.c, f32-conv2d-6x16c-avx2.c) after they define:
 *   IC_V, IC_VL (lanes), IC_VZERO(), IC_VLOAD(p), IC_VSTORE(p, v), IC_VADD(a, b),
 *   IC_VFMA(a, b, c) (a * b + c), IC_VBCAST(p) (*p in every lane),
 *   IC_MR (pixels per tile: 14 or 6), IC_NB (16-channel output blocks per tile: 2 or 1),
 *   IC_STORE_ROW (the ISA's epilogue, f32-conv2d-<isa>.h), IC_CONV_FN (the kernel's name).
 * A tile is IC_MR output pixels of one row x 2 * IC_VL output channels in two accumulator
 * arrays: acc0 reads weights at w0, acc1 at w1 — the next 16-channel block (AVX-512), or the
 * upper 8 lanes of the same block (AVX2). Packed weights are [block][chunk][tap][channel][16]
 * (ukernels.h).
 *
 * For each pair of 16-channel output blocks and each output row, the input channels are
 * reduced in chunks of whole channel blocks (at most about 512 products per chunk); a chunk
 * starts from zero accumulators and is then added to the row's partial sums in the scratch,
 * so accumulation chains stay short and the order is fixed: chunk, kernel row, kernel column,
 * channel. The finished row gets the epilogue (bias, residual, activation) on its way to dst.
 */
#include "internal.h"
#include "ukernels.h"

enum { IC_ROW = 2 * IC_VL }; /* floats per pixel in the row buffer: the tile's channels */
_Static_assert(IC_MR <= IC_F32_CONV2D_MAX_TILE_W, "tiles wider than the folded packing assumes");
enum { IC_PREFETCH_MIN_BYTES = 1 << 20 }; /* packed weights from which the kernel prefetches */

/* The weights of the chunk after the current one, fetched into cache while the tiles of the
 * current chunk compute: inside a network a layer's weights come from memory (ResNet-50 reads
 * ~100 MB of weights between two uses of one layer's), and a chunk is a few KB from each of
 * IC_NB * taps places, more streams than the hardware prefetchers follow. Lines are fetched
 * tap by tap, each tap's piece of every output block in turn, `per_step` lines per block step
 * of the tiles, so that the whole chunk arrives as the current one is finished. */
typedef struct ic_weight_prefetch {
  const float* w[IC_NB]; /* the next chunk's first piece, per output block */
  int64_t w_tap;         /* floats between taps */
  int64_t piece_lines;   /* cache lines of one tap's piece (one line per channel) */
  int64_t taps, per_step;
  int64_t tap, block, line; /* the cursor */
  bool to_l2; /* prefetch to L2, not with the non-temporal hint (args->weights_to_l2) */
} ic_weight_prefetch_t;

IC_INLINE void ic_weight_prefetch_step(ic_weight_prefetch_t* p) {
  for (int64_t n = p->per_step; n > 0 && p->tap < p->taps; n--) {
    const float* at = p->w[p->block] + p->tap * p->w_tap + p->line * 16;
    if (p->to_l2) {
      IC_PREFETCH_L2(at);
    } else {
      IC_PREFETCH_ONCE(at);
    }
    if (++p->line < p->piece_lines) continue;
    p->line = 0;
    if (++p->block < IC_NB) continue;
    p->block = 0;
    p->tap++;
  }
}

/* One tile's operands. x and w point at the chunk's first block, kernel row kh0, column 0. */
typedef struct ic_conv_tile {
  const float* x;
  int64_t x_kh, x_kw, x_block, ps; /* floats between kernel rows, columns, blocks, pixels */
  int64_t kh_count, kw_count, blocks, block, last_lanes;
  const float* w0;
  const float* w1;
  int64_t w_tap; /* floats between taps */
  float* out;    /* the tile's first pixel in the row buffer (IC_ROW floats per pixel) */
  bool add;      /* add to the partial sums instead of storing */
  ic_weight_prefetch_t* prefetch; /* NULL, or the next chunk's weights to fetch on the way */
} ic_conv_tile_t;


/* Which pixel of a tile skips which tap: its first pixel the first kernel column, its last
 * pixel the last one (IC_EDGE_LEFT, IC_EDGE_RIGHT), where that column is padding. */
enum { IC_EDGE_LEFT = 1, IC_EDGE_RIGHT = 2 };

/* The chunk's channels of one tap into pixels [i0, i1) of the accumulators. */
IC_INLINE void ic_tile_tap(const ic_conv_tile_t* t, const float* xt, const float* wt0,
                           const float* wt1, const int i0, const int i1, const int64_t ps,
                           IC_V* acc0, IC_V* acc1) {
  for (int64_t b = 0; b < t->blocks; b++) {
    if (t->prefetch != NULL) ic_weight_prefetch_step(t->prefetch);
    const float* xb = xt + b * t->x_block;
    const float* wb0 = wt0 + b * t->block * 16;
    const float* wb1 = wt1 + b * t->block * 16;
    const int64_t lanes = b + 1 == t->blocks ? t->last_lanes : t->block;
    /* One input channel c of the block: two weight vectors, a broadcast and two FMAs per
     * pixel. A whole block unrolls with its constant count; a partial last block loops. */
#define IC_CHANNEL_STEP(c)                                      \
  do {                                                          \
    const IC_V wa = IC_VLOAD(wb0 + (c) * 16);                   \
    const IC_V wb = IC_VLOAD(wb1 + (c) * 16);                   \
    IC_UNROLL for (int i = i0; i < i1; i++) {                   \
      const IC_V xv = IC_VBCAST(xb + i * ps + (c));             \
      acc0[i] = IC_VFMA(xv, wa, acc0[i]);                       \
      acc1[i] = IC_VFMA(xv, wb, acc1[i]);                       \
    }                                                           \
  } while (0)
    if (lanes == 16) {
      IC_UNROLL for (int c = 0; c < 16; c++) IC_CHANNEL_STEP(c);
    } else {
      for (int64_t c = 0; c < lanes; c++) IC_CHANNEL_STEP(c);
    }
#undef IC_CHANNEL_STEP
  }
}

/* `edges` (IC_EDGE_*, then kernel_w is 3): the tile's first or last pixel skips a tap that
 * only reads padding, whose products are zeros (as whole kernel rows outside the image are
 * skipped). The three columns are then written out: in a loop over them with a branch per
 * column, gcc spilled accumulators in the 14-pixel tiles. */
IC_INLINE void ic_tile_body(const ic_conv_tile_t* t, const int mr, const int64_t ps,
                            const int edges) {
  IC_V acc0[IC_MR], acc1[IC_MR];
  IC_UNROLL for (int i = 0; i < mr; i++) acc0[i] = acc1[i] = IC_VZERO();
  if (edges != 0) { /* three kernel columns (ic_padded_edges), in a row */
    for (int64_t kh = 0; kh < t->kh_count; kh++) {
      const float* xt = t->x + kh * t->x_kh;
      const float* wt0 = t->w0 + kh * 3 * t->w_tap;
      const float* wt1 = t->w1 + kh * 3 * t->w_tap;
      ic_tile_tap(t, xt, wt0, wt1, (edges & IC_EDGE_LEFT) ? 1 : 0, mr, ps, acc0, acc1);
      ic_tile_tap(t, xt + t->x_kw, wt0 + t->w_tap, wt1 + t->w_tap, 0, mr, ps, acc0, acc1);
      ic_tile_tap(t, xt + 2 * t->x_kw, wt0 + 2 * t->w_tap, wt1 + 2 * t->w_tap, 0,
                  (edges & IC_EDGE_RIGHT) ? mr - 1 : mr, ps, acc0, acc1);
    }
  } else {
    for (int64_t kh = 0; kh < t->kh_count; kh++) {
      for (int64_t kw = 0; kw < t->kw_count; kw++) {
        const float* xt = t->x + kh * t->x_kh + kw * t->x_kw;
        const int64_t tap = kh * t->kw_count + kw;
        ic_tile_tap(t, xt, t->w0 + tap * t->w_tap, t->w1 + tap * t->w_tap, 0, mr, ps, acc0,
                    acc1);
      }
    }
  }
  float* out = t->out;
  if (t->add) {
    IC_UNROLL for (int i = 0; i < mr; i++) {
      IC_VSTORE(out + i * IC_ROW, IC_VADD(IC_VLOAD(out + i * IC_ROW), acc0[i]));
      IC_VSTORE(out + i * IC_ROW + IC_VL, IC_VADD(IC_VLOAD(out + i * IC_ROW + IC_VL), acc1[i]));
    }
  } else {
    IC_UNROLL for (int i = 0; i < mr; i++) {
      IC_VSTORE(out + i * IC_ROW, acc0[i]);
      IC_VSTORE(out + i * IC_ROW + IC_VL, acc1[i]);
    }
  }
}

typedef void (*ic_tile_fn)(const ic_conv_tile_t* t);

#define IC_TILE(mr)                                                               \
  static void ic_tile_##mr(const ic_conv_tile_t* t) { ic_tile_body(t, mr, t->ps, 0); }
IC_TILE(1)
IC_TILE(2)
IC_TILE(3)
IC_TILE(4)
IC_TILE(5)
IC_TILE(6)
#if IC_MR == 14
IC_TILE(7)
IC_TILE(8)
IC_TILE(9)
IC_TILE(10)
IC_TILE(11)
IC_TILE(12)
IC_TILE(13)
IC_TILE(14)
#elif IC_MR != 6
#error "f32-conv2d-impl.h: IC_MR must be 6 or 14"
#endif
#undef IC_TILE
/* Full tiles with the common pixel strides as constants: every load address is then one base
 * register plus a displacement. */
static void ic_tile_full_ps16(const ic_conv_tile_t* t) { ic_tile_body(t, IC_MR, 16, 0); }
static void ic_tile_full_ps32(const ic_conv_tile_t* t) { ic_tile_body(t, IC_MR, 32, 0); }
#if IC_MR == 14
/* Half tiles too: 7x7 and 28x28 images end rows with 7 pixels. */
static void ic_tile_half_ps16(const ic_conv_tile_t* t) { ic_tile_body(t, IC_MR / 2, 16, 0); }
static void ic_tile_half_ps32(const ic_conv_tile_t* t) { ic_tile_body(t, IC_MR / 2, 32, 0); }
#endif

static const ic_tile_fn ic_tiles[IC_MR + 1] = {
    NULL, ic_tile_1, ic_tile_2, ic_tile_3, ic_tile_4, ic_tile_5, ic_tile_6,
#if IC_MR == 14
    ic_tile_7, ic_tile_8, ic_tile_9, ic_tile_10, ic_tile_11, ic_tile_12, ic_tile_13, ic_tile_14,
#endif
};

/* In place on a stride-2 3-channel stem (RGB): pixels 6 floats apart. */
static void ic_tile_full_ps6(const ic_conv_tile_t* t) { ic_tile_body(t, IC_MR, 6, 0); }

/* Tiles that skip the taps of their end pixels that only read padding (stride-1 3x3 convs
 * with padding 1; ic_padded_edges): a 7-wide row's tile both (7x7 images, a tenth of its
 * FMAs), full tiles at the ends of wider rows (a twentieth on 14x14 images). Measured one
 * thread at a time in alternating runs, ResNet's 3x3 layers: 7x7 -8 to -11 %, 14x14 0 to -4 %,
 * 28x28 -1 to -2 %, 56x56 unchanged (docs/BENCHMARKS.md). At stride 2 only the left end pads,
 * 1-5 % of the FMAs: within the noise, so those tiles have no variant; nor has the AVX2 kernel
 * (its 7x7 layer -2 %, in the noise), whose variants doubled its file's sanitizer build. */
#define IC_EDGE_TILES (IC_MR == 14)
#if IC_EDGE_TILES
#define IC_EDGE_TILE(name, mr, ps, edges) \
  static void name(const ic_conv_tile_t* t) { ic_tile_body(t, mr, ps, edges); }
IC_EDGE_TILE(ic_tile_full_ps16_left, IC_MR, 16, IC_EDGE_LEFT)
IC_EDGE_TILE(ic_tile_full_ps16_right, IC_MR, 16, IC_EDGE_RIGHT)
IC_EDGE_TILE(ic_tile_full_ps16_both, IC_MR, 16, IC_EDGE_LEFT | IC_EDGE_RIGHT)
IC_EDGE_TILE(ic_tile_half_ps16_both, IC_MR / 2, 16, IC_EDGE_LEFT | IC_EDGE_RIGHT)
#undef IC_EDGE_TILE
#endif

/* The tile for mr pixels ps floats apart; `edges`: the padding taps it may skip (tiles
 * without such a variant compute their zero products). */
static ic_tile_fn ic_pick_tile(int64_t mr, int64_t ps, int edges) {
#if IC_EDGE_TILES
  const int both = IC_EDGE_LEFT | IC_EDGE_RIGHT;
  if (mr == IC_MR && ps == 16 && edges == IC_EDGE_LEFT) return ic_tile_full_ps16_left;
  if (mr == IC_MR && ps == 16 && edges == IC_EDGE_RIGHT) return ic_tile_full_ps16_right;
  if (mr == IC_MR && ps == 16 && edges == both) return ic_tile_full_ps16_both;
  if (mr == IC_MR / 2 && ps == 16 && edges == both) return ic_tile_half_ps16_both;
#else
  (void)edges;
#endif
  if (mr == IC_MR && ps == 6) return ic_tile_full_ps6;
  if (mr == IC_MR && ps == 16) return ic_tile_full_ps16;
  if (mr == IC_MR && ps == 32) return ic_tile_full_ps32;
#if IC_MR == 14
  if (mr == IC_MR / 2 && ps == 16) return ic_tile_half_ps16;
  if (mr == IC_MR / 2 && ps == 32) return ic_tile_half_ps32;
#endif
  return ic_tiles[mr];
}

/* The IC_EDGE_* of a packed tile of pixels [x, x + mr) of a 3-column kernel: its first pixel's
 * first kernel column, or its last pixel's last one, in the padding (not folded: a packed
 * column is one input column). The products fit: the packing's columns reach them. None for
 * a kernel without edge tiles, which would only drop them. */
static int ic_padded_edges(const ic_conv2d_geometry_t* g, const ic_f32_conv2d_packing_t* pk,
                           int64_t x, int64_t mr) {
  if (!IC_EDGE_TILES || pk->folded || g->kernel_w != 3) return 0;
  int edges = 0;
  if (x * g->stride_w - g->pad_left < 0) edges |= IC_EDGE_LEFT;
  if ((x + mr - 1) * g->stride_w - g->pad_left + (g->kernel_w - 1) * g->dilation_w >= g->in_w) {
    edges |= IC_EDGE_RIGHT;
  }
  return edges;
}

void IC_CONV_FN(const ic_f32_conv2d_args_t* args) {
  const ic_conv2d_geometry_t* g = args->geometry;
  ic_f32_conv2d_packing_t pk;
  if (!ic_f32_conv2d_packing(g, &pk)) return; /* the operator never calls us then */
  const int64_t taps = g->kernel_h * g->kernel_w;
  const int64_t out_blocks = ic_divide_round_up(pk.group_out, 16);
  const int64_t row_floats = pk.cols * pk.block;
  const int64_t chunk_blocks = pk.chunk_blocks;
  float* row = args->scratch;
  const int64_t block_floats = taps * pk.group_in * 16; /* packed weights of one output block */
  /* Weights that fit the L2 come in fast enough on their own: the prefetches then only cost
   * (1-5 % measured with warm caches); larger ones are the in-network case of the header. */
  const bool prefetch_weights = pk.weights_floats * (int64_t)sizeof(float) >= IC_PREFETCH_MIN_BYTES;
  /* Narrow rows (a tile or two) share each weight chunk; wide ones go one at a time, or the
   * partial sums would push the chunk out of L1. */
  const int64_t group_rows = ic_f32_conv2d_shared_rows(g->out_w, IC_ROW);
  /* Folded NHWC stems: the columns [place_lo, place_hi) come from the image itself. */
  int64_t place_lo = 0, place_hi = 0;
  ic_f32_conv2d_in_place_columns(g, &pk, args->src_stride, &place_lo, &place_hi);

  const int64_t g0 = args->c0 / pk.group_out, g1 = (args->c1 - 1) / pk.group_out + 1;
  for (int64_t gi = g0; gi < g1; gi++) {
    const int64_t group_c0 = gi * pk.group_out;
    const int64_t lo = ic_max_i64(args->c0, group_c0) - group_c0;
    const int64_t hi = ic_min_i64(args->c1, group_c0 + pk.group_out) - group_c0;
    const float* group_src = args->packed_src + gi * pk.blocks * pk.plane_floats;
    for (int64_t ob = lo / 16; ob * 16 < hi; ob += IC_NB) {
      const float* w0 = args->packed_weights + (gi * out_blocks + ob) * block_floats;
#if IC_NB == 2
      /* acc1: the next block (a lone last block computes twice, stored once) */
      const int64_t ob1 = ic_min_i64(ob + 1, out_blocks - 1);
      const float* w1 = args->packed_weights + (gi * out_blocks + ob1) * block_floats;
#else
      const float* w1 = w0 + IC_VL; /* acc1: the upper lanes of the same block */
#endif
      /* Groups of rows (see group_rows): each chunk of weights is used for all of them before
       * the next chunk. */
      for (int64_t ya = args->y0; ya < args->y1; ya += group_rows) {
        const int64_t yb = ic_min_i64(ya + group_rows, args->y1);
        for (int64_t b0 = 0; b0 < pk.blocks; b0 += chunk_blocks) {
          /* The next chunk: the next channels of these output blocks, or after the last rows
           * the first channels of the next output blocks (the next row group's first chunk
           * was used a moment ago). */
          ic_weight_prefetch_t prefetch = {
              {NULL}, 0, 0, pk.kernel_taps, 0, 0, 0, 0, args->weights_to_l2};
          int64_t next_ob = -1, next_b0 = 0;
          if (b0 + chunk_blocks < pk.blocks) {
            next_ob = ob;
            next_b0 = b0 + chunk_blocks;
          } else if (yb >= args->y1 && (ob + IC_NB) * 16 < hi) {
            next_ob = ob + IC_NB;
          }
          if (next_ob >= 0 && prefetch_weights) {
            for (int64_t j = 0; j < IC_NB; j++) { /* the blocks the tiles will read (see w1) */
              const int64_t block = gi * out_blocks + ic_min_i64(next_ob + j, out_blocks - 1);
              prefetch.w[j] = args->packed_weights + block * block_floats +
                              ic_f32_conv2d_weight_offset(&pk, 0, next_b0 * pk.block);
            }
            prefetch.piece_lines = ic_f32_conv2d_chunk_channels(&pk, next_b0 * pk.block);
            prefetch.w_tap = prefetch.piece_lines * 16;
            const int64_t steps = (yb - ya) * ic_divide_round_up(g->out_w, IC_MR) * pk.kernel_taps *
                                  ic_min_i64(chunk_blocks, pk.blocks - b0);
            prefetch.per_step =
                ic_divide_round_up(IC_NB * pk.kernel_taps * prefetch.piece_lines, steps);
          }
          for (int64_t y = ya; y < yb; y++) {
            int64_t kh0 = 0, kh1 = g->kernel_h;
            if (pk.step_h == 1) {
              ic_tap_range(y * g->stride_h - g->pad_top, g->dilation_h, g->kernel_h, g->in_h,
                           &kh0, &kh1);
            } else {
              const int64_t iy = y * pk.step_h - g->pad_top;
              if (iy < 0 || iy >= g->in_h) kh1 = 0;
            }
            float* rows = row + (y - ya) * g->out_w * IC_ROW;
            if (kh0 == kh1) {
              if (b0 == 0) {
            for (int64_t x = 0; x < g->out_w; x++) {
                  IC_VSTORE(rows + x * IC_ROW, IC_VZERO());
                  IC_VSTORE(rows + x * IC_ROW + IC_VL, IC_VZERO());
                }
              }
              continue;
            }
            ic_conv_tile_t t;
            t.kh_count = kh1 - kh0;
            t.kw_count = pk.taps_w;
            /* A step between taps exists only with two taps or more: with one, a huge dilation
             * need not give a distance that fits. */
            t.x_kh = t.kh_count > 1 ? pk.tap_h * row_floats : 0;
            t.x_kw = t.kw_count > 1 ? pk.tap_w * pk.block : 0;
            t.x_block = pk.plane_floats;
            t.ps = pk.col_step * pk.block;
            t.blocks = ic_min_i64(chunk_blocks, pk.blocks - b0);
            t.block = pk.block;
            t.last_lanes = ic_min_i64(pk.block, pk.channels - (b0 + t.blocks - 1) * pk.block);
            const int64_t w_first =
                ic_f32_conv2d_weight_offset(&pk, kh0 * pk.taps_w, b0 * pk.block);
            t.w_tap = ic_f32_conv2d_chunk_channels(&pk, b0 * pk.block) * 16;
            t.w0 = w0 + w_first;
            t.w1 = w1 + w_first;
            t.add = b0 > 0;
            t.prefetch = prefetch.per_step > 0 ? &prefetch : NULL;
            const float* packed_row = group_src + b0 * pk.plane_floats +
                                      (y * pk.row_step + kh0 * pk.tap_h) * row_floats;
            const float* x_row = NULL;
            /* In place: the chunk's channels are one run of floats per column, the columns
             * stride_w pixels apart. Channel order and sums are the packed tiles' own. */
            ic_conv_tile_t in_place = t;
            if (place_lo < place_hi) {
              const ic_view_strides_t xs = args->src_stride;
              in_place.x_kh = t.kh_count > 1 ? g->dilation_h * xs.h : 0;
              in_place.x_block = 0;
              in_place.ps = g->stride_w * xs.w;
              in_place.blocks = 1;
              in_place.block = in_place.last_lanes =
                  ic_min_i64(pk.channels, (b0 + t.blocks) * pk.block) - b0 * pk.block;
              x_row = args->src + (y * g->stride_h - g->pad_top + kh0 * g->dilation_h) * xs.h +
                      b0 * pk.block;
            }
            for (int64_t x = 0; x < g->out_w; x += IC_MR) {
              const int64_t mr = ic_min_i64(IC_MR, g->out_w - x);
              if (x >= place_lo && x + mr <= place_hi) {
                in_place.x = x_row + (x * g->stride_w - g->pad_left) * args->src_stride.w;
                in_place.out = rows + x * IC_ROW;
                ic_pick_tile(mr, in_place.ps, 0)(&in_place);
              } else {
                t.x = packed_row + x * t.ps;
                t.out = rows + x * IC_ROW;
                ic_pick_tile(mr, t.ps, ic_padded_edges(g, &pk, x, mr))(&t);
              }
            }
          }
        }
        for (int64_t y = ya; y < yb; y++) {
          IC_STORE_ROW(args, row + (y - ya) * g->out_w * IC_ROW, IC_ROW, y,
                       gi * pk.group_out + ob * 16,
                       (ic_min_i64(ob + IC_NB, out_blocks) - ob) * (16 / IC_VL), group_c0,
                       group_c0 + pk.group_out);
        }
      }
    }
  }
}
