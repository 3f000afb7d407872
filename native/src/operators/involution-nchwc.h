/*
 * involution-nchwc.h — the channel-blocked SIMD path shared by the involution operators
 * (involution-aggregate.c, involution2d.c); operators/involution-nchwc.c explains it.
 */
#ifndef IC_INVOLUTION_NCHWC_H
#define IC_INVOLUTION_NCHWC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "ukernels.h"

/* The kernels of the path for one ISA: `block` channels per vector. */
typedef struct ic_invol_nchwc {
  int64_t block;
  int64_t segment; /* output pixels the aggregation kernel keeps in registers (14x16c: 14) */
  ic_f32_invol2d_nchwc_ukernel_fn aggregate;
  ic_f32_nchwc_pack_ukernel_fn pack;
  ic_f32_nchwc_unpack_ukernel_fn unpack;
  ic_f32_involgen_ukernel_fn generate;
  ic_ukernel_info_t aggregate_info, generate_info;
} ic_invol_nchwc_t;

/* Picks the path for the active ISA `isa`: 16-channel AVX-512 kernels when group_channels is a
 * multiple of 16, 8-channel AVX2 kernels when it is a multiple of 8 (on AVX2 or AVX-512).
 * False when neither applies (scalar ISA, group_channels not a multiple of 8, or a padding
 * above 256): the operator then keeps its portable path. */
bool ic_invol_nchwc_select(ic_isa_t isa, const ic_involution_shape_t* shape,
                           ic_invol_nchwc_t* path);

/* A per-thread buffer of at least `bytes`, 64-byte aligned, kept between runs (grown, never
 * shrunk) and freed when the thread exits; NULL when out of memory. Contents are undefined.
 * A run takes it on the calling thread and hands slices to its tasks; the channel-blocked
 * path keeps a run's share near 8 MiB by taking a large batch in several passes. */
void* ic_invol_scratch(size_t bytes);

/* The aggregation with caller-supplied kernels, everything validated. */
ic_status_t ic_invol_nchwc_aggregate(const ic_invol_nchwc_t* path,
                                     const ic_involution_shape_t* shape, ic_context_t* context,
                                     int32_t layout, int64_t batch, int64_t in_h, int64_t in_w,
                                     int64_t out_h, int64_t out_w, const float* src,
                                     const float* kernels, float* dst);

/* Involution2d's weights as the module holds them (BN folded into the reduce weights). */
typedef struct ic_invol_nchwc_weights {
  int64_t reduced;
  const float* reduce_weight; /* [reduced][channels] */
  const float* reduce_bias;   /* [reduced] */
  const float* span_weight;   /* [kernel_count][reduced] */
  const float* span_bias;     /* [kernel_count] */
  const float* out_scale;     /* [channels] or NULL */
  const float* out_shift;
  int32_t activation;
} ic_invol_nchwc_weights_t;

/* The whole module, everything validated (for stride > 1, in_h and in_w are multiples). */
ic_status_t ic_invol_nchwc_module(const ic_invol_nchwc_t* path,
                                  const ic_involution_shape_t* shape,
                                  const ic_invol_nchwc_weights_t* weights, ic_context_t* context,
                                  int32_t layout, int64_t batch, int64_t in_h, int64_t in_w,
                                  int64_t out_h, int64_t out_w, const float* src, float* dst);

#endif /* IC_INVOLUTION_NCHWC_H */
