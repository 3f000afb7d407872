/*
 * ukernels.h — the microkernel interfaces.
 *
 * A microkernel computes one slice of one image (a range of output channels and rows) and
 * knows nothing about tensors, batches, threads or validation: operators (src/operators/) do
 * that and call kernels through the function pointers selected at create time
 * (src/configs/ukernel-config.c).
 *
 * Each family's kernels are listed once, in the family's .inc file (the X-macro
 * IC_UKERNEL(isa, family, tile, isa_suffix)); that list generates the declarations below, the
 * dispatch tables and the kernel tests. A kernel is named
 *   symbol  ic_<family>_ukernel_<tile>__<isa_suffix>   e.g. ic_f32_conv2d_ukernel_direct__scalar
 *   name    <family>_<tile>__<isa_suffix>              e.g. f32_conv2d_direct__scalar
 * and lives in src/<folder>/<family>-<tile>-<isa_suffix>.c with '-' for '_'.
 *
 * Addressing: all strides are in elements. Source images are addressed absolutely (element
 * (0, 0, 0) of the image plus strides); destinations (and per-pixel inputs such as residual or
 * involution kernels) point at the first row of the slice, so that a slice can be written into
 * a small scratch tile as easily as into the final tensor.
 *
 * Numerics of the scalar kernels: products are summed in double in a fixed order (input
 * channel, then kernel row, then kernel column), then bias and residual are added and the sum
 * is rounded to float once. The error is thus at most half an ulp of the output plus a
 * negligible double-precision term, far inside the SPEC §3 bound.
 */
#ifndef IC_UKERNELS_H
#define IC_UKERNELS_H

#include <stdbool.h>
#include <stdint.h>

#include "invconv.h"

/* For kernel code: IC_INLINE forces inlining of a tile body, so that each call with constant
 * shape arguments (pixels per tile, pixel stride) compiles to its own specialised code;
 * IC_UNROLL fully unrolls the loops over a register tile. */
#if defined(__clang__)
#define IC_INLINE static inline __attribute__((always_inline))
#define IC_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define IC_INLINE static inline __attribute__((always_inline))
#define IC_UNROLL _Pragma("GCC unroll 16")
#else
#define IC_INLINE static inline
#define IC_UNROLL
#endif

/* For kernel code: a hint to fetch the cache line at p for reading or writing. Inside a network
 * a layer finds its weights and often its activations in memory, not in cache (ResNet-50
 * streams ~100 MB of weights between two uses of one layer's); the kernels prefetch what the
 * hardware prefetchers cannot foresee (ic-bench --cold measures that case). */
#if defined(__GNUC__) || defined(__clang__)
#define IC_PREFETCH(p) __builtin_prefetch((p), 0, 3)
#define IC_PREFETCHW(p) __builtin_prefetch((p), 1, 3)
/* To L2 only: data needed some thousands of cycles later (the next group's weights). */
#define IC_PREFETCH_L2(p) __builtin_prefetch((p), 0, 2)
/* Data used once per network pass (a layer's weights): fetched with the non-temporal hint, so
 * that the ~100 MB streamed per pass do not push the activations the next layers read out of
 * the outer caches. */
#define IC_PREFETCH_ONCE(p) __builtin_prefetch((p), 0, 0)
#else
#define IC_PREFETCH(p) ((void)(p))
#define IC_PREFETCHW(p) ((void)(p))
#define IC_PREFETCH_L2(p) ((void)(p))
#define IC_PREFETCH_ONCE(p) ((void)(p))
#endif

/* For kernel code: keeps the local array a in memory, not in registers (the compiler must
 * assume that the empty asm reads it), where holding it would make it spill what the loops
 * need more. */
#if defined(__GNUC__) || defined(__clang__)
#define IC_KEEP_IN_MEMORY(a) __asm__ volatile("" : : "r"(a) : "memory")
#else
#define IC_KEEP_IN_MEMORY(a) ((void)(a))
#endif

/* Kernel lists guard their x86 entries with this. */
#if defined(__x86_64__) || defined(_M_X64)
#define IC_ARCH_X86_64 1
#else
#define IC_ARCH_X86_64 0
#endif

/* Element strides of one image (channel, row, column). */
typedef struct ic_view_strides {
  int64_t c, h, w;
} ic_view_strides_t;

/* ---------------------------------------------------------------------------------------------
 * f32 conv2d (f32-conv/) and depthwise conv2d (f32-dwconv/)
 * ------------------------------------------------------------------------------------------- */

