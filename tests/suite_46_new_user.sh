# Suite 46: what a new user of the compiler hit (issue 16): idx(...) paths relative to the
# model file, recorded absolute in the generated code, so that the program trains from any
# directory; a UTF-8 byte order mark at the start of a .cnn file; "did you mean" for
# hyper-parameters spelt as other frameworks spell them (adam(lr=...)); `cnnc plot` of a
# Keras CSVLogger file.
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

# ---------------------------------------------------------------- a byte order mark
# Editors on Windows start UTF-8 files with EF BB BF; it is not part of the model.
{ printf '\357\273\277'; cat models/mnist_cnn.cnn; } >"$NU_DIR/bom.cnn"
nu_expect "new-user/bom: a .cnn file with a BOM checks" 0 '' "$CNNC" check "$NU_DIR/bom.cnn"
nu_expect "new-user/bom: and emits the same C" 0 '' "$CNNC" emit "$NU_DIR/bom.cnn" -o "$NU_DIR/bom"
same_file "new-user/bom: the same C" generated/mnist_cnn.c "$NU_DIR/bom/mnist_cnn.c"
# Only at the very start: elsewhere it is a stray character, located.
{ cat models/mnist_cnn.cnn; printf '\357\273\277\n'; } >"$NU_DIR/bom-late.cnn"
nu_expect "new-user/bom: not in the middle" 1 "bom-late.cnn:" "$CNNC" check "$NU_DIR/bom-late.cnn"

# ---------------------------------------------------------------- did you mean
sed 's/adam(learning_rate=0.001)/adam(lr=0.001)/' models/mnist_cnn.cnn >"$NU_DIR/lr.cnn"
nu_expect "new-user/did-you-mean: adam(lr=)" 1 "unknown argument 'lr' for adam; did you mean 'learning_rate'?" \
    "$CNNC" check "$NU_DIR/lr.cnn"
sed 's/adam(learning_rate=0.001)/adam(learning_rate=0.001, eps=1e-8, beta1=0.8)/' models/mnist_cnn.cnn >"$NU_DIR/eps.cnn"
nu_expect "new-user/did-you-mean: adam(eps=)" 1 "unknown argument 'eps' for adam; did you mean 'epsilon'?" \
    "$CNNC" check "$NU_DIR/eps.cnn"
nu_expect "new-user/did-you-mean: adam(beta1=)" 1 "unknown argument 'beta1' for adam; did you mean 'beta_1'?" \
    "$CNNC" check "$NU_DIR/eps.cnn"

# ---------------------------------------------------------------- cnnc plot of a Keras history
nu_expect "new-user/plot: a Keras CSVLogger file" 0 '' "$CNNC" plot tests/train/keras_csvlogger.csv -o "$NU_DIR/keras.png"
if [ "$(head -c 4 "$NU_DIR/keras.png" 2>/dev/null | od -An -c | tr -d ' ')" = '211PNG' ]; then pass "new-user/plot: a PNG"
else fail "new-user/plot: a PNG" "no PNG written"; fi
