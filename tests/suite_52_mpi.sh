# Suite 52: data-parallel training under MPI (issue 21, contract section 8), on MNIST, with
# `cnnc build --mpi` programs run by `mpirun --oversubscribe -np N` on this machine:
# - a plain program does not link MPI, and libcnnrt.a has no MPI symbol;
# - 50 steps of the seed model on 2 processes of 1 thread are the same bits as on 1 process of
#   2 threads (the same split of every batch, the same order of every sum), and on 3 processes
#   (32 images: 11, 11, 10) the same bits as on 3 threads; against 1 process of 1 thread the
#   loss after the 50 steps agrees within 1e-5 relative; a second run on 3 processes is the
#   same bits; process 0 alone prints progress and writes the history;
# - batchnorm (tests/train/bn_small.cnn): the statistics are summed across processes as
#   across threads, also with a batch of one image on 2 processes (one without images);
# - a checkpoint of 2 processes resumes on 3 as on 1 process of 3 threads; eval and predict
#   on 2 processes print what 1 process prints;
# - a process killed with SIGKILL mid-epoch ends the job within 10 s with a message naming
#   it, and the checkpoint the run was to overwrite is left as it was.
# Sourced by tests/run.sh.

MP_DIR=$T_TMP/mpi
mkdir -p "$MP_DIR"
MP_DATA=$(mnist_dir)
MP_RUN="mpirun --oversubscribe --bind-to none"
[ "$(id -u)" = 0 ] && MP_RUN="$MP_RUN --allow-run-as-root"

# mp_tensors FILE: "NAME SHA" for every tensor of a safetensors file, sorted by name.
mp_tensors() {
    python3 - "$1" <<'EOF'
import hashlib, json, struct, sys
data = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + n])
for name in sorted(k for k in header if k != "__metadata__"):
    a, b = header[name]["data_offsets"]
    print(name, hashlib.sha256(data[8 + n + a:8 + n + b]).hexdigest()[:16])
EOF
}

# mp_same NAME A B: passes when the two checkpoints hold the same tensors, bit for bit.
mp_same() {
    mp_tensors "$2" >"$MP_DIR/ta" 2>&1
    mp_tensors "$3" >"$MP_DIR/tb" 2>&1
    if [ -s "$MP_DIR/ta" ] && cmp -s "$MP_DIR/ta" "$MP_DIR/tb"; then
        pass "$1"
    else
        fail "$1" "$(diff "$MP_DIR/ta" "$MP_DIR/tb" | head -8)"
    fi
}

# mp_train NAME PROGRAM PROCESSES THREADS OUT ARGS...: trains, on one process without mpirun
# when PROCESSES is 0, saving OUT.safetensors and OUT.csv; the output in OUT.log.
mp_train() {
    mt_name=$1 mt_prog=$2 mt_np=$3 mt_threads=$4 mt_out=$5
    shift 5
    if [ "$mt_np" = 0 ]; then
        set -- "$mt_prog" train --data "$MP_DATA" --threads "$mt_threads" --save "$mt_out.safetensors" \
            --history "$mt_out.csv" "$@"
    else
        # shellcheck disable=SC2086
        set -- $MP_RUN -np "$mt_np" "$mt_prog" train --data "$MP_DATA" --threads "$mt_threads" \
            --save "$mt_out.safetensors" --history "$mt_out.csv" "$@"
    fi
    if ! timeout 600 "$@" >"$mt_out.log" 2>&1 </dev/null; then
        fail "mpi: $mt_name" "$*" "$(tail -8 "$mt_out.log")"
        return 1
    fi
}

# mp_close NAME COLUMN A.csv B.csv: the column of the last row agrees within 1e-5 relative.
mp_close() {
    mc_a=$(awk -F, -v c="$2" 'END { print $c }' "$3")
    mc_b=$(awk -F, -v c="$2" 'END { print $c }' "$4")
    if [ -n "$mc_a" ] && awk -v a="$mc_a" -v b="$mc_b" \
        'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a > 0 && d <= 1e-5 * a) }'; then
        pass "$1 ($mc_a, $mc_b)"
    else
        fail "$1" "'$mc_a' against '$mc_b'"
    fi
}

