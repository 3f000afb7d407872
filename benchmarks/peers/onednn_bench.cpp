// onednn_bench: times oneDNN's fp32 convolutions on invconv's benchmark cases, for the
// side-by-side tables of docs/BENCHMARKS.md.
//
//   onednn_bench [--threads N] [--seconds S] [--quick] [--layout any|nchw] (--cases FILE | PROBLEM...)
//
// Cases are problem strings as `invconv bench --list` prints them (mb1ic64ih56oc64kh3sh1ph1,
// g32mb1ic32ih112oc32kh3sh1ph1, sep_..., inv_...). Prints one line per case:
//   name <TAB> median_ms <TAB> p10_ms <TAB> p90_ms <TAB> implementation
// or "name <TAB> n/a <TAB> reason". Involution has no oneDNN primitive: n/a. Whole-network cases
// of the models suite (resnet50_mb1ih224, rednet26_mb1ih224, ...) are not single primitives: n/a.
//
// Layout "any" (default) lets oneDNN choose its blocked activation and weight formats, as
// frameworks using it do; reorders to and from NCHW happen once, outside the timed loop (so
// oneDNN is timed without the edge conversions invconv's figures include). "nchw" pins the
// activations to plain NCHW (weights still "any", packed once). Threads: Debian's libdnnl uses
// OpenMP, so --threads calls omp_set_num_threads (same as OMP_NUM_THREADS).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include <omp.h>

#include "oneapi/dnnl/dnnl.hpp"

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

struct Problem {
  std::string name, op;  // op: conv2d, depthwise_conv2d, pointwise_conv2d, separable_conv2d, involution2d
  long mb = 1, g = 1, ic = 0, ih = 0, iw = 0, oc = 0, kh = 0, kw = 0, sh = 1, sw = 1, ph = 0, pw = 0, dm = 1;
  long oh() const { return (ih + 2 * ph - kh) / sh + 1; }
  long ow() const { return (iw + 2 * pw - kw) / sw + 1; }
};

// The grammar of dev.invconv.cli.bench.Problem: an optional sep_/inv_ prefix, then key+number pairs.
Problem parse(const std::string& text) {
  Problem p;
  p.name = text;
  std::string s = text;
  if (s.rfind("sep_", 0) == 0) { p.op = "separable_conv2d"; s = s.substr(4); }
  else if (s.rfind("inv_", 0) == 0) { p.op = "involution2d"; s = s.substr(4); }
  std::map<std::string, long> f;
  size_t at = 0;
  while (at < s.size()) {
    size_t k = at;
    while (k < s.size() && isalpha((unsigned char)s[k])) k++;
    size_t v = k;
    while (v < s.size() && isdigit((unsigned char)s[v])) v++;
    if (k == at || v == k) throw std::runtime_error("cannot parse problem '" + text + "'");
    f[s.substr(at, k - at)] = std::stol(s.substr(k, v - k));
    at = v;
  }
  auto get = [&](const char* key, long def) { auto it = f.find(key); return it == f.end() ? def : it->second; };
  p.mb = get("mb", 1); p.g = get("g", 1); p.ic = get("ic", 0); p.ih = get("ih", 0); p.iw = get("iw", p.ih);
  p.kh = get("kh", 0); p.kw = get("kw", p.kh); p.sh = get("sh", 1); p.sw = get("sw", p.sh);
  p.ph = get("ph", p.op == "involution2d" ? (p.kh - 1) / 2 : 0); p.pw = get("pw", p.ph);
  p.oc = get("oc", p.ic); p.dm = get("dm", 1);
  if (p.op.empty()) {
    if (p.g > 1 && p.g == p.ic && p.oc == p.ic) p.op = "depthwise_conv2d";
    else if (p.kh == 1 && p.kw == 1 && p.sh == 1 && p.sw == 1 && p.ph == 0 && p.pw == 0 && p.g == 1) p.op = "pointwise_conv2d";
    else p.op = "conv2d";
  }
  if (p.ic <= 0 || p.ih <= 0 || p.kh <= 0 || p.oc <= 0) throw std::runtime_error("incomplete problem '" + text + "'");
  return p;
}

void fill(memory& m, std::mt19937& rng) {
  auto* data = static_cast<float*>(m.get_data_handle());
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  size_t n = m.get_desc().get_size() / sizeof(float);
  for (size_t i = 0; i < n; i++) data[i] = u(rng);
}

