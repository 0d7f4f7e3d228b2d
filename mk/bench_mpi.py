#!/usr/bin/env python3
"""make bench-mpi: data-parallel training on this machine (issue 21), the figures behind the
README's scaling estimate.

- one training epoch of each model (MODEL.cnn, with `validation none` so that the seconds are
  training only) laid out as 1 process x 2 threads and as 2 processes x 1 thread
  (`cnnc build --mpi`, mpirun -np 2): seconds per epoch, and for the second layout the seconds
  spent in the gradient sums (which include waiting for the slower process) as the program's
  note gives them;
- the time of one gradient sum of each model's size alone (mk/mpi_allreduce.c): cnnc's
  fixed-order reduce-scatter and all-gather next to MPI_Allreduce.

usage: bench_mpi.py --cnnc CNNC --data DIR --out DIR [--limit N] MODEL.cnn...
Writes OUT/mpi.json and prints a table. The machine is shared: look at the load printed with
the figures.
"""
import argparse
import csv
import json
import os
import re
import subprocess
import sys


def mpirun(np):
    cmd = ["mpirun", "--oversubscribe", "--bind-to", "none", "-np", str(np)]
    if os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    return cmd


def sh(cmd, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if r.returncode != 0:
        sys.exit("bench_mpi: failed: %s\n%s" % (" ".join(cmd), r.stdout[-2000:]))
    return r.stdout


def epoch(cmd, history, steps):
    out = sh(cmd)
    with open(history) as f:
        rows = list(csv.DictReader(f))
    note = re.search(r"(\d+) gradient sums of (\d+) floats \((\d+) bytes\) took ([0-9.]+) s", out)
    seconds = float(rows[-1]["seconds"])
    return {
        "seconds": seconds,
        "steps": steps,
        "seconds_per_step": seconds / steps,
        "seconds_per_60000_images": seconds / steps * 1875,
        "loss": float(rows[-1]["loss"]),
        "sums": int(note.group(1)) if note else None,
        "sum_seconds": float(note.group(4)) if note else None,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cnnc", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--allreduce", required=True, help="the mpi_allreduce program")
    ap.add_argument("models", nargs="+")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    load = os.getloadavg()
    cpu = sh(["sh", "-c", "lscpu | sed -n 's/^Model name: *//p'"]).strip()
    result = {"cpu": cpu, "cores": os.cpu_count(), "load_before": load[0], "models": {}}
    for model in a.models:
        name = os.path.basename(model).rsplit(".", 1)[0]
        # validation none: the epoch's seconds are training only.
        src = open(model).read()
        if re.search(r"\bvalidation\s", src):
            src = re.sub(r"\bvalidation\s+[^;]*;", "validation none;", src)
        else:
            src = re.sub(r"\btrain\s*\{", "train {\n    validation none;", src, count=1)
        copy = os.path.join(a.out, name + ".cnn")
        with open(copy, "w") as f:
            f.write(src)
        plain, mpi = os.path.join(a.out, name), os.path.join(a.out, name + "_mpi")
        sh([a.cnnc, "build", copy, "-o", plain])
        sh([a.cnnc, "build", copy, "--mpi", "-o", mpi])
        limit = ["--limit", str(a.limit)] if a.limit else []
        common = ["train", "--data", a.data, "--epochs", "1"] + limit
        h1, h2 = os.path.join(a.out, name + "_1x2.csv"), os.path.join(a.out, name + "_2x1.csv")
        batch = int(re.search(r"batch_size\s+(\d+)", src).group(1))
        steps = -(-(a.limit or 60000) // batch)
        one = epoch([plain] + common + ["--threads", "2", "--history", h1], h1, steps)
        two = epoch(mpirun(2) + [mpi] + common + ["--threads", "1", "--history", h2], h2, steps)
        params = int(re.search(r"(\d+) floats", sh(mpirun(2) + [mpi] + common + ["--limit", "32", "--threads", "1"]))
                     .group(1))
        sums = [json.loads(line) for line in
                sh(mpirun(2) + [a.allreduce, str(params), "--iters", "200"]).splitlines() if line.startswith("{")]
        result["models"][name] = {"params": params, "bytes_per_sum": 4 * params,
                                  "1_process_2_threads": one, "2_processes_1_thread": two,
                                  "sum_alone_2_processes": sums[0]}
    result["load_after"] = os.getloadavg()[0]
    with open(os.path.join(a.out, "mpi.json"), "w") as f:
        json.dump(result, f, indent=2)
    print("CPU: %s, %d cores; load %.1f before, %.1f after; s/epoch: of the images trained (--limit), "
          "60,000 images at the same s/step in mpi.json" % (cpu, os.cpu_count(), result["load_before"],
                                                            result["load_after"]))
    print("%-14s %9s %6s %12s %12s %14s %14s %14s" % ("model", "bytes/sum", "steps", "1x2 s/epoch", "2x1 s/epoch",
                                                       "sums in 2x1", "sum alone ms", "MPI_Allreduce"))
    for name, m in result["models"].items():
        two = m["2_processes_1_thread"]
        share = 100.0 * two["sum_seconds"] / two["seconds"] if two["sum_seconds"] else float("nan")
        print("%-14s %9d %6d %12.2f %12.2f %8.2f s %3.0f%% %14.3f %14.3f" % (
            name, m["bytes_per_sum"], two["steps"], m["1_process_2_threads"]["seconds"], two["seconds"], two["sum_seconds"],
            share, m["sum_alone_2_processes"]["fixed_order_ms"], m["sum_alone_2_processes"]["mpi_allreduce_ms"]))


if __name__ == "__main__":
    main()
