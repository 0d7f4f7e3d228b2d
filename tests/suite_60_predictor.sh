# Suite 60: the exported predictor, `cnnc emit MODEL --inference-only --weights CKPT`
# (compiler/emit/infer.c, compiler/cmd/emit.c) and examples/embed.
# For the seed model (conv, maxpool), lenet5 (same padding, avgpool, tanh) and mlp (dropout),
# trained for one epoch (the seed on 2000 images, the others on 500): the inlined literals read back as the checkpoint
# bit for bit; a program linking only the predictor agrees with the full program's
# cnn_classify (what `PROGRAM predict` runs) on 300 test images, class for class and within
# 1e-6 per output; predict and predict_u8 agree; two threads at once agree with one; the
# embed example classifies the same images as PGM files (the seed model's; the others' under
# make test-full). The files compile without a warning under gcc and clang -std=c99 -pedantic,
# and gcc -m32; the stack stays under 64 KiB; --logits needs no libm. A checkpoint that does
# not fit writes nothing. Then, for every target this machine runs (neon under qemu), the
# predictor generated for it against the model generated for it, compiled alike, on the same
# images: the same bits (the seed model on every target; the others on fewer, see below).
# Sourced by tests/run.sh. CC, CFLAGS and LDFLAGS must match the build (e.g. the sanitizers).

PR_DIR=$T_TMP/predictor
mkdir -p "$PR_DIR"
PR_CFLAGS=${CFLAGS:--O2 -g}
PR_N=300
PR_STRICT="-std=c99 -Wall -Wextra -pedantic -Werror"
# A runtime built with sanitizers needs them in the programs too.
PR_SAN=""
if nm "$BUILD/libcnnrt.a" 2>/dev/null | grep -q __asan; then PR_SAN="-fsanitize=address,undefined"; fi

PR_DATA=$(mnist_dir)
PR_TEST_IMAGES=$PR_DATA/t10k-images-idx3-ubyte.gz
[ -e "$PR_TEST_IMAGES" ] || PR_TEST_IMAGES=$PR_DATA/t10k-images-idx3-ubyte

# pr_run NAME COMMAND...: runs a command into $T_TMP/pr.out and pr.err; passes nothing, fails (and
# returns 1) on a non-zero status, a signal or a sanitizer report.
pr_run() {
    pr_name=$1
    shift
    "$@" >"$T_TMP/pr.out" 2>"$T_TMP/pr.err" </dev/null
    pr_status=$?
    if [ $pr_status -ne 0 ] || grep -q -e 'runtime error:' -e 'AddressSanitizer' -e 'LeakSanitizer' "$T_TMP/pr.err"; then
        fail "$pr_name" "status $pr_status" "$(head -20 "$T_TMP/pr.out" "$T_TMP/pr.err")"
        return 1
    fi
    return 0
}

# pr_compare NAME REF GOT: the same class on every line and every output within 1e-6.
pr_compare() {
    if awk -v tol=1e-6 '
        NR == FNR { ref[FNR] = $0; n = FNR; next }
        {
            split(ref[FNR], r, " ")
            if (r[1] != $1) { printf "line %d: class %s, reference %s\n", FNR, $1, r[1]; bad = 1 }
            for (i = 2; i <= NF; i++) {
                d = $i - r[i]; if (d < 0) d = -d
                if (d > max) max = d
                if (d > tol) { printf "line %d: output %d is %s, reference %s\n", FNR, i - 2, $i, r[i]; bad = 1 }
            }
            same += ($0 == ref[FNR])
            got = FNR
        }
        END {
            if (got != n || n == 0) { printf "%d lines, reference %d\n", got, n; bad = 1 }
            printf "max difference %g, %d of %d lines identical\n", max, same, n > "/dev/stderr"
            exit bad
        }' "$2" "$3" >"$T_TMP/pr.cmp" 2>"$T_TMP/pr.cmp.err"; then
        pass "$1"
        echo "  note $1: $(cat "$T_TMP/pr.cmp.err")"
    else
        fail "$1" "$(head -10 "$T_TMP/pr.cmp")"
    fi
}

