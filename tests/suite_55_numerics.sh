# Numerics (sourced by tests/run.sh): the reference layers against finite differences and
# values worked out by hand (tests/unit/test_ref_gradcheck.c), then the code cnnc generates for
# each tests/models/t_*.cnn against those reference layers (tests/unit/test_generated.c).
# Each test program prints `ok NAME` or `FAIL NAME` lines; each line is one pass or fail here.
# CC, CFLAGS and LDFLAGS from the environment are used, so that a sanitizer build of the
# runtime links (make test CFLAGS='-fsanitize=...' LDFLAGS=...).

N55_CC=${CC:-cc}
N55_CFLAGS="${CFLAGS:-} -O1 -g"
N55_LDFLAGS=${LDFLAGS:-}
N55_DIR=$T_TMP/numerics
mkdir -p "$N55_DIR"

# n55_run PREFIX NAME PROGRAM: turns the program's verdict lines into passes and fails named
# PREFIX and the rest of the line. A crash, a sanitizer report or a failing status without a
# FAIL line fails NAME itself.
n55_run() {
    n55_prefix=$1
    n55_name=$2
    shift 2
    "$@" >"$T_TMP/n55.out" 2>"$T_TMP/n55.err"
    n55_status=$?
    while read -r n55_verdict n55_rest; do
        case $n55_verdict in
        ok) pass "$n55_prefix$n55_rest" ;;
        FAIL) fail "$n55_prefix$n55_rest" "$(head -30 "$T_TMP/n55.err")" ;;
        esac
    done <"$T_TMP/n55.out"
    if grep -q -e 'runtime error:' -e 'AddressSanitizer' -e 'LeakSanitizer' "$T_TMP/n55.err"; then
        fail "$n55_name" "sanitizer report:" "$(head -30 "$T_TMP/n55.err")"
    elif [ "$n55_status" -ne 0 ] && ! grep -q '^FAIL' "$T_TMP/n55.out"; then
        fail "$n55_name" "exit status $n55_status" "$(head -30 "$T_TMP/n55.err")"
    elif ! grep -q '^ok' "$T_TMP/n55.out"; then
        fail "$n55_name" "no checks ran"
    fi
}

# n55_cc NAME COMPILER ARGS...: compiles with COMPILER (the host's: $N55_CC $N55_CFLAGS) and
# ARGS; a failure to compile is a fail of NAME (and returns 1).
n55_cc() {
    n55_name=$1
    n55_with=$2
    shift 2
    # shellcheck disable=SC2086
    if $n55_with "$@" >"$T_TMP/cc.log" 2>&1; then
        return 0
    fi
    fail "$n55_name: compile" "$(head -30 "$T_TMP/cc.log")"
    return 1
}

. tests/difftest/lib.sh
N55_HOST_CC="$N55_CC $N55_CFLAGS"
# The cross compiler as the AArch64 programs are built: the neon target's, at -O1.
N55_NEON_CC=$(dt_cc neon | sed 's/-O2/-O1/')

