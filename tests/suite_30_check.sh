# The checker (sourced by tests/run.sh): semantic errors as golden diagnostics
# (tests/errors/semantic), shapes worked out by hand (the `# expect:` lines of tests/shapes/*.cnn,
# compared with what tests/unit/test_check.c prints, and golden `summary --format json`
# output), the seed model's parameter counts, hand-built ASTs (test_check --units), and
# models of 100,000 layers checked in a few seconds.

C30_DIR=$T_TMP/check
mkdir -p "$C30_DIR"
C30_TEST=$C30_DIR/test_check

# The unit program is linked like the objects were built: with the sanitizers if they are in.
c30_build() {
    objs="$BUILD/libcnnc.a"
    san=$(lib_sanitizers "$objs")
    # shellcheck disable=SC2086
    ${CC:-cc} -std=c11 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -Icompiler -g $san \
        -o "$C30_TEST" tests/unit/test_check.c $objs -lyaml -lm
}

# c30_clean NAME STATUS: the last run (out/err in $C30_DIR) ended with STATUS, without a crash
# or a sanitizer report.
c30_clean() {
    if [ "$2" -ge 128 ]; then fail "$1" "crashed with status $2" "$(head -20 "$C30_DIR/err")"; return 1; fi
    if grep -q -e 'runtime error:' -e 'AddressSanitizer' -e 'LeakSanitizer' "$C30_DIR/err"; then
        fail "$1" "sanitizer report:" "$(head -30 "$C30_DIR/err")"; return 1
    fi
    return 0
}

golden_cli tests/errors/semantic
golden_cli tests/shapes