# pr_file NAME: the model file: models/NAME.cnn, or tests/train/NAME.cnn for the small ones.
pr_file() {
    if [ -e "models/$1.cnn" ]; then echo "models/$1.cnn"; else echo "tests/train/$1.cnn"; fi
}

# pr_model NAME LIMIT: trains NAME on LIMIT images, exports it and checks the predictor
# against the full program.
pr_model() {
    m=$1 f=$(pr_file "$1")
    d=$PR_DIR/$m
    mkdir -p "$d/img"
    # The reference is the program `cnnc build` makes, with two more commands: one compile of
    # the generated model (the slowest step here) serves training and the comparison.
    # shellcheck disable=SC2086
    pr_run "predictor/$m: build the reference" sh -c "\"$CNNC\" emit $f -o \"$d/full\" &&
        ${CC:-cc} -std=c11 -Wall -Wextra -Werror $PR_CFLAGS -Iruntime -Iruntime/app -I\"$d/full\" \
        -DMODEL_SYM=${m}_model -o \"$d/infer_ref\" tests/unit/infer_ref.c \"$d/full/$m.c\" \
        $BUILD/libcnnapp.a $BUILD/libcnnplot.a $BUILD/libcnnrt.a ${LDFLAGS:-} -lplplot -lpng -lz -lm -pthread" || return 0
    pr_run "predictor/$m: train" "$d/infer_ref" train --data "$PR_DATA" --limit $2 --epochs 1 \
        --save "$d/ck.safetensors" --quiet || return 0
    pr_run "predictor/$m: emit" "$CNNC" emit "$f" --inference-only \
        --weights "$d/ck.safetensors" -o "$d/gen" || return 0
    pass "predictor/$m: emit"
    echo "  note predictor/$m: ${m}_infer.c is $(wc -c <"$d/gen/${m}_infer.c") bytes"
    up=$(echo "$m" | tr a-z A-Z)
    # The test program links the predictor and libc only: no -I of the runtime, no library.
    # shellcheck disable=SC2086
    pr_run "predictor/$m: build a program with only the predictor" ${CC:-cc} $PR_STRICT $PR_CFLAGS -I"$d/gen" \
        -DMODEL=$m -DMODEL_UPPER=$up -o "$d/test_infer" tests/unit/test_infer.c "$d/gen/${m}_infer.c" \
        ${LDFLAGS:-} -lm -pthread || return 0
    pass "predictor/$m: build a program with only the predictor"
    pr_run "predictor/$m: literals" "$d/infer_ref" literals "$d/ck.safetensors" "$d/gen/${m}_infer.c" &&
        pass "predictor/$m: the literals read back as the checkpoint bit for bit"
    pr_run "predictor/$m: reference outputs" "$d/infer_ref" dump "$d/ck.safetensors" "$PR_TEST_IMAGES" $PR_N "$d/img" ||
        return 0
    cp "$T_TMP/pr.out" "$d/ref.txt"
    ref_time=$(cat "$T_TMP/pr.err")
    pr_run "predictor/$m: predictor outputs" "$d/test_infer" "$d/img/images.u8" $PR_N || return 0
    pass "predictor/$m: predict = predict_u8, NULL outputs, two threads at once"
    cp "$T_TMP/pr.out" "$d/got.txt"
    echo "  note predictor/$m latency: $ref_time; $(cat "$T_TMP/pr.err")"
    pr_compare "predictor/$m: $PR_N images as the full program classifies them" "$d/ref.txt" "$d/got.txt"

    pr_run "predictor/$m: raw parameters" "$d/infer_ref" params "$d/ck.safetensors" "$d/params.f32" || return 0

    # examples/embed on the same images as PGM files: the seed model's, and under make test-full
    # (CNNC_TEST_FULL=1) the others'.
    [ "$m" = mnist_cnn ] || t_full || return 0
    pr_run "predictor/$m: make the embed example" make -s -C examples/embed MODEL=$m GEN="$d/gen" \
        OUT="$d/classify" CC="${CC:-cc}" CFLAGS="$PR_CFLAGS" LDFLAGS="${LDFLAGS:-}" || return 0
    pr_run "predictor/$m: classify PGM files" "$d/classify" "$d/img"/*.pgm || return 0
    # "FILE: CLASS" then the outputs, as one line "CLASS OUTPUTS" like the reference's.
    awk '/: [0-9]+$/ { c = $NF; next } { print c, $0 }' "$T_TMP/pr.out" >"$d/embed.txt"
    pr_compare "predictor/$m: the embed example on $PR_N PGM files" "$d/ref.txt" "$d/embed.txt"
}

# pr_target NAME TARGET: the predictor generated for TARGET against the model's own forward pass
# generated for TARGET (tests/unit/model_forward.c, no runtime), both compiled with the target's
# flags, on pr_model's images and checkpoint: identical lines.
pr_target() {
    m=$1 t=$2 f=$(pr_file "$1")
    d=$PR_DIR/$m
    td=$d/$t
    [ -e "$d/params.f32" ] || return 0
    mkdir -p "$td"
    cc=$(dt_cc "$t")
    up=$(echo "$m" | tr a-z A-Z)
    pr_run "predictor/$t/$m: emit" sh -c "\"$CNNC\" emit $f --target $t -o \"$td/full\" &&
        \"$CNNC\" emit $f --target $t --inference-only --weights \"$d/ck.safetensors\" -o \"$td/gen\"" ||
        return 0
    # shellcheck disable=SC2086
    pr_run "predictor/$t/$m: build" sh -c "$cc -std=c11 -Iruntime -DMODEL_SYM=${m}_model -o \"$td/forward\" \
        tests/unit/model_forward.c \"$td/full/$m.c\" -lm &&
        $cc $PR_STRICT -I\"$td/gen\" -DMODEL=$m -DMODEL_UPPER=$up -o \"$td/test_infer\" tests/unit/test_infer.c \
        \"$td/gen/${m}_infer.c\" -lm -pthread" || return 0
    pr_run "predictor/$t/$m: the model's forward" dt_run "$t" "$td/forward" "$d/params.f32" "$d/img/images.u8" $PR_N ||
        return 0
    cp "$T_TMP/pr.out" "$td/ref.txt"
    # No latency under an emulator (qemu): it would say nothing of the target's machine.
    pr_secs=0.3
    [ "$(dt_arch "$t")" = host ] || pr_secs=0
    pr_run "predictor/$t/$m: the predictor" dt_run "$t" "$td/test_infer" "$d/img/images.u8" $PR_N $pr_secs || return 0
    cp "$T_TMP/pr.out" "$td/got.txt"
    if cmp -s "$td/ref.txt" "$td/got.txt" && [ -s "$td/ref.txt" ]; then
        pass "predictor/$t/$m: $PR_N images, the same bits as the model generated for $t"
    else
        fail "predictor/$t/$m: $PR_N images, the same bits as the model generated for $t" \
            "$(diff "$td/ref.txt" "$td/got.txt" | head -6)"
    fi
}

# pr_seed_checks: on the seed model exported by pr_model, what does not depend on the model.
pr_seed_checks() {
    d=$PR_DIR/mnist_cnn
    src=$d/gen/mnist_cnn_infer.c
    [ -e "$src" ] && [ -e "$d/ref.txt" ] || return 0
    # Portable C99 with either compiler and on a 32-bit target; gcc-12-multilib gives -m32 its libc
    # (not the gcc-multilib package, which Debian makes conflict with the AArch64 cross compiler).
    for cc in gcc clang; do
        if command -v $cc >/dev/null 2>&1; then
            # shellcheck disable=SC2086
            pr_run "predictor: $cc $PR_STRICT" $cc $PR_STRICT -O2 -c -o "$d/$cc.o" "$src" &&
                pass "predictor: $cc $PR_STRICT"
        fi
    done
    if t_deps gcc-12-multilib >"$T_TMP/pr.deps" 2>&1; then
        # The machine may not run 32-bit programs; compiling and linking one is the check.
        # shellcheck disable=SC2086
        pr_run "predictor: gcc -m32" gcc -m32 $PR_STRICT -O2 -I"$d/gen" -DMODEL=mnist_cnn -DMODEL_UPPER=MNIST_CNN \
            -o "$d/classify32" examples/embed/classify.c "$src" -lm && pass "predictor: gcc -m32 $PR_STRICT"
    else
        fail "predictor: gcc -m32 needs gcc-12-multilib" "$(cat "$T_TMP/pr.deps")"
    fi

    # The stack: every function's frame from -fstack-usage, summed (an upper bound on the
    # deepest chain, as nothing recurses), at -O0 and -O2.
    for opt in -O0 -O2; do
        if (cd "$d" && gcc $opt -std=c99 -fstack-usage -c -o stack.o "$src") >"$T_TMP/pr.err" 2>&1; then
            sum=$(awk -F'\t' '{ s += $2; if ($2 > m) { m = $2; f = $1 } } END { print s + 0 }' "$d/stack.su")
            echo "  note predictor: stack at $opt: $sum bytes in all ($(sort -t"$(printf '\t')" -k2 -n -r "$d/stack.su" | head -1 | cut -f1,2 | sed 's/.*://'))"
            if [ "$sum" -gt 0 ] && [ "$sum" -lt 65536 ]; then
                pass "predictor: stack at $opt under 64 KiB"
            else
                fail "predictor: stack at $opt under 64 KiB" "$(cat "$d/stack.su")"
            fi
        else
            fail "predictor: gcc -fstack-usage $opt" "$(head -10 "$T_TMP/pr.err")"
        fi
    done

    # The workspace is the inference scratch that cnnc summary reports.
    ws=$(sed -n 's/^#define MNIST_CNN_INFER_WORKSPACE_BYTES //p' "$d/gen/mnist_cnn_infer.h")
    scratch=$("$CNNC" summary models/mnist_cnn.cnn --format json | sed -n 's/^ *"scratch": \([0-9]*\).*/\1/p')
    if [ -n "$ws" ] && [ "$ws" = "$scratch" ]; then
        pass "predictor: workspace = summary's inference scratch ($ws bytes)"
    else
        fail "predictor: workspace = summary's inference scratch" "header '$ws', summary '$scratch'"
    fi

    # --logits: no softmax and no <math.h>, so no -lm; softmax of the logits gives the
    # probabilities and the class does not change.
    if pr_run "predictor: emit --logits" "$CNNC" emit models/mnist_cnn.cnn --inference-only --logits \
        --weights "$d/ck.safetensors" -o "$d/logits"; then
        if grep -q -e 'math\.h' -e 'expf' "$d/logits/mnist_cnn_infer.c"; then
            fail "predictor: --logits needs no <math.h>" "$(grep -n -e 'math\.h' -e expf "$d/logits/mnist_cnn_infer.c" | head -5)"
        else
            pass "predictor: --logits needs no <math.h>"
        fi
        # shellcheck disable=SC2086
        if pr_run "predictor: --logits links without -lm" ${CC:-cc} $PR_STRICT $PR_CFLAGS -I"$d/logits" \
            -DMODEL=mnist_cnn -DMODEL_UPPER=MNIST_CNN -o "$d/test_logits" tests/unit/test_infer.c \
            "$d/logits/mnist_cnn_infer.c" ${LDFLAGS:-} -pthread; then
            pass "predictor: --logits links without -lm"
            if pr_run "predictor: --logits outputs" "$d/test_logits" "$d/img/images.u8" $PR_N; then
                awk '{ m = $2; for (i = 3; i <= NF; i++) if ($i > m) m = $i
                       s = 0; for (i = 2; i <= NF; i++) s += exp($i - m)
                       printf "%s", $1; for (i = 2; i <= NF; i++) printf " %.9g", exp($i - m) / s; print "" }' \
                    "$T_TMP/pr.out" >"$d/softmax.txt"
                pr_compare "predictor: softmax of --logits outputs = the probabilities" "$d/ref.txt" "$d/softmax.txt"
            fi
        fi
    fi

    # A checkpoint that does not fit, a damaged one, one that diverged: status 1, nothing written.
    pr_refuse() {
        name=$1 pattern=$2
        shift 2
        "$CNNC" emit "$@" -o "$d/refused" >"$T_TMP/pr.out" 2>"$T_TMP/pr.err" </dev/null
        status=$?
        if [ $status = 1 ] && [ ! -e "$d/refused" ] && grep -qF -e "$pattern" "$T_TMP/pr.err"; then
            pass "predictor: $name"
        else
            fail "predictor: $name" "status $status, expected 1" "$(ls "$d/refused" 2>&1)" "$(head -5 "$T_TMP/pr.err")"
        fi
        rm -rf "$d/refused"
    }
    pr_refuse "another model's checkpoint is refused" "conv2d_1.kernel" models/lenet5.cnn --inference-only --weights "$d/ck.safetensors"
    head -c 1000 "$d/ck.safetensors" >"$d/short.safetensors"
    pr_refuse "a truncated checkpoint is refused" "short.safetensors" models/mnist_cnn.cnn --inference-only --weights "$d/short.safetensors"
    pr_refuse "a missing checkpoint is refused" "nowhere.safetensors" models/mnist_cnn.cnn --inference-only --weights "$d/nowhere.safetensors"
    # A NaN (0x7fffffff, little-endian) over the first float of the data, after the 8-byte
    # header length and the header.
    cp "$d/ck.safetensors" "$d/nan.safetensors"
    hlen=$(od -An -tu4 -N4 "$d/ck.safetensors" | tr -d ' ')
    printf '\377\377\377\177' | dd of="$d/nan.safetensors" bs=1 seek=$((8 + hlen)) conv=notrunc 2>/dev/null
    pr_refuse "a checkpoint with a NaN is refused" "non-finite" models/mnist_cnn.cnn --inference-only --weights "$d/nan.safetensors"

    for args in "--inference-only" "--weights $d/ck.safetensors" "--logits"; do
        # shellcheck disable=SC2086
        "$CNNC" emit models/mnist_cnn.cnn $args -o "$d/refused" >"$T_TMP/pr.out" 2>"$T_TMP/pr.err" </dev/null
        status=$?
        if [ $status = 2 ] && [ ! -e "$d/refused" ]; then
            pass "predictor: emit $args alone is a usage error"
        else
            fail "predictor: emit $args alone is a usage error" "status $status" "$(head -5 "$T_TMP/pr.err")"
        fi
        rm -rf "$d/refused"
    done
}

