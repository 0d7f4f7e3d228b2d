#!/usr/bin/env python3
"""make bench-peers: the seed model (or --model: a residual network of models/) in cnnc and in PyTorch, both on 2 threads and the same
MNIST files, side by side: the median seconds of --epochs epochs (2 by default; the second core
of a shared machine comes and goes), the test accuracy after the last. cnnc trains a copy of the model with `validation none`
so that its seconds are training only, like PyTorch's, then evaluates the checkpoint on the
test set. PyTorch (examples/pytorch/train_mnist.py, run with /usr/bin/python3 for Debian's
python3-torch) exits 77 when torch is missing: then its row says skipped.

usage: bench_peers.py --cnnc CNNC --model MODEL.cnn --data DIR --out DIR [--threads N] [--epochs N]
                      [--target NAME] [--cflags FLAGS]   (as bench_epoch.py)
Writes OUT/peers.json and prints a table.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_epoch import build_options, cnnc_build, run, without_validation  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    for a in ("--cnnc", "--model", "--data", "--out"):
        ap.add_argument(a, required=True)
    ap.add_argument("--target", default="")
    ap.add_argument("--cflags", default="")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=2)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    name = os.path.splitext(os.path.basename(args.model))[0]
    rows = []

    noval = os.path.join(args.out, name + "-noval.cnn")
    with open(noval, "w") as f:
        f.write(without_validation(open(args.model).read()))
    trainer = os.path.join(args.out, name + "-train")
    cnnc_build(args, noval, trainer)
    hist = os.path.join(args.out, "peers-history.csv")
    ckpt = os.path.join(args.out, "peers.safetensors")
    run([trainer, "train", "--data", args.data, "--epochs", str(args.epochs), "--threads", str(args.threads),
         "--history", hist, "--save", ckpt, "--quiet"])
    import csv
    import re
    per_epoch = [float(r["seconds"]) for r in csv.DictReader(open(hist))]
    seconds = statistics.median(per_epoch)
    _, out = run([trainer, "eval", "--data", args.data, "--load", ckpt, "--threads", str(args.threads)])
    m = re.search(r"accuracy: ([0-9.]+)", out)
    # The target the program was built for, as cnnc summary names it for the same options.
    _, summary = run([args.cnnc, "summary", noval, "--format", "json"] + (["--target", args.target] if args.target else []))
    target = json.loads(summary).get("target", "unknown")
    rows.append({"name": "cnnc", "version": f"generated C, {target}", "target": target,
                 "seconds": seconds, "epoch_seconds": per_epoch,
                 "test_accuracy": float(m.group(1)) if m else None})

    torch_json = os.path.join(args.out, "pytorch.json")
    # The same network in PyTorch: the seed model's script, or the residual networks' one.
    resnet = name in ("resnet_mnist", "resnet_fashion")
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "pytorch",
                          "train_resnet.py" if resnet else "train_mnist.py")
    p = subprocess.run(["/usr/bin/python3", script, "--data", args.data, "--epochs", str(args.epochs),
                        "--threads", str(args.threads), "--json", torch_json] + (["--model", name] if resnet else []),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode == 77:
        rows.append({"name": "pytorch", "skipped": p.stdout.strip()})
    elif p.returncode != 0:
        sys.exit(f"bench-peers: pytorch failed with status {p.returncode}:\n{p.stdout[-2000:]}")
    else:
        t = json.load(open(torch_json))
        rows.append({"name": "pytorch", "version": t["version"], "seconds": statistics.median(t["epoch_seconds"]),
                     "epoch_seconds": t["epoch_seconds"],
                     "test_accuracy": t["test_accuracy"]})

    base = rows[0]["seconds"]
    print(f"{name}: epochs of 60000 images, batch 32, {args.threads} threads, training time only, "
          f"median of {args.epochs} epochs")
    print(f"{'':<9} {'version':<22} {'s/epoch':>8} {'test acc':>8} {'cnnc speed-up':>14}")
    for r in rows:
        if "skipped" in r:
            print(f"{r['name']:<9} skipped: {r['skipped']}")
            continue
        r["cnnc_speedup"] = r["seconds"] / base
        acc = f"{r['test_accuracy']:.4f}" if r["test_accuracy"] is not None else "-"
        print(f"{r['name']:<9} {r['version']:<22} {r['seconds']:>8.2f} {acc:>8} {r['cnnc_speedup']:>13.2f}x")
    with open(os.path.join(args.out, "peers.json"), "w") as f:
        json.dump({"model": name, "threads": args.threads, "images": 60000, **build_options(args), "rows": rows},
                  f, indent=2)
    print(f"JSON: {os.path.join(args.out, 'peers.json')}")


if __name__ == "__main__":
    main()
