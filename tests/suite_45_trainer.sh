# Suite 45: the trainer and the command line of a built program (runtime/trainer.c, pool.c,
# team.c, eval.c, metrics.c, progress.c, rng.c, init.c, runtime/app/main.c) and the runtime's
# layering (no cycle), on the hand-written softmax-regression model tests/unit/toy_model.c
# trained on a little of MNIST:
# it learns, runs repeat bit for bit, thread counts agree, the last partial batch is trained,
# checkpoints round-trip through eval, predict reads a PGM, a diverging loss stops with
# status 1, and bad command lines exit with 2.
# Sourced by tests/run.sh. CC, CFLAGS and LDFLAGS must match the build (e.g. the sanitizers).

TR_DIR=$T_TMP/trainer
# A folder of the suite's own: suites run at once (tests/run.sh), and others build programs of
# the same names (toy, png_check).
TR_BIN=$BUILD/tests/trainer
mkdir -p "$TR_DIR" "$TR_BIN"
TR_CFLAGS="-std=c11 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -Iruntime -Iruntime/app ${CFLAGS:--O2 -g}"
TR_LIBS="$BUILD/libcnnapp.a $BUILD/libcnnplot.a $BUILD/libcnnrt.a -lplplot -lpng -lz -lm -pthread"

# The MNIST files, where the data step put them.
TR_DATA=$(mnist_dir)

# tr_run NAME STATUS COMMAND...: runs a command into $TR_DIR/out and err; it must exit with
# STATUS (never a signal) and leave no sanitizer report. Returns 1 (after a fail) otherwise.
tr_run() {
    tr_name=$1 tr_want=$2
    shift 2
    "$@" >"$TR_DIR/out" 2>"$TR_DIR/err" </dev/null
    tr_got=$?
    if [ "$tr_got" -ge 128 ]; then
        fail "$tr_name" "crashed with status $tr_got" "$(head -20 "$TR_DIR/err")"; return 1
    fi
    if grep -q -e 'runtime error:' -e 'AddressSanitizer' -e 'LeakSanitizer' "$TR_DIR/err"; then
        fail "$tr_name" "sanitizer report:" "$(head -30 "$TR_DIR/err")"; return 1
    fi
    if [ "$tr_got" != "$tr_want" ]; then
        fail "$tr_name" "exit status $tr_got, expected $tr_want" "$(head -20 "$TR_DIR/out" "$TR_DIR/err")"; return 1
    fi
    return 0
}

# tr_expect NAME STATUS PATTERN COMMAND...: as tr_run, and stdout or stderr matches PATTERN
# (a fixed string).
tr_expect() {
    te_name=$1 te_status=$2 te_pattern=$3
    shift 3
    tr_run "$te_name" "$te_status" "$@" || return 0
    if cat "$TR_DIR/out" "$TR_DIR/err" | grep -qF -e "$te_pattern"; then
        pass "$te_name"
    else
        fail "$te_name" "no '$te_pattern' in:" "$(head -20 "$TR_DIR/out" "$TR_DIR/err")"
    fi
}

# tr_field NAME FILE: the value printed as `NAME: value` on the last epoch line of FILE.
tr_field() {
    grep ' - loss: ' "$2" | tail -1 | sed -n "s/.* - $1: \([0-9.]*\).*/\1/p"
}

# tr_compare NAME A OP B: a numeric comparison with awk (OP one of > < <=), or a fail.
tr_compare() {
    if [ -n "$2" ] && [ -n "$4" ] && awk -v a="$2" -v b="$4" "BEGIN { exit !(a $3 b) }"; then
        pass "$1"
    else
        fail "$1" "expected '$2' $3 '$4'"
    fi
}

