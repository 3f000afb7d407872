/*
 * invconv.h — the one public header of the invconv library.
 *
 * Convolution and involution (Li et al., CVPR 2021) on the CPU. Every operator is an object
 * with the same life cycle, oneDNN/XNNPACK style:
 *
 *   create  validates the parameters, copies and packs the weights into the layout of the
 *           kernel chosen for this CPU; the caller's weight buffers may be freed afterwards.
 *   run     computes one batch; may be called any number of times, from several threads at
 *           once on the same operator object (an operator is immutable after create).
 *   destroy releases the operator; NULL is accepted and ignored.
 *
 * Conventions
 *   - Every function that can fail returns an ic_status_t. On failure, ic_last_error() gives a
 *     one-line, thread-local explanation naming the parameter and its value, e.g.
 *     "conv2d: groups=3 does not divide in_channels=8". The library never aborts, exits or
 *     prints.
 *   - Every buffer travels with its size in bytes (*_bytes); the library checks shapes,
 *     overflow of size arithmetic, NULL pointers and capacities before touching memory.
 *   - Shapes are int64_t so that negative values can be reported rather than wrapped.
 *   - Activations are 4-D N,C,H,W tensors in IC_LAYOUT_NCHW or IC_LAYOUT_NHWC, dense, aligned
 *     to their element (4 bytes for f32; 64-byte alignment is faster). Weights are in PyTorch
 *     order, copied at create, and need no alignment.
 *   - A context owns the worker threads. Passing NULL as context runs on the calling thread.
 *     Results are bit-identical for any thread count on a given ISA.
 *   - Output parameters come last and end in _out.
 *
 * This header is consumed by jextract: fixed-width types, no function-like macros, no bitfields.
 */
#ifndef INVCONV_H
#define INVCONV_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define IC_API __declspec(dllexport)
#elif defined(__GNUC__)
#define IC_API __attribute__((visibility("default")))
#else
#define IC_API
#endif

/* ---------------------------------------------------------------------------------------------
 * Version
 * ------------------------------------------------------------------------------------------- */

#define IC_VERSION_MAJOR 0
#define IC_VERSION_MINOR 1
#define IC_VERSION_PATCH 0
/* Incremented on every incompatible change of this header; the Java side checks it at load. */
#define IC_ABI_VERSION 6

/** @returns the library version, "MAJOR.MINOR.PATCH". Static storage; never NULL. */
IC_API const char* ic_version_string(void);

/** @returns IC_ABI_VERSION as compiled into the library. */
IC_API uint32_t ic_abi_version(void);

/* ---------------------------------------------------------------------------------------------
 * Status and errors
 * ------------------------------------------------------------------------------------------- */

typedef enum ic_status {
  IC_STATUS_SUCCESS = 0,
  /** A parameter, shape or buffer size is invalid; ic_last_error() names it. */
  IC_STATUS_INVALID_ARGUMENT = 1,
  /** Valid, but not supported by this build or CPU; ic_last_error() says why. */
  IC_STATUS_UNSUPPORTED = 2,
  IC_STATUS_OUT_OF_MEMORY = 3,
  /** A bug in invconv; please report the ic_last_error() message. */
  IC_STATUS_INTERNAL_ERROR = 4
} ic_status_t;

/** @returns a short constant description of a status ("invalid argument"). Never NULL. */
IC_API const char* ic_status_string(ic_status_t status);

/**
 * @returns the message recorded by the last failing call on this thread, or "" if none.
 * Valid until the next invconv call on the same thread. Never NULL.
 */
IC_API const char* ic_last_error(void);

/* ---------------------------------------------------------------------------------------------
 * Enumerations (passed as int32_t in structs and calls)
 * ------------------------------------------------------------------------------------------- */

typedef enum ic_datatype {
  IC_DATATYPE_F32 = 0 /* the only one today; bf16 and int8 will be added as values here */
} ic_datatype_t;

typedef enum ic_layout {
  IC_LAYOUT_NCHW = 0, /* PyTorch's default: channel planes */
  IC_LAYOUT_NHWC = 1  /* channels innermost */
} ic_layout_t;