typedef struct ic_conv2d_geometry {
  int64_t in_channels, out_channels, groups;
  int64_t in_h, in_w, out_h, out_w;
  int64_t kernel_h, kernel_w;
  int64_t stride_h, stride_w; /* 1 along an axis of one output (ic_window_output_t's) */
  int64_t dilation_h, dilation_w;
  int64_t pad_top, pad_left; /* resolved; the bottom/right padding is implied by out_h/out_w */
} ic_conv2d_geometry_t;

typedef struct ic_f32_conv2d_args {
  const ic_conv2d_geometry_t* geometry;
  const float* weights;  /* packed at create: [out_channels][in_channels/groups][kh][kw] */
  const float* bias;     /* [out_channels] or NULL */
  int32_t activation;    /* ic_activation_t */
  const float* src;      /* the image, element (0, 0, 0) */
  ic_view_strides_t src_stride;
  float* dst;            /* output row y0, channel 0 */
  const float* residual; /* NULL, or addressed exactly like dst (may be dst itself) */
  ic_view_strides_t dst_stride;
  int64_t y0, y1;        /* output rows [y0, y1) */
  int64_t c0, c1;        /* output channels [c0, c1) */
  /* Prepared operands, read by the kernels above scalar (the scalar kernels ignore them):
   *   packed_weights  direct: ic_f32_conv2d_pack_weights(); depthwise: optional,
   *                   ic_f32_dwconv2d_pack_weights() (without it channel-contiguous images
   *                   take the scalar kernel)
   *   packed_src      direct: rows [0, packing.rows) of ic_f32_conv2d_pack_src() of the image
   *                   (src and src_stride too: the columns read in place come from there)
   *   scratch         direct: ic_f32_conv2d_scratch_floats() floats of this call's own */
  const float* packed_weights;
  const float* packed_src;
  float* scratch;
  /* Direct: the next weight chunk is prefetched to L2 rather than with the non-temporal hint
   * (ic_nta_prefetch_skips_l2()). A hint: results do not depend on it. */
  bool weights_to_l2;
} ic_f32_conv2d_args_t;

typedef void (*ic_f32_conv2d_ukernel_fn)(const ic_f32_conv2d_args_t* args);

/* Depthwise kernels take the same arguments; groups == in_channels and the multiplier is
 * out_channels / in_channels (weights [out_channels][1][kh][kw]). */
typedef ic_f32_conv2d_args_t ic_f32_dwconv2d_args_t;
typedef ic_f32_conv2d_ukernel_fn ic_f32_dwconv2d_ukernel_fn;

/* The SIMD depthwise kernels form a tap's offset before their masks drop the taps outside the
 * image; windows that start or reach more than 2^20 pixels away from it (padding, dilated
 * kernels or strides with padding after the image that large: no network's) would take such an
 * offset out of the address space. Those geometries take the scalar kernel, which forms the
 * offsets of in-image taps only. */
static inline bool ic_f32_dwconv2d_far_window(const ic_conv2d_geometry_t* g) {
  const int64_t far = INT64_C(1) << 20;
  return g->pad_top > far || g->pad_left > far ||
         (g->kernel_h - 1) > far / g->dilation_h || (g->kernel_w - 1) > far / g->dilation_w ||
         (g->out_h - 1) > far / g->stride_h || (g->out_w - 1) > far / g->stride_w;
}

/* Pixel-contiguous 3x3 planes of up to this many input pixels: the SIMD depthwise kernels
 * transpose 16 (AVX2: 8) whole planes at a time into a channel-contiguous tile, so calls on
 * such planes should cover whole planes and whole vectors of channels. */
enum { IC_F32_DWCONV2D_TILE_PIXELS = 256 };

