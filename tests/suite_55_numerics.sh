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
mkdir -p "$N55_DIR/gen"

# n55_run PREFIX NAME PROGRAM: turns the program's verdict lines into passes and fails named
# PREFIX and the rest of the line. A crash, a sanitizer report or a failing status without a
# FAIL line fails NAME itself.
n55_run() {
    n55_prefix=$1
    n55_name=$2
    shift 2
    "$@" >"$N55_DIR/out" 2>"$N55_DIR/err"
    n55_status=$?
    while read -r n55_verdict n55_rest; do
        case $n55_verdict in
        ok) pass "$n55_prefix$n55_rest" ;;
        FAIL) fail "$n55_prefix$n55_rest" "$(head -30 "$N55_DIR/err")" ;;
        esac
    done <"$N55_DIR/out"
    if grep -q -e 'runtime error:' -e 'AddressSanitizer' -e 'LeakSanitizer' "$N55_DIR/err"; then
        fail "$n55_name" "sanitizer report:" "$(head -30 "$N55_DIR/err")"
    elif [ "$n55_status" -ne 0 ] && ! grep -q '^FAIL' "$N55_DIR/out"; then
        fail "$n55_name" "exit status $n55_status" "$(head -30 "$N55_DIR/err")"
    elif ! grep -q '^ok' "$N55_DIR/out"; then
        fail "$n55_name" "no checks ran"
    fi
}

# n55_cc NAME OUTPUT ARGS...: compiles a test program; a failure to compile is a fail of NAME.
n55_cc() {
    n55_name=$1
    shift
    # shellcheck disable=SC2086
    if $N55_CC $N55_CFLAGS "$@" $N55_LDFLAGS -lm >"$N55_DIR/cc.log" 2>&1; then
        return 0
    fi
    fail "$n55_name: compile" "$(head -30 "$N55_DIR/cc.log")"
    return 1
}

N55_REF="-Iruntime/ref $(echo runtime/ref/*.c)"

# shellcheck disable=SC2086
if n55_cc numerics/ref_gradcheck -std=c11 -Wall -Wextra -Werror -Iruntime -Itests/unit \
    -o "$N55_DIR/ref_gradcheck" tests/unit/test_ref_gradcheck.c $N55_REF; then
    n55_run numerics/ numerics/ref_gradcheck "$N55_DIR/ref_gradcheck"
fi

# The harness itself, on a model computed by the reference network (tests/unit/ref_backed_model.c):
# it must accept it, and must reject it once its gradients are 0.1% off.
N55_HARNESS="-std=c11 -Wall -Wextra -Werror -Iruntime -Itests/unit -DMODEL_SYM=t_dense_acts_model
    tests/unit/test_generated.c tests/unit/ref_backed_model.c $N55_REF"
# shellcheck disable=SC2086
if n55_cc numerics/harness -o "$N55_DIR/harness" $N55_HARNESS; then
    n55_run "numerics/harness: " numerics/harness "$N55_DIR/harness"
fi
# shellcheck disable=SC2086
if n55_cc numerics/harness_wrong -DINJECT_GRADIENT_ERROR -o "$N55_DIR/harness_wrong" $N55_HARNESS; then
    if "$N55_DIR/harness_wrong" >"$N55_DIR/out" 2>"$N55_DIR/err"; then
        fail "numerics/harness catches a 0.1% gradient error" "the harness passed a wrong model"
    elif grep -q '^FAIL t_dense_acts backward$' "$N55_DIR/out" &&
        ! grep -q -e 'runtime error:' -e 'Sanitizer' "$N55_DIR/err"; then
        pass "numerics/harness catches a 0.1% gradient error"
    else
        fail "numerics/harness catches a 0.1% gradient error" "$(cat "$N55_DIR/out")" "$(head -20 "$N55_DIR/err")"
    fi
fi

# Every target this machine runs (tests/difftest/lib.sh: generic and x86-64, avx2 and avx512
# where the CPU has them, neon through qemu-aarch64 with the cross compiler). Each model is
# generated for each, compiled as users compile it (strict C99, the target's own flags) and
# checked against the reference layers; the harness and the reference layers are compiled with
# our own warnings, for the same machine. The three largest models are checked on the plain-C
# target and the host's only, to keep the suite short.
. tests/difftest/lib.sh
N55_TARGETS=""
for n55_t in generic x86-64 avx2 avx512 neon; do
    dt_runnable "$n55_t" && N55_TARGETS="$N55_TARGETS $n55_t"
done
N55_HOST=$("$CNNC" summary models/mnist_cnn.cnn --format json 2>/dev/null | sed -n 's/.*"target": "\([^"]*\)".*/\1/p')
for n55_model in tests/models/t_*.cnn models/mnist_cnn.cnn models/lenet5.cnn models/mlp.cnn \
    models/fashion_cnn.cnn models/resnet_mnist.cnn; do
    [ -e "$n55_model" ] || continue
    n55_base=$(basename "$n55_model" .cnn)
    for n55_t in $N55_TARGETS; do
        case $n55_base in mlp | fashion_cnn | resnet_mnist) [ "$n55_t" = generic ] || [ "$n55_t" = "$N55_HOST" ] || continue ;; esac
        n55_name="numerics/$n55_t/$n55_base"
        if ! "$CNNC" emit "$n55_model" --target "$n55_t" -o "$N55_DIR/gen/$n55_t" >"$N55_DIR/emit.log" 2>&1; then
            fail "$n55_name: cnnc emit" "$(head -30 "$N55_DIR/emit.log")"
            continue
        fi
        # The model at -O1, to keep the suite short; the cross-built programs without this
        # machine's sanitizer flags.
        n55_tcc=$(dt_cc "$n55_t" | sed 's/-O2/-O1/')
        n55_harness="-std=c11 -Wall -Wextra -Werror -Iruntime -Itests/unit -DMODEL_SYM=${n55_base}_model
            -o $N55_DIR/$n55_base tests/unit/test_generated.c $N55_REF $N55_DIR/$n55_base.o"
        # shellcheck disable=SC2086
        if ! $n55_tcc -std=c99 -Iruntime -c -o "$N55_DIR/$n55_base.o" "$N55_DIR/gen/$n55_t/$n55_base.c" \
            >"$N55_DIR/cc.log" 2>&1; then
            fail "$n55_name: compile" "$(head -30 "$N55_DIR/cc.log")"
        elif [ "$n55_t" = neon ]; then
            # shellcheck disable=SC2086
            if $n55_tcc $n55_harness -lm >"$N55_DIR/cc.log" 2>&1; then
                n55_run "numerics/$n55_t/" "$n55_name" dt_run "$n55_t" "$N55_DIR/$n55_base"
            else
                fail "$n55_name: compile" "$(head -30 "$N55_DIR/cc.log")"
            fi
        else
            # shellcheck disable=SC2086
            n55_cc "$n55_name" $n55_harness && n55_run "numerics/$n55_t/" "$n55_name" "$N55_DIR/$n55_base"
        fi
    done
done
