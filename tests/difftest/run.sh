#!/bin/sh
# difftest/run.sh - the differential test of the code generator (issue 14): random models, or
# given ones, each checked against the reference layers on every target this machine runs
# (tests/difftest/model.sh), failures shrunk and kept. Run from anywhere:
#
#   sh tests/difftest/run.sh seeds SEED N     the models of seeds SEED .. SEED+N-1
#   sh tests/difftest/run.sh files MODEL...   given models (.cnn, in the generator's form)
#
# Environment: DT_BUILD (the build directory with cnnc and the runtime), DT_TARGETS (lib.sh),
# DT_JOBS (models checked at once, 2), DT_SECONDS (stop starting models after that long),
# DT_PLAIN_EVERY (every how many models also compile
# with clang and tcc; 1 = all), DT_SHRINK_TO (a folder: shrink each failing model into it;
# unset: keep the failures unshrunk under $DT_WORK only). Even seeds are compiled from the
# .cnn form, odd ones from YAML, each with its twin compared.
#
# Prints one line a model (`ok` or `FAIL` and what failed), then a summary: the models run per
# target, the failures, and the time per model. Exit status 1 when a model failed.
cd "$(dirname "$0")/../.." || exit 2
. tests/difftest/lib.sh

mode=$1
shift
[ "$mode" = seeds ] || [ "$mode" = files ] || { echo "usage: run.sh seeds SEED N | files MODEL..." >&2; exit 2; }
[ -x "$DT_CNNC" ] || { echo "difftest: error: $DT_CNNC is not built (make BUILD=$DT_BUILD)" >&2; exit 2; }

DT_ACTIVE=$(dt_active_targets)
export DT_ACTIVE DT_BUILD DT_WORK DT_TARGETS
archs=host
case " $DT_ACTIVE " in *" neon "*) archs="host aarch64" ;; esac
# shellcheck disable=SC2086
dt_tools $archs || exit 2
rm -rf "$DT_WORK/runs"
mkdir -p "$DT_WORK/models" "$DT_WORK/runs"
if [ -n "${DT_SECONDS:-}" ]; then
    DT_DEADLINE=$(($(date +%s) + DT_SECONDS))
    export DT_DEADLINE
fi

# The list of jobs: "INDEX MODEL FORM [SEED]" lines.
jobs=$DT_WORK/jobs
: >"$jobs"
if [ "$mode" = seeds ]; then
    seed=$1
    count=$2
    echo "difftest: seeds $seed .. $((seed + count - 1))${DT_SECONDS:+, for at most $DT_SECONDS s}; to repeat one: sh tests/difftest/run.sh seeds SEED 1"
    i=0
    # The models are drawn when their turn comes (one.sh), so that N may be large.
    while [ "$i" -lt "$count" ]; do
        s=$((seed + i))
        form=cnn
        [ $((s % 2)) = 1 ] && form=yaml
        echo "$i $DT_WORK/models/dt$s.cnn $form $s"
        i=$((i + 1))
    done >"$jobs"
else
    i=0
    for f in "$@"; do
        echo "$i $f cnn" >>"$jobs"
        i=$((i + 1))
    done
fi

start=$(date +%s.%N)
# DT_JOBS models at once (tests/difftest/one.sh); each prints its line when it ends.
<"$jobs" xargs -P "${DT_JOBS:-2}" -L 1 sh tests/difftest/one.sh
elapsed=$(echo "$(date +%s.%N) $start" | awk '{ printf "%.1f", $1 - $2 }')

total=$(cat "$DT_WORK"/runs/*.result 2>/dev/null | wc -l)
failed=$(cat "$DT_WORK"/runs/*.result 2>/dev/null | grep -c '^FAIL')
sum=$(cat "$DT_WORK"/runs/*.out 2>/dev/null | sed -n 's/^time //p' | awk '{ s += $1 } END { printf "%.2f", s }')
cpu=$(cat "$DT_WORK"/runs/*.out 2>/dev/null | sed -n 's/^cpu //p' | awk '{ s += $1 } END { printf "%.2f", s }')
echo
echo "difftest: $total models, $failed failed; targets:$DT_ACTIVE (each model on each); plain C (clang, tcc) on every ${DT_PLAIN_EVERY:-4}th"
echo "difftest: $elapsed s in all with ${DT_JOBS:-2} at once; per model $(echo "$sum $total" | awk '{ printf "%.2f", $1 / ($2 ? $2 : 1) }') s wall-clock, $(echo "$cpu $total" | awk '{ printf "%.2f", $1 / ($2 ? $2 : 1) }') s of processor time ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
ls "$DT_WORK"/runs/*/m.desc >/dev/null 2>&1 && awk -f tests/difftest/coverage.awk "$DT_WORK"/runs/*/m.desc

# Failures: shrink each (same failure, smaller model) where asked.
if [ "$failed" -gt 0 ] && [ -n "${DT_SHRINK_TO:-}" ]; then
    mkdir -p "$DT_SHRINK_TO"
    while read -r idx model form _; do
        [ -f "$DT_WORK/runs/$idx.out" ] && grep -q '^FAIL' "$DT_WORK/runs/$idx.out" || continue
        sig=$(grep -m1 '^FAIL' "$DT_WORK/runs/$idx.out" | sed 's/^FAIL //')
        # The kept model in the log too, so that a CI run's failure can be reproduced.
        if kept=$(sh tests/difftest/shrink.sh "$model" "$form" "$sig" "$DT_SHRINK_TO"); then
            sed 's/^/    /' "$kept"
        fi
    done <"$jobs"
fi
[ "$failed" -eq 0 ]
