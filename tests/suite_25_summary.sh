# Suite 25: `cnnc summary` (compiler/cmd/summary.c).
# - tests/unit/test_summary.c prints a hand-built seed model in the three formats and checks
#   the numbers, separators, units, the 100-column limit, escaping, and that the YAML reads
#   back with libyaml;
# - golden outputs of every model in models/ (tests/summary), reviewed by eye when blessed;
# - the seed model's parameter counts as the contract states them;
# - `--format json` is the same for a .cnn model and its YAML twin, and is valid JSON.
# Sourced by tests/run.sh.

S25_BIN=$T_TMP/test_summary
S25_DIR=$T_TMP/s25
mkdir -p "$S25_DIR"

# Linked like the objects were built (with the sanitizers if they are in), through an archive
# so that only the objects the printer and the checker need are taken.
s25_build() {
    san=$(lib_sanitizers "$BUILD/libcnnc.a")
    # shellcheck disable=SC2086
    ${CC:-cc} -std=c11 -Wall -Wextra -Werror -Icompiler -D_POSIX_C_SOURCE=200809L -g $san -o "$S25_BIN" \
        tests/unit/test_summary.c "$BUILD/libcnnc.a" -lyaml -lm
}

if s25_build >"$S25_DIR/build.log" 2>&1; then
    pass "summary/unit-build"
    if "$S25_BIN" self >"$S25_DIR/out" 2>"$S25_DIR/err" && grep -q ' 0 failed' "$S25_DIR/out" &&
        ! grep -q -e 'runtime error:' -e 'AddressSanitizer' -e 'LeakSanitizer' "$S25_DIR/err"; then
        pass "summary/unit"
    else
        fail "summary/unit" "$(cat "$S25_DIR/out" "$S25_DIR/err" | head -30)"
    fi
else
    fail "summary/unit-build" "$(head -30 "$S25_DIR/build.log")"
fi

if [ -x "$CNNC" ]; then
    golden_cli tests/summary

    # The contract's numbers for the seed model, whatever the goldens say.
    if "$CNNC" summary models/mnist_cnn.cnn >"$S25_DIR/seed.txt" 2>"$S25_DIR/err"; then
        # Every missing row adds a line to $S25_DIR/why; the test passes when it stays empty.
        for row in 'conv2d_1 (Conv2D)|(None, 26, 26, 32)|320' 'conv2d_2 (Conv2D)|(None, 11, 11, 64)|18,496' \
            'dense_1 (Dense)|(None, 64)|102,464' 'dense_2 (Dense)|(None, 10)|650'; do
            pattern=$(printf '%s' "$row" | sed 's/[()]/\\&/g; s/|/ +/g')
            grep -Eq "^ $pattern " "$S25_DIR/seed.txt" || echo "no row like: $row"
        done >"$S25_DIR/why"
        grep -q '^Total params: 121,930 (487,720 bytes' "$S25_DIR/seed.txt" ||
            echo "no total of 121,930" >>"$S25_DIR/why"
        if [ ! -s "$S25_DIR/why" ]; then
            pass "summary/seed-params"
        else
            fail "summary/seed-params" "$(cat "$S25_DIR/why")"
        fi
        if awk 'length($0) > 100 { bad = 1 } END { exit bad }' "$S25_DIR/seed.txt"; then
            pass "summary/seed-width"
        else
            fail "summary/seed-width" "a line is longer than 100 columns"
        fi
    else
        fail "summary/seed-params" "$(head -20 "$S25_DIR/err")"
    fi

    # A .cnn model and its YAML twin summarise to the same JSON (and YAML).
    for pair in models/mnist_cnn.cnn:models/mnist_cnn.yaml models/lenet5.cnn:tests/yaml/lenet5.yaml \
        models/mlp.cnn:tests/yaml/mlp.yaml models/fashion_cnn.cnn:tests/yaml/fashion_cnn.yaml \
        tests/yaml/idx_dataset.cnn:tests/yaml/idx_dataset.yaml; do
        cnn=${pair%%:*} yml=${pair#*:}
        name=$(basename "$yml" .yaml)
        for fmt in json yaml; do
            if "$CNNC" summary "$cnn" --format $fmt >"$S25_DIR/$name.cnn.$fmt" 2>"$S25_DIR/err" &&
                "$CNNC" summary "$yml" --format $fmt >"$S25_DIR/$name.yaml.$fmt" 2>>"$S25_DIR/err"; then
                same_file "summary/twin-$fmt-$name" "$S25_DIR/$name.cnn.$fmt" "$S25_DIR/$name.yaml.$fmt"
            else
                fail "summary/twin-$fmt-$name" "$(head -20 "$S25_DIR/err")"
            fi
        done
    done

    # The JSON parses, when a JSON parser is at hand (python3 is not a build dependency).
    if command -v python3 >/dev/null 2>&1; then
        for f in "$S25_DIR"/*.cnn.json; do
            check "summary/valid-json-$(basename "$f" .cnn.json)" python3 -m json.tool "$f"
        done
    else
        echo "  (python3 not found: the JSON validity checks are skipped)"
    fi
else
    fail "summary/cnnc" "$CNNC is not built"
fi