/*
 * Prepared operands of the SIMD direct conv kernels (f32-conv/f32-conv2d-pack.c).
 *
 * Weights: per group and block of 16 output channels (output channels innermost, zero beyond
 * group_out; the same for every ISA, avx2 reads a block as two ymm), the taps and channels as
 * the kernels see them (`kernel_taps` = kernel_h * taps_w taps of `channels` channels, see
 * Folded below) cut into the chunks of the kernels' reduction, chunk-major:
 *   [groups][ceil(group_out / 16)][chunk][kernel tap][channel of the chunk][16]
 * A chunk is chunk_blocks blocks of 16 channels (the last may be shorter); the kernels sum
 * each chunk from zero and add it to the sums of the ones before, so that accumulation chains
 * stay short (fp32 error: all-positive 3x3 sums over 1024 channels were off by up to 1.1e-5
 * of their magnitude in one chain, 4.5e-7 in chunks), and each chunk's weights are one run
 * of memory. (Chunks of [kh][kw][channel] weights were 18 runs of 3 KB a tile steps through,
 * most likely more than the prefetchers follow (no counters in our VM to tell): 3x3 convs on
 * 7x7 and 14x14 images ran 6-12 % slower than with no chunks at all.)
 *
 * Source: each group's channels in blocks of 16 lanes (zero past the last channel), zero-padded
 * to the window's reach, pixel-major inside a block:
 *   packed[g][b][r][q][lane] = x[g * group_in + b * 16 + lane][r * step_h - pad_top]
 *                                                               [q * step_w - pad_left]
 * (0 outside the image). Output pixel (y, x), tap (kh, kw) reads packed row
 * y * row_step + kh * tap_h, column x * col_step + kw * tap_w. A 1x1 kernel is packed
 * decimated (step = stride, row_step = col_step = 1: only the pixels it reads); any other
 * kernel whole (step 1, row_step = stride, tap = dilation).
 * Folded (group_in < 16 and kernel_w > 1, e.g. a 3-channel stem): the kernel columns join the
 * channels, channel f = kw * group_in + c of packed column x holding
 * x[g * group_in + c][r - pad_top][x * stride_w - pad_left + kw * dilation_w]; the kernels then
 * see taps_w = 1 column of `channels` = kernel_w * group_in channels (col_step 1), and the
 * weights' [kh][kw][c] order is already [kh][f]. In a channel-contiguous image of one group
 * without column dilation (a network's NHWC stem) the lanes of a packed column are `channels`
 * consecutive floats of the image row: a kernel reads its tiles of columns whose windows lie
 * inside the image from src itself (ic_f32_conv2d_in_place_columns), and the packing leaves
 * out the columns no other tile reads.
 */
typedef struct ic_f32_conv2d_packing {
  int64_t group_in, group_out;
  bool folded;
  int64_t channels, taps_w; /* per group as the kernels see them (folded or not) */
  int64_t block, blocks;   /* lanes per block (16), blocks per group */
  int64_t rows, cols;      /* of one packed plane */
  int64_t step_h, step_w;  /* input pixels per packed pixel */
  int64_t row_step, col_step, tap_h, tap_w;
  int64_t plane_floats;    /* rows * cols * block */
  int64_t src_floats;      /* groups * blocks * plane_floats: the packed image */
  int64_t weights_floats;
  int64_t kernel_taps;     /* kernel_h * taps_w */
  int64_t chunk_blocks;    /* blocks per chunk of the reduction, about 512 products */
} ic_f32_conv2d_packing_t;

/* Channels of the chunk that starts at channel `first` (a multiple of chunk_blocks * 16). */
static inline int64_t ic_f32_conv2d_chunk_channels(const ic_f32_conv2d_packing_t* pk,
                                                   int64_t first) {
  const int64_t full = pk->chunk_blocks * pk->block;
  return pk->channels - first < full ? pk->channels - first : full;
}

/* Where kernel tap `tap`, channel `channel` sits in one output block's packed weights (its
 * 16 lanes follow): chunks before it, taps before it in its chunk, the channel. */
static inline int64_t ic_f32_conv2d_weight_offset(const ic_f32_conv2d_packing_t* pk,
                                                  int64_t tap, int64_t channel) {
  const int64_t first = channel / (pk->chunk_blocks * pk->block) * pk->chunk_blocks * pk->block;
  return (first * pk->kernel_taps + tap * ic_f32_conv2d_chunk_channels(pk, first) +
          (channel - first)) * 16;
}

/* Fills the packing of a geometry; false when a size overflows (the caller then keeps to the
 * scalar kernel, which needs no packing). */
bool ic_f32_conv2d_packing(const ic_conv2d_geometry_t* geometry,
                           ic_f32_conv2d_packing_t* packing);

/* Where weight (tap t = kh * kernel_w + kw, input channel c of the group) of an output block
 * sits in its packed weights (ic_f32_conv2d_weight_offset, folded or not). */
int64_t ic_f32_conv2d_weight_at(const ic_conv2d_geometry_t* geometry,
                                const ic_f32_conv2d_packing_t* packing, int64_t t, int64_t c);

/* Packs PyTorch-order weights [groups * group_out][group_in][kh][kw]. */
void ic_f32_conv2d_pack_weights(const ic_conv2d_geometry_t* geometry,
                                const ic_f32_conv2d_packing_t* packing, const float* weights,
                                float* packed);

/* The widest tile of output columns of any direct kernel. */
enum { IC_F32_CONV2D_MAX_TILE_W = 16 };

/* True for a folded packing of an image with strides `src_stride` whose packed columns are
 * runs of the image's rows (see above); [*lo, *hi) are then the columns whose windows lie inside
 * the image. A kernel reads a tile of columns [x, x + w) in place when lo <= x and x + w <= hi;
 * the packing leaves out [lo + IC_F32_CONV2D_MAX_TILE_W, hi - IC_F32_CONV2D_MAX_TILE_W), which
 * no other tile reads. False (and an empty range) otherwise. */
