#!/usr/bin/env python3
"""torch_bench: times PyTorch on invconv's benchmark cases, for docs/BENCHMARKS.md.

    /usr/bin/python3 torch_bench.py [--threads N] [--seconds S] [--quick]
        [--export-onnx DIR [--export-only] [--onnx-unfold slices|im2col]] (--cases FILE | PROBLEM...)

Cases are problem strings as `invconv bench --list` prints them. Convolutions (plain,
depthwise, pointwise; separable = depthwise then pointwise) run torch.nn.functional.conv2d on
NCHW float32 tensors with bias, under torch.inference_mode(). Involution (inv_...) runs the
official unfold-based module of d-li14/involution (cls/mmcls/models/utils/involution_naive.py),
restated below without mmcv: kernel generation (AvgPool for stride > 1, 1x1 conv + BatchNorm +
ReLU, 1x1 conv with bias), nn.Unfold, multiply, sum. That is the code RedNet's authors ship for
CPU; their CUDA kernel does not run here.

Model cases (suite models: resnet50_mb1ih224, rednet26_mb1ih224, ...: model, batch, input
height = width) time a whole forward pass, NCHW float32, 3 input channels, 1000 classes, eval
mode, under torch.inference_mode(), with the operator cases' warm-up and timing. ResNet-50 is
torchvision.models.resnet50(weights=None); RedNet-26/38/50/101/152 is the official RedNet
(d-li14/involution, cls/mmcls/models/backbones/rednet.py) restated in plain PyTorch with the
involution below, module for module as dev.invconv.model.Models builds it; the parameter counts
are asserted before timing (ResNet-50 25,557,032, RedNet-26 9,233,166, RedNet-50 15,540,806).
Random weights follow the distributions of invconv's ModelWeights.random (init_like_invconv),
which keep activations at their scale through the network as trained weights do.

--export-onnx DIR writes DIR/<case>.onnx for each model case (torch.onnx.export, opset 13,
input "input" of static shape [batch, 3, H, W], output "output") for OrtBench --models-dir,
and <case>.in.f32 / <case>.out.f32 (raw little-endian float32: the input and PyTorch's logits)
for OrtBench to check ONNX Runtime's result; --export-only skips the timing. The involution's
nn.Unfold is exported as the same patches gathered by pad + strided slices + stack (checked
equal to nn.Unfold first); --onnx-unfold im2col keeps torch.onnx's own Gather-based Im2Col
decomposition instead, which ONNX Runtime runs about twice as slowly.

Prints one line per case: name, median, p10, p90 in ms, and what ran, tab-separated
(or "name<TAB>n/a<TAB>reason"). Use Debian's python3-torch: run with /usr/bin/python3.
"""
import argparse
import os
import re
import sys
import time
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

FIELD = re.compile(r"([a-z]+)(\d+)")
MODEL = re.compile(r"^(resnet|rednet)(\d+)_mb(\d+)ih(\d+)$")


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


class SlicedUnfold(nn.Module):
    """nn.Unfold(kernel_size, 1, padding, stride) as pad + strided slices + stack: the same [N, C*K*K, L]
    patches (channel-major, then kernel row, then column), in operators ONNX has (no Im2Col)."""

    def __init__(self, kernel_size, padding, stride):
        super().__init__()
        self.kernel_size, self.padding, self.stride = kernel_size, padding, stride

    def forward(self, x):
        k, p, s = self.kernel_size, self.padding, self.stride
        n, c, h, w = x.shape
        oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        padded = F.pad(x, (p, p, p, p))
        taps = [padded[:, :, i:i + s * (oh - 1) + 1:s, j:j + s * (ow - 1) + 1:s] for i in range(k) for j in range(k)]
        return torch.stack(taps, dim=2).reshape(n, c * k * k, oh * ow)


