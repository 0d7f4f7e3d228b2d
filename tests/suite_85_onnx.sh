# Suite 85: ONNX in and out, `cnnc export` and `cnnc import` (contract section 7, issue 20),
# against oracles from outside the project: ONNX Runtime (npm's onnxruntime-node, installed
# here with `npm ci --ignore-scripts` from tests/onnx/package-lock.json), onnx.checker
# (Debian's python3-onnx) and PyTorch (Debian's python3-torch, torch.onnx.export). Missing
# oracles are installed (mk/deps.sh); one that cannot be is a failure, never a skip.
#
#   export      every model in models/: onnx.checker accepts the file; ONNX Runtime's outputs on
#               100 test images equal the program's cnn_classify (what `PROGRAM predict` runs)
#               within 1e-5; also --logits and the newest opset
#   round trip  export then import: the same canonical model and bit-identical weights and
#               state (every model in models/ and tests/models, graph layers included)
#   import      the seed model, LeNet-5, the residual network of models/resnet_mnist.cnn and an
#               Inception-style network (torch.cat of four branches) written in PyTorch with
#               random weights, exported by torch.onnx.export, imported and built: probabilities
#               within 1e-5 of torch's (eval mode) on 100 images; then one epoch of training
#               from the imported weights
#   bad input   truncated files, wrong tensor types, overflowing dimensions, missing
#               initializers, cycles, deep nesting and what cnnc cannot express: refused with
#               the node and the reason, exit 1, nothing written, nothing crashed
# Sourced by tests/run.sh.

OX_DIR=$T_TMP/onnx
OX_PY=/usr/bin/python3
OX_N=100
OX_TOL=1e-5
OX_ORT=$BUILD/onnx-oracle
mkdir -p "$OX_DIR"

# ox_run NAME COMMAND...: runs it with its output in $T_TMP/ox.out; a fail naming NAME if it fails.
ox_run() {
    or_name=$1
    shift
    if "$@" >"$T_TMP/ox.out" 2>&1; then return 0; fi
    fail "$or_name" "$(tail -15 "$T_TMP/ox.out")"
    return 1
}

# ox_setup: the oracles, or a fail for each one missing.
ox_setup() {
    ox_ok=1
    if ! t_deps python3-onnx python3-torch python3-numpy >"$OX_DIR/deps" 2>&1 ||
        ! "$OX_PY" -c 'import onnx, torch, numpy' >>"$OX_DIR/deps" 2>&1; then
        fail "onnx/setup: python3-onnx and python3-torch (Debian) for $OX_PY" "$(tail -5 "$OX_DIR/deps")"
        ox_ok=0
    fi
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        t_deps nodejs npm >"$OX_DIR/deps" 2>&1
    fi
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        fail "onnx/setup: node and npm, for ONNX Runtime" "$(tail -5 "$OX_DIR/deps" 2>/dev/null)"
        return 1
    fi
    # ONNX Runtime's CPU library ships inside the package; its install script would download
    # from outside, hence --ignore-scripts. Reinstalled when the lockfile changes.
    if ! cmp -s tests/onnx/package-lock.json "$OX_ORT/package-lock.json" ||
        [ ! -d "$OX_ORT/node_modules/onnxruntime-node" ]; then
        rm -rf "$OX_ORT"
        mkdir -p "$OX_ORT"
        cp tests/onnx/package.json tests/onnx/package-lock.json "$OX_ORT/"
        if ! (cd "$OX_ORT" && npm ci --ignore-scripts --no-audit --no-fund) >"$OX_DIR/npm" 2>&1; then
            fail "onnx/setup: npm ci --ignore-scripts onnxruntime-node" "$(tail -10 "$OX_DIR/npm")"
            rm -rf "$OX_ORT"
            return 1
        fi
    fi
    if ! ORT_PREFIX=$OX_ORT node -e 'require(require("path").resolve(process.env.ORT_PREFIX, "node_modules", "onnxruntime-node"))' \
        >"$OX_DIR/ort" 2>&1; then
        fail "onnx/setup: ONNX Runtime loads in node" "$(tail -5 "$OX_DIR/ort")"
        return 1
    fi
    [ $ox_ok = 1 ]
}