bool ic_f32_conv2d_in_place_columns(const ic_conv2d_geometry_t* geometry,
                                    const ic_f32_conv2d_packing_t* packing,
                                    ic_view_strides_t src_stride, int64_t* lo, int64_t* hi);

/* Packs rows [r0, r1) of every plane of the packed source from an image in any layout, except
 * the columns read in place. */
void ic_f32_conv2d_pack_src(const ic_conv2d_geometry_t* geometry,
                            const ic_f32_conv2d_packing_t* packing, const float* src,
                            ic_view_strides_t src_stride, float* packed, int64_t r0, int64_t r1);

/* Scratch a direct SIMD kernel call gets: partial sums of at least one output row of 64
 * channels, and of several rows when they are narrow (a kernel then reuses each chunk of
 * weights for all of them). */
static inline int64_t ic_f32_conv2d_scratch_floats(int64_t out_w) {
  return out_w * 64 > 8192 ? out_w * 64 : 8192;
}

/* Rows a direct SIMD kernel call runs each chunk of weights over before the next chunk, for
 * `row_floats` floats per pixel in its row buffer (two vectors of output channels): one row
 * when rows are wide, as many as the scratch holds when they are narrow (a tile or so), so
 * that small late-layer images read their large weights once per call, not once per row.
 * Operators give narrow images tasks of at least these rows for the same reason. */
static inline int64_t ic_f32_conv2d_shared_rows(int64_t out_w, int64_t row_floats) {
  if (out_w > 16) return 1;
  const int64_t rows = ic_f32_conv2d_scratch_floats(out_w) / (out_w * row_floats);
  return rows > 1 ? rows : 1;
}

/* Depthwise weights as vectors over the output channels: [kh * kw][ceil(out_channels / 16) * 16],
 * zero-padded. */
int64_t ic_f32_dwconv2d_packed_floats(int64_t out_channels, int64_t taps);
void ic_f32_dwconv2d_pack_weights(int64_t out_channels, int64_t taps, const float* weights,
                                  float* packed);

/* ---------------------------------------------------------------------------------------------
 * f32 pointwise conv2d (f32-pwconv/): a GEMM over channels for a run of pixels,
 *   dst[o, p] = act(sum_c weights[o][c] * src[c, p] + bias[o] + residual[o, p])
 * A run of whole rows is one run of pixels with a single stride in NCHW (1) and NHWC (C).
 * ------------------------------------------------------------------------------------------- */

typedef struct ic_f32_pwconv2d_args {
  int64_t in_channels;
  const float* weights; /* [out_channels][in_channels] */
  const float* bias;    /* [out_channels] or NULL */
  int32_t activation;
  int64_t pixels;       /* pixels [0, pixels) from the pointers below */
  const float* src;
  int64_t src_stride_c, src_stride_p;
  float* dst;
  const float* residual; /* NULL or addressed like dst */
  int64_t dst_stride_c, dst_stride_p;
  int64_t c0, c1; /* output channels */
  /* Optional (0: c1): all the output channels of the packed weights, of which a slice's
   * kernel may prefetch those after c1 (the slice its thread is likely to take next). */
  int64_t out_channels;
  /* Optional (NULL: the next group of the packed weights, when they are large): ahead_floats
   * floats the next call will read (Winograd's next position), brought to L2 while this one
   * runs by the kernels that prefetch (IC_PW_AHEAD), a part per group of 64 channels. */
  const float* ahead_weights;
  int64_t ahead_floats;
  /* Optional (NULL: kernels above scalar take the scalar kernel's path): the weights packed by
   * ic_f32_pwconv2d_pack_weights(). With it, SIMD kernels run a pixel-contiguous source
   * (src_stride_p == 1, as NCHW) or a channel-contiguous one (src_stride_c == 1, as NHWC) at
   * full speed, and never read `weights`, which may then be NULL; a dst of the other layout
   * is written element by element. */
  const float* packed_weights;
} ic_f32_pwconv2d_args_t;

/* Pointwise weights [out_channels][in_channels] packed as [ceil(out_channels / 16)][in][16],
 * zero-padded: 16 output channels per vector (avx2 reads two ymm). */
int64_t ic_f32_pwconv2d_packed_floats(int64_t in_channels, int64_t out_channels);
void ic_f32_pwconv2d_pack_weights(int64_t in_channels, int64_t out_channels,
                                  const float* weights, float* packed);

typedef void (*ic_f32_pwconv2d_ukernel_fn)(const ic_f32_pwconv2d_args_t* args);

