/*
 * ic_f32_conv2d_ukernel_14x32c__avx512 — direct convolution on the packed source (ukernels.h,
 * "Prepared operands"): register tiles of 14 output pixels of one row x 32 output channels
 * (28 zmm accumulators), any groups, kernel, stride, dilation and padding. The finished rows
 * reach pixel-contiguous dst through 16x16 transposes. The body is f32-conv2d-impl.h.
 */
#define IC_EXPECT_ISA_AVX512
#include "isa-check.h"

#include <immintrin.h>

#include "simd-avx512.h"

#include "f32-conv/f32-conv2d-avx512.h"

#define IC_MR 14
#define IC_NB 2
#define IC_STORE_ROW ic_f32_conv2d_store_row_avx512
#define IC_CONV_FN ic_f32_conv2d_ukernel_14x32c__avx512
#include "f32-conv/f32-conv2d-impl.h"
