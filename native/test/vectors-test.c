/*
 * SPEC §8's test vectors (the .safetensors files in shared/vectors/, made by PyTorch in float64 with the
 * official involution code) through the C API, in both layouts.
 *
 * The reader below understands just enough safetensors for these files: an 8-byte header
 * length, a flat JSON header of tensor entries and string metadata, little-endian data.
 * Fails when the vectors are not there, as the Java conformance tests do: a skip would read as
 * a pass in ctest's summary. INVCONV_VECTORS_DIR overrides the path.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"

typedef struct st_file {
  char* bytes;
  size_t size;
  char* header; /* NUL-terminated copy of the JSON header */
  size_t body;  /* offset of the data */
} st_file_t;

typedef struct st_tensor {
  bool found;
  int rank;
  int64_t dims[8];
  size_t count;
  float* f32;  /* for F32 tensors */
  double* f64; /* for F64 tensors */
} st_tensor_t;

static bool st_open(const char* path, st_file_t* file) {
  memset(file, 0, sizeof *file);
  FILE* f = fopen(path, "rb");
  if (f == NULL) return false;
  fseek(f, 0, SEEK_END);
  const long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  file->bytes = xmalloc((size_t)size);
  file->size = fread(file->bytes, 1, (size_t)size, f);
  fclose(f);
  if (file->size < 8) return false;
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; i--) header_size = header_size << 8 | (unsigned char)file->bytes[i];
  if (header_size > file->size - 8) return false;
  file->header = xmalloc(header_size + 1);
  memcpy(file->header, file->bytes + 8, header_size);
  file->header[header_size] = '\0';
  file->body = 8 + header_size;
  return true;
}

static void st_close(st_file_t* file) {
  free(file->bytes);
  free(file->header);
}

/* The JSON object that follows "key": in the header, as [begin, end). */
static const char* st_find(const st_file_t* file, const char* key, const char** end) {
  char pattern[160];
  snprintf(pattern, sizeof pattern, "\"%s\":", key);
  const char* at = strstr(file->header, pattern);
  if (at == NULL) return NULL;
  at = strchr(at + strlen(pattern), '{');
  *end = at ? strchr(at, '}') : NULL;
  return *end ? at : NULL;
}

static void st_tensor(const st_file_t* file, const char* name, st_tensor_t* t) {
  memset(t, 0, sizeof *t);
  const char* end;
  const char* entry = st_find(file, name, &end);
  if (entry == NULL) return;
  const char* dtype = strstr(entry, "\"dtype\"");
  const char* shape = strstr(entry, "\"shape\"");
  const char* offsets = strstr(entry, "\"data_offsets\"");
  if (!dtype || !shape || !offsets || dtype > end || shape > end || offsets > end) return;
  const bool f64 = strncmp(strchr(dtype + 7, '"'), "\"F64\"", 5) == 0;
  const char* p = strchr(shape, '[') + 1;
  t->count = 1;
  while (*p != ']' && t->rank < 8) {
    char* next;
    t->dims[t->rank] = strtoll(p, &next, 10);
    if (next == p) break;
    t->count *= (size_t)t->dims[t->rank++];
    p = next;
    while (*p == ',' || *p == ' ') p++;
  }
  char* next;
  const size_t begin = (size_t)strtoull(strchr(offsets, '[') + 1, &next, 10);
  const size_t finish = (size_t)strtoull(strchr(next, ',') + 1, NULL, 10);
  const size_t element = f64 ? 8 : 4;
  if (finish - begin != t->count * element || file->body + finish > file->size) return;
  if (f64) {
    t->f64 = xdoubles(t->count);
    memcpy(t->f64, file->bytes + file->body + begin, t->count * element);
  } else {
    t->f32 = xfloats(t->count);
    memcpy(t->f32, file->bytes + file->body + begin, t->count * element);
  }
  t->found = true;
}

static void st_free(st_tensor_t* t) {
  free(t->f32);
  free(t->f64);
}

