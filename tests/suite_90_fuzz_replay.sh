# Suite 90: replays what the fuzzers found (tests/fuzz/found/TARGET/: crash-*, leak-*,
# timeout-*, oom-* and the kept corpus) and every seed, through each target's
# LLVMFuzzerTestOneInput built with the normal compiler and tests/fuzz/replay.c as main.
# With a sanitizer build (make CFLAGS='... -fsanitize=address,undefined') this is the same
# check libFuzzer made; without, it still catches crashes and hangs of the readers.
# Each target passes when every input ran, no signal ended the process (status < 128) and
# no sanitizer reported anything. The seed lists mirror mk/fuzz.mk's FUZZ_SEEDS_*.
# Sourced by tests/run.sh.

FZ_DIR=$T_TMP/fuzz
FZ_BIN=$BUILD/tests/fuzz
mkdir -p "$FZ_DIR" "$FZ_BIN"
FZ_CFLAGS="-std=c11 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -Icompiler -I$BUILD/compiler/front -Iruntime -Iruntime/app -I$FZ_BIN ${CFLAGS:--O2 -g}"
# The compiler but its main.
FZ_COMPILER="$BUILD/libcnnc.a"
FZ_LIBS="$BUILD/libcnnplot.a $BUILD/libcnnrt.a -lyaml -lplplot -lpng -lz -lm -pthread ${LDFLAGS:-}"

# fz_build TARGET EXTRA_OBJECTS...: the replay program of one target, or a fail.
fz_build() {
    fb_t=$1
    shift
    # shellcheck disable=SC2086
    if ${CC:-cc} $FZ_CFLAGS -o "$FZ_BIN/replay_$fb_t" tests/fuzz/replay.c "tests/fuzz/fuzz_$fb_t.c" "$@" $FZ_LIBS \
        >"$FZ_DIR/cc_$fb_t" 2>&1; then
        return 0
    fi
    fail "fuzz/$fb_t/build" "$(head -20 "$FZ_DIR/cc_$fb_t")"
    return 1
}

# fz_replay TARGET DIR...: every file under the dirs (those that exist) through the target.
fz_replay() {
    fr_t=$1
    shift
    fr_dirs=""
    for d in "$@" "tests/fuzz/seeds/$fr_t" "tests/fuzz/found/$fr_t"; do
        [ -d "$d" ] && fr_dirs="$fr_dirs $d"
    done
    # shellcheck disable=SC2086
    find $fr_dirs -type f ! -name '.*' | sort >"$FZ_DIR/inputs_$fr_t"
    fr_n=$(wc -l <"$FZ_DIR/inputs_$fr_t")
    if [ "$fr_n" -eq 0 ]; then
        fail "fuzz/$fr_t/replay" "no inputs to replay in$fr_dirs"
        return
    fi
    # Through xargs: a few thousand names do not fit one command line everywhere.
    xargs "$FZ_BIN/replay_$fr_t" <"$FZ_DIR/inputs_$fr_t" >/dev/null 2>"$FZ_DIR/err_$fr_t"
    fr_status=$?
    fr_last=$(grep '^replay: ' "$FZ_DIR/err_$fr_t" | grep -v '^replay: done' | tail -1)
    fr_ran=$(grep -c '^replay: .* bytes)$' "$FZ_DIR/err_$fr_t")
    if grep -q -e 'runtime error:' -e 'AddressSanitizer' -e 'LeakSanitizer' "$FZ_DIR/err_$fr_t"; then
        fail "fuzz/$fr_t/replay" "sanitizer report after $fr_last:" \
            "$(grep -A20 -e 'runtime error:' -e 'Sanitizer' "$FZ_DIR/err_$fr_t" | head -30)"
    elif [ "$fr_status" -ne 0 ]; then
        # xargs exits with 125 when the command was killed by a signal, 123 when it failed.
        fail "fuzz/$fr_t/replay" "status $fr_status (a signal or an unreadable input) at $fr_last" \
            "$(tail -5 "$FZ_DIR/err_$fr_t")"
    elif [ "$fr_ran" -ne "$fr_n" ]; then
        fail "fuzz/$fr_t/replay" "replayed $fr_ran of $fr_n inputs"
    else
        pass "fuzz/$fr_t/replay ($fr_n inputs)"
    fi
}

if t_make "$BUILD/cnnc" "$BUILD/libcnnrt.a" "$BUILD/libcnnapp.a" "$BUILD/libcnnplot.a" \
    >"$FZ_DIR/make" 2>&1; then
    fz_build cnn $FZ_COMPILER && fz_replay cnn models tests/models tests/errors/syntax tests/errors/semantic
    fz_build yaml $FZ_COMPILER && fz_replay yaml models tests/yaml tests/errors/yaml
    fz_build idx && fz_replay idx
    fz_build pgm && fz_replay pgm
    fz_build png "$BUILD/runtime/app/png.o" && fz_replay png
    fz_build history && fz_replay history tests/plot
    fz_build onnx "$BUILD/libcnnonnx.a" $FZ_COMPILER -lprotobuf-c && fz_replay onnx
    # The seed model's tensor table (only the table is read: -O0 keeps its compile short),
    # and two real checkpoints of it as extra seeds.
    if "$CNNC" emit models/mnist_cnn.cnn -o "$FZ_BIN" >"$FZ_DIR/emit" 2>&1 &&
        ${CC:-cc} -std=c99 -O0 -Iruntime -c -o "$FZ_BIN/mnist_cnn.o" "$FZ_BIN/mnist_cnn.c" >>"$FZ_DIR/emit" 2>&1 &&
        # shellcheck disable=SC2086
        ${CC:-cc} $FZ_CFLAGS -o "$FZ_BIN/seed_safetensors" tests/fuzz/seed_safetensors.c "$FZ_BIN/mnist_cnn.o" \
            $FZ_LIBS >>"$FZ_DIR/emit" 2>&1 &&
        mkdir -p "$FZ_DIR/st_seeds" && "$FZ_BIN/seed_safetensors" "$FZ_DIR/st_seeds" >>"$FZ_DIR/emit" 2>&1; then
        fz_build safetensors "$FZ_BIN/mnist_cnn.o" && fz_replay safetensors "$FZ_DIR/st_seeds"
    else
        fail "fuzz/safetensors/build" "$(head -20 "$FZ_DIR/emit")"
    fi
else
    fail "fuzz/build" "$(head -20 "$FZ_DIR/make")"
fi