typedef enum ic_padding {
  IC_PADDING_VALID = 0,   /* no padding: the kernel stays inside the input */
  IC_PADDING_SAME = 1,    /* out = ceil(in / stride), extra padding after (TensorFlow "same") */
  IC_PADDING_FULL = 2,    /* (k - 1) * dilation on both sides: every overlap */
  IC_PADDING_EXPLICIT = 3 /* pad_top, pad_left, pad_bottom, pad_right as given */
} ic_padding_t;

typedef enum ic_activation {
  IC_ACTIVATION_NONE = 0,
  IC_ACTIVATION_RELU = 1,
  IC_ACTIVATION_RELU6 = 2
} ic_activation_t;

typedef enum ic_isa {
  IC_ISA_SCALAR = 0, /* portable C */
  IC_ISA_AVX2 = 1,   /* AVX2 + FMA */
  IC_ISA_AVX512 = 2  /* AVX-512 F (+ BW, VL, DQ) */
} ic_isa_t;

/* ---------------------------------------------------------------------------------------------
 * CPU and ISA dispatch
 * ------------------------------------------------------------------------------------------- */

/** @returns the ISA whose kernels operators created from now on use. */
IC_API ic_isa_t ic_active_isa(void);

/** @returns the highest ISA this CPU (and build) supports, regardless of any limit. */
IC_API ic_isa_t ic_detected_isa(void);

/** @returns "scalar", "avx2" or "avx512"; "unknown" for other values. Never NULL. */
IC_API const char* ic_isa_name(ic_isa_t isa);

/**
 * Limits the ISA used by operators created after this call (existing operators keep theirs).
 * The environment variable INVCONV_MAX_ISA=scalar|avx2|avx512 sets the initial limit.
 * @returns IC_STATUS_INVALID_ARGUMENT for an unknown value. A limit above what the CPU
 *          supports is accepted and has no effect.
 */
IC_API ic_status_t ic_set_max_isa(ic_isa_t isa);

/* ---------------------------------------------------------------------------------------------
 * Context: the worker threads
 * ------------------------------------------------------------------------------------------- */

typedef struct ic_context ic_context_t;

/**
 * Creates a context with num_threads threads in all (the calling thread of a run counts as
 * one; num_threads - 1 workers are started). num_threads == 0 means one per online CPU.
 * Runs issued concurrently on one context are safe; they share the workers.
 * @param context_out receives the new context; set to NULL on failure.
 */
IC_API ic_status_t ic_context_create(int32_t num_threads, ic_context_t** context_out);

/** @returns the number of threads of a context (1 for NULL). */
IC_API int32_t ic_context_num_threads(const ic_context_t* context);

/** Stops the workers and frees the context. No run may be in progress. NULL is ignored. */
IC_API void ic_context_destroy(ic_context_t* context);

/**
 * Measures this machine's fp32 peak: independent fused multiply-adds of the active ISA's widest
 * vectors (scalar code when limited to scalar), on every thread of the context, for about
 * `seconds` (0.05 to 10). The yardstick of "% of peak" in benchmarks.
 * @param gflops_out receives the GFLOP/s of all threads together (2 FLOPs per FMA lane).
 */
IC_API ic_status_t ic_measure_peak_gflops(ic_context_t* context, double seconds,
                                          double* gflops_out);

/**
 * Measures the memory bandwidth the context's threads reach: STREAM's "copy" of a 64 MiB buffer
 * (far larger than the caches) into another, for about `seconds` (0.05 to 10), best pass. The
 * yardstick of memory-bound layers (depthwise). Allocates 128 MiB while it runs.
 * @param gbps_out receives GB/s (10^9 bytes) read plus written, all threads together.
 */
IC_API ic_status_t ic_measure_bandwidth_gbps(ic_context_t* context, double seconds,
                                             double* gbps_out);

/* ---------------------------------------------------------------------------------------------
 * Memory for activations
 * ------------------------------------------------------------------------------------------- */

