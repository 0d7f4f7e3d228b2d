# Suite 75: a cnnc checkpoint in PyTorch (issue 16, item 10). The seed model is built, trained
# briefly and saved with --save-weights-only; examples/pytorch/load_cnnc.py loads it into the
# equivalent torch.nn model (conv kernels permuted, dense kernels transposed, the first dense
# layer's rows reordered from H, W, C to C, H, W), and both classify the first 100 test images:
# the same classes, and probabilities within 2e-4 (both print four decimals).
# torch is Debian's python3-torch, for Debian's /usr/bin/python3, installed through
# mk/deps.sh like every other package: a machine without it fails here, it does not skip.
# Sourced by tests/run.sh. CC, CFLAGS and LDFLAGS must match the build (e.g. the sanitizers).

PT_DIR=$T_TMP/pytorch
mkdir -p "$PT_DIR"
PT_DATA=$(mnist_dir)
PT_PYTHON=/usr/bin/python3

if ! out=$(t_deps python3-torch python3-numpy 2>&1); then
    fail "pytorch/torch is installed" "$out"
elif ! out=$("$PT_PYTHON" -c 'import torch, numpy' 2>&1); then
    fail "pytorch/torch is installed" "$out"
elif [ -z "$PT_DATA" ]; then
    fail "pytorch/data" "no MNIST files: run 'make data' or set CNNC_DATA_DIR"
elif ! out=$(CFLAGS="${CFLAGS:--O2}" "$CNNC" build models/mnist_cnn.cnn -o "$PT_DIR/mnist_cnn" 2>&1); then
    fail "pytorch/build" "$out"
elif ! out=$("$PT_DIR/mnist_cnn" train --data "$PT_DATA" --limit 3000 --epochs 1 --quiet \
    --save "$PT_DIR/w.safetensors" --save-weights-only 2>&1); then
    fail "pytorch/train" "$out"
else
    pass "pytorch/torch is installed"
    # The first 100 test images as PGM files, in order.
    gzip -dc "$PT_DATA/t10k-images-idx3-ubyte.gz" 2>/dev/null | tail -c +17 | head -c 78400 >"$PT_DIR/images" ||
        tail -c +17 "$PT_DATA/t10k-images-idx3-ubyte" | head -c 78400 >"$PT_DIR/images"
    pt_i=0
    pt_list=""
    while [ $pt_i -lt 100 ]; do
        { printf 'P5\n28 28\n255\n'; tail -c +$((pt_i * 784 + 1)) "$PT_DIR/images" | head -c 784; } >"$PT_DIR/$pt_i.pgm"
        pt_list="$pt_list $PT_DIR/$pt_i.pgm"
        pt_i=$((pt_i + 1))
    done
    # shellcheck disable=SC2086
    "$PT_DIR/mnist_cnn" predict --load "$PT_DIR/w.safetensors" $pt_list >"$PT_DIR/cnnc.out" 2>"$PT_DIR/cnnc.err"
    "$PT_PYTHON" examples/pytorch/load_cnnc.py "$PT_DIR/w.safetensors" --data "$PT_DATA" --count 100 \
        >"$PT_DIR/torch.out" 2>"$PT_DIR/torch.err"
    pt_status=$?
    if [ $pt_status -ne 0 ] || [ "$(wc -l <"$PT_DIR/torch.out")" != 200 ] || [ "$(wc -l <"$PT_DIR/cnnc.out")" != 200 ]; then
        fail "pytorch/both classify 100 images" "status $pt_status" "$(head -5 "$PT_DIR/torch.err" "$PT_DIR/cnnc.err")"
    else
        pass "pytorch/both classify 100 images"
        # Odd lines: `NAME: CLASS (p=P)`; even lines: the ten probabilities.
        sed -n 'p;n' "$PT_DIR/cnnc.out" | sed 's/.*: \([0-9]*\) (p=.*/\1/' >"$PT_DIR/cnnc.classes"
        sed -n 'p;n' "$PT_DIR/torch.out" | sed 's/.*: \([0-9]*\) (p=.*/\1/' >"$PT_DIR/torch.classes"
        same_file "pytorch/the same classes" "$PT_DIR/cnnc.classes" "$PT_DIR/torch.classes"
        sed -n 'n;p' "$PT_DIR/cnnc.out" >"$PT_DIR/cnnc.probs"
        sed -n 'n;p' "$PT_DIR/torch.out" >"$PT_DIR/torch.probs"
        pt_max=$(paste -d' ' "$PT_DIR/cnnc.probs" "$PT_DIR/torch.probs" |
            awk '{ for (i = 1; i <= 10; i++) { d = $i - $(i + 10); if (d < 0) d = -d; if (d > m) m = d } } END { printf "%.4f", m }')
        echo "  note pytorch: largest difference of a probability over 100 images: $pt_max"
        if awk -v m="$pt_max" 'BEGIN { exit !(m <= 0.0002) }'; then pass "pytorch/the same probabilities"
        else fail "pytorch/the same probabilities" "largest difference $pt_max" "$(paste "$PT_DIR/cnnc.probs" "$PT_DIR/torch.probs" | head -3)"; fi
        # The trained model is a real one: most of the 100 are right.
        gzip -dc "$PT_DATA/t10k-labels-idx1-ubyte.gz" 2>/dev/null | tail -c +9 | head -c 100 | od -An -tu1 -v |
            tr -s ' ' '\n' | grep -v '^$' >"$PT_DIR/labels"
        pt_right=$(paste -d' ' "$PT_DIR/torch.classes" "$PT_DIR/labels" | awk '$1 == $2 { n++ } END { print n + 0 }')
        if [ "$pt_right" -ge 80 ]; then pass "pytorch/a trained model ($pt_right of 100 right)"
        else fail "pytorch/a trained model" "$pt_right of 100 right"; fi
    fi
fi