# ox_program DIR MODEL_FILE NAME: the program `cnnc build` makes, for this machine's target (what
# `PROGRAM predict` runs), with tests/unit/infer_ref.c's dump (cn_classify's outputs with 9
# digits), as DIR/infer_ref.
ox_program() {
    # shellcheck disable=SC2086
    ox_run "onnx/$3: build" sh -c "\"$CNNC\" emit \"$2\" --target $OX_TARGET -o \"$1\" &&
        ${CC:-cc} -std=c11 -Wall -Wextra -Werror ${CFLAGS:--O2} $(dt_target_flags $OX_TARGET) -Iruntime -Iruntime/app -I\"$1\" \
        -DMODEL_SYM=$3_model -o \"$1/infer_ref\" tests/unit/infer_ref.c \"$1/$3.c\" \
        $BUILD/libcnnapp.a $BUILD/libcnnplot.a $BUILD/libcnnrt.a ${LDFLAGS:-} -lplplot -lpng -lz -lm -pthread"
}

# ox_compare NAME EXPECTED ACTUAL: within $OX_TOL; the max difference as a note.
ox_compare() {
    if python3 tests/onnx/compare.py "$2" "$3" $OX_TOL >"$T_TMP/ox.cmp" 2>&1; then
        pass "$1"
        echo "  note $1: $(cat "$T_TMP/ox.cmp")"
    else
        fail "$1" "$(cat "$T_TMP/ox.cmp")"
    fi
}

ox_checker() {
    ox_run "$1" "$OX_PY" -c 'import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)' "$2" &&
        pass "$1"
}

# The canonical text of a model (the banner of its generated C).
ox_canonical() {
    sed -n '/canonical text:/,/^ \*\//p' "$1"
}

# ox_export NAME [FILE]: trains FILE (models/NAME.cnn) briefly, exports it, runs the checks of the
# export and round-trip groups.
ox_export() {
    m=$1
    oe_file=${2:-models/$m.cnn}
    d=$OX_DIR/export/$m
    mkdir -p "$d/img" "$d/rt"
    ox_program "$d" "$oe_file" "$m" || return 0
    ox_run "onnx/export/$m: train" "$d/infer_ref" train --data "$OX_DATA" --limit 1000 --epochs 1 \
        --save "$d/ck.safetensors" --quiet || return 0
    ox_run "onnx/export/$m: outputs of the program" sh -c "\"$d/infer_ref\" dump \"$d/ck.safetensors\" \
        \"$OX_DATA/t10k-images-idx3-ubyte.gz\" $OX_N \"$d/img\" >\"$d/cnnc.txt\"" || return 0
    ox_run "onnx/export/$m: cnnc export" "$CNNC" export "$oe_file" --weights "$d/ck.safetensors" \
        -o "$d/$m.onnx" || return 0
    ox_checker "onnx/export/$m: onnx.checker accepts it" "$d/$m.onnx"
    ox_run "onnx/export/$m: ONNX Runtime" sh -c "ORT_PREFIX=\"$OX_ORT\" node tests/onnx/ort_run.js \"$d/$m.onnx\" \
        \"$d/img/images.u8\" $OX_N 28 28 1 >\"$d/ort.txt\"" &&
        ox_compare "onnx/export/$m: ONNX Runtime = PROGRAM predict within $OX_TOL" "$d/cnnc.txt" "$d/ort.txt"
    # The first image's class and probability as `PROGRAM predict` prints them.
    "$d/infer_ref" predict --load "$d/ck.safetensors" "$d/img/0000.pgm" >"$d/predict.txt" 2>&1
    if awk 'NR == 1 { print $2 }' "$d/predict.txt" | grep -qx "$(awk 'NR == 1 { print $1 }' "$d/ort.txt")"; then
        pass "onnx/export/$m: ONNX Runtime's class of the first image is PROGRAM predict's"
    else
        fail "onnx/export/$m: ONNX Runtime's class of the first image is PROGRAM predict's" "$(cat "$d/predict.txt")"
    fi

    # Round trip: the same canonical model (train block included: it travels in the metadata)
    # and the checkpoint's parameters bit for bit.
    ox_run "onnx/roundtrip/$m: cnnc import" "$CNNC" import "$d/$m.onnx" -o "$d/rt" || return 0
    ox_run "onnx/roundtrip/$m: emit" "$CNNC" emit "$d/rt/$m.cnn" -o "$d/rt/gen" || return 0
    ox_canonical "$d/$m.c" >"$d/canon.want"
    ox_canonical "$d/rt/gen/$m.c" >"$d/canon.got"
    same_file "onnx/roundtrip/$m: the same canonical model" "$d/canon.want" "$d/canon.got"
    ox_run "onnx/roundtrip/$m: bit-identical weights" python3 tests/onnx/same_weights.py "$d/ck.safetensors" \
        "$d/rt/$m.safetensors" && pass "onnx/roundtrip/$m: bit-identical weights"
}

