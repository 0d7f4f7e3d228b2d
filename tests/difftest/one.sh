#!/bin/sh
# difftest/one.sh INDEX MODEL FORM [SEED]: one model of a run (tests/difftest/run.sh), drawn
# from SEED into MODEL first when a seed is given, checked by model.sh under
# $DT_WORK/runs/INDEX; prints and keeps (INDEX.result) its verdict line. Every
# DT_PLAIN_EVERY-th model also compiles with clang and tcc; none is checked after DT_DEADLINE.
. tests/difftest/lib.sh
idx=$1 model=$2 form=$3 seed=${4:-}
# Past DT_DEADLINE (seconds since the epoch) the model is not checked and leaves no result.
[ -n "${DT_DEADLINE:-}" ] && [ "$(date +%s)" -ge "$DT_DEADLINE" ] && exit 0
w=$DT_WORK/runs/$idx
[ -n "$seed" ] && "$DT_TOOLS/dt_gen" gen "$seed" >"$model"
plain=0
[ $((idx % ${DT_PLAIN_EVERY:-4})) = 0 ] && plain=1
DT_PLAIN=$plain sh tests/difftest/model.sh "$model" "$form" "$w" >"$w.out" 2>&1
t=$(sed -n 's/^time //p' "$w.out")
if grep -q '^FAIL' "$w.out"; then
    echo "FAIL $(basename "$model") ($form, ${t}s): $(grep '^FAIL' "$w.out" | sed 's/^FAIL //' | paste -sd ';' -)" | tee "$w.result"
else
    echo "ok   $(basename "$model") ($form, ${t}s)" | tee "$w.result"
fi
