#!/usr/bin/env python3
"""make bench, second half: what a user of the seed model waits for and pays.

- training epochs on the full 60,000 images at 1 and 2 threads (the median of --epochs epochs,
  3 by default, since the second core of a shared machine comes and goes): seconds, images/s, and
  GFLOP/s = training FLOP per image (from `bench`'s JSON: every conv2d and dense layer's
  forward, kernel gradient and input gradient except into the first layer, 2 FLOP per MAC;
  886.7 GFLOP per epoch for the seed model) * 60,000 / seconds, as a share of the peak that
  `bench` measured for the model's target (its FMA probe on one core, and on two cores at once
  for 2 threads). The model is trained with `validation none` (a copy of
  the model file) so that the seconds are training only, as PyTorch's are in bench-peers;
- peak resident memory of `PROGRAM train` (/usr/bin/time %M, else getrusage of the children);
- inference latency of one image and throughput of a batch (from `bench`'s JSON);
- the time `cnnc build` takes and the size of the generated source.

usage: bench_epoch.py --cnnc CNNC --model MODEL.cnn --data DIR --out DIR --layers LAYERS.json
                      [--target NAME] [--cflags FLAGS]
--target and --cflags go to every `cnnc build` (its --target and $CFLAGS; by default the
machine's own target and cnnc build's own options) and are recorded with the figures.
Writes OUT/epoch.json and prints a table.
"""
import argparse
import csv
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time


def run(cmd, **kw):
    """Runs a command; its wall seconds and peak resident kB (of this child alone where
    /usr/bin/time is there)."""
    timed = ["/usr/bin/time", "-f", "%M", "-o", kw.pop("rss_file")] if "rss_file" in kw else []
    if timed and not os.access("/usr/bin/time", os.X_OK):
        timed = []
    t0 = time.perf_counter()
    p = subprocess.run(timed + cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    seconds = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"bench: `{' '.join(cmd)}` failed with status {p.returncode}:\n{p.stdout[-2000:]}")
    return seconds, p.stdout


def cnnc_build(args, model, program):
    """`cnnc build MODEL -o PROGRAM` with the target and options asked for; its wall seconds."""
    cmd = [args.cnnc, "build", model, "-o", program] + (["--target", args.target] if args.target else [])
    env = dict(os.environ, CFLAGS=args.cflags) if args.cflags else None
    seconds, _ = run(cmd, env=env)
    return seconds


def build_options(args):
    """What the JSON records of how the programs were built."""
    return {"target_requested": args.target or "host",
            "cflags": args.cflags if args.cflags else os.environ.get("CFLAGS", "cnnc build's default")}


def without_validation(text):
    """The model file with `validation none;` in its train block."""
    new, n = re.subn(r"\bvalidation\s+[^;]*;", "validation none;", text)
    if n == 0:
        new, n = re.subn(r"\btrain\s*\{", "train {\n    validation none;", text, count=1)
    if n == 0:
        new = text + "\ntrain {\n    validation none;\n}\n"
    return new