/**
 * Allocates `bytes` for tensors the operators stream through, such as a network's activations:
 * 64-byte aligned, and from 1 MiB on in whole 2 MiB pages advised as transparent huge pages
 * (Linux; where the kernel refuses them, and elsewhere, ordinary pages). A network pass writes
 * and reads tens of MB of activations; in 4 KB pages every layer walks the page tables for
 * them again. Any memory works with the operators; this is the faster kind. Not initialised.
 * @param bytes       at least 1
 * @param buffer_out  receives the buffer, or NULL on failure
 * @returns IC_STATUS_OUT_OF_MEMORY when the system has no such block
 */
IC_API ic_status_t ic_buffer_alloc(size_t bytes, void** buffer_out);

/** Frees a buffer of ic_buffer_alloc. NULL is ignored. */
IC_API void ic_buffer_free(void* buffer);

/* ---------------------------------------------------------------------------------------------
 * Conv2d: standard, grouped, depthwise (groups == in_channels) and pointwise (1x1)
 *
 *   y[n,o,i,j] = act(bias[o] + residual[n,o,i,j]
 *                    + sum_{c in group(o), kh, kw} w[o,c,kh,kw] * x[n, c, i*sh - pt + kh*dh,
 *                                                                      j*sw - pl + kw*dw])
 * Out-of-range x reads as 0. Output size per axis:
 *   out = floor((in + before + after - ((k - 1) * d + 1)) / s) + 1, and out <= 0 is an error.
 * ------------------------------------------------------------------------------------------- */

/*
 * Conv2d flags (ic_conv2d_params_t.flags, OR-ed).
 *
 * IC_CONV2D_WINOGRAD: an opt-in, like oneDNN's algorithm choice. A 3x3 conv of stride 1,
 *   dilation 1, one group and padding of at most 1 on each side (VALID, SAME) then also keeps
 *   its weights transformed for Winograd F(4x4, 3x3) (4x the direct conv's weights, kept
 *   besides them), and its runs whose output has at least 16 tiles of 4x4 pixels (14x14 and
 *   up) take that path: a quarter of the multiply-adds, with a larger rounding error than the
 *   direct conv's (inside SPEC 3's bound). NCHW runs go through NHWC copies of src and dst in
 *   the run's scratch (the same bits as the NHWC run). Results stay bit-identical for any
 *   thread count on one ISA, but differ from the direct conv's in the last bits. Other convs
 *   ignore the flag, as do smaller images (the direct conv is faster there).
 *   ic_conv2d_kernel_name names both kernels, joined by '+', when the conv has both.
 */
enum { IC_CONV2D_WINOGRAD = 1 };

typedef struct ic_conv2d_params {
  int32_t datatype;       /* ic_datatype_t */
  int32_t padding;        /* ic_padding_t */
  int32_t activation;     /* ic_activation_t */
  int32_t flags;          /* IC_CONV2D_* flags; 0 for none */
  int64_t in_channels;
  int64_t out_channels;
  int64_t groups;         /* 1 = standard; in_channels = depthwise */
  int64_t kernel_h;
  int64_t kernel_w;
  int64_t stride_h;       /* >= 1 */
  int64_t stride_w;
  int64_t dilation_h;     /* >= 1; 1 means none */
  int64_t dilation_w;
  int64_t pad_top;        /* used by IC_PADDING_EXPLICIT only; must be 0 otherwise */
  int64_t pad_left;
  int64_t pad_bottom;
  int64_t pad_right;
} ic_conv2d_params_t;

typedef struct ic_conv2d ic_conv2d_t;

/**
 * Creates a 2-D convolution.
 * @param params        hyper-parameters; copied.
 * @param weights       [out_channels, in_channels / groups, kernel_h, kernel_w]; copied.
 * @param weights_bytes size of weights in bytes; must equal the size implied by params.
 * @param bias          [out_channels], or NULL for no bias; copied.
 * @param bias_bytes    size of bias in bytes (0 when bias is NULL).
 * @param conv_out      receives the operator; set to NULL on failure.
 */