/* ---------------------------------------------------------------------------------------------
 * f32 Winograd conv2d F(4x4, 3x3) (f32-winograd/): a 3x3 conv of stride 1, dilation 1 and one
 * group on a channel-contiguous (NHWC) image, by output tiles of 4x4 pixels. Each tile's 6x6
 * input patch d (zero outside the image) becomes V = B^T d B per input channel; at each of the
 * 36 positions of the 6x6 transform domain a GEMM over channels M = V U multiplies it by the
 * weights transformed at create (U = G g G^T, ic_f32_winograd_pack_weights), and
 * Y = A^T M A + bias (+ residual, activation) is the output tile. The GEMMs do 36 / 16 = 2.25
 * multiply-adds per output and channel pair where the direct conv does 9, at the price of the
 * transforms and of rounding error: their coefficients reach 5 (B), 8 (A) and 1/24 (G), so
 * an output's error follows the magnitude of its whole tile (test/ukernel-conv.c and
 * test/conv2d-test.c check it against SPEC 3's bound).
 *
 * One call computes output channels [c0, c1) of the tiles [t0, t1) of one image (tiles
 * numbered row-major, tiles_w per row): input transform of the tiles (all input channels) into
 * scratch, the 36 GEMMs with the pointwise kernel of the same ISA, output transform into dst.
 * The result of a tile does not depend on the slice.
 * ------------------------------------------------------------------------------------------- */

enum { IC_WINOGRAD_TILE = 4, IC_WINOGRAD_PATCH = 6, IC_WINOGRAD_POSITIONS = 36 };

typedef struct ic_f32_winograd_args {
  int64_t in_channels, out_channels;
  int64_t in_h, in_w, out_h, out_w;
  int64_t pad_top, pad_left;
  int64_t tiles_w;     /* ceil(out_w / 4) */
  int64_t t0, t1;      /* tiles of this call */
  int64_t c0, c1;      /* output channels of this call; c0 a multiple of 16 */
  const float* src;    /* the image: (y, x, c) at src[y * src_stride_h + x * src_stride_w + c] */
  int64_t src_stride_h, src_stride_w;
  float* dst;          /* the image: (y, x, o) at dst[y * dst_stride_h + x * dst_stride_w + o] */
  const float* residual; /* NULL or addressed like dst */
  int64_t dst_stride_h, dst_stride_w;
  const float* bias;   /* [out_channels] or NULL */
  int32_t activation;
  const float* packed_weights; /* ic_f32_winograd_pack_weights() */
  float* scratch;      /* ic_f32_winograd_scratch_floats(t1 - t0, in_channels, c1 - c0) floats */
} ic_f32_winograd_args_t;

/* The transformed weights: per position, the pointwise kernels' packed layout of an
 * [out_channels][in_channels] matrix. */
int64_t ic_f32_winograd_packed_floats(int64_t in_channels, int64_t out_channels);
/* weights [out_channels][in_channels][3][3]; false when out of memory (it needs a temporary
 * matrix). */
bool ic_f32_winograd_pack_weights(int64_t in_channels, int64_t out_channels,
                                  const float* weights, float* packed);
int64_t ic_f32_winograd_scratch_floats(int64_t tiles, int64_t in_channels,
                                       int64_t out_channels);

typedef void (*ic_f32_winograd_ukernel_fn)(const ic_f32_winograd_args_t* args);

/* ---------------------------------------------------------------------------------------------
 * f32 involution aggregation (f32-invol/)
 *   dst[c, y, x] = sum_{kh,kw} kernels[g(c)*K*K + kh*K + kw, y, x]
 *                              * src[c, y*s - p + kh*d, x*s - p + kw*d]
 * ------------------------------------------------------------------------------------------- */

typedef struct ic_invol2d_geometry {
  int64_t channels, group_channels, kernel_size;
  int64_t stride, dilation, padding;
  int64_t in_h, in_w, out_h, out_w;
} ic_invol2d_geometry_t;

typedef struct ic_f32_invol2d_args {
  const ic_invol2d_geometry_t* geometry;
  const float* src; /* the image, element (0, 0, 0) */
  ic_view_strides_t src_stride;
  const float* kernels; /* row y0, kernel channel 0 */
  ic_view_strides_t kernels_stride;
  float* dst; /* row y0, channel 0 */
  ic_view_strides_t dst_stride;
  int64_t y0, y1, c0, c1;
} ic_f32_invol2d_args_t;

typedef void (*ic_f32_invol2d_ukernel_fn)(const ic_f32_invol2d_args_t* args);