/* A metadata string value, or fallback. */
static void st_meta(const st_file_t* file, const char* key, char* out, size_t size,
                    const char* fallback) {
  snprintf(out, size, "%s", fallback);
  const char* end;
  const char* meta = st_find(file, "__metadata__", &end);
  if (meta == NULL) return;
  char pattern[96];
  snprintf(pattern, sizeof pattern, "\"%s\":", key);
  const char* at = strstr(meta, pattern);
  if (at == NULL || at > end) return;
  at = strchr(at + strlen(pattern), '"');
  if (at == NULL) return;
  const char* stop = strchr(at + 1, '"');
  if (stop == NULL) return;
  snprintf(out, size, "%.*s", (int)(stop - at - 1), at + 1);
}

static int64_t st_meta_int(const st_file_t* file, const char* key, int index, int64_t fallback) {
  char text[96];
  st_meta(file, key, text, sizeof text, "");
  if (text[0] == '\0') return fallback;
  const char* p = text;
  for (int i = 0; i < index; i++) {
    p = strchr(p, ',');
    if (p == NULL) return fallback;
    p++;
  }
  return strtoll(p, NULL, 10);
}

static int32_t parse_padding(const char* text) {
  if (strcmp(text, "VALID") == 0) return IC_PADDING_VALID;
  if (strcmp(text, "SAME") == 0) return IC_PADDING_SAME;
  if (strcmp(text, "FULL") == 0) return IC_PADDING_FULL;
  return IC_PADDING_EXPLICIT;
}

static int32_t parse_activation(const char* text) {
  if (strcmp(text, "RELU") == 0) return IC_ACTIVATION_RELU;
  if (strcmp(text, "RELU6") == 0) return IC_ACTIVATION_RELU6;
  return IC_ACTIVATION_NONE;
}

/* Runs an operator in both layouts through a callback and compares with expected. */
typedef ic_status_t (*run_fn)(void* op, int32_t layout, const float* src, float* dst);

static void compare_layouts(void* op, run_fn run, const st_tensor_t* input,
                            const st_tensor_t* expected, const st_tensor_t* magnitude) {
  const int64_t* xd = input->dims;
  const int64_t* yd = expected->dims;
  float* src = xfloats(input->count);
  float* dst = xfloats(expected->count);
  float* y = xfloats(expected->count);
  double* ref = expected->f64;
  double* mag = xdoubles(expected->count);
  if (magnitude != NULL && magnitude->found) {
    memcpy(mag, magnitude->f64, expected->count * sizeof(double));
  } else { /* module cases: 1e-4 * max|ref| + 1e-6 */
    double max_ref = 0;
    for (size_t i = 0; i < expected->count; i++) max_ref = fmax(max_ref, fabs(ref[i]));
    for (size_t i = 0; i < expected->count; i++) mag[i] = 10 * max_ref;
  }
  for (int32_t layout = IC_LAYOUT_NCHW; layout <= IC_LAYOUT_NHWC; layout++) {
    if (layout == IC_LAYOUT_NHWC) {
      nchw_to_nhwc(src, input->f32, xd[0], xd[1], xd[2], xd[3]);
    } else {
      memcpy(src, input->f32, input->count * sizeof(float));
    }
    for (size_t i = 0; i < expected->count; i++) dst[i] = NAN;
    CHECK_OK(run(op, layout, src, dst));
    if (layout == IC_LAYOUT_NHWC) {
      nhwc_to_nchw(y, dst, yd[0], yd[1], yd[2], yd[3]);
    } else {
      memcpy(y, dst, expected->count * sizeof(float));
    }
    check_close(layout == IC_LAYOUT_NHWC ? "y(nhwc)" : "y(nchw)", y, ref, mag, expected->count,
                IC_ACTIVATION_NONE);
  }
  free(src), free(dst), free(y), free(mag);
}

/* Per-operator state handed to the run callbacks. */
typedef struct vector_op {
  void* op;
  const st_tensor_t* input;
  const st_tensor_t* kernels;
  const st_tensor_t* expected;
} vector_op_t;

static size_t bytes_of(const st_tensor_t* t) { return t->count * sizeof(float); }

