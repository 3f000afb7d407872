/*
 * Kernel tests of the channel-blocked involution families (part of ukernel-test): every entry
 * of f32-invol/f32-invol2d-nchwc.inc, f32-involgen/f32-involgen.inc and
 * f32-nchwc/f32-nchwc-{pack,unpack}.inc against inline float64 references, with random
 * kernel sizes, strides, dilations, kernel-row ranges, both kernel addressings, epilogues,
 * pixel counts around the tiles, and guard zones that must stay untouched. Kernels of an ISA
 * this CPU (or the limit) lacks are skipped with a note and never counted.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"
#include "ukernels.h"

#define IC_UKERNEL(isa, family, tile, isa_suffix) \
  {isa, #family "_" #tile "__" #isa_suffix, ic_##family##_ukernel_##tile##__##isa_suffix},
static const struct {
  ic_isa_t isa;
  const char* name;
  ic_f32_invol2d_nchwc_ukernel_fn fn;
} aggregate_kernels[] = {
#include "f32-invol/f32-invol2d-nchwc.inc"
};
static const struct {
  ic_isa_t isa;
  const char* name;
  ic_f32_involgen_ukernel_fn fn;
} generate_kernels[] = {
#include "f32-involgen/f32-involgen.inc"
};
static const struct {
  ic_isa_t isa;
  const char* name;
  ic_f32_nchwc_pack_ukernel_fn fn;
} pack_kernels[] = {
#include "f32-nchwc/f32-nchwc-pack.inc"
};
static const struct {
  ic_isa_t isa;
  const char* name;
  ic_f32_nchwc_unpack_ukernel_fn fn;
} unpack_kernels[] = {
#include "f32-nchwc/f32-nchwc-unpack.inc"
};
#undef IC_UKERNEL

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* Called by ukernel-test.c; returns the number of kernels tested. */
int test_invol_nchwc_kernels(void);

/* The block of a kernel: fixed by its ISA; the scalar ones take any. */
static int64_t block_of(ic_isa_t isa) {
  if (isa == IC_ISA_AVX512) return 16;
  if (isa == IC_ISA_AVX2) return 8;
  static const int64_t blocks[] = {1, 3, 8, 16};
  return blocks[rng_int(0, 3)];
}

static bool runnable(ic_isa_t isa, const char* name) {
  if (isa <= ic_active_isa()) return true;
  printf("  skipped %s: needs %s, this CPU/limit allows %s\n", name, ic_isa_name(isa),
         ic_isa_name(ic_active_isa()));
  return false;
}

