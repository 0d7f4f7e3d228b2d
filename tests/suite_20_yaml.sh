# Suite 20: the YAML front end (compiler/front/yaml_reader.c).
# - tests/unit/test_yaml.c, linked against the compiler's own objects: the values and places
#   the reader builds, and every prefix and many corrupted copies of a model (no crash);
# - every .cnn model and its YAML twin give the same AST, and the same generated C;
# - golden diagnostics for malformed YAML (tests/errors/yaml);
# - hostile inputs made here: huge mappings, deep nesting, long files, all bounded in time.
# Sourced by tests/run.sh.

S20_BIN=$T_TMP/test_yaml
S20_DIR=$T_TMP/s20
mkdir -p "$S20_DIR"

# The unit program is linked like the objects were built: with the sanitizers if they are in.
# An archive lets the linker take only the objects the reader needs.
s20_build() {
    san=$(lib_sanitizers "$BUILD/libcnnc.a")
    # shellcheck disable=SC2086
    ${CC:-cc} -std=c11 -Wall -Wextra -Werror -Icompiler -D_POSIX_C_SOURCE=200809L -g $san -o "$S20_BIN" \
        tests/unit/test_yaml.c "$BUILD/libcnnc.a" -lyaml -lm
}

# s20_run NAME STATUS COMMAND...: the command must exit with STATUS (never a signal), within
# 20 seconds, leave no sanitizer report and print at most 20 KB of diagnostics.
s20_run() {
    name=$1; want=$2; shift 2
    timeout 20 "$@" >"$S20_DIR/out" 2>"$S20_DIR/err" </dev/null
    got=$?
    if [ "$got" = 124 ]; then fail "$name" "took more than 20 seconds"; return; fi
    if [ "$got" -ge 128 ]; then fail "$name" "crashed with status $got" "$(head -20 "$S20_DIR/err")"; return; fi
    if grep -q -e 'runtime error:' -e 'AddressSanitizer' -e 'LeakSanitizer' "$S20_DIR/err"; then
        fail "$name" "sanitizer report:" "$(head -30 "$S20_DIR/err")"; return
    fi
    if [ "$got" != "$want" ]; then fail "$name" "status $got, expected $want" "$(head -20 "$S20_DIR/err")"; return; fi
    size=$(wc -c <"$S20_DIR/err")
    if [ "$size" -gt 20000 ]; then fail "$name" "$size bytes of diagnostics"; return; fi
    pass "$name"
}

# s20_expect NAME PATTERN: the last run's diagnostics contain PATTERN (a fixed string).
s20_expect() {
    if grep -qF -e "$2" "$S20_DIR/err"; then pass "$1"; else fail "$1" "no '$2' in:" "$(head -20 "$S20_DIR/err")"; fi
}

