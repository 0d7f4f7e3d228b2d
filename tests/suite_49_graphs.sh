# Suite 49: a residual network with batchnorm through the runtime (issue 18), on MNIST, with
# tests/train/bn_small.cnn:
# - one step with one thread and with two: the moving statistics after it are the same bits,
#   as the batch's statistics are summed across the threads image by image in order; with a
#   batch of one image the second thread has none and still takes part in the sums (no hang),
#   and the whole checkpoint is the same bits;
# - an epoch: evaluation uses the moving statistics and classifies most of the test set, and
#   `eval` of the checkpoint gives the history's val_accuracy (the state is saved and read);
# - the checkpoint holds gamma, beta, moving_mean and moving_variance by the contract's names,
#   and the optimizer's moments of gamma and beta but not of the moving statistics.
# Sourced by tests/run.sh.

GR_DIR=$T_TMP/graphs
mkdir -p "$GR_DIR"
GR_DATA=$(mnist_dir)

# gr_tensors FILE: "NAME SHA" for every tensor of a safetensors file, sorted by name.
gr_tensors() {
    python3 - "$1" <<'EOF'
import hashlib, json, struct, sys
data = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + n])
for name in sorted(k for k in header if k != "__metadata__"):
    a, b = header[name]["data_offsets"]
    print(name, hashlib.sha256(data[8 + n + a:8 + n + b]).hexdigest()[:16])
EOF
}

# The wiring is part of the model: two models that differ only in what an add reads have
# different banners (canonical text and hash), as their code differs.
gr_wired() {
    cat <<EOF
model wired {
    input 6x6x2;
    conv2d(filters=3, kernel=3, padding=same, name=x);
    conv2d(filters=3, kernel=1, name=a);
    conv2d(filters=3, kernel=1, from=x, name=b);
    add(with=$1);
    add(with=a);
    globalavgpool2d;
    dense(units=4, activation=softmax);
}
train {
    dataset idx("a", "b", "c", "d");
    batch_size 3;
}
EOF
}
gr_wired x >"$GR_DIR/wired_x.cnn"
gr_wired a >"$GR_DIR/wired_a.cnn"
mkdir -p "$GR_DIR/wx" "$GR_DIR/wa"
if "$CNNC" emit "$GR_DIR/wired_x.cnn" -o "$GR_DIR/wx" >"$GR_DIR/out" 2>&1 &&
    "$CNNC" emit "$GR_DIR/wired_a.cnn" -o "$GR_DIR/wa" >>"$GR_DIR/out" 2>&1; then
    gr_hx=$(grep -o 'fnv1a64:[0-9a-f]*' "$GR_DIR/wx/wired.c" | head -1)
    gr_ha=$(grep -o 'fnv1a64:[0-9a-f]*' "$GR_DIR/wa/wired.c" | head -1)
    if [ -n "$gr_hx" ] && [ "$gr_hx" != "$gr_ha" ] && grep -q 'add(with=x)' "$GR_DIR/wx/wired.c" &&
        grep -q 'b = conv2d(.*from=x)' "$GR_DIR/wx/wired.c"; then
        pass "graphs: from= and with= are in the banner's model and its hash"
    else
        fail "graphs: from= and with= are in the banner's model and its hash" "$gr_hx vs $gr_ha" \
            "$(sed -n '/add(/p' "$GR_DIR/wx/wired.c" | head -3)"
    fi
else
    fail "graphs: the wired models emit" "$(cat "$GR_DIR/out")"
fi

# A batchnorm over 802,816 units (a flat layer): its per-channel scratch is in the workspace,
# not on the stack, which this would overflow (6 MiB forward, 9 MiB backward) on any thread.
cat >"$GR_DIR/wide_bn.cnn" <<EOF
model wide_bn {
    input 28x28x1;
    conv2d(filters=1024, kernel=1);
    flatten;
    batchnorm;
    dense(units=10, activation=softmax);
}
train {
    batch_size 2;
    epochs 1;
}
EOF

if [ -z "$GR_DATA" ]; then
    fail "graphs: data" "no MNIST files: run 'make data' or set CNNC_DATA_DIR"
elif ! out=$(CFLAGS="${CFLAGS:--O2}" "$CNNC" build tests/train/bn_small.cnn -o "$GR_DIR/bn_small" 2>&1); then
    fail "graphs: bn_small builds" "$out"
