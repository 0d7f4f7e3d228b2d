#!/bin/sh
# difftest/model.sh - the differential check of one model (run from the repository's root).
#
#   sh tests/difftest/model.sh MODEL.cnn FORM WORKDIR
#
# MODEL.cnn is in the form the generator writes (tests/difftest/gen.c); FORM (cnn or yaml) is
# the one cnnc compiles, the other is its twin, which must give byte-identical C. For every
# target of $DT_ACTIVE (lib.sh): cnnc emit, compile the model as strict C99 with -Werror, link
# it with the checker (tests/difftest/check.c) and run it; then the inference-only predictor of
# the checker's random weights, against the reference outputs. With DT_PLAIN=1 the generated
# files also compile with clang (strict, -Werror) and, for the generic target, with tcc, whose
# code must pass the checker too.
# DT_MUTATE (a sed script applied to each generated model file) is for the tests of the test.
#
# Prints `FAIL SIGNATURE` lines (SIGNATURE: what failed, without layer names, so that the
# shrinker can tell the same failure in a smaller model), the checker's details under
# WORKDIR, then `cpu SECONDS` and `time SECONDS` (processor and wall-clock time). Exit status 1 when anything failed.
. tests/difftest/lib.sh

dt_model=$1
dt_form=$2
W=$3
rm -rf "$W"
mkdir -p "$W"
dt_start=$(date +%s.%N)
dt_failed=0

# fail SIGNATURE LOGFILE: records a failure and keeps its log.
fail_with() {
    echo "FAIL $1"
    [ -n "$2" ] && [ -f "$2" ] && { echo "== $1"; head -40 "$2"; } >>"$W/details"
    dt_failed=1
}

# The wall-clock time, and the processor time of everything the check ran (the user and
# system time of this shell's children, fields 16 and 17 of /proc/PID/stat, in clock ticks),
# which load from other work does not inflate.
finish() {
    echo "cpu $(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($16 + $17) / hz }' /proc/$$/stat)"
    echo "time $(echo "$(date +%s.%N) $dt_start" | awk '{ printf "%.2f", $1 - $2 }')"
    exit $dt_failed
}

"$DT_TOOLS/dt_gen" convert "$dt_model" cnn >"$W/m.cnn" &&
    "$DT_TOOLS/dt_gen" convert "$dt_model" yaml >"$W/m.yaml" &&
    "$DT_TOOLS/dt_gen" convert "$dt_model" desc >"$W/m.desc" 2>"$W/gen.log" || { fail_with "generator" "$W/gen.log"; finish; }
name=$(sed -n 's/^model \([^ ]*\) .*/\1/p' "$W/m.desc")
upper=$(echo "$name" | tr '[:lower:]' '[:upper:]')
twin=yaml
[ "$dt_form" = yaml ] && twin=cnn

# The front ends: the model and its twin give the same C.
if ! "$DT_CNNC" emit "$W/m.$dt_form" -o "$W/gen" >"$W/emit.log" 2>&1; then
    fail_with "emit" "$W/emit.log"
    finish
fi
if ! "$DT_CNNC" emit "$W/m.$twin" -o "$W/twin" >"$W/twin.log" 2>&1 ||
    ! cmp -s "$W/gen/$name.c" "$W/twin/$name.c" || ! cmp -s "$W/gen/$name.h" "$W/twin/$name.h"; then
    diff "$W/gen/$name.c" "$W/twin/$name.c" >>"$W/twin.log" 2>&1
    fail_with "twin: the $twin form gives other C" "$W/twin.log"
fi