/* ---------------------------------------------------------------------------------------------
 * The channel-blocked involution path (operators/involution-nchwc.c): activations packed as
 * nChw<block>c rows with zero columns on both sides, kernels addressed per tap and per pixel.
 * A kernel's `block` (channels per vector) is fixed by its ISA: 16 for avx512, 8 for avx2;
 * the scalar kernels take any block (they exist for the kernel tests and as a reference).
 *
 * f32 involution aggregation on packed rows (f32-invol/, *-nchwc-*): one output row segment of
 * `pixels` pixels of one channel block,
 *   dst[p][c] = act(scale[c] * sum_{kh in [kh0, kh1), kw} k(p, kh, kw) * in(p, kh, kw)[c]
 *                   + shift[c])
 *   k(p, kh, kw) = kernels[((kh - kh0) * K + kw) * kernels_stride_t + p * kernels_stride_p]
 *   in(p, kh, kw) = src + (kh - kh0) * dilation * src_stride_h + (p * stride + kw * dilation)
 *                   * block
 * summed in (kh, kw) order from +0 with one fused multiply-add per tap (the scalar kernel sums
 * in double and rounds once, then applies the affine). Columns of src are read
 * up to (pixels - 1) * stride + (K - 1) * dilation; nothing beyond the row segment is read or
 * written.
 * ------------------------------------------------------------------------------------------- */

typedef struct ic_f32_invol2d_nchwc_args {
  int64_t block;
  int64_t kernel_size, stride, dilation;
  int64_t kh0, kh1; /* the kernel rows whose input row lies inside the image */
  int64_t pixels;
  const float* src; /* input row of kernel row kh0, column of the first tap of pixel 0 */
  int64_t src_stride_w, src_stride_h; /* columns src_stride_w (>= block) floats apart */
  const float* kernels; /* tap (kh0, 0) of pixel 0 */
  int64_t kernels_stride_t, kernels_stride_p;
  float* dst; /* pixel 0; pixel p at dst + p * dst_stride_p, `block` channels contiguous */
  int64_t dst_stride_p;
  const float* scale; /* [block] or NULL (then shift is NULL too) */
  const float* shift;
  int32_t activation;
} ic_f32_invol2d_nchwc_args_t;

typedef void (*ic_f32_invol2d_nchwc_ukernel_fn)(const ic_f32_invol2d_nchwc_args_t* args);

/* f32 packing of one row into nChw<block>c (f32-nchwc/): `block` channels of `width` pixels
 * from any strides (NCHW: stride_c = H*W, stride_w = 1; NHWC: 1, C), written as pixel
 * vectors after pad_left zero pixels and followed by pad_right zero pixels. */
typedef struct ic_f32_nchwc_pack_args {
  int64_t block;
  int64_t width;
  const float* src; /* channel 0 of the block, pixel 0 of the row */
  int64_t src_stride_c, src_stride_w;
  float* dst; /* padded column 0 */
  int64_t pad_left, pad_right;
} ic_f32_nchwc_pack_args_t;

typedef void (*ic_f32_nchwc_pack_ukernel_fn)(const ic_f32_nchwc_pack_args_t* args);

/* f32 unpacking from pixel vectors to planes (f32-nchwc/), with optional average pooling:
 *   dst[c * dst_stride_c + q] = mean_{i, j < pool} src[(q * pool + j) * src_stride_w
 *                                                     + i * src_stride_h + c]
 * for q in [0, pixels), c in [0, block); the mean sums rows then columns in float and divides
 * once (pool 1 is a plain transpose). */
typedef struct ic_f32_nchwc_unpack_args {
  int64_t block;
  int64_t pixels, pool;
  const float* src;
  int64_t src_stride_w, src_stride_h;
  float* dst;
  int64_t dst_stride_c;
} ic_f32_nchwc_unpack_args_t;

typedef void (*ic_f32_nchwc_unpack_ukernel_fn)(const ic_f32_nchwc_unpack_args_t* args);

/* f32 kernel-generation GEMM (f32-involgen/): a 1x1 convolution on planar tiles,
 *   dst[o * dst_stride_c + q] = act(bias[o] + sum_c weights[o * in_channels + c]
 *                                                * src[c * src_stride_c + q])
 * for o in [0, out_channels), q in [0, pixels); SIMD kernels sum in channel order with fused
 * multiply-adds. Reduce (C -> C/r, BN folded, ReLU) and span (C/r -> K*K*G) of Involution2d. */
typedef struct ic_f32_involgen_args {
  int64_t in_channels, out_channels;
  const float* weights; /* [out_channels][in_channels] */
  const float* bias;    /* [out_channels] or NULL */
  int32_t activation;
  int64_t pixels;
  const float* src;
  int64_t src_stride_c;
  float* dst;
  int64_t dst_stride_c;
  /* Optional: ahead_floats from ahead_weights brought to L2 during the call, a share per block
   * of output channels (the next call's weights). */
  const float* ahead_weights;
  int64_t ahead_floats;
} ic_f32_involgen_args_t;