def conv_bn_relu(cin, cout, kernel, stride, padding):
    """mmcv's ConvModule(cin, cout, kernel, stride, padding, norm_cfg=BN, act_cfg=ReLU): conv without bias."""
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, padding, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class RedNetBottleneck(nn.Module):
    """The official RedNet Bottleneck (mmcls ResNet's, style pytorch) with the 3x3 conv replaced by
    involution(mid, 7, stride): relu(bn3(conv3(relu(bn2(inv(relu(bn1(conv1(x)))))))) + shortcut(x)),
    shortcut = conv 1x1/stride + BN when the stride or the width changes (avg_down is off in RedNet)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        mid = cout // 4
        self.conv1, self.bn1 = nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid)
        self.conv2, self.bn2 = Involution(mid, 7, stride), nn.BatchNorm2d(mid)
        self.conv3, self.bn3 = nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(y + identity)


REDNET_BLOCKS = {26: [1, 2, 4, 1], 38: [2, 3, 5, 2], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3], 152: [3, 8, 36, 3]}


class RedNet(nn.Module):
    """The official RedNet classifier (backbone RedNet, neck GlobalAveragePooling, LinearClsHead):
    stem conv3x3/2 (3->32) + BN + ReLU, involution(32, 3, 1) + BN + ReLU, conv3x3 (32->64) + BN + ReLU;
    maxpool 3x3/2 pad 1; four stages of bottlenecks (widths 64..512, expansion 4, strides 1, 2, 2, 2);
    global average pool; fc 2048 -> classes."""

    def __init__(self, depth, classes=1000):
        super().__init__()
        if depth not in REDNET_BLOCKS:
            raise ValueError(f"RedNet depth {depth} is not one of {sorted(REDNET_BLOCKS)}")
        self.stem = nn.Sequential(conv_bn_relu(3, 32, 3, 2, 1), Involution(32, 3, 1), nn.BatchNorm2d(32),
                                  nn.ReLU(inplace=True), conv_bn_relu(32, 64, 3, 1, 1))
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        stages, cin = [], 64
        for width, stride, blocks in zip((64, 128, 256, 512), (1, 2, 2, 2), REDNET_BLOCKS[depth]):
            cout = width * 4
            stages.append(nn.Sequential(*[RedNetBottleneck(cin if b == 0 else cout, cout, stride if b == 0 else 1)
                                          for b in range(blocks)]))
            cin = cout
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.maxpool(self.stem(x))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def init_like_invconv(model, seed=42):
    """Random weights with the distributions of invconv's ModelWeights.random (not its values), so that
    activations keep their scale through the network (no denormals, no overflow) as with trained weights:
    convolutions U(+-sqrt(6/fan_in)), biases U(+-0.1); BatchNorm weight U(0.8, 1.2) (U(0.1, 0.3) on a
    bottleneck's last BN), bias and mean U(+-0.1), variance U(0.8, 1.25); involution kernel generation
    with a span bias of standard deviation 1/K and a tenth of that from x; fc U(+-1/sqrt(in))."""
    generator = torch.Generator().manual_seed(seed)

    def uniform(t, lo, hi):
        t.copy_(torch.rand(t.shape, generator=generator) * (hi - lo) + lo)

    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                bound = (6.0 / (m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1])) ** 0.5
                uniform(m.weight, -bound, bound)
                if m.bias is not None:
                    uniform(m.bias, -0.1, 0.1)
            elif isinstance(m, nn.BatchNorm2d):
                uniform(m.weight, 0.8, 1.2)
                uniform(m.bias, -0.1, 0.1)
                uniform(m.running_mean, -0.1, 0.1)
                uniform(m.running_var, 0.8, 1.25)
            elif isinstance(m, nn.Linear):
                bound = 1 / m.in_features ** 0.5
                uniform(m.weight, -bound, bound)
                uniform(m.bias, -bound, bound)
        for m in model.modules():
            if isinstance(m, Involution):
                reduced = m.span.in_channels
                bound = 3 ** 0.5 * 0.1 * 2 ** 0.5 / (m.kernel_size * reduced ** 0.5)
                uniform(m.span.weight, -bound, bound)
                uniform(m.span.bias, -(3 ** 0.5) / m.kernel_size, 3 ** 0.5 / m.kernel_size)
            elif hasattr(m, "bn3") and isinstance(m.bn3, nn.BatchNorm2d):  # a bottleneck's last BN: small
                uniform(m.bn3.weight, 0.1, 0.3)


# Trainable parameters (BN running statistics excluded), as dev.invconv.model.Models counts them.
EXPECTED_PARAMETERS = {("resnet", 50): 25_557_032, ("rednet", 26): 9_233_166, ("rednet", 50): 15_540_806}


def build_model(family, depth):
    """The model in eval mode with random weights (init_like_invconv), and a description; fails loudly on a
    parameter-count mismatch."""
    if family == "resnet":
        import torchvision
        if depth not in (50, 101, 152):
            raise ValueError(f"ResNet depth {depth} is not one of 50, 101, 152")
        model = getattr(torchvision.models, f"resnet{depth}")(weights=None)
        what = f"torchvision {torchvision.__version__} resnet{depth}"
    else:
        model = RedNet(depth)
        what = f"official RedNet-{depth} (plain PyTorch, unfold involution)"
    init_like_invconv(model)
    model.eval()
    count = sum(t.numel() for t in model.parameters())
    expected = EXPECTED_PARAMETERS.get((family, depth))
    if expected is not None and count != expected:
        raise AssertionError(f"{family}{depth} has {count:,} parameters, expected {expected:,} (dev.invconv.model.Models)")
    return model, count, f"{what}, eval, {count:,} params"


def model_case(text):
    """(family, depth, batch, size) for a model case name such as rednet50_mb1ih224, else None."""
    m = MODEL.match(text.strip())
    return None if m is None else (m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4)))


def model_input(batch, size, seed=7):
    """Random NCHW input in [-2, 2), about the range of ImageNet-normalised pixels (as invconv's ModelCase)."""
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 3, size, size, generator=generator) * 4 - 2


def export_onnx(model, text, x, directory, unfold="slices"):
    """Writes directory/<case>.onnx and a check pair <case>.in.f32 / <case>.out.f32 (input, PyTorch's logits).
    unfold "slices": the involutions' nn.Unfold is exported as SlicedUnfold (checked equal first);
    "im2col": as torch.onnx's own Im2Col decomposition (Gather-based; ONNX Runtime runs it about 2x slower)."""
    os.makedirs(directory, exist_ok=True)
    involutions = [m for m in model.modules() if isinstance(m, Involution)]
    with torch.no_grad():
        expected = model(x)
        originals = [m.unfold for m in involutions]
        try:
            if unfold == "slices" and involutions:
                for m in involutions:
                    m.unfold = SlicedUnfold(m.kernel_size, (m.kernel_size - 1) // 2, m.stride)
                sliced = model(x)
                error = (sliced - expected).abs().max().item()
                scale = max(expected.abs().max().item(), 1e-30)
                if not error <= 1e-5 * scale:
                    raise AssertionError(f"{text}: sliced unfold differs from nn.Unfold by {error:g} (max |y| {scale:g})")
            path = os.path.join(directory, text + ".onnx")
            with warnings.catch_warnings():  # torch.onnx's shape-inference chatter
                warnings.simplefilter("ignore")
                torch.onnx.export(model, (x,), path, input_names=["input"], output_names=["output"],
                                  opset_version=13, do_constant_folding=True)
        finally:
            for m, unfold in zip(involutions, originals):
                m.unfold = unfold
    x.numpy().astype("<f4").tofile(os.path.join(directory, text + ".in.f32"))
    expected.numpy().astype("<f4").tofile(os.path.join(directory, text + ".out.f32"))
    return path


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
    ap.add_argument("--export-onnx", metavar="DIR",
                    help="also write DIR/<case>.onnx (+ .in.f32/.out.f32 check data) for each model case")
    ap.add_argument("--export-only", action="store_true", help="with --export-onnx: export, do not time")
    ap.add_argument("--onnx-unfold", choices=("slices", "im2col"), default="slices",
                    help="how the involution's unfold is exported (default: pad + strided slices + stack)")
    ap.add_argument("problems", nargs="*")
    args = ap.parse_args()
    if args.export_only and not args.export_onnx:
        ap.error("--export-only needs --export-onnx DIR")
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
    if not args.export_only:
        print("# name\tmedian_ms\tp10_ms\tp90_ms\twhat")
    failures = 0
    for text in cases:
        model = model_case(text)
        if model is None and args.export_only:
            continue
        try:
            if model is not None:
                family, depth, batch, size = model
                net, _, what = build_model(family, depth)
                x = model_input(batch, size)
                if args.export_onnx:
                    path = export_onnx(net, text, x, args.export_onnx, args.onnx_unfold)
                    print(f"torch_bench: exported {path}", file=sys.stderr, flush=True)
                    if args.export_only:
                        continue
                fn = lambda: net(x)  # noqa: E731
            else:
                try:
                    problem = parse(text)
                except (ValueError, KeyError):
                    print(f"{text}\tn/a\tnot an operator problem string", flush=True)
                    continue
                fn, what = runner(problem)
            with torch.inference_mode():
                median, p10, p90 = time_case(fn, warmup, seconds)
                if model is not None and not bool(torch.isfinite(fn()).all()):
                    raise ArithmeticError("non-finite logits")
            print(f"{text}\t{median:.6g}\t{p10:.6g}\t{p90:.6g}\t{what}", flush=True)
        except Exception as e:  # one bad case does not stop the others
            print(f"{text}\tn/a\terror: {e}", flush=True)
            print(f"torch_bench: {text}: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
            failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
