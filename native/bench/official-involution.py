#!/usr/bin/env python3
"""Times the official involution (d-li14/involution, cls/mmcls/models/utils/involution_naive.py:
unfold, multiply, sum) in PyTorch on the same cases as ic-bench-involution, for the issue-4
ratio. ConvModule is spelled out as Conv2d + BatchNorm2d + ReLU (what it builds with those
configs). Batch 1, fp32, NCHW, eval mode, no autograd.

    /usr/bin/python3 native/bench/official-involution.py [--threads 2] [--runs 50]

Needs PyTorch (Debian: python3-torch). Prints the median and the fastest run in ms.
"""
import argparse
import statistics
import time

import torch
from torch import nn


class Involution(nn.Module):
    def __init__(self, channels, kernel_size, stride, group_channels=16, reduction_ratio=4):
        super().__init__()
        self.kernel_size, self.stride, self.channels = kernel_size, stride, channels
        self.group_channels = group_channels
        self.groups = channels // group_channels
        self.conv1 = nn.Sequential(
            nn.Conv2d(channels, channels // reduction_ratio, 1, bias=False),
            nn.BatchNorm2d(channels // reduction_ratio), nn.ReLU(inplace=True))
        self.conv2 = nn.Conv2d(channels // reduction_ratio, kernel_size ** 2 * self.groups, 1)
        if stride > 1:
            self.avgpool = nn.AvgPool2d(stride, stride)
        self.unfold = nn.Unfold(kernel_size, 1, (kernel_size - 1) // 2, stride)

    def forward(self, x):
        weight = self.conv2(self.conv1(x if self.stride == 1 else self.avgpool(x)))
        b, c, h, w = weight.shape
        weight = weight.view(b, self.groups, self.kernel_size ** 2, h, w).unsqueeze(2)
        out = self.unfold(x).view(b, self.groups, self.group_channels, self.kernel_size ** 2, h, w)
        out = (weight * out).sum(dim=3).view(b, self.channels, h, w)
        return out


CASES = [  # name, channels, size, kernel, stride (as in bench-involution.c)
    ("invol_k7_56_c64_s1", 64, 56, 7, 1),
    ("l1_invol_56_c64_s1", 64, 56, 7, 1),
    ("l2_invol_56_c128_s2", 128, 56, 7, 2),
    ("l2_invol_28_c128_s1", 128, 28, 7, 1),
    ("l3_invol_28_c256_s2", 256, 28, 7, 2),
    ("l3_invol_14_c256_s1", 256, 14, 7, 1),
    ("l4_invol_14_c512_s2", 512, 14, 7, 2),
    ("l4_invol_7_c512_s1", 512, 7, 7, 1),
    ("stem_invol_k3_112_c32_s1", 32, 112, 3, 1),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch 1, official unfold code")
    print(f"{'case':26s} {'median ms':>10s} {'min ms':>10s}")
    with torch.no_grad():
        for name, c, hw, k, s in CASES:
            module = Involution(c, k, s).eval()
            x = torch.randn(1, c, hw, hw)
            for _ in range(3):
                module(x)
            times = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                module(x)
                times.append(time.perf_counter() - t0)
            print(f"{name:26s} {statistics.median(times) * 1e3:10.3f} {min(times) * 1e3:10.3f}")


if __name__ == "__main__":
    main()
