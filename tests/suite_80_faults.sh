# Suite 80: faults during training, on the hand-written toy model (tests/unit/toy_model.c):
# a checkpoint save that fails (a full disk, a read-only folder) reports it and leaves the
# previous checkpoint intact; SIGKILL at random moments during saves never leaves a torn file
# under the final name; Ctrl-C (SIGINT) stops at the end of a step, saves, says where and exits
# with 130; --load resumes with the optimizer state, the step count and the epoch count, and
# appends to the history, but starts afresh an optimizer state that is another optimizer's.
# The full disk and the read-only folder are small tmpfs mounts, which need root in a sandbox
# that allows mount(2); where it does not, those two tests say they were skipped.
# Sourced by tests/run.sh. CC, CFLAGS and LDFLAGS must match the build.

FA_DIR=$T_TMP/faults
FA_BIN=$BUILD/tests
mkdir -p "$FA_DIR" "$FA_BIN"
FA_CFLAGS="-std=c11 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -Iruntime -Iruntime/app ${CFLAGS:--O2 -g}"
FA_LIBS="$BUILD/libcnnapp.a $BUILD/libcnnplot.a $BUILD/libcnnrt.a -lplplot -lpng -lz -lm -pthread ${LDFLAGS:-}"
FA_DATA=$(mnist_dir)

# fa_run NAME STATUS COMMAND...: output in $FA_DIR/out and err; the status must be STATUS and
# no sanitizer may report. Returns 1 after a fail.
fa_run() {
    fa_name=$1 fa_want=$2
    shift 2
    "$@" >"$FA_DIR/out" 2>"$FA_DIR/err" </dev/null
    fa_got=$?
    if grep -q -e 'runtime error:' -e 'AddressSanitizer' -e 'LeakSanitizer' "$FA_DIR/err"; then
        fail "$fa_name" "sanitizer report:" "$(head -30 "$FA_DIR/err")"; return 1
    fi
    if [ "$fa_got" != "$fa_want" ]; then
        fail "$fa_name" "exit status $fa_got, expected $fa_want" "$(tail -5 "$FA_DIR/out")" "$(head -10 "$FA_DIR/err")"; return 1
    fi
    return 0
}
# fa_has NAME PATTERN FILE: a pass when FILE holds the fixed string PATTERN.
fa_has() {
    if grep -qF -e "$2" "$3"; then pass "$1"; else fail "$1" "no '$2' in:" "$(head -10 "$3")"; fi
}
# The step a checkpoint records, from its JSON header.
fa_step() {
    head -c 2000 "$1" | tr ',' '\n' | sed -n 's/.*"step":"\([0-9]*\)".*/\1/p'
}
# The last epoch line's loss (or another NAME) in FILE.
fa_field() {
    tr '\r' '\n' <"$2" | grep ' - loss: ' | tail -1 | sed -n "s/.* - $1: \([0-9.]*\).*/\1/p"
}
# fa_mount DIR SIZE: a tmpfs of SIZE on DIR; fails quietly where mounting is not allowed.
fa_mount() {
    mkdir -p "$1" && mount -t tmpfs -o "size=$2" tmpfs "$1" 2>/dev/null
}

FA_TOY=$FA_BIN/faults_toy
FA_SGDM=$FA_BIN/faults_toy_sgd
FA_TORTURE=$FA_BIN/ckpt_torture
fa_built=0
if [ -z "$FA_DATA" ]; then
    fail "faults/data" "no MNIST files found (make data)"
elif t_make "$BUILD/libcnnrt.a" "$BUILD/libcnnapp.a" "$BUILD/libcnnplot.a" >"$FA_DIR/make" 2>&1 &&
    # shellcheck disable=SC2086
    ${CC:-cc} $FA_CFLAGS -o "$FA_TOY" tests/unit/toy_model.c tests/unit/toy_main.c $FA_LIBS >"$FA_DIR/cc" 2>&1 &&
    # shellcheck disable=SC2086
    ${CC:-cc} $FA_CFLAGS -DTOY_SGD -DTOY_MOMENTUM=0.9 -o "$FA_SGDM" tests/unit/toy_model.c tests/unit/toy_main.c $FA_LIBS >>"$FA_DIR/cc" 2>&1 &&
    # shellcheck disable=SC2086
    ${CC:-cc} $FA_CFLAGS -o "$FA_TORTURE" tests/unit/ckpt_torture.c tests/unit/toy_model.c $FA_LIBS >>"$FA_DIR/cc" 2>&1; then
    fa_built=1
    pass "faults/build"