if [ -z "$MP_DATA" ]; then
    fail "mpi: data" "no MNIST files: run 'make data' or set CNNC_DATA_DIR"
elif ! command -v mpirun >/dev/null 2>&1; then
    fail "mpi: mpirun" "mpirun is missing: make installs Debian's openmpi-bin (mk/mpi.mk)"
elif ! out=$(CFLAGS="${CFLAGS:--O2}" "$CNNC" build models/mnist_cnn.cnn --mpi -o "$MP_DIR/mnist_mpi" 2>&1); then
    fail "mpi: cnnc build --mpi builds the seed model" "$out"
else
    pass "mpi: cnnc build --mpi builds the seed model"
    # MPI stays in libcnnmpi.a: the runtime and a plain program never see it.
    if out=$(CFLAGS="${CFLAGS:--O2}" "$CNNC" build models/mnist_cnn.cnn -o "$MP_DIR/mnist" 2>&1) &&
        ! nm "$MP_DIR/mnist" | grep -q ' U MPI_' && ! nm "$BUILD/libcnnrt.a" 2>/dev/null | grep -q 'MPI_' &&
        nm "$MP_DIR/mnist_mpi" | grep -q ' U MPI_Alltoallv'; then
        pass "mpi: only the --mpi program links MPI"
    else
        fail "mpi: only the --mpi program links MPI" "$out"
    fi

    # 50 steps of 32 images, validated on 500 test images after the last.
    MP_ARGS="--limit 1600 --epochs 1 --validation-limit 500"
    # shellcheck disable=SC2086
    {
        mp_train "1 process, 1 thread" "$MP_DIR/mnist" 0 1 "$MP_DIR/p1t1" $MP_ARGS
        mp_train "1 process, 2 threads" "$MP_DIR/mnist" 0 2 "$MP_DIR/p1t2" $MP_ARGS
        mp_train "1 process, 3 threads" "$MP_DIR/mnist" 0 3 "$MP_DIR/p1t3" $MP_ARGS
        mp_train "2 processes" "$MP_DIR/mnist_mpi" 2 1 "$MP_DIR/p2" $MP_ARGS
        mp_train "3 processes" "$MP_DIR/mnist_mpi" 3 1 "$MP_DIR/p3" $MP_ARGS
        mp_train "3 processes again" "$MP_DIR/mnist_mpi" 3 1 "$MP_DIR/p3again" $MP_ARGS
    }
    mp_same "mpi: 50 steps on 2 processes are the bits of 1 process of 2 threads" "$MP_DIR/p1t2.safetensors" "$MP_DIR/p2.safetensors"
    mp_same "mpi: 50 steps on 3 processes (11, 11, 10 images) are the bits of 3 threads" "$MP_DIR/p1t3.safetensors" "$MP_DIR/p3.safetensors"
    mp_same "mpi: a second run on 3 processes is the same bits" "$MP_DIR/p3.safetensors" "$MP_DIR/p3again.safetensors"
    if cut -d, -f1-5 "$MP_DIR/p3.csv" >"$MP_DIR/h1" && cut -d, -f1-5 "$MP_DIR/p3again.csv" >"$MP_DIR/h2" &&
        [ -s "$MP_DIR/h1" ] && cmp -s "$MP_DIR/h1" "$MP_DIR/h2"; then
        pass "mpi: a second run on 3 processes has the same losses"
    else
        fail "mpi: a second run on 3 processes has the same losses" "$(diff "$MP_DIR/h1" "$MP_DIR/h2" | head -5)"
    fi
    mp_close "mpi: the validation loss after 50 steps on 2 processes is 1 thread's within 1e-5" 4 "$MP_DIR/p1t1.csv" "$MP_DIR/p2.csv"
    mp_close "mpi: the validation loss after 50 steps on 3 processes is 1 thread's within 1e-5" 4 "$MP_DIR/p1t1.csv" "$MP_DIR/p3.csv"
    mp_close "mpi: the training loss of 50 steps on 3 processes is 1 thread's within 1e-5" 2 "$MP_DIR/p1t1.csv" "$MP_DIR/p3.csv"
    # Process 0 alone prints the progress.
    if [ "$(grep -c 'Epoch 1/1' "$MP_DIR/p3.log")" = 1 ] && grep -q 'note: 3 processes: 50 gradient sums of 121930 floats' "$MP_DIR/p3.log"; then
        pass "mpi: process 0 alone prints the progress, and the time of the gradient sums"
    else
        fail "mpi: process 0 alone prints the progress, and the time of the gradient sums" "$(head -c 600 "$MP_DIR/p3.log")"
    fi

    # Resuming on another process count: epoch 2 from the checkpoint of 2 processes.
    MP_ARGS="--limit 320 --validation-limit 100"
    # shellcheck disable=SC2086
    if mp_train "an epoch on 2 processes" "$MP_DIR/mnist_mpi" 2 1 "$MP_DIR/r1" $MP_ARGS --epochs 1 &&
        mp_train "epoch 2 on 3 processes" "$MP_DIR/mnist_mpi" 3 1 "$MP_DIR/r2p3" $MP_ARGS --epochs 2 --load "$MP_DIR/r1.safetensors" &&
        mp_train "epoch 2 on 3 threads" "$MP_DIR/mnist" 0 3 "$MP_DIR/r2t3" $MP_ARGS --epochs 2 --load "$MP_DIR/r1.safetensors"; then
        mp_same "mpi: a checkpoint of 2 processes resumes on 3 as on 3 threads" "$MP_DIR/r2t3.safetensors" "$MP_DIR/r2p3.safetensors"
    fi

    # Evaluation split across 2 processes prints what one process prints.
    "$MP_DIR/mnist" eval --data "$MP_DATA" --load "$MP_DIR/p2.safetensors" --threads 1 >"$MP_DIR/eval1" 2>&1 </dev/null
    # shellcheck disable=SC2086
    timeout 300 $MP_RUN -np 2 "$MP_DIR/mnist_mpi" eval --data "$MP_DATA" --load "$MP_DIR/p2.safetensors" --threads 1 \
        >"$MP_DIR/eval2" 2>&1 </dev/null
    if grep -q '^total' "$MP_DIR/eval1" && cmp -s "$MP_DIR/eval1" "$MP_DIR/eval2"; then
        pass "mpi: eval on 2 processes prints what 1 process prints"
    else
        fail "mpi: eval on 2 processes prints what 1 process prints" "$(diff "$MP_DIR/eval1" "$MP_DIR/eval2" | head -10)"
    fi
    # predict has nothing to split: process 0 alone prints.
    python3 -c 'import sys; sys.stdout.buffer.write(b"P5\n28 28\n255\n" + bytes((i * 7) % 256 for i in range(784)))' \
        >"$MP_DIR/digit.pgm"
    "$MP_DIR/mnist" predict --load "$MP_DIR/p2.safetensors" "$MP_DIR/digit.pgm" >"$MP_DIR/pred1" 2>&1 </dev/null
    # shellcheck disable=SC2086
    timeout 120 $MP_RUN -np 2 "$MP_DIR/mnist_mpi" predict --load "$MP_DIR/p2.safetensors" "$MP_DIR/digit.pgm" \
        >"$MP_DIR/pred2" 2>&1 </dev/null
    if [ -s "$MP_DIR/pred1" ] && cmp -s "$MP_DIR/pred1" "$MP_DIR/pred2"; then
        pass "mpi: predict on 2 processes prints once"
    else
        fail "mpi: predict on 2 processes prints once" "$(diff "$MP_DIR/pred1" "$MP_DIR/pred2" | head -10)"
    fi

    # A failing process ends the job rather than leaving the others waiting.
    # shellcheck disable=SC2086
    timeout 120 $MP_RUN -np 2 "$MP_DIR/mnist_mpi" train --data "$MP_DIR/nowhere" >"$MP_DIR/bad" 2>&1 </dev/null
    mp_status=$?
    if [ "$mp_status" != 0 ] && [ "$mp_status" != 124 ] && grep -q "mnist_mpi: error: " "$MP_DIR/bad"; then
        pass "mpi: a process that fails ends the job"
    else
        fail "mpi: a process that fails ends the job" "status $mp_status" "$(head -5 "$MP_DIR/bad")"
    fi

    # The kill test: process 1 dies mid-epoch; the run was to overwrite the checkpoint.
    cp "$MP_DIR/p2.safetensors" "$MP_DIR/kill.safetensors"
    mp_before=$(cksum <"$MP_DIR/kill.safetensors")
    # shellcheck disable=SC2086
    $MP_RUN -np 2 "$MP_DIR/mnist_mpi" train --data "$MP_DATA" --threads 1 --epochs 3 --limit 20000 \
        --load "$MP_DIR/kill.safetensors" --save "$MP_DIR/kill.safetensors" >"$MP_DIR/kill" 2>&1 </dev/null &
    mp_pid=$!
    mp_victim=""
    mp_wait=0
    # Until process 0 trains (its progress shows), then the process of rank 1.
    # (The job's shell may not have created the log yet when the first grep looks.)
    while [ $mp_wait -lt 600 ] && ! grep -q 'Epoch 2/3' "$MP_DIR/kill" 2>/dev/null; do sleep 0.2; mp_wait=$((mp_wait + 1)); done
    for p in $(pgrep -P $mp_pid); do
        tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1' && mp_victim=$p
    done
    if [ -z "$mp_victim" ]; then
        fail "mpi: the kill test finds process 1" "$(pgrep -P $mp_pid -a)" "$(tail -c 400 "$MP_DIR/kill")"
        kill $mp_pid 2>/dev/null
        wait $mp_pid
    else
        kill -9 "$mp_victim"
        mp_tenths=0
        while kill -0 $mp_pid 2>/dev/null && [ $mp_tenths -lt 100 ]; do sleep 0.1; mp_tenths=$((mp_tenths + 1)); done
        if kill -0 $mp_pid 2>/dev/null; then
            fail "mpi: a killed process ends the job within 10 s" "mpirun still runs: $(pgrep -P $mp_pid -a)"
            for p in $(pgrep -P $mp_pid) $mp_pid; do kill -9 "$p" 2>/dev/null; done
            wait $mp_pid
        else
            wait $mp_pid
            mp_status=$?
            if [ "$mp_status" != 0 ] && grep -q 'process rank 1 .*signal 9' "$MP_DIR/kill" &&
                [ -z "$(pgrep -P $mp_pid)" ]; then
                pass "mpi: a killed process ends the job within 10 s, named (${mp_tenths}00 ms)"
            else
                fail "mpi: a killed process ends the job within 10 s, named" "status $mp_status" "$(tail -8 "$MP_DIR/kill")"
            fi
        fi
        if [ "$(cksum <"$MP_DIR/kill.safetensors")" = "$mp_before" ]; then
            pass "mpi: after the kill the checkpoint is the last whole one"
        else
            fail "mpi: after the kill the checkpoint is the last whole one" "it changed"
        fi
    fi