# ---------------------------------------------------------------- building the programs
tr_built=0
if t_make "$BUILD/libcnnrt.a" "$BUILD/libcnnapp.a" "$BUILD/libcnnplot.a" >"$TR_DIR/make" 2>&1; then
    # shellcheck disable=SC2086
    if ${CC:-cc} $TR_CFLAGS -o "$TR_BIN/toy" tests/unit/toy_model.c tests/unit/toy_main.c $TR_LIBS ${LDFLAGS:-} >"$TR_DIR/cc" 2>&1 &&
        ${CC:-cc} $TR_CFLAGS -DTOY_SGD -DTOY_LR=1e38 -o "$TR_BIN/toy_nan" tests/unit/toy_model.c tests/unit/toy_main.c $TR_LIBS ${LDFLAGS:-} >>"$TR_DIR/cc" 2>&1 &&
        ${CC:-cc} $TR_CFLAGS -DTOY_SPLIT=0.1 -o "$TR_BIN/toy_split" tests/unit/toy_model.c tests/unit/toy_main.c $TR_LIBS ${LDFLAGS:-} >>"$TR_DIR/cc" 2>&1 &&
        ${CC:-cc} $TR_CFLAGS -DTOY_BAD_GRADIENT -o "$TR_BIN/toy_badgrad" tests/unit/toy_model.c tests/unit/toy_main.c $TR_LIBS ${LDFLAGS:-} >>"$TR_DIR/cc" 2>&1 &&
        ${CC:-cc} $TR_CFLAGS -DTOY_LR=0.002 -o "$TR_BIN/toy_lr2" tests/unit/toy_model.c tests/unit/toy_main.c $TR_LIBS ${LDFLAGS:-} >>"$TR_DIR/cc" 2>&1 &&
        ${CC:-cc} $TR_CFLAGS -DTOY_SGD -DTOY_MOMENTUM=0.9 -o "$TR_BIN/toy_sgdm" tests/unit/toy_model.c tests/unit/toy_main.c $TR_LIBS ${LDFLAGS:-} >>"$TR_DIR/cc" 2>&1 &&
        ${CC:-cc} $TR_CFLAGS -DTOY_SGD -DTOY_MOMENTUM=0.9 -DTOY_LR=0.05 -o "$TR_BIN/toy_sgdm_lr05" tests/unit/toy_model.c tests/unit/toy_main.c $TR_LIBS ${LDFLAGS:-} >>"$TR_DIR/cc" 2>&1 &&
        ${CC:-cc} $TR_CFLAGS -o "$TR_BIN/test_trainer" tests/unit/test_trainer.c tests/unit/toy_model.c $TR_LIBS ${LDFLAGS:-} >>"$TR_DIR/cc" 2>&1; then
        tr_built=1
        pass "trainer/build"
    else
        fail "trainer/build" "$(head -30 "$TR_DIR/cc")"
    fi
else
    fail "trainer/build" "make of the runtime libraries failed:" "$(tail -30 "$TR_DIR/make")"
fi
[ -n "$TR_DATA" ] || fail "trainer/data" "no MNIST files: run 'make data' or set CNNC_DATA_DIR"