else
    fail "faults/build" "$(head -20 "$FA_DIR/make" "$FA_DIR/cc" 2>/dev/null)"
fi

if [ $fa_built = 1 ]; then
    FA_TRAIN="$FA_TOY train --data $FA_DATA --limit 1000 --threads 2 --no-shuffle"

    # ------------------------------------------------------------ a full disk
    # 128 KiB holds one toy checkpoint (94 KB with Adam's moments) but not a second beside it.
    if fa_mount "$FA_DIR/full" 128k; then
        if fa_run "faults/full-disk/first-save" 0 $FA_TRAIN --epochs 1 --save "$FA_DIR/full/a.ckpt"; then
            cp "$FA_DIR/full/a.ckpt" "$FA_DIR/full-before.ckpt"
            if fa_run "faults/full-disk/fails" 1 $FA_TRAIN --epochs 2 --save "$FA_DIR/full/a.ckpt"; then
                fa_has "faults/full-disk/says-why" "No space left on device" "$FA_DIR/err"
                if cmp -s "$FA_DIR/full/a.ckpt" "$FA_DIR/full-before.ckpt"; then pass "faults/full-disk/old-intact"
                else fail "faults/full-disk/old-intact" "the previous checkpoint changed"; fi
                left=$(ls "$FA_DIR/full" | grep -v '^a\.ckpt$')
                if [ -z "$left" ]; then pass "faults/full-disk/no-temporary"
                else fail "faults/full-disk/no-temporary" "left behind: $left"; fi
            fi
        fi
        umount "$FA_DIR/full"
    else
        echo "  skip faults/full-disk: this sandbox does not allow mounting a small tmpfs"
    fi

    # ------------------------------------------------------------ a read-only folder
    # As root, permissions do not stop writes: a tmpfs remounted read-only does.
    if fa_mount "$FA_DIR/ro" 1m; then
        if fa_run "faults/read-only/first-save" 0 $FA_TRAIN --epochs 1 --save "$FA_DIR/ro/a.ckpt" &&
            mount -o remount,ro "$FA_DIR/ro" 2>/dev/null; then
            cp "$FA_DIR/ro/a.ckpt" "$FA_DIR/ro-before.ckpt"
            if fa_run "faults/read-only/fails" 1 $FA_TRAIN --epochs 2 --save "$FA_DIR/ro/a.ckpt"; then
                fa_has "faults/read-only/says-why" "Read-only file system" "$FA_DIR/err"
                if cmp -s "$FA_DIR/ro/a.ckpt" "$FA_DIR/ro-before.ckpt"; then pass "faults/read-only/old-intact"
                else fail "faults/read-only/old-intact" "the previous checkpoint changed"; fi
            fi
        fi
        umount "$FA_DIR/ro"
    else
        echo "  skip faults/read-only: this sandbox does not allow mounting a small tmpfs"
    fi

    # ------------------------------------------------------------ a history that cannot be written
    # The history is written after each epoch through a temporary file named after the
    # process (`h.csv.tmp.PID`). A directory of that name, made by the shell just before it
    # execs the program (same PID), makes every write of the history fail, while the check of
    # the paths before training (which creates a differently named file) passes. Training must
    # go on to the end and still save the checkpoint, then exit with 1.
    rm -f "$FA_DIR/hist.ckpt"
    if fa_run "faults/history-fails/status-1" 1 sh -c 'mkdir "$1.tmp.$$" && shift && exec "$@"' sh "$FA_DIR/h.csv" \
        $FA_TRAIN --epochs 2 --history "$FA_DIR/h.csv" --save "$FA_DIR/hist.ckpt"; then
        fa_has "faults/history-fails/says-why" "h.csv: cannot write" "$FA_DIR/err"
        fa_has "faults/history-fails/goes-on" "training goes on without the history; the checkpoint will still be saved" "$FA_DIR/err"
        if [ "$(grep -c 'cannot write' "$FA_DIR/err")" = 1 ]; then pass "faults/history-fails/said-once"
        else fail "faults/history-fails/said-once" "$(cat "$FA_DIR/err")"; fi
        fa_has "faults/history-fails/trains-on" "Epoch 2/2" "$FA_DIR/out"
        fa_run "faults/history-fails/checkpoint-saved" 0 "$FA_TOY" eval --load "$FA_DIR/hist.ckpt" --data "$FA_DATA" &&
            pass "faults/history-fails/checkpoint-saved"
    fi
    rm -rf "$FA_DIR"/h.csv.tmp.*

    # ------------------------------------------------------------ SIGKILL during saves
    # 50 times: a process saving checkpoints in a loop is killed at a random moment once its
    # first save is done; the file under the final name must load and be one whole save
    # (every value the same save's).
    if fa_run "faults/kill/first-save" 0 "$FA_TORTURE" save "$FA_DIR/k.ckpt" 1; then
        torn=0 newer=0 last=1 i=0
        while [ $i -lt 50 ]; do
            i=$((i + 1))
            : >"$FA_DIR/kill.out"
            "$FA_TORTURE" save "$FA_DIR/k.ckpt" >"$FA_DIR/kill.out" 2>"$FA_DIR/kill.err" &
            pid=$!
            t=0
            while [ $t -lt 1000 ] && ! grep -q saving "$FA_DIR/kill.out"; do
                sleep 0.01
                t=$((t + 1))
            done
            sleep "$(awk -v s="$i$$" 'BEGIN { srand(s); printf "0.%03d", 1 + int(rand() * 60) }')"
            kill -KILL "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
            if k=$("$FA_TORTURE" check "$FA_DIR/k.ckpt" 2>"$FA_DIR/check.err"); then
                [ "$k" -ne "$last" ] && newer=$((newer + 1))
                last=$k
            else
                torn=$((torn + 1))
                cp "$FA_DIR/check.err" "$FA_DIR/torn.err"
            fi
        done
        if [ $torn -eq 0 ]; then pass "faults/kill/never-torn"
        else fail "faults/kill/never-torn" "$torn of 50 kills left a torn or unreadable checkpoint" "$(cat "$FA_DIR/torn.err")"; fi
        # The file moved on between kills: the saves being killed were real ones.
        if [ $newer -gt 10 ]; then pass "faults/kill/saves-happened"
        else fail "faults/kill/saves-happened" "the checkpoint changed after only $newer of 50 runs"; fi
    fi

    # ------------------------------------------------------------ Ctrl-C
    # fa_interrupt NAME ARGS...: trains for (nearly) ever, sends SIGINT once the first epoch
    # line is out, and expects status 130 within 60 seconds.
    fa_interrupt() {
        fi_name=$1
        shift
        # The poll below reads the new run's output only: what an earlier test left in the
        # file (an eval's "- loss:") would send the signal before the program can catch it.
        : >"$FA_DIR/out"
        $FA_TOY train --data "$FA_DATA" --limit 1000 --threads 2 --epochs 100000 "$@" >"$FA_DIR/out" 2>"$FA_DIR/err" </dev/null &
        fi_pid=$!
        fi_t=0
        while [ $fi_t -lt 600 ] && ! tr '\r' '\n' <"$FA_DIR/out" | grep -q ' - loss: '; do
            sleep 0.1
            fi_t=$((fi_t + 1))
        done
        kill -INT "$fi_pid"
        fi_t=0
        while [ $fi_t -lt 600 ] && kill -0 "$fi_pid" 2>/dev/null; do
            sleep 0.1
            fi_t=$((fi_t + 1))
        done
        if kill -0 "$fi_pid" 2>/dev/null; then
            kill -KILL "$fi_pid"
            wait "$fi_pid" 2>/dev/null
            fail "$fi_name" "still training 60 s after SIGINT"
            return 1
        fi
        wait "$fi_pid"
        fi_status=$?
        if grep -q -e 'runtime error:' -e 'AddressSanitizer' -e 'LeakSanitizer' "$FA_DIR/err"; then
            fail "$fi_name" "sanitizer report:" "$(head -30 "$FA_DIR/err")"; return 1
        fi
        if [ $fi_status -ne 130 ]; then
            fail "$fi_name" "exit status $fi_status, expected 130" "$(head -10 "$FA_DIR/err")"; return 1
        fi
        pass "$fi_name"
    }
    rm -f "$FA_DIR/int.ckpt"
    if fa_interrupt "faults/sigint/status-130" --save "$FA_DIR/int.ckpt" --history "$FA_DIR/int.csv"; then
        fa_has "faults/sigint/says-where" "faults_toy: training interrupted" "$FA_DIR/err"
        fa_has "faults/sigint/says-epoch" " epoch " "$FA_DIR/err"
        fa_has "faults/sigint/says-saved" "saving the checkpoint $FA_DIR/int.ckpt" "$FA_DIR/err"
        # The checkpoint holds the step count the message gives, and evaluates.
        said=$(sed -n 's/.*(\([0-9]*\) optimizer steps in all).*/\1/p' "$FA_DIR/err")
        if [ -n "$said" ] && [ "$(fa_step "$FA_DIR/int.ckpt")" = "$said" ]; then pass "faults/sigint/step-saved"
        else fail "faults/sigint/step-saved" "message says '$said' steps, checkpoint '$(fa_step "$FA_DIR/int.ckpt")'"; fi
        fa_run "faults/sigint/checkpoint-loads" 0 "$FA_TOY" eval --load "$FA_DIR/int.ckpt" --data "$FA_DATA" && pass "faults/sigint/checkpoint-loads"
        # Every finished epoch is in the history: at least the one seen before the signal.
        if [ "$(wc -l <"$FA_DIR/int.csv")" -ge 2 ]; then pass "faults/sigint/history"
        else fail "faults/sigint/history" "$(cat "$FA_DIR/int.csv" 2>&1)"; fi
    fi
    if fa_interrupt "faults/sigint/no-save-130"; then
        fa_has "faults/sigint/no-save-says" "nothing saved (no --save)" "$FA_DIR/err"
    fi

    # ------------------------------------------------------------ resuming
    # One epoch, a save, and a run resumed from it up to epoch 2 must be the same run as two
    # epochs at once, shuffling included: the weights, Adam's moments, the step (its bias
    # correction) and the epoch count (its shuffle) continue rather than restart. The resumed
    # run says "Epoch 2/2", and appends its row to the history of the first.
    FA_RESUME="$FA_TOY train --data $FA_DATA --limit 1000 --threads 2"
    if fa_run "faults/resume/two-epochs" 0 $FA_RESUME --epochs 2 --save "$FA_DIR/r2.ckpt" --history "$FA_DIR/r2.csv" &&
        cp "$FA_DIR/out" "$FA_DIR/r2.log" &&
        fa_run "faults/resume/first" 0 $FA_RESUME --epochs 1 --save "$FA_DIR/r1.ckpt" --history "$FA_DIR/r1.csv" &&
        cp "$FA_DIR/out" "$FA_DIR/r1.log" &&
        fa_run "faults/resume/second" 0 $FA_RESUME --epochs 2 --load "$FA_DIR/r1.ckpt" --save "$FA_DIR/r1b.ckpt" --history "$FA_DIR/r1.csv"; then
        one=$(fa_field loss "$FA_DIR/r1.log") two=$(fa_field loss "$FA_DIR/r2.log") resumed=$(fa_field loss "$FA_DIR/out")
        if [ -n "$resumed" ] && [ "$resumed" = "$two" ] && [ "$resumed" != "$one" ]; then pass "faults/resume/loss-continues"
        else fail "faults/resume/loss-continues" "epoch 1: '$one', epoch 2: '$two', resumed: '$resumed'"; fi
        acc=$(fa_field val_accuracy "$FA_DIR/out")
        if [ -n "$acc" ] && [ "$acc" = "$(fa_field val_accuracy "$FA_DIR/r2.log")" ]; then pass "faults/resume/accuracy-continues"
        else fail "faults/resume/accuracy-continues" "$(fa_field val_accuracy "$FA_DIR/out") vs $(fa_field val_accuracy "$FA_DIR/r2.log")"; fi
        s1=$(fa_step "$FA_DIR/r1.ckpt") s2=$(fa_step "$FA_DIR/r2.ckpt") sb=$(fa_step "$FA_DIR/r1b.ckpt")
        if [ "$s1" = 32 ] && [ "$sb" = 64 ] && [ "$s2" = 64 ]; then pass "faults/resume/step-continues"
        else fail "faults/resume/step-continues" "steps: one epoch $s1, resumed $sb, two epochs $s2 (want 32, 64, 64)"; fi
        if cmp -s "$FA_DIR/r1b.ckpt" "$FA_DIR/r2.ckpt"; then pass "faults/resume/same-checkpoint"
        else fail "faults/resume/same-checkpoint" "the resumed run's checkpoint differs from the straight run's"; fi
        if grep -q '^Epoch 2/2$' "$FA_DIR/out" && ! grep -q '^Epoch 1/' "$FA_DIR/out"; then pass "faults/resume/epoch-count-continues"
        else fail "faults/resume/epoch-count-continues" "$(grep Epoch "$FA_DIR/out")"; fi
        # The history: the first run's row, then the resumed run's, as the straight run wrote them.
        if [ "$(cut -d, -f1-5 "$FA_DIR/r1.csv")" = "$(cut -d, -f1-5 "$FA_DIR/r2.csv")" ] && [ "$(wc -l <"$FA_DIR/r1.csv")" = 3 ]; then
            pass "faults/resume/history-appended"
        else
            fail "faults/resume/history-appended" "$(cat "$FA_DIR/r1.csv")" "straight run:" "$(cat "$FA_DIR/r2.csv")"
        fi
    fi
    fa_run "faults/resume/nothing-left" 1 $FA_RESUME --epochs 2 --load "$FA_DIR/r2.ckpt" &&
        fa_has "faults/resume/nothing-left" "r2.ckpt: has trained 2 epochs already, and training stops after epoch 2; pass --epochs N with N above 2" "$FA_DIR/err"
    # The metadata records the optimizer, its hyper-parameters and the epochs finished.
    fa_meta=$(head -c 2000 "$FA_DIR/r2.ckpt")
    case $fa_meta in
    *'"optimizer":"adam","learning_rate":"0.001","beta_1":"0.90000000000000002","beta_2":"0.999","epsilon":"9.9999999999999995e-08","epoch":"2","step":"64"'*)
        pass "faults/resume/metadata" ;;
    *) fail "faults/resume/metadata" "$(echo "$fa_meta" | head -c 400)" ;;
    esac

    # ------------------------------------------------------------ another optimizer's state
    # SGD's velocity is saved as optimizer.m, the name of Adam's first moment. Loading it into
    # the Adam model must not take it as that moment: a warning, and Adam starts afresh (its
    # step count from 0), while the weights are loaded.
    if fa_run "faults/optimizer/sgd-run" 0 "$FA_SGDM" train --data "$FA_DATA" --limit 1000 --threads 2 --epochs 1 --save "$FA_DIR/sgd.ckpt"; then
        if fa_run "faults/optimizer/adam-from-sgd" 0 $FA_RESUME --epochs 2 --load "$FA_DIR/sgd.ckpt" --save "$FA_DIR/adam.ckpt"; then
            fa_has "faults/optimizer/warns" "faults_toy: warning: $FA_DIR/sgd.ckpt: holds the state of sgd(momentum=0.9, nesterov=false), but the model trains with adam(beta_1=0.9, beta_2=0.999, epsilon=1e-07): the weights are loaded, and the optimizer starts afresh (step 0)" "$FA_DIR/err"
            if [ "$(fa_step "$FA_DIR/adam.ckpt")" = 32 ]; then pass "faults/optimizer/step-restarts"
            else fail "faults/optimizer/step-restarts" "step $(fa_step "$FA_DIR/adam.ckpt"), expected 32"; fi
            fa_has "faults/optimizer/epoch-continues" "Epoch 2/2" "$FA_DIR/out"
        fi
        # The same optimizer resumes without a word.
        if fa_run "faults/optimizer/same-quiet" 0 "$FA_SGDM" train --data "$FA_DATA" --limit 1000 --threads 2 --epochs 2 --load "$FA_DIR/sgd.ckpt"; then
            if [ -s "$FA_DIR/err" ]; then fail "faults/optimizer/same-quiet" "$(cat "$FA_DIR/err")"; else pass "faults/optimizer/same-quiet"; fi
        fi
    fi
fi
