# Suite 47: the training loss and the validation loss are one definition (issue 15). For
# generated models of every loss path (cross-entropy fused with a dense or a standalone
# softmax, cross-entropy of sigmoid outputs, mean squared error), tests/unit/test_losses.c
# checks that the loss the generated backward returns is, bit for bit, the sum of the
# runtime's per-image evaluation losses, from ordinary to saturated outputs, and NaN for a
# NaN weight.
# Sourced by tests/run.sh. CC, CFLAGS and LDFLAGS must match the build (e.g. the sanitizers).

LO_DIR=$T_TMP/losses
mkdir -p "$LO_DIR"
LO_CFLAGS="-std=c11 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -Iruntime ${CFLAGS:--O2 -g}"

if ! make -s BUILD="$BUILD" "$BUILD/libcnnrt.a" >"$LO_DIR/make" 2>&1; then
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
