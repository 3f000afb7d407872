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

#include <stdint.h>

#include "invconv.h"

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
  int64_t stride_h, stride_w;
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
} ic_f32_conv2d_args_t;

typedef void (*ic_f32_conv2d_ukernel_fn)(const ic_f32_conv2d_args_t* args);

/* Depthwise kernels take the same arguments; groups == in_channels and the multiplier is
 * out_channels / in_channels (weights [out_channels][1][kh][kw]). */
typedef ic_f32_conv2d_args_t ic_f32_dwconv2d_args_t;
typedef ic_f32_conv2d_ukernel_fn ic_f32_dwconv2d_ukernel_fn;

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
} ic_f32_pwconv2d_args_t;

typedef void (*ic_f32_pwconv2d_ukernel_fn)(const ic_f32_pwconv2d_args_t* args);

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
 * f32 average pooling with window = stride = pool, no padding (f32-avgpool/), for the
 * kernel-generation branch of Involution2d. The caller guarantees the windows are inside.
 * ------------------------------------------------------------------------------------------- */

typedef struct ic_f32_avgpool2d_args {
  int64_t channels, pool, out_w;
  const float* src; /* the image, element (0, 0, 0) */
  ic_view_strides_t src_stride;
  float* dst; /* row y0, channel 0 */
  ic_view_strides_t dst_stride;
  int64_t y0, y1;
} ic_f32_avgpool2d_args_t;

typedef void (*ic_f32_avgpool2d_ukernel_fn)(const ic_f32_avgpool2d_args_t* args);

/* ---------------------------------------------------------------------------------------------
 * Declarations, generated from the kernel lists.
 * ------------------------------------------------------------------------------------------- */

#define IC_UKERNEL(isa, family, tile, isa_suffix) \
  void ic_##family##_ukernel_##tile##__##isa_suffix(const ic_##family##_args_t* args);
#include "f32-avgpool/f32-avgpool2d.inc"
#include "f32-conv/f32-conv2d.inc"
#include "f32-dwconv/f32-dwconv2d.inc"
#include "f32-invol/f32-invol2d.inc"
#include "f32-pwconv/f32-pwconv2d.inc"
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
ic_f32_avgpool2d_ukernel_fn ic_select_f32_avgpool2d_ukernel(ic_isa_t max_isa,
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
