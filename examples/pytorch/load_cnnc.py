#!/usr/bin/python3
"""Loads a cnnc checkpoint of the seed model (models/mnist_cnn.cnn) into the equivalent
torch.nn model, and classifies images with it.

cnnc stores tensors as Keras does, which is not PyTorch's layout. Four things change:
  - optimizer.* tensors (Adam's moments) are dropped; `PROGRAM train --save-weights-only`
    writes a checkpoint without them;
  - a conv2d kernel [KH, KW, CIN, COUT] becomes PyTorch's [COUT, CIN, KH, KW];
  - a dense kernel [IN, OUT] becomes nn.Linear's weight [OUT, IN];
  - the first dense layer after flatten reads its input in H, W, C order in cnnc and in
    C, H, W order after nn.Flatten of an NCHW tensor: its rows are reordered.
Without these the model loads without an error and classifies about 6% of MNIST right.

usage: load_cnnc.py CKPT [--data DIR] [--count N]
  prints, for each of the first N test images, its predicted class and the ten
  probabilities, in the form `PROGRAM predict` prints them.

Debian's python3-torch is for Debian's python (/usr/bin/python3), hence the first line.
"""
import argparse
import gzip
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn


def read_safetensors(path):
    """The F32 tensors of a safetensors file, by name, as numpy arrays."""
    with open(path, "rb") as f:
        data = f.read()
    header_len, = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_len])
    base = 8 + header_len
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"{path}: tensor {name} is {info['dtype']}, not F32")
        begin, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[base + begin:base + end], dtype="<f4").reshape(info["shape"])
    return tensors


def seed_model():
    """models/mnist_cnn.cnn as torch.nn layers, NCHW."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),       # conv2d_1, maxpool2d_1
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),      # conv2d_2, maxpool2d_2
        nn.Flatten(),                                          # flatten_1: C, H, W order
        nn.Linear(5 * 5 * 64, 64), nn.ReLU(),                  # dense_1
        nn.Linear(64, 10), nn.Softmax(dim=1))                  # dense_2


def torch_state(ck, flatten_hwc=(5, 5, 64)):
    """cnnc's tensors to the state dict of seed_model(); flatten_hwc is the shape that
    flatten_1 flattens (what `cnnc summary` prints for maxpool2d_2)."""
    h, w, c = flatten_hwc
    dense_1 = ck["dense_1.kernel"]                             # [H*W*C, 64], rows in H, W, C order
    dense_1 = dense_1.reshape(h, w, c, -1).transpose(2, 0, 1, 3).reshape(h * w * c, -1)
    layout = {
        "0.weight": ck["conv2d_1.kernel"].transpose(3, 2, 0, 1),  # [KH,KW,CIN,COUT] -> [COUT,CIN,KH,KW]
        "0.bias": ck["conv2d_1.bias"],
        "3.weight": ck["conv2d_2.kernel"].transpose(3, 2, 0, 1),
        "3.bias": ck["conv2d_2.bias"],
        "7.weight": dense_1.T,                                     # [IN, OUT] -> [OUT, IN]
        "7.bias": ck["dense_1.bias"],
        "9.weight": ck["dense_2.kernel"].T,
        "9.bias": ck["dense_2.bias"],
    }
    return {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in layout.items()}  # writable copies


def read_test_images(data_dir, count):
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte"):
        path = os.path.join(data_dir, name)
        if os.path.exists(path):
            opener = gzip.open if name.endswith(".gz") else open
            with opener(path, "rb") as f:
                data = f.read()
            n, rows, cols = struct.unpack(">III", data[4:16])
            pixels = np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, rows, cols)
            return pixels[:count]
    raise SystemExit(f"{data_dir}: no t10k-images-idx3-ubyte[.gz]")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--data", default="build/data/mnist")
    ap.add_argument("--count", type=int, default=100)
    args = ap.parse_args()

    model = seed_model()
    model.load_state_dict(torch_state(read_safetensors(args.checkpoint)))
    model.eval()
    pixels = read_test_images(args.data, args.count)
    x = torch.from_numpy(pixels.astype(np.float32) / 255.0).unsqueeze(1)  # as cnnc scales them
    with torch.no_grad():
        probs = model(x).numpy()
    for i, p in enumerate(probs):
        print(f"{i}: {int(p.argmax())} (p={p.max():.4f})")
        print(" ".join(f"{v:.4f}" for v in p))


if __name__ == "__main__":
    sys.exit(main())