IC_API ic_status_t ic_conv2d_create(const ic_conv2d_params_t* params,
                                    const void* weights, size_t weights_bytes,
                                    const void* bias, size_t bias_bytes,
                                    ic_conv2d_t** conv_out);

/**
 * Computes the output spatial size for an input of in_h x in_w.
 * @returns IC_STATUS_INVALID_ARGUMENT when the input is too small for the kernel; the sizes
 *          are then set to 0.
 */
IC_API ic_status_t ic_conv2d_output_size(const ic_conv2d_t* conv, int64_t in_h, int64_t in_w,
                                         int64_t* out_h_out, int64_t* out_w_out);

/**
 * Runs the convolution on a batch.
 * @param layout    layout of src, residual and dst (ic_layout_t).
 * @param src       [batch, in_channels, in_h, in_w] in layout.
 * @param residual  NULL, or a tensor of dst's shape added before the activation (the
 *                  shortcut of a residual block). May alias dst.
 * @param dst       [batch, out_channels, out_h, out_w]; must not overlap src.
 */
IC_API ic_status_t ic_conv2d_run(const ic_conv2d_t* conv, ic_context_t* context,
                                 int32_t layout, int64_t batch, int64_t in_h, int64_t in_w,
                                 const void* src, size_t src_bytes,
                                 const void* residual, size_t residual_bytes,
                                 void* dst, size_t dst_bytes);

/**
 * @returns the name of the kernel the operator uses, e.g. "f32_conv2d_direct__scalar"; "" for
 *          NULL. Operators that chain kernels (separable, Involution2d) join their names with
 *          '+'. Owned by the operator.
 */
IC_API const char* ic_conv2d_kernel_name(const ic_conv2d_t* conv);

IC_API void ic_conv2d_destroy(ic_conv2d_t* conv);

/* ---------------------------------------------------------------------------------------------
 * Depthwise-separable Conv2d: a depthwise conv (groups = in_channels, channel multiplier,
 * own bias and activation) followed by a pointwise 1x1 conv (own bias and activation).
 * ------------------------------------------------------------------------------------------- */

typedef struct ic_separable_conv2d_params {
  int32_t datatype;             /* ic_datatype_t */
  int32_t padding;              /* ic_padding_t, of the depthwise part */
  int32_t depthwise_activation; /* ic_activation_t, after the depthwise part */
  int32_t activation;           /* ic_activation_t, after the pointwise part */
  int64_t in_channels;
  int64_t depth_multiplier;     /* depthwise output channels = in_channels * depth_multiplier */
  int64_t out_channels;
  int64_t kernel_h;
  int64_t kernel_w;
  int64_t stride_h;
  int64_t stride_w;
  int64_t dilation_h;
  int64_t dilation_w;
  int64_t pad_top;
  int64_t pad_left;
  int64_t pad_bottom;
  int64_t pad_right;
} ic_separable_conv2d_params_t;

typedef struct ic_separable_conv2d ic_separable_conv2d_t;

/**
 * @param depthwise_weights [in_channels * depth_multiplier, 1, kernel_h, kernel_w]
 * @param depthwise_bias    [in_channels * depth_multiplier] or NULL
 * @param pointwise_weights [out_channels, in_channels * depth_multiplier, 1, 1]
 * @param pointwise_bias    [out_channels] or NULL
 */
IC_API ic_status_t ic_separable_conv2d_create(const ic_separable_conv2d_params_t* params,
                                              const void* depthwise_weights,
                                              size_t depthwise_weights_bytes,
                                              const void* depthwise_bias,
                                              size_t depthwise_bias_bytes,
                                              const void* pointwise_weights,
                                              size_t pointwise_weights_bytes,
                                              const void* pointwise_bias,
                                              size_t pointwise_bias_bytes,
                                              ic_separable_conv2d_t** conv_out);

IC_API ic_status_t ic_separable_conv2d_output_size(const ic_separable_conv2d_t* conv,
                                                   int64_t in_h, int64_t in_w,
                                                   int64_t* out_h_out, int64_t* out_w_out);