# ox_roundtrip_small MODEL: a test model (tests/models: standalone activations, same pooling,
# strides, dropout, idx datasets, mean squared error) with random weights, exported and
# imported again: onnx.checker accepts it, the same canonical model and weights come back.
ox_roundtrip_small() {
    m=$(basename "$1" .cnn)
    d=$OX_DIR/small/$m
    mkdir -p "$d/rt"
    ox_run "onnx/roundtrip/$m: random weights" sh -c "\"$CNNC\" summary \"$1\" --format json |
        python3 tests/onnx/random_ckpt.py \"$d/ck.safetensors\" 85" || return 0
    ox_run "onnx/roundtrip/$m: cnnc export" "$CNNC" export "$1" --weights "$d/ck.safetensors" -o "$d/$m.onnx" ||
        return 0
    ox_checker "onnx/roundtrip/$m: onnx.checker accepts it" "$d/$m.onnx"
    ox_run "onnx/roundtrip/$m: cnnc import" "$CNNC" import "$d/$m.onnx" -o "$d/rt" || return 0
    ox_run "onnx/roundtrip/$m: emit" sh -c "\"$CNNC\" emit \"$1\" -o \"$d\" && \"$CNNC\" emit \"$d/rt/$m.cnn\" -o \"$d/rt/gen\"" ||
        return 0
    ox_canonical "$d/$m.c" >"$d/canon.want"
    ox_canonical "$d/rt/gen/$m.c" >"$d/canon.got"
    same_file "onnx/roundtrip/$m: the same canonical model" "$d/canon.want" "$d/canon.got"
    ox_run "onnx/roundtrip/$m: bit-identical weights" python3 tests/onnx/same_weights.py "$d/ck.safetensors" \
        "$d/rt/$m.safetensors" && pass "onnx/roundtrip/$m: bit-identical weights"
}

# ox_import NAME: NAME written in PyTorch, exported, imported, built, compared, trained.
ox_import() {
    m=$1
    d=$OX_DIR/import/$m
    mkdir -p "$d/img" "$d/cnn"
    ox_run "onnx/import/$m: torch.onnx.export" "$OX_PY" tests/onnx/torch_models.py "$m" "$OX_IMAGES" $OX_N "$d" ||
        return 0
    ox_run "onnx/import/$m: cnnc import" "$CNNC" import "$d/$m.onnx" -o "$d/cnn" || return 0
    ox_program "$d" "$d/cnn/$m.cnn" "$m" || return 0
    ox_run "onnx/import/$m: outputs of the program" sh -c "\"$d/infer_ref\" dump \"$d/cnn/$m.safetensors\" \
        \"$OX_DATA/t10k-images-idx3-ubyte.gz\" $OX_N \"$d/img\" >\"$d/cnnc.txt\"" || return 0
    ox_compare "onnx/import/$m: cnnc = torch within $OX_TOL" "$d/$m.torch.txt" "$d/cnnc.txt"
    # The imported model trains: one epoch on 640 images from the imported weights.
    ox_run "onnx/import/$m: trains" "$d/infer_ref" train --data "$OX_DATA" --load "$d/cnn/$m.safetensors" \
        --limit 640 --epochs 1 --history "$d/history.csv" --save "$d/tuned.safetensors" --quiet || return 0
    if awk -F, 'NR == 2 && $2 + 0 == $2 && $2 > 0 && $2 < 100 { ok = 1 } END { exit !ok }' "$d/history.csv"; then
        pass "onnx/import/$m: trains (loss $(awk -F, 'NR == 2 { print $2 }' "$d/history.csv"))"
    else
        fail "onnx/import/$m: trains" "$(cat "$d/history.csv")"
    fi
}

