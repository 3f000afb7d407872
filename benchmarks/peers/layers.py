#!/usr/bin/env python3
"""ResNet-50 layer by layer, invconv against ONNX Runtime (benchmarks/layers.sh).

    layers.py OUT ROUNDS CASE

reads OUT/invconv-<r>.txt (ic-bench-resnet50 --per-layer) and OUT/ort-<r>/CASE.ort-profile.json
(ORT's node profile) for every round and prints a markdown table: per layer the median of the
rounds' means on each side and their difference, then sums by kind of layer.

ORT's nodes are named after the torchvision graph the export wrote, e.g.
/layer3/layer3.1/relu_1/Relu_output_0_nchwc (the second conv of block 3.1 with its ReLU fused);
they are mapped onto invconv's names (l3.1.conv2). Nodes that map onto no layer (ORT's layout
reorders, Flatten) are summed as "other".
"""
import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from collect import read_round_trip  # noqa: E402  (run-all.sh's readers)

BLOCK_NODE = re.compile(r"/layer(\d)/layer\d\.(\d+)/(relu_1|relu|downsample|conv3)")
BLOCK_CONV = {"relu": "conv1", "relu_1": "conv2", "conv3": "conv3", "downsample": "down"}


def invconv_layers(path):
    """{layer: mean ms} and the pass mean from ic-bench-resnet50 --per-layer."""
    layers, total = {}, None
    with open(path) as f:
        for line in f:
            m = re.match(r"^(\S+)\s+([\d.]+) ms$", line.strip())
            if m:
                layers[m.group(1)] = float(m.group(2))
            elif line.startswith("pass"):
                total = float(line.split()[2])
    return layers, total


def ort_layer(node):
    """invconv's name for an ORT node name, or None."""
    if node.startswith("/relu/"):
        return "conv1"
    if "/maxpool/" in node:
        return "maxpool"
    if "/avgpool/" in node:
        return "avgpool"
    if node.startswith("/fc/"):
        return "fc"
    m = BLOCK_NODE.search(node)
    if m:
        return f"l{m.group(1)}.{m.group(2)}.{BLOCK_CONV[m.group(3)]}"
    return None


def ort_layers(path):
    """{layer: mean ms per run} over the runs in ORT's profile (the first tenth left out as
    warm-up), and the mean of its model_run events."""
    with open(path) as f:
        events = json.load(f)
    runs = [e["dur"] for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"]
    skip = len(runs) // 10
    per_node = {}
    for e in events:
        if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time"):
            per_node.setdefault(e["name"][: -len("_kernel_time")], []).append(e["dur"])
    layers = {}
    for node, durations in per_node.items():
        kept = durations[skip:] or durations
        key = ort_layer(node) or "other"
        layers[key] = layers.get(key, 0.0) + statistics.mean(kept) / 1000.0
    total = statistics.mean(runs[skip:] or runs) / 1000.0 if runs else None
    return layers, total


STEM = "conv1+maxpool"  # invconv's fused stem (ic_conv2d_pool2d_run); ORT runs two nodes


def fuse_stem(layers):
    """ORT's layers with conv1 and maxpool summed as invconv's fused stem."""
    fused = {k: v for k, v in layers.items() if k not in ("conv1", "maxpool")}
    if "conv1" in layers or "maxpool" in layers:
        fused[STEM] = layers.get("conv1", 0.0) + layers.get("maxpool", 0.0)
    return fused


def kind(layer):
    """The row of the sums a layer adds to."""
    if layer in ("conv1", "maxpool", STEM, "avgpool", "fc", "other"):
        return {"conv1": "stem 7x7", STEM: "stem 7x7 + max pool"}.get(layer, layer)
    stage, _, conv = layer.split(".")
    name = {"conv1": "1x1 reduce", "conv2": "3x3", "conv3": "1x1 expand + residual",
            "down": "1x1 projection"}[conv]
    return f"{stage} {name}"


def main():
    out, rounds, case = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    ours, theirs, totals = [], [], []
    for r in range(1, rounds + 1):
        a, ta = invconv_layers(f"{out}/invconv-{r}.txt")
        b, tb = ort_layers(f"{out}/ort-{r}/{case}.ort-profile.json")
        if STEM in a:
            b = fuse_stem(b)
        ours.append(a)
        theirs.append(b)
        totals.append((ta, tb))
    names = list(ours[0]) + sorted(k for k in theirs[0] if k not in ours[0])

    def median(side, name):
        values = [layers[name] for layers in side if name in layers]
        return statistics.median(values) if values else None

    with open(f"{out}/machine.txt") as f:
        print(f.read().strip(), "\n")
    print("| round | core round trip ns | invconv pass (mean ms) | ORT run (mean ms) |")
    print("|---:|---:|---:|---:|")
    for r, (ta, tb) in enumerate(totals, 1):
        print(f"| {r} | {read_round_trip(out, r)} | {ta:.2f} | {tb:.2f} |")
    print("\n| layer | invconv ms | ORT ms | invconv - ORT |")
    print("|---|---:|---:|---:|")
    sums = {}
    for name in names:
        x, y = median(ours, name), median(theirs, name)
        cell = lambda v: f"{v:.3f}" if v is not None else "-"
        diff = f"{x - y:+.3f}" if x is not None and y is not None else "-"
        print(f"| {name} | {cell(x)} | {cell(y)} | {diff} |")
        s = sums.setdefault(kind(name), [0.0, 0.0])
        s[0] += x or 0.0
        s[1] += y or 0.0
    print("\n| kind | invconv ms | ORT ms | invconv - ORT |")
    print("|---|---:|---:|---:|")
    for k, (x, y) in sums.items():
        print(f"| {k} | {x:.2f} | {y:.2f} | {x - y:+.2f} |")
    x, y = sum(s[0] for s in sums.values()), sum(s[1] for s in sums.values())
    print(f"| all layers | {x:.2f} | {y:.2f} | {x - y:+.2f} |")


if __name__ == "__main__":
    main()