# ---------------------------------------------------------------- the runtime's layering
# The runtime is a DAG (issue 15): pool <- team <- eval <- trainer, with metrics and data as
# leaves. Two graphs are checked with tsort, which reports any loop: which object calls which
# (the undefined symbols of each runtime/*.o that another one defines), and which file
# includes which runtime header.
tr_graph_objects() {
    for o in "$BUILD"/runtime/*.o; do
        nm --defined-only -g "$o" | awk -v f="$(basename "$o" .o)" '{ print $3, f }'
    done | sort >"$TR_DIR/defs"
    for o in "$BUILD"/runtime/*.o; do
        nm -u "$o" | awk '{ print $2 }' | sort -u | join - "$TR_DIR/defs" |
            awk -v f="$(basename "$o" .o)" '$2 != f { print f, $2 }'
    done | sort -u
}
tr_graph_includes() {
    for f in runtime/*.c runtime/*.h; do
        sed -n 's/^#include "\([a-z_]*\)\.h".*/\1/p' "$f" | awk -v f="$(basename "$f" | sed 's/\.[ch]$//')" '$1 != f { print f, $1 }'
    done | sort -u
}
# tr_acyclic NAME EDGES-FILE: passes when the edges hold no loop (and there are edges).
tr_acyclic() {
    if [ ! -s "$2" ]; then fail "$1" "no edges found"
    elif out=$(tsort "$2" 2>&1 >/dev/null) && [ -z "$out" ]; then pass "$1"
    else fail "$1" "$out" "$(cat "$2")"; fi
}
printf 'eval team\nteam eval\n' >"$TR_DIR/loop"
if tsort "$TR_DIR/loop" >/dev/null 2>&1; then fail "trainer/layering: tsort finds a loop" "tsort accepted eval <-> team"
else pass "trainer/layering: tsort finds a loop"; fi
tr_graph_objects >"$TR_DIR/calls"
tr_acyclic "trainer/layering: no call cycle between the runtime's objects" "$TR_DIR/calls"
tr_graph_includes >"$TR_DIR/includes"
tr_acyclic "trainer/layering: no include cycle in runtime/" "$TR_DIR/includes"
# The layers in order: nothing below calls anything above it.
tr_up=$(awk '{ r["pool"] = 1; r["metrics"] = 1; r["team"] = 2; r["eval"] = 3; r["trainer"] = 4 }
    ($1 in r) && ($2 in r) && r[$2] >= r[$1] && $1 != $2 { print $1 " calls " $2 }' "$TR_DIR/calls")
if [ -z "$tr_up" ] && grep -q '^team pool$' "$TR_DIR/calls" && grep -q '^eval team$' "$TR_DIR/calls" &&
    grep -q '^trainer eval$' "$TR_DIR/calls"; then
    pass "trainer/layering: pool <- team <- eval <- trainer"
else
    fail "trainer/layering: pool <- team <- eval <- trainer" "$tr_up" "$(cat "$TR_DIR/calls")"
fi

TOY=$TR_BIN/toy
if [ $tr_built = 1 ]; then
    # ------------------------------------------------------------ unit tests
    if tr_run "trainer/unit" 0 "$TR_BIN/test_trainer"; then
        if grep -q '^[0-9]* checks, 0 failed$' "$TR_DIR/out"; then pass "trainer/unit"; else fail "trainer/unit" "$(cat "$TR_DIR/out")"; fi
    fi

    # ------------------------------------------------------------ the command line
    tr_expect "trainer/cli/help" 0 "usage: toy train" "$TOY" --help
    tr_expect "trainer/cli/train-help" 0 "--history FILE.csv" "$TOY" train --help
    tr_expect "trainer/cli/version" 0 "toy (built by cnnc 0.1.0)" "$TOY" --version
    tr_expect "trainer/cli/no-command" 2 "toy: error: no command given" "$TOY"
    tr_expect "trainer/cli/unknown-command" 2 "toy: error: unknown command 'frobnicate'" "$TOY" frobnicate
    tr_expect "trainer/cli/unknown-option" 2 "toy: error: unknown option '--epoch'; did you mean '--epochs'?" "$TOY" train --epoch 3
    tr_expect "trainer/cli/unknown-command-close" 2 "toy: error: unknown command 'evaluate'; did you mean 'eval'?" "$TOY" evaluate
    tr_expect "trainer/cli/unknown-option-typo" 2 "toy: error: unknown option '--hsitory'; did you mean '--history'?" "$TOY" train --hsitory h.csv
    tr_expect "trainer/cli/epochs-word" 2 "toy: error: --epochs needs a whole number from 1 to 1000000, not 'x'" "$TOY" train --epochs x
    tr_expect "trainer/cli/epochs-negative" 2 "not '-3'" "$TOY" train --epochs -3
    tr_expect "trainer/cli/epochs-overflow" 2 "not '99999999999999999999'" "$TOY" train --epochs 99999999999999999999
    tr_expect "trainer/cli/epochs-trailing" 2 "not '2x'" "$TOY" train --epochs=2x
    tr_expect "trainer/cli/limit-zero" 2 "--limit needs a whole number" "$TOY" train --limit 0
    tr_expect "trainer/cli/threads-zero" 2 "--threads needs a whole number" "$TOY" train --threads 0
    tr_expect "trainer/cli/seed-overflow" 2 "--seed needs a whole number, not '9223372036854775808'" "$TOY" train --seed 9223372036854775808
    tr_expect "trainer/cli/missing-value" 2 "toy: error: --save needs a value" "$TOY" train --save
    tr_expect "trainer/cli/plot-format" 2 "--plot writes .png, .svg or .pdf files, not 'curves.gif'" "$TOY" train --plot curves.gif
    tr_expect "trainer/cli/stray-argument" 2 "unexpected argument 'extra'" "$TOY" train extra
    tr_expect "trainer/cli/eval-no-load" 2 "eval needs --load CKPT" "$TOY" eval
    tr_expect "trainer/cli/predict-no-image" 2 "predict needs at least one IMAGE" "$TOY" predict --load x.ckpt
    tr_expect "trainer/cli/usage-on-error" 2 "usage: toy train" "$TOY" train --bogus
    if tr_run "trainer/cli/one-error-line" 2 "$TOY" train --bogus; then
        if [ "$(grep -c 'error' "$TR_DIR/err")" = 1 ] && [ ! -s "$TR_DIR/out" ]; then pass "trainer/cli/one-error-line"
        else fail "trainer/cli/one-error-line" "$(cat "$TR_DIR/out" "$TR_DIR/err")"; fi
    fi
    tr_expect "trainer/cli/no-data" 1 "toy: error:" "$TOY" train --data "$TR_DIR/nowhere" --quiet
    # Messages carry the program's own name, from the command line and from the runtime alike:
    # a copy named `digits` says `digits: error:`, and nothing says `cnnc:`.
    cp "$TOY" "$TR_DIR/digits"
    tr_expect "trainer/name/usage" 2 "digits: error: unknown option '--bogus'" "$TR_DIR/digits" train --bogus
    tr_expect "trainer/name/runtime" 1 "digits: error: $TR_DIR/nowhere: cannot open the data directory" \
        "$TR_DIR/digits" train --data "$TR_DIR/nowhere" --quiet
    tr_expect "trainer/name/checkpoint" 1 "digits: error: $TR_DIR/none.ckpt: cannot open" \
        "$TR_DIR/digits" predict --load "$TR_DIR/none.ckpt" x.pgm
    if grep -q 'cnnc:' "$TR_DIR/err"; then fail "trainer/name/never-cnnc" "$(cat "$TR_DIR/err")"; else pass "trainer/name/never-cnnc"; fi
fi

if [ $tr_built = 1 ] && [ -n "$TR_DATA" ]; then
    TR_TRAIN="$TOY train --data $TR_DATA --limit 2000 --epochs 1 --seed 7"

    # ------------------------------------------------------------ it learns, and repeats
    if tr_run "trainer/learns" 0 $TR_TRAIN --threads 2 --save "$TR_DIR/a.ckpt"; then
        cp "$TR_DIR/out" "$TR_DIR/a.log"
        tr_compare "trainer/learns" "$(tr_field accuracy "$TR_DIR/a.log")" ">" 0.5
        tr_compare "trainer/learns-val" "$(tr_field val_accuracy "$TR_DIR/a.log")" ">" 0.5
        if grep -q '^Epoch 1/1$' "$TR_DIR/a.log" && grep -q '^63/63 \[==============================\] - ' "$TR_DIR/a.log" &&
            [ "$(wc -l <"$TR_DIR/a.log")" = 2 ] && ! grep -q "$(printf '\r')" "$TR_DIR/a.log"; then
            pass "trainer/progress-log"
        else
            fail "trainer/progress-log" "$(cat "$TR_DIR/a.log")"
        fi
    fi
    if tr_run "trainer/repeatable" 0 $TR_TRAIN --threads 2 --save "$TR_DIR/b.ckpt" --quiet; then
        if cmp -s "$TR_DIR/a.ckpt" "$TR_DIR/b.ckpt"; then pass "trainer/repeatable"; else fail "trainer/repeatable" "the checkpoints differ"; fi
        if [ ! -s "$TR_DIR/out" ]; then pass "trainer/quiet"; else fail "trainer/quiet" "$(cat "$TR_DIR/out")"; fi
    fi
    if tr_run "trainer/threads-agree" 0 $TR_TRAIN --threads 1; then
        a1=$(tr_field accuracy "$TR_DIR/out")
        a2=$(tr_field accuracy "$TR_DIR/a.log")
        tr_compare "trainer/threads-agree" "$(awk -v a="$a1" -v b="$a2" 'BEGIN { d = a - b; print d < 0 ? -d : d }')" "<=" 0.01
    fi
    if tr_run "trainer/other-seed" 0 $TR_TRAIN --seed 8 --threads 2 --save "$TR_DIR/s8.ckpt" --quiet; then
        if cmp -s "$TR_DIR/a.ckpt" "$TR_DIR/s8.ckpt"; then fail "trainer/other-seed" "--seed changed nothing"; else pass "trainer/other-seed"; fi
    fi

    # ------------------------------------------------------------ finding the data from anywhere
    # Without --data and $CNNC_DATA_DIR, a program looks for the data step's folder from its
    # own place (DIR/data/mnist or DIR/build/data/mnist, DIR its folder or one above it), not
    # from the working directory: a copy of the toy in prog/bin/ with the data in
    # prog/build/data/mnist trains when run from /. One with no data near it says where it
    # looked, with absolute paths, and how to point it at the data.
    mkdir -p "$TR_DIR/prog/bin" "$TR_DIR/prog/build/data" "$TR_DIR/lonely"
    cp "$TOY" "$TR_DIR/prog/bin/toy"
    cp "$TOY" "$TR_DIR/lonely/toy"
    ln -sf "$(cd "$TR_DATA" && pwd)" "$TR_DIR/prog/build/data/mnist"
    tr_expect "trainer/data/near-the-program" 0 "32/32 [" \
        env -u CNNC_DATA_DIR sh -c "cd / && '$TR_DIR/prog/bin/toy' train --limit 1000 --validation-limit 100"
    tr_expect "trainer/data/none-says-where" 1 "no folder holds it: not --data, not \$CNNC_DATA_DIR (not set), and not the folders of the data step near this program:" \
        env -u CNNC_DATA_DIR sh -c "cd / && '$TR_DIR/lonely/toy' train --limit 1000"
    if grep -qF "$TR_DIR/lonely/data/mnist" "$TR_DIR/err" && grep -qF "$TR_DIR/lonely/build/data/mnist" "$TR_DIR/err" &&
        grep -qF "hint: pass --data DIR (a folder of the four MNIST IDX files, gzipped or not), or set CNNC_DATA_DIR=DIR" "$TR_DIR/err"; then
        pass "trainer/data/none-hint"
    else
        fail "trainer/data/none-hint" "$(cat "$TR_DIR/err")"
    fi
    tr_expect "trainer/data/env" 0 "32/32 [" \
        env CNNC_DATA_DIR="$(cd "$TR_DATA" && pwd)" sh -c "cd / && '$TR_DIR/lonely/toy' train --limit 1000 --validation-limit 100"

    # ------------------------------------------------------------ --learning-rate, --batch-size, --validation-limit
    # --learning-rate gives the run of a model built with that rate: the same loss and
    # accuracy, for Adam and for SGD with momentum, and the checkpoint records the rate used.
    tr_same_run() {
        if tr_run "$1" 0 "$2" train --data "$TR_DATA" --limit 2000 --epochs 1 --seed 7 --threads 2 --save "$TR_DIR/lr_a.ckpt" &&
            cp "$TR_DIR/out" "$TR_DIR/lr_a.log" &&
            tr_run "$1" 0 "$3" train --data "$TR_DATA" --limit 2000 --epochs 1 --seed 7 --threads 2 --learning-rate "$4" --save "$TR_DIR/lr_b.ckpt"; then
            a=$(grep ' - loss: ' "$TR_DIR/lr_a.log" | sed 's/.* - loss: //') b=$(grep ' - loss: ' "$TR_DIR/out" | sed 's/.* - loss: //')
            if [ -n "$a" ] && [ "$a" = "$b" ]; then pass "$1"; else fail "$1" "built with the rate: $a" "--learning-rate $4: $b"; fi
        fi
    }
    tr_same_run "trainer/learning-rate/adam" "$TR_BIN/toy_lr2" "$TOY" 0.002
    if head -c 300 "$TR_DIR/lr_b.ckpt" | grep -q '"learning_rate":"0.002"'; then pass "trainer/learning-rate/recorded"
    else fail "trainer/learning-rate/recorded" "$(head -c 300 "$TR_DIR/lr_b.ckpt")"; fi
    tr_same_run "trainer/learning-rate/sgd-momentum" "$TR_BIN/toy_sgdm_lr05" "$TR_BIN/toy_sgdm" 0.05
    tr_expect "trainer/learning-rate/changes-the-run" 0 " - loss: " $TR_TRAIN --threads 2 --learning-rate 0.05
    if [ "$(grep ' - loss: ' "$TR_DIR/out" | sed 's/.* - loss: //')" = "$(grep ' - loss: ' "$TR_DIR/a.log" | sed 's/.* - loss: //')" ]; then
        fail "trainer/learning-rate/changes-the-run" "the same figures as the model's rate"
    fi
    tr_expect "trainer/learning-rate/not-a-number" 2 "toy: error: --learning-rate needs a positive number, such as 0.001, not '-1'" \
        "$TOY" train --learning-rate -1
    # Any batch up to the compiled 32: 1000 images in batches of 16 are 63 steps.
    tr_expect "trainer/batch-size/smaller" 0 "63/63 [" "$TOY" train --data "$TR_DATA" --limit 1000 --batch-size 16
    tr_expect "trainer/batch-size/larger" 2 "toy: error: --batch-size 64 is larger than the batch of 32 that model 'toy' was compiled for, which sizes its buffers" \
        "$TOY" train --data "$TR_DATA" --limit 1000 --batch-size 64
    # --validation-limit: the validation accuracy is a count out of 333 (the history's six
    # decimals show it), not out of the 10,000 test images.
    if tr_run "trainer/validation-limit" 0 $TR_TRAIN --validation-limit 333 --history "$TR_DIR/vl.csv"; then
        if awk -F, 'NR == 2 { x = $5 * 333; d = x - int(x + 0.5); exit !(d < 0.002 && d > -0.002 && $5 > 0) }' "$TR_DIR/vl.csv"; then
            pass "trainer/validation-limit"
        else
            fail "trainer/validation-limit" "$(cat "$TR_DIR/vl.csv")"
        fi
    fi
    tr_expect "trainer/limit-above" 0 "toy: warning: --limit 100000 is more than the 60000 training images; training on all of them" \
        "$TOY" train --data "$TR_DATA" --limit 100000 --epochs 1 --validation-limit 100
    tr_expect "trainer/threads-above" 0 "toy: warning: --threads 1000 is more than the $(getconf _NPROCESSORS_ONLN) cores of this machine" \
        $TR_TRAIN --threads 1000
    tr_expect "trainer/validation-limit-above" 0 "toy: warning: --validation-limit 20000 is more than the 10000 validation images; validating on all of them" \
        $TR_TRAIN --validation-limit 20000

    # ------------------------------------------------------------ output paths, checked first
    # A path that cannot be written is an error before the first step (no "Epoch" line), not
    # after the training it was meant to keep.
    mkdir -p "$TR_DIR/a-dir"
    tr_expect "trainer/paths/save-missing-dir" 1 "toy: error: --save $TR_DIR/no/such/x.ckpt: the directory $TR_DIR/no/such does not exist" \
        $TR_TRAIN --save "$TR_DIR/no/such/x.ckpt"
    if grep -q 'Epoch' "$TR_DIR/out"; then fail "trainer/paths/checked-before-training" "$(cat "$TR_DIR/out")"
    else pass "trainer/paths/checked-before-training"; fi
    tr_expect "trainer/paths/save-directory" 1 "--save $TR_DIR/a-dir: is a directory; give a file name, such as $TR_DIR/a-dir/model.safetensors" \
        $TR_TRAIN --save "$TR_DIR/a-dir"
    # /proc takes no new files, even from root: like a read-only file system.
    tr_expect "trainer/paths/history-unwritable" 1 "--history /proc/h.csv: cannot write in /proc" \
        $TR_TRAIN --history /proc/h.csv --save "$TR_DIR/ok.ckpt"
    if [ -e "$TR_DIR/ok.ckpt" ] || grep -q 'Epoch' "$TR_DIR/out"; then fail "trainer/paths/history-before-training" "$(cat "$TR_DIR/out")"
    else pass "trainer/paths/history-before-training"; fi
    tr_expect "trainer/paths/plot-missing-dir" 1 "--plot $TR_DIR/no/c.png: the directory $TR_DIR/no does not exist" \
        $TR_TRAIN --plot "$TR_DIR/no/c.png"
    if ls "$TR_DIR/a-dir" "$TR_DIR" | grep -q 'probe'; then fail "trainer/paths/no-probe-left" "$(ls "$TR_DIR")"
    else pass "trainer/paths/no-probe-left"; fi

    # ------------------------------------------------------------ the last partial batch
    # 1000 images in batches of 32: 31 full batches and one of 8. Without shuffling, 992
    # images make the same first 31 steps, so the checkpoints differ by the last step only.
    tr_expect "trainer/partial-batch-steps" 0 "32/32 [" "$TOY" train --data "$TR_DATA" --limit 1000 --epochs 1 --no-shuffle --save "$TR_DIR/l1000.ckpt"
    tr_expect "trainer/full-batches-steps" 0 "31/31 [" "$TOY" train --data "$TR_DATA" --limit 992 --epochs 1 --no-shuffle --save "$TR_DIR/l992.ckpt"
    if cmp -s "$TR_DIR/l1000.ckpt" "$TR_DIR/l992.ckpt"; then
        fail "trainer/partial-batch-trained" "the last 8 images changed nothing"
    else
        pass "trainer/partial-batch-trained"
    fi

    # ------------------------------------------------------------ checkpoints, eval, resume
    if tr_run "trainer/eval" 0 "$TOY" eval --load "$TR_DIR/a.ckpt" --data "$TR_DATA"; then
        cp "$TR_DIR/out" "$TR_DIR/eval.txt"
        want=$(tr_field val_accuracy "$TR_DIR/a.log")
        if grep -q "^Test set: 10000 images - loss: [0-9.]* - accuracy: $want$" "$TR_DIR/eval.txt" &&
            grep -q "^total |.* 10000   $want$" "$TR_DIR/eval.txt"; then
            pass "trainer/eval"
        else
            fail "trainer/eval" "expected accuracy $want:" "$(head -20 "$TR_DIR/eval.txt")"
        fi
        # Every row of the confusion matrix sums to its total.
        if awk -F'|' '/^ +[0-9] \|/ { n = split($2, c, " "); s = 0; for (i = 1; i <= n; i++) s += c[i]; split($3, t, " "); if (s != t[1]) bad = 1; rows++ } END { exit bad || rows != 10 }' "$TR_DIR/eval.txt"; then
            pass "trainer/eval-confusion"
        else
            fail "trainer/eval-confusion" "$(cat "$TR_DIR/eval.txt")"
        fi
    fi
    if tr_run "trainer/eval-threads" 0 "$TOY" eval --load "$TR_DIR/a.ckpt" --data "$TR_DATA" --threads 1; then
        same_file "trainer/eval-threads" "$TR_DIR/eval.txt" "$TR_DIR/out"
    fi
    tr_expect "trainer/paths/eval-picture-missing-dir" 1 "--confusion $TR_DIR/no/c.png: the directory $TR_DIR/no does not exist" \
        "$TOY" eval --load "$TR_DIR/a.ckpt" --data "$TR_DATA" --confusion "$TR_DIR/no/c.png"
    if grep -q 'Test set' "$TR_DIR/out"; then fail "trainer/paths/eval-checked-before" "$(cat "$TR_DIR/out")"
    else pass "trainer/paths/eval-checked-before"; fi
    tr_expect "trainer/eval-bad-checkpoint" 1 "toy: error:" "$TOY" eval --load "$TR_DIR/a.log" --data "$TR_DATA"
    tr_expect "trainer/eval-missing-checkpoint" 1 "toy: error:" "$TOY" eval --load "$TR_DIR/none.ckpt" --data "$TR_DATA"
    # Resuming from the checkpoint (weights and Adam's state) trains on from where it was.
    # PLplot's cairo driver loads fontconfig, which keeps its caches to the end on purpose:
    # under LeakSanitizer those, and only those, are not reports about our code.
    echo "leak:libfontconfig.so" >"$TR_DIR/lsan.supp"
    # a.ckpt finished epoch 1: with --epochs 2 the run trains epoch 2.
    if tr_run "trainer/resume" 0 env LSAN_OPTIONS="suppressions=$TR_DIR/lsan.supp:print_suppressions=0" $TR_TRAIN --epochs 2 --threads 2 --load "$TR_DIR/a.ckpt" --history "$TR_DIR/h.csv" --plot "$TR_DIR/h.png"; then
        tr_compare "trainer/resume" "$(tr_field accuracy "$TR_DIR/out")" ">" "$(tr_field accuracy "$TR_DIR/a.log")"
        if [ "$(head -1 "$TR_DIR/h.csv")" = "epoch,loss,accuracy,val_loss,val_accuracy,seconds" ] &&
            [ "$(wc -l <"$TR_DIR/h.csv")" = 2 ] && grep -q '^2,' "$TR_DIR/h.csv"; then
            pass "trainer/history"
        else
            fail "trainer/history" "$(cat "$TR_DIR/h.csv" 2>&1)"
        fi
        if [ "$(head -c 4 "$TR_DIR/h.png" 2>/dev/null | od -An -c | tr -d ' ')" = '211PNG' ]; then pass "trainer/plot"
        else fail "trainer/plot" "no PNG written"; fi
    fi

    # ------------------------------------------------------------ predict
    # The first test image (a 7) as a binary PGM, and a 27x28 one that must be refused.
    { printf 'P5\n28 28\n255\n'; gzip -dc "$TR_DATA/t10k-images-idx3-ubyte.gz" | tail -c +17 | head -c 784; } >"$TR_DIR/seven.pgm"
    { printf 'P5\n27 28\n255\n'; head -c 756 /dev/zero; } >"$TR_DIR/narrow.pgm"
    if tr_run "trainer/predict" 0 "$TOY" predict --load "$TR_DIR/a.ckpt" "$TR_DIR/seven.pgm"; then
        if grep -q "^$TR_DIR/seven.pgm: 7 (p=0\.[0-9]\{4\})$" "$TR_DIR/out" &&
            sed -n 2p "$TR_DIR/out" | awk 'NF == 10 { s = 0; m = 1; for (i = 1; i <= 10; i++) { s += $i; if ($i + 0 > $m + 0) m = i } exit !(s > 0.99 && s < 1.01 && m == 8) } NF != 10 { exit 1 }'; then
            pass "trainer/predict"
        else
            fail "trainer/predict" "$(cat "$TR_DIR/out")"
        fi
    fi
    tr_expect "trainer/predict-size" 1 "narrow.pgm: the image is 27x28 but model 'toy' takes 28x28 images" "$TOY" predict --load "$TR_DIR/a.ckpt" "$TR_DIR/seven.pgm" "$TR_DIR/narrow.pgm"
    if grep -q "seven.pgm: 7" "$TR_DIR/out"; then pass "trainer/predict-goes-on"; else fail "trainer/predict-goes-on" "$(cat "$TR_DIR/out")"; fi
    tr_expect "trainer/predict-missing" 1 "missing.pgm" "$TOY" predict --load "$TR_DIR/a.ckpt" "$TR_DIR/missing.pgm"
    tr_expect "trainer/predict-directory" 1 "toy: error: $TR_DIR/a-dir: is a directory; give the image files in it (PGM or PNG), such as $TR_DIR/a-dir/*.png" \
        "$TOY" predict --load "$TR_DIR/a.ckpt" "$TR_DIR/a-dir"
    # The seven in colour (an RGB PNG, every channel the grey value) and inverted (a dark
    # digit on white): a note, once, that colour is made grey, and a hint to invert.
    python3 - "$TR_DIR/seven.pgm" "$TR_DIR/seven-rgb.png" "$TR_DIR/seven-inverted.pgm" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()[-784:]
rows = b"".join(b"\0" + bytes(v for p in data[y * 28:(y + 1) * 28] for v in (p, p, p)) for y in range(28))
chunk = lambda kind, body: struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 28, 28, 8, 2, 0, 0, 0)) + \
    chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
