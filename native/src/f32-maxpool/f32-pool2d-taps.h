/*
 * f32-pool2d-taps.h — the NCHW tap loads shared by the SIMD max and average pooling kernels
 * (f32-maxpool/, f32-avgpool/), included by their bodies after the ISA's macros:
 *
 *   IC_B                                   float lanes
 *   IC_V                                   float vector type
 *   IC_VLOAD(p), IC_VSTORE(p, v)
 *   IC_EVEN(a, b)                          the even lanes of the 2 * IC_B floats a:b
 *   IC_MASK                                a lane mask type
 *   IC_MASK_RANGE(first, last)             lanes [first, last) (empty if first >= last)
 *   IC_VLOAD_MASK(p, mask, fill)           the mask's lanes from p, fill elsewhere
 *   IC_VLOADZ(p, mask)                     the mask's lanes from p, anything elsewhere
 *
 * With outputs along x in the vector, tap k of a window row reads input columns
 * stride * x - pad_left + k of IC_B consecutive outputs x: one load for stride 1, two loads and
 * one de-interleave for stride 2 (every network pool), element by element beyond. All loads
 * come straight from the caller's row: nothing is staged through a buffer, so no load waits
 * on a just-written, misaligned store (tried first: it cost more than the pooling). Columns
 * outside the row are masked off, never read: they load as the caller's `fill` (-inf for max)
 * or as +0 (which changes no sum that starts at +0).
 */
#ifndef IC_F32_POOL2D_TAPS_H
#define IC_F32_POOL2D_TAPS_H

#include <stdint.h>


/* Output vectors per pass of the NCHW paths: independent chains, so that the latency of one
 * output's fold (kernel_h * kernel_w dependent steps) is hidden behind the others'. */
#define IC_POOL_GROUP 4
/* Windows up to this wide keep their per-tap masks on the stack (all networks' pools); wider
 * ones take a slower path (max: ic_pool_load_tap, average: the scalar kernel). */
#define IC_POOL_MASKED_KW 16

/* The lanes l < IC_B whose column col + stride * l falls inside [0, in_w). */
static inline IC_MASK ic_pool_cols_mask(int64_t in_w, int64_t col, int64_t stride) {
  /* first = ceil(-col / stride), last = ceil((in_w - col) / stride), both clamped to lanes. */
  const int64_t first = col >= 0 ? 0 : (-col + stride - 1) / stride;
  const int64_t last = in_w - col <= 0 ? 0 : (in_w - col + stride - 1) / stride;
  return IC_MASK_RANGE((int)(first < IC_B ? first : IC_B), (int)(last < IC_B ? last : IC_B));
}

/* Columns [col, col + IC_B) of row[0 .. in_w): one plain load inside the row, a masked one
 * across its ends (masked-off lanes are never read), none beyond them. */
static inline IC_V ic_pool_load_cols(const float* row, int64_t in_w, int64_t col, IC_V fill) {
  if (col >= 0 && col + IC_B <= in_w) return IC_VLOAD(row + col);
  if (col >= in_w || col + IC_B <= 0) return fill;
  return IC_VLOAD_MASK(row + col, ic_pool_cols_mask(in_w, col, 1), fill);
}

/* Columns col + stride * l, l < IC_B, of row[0 .. in_w). */
static inline IC_V ic_pool_load_tap(const float* row, int64_t in_w, int64_t col, int64_t stride,
                                    IC_V fill) {
  if (stride == 1) return ic_pool_load_cols(row, in_w, col, fill);
  if (stride == 2) {
    return IC_EVEN(ic_pool_load_cols(row, in_w, col, fill),
                   ic_pool_load_cols(row, in_w, col + IC_B, fill));
  }
  float lanes[IC_B];
  IC_VSTORE(lanes, fill);
  int64_t c = col;
  for (int64_t l = 0; l < IC_B && c < in_w; l++) {
    if (c >= 0) lanes[l] = row[c];
    if (stride >= in_w - c) break; /* the next lane is past the row (and c + stride might not fit) */
    c += stride;
  }
  return IC_VLOAD(lanes);
}

#endif /* IC_F32_POOL2D_TAPS_H */