# ox_import_file NAME DIMS: tests/onnx/bad_models.py's NAME.onnx (written as PyTorch or Keras
# write models), imported and built; cnnc's outputs against ONNX Runtime's on the file itself,
# whose input is DIMS (N C H W or N H W C: the same bytes, with one channel).
ox_import_file() {
    m=$1
    d=$OX_DIR/import/$m
    mkdir -p "$d/img" "$d/cnn"
    ox_run "onnx/import/$m: cnnc import" "$CNNC" import "$OX_DIR/bad/$m.onnx" -o "$d/cnn" || return 0
    ox_program "$d" "$d/cnn/$m.cnn" "$m" || return 0
    ox_run "onnx/import/$m: outputs of the program" sh -c "\"$d/infer_ref\" dump \"$d/cnn/$m.safetensors\" \
        \"$OX_DATA/t10k-images-idx3-ubyte.gz\" $OX_N \"$d/img\" >\"$d/cnnc.txt\"" || return 0
    ox_run "onnx/import/$m: ONNX Runtime" sh -c "ORT_PREFIX=\"$OX_ORT\" node tests/onnx/ort_run.js \
        \"$OX_DIR/bad/$m.onnx\" \"$d/img/images.u8\" $2 >\"$d/ort.txt\"" &&
        ox_compare "onnx/import/$m: cnnc = ONNX Runtime on the file within $OX_TOL" "$d/ort.txt" "$d/cnnc.txt"
}

# ox_bad FILE PATTERN: import refuses FILE with a message matching PATTERN, exit 1, nothing written.
ox_bad() {
    b=$(basename "$1" .onnx)
    out=$OX_DIR/bad/out_$b
    mkdir -p "$out"
    "$CNNC" import "$1" -o "$out" >"$OX_DIR/bad/$b.out" 2>"$OX_DIR/bad/$b.err" </dev/null
    st=$?
    if [ $st -ne 1 ] || ! grep -q -e "$2" "$OX_DIR/bad/$b.err" || [ -n "$(ls -A "$out")" ] ||
        grep -q -e 'runtime error:' -e 'Sanitizer' "$OX_DIR/bad/$b.err"; then
        fail "onnx/bad/$b" "status $st (want 1), files written: $(ls -A "$out" | tr '\n' ' ')" \
            "want: $2" "$(head -5 "$OX_DIR/bad/$b.err")"
    else
        pass "onnx/bad/$b"
    fi
}

ox_bad_inputs() {
    mkdir -p "$OX_DIR/bad"
    good=$OX_DIR/export/mnist_cnn/mnist_cnn.onnx
    [ -f "$good" ] || { fail "onnx/bad: needs the exported seed model"; return 0; }
    ox_run "onnx/bad: write the files" "$OX_PY" tests/onnx/bad_models.py "$good" "$OX_DIR/bad" || return 0
    ox_bad "$OX_DIR/bad/truncated.onnx" "malformed or truncated"
    ox_bad "$OX_DIR/bad/truncated_header.onnx" "malformed or truncated"
    ox_bad "$OX_DIR/bad/empty.onnx" "the file is empty"
    ox_bad "$OX_DIR/bad/text.onnx" "not an ONNX model"
    ox_bad "$OX_DIR/bad/nesting.onnx" "nest deeper than 32 levels"
    ox_bad "$OX_DIR/bad/double_kernel.onnx" "node 'conv' (Conv): the kernel 'W' is DOUBLE; cnnc takes FLOAT"
    ox_bad "$OX_DIR/bad/int_input.onnx" "input 'x' is INT64"
    ox_bad "$OX_DIR/bad/overflow_dims.onnx" "node 'conv' (Conv): the kernel 'W' has dimensions whose product overflows"
    ox_bad "$OX_DIR/bad/short_data.onnx" "holds 20 bytes of raw data; its dims need 144"
    ox_bad "$OX_DIR/bad/missing_initializer.onnx" "node 'conv' (Conv): reads 'W', which no node, initializer or input"
    ox_bad "$OX_DIR/bad/cycle.onnx" "node 'relu_a' (Relu): is part of a cycle"
    ox_bad "$OX_DIR/bad/dilation.onnx" "node 'conv' (Conv): has a dilation of 2"
    ox_bad "$OX_DIR/bad/groups.onnx" "node 'conv' (Conv): has 2 groups"
    ox_bad "$OX_DIR/bad/asymmetric_pads.onnx" "pads \[1, 0, 0, 1\] (top, left, bottom, right) are neither valid nor Keras same"
    ox_bad "$OX_DIR/bad/dynamic_dim.onnx" "dynamic dimension other than the batch"
    ox_bad "$OX_DIR/bad/unknown_op.onnx" "node 'leaky' (LeakyRelu): is an operation cnnc does not have"
    ox_bad "$OX_DIR/bad/bn_training.onnx" "node 'bn' (BatchNormalization): is in training form"
    ox_bad "$OX_DIR/bad/bn_scale.onnx" "node 'bn' (BatchNormalization): the scale 's' has 3 values; its input has 4"
    ox_bad "$OX_DIR/bad/branch.onnx" "relu_1.*output"
    ox_bad "$OX_DIR/bad/add_shapes.onnx" "node 'add' (Add): adds 'c' and 'c2', which differ in shape"
    ox_bad "$OX_DIR/bad/concat_axis.onnx" "node 'concat' (Concat): joins an NCHW image along axis 2"
    ox_bad "$OX_DIR/bad/pooled_reader.onnx" "node 'relu' (Relu): reads 'p', a GlobalAveragePool's"
    ox_bad "$OX_DIR/bad/five_classes.onnx" "needs one per class: 10 for mnist"
    ox_import_file good_nchw "$OX_N 1 28 28"
    ox_import_file good_nhwc "$OX_N 28 28 1"
    # An output directory that is a file: refused, and the good file is not half-written.
    : >"$OX_DIR/bad/not_a_dir"
    if "$CNNC" import "$good" -o "$OX_DIR/bad/not_a_dir" >/dev/null 2>"$OX_DIR/bad/nd.err"; then
        fail "onnx/bad/output directory is a file" "import succeeded"
    else
        grep -q "not a directory" "$OX_DIR/bad/nd.err" && pass "onnx/bad/output directory is a file" ||
            fail "onnx/bad/output directory is a file" "$(cat "$OX_DIR/bad/nd.err")"
    fi
}

