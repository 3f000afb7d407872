/*
 * ic_convert_layout: every element lands where the target layout puts it (shapes around the
 * tile and band sizes, both directions, same-layout copies, batches), on 1, 2 and 3 threads
 * and without a context; a round trip gives the input back bit for bit; bad arguments are
 * refused with a message naming them and leave dst untouched.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invconv.h"
#include "testing.h"

static ic_context_t* contexts[3];

static int64_t offset(int32_t layout, int64_t c_count, int64_t h_count, int64_t w_count,
                      int64_t n, int64_t c, int64_t h, int64_t w) {
  if (layout == IC_LAYOUT_NCHW) return ((n * c_count + c) * h_count + h) * w_count + w;
  return ((n * h_count + h) * w_count + w) * c_count + c;
}

static void run_case(int32_t from, int32_t to, int64_t batch, int64_t channels, int64_t h,
                     int64_t w) {
  test_set_problem("%s -> %s, [%lld, %lld, %lld, %lld]", from ? "nhwc" : "nchw",
                   to ? "nhwc" : "nchw", (long long)batch, (long long)channels, (long long)h,
                   (long long)w);
  const size_t count = (size_t)(batch * channels * h * w);
  float* src = xfloats(count);
  float* dst = xfloats(count);
  float* back = xfloats(count);
  for (size_t i = 0; i < count; i++) src[i] = (float)i; /* every element distinct */
  for (int k = 0; k <= 3; k++) {
    ic_context_t* context = k < 3 ? contexts[k] : NULL;
    memset(dst, 0xff, count * sizeof(float));
    CHECK_OK(ic_convert_layout(context, from, to, batch, channels, h, w, src,
                               count * sizeof(float), dst, count * sizeof(float)));
    size_t wrong = 0;
    for (int64_t n = 0; n < batch; n++) {
      for (int64_t c = 0; c < channels; c++) {
        for (int64_t y = 0; y < h; y++) {
          for (int64_t x = 0; x < w; x++) {
            const float expected = src[offset(from, channels, h, w, n, c, y, x)];
            const float got = dst[offset(to, channels, h, w, n, c, y, x)];
            if (memcmp(&expected, &got, sizeof got) != 0) wrong++;
          }
        }
      }
    }
    CHECK_MSG(wrong == 0, "%zu of %zu elements misplaced (context %d)", wrong, count, k);
    CHECK_OK(ic_convert_layout(context, to, from, batch, channels, h, w, dst,
                               count * sizeof(float), back, count * sizeof(float)));
    CHECK_MSG(memcmp(back, src, count * sizeof(float)) == 0, "round trip differs (context %d)", k);
  }
  free(src);
  free(dst);
  free(back);
}

static void test_shapes(void) {
  /* Around the 32-element tiles and the 256-row bands, a network's edges, and degenerate
   * planes (one channel or one pixel: the same memory order in both layouts). */
  static const int64_t shapes[][4] = {
      {1, 3, 224, 224}, {1, 64, 56, 56}, {2, 1000, 1, 1}, {1, 1, 7, 9},   {3, 31, 5, 7},
      {1, 33, 17, 1},   {1, 257, 3, 3},  {1, 300, 20, 20}, {2, 16, 16, 16}, {1, 2, 1, 1}};
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    const int64_t* s = shapes[i];
    run_case(IC_LAYOUT_NCHW, IC_LAYOUT_NHWC, s[0], s[1], s[2], s[3]);
    run_case(IC_LAYOUT_NHWC, IC_LAYOUT_NCHW, s[0], s[1], s[2], s[3]);
    run_case(IC_LAYOUT_NCHW, IC_LAYOUT_NCHW, s[0], s[1], s[2], s[3]);
  }
}

static void test_random_shapes(void) {
  for (int i = 0; i < 60; i++) {
    const int32_t from = (int32_t)rng_int(0, 1), to = (int32_t)rng_int(0, 1);
    run_case(from, to, rng_int(1, 3), rng_int(1, 600), rng_int(1, 40), rng_int(1, 40));
  }
}

static void test_errors(void) {
  float src[24], dst[24];
  for (int i = 0; i < 24; i++) src[i] = (float)i, dst[i] = -1.0f;
  const size_t bytes = sizeof src;
  CHECK_STATUS(ic_convert_layout(NULL, 2, 0, 1, 2, 3, 4, src, bytes, dst, bytes),
               IC_STATUS_INVALID_ARGUMENT, "layout=2");
  CHECK_STATUS(ic_convert_layout(NULL, 0, -1, 1, 2, 3, 4, src, bytes, dst, bytes),
               IC_STATUS_INVALID_ARGUMENT, "layout=-1");
  CHECK_STATUS(ic_convert_layout(NULL, 0, 1, 0, 2, 3, 4, src, bytes, dst, bytes),
               IC_STATUS_INVALID_ARGUMENT, "batch");
  CHECK_STATUS(ic_convert_layout(NULL, 0, 1, 1, 2, -3, 4, src, bytes, dst, bytes),
               IC_STATUS_INVALID_ARGUMENT, "h");
  CHECK_STATUS(ic_convert_layout(NULL, 0, 1, 1, 2, 3, 4, NULL, 0, dst, bytes),
               IC_STATUS_INVALID_ARGUMENT, "src");
  CHECK_STATUS(ic_convert_layout(NULL, 0, 1, 1, 2, 3, 4, src, bytes - 4, dst, bytes),
               IC_STATUS_INVALID_ARGUMENT, "src");
  CHECK_STATUS(ic_convert_layout(NULL, 0, 1, 1, 2, 3, 4, src, bytes, dst, bytes - 4),
               IC_STATUS_INVALID_ARGUMENT, "dst");
  CHECK_STATUS(ic_convert_layout(NULL, 0, 1, 1, 2, 3, 4, src, bytes, src, bytes),
               IC_STATUS_INVALID_ARGUMENT, "overlaps");
  for (int i = 0; i < 24; i++) CHECK_MSG(dst[i] == -1.0f, "dst[%d] written by a refused call", i);
}

int main(int argc, char** argv) {
  test_init(argc, argv, 4242);
  for (int i = 0; i < 3; i++) {
    if (ic_context_create(i + 1, &contexts[i]) != IC_STATUS_SUCCESS) return 2;
  }
  RUN_TEST(test_shapes);
  RUN_TEST(test_random_shapes);
  RUN_TEST(test_errors);
  for (int i = 0; i < 3; i++) ic_context_destroy(contexts[i]);
  return test_finish();
}
