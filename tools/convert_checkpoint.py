#!/usr/bin/env python3
"""Convert a PyTorch checkpoint of RedNet (official d-li14/involution, mmcls) or torchvision
ResNet to a safetensors file that `invconv run --weights` and `ModelWeights.open` load.

    python3 tools/convert_checkpoint.py rednet50.pth rednet50.safetensors
    python3 tools/convert_checkpoint.py resnet50-0676ba61.pth resnet50.safetensors

What it does:
  * reads the .pth with torch.load (CPU); accepts a bare state_dict or a dict holding one under
    'state_dict' (mmcls) or 'model';
  * strips the 'backbone.' prefix of mmcls backbone tensors (the Java loader accepts it too) and
    a 'module.' prefix left by DataParallel; keeps 'head.fc.*' (the classifier) as it is;
  * drops the BatchNorm 'num_batches_tracked' counters, which inference does not use;
  * writes every tensor as contiguous little-endian F32 (F16/BF16/F64 are converted), in the
    order of the state_dict, with the safetensors layout written here in plain Python (header
    length, JSON header padded to 8 bytes, data), so the `safetensors` package is not needed.

Needs PyTorch to read the pickle-based .pth format (`pip install torch`, or Debian's
python3-torch). `--list` prints the converted names and shapes without writing anything.
"""

import argparse
import json
import struct
import sys


def load_state_dict(path):
    try:
        import torch
    except ImportError:
        sys.exit("convert_checkpoint: reading a .pth needs PyTorch (pip install torch, "
                 "or apt-get install python3-torch)")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    except TypeError:  # PyTorch < 1.13 has no weights_only
        checkpoint = torch.load(path, map_location="cpu")
    if isinstance(checkpoint, dict):
        for key in ("state_dict", "model"):
            if key in checkpoint and isinstance(checkpoint[key], dict):
                checkpoint = checkpoint[key]
                break
    if not isinstance(checkpoint, dict):
        sys.exit("convert_checkpoint: %s does not hold a state_dict (found %s)" % (path, type(checkpoint).__name__))
    return checkpoint


def convert(state_dict):
    """(name, shape, little-endian float32 bytes) for each tensor to keep, in order."""
    import torch
    out = []
    seen = set()
    for name, value in state_dict.items():
        if not torch.is_tensor(value):
            continue
        if name.endswith("num_batches_tracked"):
            continue
        for prefix in ("module.", "backbone."):
            if name.startswith(prefix):
                name = name[len(prefix):]
        if name in seen:
            sys.exit("convert_checkpoint: tensor '%s' appears twice after removing prefixes" % name)
        seen.add(name)
        tensor = value.detach().to(torch.float32).contiguous().cpu()
        data = tensor.numpy().astype("<f4", copy=False).tobytes()
        out.append((name, list(tensor.shape), data))
    return out


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata} if metadata else {}
    offset = 0
    for name, shape, data in tensors:
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, _, data in tensors:
            f.write(data)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", help="the .pth file (official RedNet or torchvision ResNet)")
    parser.add_argument("output", nargs="?", help="the .safetensors file to write")
    parser.add_argument("--list", action="store_true", help="print names and shapes, write nothing")
    args = parser.parse_args(argv)
    tensors = convert(load_state_dict(args.checkpoint))
    if args.list or not args.output:
        for name, shape, _ in tensors:
            print("%-60s %s" % (name, shape))
        if not args.output:
            return 0
    write_safetensors(args.output, tensors, {"format": "pt", "source": args.checkpoint.split("/")[-1]})
    count = sum(len(data) // 4 for _, _, data in tensors)
    print("wrote %s: %d tensors, %d values" % (args.output, len(tensors), count))
    return 0


if __name__ == "__main__":
    sys.exit(main())
