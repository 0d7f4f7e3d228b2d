# Suite 47: the loss. The training loss and the validation loss are one definition (issue
# 15): for generated models of every loss path (cross-entropy fused with a dense or a
# standalone softmax, cross-entropy of sigmoid outputs, mean squared error),
# tests/unit/test_losses.c checks that the loss the generated backward returns is, bit for
# bit, the sum of the runtime's per-image evaluation losses, from ordinary to saturated
# outputs, and NaN for NaN weights. And a generated model whose loss diverges (issue 16)
# stops with the epoch and the step, status 1 and no checkpoint.
# Sourced by tests/run.sh. CC, CFLAGS and LDFLAGS must match the build (e.g. the sanitizers).

LO_DIR=$T_TMP/losses
mkdir -p "$LO_DIR"
LO_CFLAGS="-std=c11 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -Iruntime ${CFLAGS:--O2 -g}"

if ! t_make "$BUILD/libcnnrt.a" >"$LO_DIR/make" 2>&1; then
    fail "losses/build" "$(tail -20 "$LO_DIR/make")"
else
    for lo_model in tests/models/t_maxpool.cnn tests/codegen/all_kinds.cnn tests/codegen/probabilities.cnn \
        tests/codegen/mse_softmax.cnn; do
        lo_name=$(basename "$lo_model" .cnn)
        # shellcheck disable=SC2086
        if ! out=$("$CNNC" emit "$lo_model" -o "$LO_DIR" 2>&1 &&
            ${CC:-cc} $LO_CFLAGS -I"$LO_DIR" -DMODEL="${lo_name}_model" -o "$LO_DIR/$lo_name" \
                tests/unit/test_losses.c "$LO_DIR/$lo_name.c" "$BUILD/libcnnrt.a" -lm -pthread ${LDFLAGS:-} 2>&1); then
            fail "losses/$lo_name: builds" "$out"
            continue
        fi
        "$LO_DIR/$lo_name" >"$LO_DIR/out" 2>"$LO_DIR/err"
        lo_status=$?
        lo_n=0
        while IFS= read -r line; do
            case $line in
            "ok "*) pass "${line#ok }"; lo_n=$((lo_n + 1)) ;;
            "FAIL "*) rest=${line#FAIL }; fail "${rest%%: *}" "${rest#*: }"; lo_n=$((lo_n + 1)) ;;
            esac
        done <"$LO_DIR/out"
        if [ "$lo_status" -ge 128 ] || [ "$lo_n" -ne 4 ] ||
            grep -q -e 'runtime error:' -e 'AddressSanitizer' -e 'LeakSanitizer' "$LO_DIR/err"; then
            fail "losses/$lo_name: runs cleanly" "status $lo_status, $lo_n checks" "$(head -20 "$LO_DIR/err")"
        fi
    done
fi

# ---------------------------------------------------------------- a model that diverges
LO_DATA=$(mnist_dir)
if [ -z "$LO_DATA" ]; then
    fail "losses/diverge: data" "no MNIST files: run 'make data' or set CNNC_DATA_DIR"
elif ! out=$(CFLAGS="${CFLAGS:--O1}" "$CNNC" build tests/train/diverge.cnn -o "$LO_DIR/diverge" 2>&1); then
    fail "losses/diverge: builds" "$out"
else
    "$LO_DIR/diverge" train --data "$LO_DATA" --limit 640 --save "$LO_DIR/diverge.ckpt" \
        >"$LO_DIR/out" 2>"$LO_DIR/err" </dev/null
    lo_status=$?
    if [ "$lo_status" = 1 ] && grep -q 'error: loss became NaN at epoch 1, step [0-9]* (the checkpoint is not saved)' "$LO_DIR/err"; then
        pass "losses/diverge: stops with the epoch and the step"
    else
        fail "losses/diverge: stops with the epoch and the step" "status $lo_status" "$(cat "$LO_DIR/out" "$LO_DIR/err" | head -20)"
    fi
    if grep -q 'Epoch 2/' "$LO_DIR/out"; then fail "losses/diverge: goes no further" "$(cat "$LO_DIR/out")"
    else pass "losses/diverge: goes no further"; fi
    if [ -e "$LO_DIR/diverge.ckpt" ]; then fail "losses/diverge: saves nothing" "diverge.ckpt was written"
    else pass "losses/diverge: saves nothing"; fi
fi
