#!/usr/bin/env python3
"""What augment(shift=2, rotation=10) costs a training epoch (issue 19's bar: under 10% at 2 threads).

Builds MODEL twice from copies of its file: as it is with `validation none` (training time
only), and with `augment(shift=2, rotation=10);` added. Then trains one epoch of each, in turns,
ROUNDS times at --threads THREADS, and reports the median wall seconds and CPU seconds (user +
system of the program) of each, and the cost of augmentation as a share of the plain epoch.
The runs alternate so that a machine whose load changes affects both alike; the load average is
printed before and after, since a wall-clock figure taken on a loaded machine is noisy (the CPU
seconds much less so).

usage: bench_augment.py --cnnc CNNC --model MODEL.cnn --data DIR --out DIR [--threads 2]
                        [--rounds 3] [--limit N]
"""
import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import time


def with_settings(src, extra):
    """The model file with `validation none;` and `extra` at the start of its train block."""
    text = re.sub(r"(?m)^\s*validation\s+[^;]*;\n?", "", open(src).read())
    match = re.search(r"\btrain\s*\{", text)
    if not match:
        sys.exit("bench_augment: %s has no train block" % src)
    return text[:match.end()] + "\n    validation none;\n    " + extra + "\n" + text[match.end():]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cnnc", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--limit", type=int, default=0)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    progs = {}
    for name, extra in (("plain", ""), ("augment", "augment(shift=2, rotation=10);")):
        path = os.path.join(a.out, name + ".cnn")
        with open(path, "w") as f:
            f.write(with_settings(a.model, extra))
        progs[name] = os.path.join(a.out, name)
        subprocess.run([a.cnnc, "build", path, "-o", progs[name]], check=True, stdout=subprocess.DEVNULL)
    seconds = {"plain": [], "augment": []}
    cpu = {"plain": [], "augment": []}
    print("load average before: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
    for r in range(a.rounds):
        for name in ("plain", "augment"):
            cmd = [progs[name], "train", "--data", a.data, "--epochs", "1", "--threads", str(a.threads), "--quiet"]
            if a.limit:
                cmd += ["--limit", str(a.limit)]
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            seconds[name].append(time.perf_counter() - t0)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[name].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            print("round %d %-8s %.2f s wall, %.2f s CPU" % (r + 1, name, seconds[name][-1], cpu[name][-1]), flush=True)
    print("load average after: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
    plain, aug = statistics.median(seconds["plain"]), statistics.median(seconds["augment"])
    print("median epoch: plain %.2f s, with augment %.2f s: augmentation costs %.1f%% of the epoch"
          % (plain, aug, 100.0 * (aug - plain) / plain))
    plain, aug = statistics.median(cpu["plain"]), statistics.median(cpu["augment"])
    print("median CPU: plain %.2f s, with augment %.2f s: augmentation costs %.1f%% of the CPU time"
          % (plain, aug, 100.0 * (aug - plain) / plain))


if __name__ == "__main__":
    main()