if [ ! -x "$CNNC" ] || [ ! -e "$BUILD/libcnnrt.a" ] || [ ! -e "$BUILD/libcnnapp.a" ] || [ ! -e "$BUILD/libcnnplot.a" ]; then
    fail "predictor: needs $CNNC and the runtime libraries in $BUILD (run make first)"
elif [ -z "$PR_DATA" ]; then
    fail "predictor: no MNIST files: run 'make data' or set CNNC_DATA_DIR"
else
    # The seed model as the issue asks; the others need weights that are not the initial ones.
    # bn_small, a residual network with batchnorm: the predictor uses the moving statistics.
    # Each model on a core of its own (t_jobs), the slowest to compile first.
    printf '%s\n' "lenet5 500" "mnist_cnn 2000" "bn_small 2000" "mlp 500" >"$PR_DIR/models"
    t_jobs pr_model "$PR_DIR/models"
    # Then, as cases on every core as well: the seed model's own checks, and every target this
    # machine runs for the seed model (neon under qemu, the slowest, first); LeNet-5 for neon;
    # bn_small for the plain-C target and the host's; mlp for the host's. make test-full
    # (CNNC_TEST_FULL=1) checks LeNet-5 and bn_small on every target.
    . tests/difftest/lib.sh
    pr_host=$("$CNNC" summary models/mlp.cnn --format json | sed -n 's/.*"target": "\([^"]*\)".*/\1/p')
    {
        for pr_t in neon generic x86-64 avx2 avx512; do
            dt_runnable "$pr_t" || continue
            echo "pr_target mnist_cnn $pr_t"
            { [ "$pr_t" = neon ] || t_full; } && echo "pr_target lenet5 $pr_t"
            [ "$pr_t" = "$pr_host" ] && echo "pr_target mlp $pr_t"
            { [ "$pr_t" = generic ] || [ "$pr_t" = "$pr_host" ] || t_full; } && echo "pr_target bn_small $pr_t"
        done
        echo "pr_seed_checks"
    } >"$PR_DIR/cases"
    # pr_case FUNCTION ARGS...: calls it (t_jobs calls one function).
    pr_case() { "$@"; }
    t_jobs pr_case "$PR_DIR/cases"
fi