// A user-side NCHW/OIHW memory filled with random data, reordered into the primitive's format.
memory prepared(engine& eng, stream& s, const memory::desc& want, const memory::dims& dims, tag plain,
                std::mt19937& rng) {
  memory user(memory::desc(dims, dt::f32, plain), eng);
  fill(user, rng);
  if (want == user.get_desc()) return user;
  memory m(want, eng);
  reorder(user, m).execute(s, user, m);
  s.wait();
  return m;
}

struct Step {
  primitive prim;
  std::unordered_map<int, memory> args;
};

convolution_forward::primitive_desc conv_pd(engine& eng, const memory::desc& src, const memory::desc& wei,
                                            const memory::desc& bia, const memory::desc& dst,
                                            const Problem& p, long pad_r_h, long pad_r_w) {
  memory::dims strides = {p.sh, p.sw}, pad_l = {p.ph, p.pw}, pad_r = {pad_r_h, pad_r_w};
#if DNNL_VERSION_MAJOR >= 3
  return convolution_forward::primitive_desc(eng, prop_kind::forward_inference, algorithm::convolution_direct,
                                             src, wei, bia, dst, strides, pad_l, pad_r);
#else
  convolution_forward::desc d(prop_kind::forward_inference, algorithm::convolution_direct, src, wei, bia, dst,
                              strides, pad_l, pad_r);
  return convolution_forward::primitive_desc(d, eng);
#endif
}

// One convolution as a step: src (given, in `src_md`'s format) -> new dst memory.
Step conv_step(engine& eng, stream& s, const Problem& p, long ic, long oc, long g, long kh, long kw,
               const memory& src, bool plain, std::mt19937& rng, memory& dst_out, std::string& impl) {
  long oh = p.oh(), ow = p.ow();
  long pad_r_h = (oh - 1) * p.sh + kh - p.ih - p.ph, pad_r_w = (ow - 1) * p.sw + kw - p.iw - p.pw;
  memory::dims wdims = g > 1 ? memory::dims{g, oc / g, ic / g, kh, kw} : memory::dims{oc, ic, kh, kw};
  memory::desc src_md = src.get_desc();
  memory::desc wei_md(wdims, dt::f32, tag::any);
  memory::desc bia_md({oc}, dt::f32, tag::x);
  memory::desc dst_md({p.mb, oc, oh, ow}, dt::f32, plain ? tag::nchw : tag::any);
  auto pd = conv_pd(eng, src_md, wei_md, bia_md, dst_md, p, pad_r_h, pad_r_w);
  impl = pd.impl_info_str();
  memory wei = prepared(eng, s, pd.weights_desc(), wdims, g > 1 ? tag::goihw : tag::oihw, rng);
  memory bia = prepared(eng, s, pd.bias_desc(), {oc}, tag::x, rng);
  dst_out = memory(pd.dst_desc(), eng);
  return Step{convolution_forward(pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_BIAS, bia},
                                        {DNNL_ARG_DST, dst_out}}};
}

