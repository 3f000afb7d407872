/*
 * ic_f32_conv2d_ukernel_6x16c__avx2 — direct convolution on the packed source (ukernels.h,
 * "Prepared operands"): register tiles of 6 output pixels of one row x 16 output channels
 * (12 ymm accumulators: one packed weight block as two ymm), any groups, kernel, stride,
 * dilation and padding. The finished rows reach pixel-contiguous dst through 8x8 transposes.
 * The body is f32-conv2d-impl.h.
 */
#define IC_EXPECT_ISA_AVX2
#include "isa-check.h"

#include <immintrin.h>

#include "simd-avx2.h"

#include "f32-conv/f32-conv2d-avx2.h"

#define IC_MR 6
#define IC_NB 1
#define IC_STORE_ROW ic_f32_conv2d_store_row_avx2
#define IC_CONV_FN ic_f32_conv2d_ukernel_6x16c__avx2
#include "f32-conv/f32-conv2d-impl.h"