ckpt=""
for T in $DT_ACTIVE; do
    D=$W/$T
    mkdir -p "$D"
    arch=$(dt_arch "$T")
    topt=""
    [ "$T" != default ] && topt="--target $T"
    cc=$(dt_cc "$T")
    # shellcheck disable=SC2086
    if ! "$DT_CNNC" emit "$W/m.$dt_form" $topt -o "$D" >"$D/emit.log" 2>&1; then
        fail_with "$T: emit" "$D/emit.log"
        continue
    fi
    # A test of the test: DT_MUTATE, a sed script, breaks the generated code on purpose.
    if [ -n "${DT_MUTATE:-}" ]; then
        cp "$D/$name.c" "$D/unmutated.c"
        sed -i -e "$DT_MUTATE" "$D/$name.c"
        cmp -s "$D/$name.c" "$D/unmutated.c" && fail_with "$T: the mutation changes nothing"
    fi
    # shellcheck disable=SC2086
    if ! $cc $DT_STRICT -Iruntime -c -o "$D/model.o" "$D/$name.c" >"$D/cc.log" 2>&1; then
        fail_with "$T: ${cc%% -O2*} $DT_STRICT" "$D/cc.log"
        continue
    fi
    if [ "${DT_PLAIN:-0}" = 1 ]; then
        # shellcheck disable=SC2086
        if [ "$arch" = host ] && ! clang $DT_STRICT ${cc#* } -fsyntax-only -Iruntime "$D/$name.c" >"$D/clang.log" 2>&1; then
            fail_with "$T: clang $DT_STRICT" "$D/clang.log"
        fi
        # tcc for the generic target; before cnnc had targets, for the default one.
        if [ "$T" = generic ] || { [ "$T" = default ] && ! dt_target_supported; }; then
            if ! tcc -std=c99 -Wall -Werror -Iruntime -c -o "$D/tcc.o" "$D/$name.c" >"$D/tcc.log" 2>&1; then
                fail_with "$T: tcc" "$D/tcc.log"
            # What tcc made must pass the checker too (with tcc's helpers, __floatundisf...).
            elif ! $DT_HOST_CC -o "$D/check_tcc" "$D/tcc.o" "$DT_TOOLS/host"/*.o -Wl,--defsym=difftest_model="${name}_model" \
                -Wl,-z,noexecstack "$DT_BUILD/libcnnrt.a" "$(dirname "$(command -v tcc)")/../lib/$(gcc -print-multiarch)/tcc/libtcc1.a" \
                -lz -lpthread -lm >"$D/tcc_link.log" 2>&1 ||
                ! "$D/check_tcc" "$W/m.desc" >"$D/tcc.out" 2>"$D/tcc.err"; then
                cat "$D/tcc_link.log" "$D/tcc.out" >>"$D/tcc.err"
                fail_with "$T: compiled by tcc, fails the checker" "$D/tcc.err"
            fi
        fi
    fi
    libs="-lpthread -lm"
    [ "$arch" = host ] && libs="$DT_BUILD/libcnnrt.a -lz -lpthread -lm"
    # shellcheck disable=SC2086
    if ! $cc -o "$D/check" "$D/model.o" "$DT_TOOLS/$arch"/*.o -Wl,--defsym=difftest_model="${name}_model" \
        $libs >"$D/link.log" 2>&1; then
        fail_with "$T: link" "$D/link.log"
        continue
    fi
    extra=""
    # The first host target writes the weights and reference outputs for the predictors.
    [ "$arch" = host ] && [ -z "$ckpt" ] && extra="--ckpt $W/weights.safetensors --infer $W/infer.bin"
    # shellcheck disable=SC2086
    dt_run "$T" "$D/check" "$W/m.desc" $extra >"$D/out" 2>"$D/err"
    status=$?
    [ -n "$extra" ] && [ -s "$W/weights.safetensors" ] && ckpt=$W/weights.safetensors
    if grep -q '^FAIL' "$D/out"; then
        grep '^FAIL' "$D/out" | sed 's/ ([^)]*)$//' | sort -u | sed "s/^FAIL /$T: /" | while read -r sig; do echo "FAIL $sig"; done
        { echo "== $T"; grep '^FAIL' "$D/out"; head -60 "$D/err"; } >>"$W/details"
        dt_failed=1
    elif [ $status -ne 0 ] || ! grep -q '^ok' "$D/out"; then
        fail_with "$T: checker exit status $status" "$D/err"
    fi

    # The predictor, with the checker's weights; with --logits for every other model.
    [ -n "$ckpt" ] || continue
    lopt=""
    [ "$(( $(printf '%s' "$name" | cksum | cut -d' ' -f1) % 2 ))" = 1 ] && lopt="--logits"
    # shellcheck disable=SC2086
    if ! "$DT_CNNC" emit "$W/m.$dt_form" --inference-only --weights "$ckpt" $lopt $topt -o "$D/infer" >"$D/infer.log" 2>&1; then
        fail_with "$T: emit --inference-only" "$D/infer.log"
        continue
    fi
    # shellcheck disable=SC2086
    if ! $cc $DT_STRICT -I"$D/infer" -c -o "$D/infer.o" "$D/infer/${name}_infer.c" >"$D/infer_cc.log" 2>&1; then
        fail_with "$T: predictor ${cc%% -O2*} $DT_STRICT" "$D/infer_cc.log"
        continue
    fi
    if [ "${DT_PLAIN:-0}" = 1 ] && [ "$arch" = host ] &&
        ! clang $DT_STRICT ${cc#* } -fsyntax-only -I"$D/infer" "$D/infer/${name}_infer.c" >"$D/infer_clang.log" 2>&1; then
        fail_with "$T: predictor clang $DT_STRICT" "$D/infer_clang.log"
    fi
    # shellcheck disable=SC2086
    if ! $cc -std=c99 -Wall -Wextra -Werror -I"$D/infer" -DMODEL="$name" -DMODEL_UPPER="$upper" \
        -o "$D/infer_check" tests/difftest/infer_check.c "$D/infer.o" -lm >"$D/infer_link.log" 2>&1; then
        fail_with "$T: predictor link" "$D/infer_link.log"
        continue
    fi
    dt_run "$T" "$D/infer_check" "$W/infer.bin" >"$D/infer.out" 2>"$D/infer.err"
    if ! grep -q '^ok predictor' "$D/infer.out"; then
        cat "$D/infer.out" >>"$D/infer.err"
        fail_with "$T: predictor$( [ -n "$lopt" ] && echo ' logits')" "$D/infer.err"
    fi
done
finish