fi

# Batchnorm: the batch's statistics are summed across processes as across threads.
if [ -n "$MP_DATA" ] && command -v mpirun >/dev/null 2>&1; then
    if ! out=$(CFLAGS="${CFLAGS:--O2}" "$CNNC" build tests/train/bn_small.cnn --mpi -o "$MP_DIR/bn_mpi" 2>&1) ||
        ! out=$(CFLAGS="${CFLAGS:--O2}" "$CNNC" build tests/train/bn_small.cnn -o "$MP_DIR/bn" 2>&1); then
        fail "mpi: bn_small builds" "$out"
    else
        for mp_limit in 64 1; do
            if mp_train "bn_small, $mp_limit images on 2 threads" "$MP_DIR/bn" 0 2 "$MP_DIR/bn_t2_$mp_limit" \
                    --limit $mp_limit --epochs 1 --validation-limit 64 --quiet &&
                mp_train "bn_small, $mp_limit images on 2 processes" "$MP_DIR/bn_mpi" 2 1 "$MP_DIR/bn_p2_$mp_limit" \
                    --limit $mp_limit --epochs 1 --validation-limit 64 --quiet; then
                mp_same "mpi: bn_small, $mp_limit image(s) on 2 processes are the bits of 2 threads" \
                    "$MP_DIR/bn_t2_$mp_limit.safetensors" "$MP_DIR/bn_p2_$mp_limit.safetensors"
            fi
        done
    fi
fi