# The command line of export: what it refuses before reading anything.
ox_cli() {
    for args in "models/mnist_cnn.cnn" "models/mnist_cnn.cnn --weights x --opset 12" \
        "models/mnist_cnn.cnn --weights x --opset 18" "models/mnist_cnn.cnn --weights x --bogus"; do
        # shellcheck disable=SC2086
        "$CNNC" export $args >/dev/null 2>"$OX_DIR/cli.err"
        st=$?
        if [ $st -eq 2 ] && grep -q '^usage: cnnc export' "$OX_DIR/cli.err"; then
            pass "onnx/cli: export $args: a usage error"
        else
            fail "onnx/cli: export $args: a usage error" "status $st" "$(cat "$OX_DIR/cli.err")"
        fi
    done
    # cnnc's newest opset is the newest Debian's onnx knows.
    max=$(sed -n 's/^#define ONNX_OPSET_MAX \([0-9]*\)$/\1/p' compiler/onnx/onnx.h)
    have=$("$OX_PY" -c 'import onnx.defs; print(onnx.defs.onnx_opset_version())' 2>/dev/null)
    if [ -n "$max" ] && [ "$max" = "$have" ]; then
        pass "onnx/cli: --opset goes up to $max, the newest of Debian's onnx"
    else
        fail "onnx/cli: --opset goes up to the newest of Debian's onnx" "cnnc: '$max', onnx: '$have'"
    fi
}

