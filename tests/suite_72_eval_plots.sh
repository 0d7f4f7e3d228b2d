# Suite 72: the pictures of `PROGRAM eval --confusion FILE --mistakes FILE` (runtime/app/main.c,
# the per-image predictions of runtime/eval.c), on the hand-written toy model of suite 45
# trained on 2,000 MNIST images: the confusion matrix (800x800) and the first 36 mistakes
# (900x980) are drawn, not blank, the same for any thread count, in PNG, SVG or PDF; the
# printed counts sum to the 10,000 test images; a bad extension is refused before any work
# with status 2 and no file, and a picture that cannot be written is status 1, before any work.
# Sourced by tests/run.sh. CC, CFLAGS and LDFLAGS must match the build (e.g. the sanitizers).

EP_DIR=$T_TMP/eval_plots
# A folder of the suite's own: suites run at once (tests/run.sh), and others build programs of
# the same names (toy, png_check).
EP_BIN=$BUILD/tests/eval_plots
mkdir -p "$EP_DIR" "$EP_BIN"
EP_CFLAGS="-std=c11 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -Iruntime -Iruntime/app ${CFLAGS:--O2 -g}"
EP_LIBS="$BUILD/libcnnapp.a $BUILD/libcnnplot.a $BUILD/libcnnrt.a -lplplot -lpng -lz -lm -pthread"
# Under LeakSanitizer, ignore the caches fontconfig and pango keep (our own leaks still count).
EP_SAVED_LSAN=${LSAN_OPTIONS-}
export LSAN_OPTIONS="suppressions=$PWD/tests/plot/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

# The MNIST files, where the data step put them.
EP_DATA=$(mnist_dir)

# ep_run NAME STATUS COMMAND...: runs a command into $EP_DIR/out and err; it must exit with
# STATUS (never a signal) and leave no sanitizer report. Returns 1 (after a fail) otherwise.
ep_run() {
    ep_name=$1 ep_want=$2
    shift 2
    "$@" >"$EP_DIR/out" 2>"$EP_DIR/err" </dev/null
    ep_got=$?
    if [ "$ep_got" -ge 128 ]; then
        fail "$ep_name" "crashed with status $ep_got" "$(head -20 "$EP_DIR/err")"; return 1
    fi
    if grep -q -e 'runtime error:' -e 'AddressSanitizer' -e 'LeakSanitizer' "$EP_DIR/err"; then
        fail "$ep_name" "sanitizer report:" "$(head -30 "$EP_DIR/err")"; return 1
    fi
    if [ "$ep_got" != "$ep_want" ]; then
        fail "$ep_name" "exit status $ep_got, expected $ep_want" "$(head -20 "$EP_DIR/out" "$EP_DIR/err")"; return 1
    fi
    return 0
}

# ep_expect NAME STATUS PATTERN COMMAND...: as ep_run, and stdout or stderr holds PATTERN
# (a fixed string).
ep_expect() {
    ee_name=$1 ee_status=$2 ee_pattern=$3
    shift 3
    ep_run "$ee_name" "$ee_status" "$@" || return 0
    if cat "$EP_DIR/out" "$EP_DIR/err" | grep -qF -e "$ee_pattern"; then
        pass "$ee_name"
    else
        fail "$ee_name" "no '$ee_pattern' in:" "$(head -20 "$EP_DIR/out" "$EP_DIR/err")"
    fi
}

# ep_absent NAME FILE...: none of the files exists.
ep_absent() {
    ea_name=$1
    shift
    for ea_file in "$@"; do
        if [ -e "$ea_file" ]; then fail "$ea_name" "$ea_file was left behind"; return; fi
    done
    pass "$ea_name"
}

# ep_magic NAME FILE MAGIC: the file begins with MAGIC.
ep_magic() {
    if [ "$(head -c ${#3} "$2" 2>/dev/null)" = "$3" ]; then pass "$1"
    else fail "$1" "$2 does not start with '$3'" "$(head -c 60 "$2" 2>&1)"; fi
}

# ep_confusion_total FILE: the sum of every count in the confusion matrix printed in FILE
# (the rows ` N | counts... | total accuracy`), or nothing when there are not 10 rows.
ep_confusion_total() {
    awk -F'|' '/^ +[0-9]+ \|/ { n = split($2, c, " "); for (i = 1; i <= n; i++) s += c[i]; rows++ }
        END { if (rows == 10) print s }' "$1"
}