static ic_status_t run_conv2d(void* arg, int32_t layout, const float* src, float* dst) {
  const vector_op_t* v = arg;
  const int64_t* d = v->input->dims;
  return ic_conv2d_run(v->op, NULL, layout, d[0], d[2], d[3], src, bytes_of(v->input), NULL, 0,
                       dst, bytes_of(v->expected));
}

static ic_status_t run_separable(void* arg, int32_t layout, const float* src, float* dst) {
  const vector_op_t* v = arg;
  const int64_t* d = v->input->dims;
  return ic_separable_conv2d_run(v->op, NULL, layout, d[0], d[2], d[3], src, bytes_of(v->input),
                                 dst, bytes_of(v->expected));
}

static ic_status_t run_aggregate(void* arg, int32_t layout, const float* src, float* dst) {
  const vector_op_t* v = arg;
  const int64_t* d = v->input->dims;
  const int64_t* k = v->kernels->dims;
  float* kernels = xfloats(v->kernels->count);
  if (layout == IC_LAYOUT_NHWC) {
    nchw_to_nhwc(kernels, v->kernels->f32, k[0], k[1], k[2], k[3]);
  } else {
    memcpy(kernels, v->kernels->f32, bytes_of(v->kernels));
  }
  const ic_status_t status =
      ic_involution_aggregate_run(v->op, NULL, layout, d[0], d[2], d[3], src, bytes_of(v->input),
                                  kernels, bytes_of(v->kernels), dst, bytes_of(v->expected));
  free(kernels);
  return status;
}

static ic_status_t run_involution2d(void* arg, int32_t layout, const float* src, float* dst) {
  const vector_op_t* v = arg;
  const int64_t* d = v->input->dims;
  return ic_involution2d_run(v->op, NULL, layout, d[0], d[2], d[3], src, bytes_of(v->input), dst,
                             bytes_of(v->expected));
}

static void test_conv2d_vector(const st_file_t* f, const st_tensor_t* input,
                               const st_tensor_t* expected, const st_tensor_t* magnitude) {
  st_tensor_t w, b;
  st_tensor(f, "weight", &w);
  st_tensor(f, "bias", &b);
  char text[64];
  ic_conv2d_params_t p = {0};
  p.in_channels = input->dims[1];
  p.out_channels = w.dims[0];
  p.groups = st_meta_int(f, "groups", 0, 1);
  p.kernel_h = w.dims[2];
  p.kernel_w = w.dims[3];
  p.stride_h = st_meta_int(f, "stride", 0, 1);
  p.stride_w = st_meta_int(f, "stride", 1, 1);
  p.dilation_h = st_meta_int(f, "dilation", 0, 1);
  p.dilation_w = st_meta_int(f, "dilation", 1, 1);
  st_meta(f, "padding", text, sizeof text, "VALID");
  p.padding = parse_padding(text);
  if (p.padding == IC_PADDING_EXPLICIT) {
    p.pad_top = st_meta_int(f, "pads", 0, 0);
    p.pad_left = st_meta_int(f, "pads", 1, 0);
    p.pad_bottom = st_meta_int(f, "pads", 2, 0);
    p.pad_right = st_meta_int(f, "pads", 3, 0);
  }
  st_meta(f, "activation", text, sizeof text, "NONE");
  p.activation = parse_activation(text);
  ic_conv2d_t* conv = NULL;
  CHECK_OK(ic_conv2d_create(&p, w.f32, bytes_of(&w), b.found ? b.f32 : NULL,
                            b.found ? bytes_of(&b) : 0, &conv));
  if (conv != NULL) {
    int64_t oh = 0, ow = 0;
    CHECK_OK(ic_conv2d_output_size(conv, input->dims[2], input->dims[3], &oh, &ow));
    CHECK(oh == expected->dims[2] && ow == expected->dims[3]);
    vector_op_t v = {conv, input, NULL, expected};
    compare_layouts(&v, run_conv2d, input, expected, magnitude);
  }
  ic_conv2d_destroy(conv);
  st_free(&w), st_free(&b);
}

