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

# Where the compiler targets AVX-512 on this host, the small models and the seed model are also
# compiled as cnnc build compiles them, so that the vector-extension kernels are checked too.
N55_NATIVE=""
if echo | $N55_CC -march=native -dM -E - 2>/dev/null | grep -q __AVX512F__; then
    N55_NATIVE="-O2 -march=native"
fi

# The generated models: the small test models, then the seed models at their real size. The generated C is compiled as users compile it (C99); the harness and
# the reference layers with our own warnings.
for n55_model in tests/models/t_*.cnn models/mnist_cnn.cnn models/lenet5.cnn models/mlp.cnn \
    models/fashion_cnn.cnn; do
    [ -e "$n55_model" ] || continue
    n55_base=$(basename "$n55_model" .cnn)
    if ! "$CNNC" emit "$n55_model" -o "$N55_DIR/gen" >"$N55_DIR/emit.log" 2>&1; then
        fail "numerics/$n55_base: cnnc emit" "$(head -30 "$N55_DIR/emit.log")"
        continue
    fi
    # Dropout masks may hash with the runtime's helpers: link the runtime when it is built.
    n55_rt=""
    [ -f "$BUILD/libcnnrt.a" ] && n55_rt="$BUILD/libcnnrt.a -lz -lpthread"
    # shellcheck disable=SC2086
    if n55_cc "numerics/$n55_base" -std=c99 -Iruntime -c -o "$N55_DIR/$n55_base.o" "$N55_DIR/gen/$n55_base.c" &&
        n55_cc "numerics/$n55_base" -std=c11 -Wall -Wextra -Werror -Iruntime -Itests/unit \
            -DMODEL_SYM="${n55_base}_model" -o "$N55_DIR/$n55_base" tests/unit/test_generated.c \
            $N55_REF "$N55_DIR/$n55_base.o" $n55_rt; then
        n55_run numerics/ "numerics/$n55_base" "$N55_DIR/$n55_base"
    fi
    case $n55_base in t_* | mnist_cnn) ;; *) continue ;; esac
    [ -n "$N55_NATIVE" ] || continue
    # shellcheck disable=SC2086
    if n55_cc "numerics/native/$n55_base" -std=c99 $N55_NATIVE -Iruntime -c -o "$N55_DIR/$n55_base.o" \
        "$N55_DIR/gen/$n55_base.c" &&
        n55_cc "numerics/native/$n55_base" -std=c11 -Wall -Wextra -Werror -Iruntime -Itests/unit \
            -DMODEL_SYM="${n55_base}_model" -o "$N55_DIR/$n55_base" tests/unit/test_generated.c \
            $N55_REF "$N55_DIR/$n55_base.o" $n55_rt; then
        n55_run "numerics/native: " "numerics/native/$n55_base" "$N55_DIR/$n55_base"
    fi
done
