# Syntax: the .cnn front end. Golden diagnostics for malformed files (tests/errors/syntax),
# the AST it builds (through tests/unit/test_parse.c, linked against the compiler's own
# objects), and hostile inputs generated here that must fail cleanly: no crash, no
# sanitizer report, a bounded amount of output and time.

S10=tests/errors/syntax
S10_PARSE=$T_TMP/test_parse

# The unit programs are linked like the objects were built: with the sanitizers if they are in.
s10_build() {
    objs="$BUILD/libcnnc.a"
    san=$(lib_sanitizers "$objs")
    # shellcheck disable=SC2086
    ${CC:-cc} -std=c11 -Wall -Wextra -Werror -Icompiler -g $san -o "$S10_PARSE" \
        tests/unit/test_parse.c $objs -lyaml -lm &&
    ${CC:-cc} -std=c11 -Wall -Wextra -Werror -Icompiler -g $san -o "$T_TMP/test_util" \
        tests/unit/test_util.c $objs -lyaml -lm
}

# s10_run NAME STATUS COMMAND...: the command must exit with STATUS (never a signal),
# leave no sanitizer report and print at most 20 KB of diagnostics.
s10_run() {
    name=$1; want=$2; shift 2
    "$@" >"$T_TMP/s10.out" 2>"$T_TMP/s10.err" </dev/null
    got=$?
    if [ "$got" -ge 128 ]; then fail "$name" "crashed with status $got" "$(head -20 "$T_TMP/s10.err")"; return; fi
    if grep -q -e 'runtime error:' -e 'AddressSanitizer' -e 'LeakSanitizer' "$T_TMP/s10.err"; then
        fail "$name" "sanitizer report:" "$(head -30 "$T_TMP/s10.err")"; return
    fi
    if [ "$got" != "$want" ]; then fail "$name" "status $got, expected $want" "$(head -20 "$T_TMP/s10.err")"; return; fi
    size=$(wc -c <"$T_TMP/s10.err")
    if [ "$size" -gt 20000 ]; then fail "$name" "$size bytes of diagnostics"; return; fi
    pass "$name"
}

# s10_expect NAME PATTERN: the last run's diagnostics contain PATTERN (a fixed string).
s10_expect() {
    if grep -qF -e "$2" "$T_TMP/s10.err"; then pass "$1"; else fail "$1" "no '$2' in:" "$(head -20 "$T_TMP/s10.err")"; fi
}

# s10_dump NAME FILE: the AST of FILE must print as the text on standard input.
s10_dump() {
    cat >"$T_TMP/s10.want"
    "$S10_PARSE" "$2" >"$T_TMP/s10.got" 2>"$T_TMP/s10.err"
    if [ -s "$T_TMP/s10.err" ]; then fail "$1" "$(head -20 "$T_TMP/s10.err")"; return; fi
    same_file "$1" "$T_TMP/s10.want" "$T_TMP/s10.got"
}

# Milliseconds since the epoch (GNU date).
s10_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---------------------------------------------------------------- golden diagnostics
if [ -x "$CNNC" ]; then
    golden_cli "$S10"
else
    fail "syntax goldens" "$CNNC is not built"
fi

# ---------------------------------------------------------------- the AST
if s10_build >"$T_TMP/s10.build" 2>&1; then
    pass "syntax: test_parse and test_util build"
    check "syntax: util.c and diag.c unit tests" "$T_TMP/test_util" "$T_TMP"

    for m in models/*.cnn; do
        s10_run "syntax: $m parses" 0 "$S10_PARSE" "$m"
    done
    if [ -e models/mnist_cnn.yaml ]; then
        "$S10_PARSE" models/mnist_cnn.cnn >"$T_TMP/s10.cnn.ast" 2>&1
        "$S10_PARSE" models/mnist_cnn.yaml >"$T_TMP/s10.yaml.ast" 2>&1
        same_file "syntax: mnist_cnn .cnn and .yaml give the same AST" "$T_TMP/s10.cnn.ast" "$T_TMP/s10.yaml.ast"
    fi

    cat >"$T_TMP/values.cnn" <<'EOF'
/* Every kind of value, in both block orders. */
train {
    dataset idx("a b.gz", "q\"uote", "back\\slash", "café");
    optimizer sgd(learning_rate=1e-3, momentum=.5, nesterov=true);
    validation split(0.1);
    seed -7;   # a negative number parses; the checker says whether it is allowed
    shuffle false;
    epochs 9007199254740992;
}
// The model after the training settings.
model values_1 {
	input 28x28x1;
	conv2d(filters=32, kernel=3x5, stride=-1, padding=same, name="c");
	maxpool2d();
	flatten;
	dense(units=10, activation=f(g(1, x=2.5e2), h()));
}
EOF
    s10_dump "syntax: every kind of value" "$T_TMP/values.cnn" <<'EOF'