typedef void (*ic_f32_involgen_ukernel_fn)(const ic_f32_involgen_args_t* args);

/* ---------------------------------------------------------------------------------------------
 * f32 pooling (f32-maxpool/, f32-avgpool/): max or mean over kernel_h x kernel_w windows with
 * stride and (resolved) padding, dilation 1. Used by Pool2d, global average pooling (one window
 * of the whole image) and the kernel-generation branch of Involution2d (window = stride).
 *   max:     dst = max over the window's in-range elements (NaN propagates)
 *   average: dst = sum over the in-range elements / (count_include_pad ? kernel_h * kernel_w
 *                                                                     : number in range)
 * The operators guarantee that every window holds at least one in-range element.
 * ------------------------------------------------------------------------------------------- */

typedef struct ic_pool2d_geometry {
  int64_t channels;
  int64_t in_h, in_w, out_h, out_w;
  int64_t kernel_h, kernel_w;
  int64_t stride_h, stride_w;
  int64_t pad_top, pad_left; /* resolved; the bottom/right padding is implied by out_h/out_w */
  int32_t count_include_pad; /* average only */
} ic_pool2d_geometry_t;

typedef struct ic_f32_pool2d_args {
  const ic_pool2d_geometry_t* geometry;
  const float* src; /* the image, element (0, 0, 0) */
  ic_view_strides_t src_stride;
  float* dst; /* output row y0, channel 0 */
  ic_view_strides_t dst_stride;
  int64_t y0, y1; /* output rows [y0, y1) */
  int64_t c0, c1; /* channels [c0, c1) */
} ic_f32_pool2d_args_t;

typedef ic_f32_pool2d_args_t ic_f32_maxpool2d_args_t;
typedef ic_f32_pool2d_args_t ic_f32_avgpool2d_args_t;
typedef void (*ic_f32_pool2d_ukernel_fn)(const ic_f32_pool2d_args_t* args);
typedef ic_f32_pool2d_ukernel_fn ic_f32_maxpool2d_ukernel_fn;
typedef ic_f32_pool2d_ukernel_fn ic_f32_avgpool2d_ukernel_fn;

/* ---------------------------------------------------------------------------------------------
 * f32 peak probe (f32-peak/): `iterations` rounds of independent multiply-add chains
 * acc = acc * multiplier + addend on the ISA's widest vectors (fused on SIMD ISAs), for
 * ic_measure_peak_gflops. The chains are independent so that only throughput, not latency,
 * limits them; multiplier and addend arrive at run time so that nothing can be folded.
 * ------------------------------------------------------------------------------------------- */

typedef struct ic_f32_peak_result {
  float sum;    /* the accumulators summed: keeps the work observable */
  double flops; /* floating-point operations done: 2 per multiply-add lane */
} ic_f32_peak_result_t;

typedef struct ic_f32_peak_args {
  int64_t iterations;
  float multiplier, addend; /* |multiplier| < 1 keeps the chains finite and normal */
  ic_f32_peak_result_t* result;
} ic_f32_peak_args_t;

typedef void (*ic_f32_peak_ukernel_fn)(const ic_f32_peak_args_t* args);

/* ---------------------------------------------------------------------------------------------
 * f32 transpose (f32-transpose/): for r in [r0, r1), c in [c0, c1)
 *   dst[c * dst_stride + r] = act(src[r * src_stride + c] + residual[c * dst_stride + r])
 * (no residual: + 0; residual may be dst). An NCHW image is its [channels][pixels] matrix,
 * an NHWC one the transposed [pixels][channels]. Exact: the same bits on every ISA.
 * ------------------------------------------------------------------------------------------- */

typedef struct ic_f32_transpose_args {
  const float* src;
  float* dst;
  const float* residual;          /* NULL, or addressed like dst */
  int32_t activation;
  int64_t src_stride, dst_stride; /* floats between rows of src, of dst */
  int64_t r0, r1, c0, c1;
} ic_f32_transpose_args_t;

typedef void (*ic_f32_transpose_ukernel_fn)(const ic_f32_transpose_args_t* args);

/* ---------------------------------------------------------------------------------------------
 * Declarations, generated from the kernel lists.
 * ------------------------------------------------------------------------------------------- */

#define IC_UKERNEL(isa, family, tile, isa_suffix) \
  void ic_##family##_ukernel_##tile##__##isa_suffix(const ic_##family##_args_t* args);
