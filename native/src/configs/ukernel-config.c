/*
 * Kernel selection: for each family, a table generated from its kernel list (the .inc file)
 * and the choice of the last entry whose ISA the caller allows. Operators call these once, at
 * create, with ic_active_isa(); the chosen name is what *_kernel_name() reports.
 */
#include <stddef.h>

#include "ukernels.h"

#define IC_UKERNEL(isa, family, tile, isa_suffix) \
  {isa, #family "_" #tile "__" #isa_suffix, ic_##family##_ukernel_##tile##__##isa_suffix},

#define IC_TABLE_ENTRY(family)   \
  struct {                       \
    ic_isa_t isa;                \
    const char* name;            \
    ic_##family##_ukernel_fn fn; \
  }

/* Tables are ordered by ISA, lowest first, and start with a scalar kernel. */
#define IC_DEFINE_SELECT(family)                                                              \
  ic_##family##_ukernel_fn ic_select_##family##_ukernel(ic_isa_t max_isa,                     \
                                                        ic_ukernel_info_t* info) {            \
    const size_t count = sizeof ic_##family##_table / sizeof ic_##family##_table[0];          \
    size_t best = 0;                                                                          \
    for (size_t i = 1; i < count; i++) {                                                      \
      if (ic_##family##_table[i].isa <= max_isa) best = i;                                    \
    }                                                                                         \
    info->isa = ic_##family##_table[best].isa;                                                \
    info->name = ic_##family##_table[best].name;                                              \
    return ic_##family##_table[best].fn;                                                      \
  }

static const IC_TABLE_ENTRY(f32_conv2d) ic_f32_conv2d_table[] = {
#include "f32-conv/f32-conv2d.inc"
};
IC_DEFINE_SELECT(f32_conv2d)

static const IC_TABLE_ENTRY(f32_dwconv2d) ic_f32_dwconv2d_table[] = {
#include "f32-dwconv/f32-dwconv2d.inc"
};
IC_DEFINE_SELECT(f32_dwconv2d)

static const IC_TABLE_ENTRY(f32_pwconv2d) ic_f32_pwconv2d_table[] = {
#include "f32-pwconv/f32-pwconv2d.inc"
};
IC_DEFINE_SELECT(f32_pwconv2d)

static const IC_TABLE_ENTRY(f32_invol2d) ic_f32_invol2d_table[] = {
#include "f32-invol/f32-invol2d.inc"
};
IC_DEFINE_SELECT(f32_invol2d)

static const IC_TABLE_ENTRY(f32_invol2d_nchwc) ic_f32_invol2d_nchwc_table[] = {
#include "f32-invol/f32-invol2d-nchwc.inc"
};
IC_DEFINE_SELECT(f32_invol2d_nchwc)

static const IC_TABLE_ENTRY(f32_involgen) ic_f32_involgen_table[] = {
#include "f32-involgen/f32-involgen.inc"
};
IC_DEFINE_SELECT(f32_involgen)

static const IC_TABLE_ENTRY(f32_nchwc_pack) ic_f32_nchwc_pack_table[] = {
#include "f32-nchwc/f32-nchwc-pack.inc"
};
IC_DEFINE_SELECT(f32_nchwc_pack)

static const IC_TABLE_ENTRY(f32_nchwc_unpack) ic_f32_nchwc_unpack_table[] = {
#include "f32-nchwc/f32-nchwc-unpack.inc"
};
IC_DEFINE_SELECT(f32_nchwc_unpack)

static const IC_TABLE_ENTRY(f32_avgpool2d) ic_f32_avgpool2d_table[] = {
#include "f32-avgpool/f32-avgpool2d.inc"
};
IC_DEFINE_SELECT(f32_avgpool2d)

static const IC_TABLE_ENTRY(f32_maxpool2d) ic_f32_maxpool2d_table[] = {
#include "f32-maxpool/f32-maxpool2d.inc"
};
IC_DEFINE_SELECT(f32_maxpool2d)

static const IC_TABLE_ENTRY(f32_peak) ic_f32_peak_table[] = {
#include "f32-peak/f32-peak.inc"
};
IC_DEFINE_SELECT(f32_peak)

static const IC_TABLE_ENTRY(f32_winograd) ic_f32_winograd_table[] = {
#include "f32-winograd/f32-winograd.inc"
};
IC_DEFINE_SELECT(f32_winograd)

static const IC_TABLE_ENTRY(f32_transpose) ic_f32_transpose_table[] = {
#include "f32-transpose/f32-transpose.inc"
};
IC_DEFINE_SELECT(f32_transpose)
