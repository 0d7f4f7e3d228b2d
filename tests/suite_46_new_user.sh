# Suite 46: what a new user of the compiler hit (issue 16): idx(...) paths relative to the
# model file, recorded absolute in the generated code, so that the program trains from any
# directory.
# Sourced by tests/run.sh. CC, CFLAGS and LDFLAGS must match the build (e.g. the sanitizers).

NU_DIR=$T_TMP/new_user
mkdir -p "$NU_DIR"
NU_DATA=$(mnist_dir)

# nu_expect NAME STATUS PATTERN COMMAND...: the command exits with STATUS (never a signal, no
# sanitizer report) and its stdout or stderr holds PATTERN (a fixed string; '' for any).
nu_expect() {
    nu_name=$1 nu_want=$2 nu_pattern=$3
    shift 3
    "$@" >"$NU_DIR/out" 2>"$NU_DIR/err" </dev/null
    nu_got=$?
    if [ "$nu_got" -ge 128 ] || grep -q -e 'runtime error:' -e 'AddressSanitizer' -e 'LeakSanitizer' "$NU_DIR/err"; then
        fail "$nu_name" "status $nu_got" "$(head -20 "$NU_DIR/err")"
    elif [ "$nu_got" != "$nu_want" ]; then
        fail "$nu_name" "exit status $nu_got, expected $nu_want" "$(head -20 "$NU_DIR/out" "$NU_DIR/err")"
    elif [ -n "$nu_pattern" ] && ! cat "$NU_DIR/out" "$NU_DIR/err" | grep -qF -e "$nu_pattern"; then
        fail "$nu_name" "no '$nu_pattern' in:" "$(head -20 "$NU_DIR/out" "$NU_DIR/err")"
    else
        pass "$nu_name"
    fi
}

# ---------------------------------------------------------------- idx(...) paths
# The model file in project/models/ names its data ../data/...: relative to itself. Built
# from the repository and run from /, the program finds it.
if [ -z "$NU_DATA" ]; then
    fail "new-user/idx: data" "no MNIST files: run 'make data' or set CNNC_DATA_DIR"
else
    mkdir -p "$NU_DIR/project/models" "$NU_DIR/project/data" "$NU_DIR/bin"
    for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
        ln -sf "$(cd "$NU_DATA" && pwd)/$f.gz" "$NU_DIR/project/data/$f.gz"
    done
    cat >"$NU_DIR/project/models/digits.cnn" <<'CNN'
model digits {
    input 28x28x1;
    flatten;
    dense(units=10, activation=softmax);
}
train {
    dataset idx("../data/train-images-idx3-ubyte.gz", "../data/train-labels-idx1-ubyte.gz",
                "../data/t10k-images-idx3-ubyte.gz", "../data/t10k-labels-idx1-ubyte.gz");
    epochs 1;
}
CNN
    nu_expect "new-user/idx: emits" 0 '' "$CNNC" emit "$NU_DIR/project/models/digits.cnn" -o "$NU_DIR/gen"
    nu_abs=$(cd "$NU_DIR/project" && pwd)
    if grep -qF "\"$nu_abs/models/../data/train-images-idx3-ubyte.gz\"" "$NU_DIR/gen/digits.c"; then
        pass "new-user/idx: the generated code records the path resolved"
    else
        fail "new-user/idx: the generated code records the path resolved" "$(grep -n idx_paths "$NU_DIR/gen/digits.c")"
    fi
    if out=$(CFLAGS="${CFLAGS:--O1}" "$CNNC" build "$NU_DIR/project/models/digits.cnn" -o "$NU_DIR/bin/digits" 2>&1); then
        nu_expect "new-user/idx: trains from any directory" 0 "16/16 [" \
            sh -c "cd / && '$NU_DIR/bin/digits' train --limit 500 --validation-limit 100"
    else
        fail "new-user/idx: builds" "$out"
    fi
fi