static void test_separable_vector(const st_file_t* f, const st_tensor_t* input,
                                  const st_tensor_t* expected, const st_tensor_t* magnitude) {
  st_tensor_t dw, dwb, pw, pwb;
  st_tensor(f, "depthwise.weight", &dw);
  st_tensor(f, "depthwise.bias", &dwb);
  st_tensor(f, "pointwise.weight", &pw);
  st_tensor(f, "pointwise.bias", &pwb);
  char text[64];
  ic_separable_conv2d_params_t p = {0};
  st_meta(f, "padding", text, sizeof text, "VALID");
  p.padding = parse_padding(text);
  st_meta(f, "activation", text, sizeof text, "NONE");
  p.activation = parse_activation(text);
  p.in_channels = input->dims[1];
  p.depth_multiplier = st_meta_int(f, "depth_multiplier", 0, 1);
  p.out_channels = pw.dims[0];
  p.kernel_h = dw.dims[2];
  p.kernel_w = dw.dims[3];
  p.stride_h = st_meta_int(f, "stride", 0, 1);
  p.stride_w = st_meta_int(f, "stride", 1, 1);
  p.dilation_h = st_meta_int(f, "dilation", 0, 1);
  p.dilation_w = st_meta_int(f, "dilation", 1, 1);
  if (p.padding == IC_PADDING_EXPLICIT) {
    p.pad_top = st_meta_int(f, "pads", 0, 0);
    p.pad_left = st_meta_int(f, "pads", 1, 0);
    p.pad_bottom = st_meta_int(f, "pads", 2, 0);
    p.pad_right = st_meta_int(f, "pads", 3, 0);
  }
  ic_separable_conv2d_t* conv = NULL;
  CHECK_OK(ic_separable_conv2d_create(&p, dw.f32, bytes_of(&dw), dwb.f32, bytes_of(&dwb),
                                      pw.f32, bytes_of(&pw), pwb.f32, bytes_of(&pwb), &conv));
  if (conv != NULL) {
    vector_op_t v = {conv, input, NULL, expected};
    compare_layouts(&v, run_separable, input, expected, magnitude);
  }
  ic_separable_conv2d_destroy(conv);
  st_free(&dw), st_free(&dwb), st_free(&pw), st_free(&pwb);
}

static void test_aggregate_vector(const st_file_t* f, const st_tensor_t* input,
                                  const st_tensor_t* expected, const st_tensor_t* magnitude) {
  st_tensor_t kernels;
  st_tensor(f, "kernel", &kernels);
  const ic_involution_params_t p = {IC_DATATYPE_F32, 0, input->dims[1],
                                    st_meta_int(f, "kernel_size", 0, 0),
                                    st_meta_int(f, "stride", 0, 1),
                                    st_meta_int(f, "dilation", 0, 1),
                                    st_meta_int(f, "group_channels", 0, 16)};
  ic_involution_aggregate_t* op = NULL;
  CHECK_OK(ic_involution_aggregate_create(&p, &op));
  CHECK(kernels.found);
  if (op != NULL && kernels.found) {
    vector_op_t v = {op, input, &kernels, expected};
    compare_layouts(&v, run_aggregate, input, expected, magnitude);
  }
  ic_involution_aggregate_destroy(op);
  st_free(&kernels);
}

static void test_involution2d_vector(const st_file_t* f, const st_tensor_t* input,
                                     const st_tensor_t* expected) {
  static const char* names[7] = {"conv1.conv.weight",       "conv1.bn.weight",
                                 "conv1.bn.bias",           "conv1.bn.running_mean",
                                 "conv1.bn.running_var",    "conv2.conv.weight",
                                 "conv2.conv.bias"};
  st_tensor_t t[7];
  for (int i = 0; i < 7; i++) {
    st_tensor(f, names[i], &t[i]);
    CHECK_MSG(t[i].found, "tensor %s missing", names[i]);
  }
  const ic_involution2d_params_t p = {IC_DATATYPE_F32,
                                      0,
                                      st_meta_int(f, "channels", 0, 0),
                                      st_meta_int(f, "kernel_size", 0, 0),
                                      st_meta_int(f, "stride", 0, 1),
                                      1,
                                      st_meta_int(f, "group_channels", 0, 16),
                                      st_meta_int(f, "reduction_ratio", 0, 4),
                                      1e-5};
  ic_involution2d_t* op = NULL;
  CHECK_OK(ic_involution2d_create(&p, t[0].f32, bytes_of(&t[0]), t[1].f32, bytes_of(&t[1]),
                                  t[2].f32, bytes_of(&t[2]), t[3].f32, bytes_of(&t[3]), t[4].f32,
                                  bytes_of(&t[4]), t[5].f32, bytes_of(&t[5]), t[6].f32,
                                  bytes_of(&t[6]), NULL, 0, NULL, 0, &op));
  if (op != NULL) {
    vector_op_t v = {op, input, NULL, expected};
    compare_layouts(&v, run_involution2d, input, expected, NULL);
  }
  ic_involution2d_destroy(op);
  for (int i = 0; i < 7; i++) st_free(&t[i]);
}