# The harness (tests/unit/test_generated.c) and the reference layers are compiled once for each
# architecture, with our own warnings, and linked into the program of every model and target:
# the harness reads the model as n55_model, which the link points at the model's table
# (--defsym), so that one object serves every model.
N55_FLAGS="-std=c11 -Wall -Wextra -Werror -Iruntime -Itests/unit -Iruntime/ref -DMODEL_SYM=n55_model"
# n55_objects ARCH COMPILER: the objects into $N55_DIR/ARCH; returns 1 (after a fail) when one
# does not compile.
n55_objects() {
    mkdir -p "$N55_DIR/$1"
    for n55_src in tests/unit/test_generated.c runtime/ref/*.c; do
        # shellcheck disable=SC2086
        n55_cc "numerics/$1 harness" "$2" $N55_FLAGS -c -o "$N55_DIR/$1/$(basename "$n55_src" .c).o" "$n55_src" ||
            return 1
    done
}
N55_REF_OBJ=""
if n55_objects host "$N55_HOST_CC"; then
    N55_REF_OBJ=$(ls "$N55_DIR"/host/*.o | grep -v '/test_generated\.o$')
fi

# shellcheck disable=SC2086
if [ -n "$N55_REF_OBJ" ] && n55_cc numerics/ref_gradcheck "$N55_HOST_CC" $N55_FLAGS -o "$N55_DIR/ref_gradcheck" \
    tests/unit/test_ref_gradcheck.c $N55_REF_OBJ $N55_LDFLAGS -lm; then
    n55_run numerics/ numerics/ref_gradcheck "$N55_DIR/ref_gradcheck"
fi

# The harness itself, on a model computed by the reference network (tests/unit/ref_backed_model.c):
# it must accept it, and must reject it once its gradients are 0.1% off.
# n55_harness OUTPUT FLAGS...: the harness linked with ref_backed_model.c compiled with FLAGS.
n55_harness() {
    n55_out=$1
    shift
    # shellcheck disable=SC2086
    [ -n "$N55_REF_OBJ" ] && n55_cc "numerics/$(basename "$n55_out")" "$N55_HOST_CC" $N55_FLAGS "$@" -c -o "$n55_out.o" \
        tests/unit/ref_backed_model.c &&
        n55_cc "numerics/$(basename "$n55_out")" "$N55_HOST_CC" -o "$n55_out" "$N55_DIR/host/test_generated.o" \
            $N55_REF_OBJ "$n55_out.o" -Wl,--defsym=n55_model=t_dense_acts_model $N55_LDFLAGS -lm
}
if n55_harness "$N55_DIR/harness"; then
    n55_run "numerics/harness: " numerics/harness "$N55_DIR/harness"
fi
if n55_harness "$N55_DIR/harness_wrong" -DINJECT_GRADIENT_ERROR; then
    if "$N55_DIR/harness_wrong" >"$T_TMP/n55.out" 2>"$T_TMP/n55.err"; then
        fail "numerics/harness catches a 0.1% gradient error" "the harness passed a wrong model"
    elif grep -q '^FAIL t_dense_acts backward$' "$T_TMP/n55.out" &&
        ! grep -q -e 'runtime error:' -e 'Sanitizer' "$T_TMP/n55.err"; then
        pass "numerics/harness catches a 0.1% gradient error"
    else
        fail "numerics/harness catches a 0.1% gradient error" "$(cat "$T_TMP/n55.out")" "$(head -20 "$T_TMP/n55.err")"
    fi
fi

# Every target this machine runs (tests/difftest/lib.sh: generic and x86-64, avx2 and avx512
# where the CPU has them, neon through qemu-aarch64 with the cross compiler). Each model is
# generated for each, compiled as users compile it (strict C99, the target's own flags, at -O1
# to keep the suite short) and checked against the reference layers.
# n55_case MODEL TARGET: one model on one target (a t_jobs case).
n55_case() {
    n55_base=$(basename "$1" .cnn)
    n55_t=$2
    n55_name="numerics/$n55_t/$n55_base"
    n55_w=$N55_DIR/$n55_t/$n55_base
    mkdir -p "$n55_w"
    if ! "$CNNC" emit "$1" --target "$n55_t" -o "$n55_w" >"$T_TMP/emit.log" 2>&1; then
        fail "$n55_name: cnnc emit" "$(head -30 "$T_TMP/emit.log")"
        return
    fi
    n55_link=$N55_HOST_CC n55_arch=host n55_libs=$N55_LDFLAGS
    [ "$n55_t" = neon ] && n55_link=$N55_NEON_CC n55_arch=aarch64 n55_libs=""
    # shellcheck disable=SC2086
    n55_cc "$n55_name" "$(dt_cc "$n55_t" | sed 's/-O2/-O1/')" -std=c99 -Iruntime -c -o "$n55_w/model.o" \
        "$n55_w/$n55_base.c" &&
        n55_cc "$n55_name" "$n55_link" -o "$n55_w/check" "$N55_DIR/$n55_arch"/*.o "$n55_w/model.o" \
            -Wl,--defsym=n55_model="${n55_base}_model" $n55_libs -lm &&
        n55_run "numerics/$n55_t/" "$n55_name" dt_run "$n55_t" "$n55_w/check"
}
N55_TARGETS=""
for n55_t in generic x86-64 avx2 avx512 neon; do
    dt_runnable "$n55_t" || continue
    [ "$n55_t" = neon ] && ! n55_objects aarch64 "$N55_NEON_CC" && continue
    N55_TARGETS="$N55_TARGETS $n55_t"
done
# The test models, which between them hold every layer kind, on every target this machine
# executes; the seed model on every target, neon (under qemu) included; LeNet-5 on neon and the
# host's; resnet_mnist (batchnorm, the residual adds) on the host's. make test-full
# (CNNC_TEST_FULL=1) adds the test models on neon, LeNet-5 on every target, resnet_mnist on the
# plain-C target, and fashion_cnn and mlp on both. The slowest cases first.
N55_HOST=$("$CNNC" summary models/mnist_cnn.cnn --format json 2>/dev/null | sed -n 's/.*"target": "\([^"]*\)".*/\1/p')
: >"$N55_DIR/cases"
if [ -n "$N55_REF_OBJ" ]; then
    for n55_model in models/lenet5.cnn models/resnet_mnist.cnn models/mnist_cnn.cnn models/fashion_cnn.cnn \
        models/mlp.cnn tests/models/t_*.cnn; do
        for n55_t in $N55_TARGETS; do
            case $(basename "$n55_model" .cnn) in
            lenet5) [ "$n55_t" = neon ] || [ "$n55_t" = "$N55_HOST" ] || t_full || continue ;;
            resnet_mnist) [ "$n55_t" = "$N55_HOST" ] || { t_full && [ "$n55_t" = generic ]; } || continue ;;
            mlp | fashion_cnn) t_full && { [ "$n55_t" = generic ] || [ "$n55_t" = "$N55_HOST" ]; } || continue ;;
            t_*) [ "$(dt_arch "$n55_t")" = host ] || t_full || continue ;;
            esac
            echo "$n55_model $n55_t" >>"$N55_DIR/cases"
        done
    done
fi
t_jobs n55_case "$N55_DIR/cases"
