/*
 * pool2d.h — what Conv2d takes from Pool2d to pool its output as it computes it
 * (ic_conv2d_pool2d_run in conv2d.c); operators/pool2d.c explains the operator.
 */
#ifndef IC_POOL2D_H
#define IC_POOL2D_H

#include <stdint.h>

#include "internal.h"
#include "ukernels.h"

/* The geometry and kernel of `pool` on an in_h x in_w input, after the checks ic_pool2d_run
 * makes of that size (an output, and windows that each hold an input element). */
ic_status_t ic_pool2d_prepare(const ic_pool2d_t* pool, int64_t in_h, int64_t in_w,
                              ic_pool2d_geometry_t* geometry, ic_f32_pool2d_ukernel_fn* fn);

#endif /* IC_POOL2D_H */