else
    # One step of 32 images, and one of a single image, with one and with two threads.
    for gr_limit in 32 1; do
        for gr_threads in 1 2; do
            timeout 120 "$GR_DIR/bn_small" train --data "$GR_DATA" --limit $gr_limit --threads $gr_threads \
                --validation-limit 64 --quiet --save "$GR_DIR/step_${gr_limit}_$gr_threads.safetensors" \
                >"$GR_DIR/out" 2>&1 </dev/null ||
                fail "graphs: a step of $gr_limit images on $gr_threads threads" "$(tail -5 "$GR_DIR/out")"
            gr_tensors "$GR_DIR/step_${gr_limit}_$gr_threads.safetensors" >"$GR_DIR/t_${gr_limit}_$gr_threads" 2>&1
        done
    done
    grep 'moving_' "$GR_DIR/t_32_1" >"$GR_DIR/m1"
    grep 'moving_' "$GR_DIR/t_32_2" >"$GR_DIR/m2"
    if [ "$(wc -l <"$GR_DIR/m1")" = 6 ] && cmp -s "$GR_DIR/m1" "$GR_DIR/m2"; then
        pass "graphs: the moving statistics after a step are the same bits on 1 and 2 threads"
    else
        fail "graphs: the moving statistics after a step are the same bits on 1 and 2 threads" \
            "$(diff "$GR_DIR/m1" "$GR_DIR/m2" | head -8)"
    fi
    if cmp -s "$GR_DIR/step_1_1.safetensors" "$GR_DIR/step_1_2.safetensors"; then
        pass "graphs: a batch of one image on 2 threads (one without images) is the same checkpoint"
    else
        fail "graphs: a batch of one image on 2 threads (one without images) is the same checkpoint" \
            "$(diff "$GR_DIR/t_1_1" "$GR_DIR/t_1_2" | head -8)"
    fi
    # The tensors by the contract's names: the moving statistics are not trained.
    gr_want="batchnorm_1.beta batchnorm_1.gamma batchnorm_1.moving_mean batchnorm_1.moving_variance"
    gr_names=$(cut -d' ' -f1 "$GR_DIR/t_32_1" | tr '\n' ' ')
    case " $gr_names" in
    *" $gr_want "*" optimizer.m.batchnorm_1.beta optimizer.m.batchnorm_1.gamma "*)
        case $gr_names in
        *optimizer.*moving*) fail "graphs: no optimizer state for the moving statistics" "$gr_names" ;;
        *) pass "graphs: the checkpoint names gamma, beta, moving_mean and moving_variance" ;;
        esac ;;
    *) fail "graphs: the checkpoint names gamma, beta, moving_mean and moving_variance" "$gr_names" ;;
    esac

    # An epoch, then eval of what it saved.
    if timeout 600 "$GR_DIR/bn_small" train --data "$GR_DATA" --save "$GR_DIR/epoch.safetensors" \
        --history "$GR_DIR/history.csv" >"$GR_DIR/out" 2>&1 </dev/null; then
        gr_val=$(awk -F, 'NR == 2 { print $5 }' "$GR_DIR/history.csv")
        if awk -v v="$gr_val" 'BEGIN { exit !(v > 0.5) }'; then
            pass "graphs: an epoch of bn_small evaluates with the moving statistics (val_accuracy $gr_val)"
        else
            fail "graphs: an epoch of bn_small evaluates with the moving statistics" "val_accuracy $gr_val" \
                "$(tail -3 "$GR_DIR/out")"
        fi
        "$GR_DIR/bn_small" eval --data "$GR_DATA" --load "$GR_DIR/epoch.safetensors" >"$GR_DIR/eval" 2>&1 </dev/null
        gr_eval=$(awk '/^total/ { print $NF }' "$GR_DIR/eval")
        if [ -n "$gr_eval" ] && awk -v a="$gr_eval" -v b="$gr_val" 'BEGIN { d = a - b; exit !(d < 1e-4 && d > -1e-4) }'; then
            pass "graphs: eval of the checkpoint gives the history's val_accuracy ($gr_eval)"
        else
            fail "graphs: eval of the checkpoint gives the history's val_accuracy" "eval '$gr_eval', history '$gr_val'" \
                "$(tail -5 "$GR_DIR/eval")"
        fi
    else
        fail "graphs: an epoch of bn_small" "$(tail -5 "$GR_DIR/out")"
    fi
fi

if [ -n "$GR_DATA" ]; then
    if ! out=$(CFLAGS="${CFLAGS:--O2}" "$CNNC" build "$GR_DIR/wide_bn.cnn" -o "$GR_DIR/wide_bn" 2>&1); then
        fail "graphs: wide_bn builds" "$out"
    else
        for gr_threads in 1 2; do
            if timeout 300 "$GR_DIR/wide_bn" train --data "$GR_DATA" --limit 4 --validation-limit 2 \
                --threads $gr_threads --quiet >"$GR_DIR/out" 2>&1 </dev/null; then
                pass "graphs: a batchnorm over 802,816 units trains on $gr_threads thread(s)"
            else
                fail "graphs: a batchnorm over 802,816 units trains on $gr_threads thread(s)" "status $?" \
                    "$(tail -5 "$GR_DIR/out")"
            fi
        done
    fi
fi