(model values_1
  (input 28x28x1)
  (layer conv2d (filters 32) (kernel 3x5) (stride -1) (padding same) (name "c"))
  (layer maxpool2d)
  (layer flatten)
  (layer dense (units 10) (activation (call f (call g 1 (x 250.0)) (call h)))))
(train
  (dataset (call idx "a b.gz" "q\"uote" "back\\slash" "café"))
  (optimizer (call sgd (learning_rate 0.001) (momentum 0.5) (nesterov true)))
  (validation (call split 0.10000000000000001))
  (seed -7)
  (shuffle false)
  (epochs 9007199254740992))
EOF

    printf 'model m { input 1x1x1; dense(units=9007199254740993); }\n' >"$T_TMP/big.cnn"
    s10_run "syntax: 2^53 + 1 is out of range" 1 "$S10_PARSE" "$T_TMP/big.cnn"
    s10_expect "syntax: 2^53 + 1 is reported" "big.cnn:1:36: error: integer '9007199254740993' is out of range"

    # ------------------------------------------------------------ hostile inputs
    : >"$T_TMP/empty.cnn"
    s10_run "syntax: empty file" 1 "$S10_PARSE" "$T_TMP/empty.cnn"
    s10_expect "syntax: empty file is reported" "empty.cnn:1:1: error: empty model file"

    s10_run "syntax: directory" 1 "$S10_PARSE" "$T_TMP"
    s10_expect "syntax: directory is refused" "Is a directory"
    dd if=/dev/zero of="$T_TMP/huge.cnn" bs=1 count=0 seek=65M 2>/dev/null
    s10_run "syntax: file over 64 MiB" 1 "$S10_PARSE" "$T_TMP/huge.cnn"
    s10_expect "syntax: file over 64 MiB is refused" "cannot read '$T_TMP/huge.cnn': File too large"
    rm -f "$T_TMP/huge.cnn"
    s10_run "syntax: missing file" 1 "$S10_PARSE" "$T_TMP/no-such-file.cnn"
    s10_expect "syntax: missing file is reported" "cannot read '$T_TMP/no-such-file.cnn'"

    printf 'model m {\000 input 28x28x1;\000\000 flatten; dense(units=10); }\n' >"$T_TMP/nul.cnn"
    s10_run "syntax: NUL bytes" 1 "$S10_PARSE" "$T_TMP/nul.cnn"
    s10_expect "syntax: NUL bytes are stray" "nul.cnn:1:10: error: stray '\\x00' in model file"
    s10_expect "syntax: NUL runs collapse" "nul.cnn:1:26: error: stray '\\x00' in model file"

    # 64 KiB of pseudo-random bytes from a fixed-seed generator: many errors, capped.
    LC_ALL=C awk 'BEGIN { x = 42; for (i = 0; i < 65536; i++) { x = (x * 69069 + 1) % 4294967296; printf "%c", int(x / 16777216) } }' >"$T_TMP/random.cnn"
    s10_run "syntax: random bytes" 1 "$S10_PARSE" "$T_TMP/random.cnn"
    s10_expect "syntax: random bytes stop after too many errors" "cnnc: too many errors; stopping"

    # A 5 MB line with an error in its middle: the shown line is cut around the column.
    LC_ALL=C awk 'BEGIN { printf "model m { input 28x28x1; "; for (i = 0; i < 300000; i++) printf "flatten; "; printf "@ "; for (i = 0; i < 300000; i++) printf "flatten; "; print "dense(units=10); }" }' >"$T_TMP/longline.cnn"
    s10_run "syntax: 5 MB line" 1 "$S10_PARSE" "$T_TMP/longline.cnn"
    s10_expect "syntax: 5 MB line is located" "longline.cnn:1:2700026: error: stray '@' in model file"
    s10_expect "syntax: 5 MB line is cut" "    ...tten; flatten; flatten; flatten; flatten; flatten; flatten; @ flatten; flatten; flatten; flatten; flatten; flatten; flat..."

    # A 5 MB identifier as the model name.
    LC_ALL=C awk 'BEGIN { printf "model "; for (i = 0; i < 500000; i++) printf "abcdefghij"; print " { input 28x28x1; flatten; dense(units=10); } x" }' >"$T_TMP/longname.cnn"
    s10_run "syntax: 5 MB identifier" 1 "$S10_PARSE" "$T_TMP/longname.cnn"
    s10_expect "syntax: 5 MB identifier error is short" "error: unexpected identifier 'x'"

    # 10,000 nested calls in an argument: one located error, not a stack overflow.
    LC_ALL=C awk 'BEGIN { printf "model m { input 28x28x1; dense(units=10, activation="; for (i = 0; i < 10000; i++) printf "f("; printf "1"; for (i = 0; i < 10000; i++) printf ")"; print "); }" }' >"$T_TMP/parens.cnn"
    s10_run "syntax: 10,000 nested parentheses" 1 "$S10_PARSE" "$T_TMP/parens.cnn"
    s10_expect "syntax: nesting is reported" "parens.cnn:1:180: error: calls nested more than 64 deep"
    if [ "$(grep -c 'error:' "$T_TMP/s10.err")" = 1 ]; then pass "syntax: nesting gives one error"; else fail "syntax: nesting gives one error" "$(head -20 "$T_TMP/s10.err")"; fi

    LC_ALL=C awk 'BEGIN { printf "model m { input 28x28x1; "; for (i = 0; i < 10000; i++) printf "{"; for (i = 0; i < 10000; i++) printf "}"; print "" }' >"$T_TMP/braces.cnn"
    s10_run "syntax: 10,000 nested braces" 1 "$S10_PARSE" "$T_TMP/braces.cnn"
    s10_expect "syntax: nested braces are reported" "braces.cnn:1:26: error: unexpected '{'"

    # Diagnostics far into a long file show the right lines, before and after the error.
    LC_ALL=C awk 'BEGIN { print "model m {\n    input 28x28x1;"; for (i = 0; i < 3000; i++) print "    flatten;"; print "    input 9x9x1;\n    dense(units=10);\n}" }' >"$T_TMP/lines.cnn"
    s10_run "syntax: error on line 3003" 1 "$S10_PARSE" "$T_TMP/lines.cnn"
    printf '%s\n' "$T_TMP/lines.cnn:3003:5: error: the input shape is given twice" "        input 9x9x1;" "        ^~~~~" \
        "$T_TMP/lines.cnn:2:11: note: first given here" "        input 28x28x1;" "              ^~~~~~~" >"$T_TMP/s10.want"
    same_file "syntax: error on line 3003 shows its line and the note's" "$T_TMP/s10.want" "$T_TMP/s10.err"

    # 100,000 layers parse in well under a few seconds.
    LC_ALL=C awk 'BEGIN { print "model big {\n    input 28x28x1;\n    flatten;"; for (i = 0; i < 100000; i++) print "    dense(units=10, activation=relu);"; print "}" }' >"$T_TMP/layers.cnn"
    t0=$(s10_ms)
    s10_run "syntax: 100,000 layers" 0 "$S10_PARSE" "$T_TMP/layers.cnn"
    t1=$(s10_ms)
    if [ $((t1 - t0)) -lt 10000 ]; then pass "syntax: 100,000 layers parse in $((t1 - t0)) ms"
    else fail "syntax: 100,000 layers parse in under 10 s" "took $((t1 - t0)) ms"; fi
    if [ "$(grep -c '(layer dense' "$T_TMP/s10.out")" = 100000 ]; then pass "syntax: 100,000 layers are all there"
    else fail "syntax: 100,000 layers are all there" "$(grep -c '(layer dense' "$T_TMP/s10.out") dense layers"; fi

    # The same hostile inputs through the compiler proper, when it is built.
    if [ -x "$CNNC" ]; then
        for f in empty nul random longline longname parens braces; do
            s10_run "syntax: cnnc check $f" 1 "$CNNC" check "$T_TMP/$f.cnn"
        done
        t0=$(s10_ms)
        s10_run "syntax: cnnc check 100,000 layers" 0 "$CNNC" check "$T_TMP/layers.cnn"
        t1=$(s10_ms)
        if [ $((t1 - t0)) -lt 10000 ]; then pass "syntax: cnnc check 100,000 layers in $((t1 - t0)) ms"
        else fail "syntax: cnnc check 100,000 layers in under 10 s" "took $((t1 - t0)) ms"; fi
    fi
else
    fail "syntax: test_parse and test_util build" "$(head -30 "$T_TMP/s10.build")"
fi