if s20_build >"$S20_DIR/build.log" 2>&1; then
    pass "yaml/unit-build"
    s20_run "yaml/unit" 0 "$S20_BIN" self
    [ -s "$S20_DIR/out" ] && grep -q ' 0 failed' "$S20_DIR/out" || fail "yaml/unit-checks" "$(cat "$S20_DIR/out")"

    # A .cnn model and its YAML twin build the same AST (printed without places).
    for pair in models/mnist_cnn.cnn:models/mnist_cnn.yaml models/lenet5.cnn:tests/yaml/lenet5.yaml \
        models/mlp.cnn:tests/yaml/mlp.yaml models/fashion_cnn.cnn:tests/yaml/fashion_cnn.yaml \
        tests/yaml/idx_dataset.cnn:tests/yaml/idx_dataset.yaml models/mnist_best.cnn:models/mnist_best.yaml \
        tests/yaml/keyword_names.cnn:tests/yaml/keyword_names.yaml; do
        cnn=${pair%%:*} yml=${pair#*:}
        name=$(basename "$yml" .yaml)
        if "$S20_BIN" dump "$cnn" >"$S20_DIR/$name.cnn.ast" 2>"$S20_DIR/err" &&
            "$S20_BIN" dump "$yml" >"$S20_DIR/$name.yaml.ast" 2>>"$S20_DIR/err"; then
            same_file "yaml/twin-ast-$name" "$S20_DIR/$name.cnn.ast" "$S20_DIR/$name.yaml.ast"
        else
            fail "yaml/twin-ast-$name" "$(head -20 "$S20_DIR/err")"
        fi
    done
    # ... and the names `model` and `train` pass the checker in both forms.
    for f in tests/yaml/keyword_names.cnn tests/yaml/keyword_names.yaml; do
        if "$BUILD/cnnc" check "$f" >"$S20_DIR/kw.out" 2>&1; then
            pass "yaml/check-$(basename "$f")"
        else
            fail "yaml/check-$(basename "$f")" "$(head -20 "$S20_DIR/kw.out")"
        fi
    done

    # Windows line ends read the same as Unix ones.
    awk '{ printf "%s\r\n", $0 }' models/mnist_cnn.yaml >"$S20_DIR/crlf.yaml"
    if "$S20_BIN" dump "$S20_DIR/crlf.yaml" >"$S20_DIR/crlf.ast" 2>"$S20_DIR/err"; then
        same_file "yaml/crlf-line-ends" "$S20_DIR/mnist_cnn.cnn.ast" "$S20_DIR/crlf.ast"
    else
        fail "yaml/crlf-line-ends" "$(head -20 "$S20_DIR/err")"
    fi
else
    fail "yaml/unit-build" "$(head -30 "$S20_DIR/build.log")"
fi

if [ -x "$CNNC" ]; then
    golden_cli tests/errors/yaml

    # The contract: byte-identical generated C for a .cnn file and its YAML twin.
    for pair in models/mnist_cnn.cnn:models/mnist_cnn.yaml models/mlp.cnn:tests/yaml/mlp.yaml; do
        cnn=${pair%%:*} yml=${pair#*:}
        name=$(basename "$yml" .yaml)
        rm -rf "$S20_DIR/emit-cnn" "$S20_DIR/emit-yaml"
        if "$CNNC" emit "$cnn" -o "$S20_DIR/emit-cnn" >"$S20_DIR/err" 2>&1 &&
            "$CNNC" emit "$yml" -o "$S20_DIR/emit-yaml" >>"$S20_DIR/err" 2>&1; then
            if diff -r "$S20_DIR/emit-cnn" "$S20_DIR/emit-yaml" >"$S20_DIR/diff" 2>&1; then
                pass "yaml/twin-emit-$name"
            else
                fail "yaml/twin-emit-$name" "$(head -30 "$S20_DIR/diff")"
            fi
        else
            fail "yaml/twin-emit-$name" "$(head -20 "$S20_DIR/err")"
        fi
    done

    # Hostile inputs. A layer with 200,000 arguments: duplicate keys are found in linear time.
    awk 'BEGIN { printf "model: wide\ninput: [28, 28, 1]\nlayers:\n  - dense: {units: 10";
                 for (i = 0; i < 200000; i++) printf ", a%d: 1", i; print "}" }' >"$S20_DIR/wide.yaml"
    s20_run "yaml/hostile-wide-mapping" 1 "$CNNC" check "$S20_DIR/wide.yaml"
    s20_expect "yaml/hostile-wide-mapping-message" "unknown argument"

    # 200,000 keys each given twice: errors stop at diag's limit, and so does the reading.
    awk 'BEGIN { print "model: twice\ninput: [28, 28, 1]\nlayers: [flatten]\ntrain:";
                 for (i = 0; i < 200000; i++) printf "  k%d: 1\n  k%d: 2\n", i, i }' >"$S20_DIR/twice.yaml"
    s20_run "yaml/hostile-many-duplicates" 1 "$CNNC" check "$S20_DIR/twice.yaml"
    s20_expect "yaml/hostile-many-duplicates-message" "duplicate key 'k0'"

    # A million open brackets: refused at the nesting limit, long before the end.
    awk 'BEGIN { printf "model: deep\ninput: "; for (i = 0; i < 1000000; i++) printf "["; print "" }' \
        >"$S20_DIR/deep.yaml"
    s20_run "yaml/hostile-deep-sequences" 1 "$CNNC" check "$S20_DIR/deep.yaml"
    s20_expect "yaml/hostile-deep-sequences-message" "nested deeper than 64 levels"

    # 100,000 layers: a long but valid model reads in bounded time.
    awk 'BEGIN { print "model: many_layers\ninput: [28, 28, 1]\nlayers:";
                 for (i = 0; i < 100000; i++) print "  - relu"; print "  - flatten\n  - dense: {units: 10}" }' \
        >"$S20_DIR/long.yaml"
    s20_run "yaml/hostile-many-layers" 0 "$CNNC" check "$S20_DIR/long.yaml"

    # Random bytes, with a fixed seed so that a failure can be reproduced.
    awk 'BEGIN { srand(20); for (i = 0; i < 4000; i++) printf "%c", int(rand() * 256) }' >"$S20_DIR/random.yaml"
    s20_run "yaml/hostile-random-bytes" 1 "$CNNC" check "$S20_DIR/random.yaml"

    # An unreadable file is a plain error naming it.
    s20_run "yaml/missing-file" 1 "$CNNC" check "$S20_DIR/no-such-model.yaml"
    s20_expect "yaml/missing-file-message" "no-such-model.yaml"
else
    fail "yaml/cnnc" "$CNNC is not built"
fi