IC_API ic_status_t ic_separable_conv2d_run(const ic_separable_conv2d_t* conv,
                                           ic_context_t* context, int32_t layout,
                                           int64_t batch, int64_t in_h, int64_t in_w,
                                           const void* src, size_t src_bytes,
                                           void* dst, size_t dst_bytes);

IC_API const char* ic_separable_conv2d_kernel_name(const ic_separable_conv2d_t* conv);

IC_API void ic_separable_conv2d_destroy(ic_separable_conv2d_t* conv);

/* ---------------------------------------------------------------------------------------------
 * Involution aggregation with caller-supplied kernels (the operator proper):
 *
 *   y[n,c,i,j] = sum_{kh,kw} k[n, g(c)*K*K + kh*K + kw, i, j]
 *                          * x[n, c, i*s - p + kh*d, j*s - p + kw*d]
 * with g(c) = c / group_channels, p = (K - 1) / 2 * d, out = floor((in - 1) / s) + 1.
 * The kernels tensor is [N, G*K*K, out_h, out_w] (G = channels / group_channels), in the same
 * layout as src and dst.
 * ------------------------------------------------------------------------------------------- */

typedef struct ic_involution_params {
  int32_t datatype;        /* ic_datatype_t */
  int32_t reserved;        /* must be 0 */
  int64_t channels;
  int64_t kernel_size;     /* odd */
  int64_t stride;
  int64_t dilation;        /* 1 in the official code */
  int64_t group_channels;  /* channels sharing one kernel; official default 16 */
} ic_involution_params_t;

typedef struct ic_involution_aggregate ic_involution_aggregate_t;

IC_API ic_status_t ic_involution_aggregate_create(const ic_involution_params_t* params,
                                                  ic_involution_aggregate_t** op_out);

IC_API ic_status_t ic_involution_aggregate_output_size(const ic_involution_aggregate_t* op,
                                                       int64_t in_h, int64_t in_w,
                                                       int64_t* out_h_out,
                                                       int64_t* out_w_out);

IC_API ic_status_t ic_involution_aggregate_run(const ic_involution_aggregate_t* op,
                                               ic_context_t* context, int32_t layout,
                                               int64_t batch, int64_t in_h, int64_t in_w,
                                               const void* src, size_t src_bytes,
                                               const void* kernels, size_t kernels_bytes,
                                               void* dst, size_t dst_bytes);

IC_API const char* ic_involution_aggregate_kernel_name(const ic_involution_aggregate_t* op);

IC_API void ic_involution_aggregate_destroy(ic_involution_aggregate_t* op);

/* ---------------------------------------------------------------------------------------------
 * Involution2d: the full module of the official code, kernel generation included.
 *
 *   X' = stride > 1 ? AvgPool(stride, stride)(X) : X
 *   T  = ReLU(BN(W0 * X'))     W0: [channels / reduction_ratio, channels, 1, 1], no bias
 *   Wk = W1 * T + b1           W1: [K*K*G, channels / reduction_ratio, 1, 1], b1: [K*K*G]
 *   Y  = aggregate(X, Wk)      as above
 * BN is inference-form, folded into W0 at create time. For stride > 1, in_h and in_w must be
 * multiples of the stride (otherwise pooled and output sizes differ and the official code
 * silently misaligns); run refuses them.
 * ------------------------------------------------------------------------------------------- */

typedef struct ic_involution2d_params {
  int32_t datatype;         /* ic_datatype_t */
  int32_t activation;       /* ic_activation_t, after the optional output affine */
  int64_t channels;
  int64_t kernel_size;      /* odd */
  int64_t stride;
  int64_t dilation;
  int64_t group_channels;   /* official default 16 */
  int64_t reduction_ratio;  /* official default 4; reduced channels = channels / ratio */
  double bn_epsilon;        /* PyTorch default 1e-5; >= 0 with every running_var + eps > 0 */
} ic_involution2d_params_t;

