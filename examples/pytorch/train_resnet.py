#!/usr/bin/python3
"""The residual networks models/resnet_mnist.cnn and models/resnet_fashion.cnn trained with
PyTorch, layer for layer as cnnc trains them, so that accuracy and epoch time can stand next to
cnnc's (mk/bench_peers.py --model models/resnet_*.cnn runs both).

As cnnc and Keras do: Glorot-uniform kernels, convolutions without bias before each batchnorm,
BatchNorm2d with Keras' epsilon (1e-3) and momentum 0.99 (PyTorch's momentum=0.01; PyTorch
keeps an unbiased running variance where Keras keeps the biased one, a difference of a factor
N/(N-1) with N = 32 x H x W values per channel, under 0.01% here), global average pooling,
Adam with Keras' epsilon (1e-7), batch 32, pixels scaled by 1/255, cross-entropy on the softmax.

usage: train_resnet.py --model resnet_mnist|resnet_fashion [--data DIR] [--epochs N]
                       [--threads N] [--limit N] [--json FILE]
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_mnist import find, read_idx  # noqa: E402  (the same IDX reader)


def conv_bn(cin, cout):
    conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
    nn.init.xavier_uniform_(conv.weight)        # Keras' glorot_uniform
    return nn.Sequential(conv, nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01))


class Stage(nn.Module):
    """conv-bn-relu (the stage's input to the block), conv-bn-relu, conv-bn, add, relu."""

    def __init__(self, cin, c):
        super().__init__()
        self.a, self.b, self.c = conv_bn(cin, c), conv_bn(c, c), conv_bn(c, c)

    def forward(self, x):
        stem = F.relu(self.a(x))
        return F.relu(self.c(F.relu(self.b(stem))) + stem)


class ResNet(nn.Module):
    def __init__(self, fashion):
        super().__init__()
        self.fashion = fashion
        self.stage1 = Stage(1, 32)
        self.stage2 = Stage(32, 64) if fashion else None
        self.dense = nn.Linear(64 if fashion else 32, 10)
        nn.init.xavier_uniform_(self.dense.weight)
        nn.init.zeros_(self.dense.bias)

    def forward(self, x):                       # x: [B, 1, 28, 28]
        x = F.max_pool2d(self.stage1(x), 2)
        if self.fashion:
            x = self.stage2(x)
        x = x.mean((2, 3))                      # globalavgpool2d
        if self.fashion:
            x = F.dropout(x, 0.2, self.training)
        return self.dense(x)                    # logits; the softmax is fused into the loss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["resnet_mnist", "resnet_fashion"], required=True)
    ap.add_argument("--data")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--json")
    args = ap.parse_args()
    fashion = args.model == "resnet_fashion"
    data = args.data or ("/usr/share/datasets/fashion-mnist" if fashion else "build/data/mnist")

    torch.manual_seed(7 if fashion else 42)
    torch.set_num_threads(args.threads)
    xtr = read_idx(find(data, "train-images-idx3-ubyte"))
    ytr = read_idx(find(data, "train-labels-idx1-ubyte"))
    xte = read_idx(find(data, "t10k-images-idx3-ubyte"))
    yte = read_idx(find(data, "t10k-labels-idx1-ubyte"))
    if args.limit:
        xtr, ytr = xtr[:args.limit], ytr[:args.limit]
    xtr = torch.from_numpy(xtr.astype(np.float32) / 255.0).unsqueeze(1)
    ytr = torch.from_numpy(ytr.astype(np.int64))
    xte = torch.from_numpy(xte.astype(np.float32) / 255.0).unsqueeze(1)
    yte = torch.from_numpy(yte.astype(np.int64))

    model = ResNet(fashion)
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
        print(f"pytorch {torch.__version__} {args.model}: epoch {epoch + 1}/{args.epochs}: "
              f"{epoch_seconds[-1]:.2f} s, test accuracy {acc:.4f}", flush=True)
    result = {"framework": "pytorch", "version": torch.__version__, "model": args.model,
              "threads": args.threads, "batch": 32, "images": len(xtr),
              "epoch_seconds": epoch_seconds, "test_accuracy": acc}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