static void test_aggregate(const char* name, ic_isa_t isa, ic_f32_invol2d_nchwc_ukernel_fn fn) {
  static const int64_t pixel_counts[] = {1, 2, 3, 4, 5, 6, 7, 8, 11, 13, 14, 15, 21, 28, 29, 56};
  for (int iteration = 0; iteration < 400; iteration++) {
    const int64_t block = block_of(isa);
    const int64_t k = 2 * rng_int(0, 4) + 1;
    /* Half the cases on the specialised shapes (K 3/5/7, stride 1/2, dilation 1). */
    const bool special = rng_bool(0.5);
    const int64_t stride = special ? rng_int(1, 2) : rng_int(1, 3);
    const int64_t dilation = special ? 1 : rng_int(1, 2);
    const int64_t pixels = pixel_counts[rng_int(0, (int64_t)COUNT(pixel_counts) - 1)];
    const int64_t kh0 = rng_int(0, k - 1), kh1 = rng_int(kh0 + 1, k);
    const bool tap_major = special || rng_bool(0.5); /* kernels_stride_p == 1 */
    const bool affine = rng_bool(0.3);
    const int32_t activation = (int32_t)rng_int(0, 2);
    /* Columns packed (block apart) or pixels of a wider image (NHWC read in place). */
    const int64_t column_stride = rng_bool(0.5) ? block : block * rng_int(2, 4) + rng_int(0, 3);
    test_set_problem("%s: block %lld k%lld s%lld d%lld pixels %lld kh [%lld, %lld) column "
                     "stride %lld %s%s act %d",
                     name, (long long)block, (long long)k, (long long)stride,
                     (long long)dilation, (long long)pixels, (long long)kh0, (long long)kh1,
                     (long long)column_stride, tap_major ? "tap-major" : "pixel-major",
                     affine ? " affine" : "", (int)activation);
    const int64_t rows = kh1 - kh0;
    const int64_t width = (pixels - 1) * stride + (k - 1) * dilation + 1 + rng_int(0, 3);
    const int64_t row_stride = width * column_stride + rng_int(0, 2) * block;
    const int64_t in_rows = (rows - 1) * dilation + 1;
    const size_t src_count = (size_t)(in_rows * row_stride);
    float* src = xfloats(src_count);
    fill_uniform(src, src_count, -1, 1);
    /* Kernels: tap-major [rows*K][ts] with ts >= pixels, or pixel-major [pixels][ps]. */
    const int64_t taps = rows * k;
    const int64_t ts = tap_major ? pixels + rng_int(0, 5) : 1;
    const int64_t ps = tap_major ? 1 : taps + rng_int(0, 5);
    const size_t kernels_count = (size_t)(tap_major ? taps * ts : pixels * ps);
    float* kernels = xfloats(kernels_count);
    fill_uniform(kernels, kernels_count, -1, 1);
    float* scale = xfloats((size_t)block);
    float* shift = xfloats((size_t)block);
    fill_uniform(scale, (size_t)block, -2, 2);
    fill_uniform(shift, (size_t)block, -1, 1);
    /* dst: pixel stride >= block, one guard pixel after the segment. */
    const int64_t dst_stride = block + rng_int(0, 1) * block;
    const size_t dst_count = (size_t)((pixels + 1) * dst_stride);
    float* dst = xfloats(dst_count);
    for (size_t i = 0; i < dst_count; i++) dst[i] = NAN;

    const ic_f32_invol2d_nchwc_args_t args = {
        .block = block,
        .kernel_size = k,
        .stride = stride,
        .dilation = dilation,
        .kh0 = kh0,
        .kh1 = kh1,
        .pixels = pixels,
        .src = src,
        .src_stride_w = column_stride,
        .src_stride_h = row_stride,
        .kernels = kernels,
        .kernels_stride_t = ts,
        .kernels_stride_p = ps,
        .dst = dst,
        .dst_stride_p = dst_stride,
        .scale = affine ? scale : NULL,
        .shift = affine ? shift : NULL,
        .activation = activation,
    };
    fn(&args);
    for (int64_t p = 0; p < pixels; p++) {
      for (int64_t c = 0; c < block; c++) {
        double sum = 0, mag = 0;
        for (int64_t r = 0; r < rows; r++) {
          for (int64_t kw = 0; kw < k; kw++) {
            const double kv = kernels[(r * k + kw) * ts + p * ps];
            const double xv =
                src[r * dilation * row_stride + (p * stride + kw * dilation) * column_stride + c];
            sum += kv * xv, mag += fabs(kv * xv);
          }
        }
        if (affine) {
          /* The affine rounds the sum first: allow its error scaled by |scale|. */
          mag = fabs((double)scale[c]) * (mag + 1e-1 * fabs(sum)) + fabs((double)shift[c]);
          sum = (double)scale[c] * sum + (double)shift[c];
        }
        const float got = dst[p * dst_stride + c];
        check_close("dst", &got, &sum, &mag, 1, activation);
      }
      for (int64_t c = block; c < dst_stride; c++) CHECK(isnan(dst[p * dst_stride + c]));
    }
    for (int64_t i = 0; i < dst_stride; i++) CHECK(isnan(dst[pixels * dst_stride + i]));
    free(src), free(kernels), free(scale), free(shift), free(dst);
  }
}