typedef struct ic_involution2d ic_involution2d_t;

/**
 * @param reduce_weight [channels / reduction_ratio, channels, 1, 1]   (conv1.conv.weight)
 * @param bn_weight, bn_bias, bn_running_mean, bn_running_var
 *                      [channels / reduction_ratio] each              (conv1.bn.*)
 * @param span_weight   [K*K*G, channels / reduction_ratio, 1, 1]      (conv2.conv.weight)
 * @param span_bias     [K*K*G]                                        (conv2.conv.bias)
 * @param out_scale, out_shift
 *                      [channels] each, or both NULL: a per-channel affine applied to the
 *                      aggregation's output, y = out_scale[c] * y + out_shift[c], before the
 *                      activation — an inference BatchNorm that follows the module, folded
 *                      (RedNet's bn2), so that no extra pass over the output is needed.
 */
IC_API ic_status_t ic_involution2d_create(const ic_involution2d_params_t* params,
                                          const void* reduce_weight, size_t reduce_weight_bytes,
                                          const void* bn_weight, size_t bn_weight_bytes,
                                          const void* bn_bias, size_t bn_bias_bytes,
                                          const void* bn_running_mean,
                                          size_t bn_running_mean_bytes,
                                          const void* bn_running_var,
                                          size_t bn_running_var_bytes,
                                          const void* span_weight, size_t span_weight_bytes,
                                          const void* span_bias, size_t span_bias_bytes,
                                          const void* out_scale, size_t out_scale_bytes,
                                          const void* out_shift, size_t out_shift_bytes,
                                          ic_involution2d_t** op_out);

IC_API ic_status_t ic_involution2d_output_size(const ic_involution2d_t* op,
                                               int64_t in_h, int64_t in_w,
                                               int64_t* out_h_out, int64_t* out_w_out);

IC_API ic_status_t ic_involution2d_run(const ic_involution2d_t* op, ic_context_t* context,
                                       int32_t layout, int64_t batch, int64_t in_h,
                                       int64_t in_w, const void* src, size_t src_bytes,
                                       void* dst, size_t dst_bytes);

IC_API const char* ic_involution2d_kernel_name(const ic_involution2d_t* op);

IC_API void ic_involution2d_destroy(ic_involution2d_t* op);

/* ---------------------------------------------------------------------------------------------
 * Pool2d: max or average over K x K windows, with the padding modes of Conv2d.
 *
 *   max:     y = max over the window's in-range elements (padding never wins)
 *   average: y = sum over the in-range elements / (count_include_pad ? kernel_h * kernel_w
 *                                                                     : number in range)
 * Output size as Conv2d with dilation 1 (floor). A window entirely in padding is an error at
 * create (pad_top >= kernel_h or pad_left >= kernel_w) or output_size/run time (the last
 * window): it would have no element. That is looser than PyTorch, which refuses any
 * pad > kernel / 2; every padding PyTorch accepts is accepted here.
 * ------------------------------------------------------------------------------------------- */

typedef enum ic_pool {
  IC_POOL_MAX = 0,
  IC_POOL_AVERAGE = 1
} ic_pool_t;

typedef struct ic_pool2d_params {
  int32_t datatype;          /* ic_datatype_t */
  int32_t pool;              /* ic_pool_t */
  int32_t padding;           /* ic_padding_t */
  int32_t count_include_pad; /* average only: 1 = PyTorch's default, 0 = only in-range elements */
  int64_t channels;
  int64_t kernel_h;
  int64_t kernel_w;
  int64_t stride_h;
  int64_t stride_w;
  int64_t pad_top;           /* IC_PADDING_EXPLICIT only */
  int64_t pad_left;
  int64_t pad_bottom;
  int64_t pad_right;
} ic_pool2d_params_t;

typedef struct ic_pool2d ic_pool2d_t;

IC_API ic_status_t ic_pool2d_create(const ic_pool2d_params_t* params, ic_pool2d_t** pool_out);