# ---------------------------------------------------------------- building the programs
ep_built=0
if t_make "$BUILD/libcnnrt.a" "$BUILD/libcnnapp.a" "$BUILD/libcnnplot.a" >"$EP_DIR/make" 2>&1; then
    # shellcheck disable=SC2086
    if ${CC:-cc} $EP_CFLAGS -o "$EP_BIN/toy" tests/unit/toy_model.c tests/unit/toy_main.c $EP_LIBS ${LDFLAGS:-} >"$EP_DIR/cc" 2>&1 &&
        ${CC:-cc} $EP_CFLAGS -o "$EP_BIN/test_eval_predictions" tests/unit/test_eval_predictions.c tests/unit/toy_model.c $EP_LIBS ${LDFLAGS:-} >>"$EP_DIR/cc" 2>&1 &&
        ${CC:-cc} $EP_CFLAGS -o "$EP_BIN/png_check" tests/unit/png_check.c ${LDFLAGS:-} -lpng >>"$EP_DIR/cc" 2>&1; then
        ep_built=1
        pass "eval_plots/build"
    else
        fail "eval_plots/build" "$(head -30 "$EP_DIR/cc")"
    fi
else
    fail "eval_plots/build" "make of the runtime libraries failed:" "$(tail -30 "$EP_DIR/make")"
fi
[ -n "$EP_DATA" ] || fail "eval_plots/data" "no MNIST files: run 'make data' or set CNNC_DATA_DIR"

TOY=$EP_BIN/toy
PNG_CHECK=$EP_BIN/png_check
if [ $ep_built = 1 ]; then
    # ------------------------------------------------------------ unit tests
    if ep_run "eval_plots/unit" 0 "$EP_BIN/test_eval_predictions"; then
        if grep -q '^[0-9]* checks, 0 failed$' "$EP_DIR/out"; then pass "eval_plots/unit"; else fail "eval_plots/unit" "$(cat "$EP_DIR/out")"; fi
    fi

    # ------------------------------------------------------------ the command line
    ep_expect "eval_plots/cli/usage" 0 "[--mistakes FILE.png]" "$TOY" --help
    ep_expect "eval_plots/cli/help" 0 "--confusion FILE   draw the confusion matrix" "$TOY" eval --help
    # The extension is checked first: the checkpoint named does not even exist.
    ep_expect "eval_plots/cli/confusion-format" 2 "toy: error: --confusion writes .png, .svg or .pdf files, not '$EP_DIR/c.gif'" \
        "$TOY" eval --load "$EP_DIR/none.ckpt" --confusion "$EP_DIR/c.gif"
    ep_expect "eval_plots/cli/mistakes-format" 2 "toy: error: --mistakes writes .png, .svg or .pdf files, not '$EP_DIR/mistakes'" \
        "$TOY" eval --load "$EP_DIR/none.ckpt" --mistakes "$EP_DIR/mistakes"
    ep_expect "eval_plots/cli/format-usage" 2 "usage: toy train" "$TOY" eval --load "$EP_DIR/none.ckpt" --mistakes "$EP_DIR/m.jpeg"
    ep_absent "eval_plots/cli/format-no-file" "$EP_DIR/c.gif" "$EP_DIR/mistakes" "$EP_DIR/m.jpeg"
    ep_expect "eval_plots/cli/confusion-no-value" 2 "toy: error: --confusion needs a value" "$TOY" eval --load x.ckpt --confusion
    ep_expect "eval_plots/cli/mistakes-empty" 2 "toy: error: --mistakes needs a value" "$TOY" eval --load x.ckpt --mistakes=
    ep_expect "eval_plots/cli/needs-load" 2 "eval needs --load CKPT" "$TOY" eval --confusion "$EP_DIR/c.png"
fi