// Source memory in the format the first primitive prefers: ask with "any", reorder NCHW data into it.
memory source(engine& eng, stream& s, const Problem& p, long oc, long g, bool plain, std::mt19937& rng) {
  memory::dims sdims = {p.mb, p.ic, p.ih, p.iw};
  if (plain) return prepared(eng, s, memory::desc(sdims, dt::f32, tag::nchw), sdims, tag::nchw, rng);
  long oh = p.oh(), ow = p.ow();
  long pad_r_h = (oh - 1) * p.sh + p.kh - p.ih - p.ph, pad_r_w = (ow - 1) * p.sw + p.kw - p.iw - p.pw;
  memory::dims wdims = g > 1 ? memory::dims{g, oc / g, p.ic / g, p.kh, p.kw} : memory::dims{oc, p.ic, p.kh, p.kw};
  auto pd = conv_pd(eng, memory::desc(sdims, dt::f32, tag::any), memory::desc(wdims, dt::f32, tag::any),
                    memory::desc({oc}, dt::f32, tag::x), memory::desc({p.mb, oc, oh, ow}, dt::f32, tag::any),
                    p, pad_r_h, pad_r_w);
  return prepared(eng, s, pd.src_desc(), sdims, tag::nchw, rng);
}

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  double at = q * (double)(v.size() - 1);
  size_t lo = (size_t)at, hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (at - (double)lo) * (v[hi] - v[lo]);
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 0;
  double seconds = 1.0, warmup = 0.3;
  bool plain = false;
  std::vector<std::string> cases;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) { fprintf(stderr, "onednn_bench: %s needs a value\n", a.c_str()); exit(2); }
      return argv[++i];
    };
    if (a == "--threads") threads = std::stoi(next());
    else if (a == "--seconds") seconds = std::stod(next());
    else if (a == "--quick") { seconds = 0.15; warmup = 0.05; }
    else if (a == "--layout") { std::string l = next(); plain = l == "nchw"; }
    else if (a == "--cases") {
      std::ifstream in(next());
      for (std::string line; std::getline(in, line);)
        if (!line.empty() && line[0] != '#') cases.push_back(line);
    } else if (a == "--help" || a == "-h") {
      printf("usage: onednn_bench [--threads N] [--seconds S] [--quick] [--layout any|nchw] (--cases FILE | PROBLEM...)\n");
      return 0;
    } else cases.push_back(a);
  }
  if (threads > 0) omp_set_num_threads(threads);
  const dnnl_version_t* v = dnnl_version();
  printf("# oneDNN %d.%d.%d (%s), cpu runtime %s, %d OpenMP threads, activations %s\n", v->major, v->minor,
         v->patch, v->hash, v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "other", omp_get_max_threads(),
         plain ? "nchw" : "any (oneDNN's blocked formats)");
  printf("# name\tmedian_ms\tp10_ms\tp90_ms\timplementation\n");

  engine eng(engine::kind::cpu, 0);
  stream s(eng);
  std::mt19937 rng(42);
  int failures = 0;
  const std::regex model_case("^(resnet|rednet)[0-9]+_mb[0-9]+ih[0-9]+$");
  for (const std::string& text : cases) {
    if (std::regex_match(text, model_case)) {
      printf("%s\tn/a\twhole-network case: not a single-primitive benchmark\n", text.c_str());
      continue;
    }
    Problem p;
    try {
      p = parse(text);
    } catch (const std::exception&) {
      printf("%s\tn/a\tnot an operator problem string\n", text.c_str());
      continue;
    }
    try {
      if (p.op == "involution2d") {
        printf("%s\tn/a\tno involution primitive in oneDNN\n", text.c_str());
        continue;
      }
      std::vector<Step> steps;
      std::string impl, impl2;
      memory dst;
      if (p.op == "separable_conv2d") {
        long mid = p.ic * p.dm;
        memory src = source(eng, s, p, mid, p.ic, plain, rng);
        memory mid_mem;
        steps.push_back(conv_step(eng, s, p, p.ic, mid, p.ic, p.kh, p.kw, src, plain, rng, mid_mem, impl));
        Problem q = p;  // the pointwise part: 1x1 on the depthwise output
        q.ic = mid; q.ih = p.oh(); q.iw = p.ow(); q.kh = q.kw = 1; q.sh = q.sw = 1; q.ph = q.pw = 0;
        steps.push_back(conv_step(eng, s, q, mid, p.oc, 1, 1, 1, mid_mem, plain, rng, dst, impl2));
        impl += "+" + impl2;
      } else {
        memory src = source(eng, s, p, p.oc, p.g, plain, rng);
        steps.push_back(conv_step(eng, s, p, p.ic, p.oc, p.g, p.kh, p.kw, src, plain, rng, dst, impl));
      }
      auto once = [&]() {
        for (Step& st : steps) st.prim.execute(s, st.args);
        s.wait();
      };
      using clock = std::chrono::steady_clock;
      auto start = clock::now();
      for (int i = 0; i < 3 || std::chrono::duration<double>(clock::now() - start).count() < warmup; i++) once();
      std::vector<double> ms;
      start = clock::now();
      while (ms.size() < 10 || (std::chrono::duration<double>(clock::now() - start).count() < seconds && ms.size() < 5000)) {
        auto t0 = clock::now();
        once();
        ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - t0).count());
      }
      printf("%s\t%.6g\t%.6g\t%.6g\t%s\n", text.c_str(), percentile(ms, 0.5), percentile(ms, 0.1),
             percentile(ms, 0.9), impl.c_str());
      fflush(stdout);
    } catch (const std::exception& e) {
      printf("%s\tn/a\terror: %s\n", text.c_str(), e.what());
      failures++;
    }
  }
  return failures == 0 ? 0 : 1;
}
