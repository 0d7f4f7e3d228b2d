# Suite 44: the training settings of contract version 2 (issue 19).
# - tests/unit/test_schedule.c: exponential and cosine decay against Keras' formulas at chosen
#   steps, reduce_on_plateau and early stopping on val_loss sequences, augmentation's draws and
#   a single lit pixel moved by the drawn shift;
# - tests/unit/test_optimizers.c against every optimizer's generated step (sgd, adam, adamw,
#   rmsprop, with and without momentum and global_clipnorm), for the generic target and x86-64's
#   vectors, for several steps at changing rates;
# - on MNIST, tests/train/settings_small.cnn: early stopping made to stop (min_delta larger than
#   any loss) restores the best epoch's weights (eval of the checkpoint gives its val_loss); the
#   history's learning_rate column is the cosine schedule at each epoch's last step, and cnnc
#   plot draws it; augment
#   with nothing to move is the run without it (labels and order kept), and augment is the same
#   run twice from one seed; a run resumed with --load ends as the uninterrupted one, bit for bit,
#   schedule and early stopping state included.
# Sourced by tests/run.sh.

TS_DIR=$T_TMP/train_settings
mkdir -p "$TS_DIR"
TS_CFLAGS="-std=c11 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -Iruntime ${CFLAGS:--O2 -g}"

# ------------------------------------------------------------------ schedules, stopping, augmentation
if ! t_make "$BUILD/cnnc" "$BUILD/libcnnrt.a" >"$TS_DIR/make" 2>&1; then
    fail "train-settings: build" "$(tail -20 "$TS_DIR/make")"
elif out=$(${CC:-cc} $TS_CFLAGS -o "$TS_DIR/test_schedule" tests/unit/test_schedule.c "$BUILD/libcnnrt.a" -lm -pthread 2>&1); then
    if "$TS_DIR/test_schedule" >"$TS_DIR/out" 2>&1 && grep -q ' 0 failed' "$TS_DIR/out"; then
        pass "train-settings: schedules, plateau, early stopping, augmentation ($(tail -1 "$TS_DIR/out"))"
    else
        fail "train-settings: schedules, plateau, early stopping, augmentation" "$(cat "$TS_DIR/out")"
    fi
else
    fail "train-settings: test_schedule compiles" "$out"
fi

# ------------------------------------------------------------------ the generated optimizers
ts_optimizer() { # NAME OPTIMIZER TARGET
    mkdir -p "$TS_DIR/opt_$1_$3"
    sed "s/@OPTIMIZER@/$2/" tests/train/opt.cnn.in >"$TS_DIR/opt_$1_$3/opt.cnn"
    if ! out=$("$CNNC" emit "$TS_DIR/opt_$1_$3/opt.cnn" -o "$TS_DIR/opt_$1_$3" --target "$3" 2>&1); then
        fail "train-settings: optimizer $1 ($3) emits" "$out"
    elif ! out=$(${CC:-cc} $TS_CFLAGS $4 -I"$TS_DIR/opt_$1_$3" -o "$TS_DIR/opt_$1_$3/test" tests/unit/test_optimizers.c \
        "$TS_DIR/opt_$1_$3/opt.c" -lm 2>&1); then
        fail "train-settings: optimizer $1 ($3) compiles" "$out"
    elif "$TS_DIR/opt_$1_$3/test" >"$TS_DIR/out" 2>&1 && grep -q ' 0 failed' "$TS_DIR/out"; then
        pass "train-settings: optimizer $1 ($3): the reference's weights after 4 steps"
    else
        fail "train-settings: optimizer $1 ($3): the reference's weights after 4 steps" "$(cat "$TS_DIR/out")"
    fi
}
for ts_target in generic x86-64; do
    [ "$ts_target" = x86-64 ] && [ "$(uname -m)" != x86_64 ] && continue
    ts_optimizer sgd "sgd(learning_rate=0.05)" $ts_target
    ts_optimizer sgd_nesterov_clip "sgd(learning_rate=0.1, momentum=0.9, nesterov=true, global_clipnorm=1.0)" $ts_target
    ts_optimizer adam_clip "adam(learning_rate=0.01, global_clipnorm=2.0)" $ts_target
    ts_optimizer adamw "adamw(learning_rate=0.01, weight_decay=0.05)" $ts_target
    ts_optimizer adamw_clip "adamw(learning_rate=0.01, beta_1=0.8, weight_decay=0.05, global_clipnorm=1.0)" $ts_target
    ts_optimizer rmsprop_clip "rmsprop(learning_rate=0.01, rho=0.8, global_clipnorm=0.5)" $ts_target
    ts_optimizer rmsprop_momentum "rmsprop(learning_rate=0.01, momentum=0.9)" $ts_target