IC_API ic_status_t ic_pool2d_output_size(const ic_pool2d_t* pool, int64_t in_h, int64_t in_w,
                                         int64_t* out_h_out, int64_t* out_w_out);

IC_API ic_status_t ic_pool2d_run(const ic_pool2d_t* pool, ic_context_t* context, int32_t layout,
                                 int64_t batch, int64_t in_h, int64_t in_w,
                                 const void* src, size_t src_bytes,
                                 void* dst, size_t dst_bytes);

IC_API const char* ic_pool2d_kernel_name(const ic_pool2d_t* pool);

IC_API void ic_pool2d_destroy(ic_pool2d_t* pool);

/* ---------------------------------------------------------------------------------------------
 * Conv2d then Pool2d in one pass: the stem of ResNet (7x7/2 conv, 3x3/2 max pool), of RedNet,
 * of VGG. Each task computes the conv rows a band of pooled rows reads into a buffer of its
 * thread and pools them from there, so the conv's output never goes to memory (ResNet-50's
 * stem: 3.2 MB written and read back otherwise).
 *
 *   dst = pool(conv(src))   bit for bit what ic_conv2d_run (no residual) then ic_pool2d_run give
 *
 * Supported for convs that take the direct path on that image (not pointwise, depthwise or
 * Winograd); for the others the run returns IC_STATUS_UNSUPPORTED and ic_last_error() says
 * which path it is; run the two operators instead. ic_conv2d_pool2d_check asks beforehand.
 * ------------------------------------------------------------------------------------------- */

/**
 * @returns IC_STATUS_SUCCESS when ic_conv2d_pool2d_run runs conv then pool on an in_h x in_w
 *          input in one pass; IC_STATUS_UNSUPPORTED when the conv's path does not; or
 *          IC_STATUS_INVALID_ARGUMENT (a NULL operator, an input too small for either, the
 *          pool's channels not the conv's output channels).
 */
IC_API ic_status_t ic_conv2d_pool2d_check(const ic_conv2d_t* conv, const ic_pool2d_t* pool,
                                          int64_t in_h, int64_t in_w);

/**
 * Runs conv, then pool on its output, in one pass (see above).
 * @param src [batch, conv in_channels, in_h, in_w] in layout
 * @param dst [batch, conv out_channels, pooled h, pooled w] in layout (the sizes
 *            ic_pool2d_output_size gives for the conv's output size); must not overlap src
 */
IC_API ic_status_t ic_conv2d_pool2d_run(const ic_conv2d_t* conv, const ic_pool2d_t* pool,
                                        ic_context_t* context, int32_t layout, int64_t batch,
                                        int64_t in_h, int64_t in_w,
                                        const void* src, size_t src_bytes,
                                        void* dst, size_t dst_bytes);

/**
 * Global average pooling: dst[n,c,0,0] = mean over h, w of src[n,c,h,w]. Stateless.
 * @param src [batch, channels, in_h, in_w] in layout
 * @param dst [batch, channels, 1, 1] (the same bytes in either layout)
 */
IC_API ic_status_t ic_global_average_pool_run(ic_context_t* context, int32_t layout,
                                              int64_t batch, int64_t channels,
                                              int64_t in_h, int64_t in_w,
                                              const void* src, size_t src_bytes,
                                              void* dst, size_t dst_bytes);

/**
 * Layout conversion: dst holds the elements of src, [batch, channels, h, w], reordered from
 * src_layout to dst_layout (a copy when the two are equal). Stateless. Networks that run in
 * NHWC inside take and give NCHW tensors through it.
 * @param src [batch, channels, h, w] in src_layout
 * @param dst [batch, channels, h, w] in dst_layout; must not overlap src
 */
IC_API ic_status_t ic_convert_layout(ic_context_t* context, int32_t src_layout,
                                     int32_t dst_layout, int64_t batch, int64_t channels,
                                     int64_t h, int64_t w, const void* src, size_t src_bytes,
                                     void* dst, size_t dst_bytes);

#ifdef __cplusplus
}
#endif

#endif /* INVCONV_H */
