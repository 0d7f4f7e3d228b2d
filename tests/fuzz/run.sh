#!/bin/sh
# Runs fuzz targets at once, each for the time in FUZZ_FLAGS (mk/fuzz.mk sets the
# environment). Arguments: TARGET:SEED_DIR... (the dirs space-separated, read in place).
# A target fails on any crash, sanitizer report, leak, timeout or OOM; libFuzzer writes the
# input under tests/fuzz/found/TARGET/ (crash-*, leak-*, timeout-*, oom-*). Afterwards the
# run's corpus is merged into tests/fuzz/found/TARGET/corpus: only inputs adding coverage, and
# only those of at most FUZZ_KEEP_BYTES, so that the replay suite stays quick.
: "${FUZZ_DIR:?}" "${FUZZ_FLAGS:?}"
FUZZ_KEEP_BYTES=${FUZZ_KEEP_BYTES:-65536}
pids=""
for spec in "$@"; do
    t=${spec%%:*}
    seeds=""
    for d in ${spec#*:} "tests/fuzz/seeds/$t"; do
        [ -d "$d" ] && seeds="$seeds $d"
    done
    found="tests/fuzz/found/$t"
    mkdir -p "$FUZZ_DIR/corpus/$t" "$found/corpus"
    dict=""
    [ -f "tests/fuzz/$t.dict" ] && dict="-dict=tests/fuzz/$t.dict"
    echo "fuzz: $t for $FUZZ_FLAGS (log: $FUZZ_DIR/$t.log)"
    # shellcheck disable=SC2086
    "$FUZZ_DIR/fuzz_$t" $FUZZ_FLAGS $dict -artifact_prefix="$found/" \
        "$FUZZ_DIR/corpus/$t" "$found/corpus" $seeds >"$FUZZ_DIR/$t.log" 2>&1 &
    pids="$pids $!:$t"
done

failed=0
for p in $pids; do
    t=${p#*:}
    if wait "${p%%:*}"; then status=0; else status=$?; fi
    log="$FUZZ_DIR/$t.log"
    stats=$(grep -E '^(#[0-9]+.*(DONE|pulse|NEW|REDUCE).*cov:)' "$log" | tail -1)
    execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    if [ "$status" -ne 0 ] || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY: ' "$log"; then
        echo "fuzz: FAIL $t (status $status): see $log"
        grep -E 'ERROR:|runtime error:|SUMMARY:|Test unit written' "$log" | head -10 | sed 's/^/    /'
        failed=1
        continue
    fi
    echo "fuzz: ok $t: ${execs:-?} execs/s; ${stats:-no stats}"
    # The inputs worth keeping: those adding coverage over what is kept already.
    "$FUZZ_DIR/fuzz_$t" -merge=1 -close_fd_mask=3 -rss_limit_mb=2048 -timeout=10 \
        "tests/fuzz/found/$t/corpus" "$FUZZ_DIR/corpus/$t" >"$FUZZ_DIR/$t.merge.log" 2>&1 ||
        { echo "fuzz: FAIL $t: the merge failed, see $FUZZ_DIR/$t.merge.log"; failed=1; }
    find "tests/fuzz/found/$t/corpus" -type f -size +"${FUZZ_KEEP_BYTES}c" -exec rm -f {} +
    echo "fuzz:    kept $(find "tests/fuzz/found/$t/corpus" -type f | wc -l) corpus inputs in tests/fuzz/found/$t/corpus"
done
[ "$failed" -eq 0 ]