done

# ------------------------------------------------------------------ on MNIST
TS_DATA=$(mnist_dir)
# ts_build NAME EDIT: tests/train/settings_small.cnn with the sed EDIT, built as TS_DIR/NAME.
ts_build() {
    mkdir -p "$TS_DIR/$1"
    sed "$2" tests/train/settings_small.cnn >"$TS_DIR/$1/$1.cnn"
    if out=$(CFLAGS="${CFLAGS:--O2}" "$CNNC" build "$TS_DIR/$1/$1.cnn" -o "$TS_DIR/$1/prog" 2>&1); then
        return 0
    fi
    fail "train-settings: $1 builds" "$out"
    return 1
}
# ts_train NAME ARGS...: a run of TS_DIR/NAME/prog on 1000 images (32 steps an epoch).
ts_train() {
    ts_name=$1
    shift
    timeout 300 "$TS_DIR/$ts_name/prog" train --data "$TS_DATA" --limit 1000 --threads 2 "$@" \
        >"$TS_DIR/$ts_name/out" 2>&1 </dev/null
}
ts_hash() { sha256sum "$1" | cut -c1-16; }

if [ -z "$TS_DATA" ]; then
    fail "train-settings: data" "no MNIST files: run 'make data' or set CNNC_DATA_DIR"