open(sys.argv[2], "wb").write(png)
open(sys.argv[3], "wb").write(b"P5\n28 28\n255\n" + bytes(255 - p for p in data))
PY
    if tr_run "trainer/predict-colour" 0 "$TOY" predict --load "$TR_DIR/a.ckpt" "$TR_DIR/seven-rgb.png" "$TR_DIR/seven-rgb.png"; then
        if grep -q "^$TR_DIR/seven-rgb.png: 7 " "$TR_DIR/out" &&
            [ "$(grep -c "toy: note: $TR_DIR/seven-rgb.png is in colour: predict makes every colour image grey" "$TR_DIR/err")" = 1 ]; then
            pass "trainer/predict-colour"
        else
            fail "trainer/predict-colour" "$(cat "$TR_DIR/out" "$TR_DIR/err")"
        fi
    fi
    tr_expect "trainer/predict-inverted" 0 "toy: note: $TR_DIR/seven-inverted.pgm is mostly light (mean " \
        "$TOY" predict --load "$TR_DIR/a.ckpt" "$TR_DIR/seven-inverted.pgm"
    if grep -q 'note' "$TR_DIR/err" && tr_run "trainer/predict-no-note" 0 "$TOY" predict --load "$TR_DIR/a.ckpt" "$TR_DIR/seven.pgm" &&
        [ ! -s "$TR_DIR/err" ]; then pass "trainer/predict-no-note"; else fail "trainer/predict-no-note" "$(cat "$TR_DIR/err")"; fi

    # ------------------------------------------------------------ --save-weights-only
    # The weights and nothing of the optimizer: a PyTorch user loads every tensor of it.
    if tr_run "trainer/weights-only" 0 $TR_TRAIN --save "$TR_DIR/w.ckpt" --save-weights-only; then
        tr_hl=$(od -An -tu8 -N8 "$TR_DIR/w.ckpt" | tr -d ' ')
        if [ "$(wc -c <"$TR_DIR/w.ckpt")" = $((8 + tr_hl + 7850 * 4)) ] && ! head -c $((8 + tr_hl)) "$TR_DIR/w.ckpt" | grep -q 'optimizer\.'; then
            pass "trainer/weights-only"
        else
            fail "trainer/weights-only" "$(head -c $((8 + tr_hl)) "$TR_DIR/w.ckpt")"
        fi
        if cmp -s "$TR_DIR/w.ckpt" "$TR_DIR/a.ckpt"; then fail "trainer/weights-only-differs" "the same file as a full checkpoint"
        else pass "trainer/weights-only-differs"; fi
        tr_expect "trainer/weights-only-predicts" 0 "seven.pgm: 7 (p=" "$TOY" predict --load "$TR_DIR/w.ckpt" "$TR_DIR/seven.pgm"
        # Resuming from it: the epoch count goes on, the optimizer starts afresh without a word.
        if tr_run "trainer/weights-only-resumes" 0 $TR_TRAIN --epochs 2 --load "$TR_DIR/w.ckpt" && grep -q '^Epoch 2/2$' "$TR_DIR/out" &&
            [ ! -s "$TR_DIR/err" ]; then pass "trainer/weights-only-resumes"
        else fail "trainer/weights-only-resumes" "$(cat "$TR_DIR/out" "$TR_DIR/err")"; fi
    fi
    tr_expect "trainer/weights-only-needs-save" 2 "toy: error: --save-weights-only says what --save CKPT writes, and there is no --save" \
        "$TOY" train --save-weights-only

    # ------------------------------------------------------------ validation split(0.1)
    # The last 100 of 1000 images are held out: 900 to train on, in 29 steps (28 of 32, 1 of 4).
    if tr_run "trainer/split" 0 "$TR_BIN/toy_split" train --data "$TR_DATA" --limit 1000; then
        if grep -q '^29/29 \[' "$TR_DIR/out" && [ -n "$(tr_field val_accuracy "$TR_DIR/out")" ]; then pass "trainer/split"
        else fail "trainer/split" "$(cat "$TR_DIR/out")"; fi
    fi
    tr_expect "trainer/split-too-small" 1 "validation split(0.1) of 1 training images leaves 0 to train on" "$TR_BIN/toy_split" train --data "$TR_DATA" --limit 1

    # ------------------------------------------------------------ a diverging loss
    rm -f "$TR_DIR/nan.ckpt"
    tr_expect "trainer/nan-stops" 1 "toy_nan: error: loss became NaN at epoch 1, step " "$TR_BIN/toy_nan" train --data "$TR_DATA" --limit 1000 --save "$TR_DIR/nan.ckpt"
    if [ -e "$TR_DIR/nan.ckpt" ]; then fail "trainer/nan-no-checkpoint" "a checkpoint was saved"; else pass "trainer/nan-no-checkpoint"; fi
    # A gradient that overflows while the loss is finite stops the step it happens in, before
    # the optimizer spreads it into the weights (which would show as a NaN loss one step later).
    rm -f "$TR_DIR/badgrad.ckpt"
    tr_expect "trainer/bad-gradient-stops" 1 "gradient became infinite at epoch 1, step 1 (the checkpoint is not saved)" \
        "$TR_BIN/toy_badgrad" train --data "$TR_DATA" --limit 1000 --save "$TR_DIR/badgrad.ckpt"
    if [ -e "$TR_DIR/badgrad.ckpt" ]; then fail "trainer/bad-gradient-no-checkpoint" "a checkpoint was saved"
    else pass "trainer/bad-gradient-no-checkpoint"; fi

    # ------------------------------------------------------------ a checkpoint holding NaN
    # As a cnnc that saved diverged models wrote it: the first weight, dense_1.kernel [0, 0],
    # made NaN. predict and eval refuse it, naming the tensor, rather than print -nan.
    cp "$TR_DIR/a.ckpt" "$TR_DIR/nan-weights.ckpt"
    tr_hl=$(od -An -tu8 -N8 "$TR_DIR/a.ckpt" | tr -d ' ')
    printf '\000\000\300\177' | dd of="$TR_DIR/nan-weights.ckpt" bs=1 seek=$((8 + tr_hl)) conv=notrunc 2>/dev/null
    tr_expect "trainer/predict-refuses-nan" 1 "nan-weights.ckpt: tensor 'dense_1.kernel' holds NaN at [0, 0]" \
        "$TOY" predict --load "$TR_DIR/nan-weights.ckpt" "$TR_DIR/seven.pgm"
    if [ -s "$TR_DIR/out" ]; then fail "trainer/predict-prints-nothing" "$(cat "$TR_DIR/out")"; else pass "trainer/predict-prints-nothing"; fi
    tr_expect "trainer/eval-refuses-nan" 1 "nan-weights.ckpt: tensor 'dense_1.kernel' holds NaN at [0, 0]" \
        "$TOY" eval --load "$TR_DIR/nan-weights.ckpt" --data "$TR_DATA"
fi
