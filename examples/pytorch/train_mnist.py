#!/usr/bin/env python3
"""The seed model (models/mnist_cnn.cnn) trained with PyTorch, op for op as cnnc trains it.

Same network, same initialisation (Glorot-uniform kernels, zero biases), the dense layer
reading its input in H, W, C order, Adam with Keras' epsilon (1e-7), batch 32, pixels scaled
by 1/255, cross-entropy on the softmax. Prints seconds per epoch and test accuracy so that the
figures can stand next to cnnc's (make bench-peers).

usage: train_mnist.py [--data DIR] [--epochs N] [--threads N] [--limit N] [--json FILE]
"""
import argparse
import gzip
import json
import os
import struct
import sys
import time

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # the comparison is optional: say so plainly and step aside
    print(f"pytorch comparison skipped: {e.name} is not installed "
          "(Debian: apt-get install python3-torch)", file=sys.stderr)
    sys.exit(77)


def read_idx(path):
    opener = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise SystemExit(f"{path}: holds {arr.size} bytes, header says {int(np.prod(dims))}")
    return arr.reshape(dims)


def find(data_dir, stem):
    for name in (stem + ".gz", stem):
        p = os.path.join(data_dir, name)
        if os.path.exists(p):
            return p
    raise SystemExit(f"{data_dir}: no {stem}[.gz]; run: make data")


class SeedModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.dense1 = nn.Linear(5 * 5 * 64, 64)
        self.dense2 = nn.Linear(64, 10)
        for m in (self.conv1, self.conv2, self.dense1, self.dense2):
            nn.init.xavier_uniform_(m.weight)   # Keras' glorot_uniform
            nn.init.zeros_(m.bias)

    def forward(self, x):                       # x: [B, 1, 28, 28]
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)  # flatten in H, W, C order, as Keras
        x = F.relu(self.dense1(x))
        return self.dense2(x)                   # logits; the softmax is fused into the loss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="build/data/mnist")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--json")
    args = ap.parse_args()

    torch.manual_seed(42)
    torch.set_num_threads(args.threads)
    xtr = read_idx(find(args.data, "train-images-idx3-ubyte"))
    ytr = read_idx(find(args.data, "train-labels-idx1-ubyte"))
    xte = read_idx(find(args.data, "t10k-images-idx3-ubyte"))
    yte = read_idx(find(args.data, "t10k-labels-idx1-ubyte"))
    if args.limit:
        xtr, ytr = xtr[:args.limit], ytr[:args.limit]
    xtr = torch.from_numpy(xtr.astype(np.float32) / 255.0).unsqueeze(1)
    ytr = torch.from_numpy(ytr.astype(np.int64))
    xte = torch.from_numpy(xte.astype(np.float32) / 255.0).unsqueeze(1)
    yte = torch.from_numpy(yte.astype(np.int64))

    model = SeedModel()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    epoch_seconds = []
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xtr))
        t0 = time.perf_counter()
        for i in range(0, len(xtr), 32):
            idx = perm[i:i + 32]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
        epoch_seconds.append(time.perf_counter() - t0)
        model.eval()
        with torch.no_grad():
            acc = sum((model(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item()
                      for i in range(0, len(xte), 1000)) / len(xte)
        print(f"pytorch {torch.__version__}: epoch {epoch + 1}/{args.epochs}: "
              f"{epoch_seconds[-1]:.2f} s, test accuracy {acc:.4f}", flush=True)
    result = {"framework": "pytorch", "version": torch.__version__, "threads": args.threads,
              "batch": 32, "images": len(xtr), "epoch_seconds": epoch_seconds,
              "test_accuracy": acc}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