else
    # Early stopping made to stop: with min_delta 10 only the first epoch improves, and patience
    # 0 stops after the second; restore_best leaves the first epoch's weights. Validated on the
    # whole test set, as eval is.
    if ts_build stop 's/@EXTRA@/early_stopping(patience=0, min_delta=10);/'; then
        if ts_train stop --history "$TS_DIR/stop/h.csv" --save "$TS_DIR/stop/c.safetensors"; then
            rows=$(($(wc -l <"$TS_DIR/stop/h.csv") - 1))
            if [ "$rows" = 2 ] && grep -q "early stopping" "$TS_DIR/stop/out"; then
                pass "train-settings: early stopping stops after epoch 2 of 4"
            else
                fail "train-settings: early stopping stops after epoch 2 of 4" "$rows epochs" "$(cat "$TS_DIR/stop/out")"
            fi
            # eval of the checkpoint gives epoch 1's val_loss.
            want=$(awk -F, 'NR == 2 { printf "%.4f", $4 }' "$TS_DIR/stop/h.csv")
            last=$(awk -F, 'NR == 3 { printf "%.4f", $4 }' "$TS_DIR/stop/h.csv")
            timeout 120 "$TS_DIR/stop/prog" eval --load "$TS_DIR/stop/c.safetensors" --data "$TS_DATA" \
                >"$TS_DIR/stop/eval" 2>&1 </dev/null
            got=$(sed -n 's/.* loss: \([0-9.]*\) .*/\1/p' "$TS_DIR/stop/eval" | head -1)
            if [ -n "$want" ] && [ "$got" = "$want" ] && [ "$want" != "$last" ]; then
                pass "train-settings: restore_best: the checkpoint is epoch 1's (val_loss $want, not $last)"
            else
                fail "train-settings: restore_best: the checkpoint is epoch 1's" "eval: $got, epoch 1: $want, epoch 2: $last" \
                    "$(cat "$TS_DIR/stop/eval")"
            fi
        else
            fail "train-settings: early stopping run" "$(tail -5 "$TS_DIR/stop/out")"
        fi
    fi

    # The cosine schedule: 32 steps an epoch; the history's rate is the one of each epoch's last
    # step, 31, 63, 95 and 127 steps after the first (held at the floor from step 100).
    if ts_build cosine 's/@EXTRA@/schedule cosine_decay(decay_steps=100, alpha=0.1);/'; then
        if ts_train cosine --validation-limit 500 --history "$TS_DIR/cosine/h.csv"; then
            got=$(awk -F, 'NR > 1 { printf "%s ", $6 }' "$TS_DIR/cosine/h.csv")
            want=$(awk 'BEGIN { for (e = 1; e <= 4; e++) { s = 32 * e - 1; if (s > 100) s = 100;
                printf "%.6e ", 0.01 * (0.9 * 0.5 * (1 + cos(3.141592653589793 * s / 100)) + 0.1) } }')
            if [ "$(head -1 "$TS_DIR/cosine/h.csv")" = "epoch,loss,accuracy,val_loss,val_accuracy,learning_rate,seconds" ] &&
                [ "$got" = "$want" ] && grep -q " - learning_rate: 1.0000e-03" "$TS_DIR/cosine/out"; then
                pass "train-settings: cosine decay in the history and the progress line ($got)"
            else
                fail "train-settings: cosine decay in the history and the progress line" "history: $got" "Keras:   $want" \
                    "$(tail -2 "$TS_DIR/cosine/out")"
            fi
            # cnnc plot draws the rate as a third panel: a wider figure.
            if "$CNNC" plot "$TS_DIR/cosine/h.csv" -o "$TS_DIR/cosine/h.png" >"$TS_DIR/cosine/plot" 2>&1 &&
                [ "$(python3 -c 'import struct, sys; print(struct.unpack(">I", open(sys.argv[1], "rb").read()[16:20])[0])' \
                    "$TS_DIR/cosine/h.png")" = 1650 ]; then
                pass "train-settings: cnnc plot adds the learning rate's panel"
            else
                fail "train-settings: cnnc plot adds the learning rate's panel" "$(cat "$TS_DIR/cosine/plot")"
            fi
        else
            fail "train-settings: cosine run" "$(tail -5 "$TS_DIR/cosine/out")"
        fi
    fi

    # augment with nothing to move is the run without augment: same images, same labels, same order.
    if ts_build plain 's/@EXTRA@//' && ts_build still 's/@EXTRA@/augment(shift=0, rotation=0);/' &&
        ts_build moved 's/@EXTRA@/augment(shift=2, rotation=10);/'; then
        ts_train plain --epochs 1 --validation-limit 100 --save "$TS_DIR/plain/c.safetensors"
        ts_train still --epochs 1 --validation-limit 100 --save "$TS_DIR/still/c.safetensors"
        if cmp -s "$TS_DIR/plain/c.safetensors" "$TS_DIR/still/c.safetensors"; then
            pass "train-settings: augment(shift=0, rotation=0) is the run without augment"
        else
            fail "train-settings: augment(shift=0, rotation=0) is the run without augment" "$(tail -2 "$TS_DIR/still/out")"
        fi
        ts_train moved --epochs 1 --validation-limit 100 --save "$TS_DIR/moved/a.safetensors"
        ts_train moved --epochs 1 --validation-limit 100 --save "$TS_DIR/moved/b.safetensors"
        if cmp -s "$TS_DIR/moved/a.safetensors" "$TS_DIR/moved/b.safetensors" &&
            ! cmp -s "$TS_DIR/moved/a.safetensors" "$TS_DIR/plain/c.safetensors"; then
            pass "train-settings: augment: the same run twice from one seed, and not the run without it"
        else
            fail "train-settings: augment: the same run twice from one seed, and not the run without it" \
                "$(ts_hash "$TS_DIR/moved/a.safetensors") $(ts_hash "$TS_DIR/moved/b.safetensors") $(ts_hash "$TS_DIR/plain/c.safetensors")"
        fi
    fi

    # --load resumes reduce_on_plateau, early stopping and the best weights: 2 epochs, then 2
    # more, is the 4 epochs of one run, bit for bit (metadata included).
    if ts_build resume 's/@EXTRA@/schedule reduce_on_plateau(factor=0.5, patience=1, min_delta=0.5); early_stopping(patience=3, min_delta=0.5); augment(shift=1, rotation=5);/'; then
        ts_train resume --validation-limit 200 --save "$TS_DIR/resume/all.safetensors"
        ts_train resume --validation-limit 200 --epochs 2 --save "$TS_DIR/resume/half.safetensors"
        ts_train resume --validation-limit 200 --load "$TS_DIR/resume/half.safetensors" --save "$TS_DIR/resume/rest.safetensors"
        if cmp -s "$TS_DIR/resume/all.safetensors" "$TS_DIR/resume/rest.safetensors" &&
            grep -q '"plateau_rate":"0.00125"' "$TS_DIR/resume/all.safetensors"; then
            pass "train-settings: --load resumes the plateau's rate, early stopping and the best weights"
        else
            fail "train-settings: --load resumes the plateau's rate, early stopping and the best weights" \
                "$(head -c 600 "$TS_DIR/resume/all.safetensors" | tr -c '[:print:]' ' ')" \
                "$(head -c 600 "$TS_DIR/resume/rest.safetensors" | tr -c '[:print:]' ' ')"
        fi
    fi
fi