def main():
    ap = argparse.ArgumentParser()
    for a in ("--cnnc", "--model", "--data", "--out", "--layers"):
        ap.add_argument(a, required=True)
    ap.add_argument("--target", default="")
    ap.add_argument("--cflags", default="")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--epochs", type=int, default=3)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    layers = json.load(open(args.layers))
    peak = layers["peak_gflops_per_core"]
    peak_two = layers.get("peak_gflops_two_cores") or 2 * peak
    target, peak_isa = layers.get("target", "unknown"), layers.get("peak_isa", "?")

    def peak_at(threads):
        return peak if threads == 1 else peak_two if threads == 2 else peak * threads
    flop_per_image = layers["training_flop_per_image"]
    name = layers["model"]

    # The compiler: the time of a plain build, and the size of what it writes.
    prog = os.path.join(args.out, name + "-plain")
    build_seconds = cnnc_build(args, args.model, prog)
    gen = os.path.join(args.out, "gen")
    run([args.cnnc, "emit", args.model, "-o", gen] + (["--target", target] if target != "unknown" else []))
    source = {}
    for ext in (".c", ".h"):
        path = os.path.join(gen, name + ext)
        source[ext[1:] + "_bytes"] = os.path.getsize(path)
        source[ext[1:] + "_lines"] = sum(1 for _ in open(path))

    # Training only: the same model without the evaluation after the epoch.
    noval = os.path.join(args.out, name + "-noval.cnn")
    with open(noval, "w") as f:
        f.write(without_validation(open(args.model).read()))
    trainer = os.path.join(args.out, name + "-train")
    cnnc_build(args, noval, trainer)
    epochs = []
    for threads in (int(t) for t in args.threads.split(",")):
        hist = os.path.join(args.out, f"history-{threads}t.csv")
        ckpt = os.path.join(args.out, f"{name}-{threads}t.safetensors")
        rss_file = os.path.join(args.out, f"rss-{threads}t.txt")
        wall, _ = run([trainer, "train", "--data", args.data, "--epochs", str(args.epochs), "--threads", str(threads),
                       "--history", hist, "--save", ckpt, "--quiet"], rss_file=rss_file)
        try:
            rss_kb = int(open(rss_file).read().split()[-1])
        except (OSError, ValueError, IndexError):
            rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        rows = list(csv.DictReader(open(hist)))
        row = rows[-1]
        per_epoch = sorted(float(r["seconds"]) for r in rows)
        seconds = statistics.median(per_epoch)
        _, out = run([trainer, "eval", "--data", args.data, "--load", ckpt, "--threads", str(threads)])
        m = re.search(r"accuracy: ([0-9.]+)", out)
        images = 60000
        gflops = flop_per_image * images / seconds / 1e9
        epochs.append({"threads": threads, "seconds": seconds, "epoch_seconds": per_epoch,
                       "process_seconds": wall,
                       "images_per_s": images / seconds, "gflops": gflops,
                       "peak_share": gflops / peak_at(threads), "train_accuracy": float(row["accuracy"]),
                       "test_accuracy": float(m.group(1)) if m else None, "peak_rss_kb": rss_kb})

    inf = layers["inference"]
    result = {"model": name, "target": target, **build_options(args), "peak_isa": peak_isa,
              "peak_gflops_per_core": peak,
              "peak_gflops_two_cores": peak_two, "training_flop_per_image": flop_per_image,
              "epoch_gflop": flop_per_image * 60000 / 1e9, "epochs": epochs,
              "inference_one_image_ms": inf["one_image"]["median_ms"],
              "inference_one_image_min_max_ms": [inf["one_image"]["min_ms"], inf["one_image"]["max_ms"]],
              "inference_batch_images_per_s": inf["batch"]["images_per_s"], "batch": layers["batch"],
              "cnnc_build_seconds": build_seconds, "generated_source": source}
    with open(os.path.join(args.out, "epoch.json"), "w") as f:
        json.dump(result, f, indent=2)

    print(f"{name}: one epoch of 60000 images = {result['epoch_gflop']:.1f} GFLOP; "
          f"target {target}; peak {peak:.1f} GFLOP/s on one core, {peak_two:.1f} on two ({peak_isa} probe); "
          f"CFLAGS {result['cflags']}")
    print(f"median of {args.epochs} epochs; test accuracy after the last")
    print(f"{'threads':>7} {'s/epoch':>8} {'images/s':>9} {'GFLOP/s':>8} {'of peak':>8} {'test acc':>8} "
          f"{'peak RSS':>9}  epochs (s)")
    for e in epochs:
        acc = f"{e['test_accuracy']:.4f}" if e["test_accuracy"] is not None else "-"
        print(f"{e['threads']:>7} {e['seconds']:>8.2f} {e['images_per_s']:>9.0f} {e['gflops']:>8.1f} "
              f"{100 * e['peak_share']:>7.1f}% {acc:>8} {e['peak_rss_kb'] / 1024:>7.1f} MB  "
              + " ".join(f"{x:.2f}" for x in e["epoch_seconds"]))
    print(f"inference, 1 thread: one image {result['inference_one_image_ms'] * 1e3:.1f} us (median), "
          f"a batch of {result['batch']}: {result['inference_batch_images_per_s']:.0f} images/s")
    print(f"cnnc build: {build_seconds:.2f} s; generated {name}.c {source['c_bytes']} bytes "
          f"({source['c_lines']} lines), {name}.h {source['h_bytes']} bytes")
    print(f"JSON: {os.path.join(args.out, 'epoch.json')}")


if __name__ == "__main__":
    main()