static int compare_names(const void* a, const void* b) {
  return strcmp(*(const char* const*)a, *(const char* const*)b);
}

/* The vector under test, for test_run's argument-less test functions. */
static struct {
  const st_file_t* file;
  const char* name;
  char op[64];
  st_tensor_t input, expected, magnitude;
} current;

static void test_vector(void) {
  const st_file_t* f = current.file;
  test_set_problem("vector %s (op %s)", current.name, current.op);
  CHECK(current.input.found && current.input.rank == 4);
  CHECK(current.expected.found && current.expected.rank == 4);
  if (!current.input.found || !current.expected.found) return;
  if (strcmp(current.op, "conv2d") == 0) {
    test_conv2d_vector(f, &current.input, &current.expected, &current.magnitude);
  } else if (strcmp(current.op, "separable_conv2d") == 0) {
    test_separable_vector(f, &current.input, &current.expected, &current.magnitude);
  } else if (strcmp(current.op, "involution_aggregate") == 0) {
    test_aggregate_vector(f, &current.input, &current.expected, &current.magnitude);
  } else if (strcmp(current.op, "involution2d") == 0) {
    test_involution2d_vector(f, &current.input, &current.expected);
  }
}

int main(int argc, char** argv) {
  test_init(argc, argv, 1);
  const char* dir = getenv("INVCONV_VECTORS_DIR");
  if (dir == NULL) dir = IC_VECTORS_DIR;
  DIR* listing = opendir(dir);
  if (listing == NULL) {
    printf("no test vectors at %s (SPEC 8: shared/vectors beside the project root; "
           "INVCONV_VECTORS_DIR names another directory)\n", dir);
    return 1;
  }
  char* names[256];
  int count = 0;
  for (struct dirent* e; (e = readdir(listing)) != NULL && count < 256;) {
    const size_t length = strlen(e->d_name);
    if (length > 12 && strcmp(e->d_name + length - 12, ".safetensors") == 0) {
      names[count] = xmalloc(length + 1);
      memcpy(names[count++], e->d_name, length + 1);
    }
  }
  closedir(listing);
  qsort(names, (size_t)count, sizeof names[0], compare_names);

  for (int i = 0; i < count; i++) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    st_file_t f;
    if (!st_open(path, &f)) {
      fprintf(stderr, "cannot read %s\n", path);
      return 1;
    }
    current.file = &f;
    current.name = names[i];
    st_meta(&f, "op", current.op, sizeof current.op, "");
    if (strcmp(current.op, "conv2d") == 0 || strcmp(current.op, "separable_conv2d") == 0 ||
        strcmp(current.op, "involution_aggregate") == 0 ||
        strcmp(current.op, "involution2d") == 0) {
      st_tensor(&f, "input", &current.input);
      st_tensor(&f, "expected", &current.expected);
      st_tensor(&f, "magnitude", &current.magnitude);
      test_run(names[i], test_vector);
      st_free(&current.input), st_free(&current.expected), st_free(&current.magnitude);
    } else {
      /* e.g. rednet_bottleneck: a network piece, tested by the Java API. */
      printf("[SKIP] %s (op %s is not a C operator)\n", names[i], current.op);
    }
    st_close(&f);
    free(names[i]);
  }
  return test_finish();
}