static void test_generate(const char* name, ic_f32_involgen_ukernel_fn fn) {
  static const int64_t pixel_counts[] = {1, 7, 8, 15, 16, 17, 24, 25, 31, 48, 49, 63,
                                         64, 65, 100, 112, 113, 128, 200};
  for (size_t i = 0; i < COUNT(pixel_counts); i++) {
    for (int repeat = 0; repeat < 6; repeat++) {
      const int64_t pixels = pixel_counts[i];
      const int64_t cin = rng_int(1, 70), cout = rng_int(1, 60);
      const int64_t src_stride = pixels + rng_int(0, 20), dst_stride = pixels + rng_int(0, 20);
      const int32_t activation = (int32_t)rng_int(0, 2);
      const bool with_bias = rng_bool(0.7);
      test_set_problem("%s: pixels %lld, in %lld, out %lld, act %d%s", name, (long long)pixels,
                       (long long)cin, (long long)cout, (int)activation,
                       with_bias ? ", bias" : "");
      float* x = xfloats((size_t)(cin * src_stride));
      float* w = xfloats((size_t)(cout * cin));
      float* bias = xfloats((size_t)cout);
      float* dst = xfloats((size_t)(cout * dst_stride));
      fill_uniform(x, (size_t)(cin * src_stride), -1, 1);
      fill_uniform(w, (size_t)(cout * cin), -1, 1);
      fill_uniform(bias, (size_t)cout, -1, 1);
      for (int64_t j = 0; j < cout * dst_stride; j++) dst[j] = NAN;
      /* Half the calls bring another region to L2 on the way (results must not change). */
      const int64_t ahead_floats = rng_bool(0.5) ? rng_int(1, 3000) : 0;
      float* ahead = xfloats((size_t)ahead_floats + 1);
      const ic_f32_involgen_args_t args = {
          .in_channels = cin,
          .out_channels = cout,
          .weights = w,
          .bias = with_bias ? bias : NULL,
          .activation = activation,
          .pixels = pixels,
          .src = x,
          .src_stride_c = src_stride,
          .dst = dst,
          .dst_stride_c = dst_stride,
          .ahead_weights = ahead_floats > 0 ? ahead : NULL,
          .ahead_floats = ahead_floats,
      };
      fn(&args);
      free(ahead);
      for (int64_t o = 0; o < cout; o++) {
        for (int64_t q = 0; q < dst_stride; q++) {
          const float got = dst[o * dst_stride + q];
          if (q >= pixels) {
            CHECK(isnan(got));
            continue;
          }
          double sum = with_bias ? bias[o] : 0, mag = with_bias ? fabs(bias[o]) : 0;
          for (int64_t c = 0; c < cin; c++) {
            const double product = (double)w[o * cin + c] * x[c * src_stride + q];
            sum += product, mag += fabs(product);
          }
          check_close("dst", &got, &sum, &mag, 1, activation);
        }
      }
      free(x), free(w), free(bias), free(dst);
    }
  }
}

static void test_pack(const char* name, ic_isa_t isa, ic_f32_nchwc_pack_ukernel_fn fn) {
  for (int iteration = 0; iteration < 200; iteration++) {
    const int64_t block = block_of(isa);
    const int64_t width = rng_int(1, 40), pad_left = rng_int(0, 4), pad_right = rng_int(0, 4);
    const int layout = (int)rng_int(0, 2); /* planar, channels-last, arbitrary */
    int64_t stride_c, stride_w;
    if (layout == 0) stride_c = width + rng_int(0, 3), stride_w = 1;
    else if (layout == 1) stride_c = 1, stride_w = block + rng_int(0, 3);
    else stride_c = 2, stride_w = 2 * block + 1;
    test_set_problem("%s: block %lld width %lld pads %lld,%lld strides c%lld w%lld", name,
                     (long long)block, (long long)width, (long long)pad_left,
                     (long long)pad_right, (long long)stride_c, (long long)stride_w);
    const size_t src_count = (size_t)((block - 1) * stride_c + (width - 1) * stride_w + 1);
    float* src = xfloats(src_count);
    fill_uniform(src, src_count, -1, 1);
    const int64_t total = pad_left + width + pad_right;
    float* dst = xfloats((size_t)((total + 1) * block));
    for (int64_t i = 0; i < (total + 1) * block; i++) dst[i] = NAN;
    const ic_f32_nchwc_pack_args_t args = {block, width, src, stride_c, stride_w,
                                           dst, pad_left, pad_right};
    fn(&args);
    for (int64_t x = 0; x < total; x++) {
      for (int64_t c = 0; c < block; c++) {
        const int64_t ix = x - pad_left;
        const float expected =
            ix >= 0 && ix < width ? src[c * stride_c + ix * stride_w] : 0.0f;
        CHECK_MSG(memcmp(&dst[x * block + c], &expected, sizeof expected) == 0,
                  "dst pixel %lld channel %lld = %g, expected %g", (long long)x, (long long)c,
                  (double)dst[x * block + c], (double)expected);
      }
    }
    for (int64_t c = 0; c < block; c++) CHECK(isnan(dst[total * block + c]));
    free(src), free(dst);
  }
}