#include "f32-avgpool/f32-avgpool2d.inc"
#include "f32-conv/f32-conv2d.inc"
#include "f32-dwconv/f32-dwconv2d.inc"
#include "f32-invol/f32-invol2d.inc"
#include "f32-invol/f32-invol2d-nchwc.inc"
#include "f32-involgen/f32-involgen.inc"
#include "f32-nchwc/f32-nchwc-pack.inc"
#include "f32-nchwc/f32-nchwc-unpack.inc"
#include "f32-maxpool/f32-maxpool2d.inc"
#include "f32-peak/f32-peak.inc"
#include "f32-pwconv/f32-pwconv2d.inc"
#include "f32-transpose/f32-transpose.inc"
#include "f32-winograd/f32-winograd.inc"
#undef IC_UKERNEL

/* ---------------------------------------------------------------------------------------------
 * Selection (configs/ukernel-config.c): the best kernel of a family whose ISA is at most
 * max_isa. Never NULL: every family has a scalar kernel.
 * ------------------------------------------------------------------------------------------- */

typedef struct ic_ukernel_info {
  ic_isa_t isa;
  const char* name; /* "f32_conv2d_direct__scalar"; static storage */
} ic_ukernel_info_t;

ic_f32_conv2d_ukernel_fn ic_select_f32_conv2d_ukernel(ic_isa_t max_isa, ic_ukernel_info_t* info);
ic_f32_dwconv2d_ukernel_fn ic_select_f32_dwconv2d_ukernel(ic_isa_t max_isa,
                                                          ic_ukernel_info_t* info);
ic_f32_pwconv2d_ukernel_fn ic_select_f32_pwconv2d_ukernel(ic_isa_t max_isa,
                                                          ic_ukernel_info_t* info);
ic_f32_invol2d_ukernel_fn ic_select_f32_invol2d_ukernel(ic_isa_t max_isa,
                                                        ic_ukernel_info_t* info);
ic_f32_invol2d_nchwc_ukernel_fn ic_select_f32_invol2d_nchwc_ukernel(ic_isa_t max_isa,
                                                                    ic_ukernel_info_t* info);
ic_f32_involgen_ukernel_fn ic_select_f32_involgen_ukernel(ic_isa_t max_isa,
                                                          ic_ukernel_info_t* info);
ic_f32_nchwc_pack_ukernel_fn ic_select_f32_nchwc_pack_ukernel(ic_isa_t max_isa,
                                                              ic_ukernel_info_t* info);
ic_f32_nchwc_unpack_ukernel_fn ic_select_f32_nchwc_unpack_ukernel(ic_isa_t max_isa,
                                                                  ic_ukernel_info_t* info);
ic_f32_avgpool2d_ukernel_fn ic_select_f32_avgpool2d_ukernel(ic_isa_t max_isa,
                                                            ic_ukernel_info_t* info);
ic_f32_maxpool2d_ukernel_fn ic_select_f32_maxpool2d_ukernel(ic_isa_t max_isa,
                                                            ic_ukernel_info_t* info);
ic_f32_peak_ukernel_fn ic_select_f32_peak_ukernel(ic_isa_t max_isa, ic_ukernel_info_t* info);
ic_f32_winograd_ukernel_fn ic_select_f32_winograd_ukernel(ic_isa_t max_isa,
                                                          ic_ukernel_info_t* info);
ic_f32_transpose_ukernel_fn ic_select_f32_transpose_ukernel(ic_isa_t max_isa,
                                                            ic_ukernel_info_t* info);

/* ---------------------------------------------------------------------------------------------
 * Helpers shared by scalar kernels.
 * ------------------------------------------------------------------------------------------- */

/* The taps t in [0, kernel) whose input coordinate origin + t*dilation lies in [0, extent):
 * they form one range [*begin, *end), empty when *begin == *end. */
static inline void ic_tap_range(int64_t origin, int64_t dilation, int64_t kernel, int64_t extent,
                                int64_t* begin, int64_t* end) {
  /* ceil(-origin / dilation) without forming -origin + dilation - 1, which can overflow: the
   * operators guarantee -origin <= padding and extent + padding fit, nothing about dilation. */
  int64_t first = origin >= 0 ? 0 : -origin / dilation + (-origin % dilation != 0);
  int64_t last = origin > extent - 1 ? 0 : (extent - 1 - origin) / dilation + 1;
  if (last > kernel) last = kernel;
  if (first > last) first = last;
  *begin = first;
  *end = last;
}

/* NaN passes through both activations (a comparison with NaN is false), as in PyTorch. */
static inline float ic_activate(float value, int32_t activation) {
  if (activation == IC_ACTIVATION_NONE) return value;
  if (value < 0.0f) return 0.0f;
  if (activation == IC_ACTIVATION_RELU6 && value > 6.0f) return 6.0f;
  return value;
}

#endif /* IC_UKERNELS_H */