# --logits: softmax of ONNX Runtime's logits = the probabilities; the newest opset too.
ox_variants() {
    d=$OX_DIR/export/mnist_cnn
    [ -f "$d/ck.safetensors" ] || return 0
    ox_run "onnx/export/mnist_cnn --logits" "$CNNC" export models/mnist_cnn.cnn --weights "$d/ck.safetensors" \
        --logits -o "$d/logits.onnx" || return 0
    ox_checker "onnx/export/mnist_cnn --logits: onnx.checker accepts it" "$d/logits.onnx"
    ox_run "onnx/export/mnist_cnn --logits: ONNX Runtime" sh -c "ORT_PREFIX=\"$OX_ORT\" node tests/onnx/ort_run.js \
        \"$d/logits.onnx\" \"$d/img/images.u8\" $OX_N 28 28 1 >\"$d/logits.txt\"" &&
        python3 -c 'import math, sys
with open(sys.argv[1]) as fi, open(sys.argv[2], "w") as fo:
    for line in fi:
        f = line.split(); z = [float(v) for v in f[1:]]; top = max(z)
        e = [math.exp(v - top) for v in z]; s = sum(e)
        fo.write(f[0] + " " + " ".join(repr(v / s) for v in e) + "\n")' "$d/logits.txt" "$d/logits_softmax.txt" &&
        ox_compare "onnx/export/mnist_cnn --logits: softmax of the logits = PROGRAM predict" "$d/cnnc.txt" \
            "$d/logits_softmax.txt"
    if "$OX_PY" -c 'import onnx, sys; g = onnx.load(sys.argv[1]).graph
assert [o.name for o in g.output] == ["logits"] and [i.name for i in g.input] == ["input"]' "$d/logits.onnx" 2>/dev/null; then
        pass "onnx/export/mnist_cnn --logits: input 'input', output 'logits'"
    else
        fail "onnx/export/mnist_cnn --logits: input 'input', output 'logits'"
    fi
    ox_run "onnx/export/mnist_cnn --opset 17" "$CNNC" export models/mnist_cnn.cnn --weights "$d/ck.safetensors" \
        --opset 17 -o "$d/opset17.onnx" || return 0
    ox_checker "onnx/export/mnist_cnn --opset 17: onnx.checker accepts it" "$d/opset17.onnx"
    ox_run "onnx/export/mnist_cnn --opset 17: ONNX Runtime" sh -c "ORT_PREFIX=\"$OX_ORT\" node tests/onnx/ort_run.js \
        \"$d/opset17.onnx\" \"$d/img/images.u8\" $OX_N 28 28 1 >\"$d/opset17.txt\"" &&
        ox_compare "onnx/export/mnist_cnn --opset 17: ONNX Runtime = PROGRAM predict" "$d/cnnc.txt" "$d/opset17.txt"
}

OX_DATA=$(mnist_dir)
. tests/difftest/lib.sh
# ox_host_target: this machine's target, which cnnc summary names.
ox_host_target() {
    OX_TARGET=$("$CNNC" summary models/mnist_cnn.cnn --format json 2>&1 | sed -n 's/.*"target": "\([^"]*\)".*/\1/p')
    [ -n "$OX_TARGET" ] || fail "onnx: cnnc summary names this machine's target" \
        "$("$CNNC" summary models/mnist_cnn.cnn --format json 2>&1 | head -5)"
}
if [ -z "$OX_DATA" ]; then
    fail "onnx: MNIST is needed (make data, or CNNC_DATA_DIR)"
elif ! t_make "$BUILD/cnnc" "$BUILD/libcnnrt.a" "$BUILD/libcnnapp.a" "$BUILD/libcnnplot.a" \
    >"$OX_DIR/make" 2>&1; then
    fail "onnx: build" "$(tail -20 "$OX_DIR/make")"
elif ox_host_target; then
    ox_cli
    if ox_setup; then
        # As cases on every core (t_jobs), the slowest first: the export of every model in
        # models/ (the largest generated C first; fashion_cnn and resnet_fashion, whose layers
        # mnist_cnn, lenet5, mlp and resnet_mnist have, under make test-full) and of a graph that
        # reads the input in both layouts, has outputs with several readers, concats of images and
        # of flat tensors and batchnorm on both; the round trips of the test models.
        for m in $(ls models/*.cnn | sed 's|models/||; s|\.cnn$||'); do
            case $m in fashion_cnn | resnet_fashion) t_full || continue ;; esac
            echo "$(wc -c 2>/dev/null <"generated/$m.c" || echo 0) ox_export $m"
        done | sort -rn | cut -d' ' -f2- >"$OX_DIR/cases"
        echo "ox_export graph_mnist tests/onnx/graph_mnist.cnn" >>"$OX_DIR/cases"
        for f in tests/models/*.cnn; do
            echo "ox_roundtrip_small $f"
        done >>"$OX_DIR/cases"
        # ox_case FUNCTION ARGS...: calls it (t_jobs calls one function).
        ox_case() { "$@"; }
        t_jobs ox_case "$OX_DIR/cases"
        # Then what needs the seed model's export: its variants, the bad inputs made from it, and
        # the imports, which read its images.
        OX_IMAGES=$OX_DIR/export/mnist_cnn/img/images.u8
        printf '%s\n' "ox_import lenet5" "ox_import resnet_mnist" "ox_import mnist_cnn" "ox_import inception" \
            ox_bad_inputs ox_variants >"$OX_DIR/cases2"
        t_jobs ox_case "$OX_DIR/cases2"
    fi
fi