static void test_unpack(const char* name, ic_isa_t isa, ic_f32_nchwc_unpack_ukernel_fn fn) {
  for (int iteration = 0; iteration < 200; iteration++) {
    const int64_t block = block_of(isa);
    const int64_t pixels = rng_int(1, 40), pool = rng_int(1, 3);
    const int64_t sw = block + rng_int(0, 2) * block;
    const int64_t sh = (pixels * pool + rng_int(0, 3)) * sw;
    const int64_t dst_stride = pixels + rng_int(0, 5);
    test_set_problem("%s: block %lld pixels %lld pool %lld", name, (long long)block,
                     (long long)pixels, (long long)pool);
    const size_t src_count = (size_t)(pool * sh);
    float* src = xfloats(src_count);
    fill_uniform(src, src_count, -1, 1);
    float* dst = xfloats((size_t)(block * dst_stride));
    for (int64_t i = 0; i < block * dst_stride; i++) dst[i] = NAN;
    const ic_f32_nchwc_unpack_args_t args = {block, pixels, pool, src, sw, sh, dst, dst_stride};
    fn(&args);
    for (int64_t c = 0; c < block; c++) {
      for (int64_t q = 0; q < dst_stride; q++) {
        const float got = dst[c * dst_stride + q];
        if (q >= pixels) {
          CHECK(isnan(got));
          continue;
        }
        double sum = 0, mag = 0;
        for (int64_t i = 0; i < pool; i++) {
          for (int64_t j = 0; j < pool; j++) {
            const double v = src[(q * pool + j) * sw + i * sh + c];
            sum += v / (double)(pool * pool), mag += fabs(v);
          }
        }
        check_close("dst", &got, &sum, &mag, 1, IC_ACTIVATION_NONE);
      }
    }
    free(src), free(dst);
  }
}

int test_invol_nchwc_kernels(void) {
  int tested = 0;
  for (size_t i = 0; i < COUNT(aggregate_kernels); i++) {
    if (!runnable(aggregate_kernels[i].isa, aggregate_kernels[i].name)) continue;
    test_aggregate(aggregate_kernels[i].name, aggregate_kernels[i].isa, aggregate_kernels[i].fn);
    tested++;
  }
  for (size_t i = 0; i < COUNT(generate_kernels); i++) {
    if (!runnable(generate_kernels[i].isa, generate_kernels[i].name)) continue;
    test_generate(generate_kernels[i].name, generate_kernels[i].fn);
    tested++;
  }
  for (size_t i = 0; i < COUNT(pack_kernels); i++) {
    if (!runnable(pack_kernels[i].isa, pack_kernels[i].name)) continue;
    test_pack(pack_kernels[i].name, pack_kernels[i].isa, pack_kernels[i].fn);
    tested++;
  }
  for (size_t i = 0; i < COUNT(unpack_kernels); i++) {
    if (!runnable(unpack_kernels[i].isa, unpack_kernels[i].name)) continue;
    test_unpack(unpack_kernels[i].name, unpack_kernels[i].isa, unpack_kernels[i].fn);
    tested++;
  }
  printf("tested %d channel-blocked involution kernels at ISA limit %s\n", tested,
         ic_isa_name(ic_active_isa()));
  return tested;
}
