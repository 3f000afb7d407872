#!/usr/bin/env python3
"""torch_bench: times PyTorch on invconv's benchmark cases, for docs/BENCHMARKS.md.

    /usr/bin/python3 torch_bench.py [--threads N] [--seconds S] [--quick] (--cases FILE | PROBLEM...)

Cases are problem strings as `invconv bench --list` prints them. Convolutions (plain,
depthwise, pointwise; separable = depthwise then pointwise) run torch.nn.functional.conv2d on
NCHW float32 tensors with bias, under torch.inference_mode(). Involution (inv_...) runs the
official unfold-based module of d-li14/involution (cls/mmcls/models/utils/involution_naive.py),
restated below without mmcv: kernel generation (AvgPool for stride > 1, 1x1 conv + BatchNorm +
ReLU, 1x1 conv with bias), nn.Unfold, multiply, sum. That is the code RedNet's authors ship for
CPU; their CUDA kernel does not run here.

Prints one line per case: name, median, p10, p90 in ms, and what ran, tab-separated
(or "name<TAB>n/a<TAB>reason"). Use Debian's python3-torch: run with /usr/bin/python3.
"""
import argparse
import re
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

FIELD = re.compile(r"([a-z]+)(\d+)")


def parse(text):
    """The grammar of dev.invconv.cli.bench.Problem: optional sep_/inv_ prefix, key+number pairs."""
    s, op = text.strip(), None
    if s.startswith("sep_"):
        op, s = "separable_conv2d", s[4:]
    elif s.startswith("inv_"):
        op, s = "involution2d", s[4:]
    f, at = {}, 0
    while at < len(s):
        m = FIELD.match(s, at)
        if not m:
            raise ValueError(f"cannot parse problem '{text}' at '{s[at:]}'")
        f[m.group(1)] = int(m.group(2))
        at = m.end()
    p = dict(mb=f.get("mb", 1), g=f.get("g", 1), ic=f["ic"], ih=f["ih"], kh=f["kh"], sh=f.get("sh", 1),
             dm=f.get("dm", 1), gc=f.get("gc", 16), r=f.get("r", 4))
    p["iw"] = f.get("iw", p["ih"])
    p["kw"] = f.get("kw", p["kh"])
    p["sw"] = f.get("sw", p["sh"])
    p["ph"] = f.get("ph", (p["kh"] - 1) // 2 if op == "involution2d" else 0)
    p["pw"] = f.get("pw", p["ph"])
    p["oc"] = f.get("oc", p["ic"])
    if op is None:
        if p["g"] > 1 and p["g"] == p["ic"] == p["oc"]:
            op = "depthwise_conv2d"
        elif (p["kh"], p["kw"], p["sh"], p["sw"], p["ph"], p["pw"], p["g"]) == (1, 1, 1, 1, 0, 0, 1):
            op = "pointwise_conv2d"
        else:
            op = "conv2d"
    p["op"] = op
    return p


class Involution(nn.Module):
    """The official CPU involution (involution_naive.py), with nn layers in place of mmcv's ConvModule."""

    def __init__(self, channels, kernel_size, stride, group_channels=16, reduction_ratio=4):
        super().__init__()
        self.kernel_size, self.stride, self.channels = kernel_size, stride, channels
        self.group_channels = group_channels
        self.groups = channels // group_channels
        reduced = channels // reduction_ratio
        # ConvModule(channels, channels // r, 1, norm=BN, act=ReLU): conv without bias, BN, ReLU.
        self.reduce = nn.Sequential(nn.Conv2d(channels, reduced, 1, bias=False), nn.BatchNorm2d(reduced),
                                    nn.ReLU(inplace=True))
        # ConvModule(channels // r, K*K*groups, 1, no norm, no act): conv with bias.
        self.span = nn.Conv2d(reduced, kernel_size * kernel_size * self.groups, 1)
        self.pool = nn.AvgPool2d(stride, stride) if stride > 1 else nn.Identity()
        self.unfold = nn.Unfold(kernel_size, 1, (kernel_size - 1) // 2, stride)

    def forward(self, x):
        kernels = self.span(self.reduce(self.pool(x)))
        n, _, h, w = kernels.shape
        k2 = self.kernel_size * self.kernel_size
        kernels = kernels.view(n, self.groups, k2, h, w).unsqueeze(2)        # [N, G, 1, K*K, H, W]
        patches = self.unfold(x).view(n, self.groups, self.group_channels, k2, h, w)
        return (kernels * patches).sum(dim=3).view(n, self.channels, h, w)


def runner(p):
    """A zero-argument callable running the case, and a description of what it runs."""
    x = torch.randn(p["mb"], p["ic"], p["ih"], p["iw"])
    if p["op"] == "involution2d":
        if p["kh"] != p["kw"] or p["sh"] != p["sw"]:
            raise ValueError("involution needs a square kernel and one stride")
        module = Involution(p["ic"], p["kh"], p["sh"], p["gc"], p["r"]).eval()
        with torch.no_grad():  # non-trivial BatchNorm statistics, as a trained model has
            bn = module.reduce[1]
            bn.running_mean.uniform_(-0.1, 0.1)
            bn.running_var.uniform_(0.5, 1.5)
        return (lambda: module(x)), "official unfold involution (eval)"
    if p["op"] == "separable_conv2d":
        mid = p["ic"] * p["dm"]
        wd, bd = torch.randn(mid, 1, p["kh"], p["kw"]), torch.randn(mid)
        wp, bp = torch.randn(p["oc"], mid, 1, 1), torch.randn(p["oc"])
        stride, pad = (p["sh"], p["sw"]), (p["ph"], p["pw"])
        return (lambda: F.conv2d(F.conv2d(x, wd, bd, stride, pad, 1, p["ic"]), wp, bp)), "F.conv2d dw + F.conv2d 1x1"
    w = torch.randn(p["oc"], p["ic"] // p["g"], p["kh"], p["kw"])
    b = torch.randn(p["oc"])
    return (lambda: F.conv2d(x, w, b, (p["sh"], p["sw"]), (p["ph"], p["pw"]), 1, p["g"])), "F.conv2d"


def percentile(sorted_ms, q):
    at = q * (len(sorted_ms) - 1)
    lo = int(at)
    hi = min(lo + 1, len(sorted_ms) - 1)
    return sorted_ms[lo] + (at - lo) * (sorted_ms[hi] - sorted_ms[lo])


def time_case(fn, warmup, seconds, min_runs=10, max_runs=5000):
    start = time.perf_counter()
    runs = 0
    while runs < 3 or time.perf_counter() - start < warmup:
        fn()
        runs += 1
    ms = []
    start = time.perf_counter()
    while len(ms) < min_runs or (time.perf_counter() - start < seconds and len(ms) < max_runs):
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1e3)
    ms.sort()
    return percentile(ms, 0.5), percentile(ms, 0.1), percentile(ms, 0.9)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (default: torch's choice)")
    ap.add_argument("--seconds", type=float, default=1.0, help="timed seconds per case")
    ap.add_argument("--quick", action="store_true", help="short warm-up and timing")
    ap.add_argument("--cases", help="a file of problem strings, one a line ('#' lines ignored)")
    ap.add_argument("problems", nargs="*")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    seconds, warmup = (0.15, 0.05) if args.quick else (args.seconds, 0.3)
    cases = list(args.problems)
    if args.cases:
        with open(args.cases) as f:
            cases += [line.strip() for line in f if line.strip() and not line.startswith("#")]
    torch.manual_seed(42)
    capability = re.search(r"CPU capability usage: (\S+)", torch.__config__.show())
    print(f"# PyTorch {torch.__version__}, {torch.get_num_threads()} threads, mkldnn "
          f"{torch.backends.mkldnn.is_available()}, ATen CPU capability {capability.group(1) if capability else '?'}")
    print("# name\tmedian_ms\tp10_ms\tp90_ms\twhat")
    failures = 0
    with torch.inference_mode():
        for text in cases:
            try:
                problem = parse(text)
            except (ValueError, KeyError):
                print(f"{text}\tn/a\tnot an operator problem string", flush=True)
                continue
            try:
                fn, what = runner(problem)
                median, p10, p90 = time_case(fn, warmup, seconds)
                print(f"{text}\t{median:.6g}\t{p10:.6g}\t{p90:.6g}\t{what}", flush=True)
            except Exception as e:  # one bad case does not stop the others
                print(f"{text}\tn/a\terror: {e}", flush=True)
                failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