if [ $ep_built = 1 ] && [ -n "$EP_DATA" ]; then
    # ep_eval ARGS...: eval of the trained toy with more arguments.
    ep_eval() { "$TOY" eval --data "$EP_DATA" --load "$EP_DIR/toy.ckpt" "$@"; }
    if ep_run "eval_plots/train" 0 "$TOY" train --data "$EP_DATA" --limit 2000 --epochs 1 --seed 7 --threads 2 --quiet --save "$EP_DIR/toy.ckpt"; then
        pass "eval_plots/train"
    fi

    # ------------------------------------------------------------ both pictures, as PNG
    if ep_run "eval_plots/png" 0 ep_eval --threads 2 --confusion "$EP_DIR/conf.png" --mistakes "$EP_DIR/mist.png"; then
        pass "eval_plots/png"
        cp "$EP_DIR/out" "$EP_DIR/eval.txt"
        if [ ! -s "$EP_DIR/err" ]; then pass "eval_plots/png-quiet"; else fail "eval_plots/png-quiet" "$(cat "$EP_DIR/err")"; fi
        total=$(ep_confusion_total "$EP_DIR/eval.txt")
        if [ "$total" = 10000 ] && grep -q '^Test set: 10000 images - loss: ' "$EP_DIR/eval.txt"; then pass "eval_plots/counts-sum"
        else fail "eval_plots/counts-sum" "the counts sum to '$total', not 10000:" "$(cat "$EP_DIR/eval.txt")"; fi
        # The darkest blue of the heat map, white cells, and many shades and glyphs between.
        check "eval_plots/confusion-png" "$PNG_CHECK" "$EP_DIR/conf.png" --size 800x800 --min-colours 50 --has 08306b --has ffffff
        # The digits' black backgrounds and white strokes, on a white page with captions.
        check "eval_plots/mistakes-png" "$PNG_CHECK" "$EP_DIR/mist.png" --size 900x980 --min-colours 50 --has 000000 --has ffffff
    fi
    # The pictures add nothing to the printed evaluation, and the thread count changes nothing.
    if ep_run "eval_plots/same-table" 0 ep_eval --threads 1; then
        same_file "eval_plots/same-table" "$EP_DIR/eval.txt" "$EP_DIR/out"
    fi
    if ep_run "eval_plots/threads-agree" 0 ep_eval --threads 1 --confusion "$EP_DIR/conf1.png" --mistakes "$EP_DIR/mist1.png"; then
        if cmp -s "$EP_DIR/conf.png" "$EP_DIR/conf1.png" && cmp -s "$EP_DIR/mist.png" "$EP_DIR/mist1.png"; then
            pass "eval_plots/threads-agree"
        else
            fail "eval_plots/threads-agree" "the pictures of --threads 1 and --threads 2 differ"
        fi
    fi
    # Only one of the two pictures.
    if ep_run "eval_plots/mistakes-only" 0 ep_eval --mistakes "$EP_DIR/only.png"; then
        check "eval_plots/mistakes-only-png" "$PNG_CHECK" "$EP_DIR/only.png" --size 900x980 --min-colours 50
    fi

    # ------------------------------------------------------------ SVG, PDF, any case
    if ep_run "eval_plots/svg-pdf" 0 ep_eval --confusion "$EP_DIR/conf.svg" --mistakes "$EP_DIR/mist.pdf"; then
        pass "eval_plots/svg-pdf"
        ep_magic "eval_plots/confusion-svg" "$EP_DIR/conf.svg" '<?xml'
        ep_magic "eval_plots/mistakes-pdf" "$EP_DIR/mist.pdf" '%PDF'
    fi
    if ep_run "eval_plots/upper-case" 0 ep_eval --confusion "$EP_DIR/CONF.PNG"; then
        check "eval_plots/upper-case-png" "$PNG_CHECK" "$EP_DIR/CONF.PNG" --size 800x800
    fi

    # ------------------------------------------------------------ pictures that cannot be drawn
    # Their paths are checked before the evaluation (issue 16): status 1, nothing evaluated,
    # and no other picture drawn.
    ep_expect "eval_plots/unwritable" 1 "--confusion $EP_DIR/no/such/dir/c.png: the directory $EP_DIR/no/such/dir does not exist" \
        ep_eval --confusion "$EP_DIR/no/such/dir/c.png" --mistakes "$EP_DIR/still.png"
    if [ ! -s "$EP_DIR/out" ] && [ ! -e "$EP_DIR/still.png" ]; then pass "eval_plots/unwritable-before-work"
    else fail "eval_plots/unwritable-before-work" "$(head -5 "$EP_DIR/out" "$EP_DIR/err")"; fi
    mkdir -p "$EP_DIR/dir.png"
    ep_expect "eval_plots/directory-as-output" 1 "--mistakes $EP_DIR/dir.png: is a directory" ep_eval --mistakes "$EP_DIR/dir.png"
    # Work that fails before the pictures leaves none behind.
    ep_expect "eval_plots/bad-checkpoint" 1 "toy: error:" "$TOY" eval --data "$EP_DATA" --load "$EP_DIR/none.ckpt" \
        --confusion "$EP_DIR/bad_c.png" --mistakes "$EP_DIR/bad_m.png"
    ep_absent "eval_plots/bad-checkpoint-no-file" "$EP_DIR/bad_c.png" "$EP_DIR/bad_m.png"
fi
LSAN_OPTIONS=$EP_SAVED_LSAN