if c30_build 2>"$C30_DIR/build.err"; then
    pass "check: test_check builds"

    "$C30_TEST" --units >"$C30_DIR/out" 2>"$C30_DIR/err"
    status=$?
    if c30_clean "check: units" "$status"; then
        if [ "$status" -eq 0 ] && grep -q ' checks, 0 failed$' "$C30_DIR/out"; then
            pass "check: units ($(tail -1 "$C30_DIR/out"))"
        else
            fail "check: units" "$(head -30 "$C30_DIR/out")"
        fi
    fi

    # Each shape case lists, by hand, every layer's output shape and padding.
    for f in tests/shapes/*.cnn; do
        name=shapes/$(basename "$f" .cnn)
        sed -n 's/^# expect: //p' "$f" >"$C30_DIR/want"
        if [ ! -s "$C30_DIR/want" ]; then fail "$name: expectations" "no '# expect:' lines in $f"; continue; fi
        "$C30_TEST" "$f" >"$C30_DIR/got" 2>"$C30_DIR/err"
        status=$?
        c30_clean "$name: shapes" "$status" || continue
        if [ "$status" -ne 0 ]; then fail "$name: shapes" "$(head -20 "$C30_DIR/err")"; continue; fi
        same_file "$name: shapes by hand" "$C30_DIR/want" "$C30_DIR/got"
    done
else
    fail "check: test_check builds" "$(head -30 "$C30_DIR/build.err")"
fi

# The seed model: parameters 320, 18,496, 102,464 and 650; 121,930 in all.
"$CNNC" summary models/mnist_cnn.cnn >"$C30_DIR/out" 2>"$C30_DIR/err"
status=$?
if c30_clean "check: seed summary" "$status" && [ "$status" -eq 0 ]; then
    for row in "conv2d_1 320" "conv2d_2 18,496" "dense_1 102,464" "dense_2 650"; do
        layer=${row% *}; params=${row#* }
        if grep -E "^ *$layer .* $params( |\$)" "$C30_DIR/out" >/dev/null; then
            pass "check: seed $layer has $params parameters"
        else
            fail "check: seed $layer has $params parameters" "$(cat "$C30_DIR/out")"
        fi
    done
    if grep -q 'Total params: 121,930' "$C30_DIR/out"; then
        pass "check: seed total 121,930"
    else
        fail "check: seed total 121,930" "$(cat "$C30_DIR/out")"
    fi
else
    fail "check: seed summary" "status $status" "$(head -20 "$C30_DIR/err")"
fi

# Every shipped model checks cleanly, and a .cnn file and its YAML twin check the same.
for f in models/*.cnn models/*.yaml; do
    "$CNNC" check "$f" >"$C30_DIR/out" 2>"$C30_DIR/err"
    status=$?
    c30_clean "check: $f" "$status" || continue
    if [ "$status" -eq 0 ] && [ ! -s "$C30_DIR/out" ] && [ ! -s "$C30_DIR/err" ]; then
        pass "check: $f"
    else
        fail "check: $f" "status $status" "$(head -20 "$C30_DIR/err")"
    fi
done
"$CNNC" summary models/mnist_cnn.cnn --format json >"$C30_DIR/cnn.json" 2>&1
"$CNNC" summary models/mnist_cnn.yaml --format=json >"$C30_DIR/yaml.json" 2>&1
same_file "check: .cnn and .yaml give the same summary" "$C30_DIR/cnn.json" "$C30_DIR/yaml.json"

# check takes several files, reports the errors of each and fails if any has one.
"$CNNC" check models/mnist_cnn.cnn tests/errors/semantic/unknown_layer.cnn models/mlp.cnn \
    tests/errors/semantic/dropout_rate.cnn >"$C30_DIR/out" 2>"$C30_DIR/err"
status=$?
if c30_clean "check: several files" "$status"; then
    if [ "$status" -eq 1 ] && [ "$(grep -c ': error: ' "$C30_DIR/err")" -eq 3 ] &&
        grep -q '^tests/errors/semantic/dropout_rate.cnn:6:18: error:' "$C30_DIR/err"; then
        pass "check: several files"
    else
        fail "check: several files" "status $status" "$(cat "$C30_DIR/err")"
    fi
fi

# Standard output is complete or empty: nothing on errors, and a failed write is an error.
"$CNNC" summary tests/errors/semantic/classes_mismatch.cnn >"$C30_DIR/out" 2>"$C30_DIR/err"
status=$?
if [ "$status" -eq 1 ] && [ ! -s "$C30_DIR/out" ]; then pass "check: no summary after errors"
else fail "check: no summary after errors" "status $status" "$(head -5 "$C30_DIR/out")"; fi
if [ -w /dev/full ]; then
    "$CNNC" summary models/mnist_cnn.cnn >/dev/full 2>"$C30_DIR/err"
    status=$?
    if [ "$status" -eq 1 ] && grep -q 'cannot write' "$C30_DIR/err"; then pass "check: summary to a full disk"
    else fail "check: summary to a full disk" "status $status" "$(cat "$C30_DIR/err")"; fi
fi

# c30_timed NAME SECONDS STATUS FILE: `cnnc check FILE` exits with STATUS within SECONDS.
c30_timed() {
    start=$(date +%s)
    "$CNNC" check "$4" >"$C30_DIR/out" 2>"$C30_DIR/err"
    status=$?
    took=$(($(date +%s) - start))
    c30_clean "$1" "$status" || return
    if [ "$status" -ne "$3" ]; then fail "$1" "status $status, expected $3" "$(head -10 "$C30_DIR/err")"; return; fi
    if [ "$took" -gt "$2" ]; then fail "$1" "took ${took}s, more than $2s"; return; fi
    pass "$1 (${took}s)"
}

# 100,000 layers: names are looked up in a hash set, so this takes well under a second
# (the limit leaves room for sanitizers and a busy machine).
{
    echo "model deep {"
    echo "    input 28x28x1;"
    echo "    flatten;"
    awk 'BEGIN { for (i = 0; i < 50000; i++) { print "    relu;"; print "    dropout(rate=0.1);" } }'
    echo "    dense(units=10, activation=softmax);"
    echo "}"
} >"$C30_DIR/deep.cnn"
c30_timed "check: 100,000 layers" 20 0 "$C30_DIR/deep.cnn"

# 100,000 named dense layers, the last two names taken twice: found, and fast.
{
    echo "model wide {"
    echo "    input 28x28x1;"
    echo "    flatten;"
    awk 'BEGIN { for (i = 0; i < 100000; i++) printf "    dense(units=4, name=d%d);\n", i % 99998 }'
    echo "    dense(units=10, activation=softmax);"
    echo "}"
} >"$C30_DIR/wide.cnn"
c30_timed "check: 100,000 names" 20 1 "$C30_DIR/wide.cnn"
if [ "$(grep -c "duplicate layer name 'd[01]'" "$C30_DIR/err")" -eq 2 ]; then pass "check: 100,000 names, duplicates found"
else fail "check: 100,000 names, duplicates found" "$(head -10 "$C30_DIR/err")"; fi

# 10,000 layers reading names that do not exist: past the errors it prints, the checker no
# longer looks for a did-you-mean among every earlier name (that was minutes, quadratic).
{
    echo "model unknown_names {"
    echo "    input 28x28x1;"
    awk 'BEGIN { for (i = 0; i < 10000; i++) printf "    conv2d(filters=1, kernel=1, from=nosuch%d);\n", i }'
    echo "    globalavgpool2d;"
    echo "    dense(units=10, activation=softmax);"
    echo "}"
} >"$C30_DIR/unknown_names.cnn"
c30_timed "check: 10,000 unknown names" 20 1 "$C30_DIR/unknown_names.cnn"

# Extreme numbers in every numeric place of the seed model: each run ends with status 0 or 1,
# never a crash, a hang or a sanitizer report (the sizes reach the overflow checks).
c30_bad=""
c30_runs=0
c30_nums=$(grep -o -n '[0-9][0-9.e-]*' models/mnist_cnn.cnn | wc -l)
c30_k=1
while [ "$c30_k" -le "$c30_nums" ]; do
    for x in 0 -1 2147483647 2147483648 9007199254740992 1e308 0.5; do
        awk -v k="$c30_k" -v x="$x" '{
            out = ""
            while (match($0, /[0-9][0-9.e-]*/)) {
                n++
                out = out substr($0, 1, RSTART - 1) (n == k ? x : substr($0, RSTART, RLENGTH))
                $0 = substr($0, RSTART + RLENGTH)
            }
            print out $0
        }' models/mnist_cnn.cnn >"$C30_DIR/extreme.cnn"
        "$CNNC" check "$C30_DIR/extreme.cnn" >"$C30_DIR/out" 2>"$C30_DIR/err"
        status=$?
        c30_runs=$((c30_runs + 1))
        if [ "$status" -gt 1 ] || grep -q -e 'runtime error:' -e 'AddressSanitizer' "$C30_DIR/err"; then
            c30_bad="$c30_bad number $c30_k = $x (status $status): $(head -3 "$C30_DIR/err")
"
        fi
    done
    c30_k=$((c30_k + 1))
done
if [ -z "$c30_bad" ] && [ "$c30_runs" -gt 50 ]; then pass "check: extreme numbers ($c30_runs runs)"
else fail "check: extreme numbers" "$c30_bad"; fi
