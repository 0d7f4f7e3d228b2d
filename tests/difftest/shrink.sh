#!/bin/sh
# difftest/shrink.sh - minimises a model that fails the differential test, keeping the failure.
#
#   sh tests/difftest/shrink.sh MODEL.cnn FORM SIGNATURE OUTDIR
#
# SIGNATURE is a `FAIL` line of tests/difftest/model.sh without the `FAIL ` (say
# `avx2: layer conv2d input gradient`). Over and over, the generator lists the valid models
# one step smaller (tests/difftest/gen.c `variants`: a layer dropped, a size halved or made one
# less, a setting made plainer) and the first that still fails with SIGNATURE becomes the
# model, until none does or DT_SHRINK_CHECKS checks (default 150) have run. Only the target
# of the signature is checked (with the host's default target as well, for a predictor
# failure, which needs its weights). The result is OUTDIR/<name>.cnn, headed by the signature;
# its path is printed.
# Run from the repository's root, with the environment of run.sh (DT_BUILD, DT_WORK).
. tests/difftest/lib.sh

model=$1
form=$2
sig=$3
out=$4
target=${sig%%:*}
case $target in
default | generic | x86-64 | avx2 | avx512 | neon) ;;
*) target=default ;; # emit, twin, generator: any target shows it
esac
DT_ACTIVE=$target
case $sig in *predictor*) [ "$target" != default ] && DT_ACTIVE="default $target" ;; esac
export DT_ACTIVE
[ -x "$DT_TOOLS/dt_gen" ] || dt_tools host || exit 2

work=$DT_WORK/shrink/$(basename "$model" .cnn)
rm -rf "$work"
mkdir -p "$work" "$out"
cp "$model" "$work/current.cnn"
checks=0
budget=${DT_SHRINK_CHECKS:-150}

# still_fails MODEL: whether MODEL fails with the same signature.
still_fails() {
    checks=$((checks + 1))
    DT_PLAIN=0 sh tests/difftest/model.sh "$1" "$form" "$work/run" >"$work/run.out" 2>&1
    grep -qxF "FAIL $sig" "$work/run.out"
}

if ! still_fails "$work/current.cnn"; then
    echo "shrink: $(basename "$model") no longer fails with: $sig" >&2
    exit 1
fi
progress=1
while [ "$progress" = 1 ] && [ "$checks" -lt "$budget" ]; do
    progress=0
    rm -rf "$work/v"
    mkdir -p "$work/v"
    n=$("$DT_TOOLS/dt_gen" variants "$work/current.cnn" "$work/v")
    i=1
    while [ "$i" -le "$n" ] && [ "$checks" -lt "$budget" ]; do
        v=$work/v/$(printf '%03d' "$i").cnn
        if still_fails "$v"; then
            cp "$v" "$work/current.cnn"
            progress=1
            break
        fi
        i=$((i + 1))
    done
done

name=$(sed -n 's/^model \([A-Za-z0-9_]*\).*/\1/p' "$work/current.cnn")
{
    echo "# Kept by the differential test (tests/difftest/shrink.sh) from $(basename "$model"), $form form."
    echo "# Fails: $sig"
    grep -v '^#' "$work/current.cnn"
} >"$out/$name.cnn"
echo "shrink: $out/$name.cnn after $checks checks ($(grep -c ';' "$work/current.cnn") statements)" >&2
echo "$out/$name.cnn"
