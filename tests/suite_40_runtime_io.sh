# Runtime I/O: IDX and the data sets, safetensors checkpoints, history CSV, PGM and PNG images
# (C unit tests in tests/unit/, built here against the runtime's objects), and `make data`.
# Sourced by tests/run.sh from the repository root; reports through pass/fail (tests/lib.sh).

# The original MNIST files: $CNNC_TEST_MNIST, else DATA_MIRROR when it is a directory (as in CI),
# else the shared copy beside the repository (`make data DATA_MIRROR=../shared/data/mnist`).
IO_MNIST=${CNNC_TEST_MNIST:-}
if [ -z "$IO_MNIST" ]; then
    if [ -n "${DATA_MIRROR:-}" ] && [ -d "$DATA_MIRROR" ]; then IO_MNIST=$DATA_MIRROR; else IO_MNIST=../shared/data/mnist; fi
fi

IO_RT_OBJ="$BUILD/runtime/util.o $BUILD/runtime/rt_io.o $BUILD/runtime/json.o $BUILD/runtime/idx.o
    $BUILD/runtime/data.o $BUILD/runtime/safetensors.o $BUILD/runtime/history.o $BUILD/runtime/pgm.o"
IO_APP_OBJ="$BUILD/runtime/app/png.o $BUILD/runtime/app/image.o"

# The objects under test, which tests/run.sh built (make all, with the CFLAGS make was given,
# if any) before the suites started.
# shellcheck disable=SC2086
if out=$(t_make $IO_RT_OBJ $IO_APP_OBJ 2>&1); then
    pass "runtime-io: objects build"
    io_built=1
else
    fail "runtime-io: objects build" "$out"
    io_built=0
fi

# Tests link like the objects were compiled: with the sanitizers when they were built with them.
io_san=""
if nm "$BUILD/runtime/util.o" 2>/dev/null | grep -q __asan; then io_san="$io_san -fsanitize=address"; fi
if nm "$BUILD/runtime/idx.o" 2>/dev/null | grep -q __ubsan; then io_san="$io_san -fsanitize=undefined"; fi
io_san=$(echo "$io_san" | sed 's/^ //; s/ -fsanitize=/,/')

# io_unit NAME ARGS...: compiles tests/unit/NAME.c and turns each line it prints,
# `ok CHECK` or `FAIL CHECK: why`, into a pass or a fail; a crash or a sanitizer report fails.
io_unit() {
    name=$1
    shift
    bin="$T_TMP/$name"
    # shellcheck disable=SC2086
    if ! out=$(${CC:-cc} -std=c11 -Wall -Wextra -Werror -g -O1 $io_san -D_POSIX_C_SOURCE=200809L \
        -Iruntime -Iruntime/app -Itests/unit -o "$bin" "tests/unit/$name.c" $IO_RT_OBJ $IO_APP_OBJ -lpng -lz -lm 2>&1); then
        fail "runtime-io: $name compiles" "$out"
        return 0
    fi
    pass "runtime-io: $name compiles"
    "$bin" "$@" >"$T_TMP/$name.out" 2>"$T_TMP/$name.err"
    status=$?
    n=0
    while IFS= read -r line; do
        case $line in
        "ok "*) pass "${line#ok }"; n=$((n + 1)) ;;
        "FAIL "*) rest=${line#FAIL }; fail "${rest%%: *}" "${rest#*: }"; n=$((n + 1)) ;;
        esac
    done <"$T_TMP/$name.out"
    if [ "$status" -ge 128 ] || grep -q -e 'runtime error:' -e 'AddressSanitizer' -e 'LeakSanitizer' "$T_TMP/$name.err"; then
        fail "runtime-io: $name runs cleanly" "status $status" "$(head -30 "$T_TMP/$name.err")"
    elif [ "$n" -eq 0 ]; then
        fail "runtime-io: $name runs cleanly" "no checks ran (status $status)" "$(head -20 "$T_TMP/$name.err")"
    elif ! grep -q '^FAIL ' "$T_TMP/$name.out" && [ "$status" -ne 0 ]; then
        fail "runtime-io: $name runs cleanly" "exited with status $status" "$(head -20 "$T_TMP/$name.err")"
    else
        pass "runtime-io: $name runs cleanly"
    fi
}

if [ "$io_built" = 1 ]; then
    for t in idx safetensors history images; do mkdir -p "$T_TMP/io-$t"; done
    if [ -f "$IO_MNIST/t10k-labels-idx1-ubyte.gz" ]; then
        io_unit test_idx "$T_TMP/io-idx" "$IO_MNIST"
    else
        fail "runtime-io: MNIST for the IDX tests" "no $IO_MNIST/t10k-labels-idx1-ubyte.gz (set CNNC_TEST_MNIST)"
    fi
    io_unit test_safetensors "$T_TMP/io-safetensors"
    io_unit test_history "$T_TMP/io-history"
    io_unit test_images "$T_TMP/io-images"
fi

# ---------------------------------------------------------------- make data (mk/fetch-data.sh)
io_dest="$T_TMP/data-good"
if out=$(make -s BUILD="$BUILD" data DATA_MIRROR="$IO_MNIST" DATA_DIR="$io_dest" 2>&1); then
    pass "fetch-data: make data from a directory mirror"
else
    fail "fetch-data: make data from a directory mirror" "$out"
fi
check "fetch-data: marks the set verified" test -f "$io_dest/.verified"
check "fetch-data: the four files match mk/mnist.sha256" sh -c "cd '$io_dest' && sha256sum -c --quiet '$PWD/mk/mnist.sha256'"
check "fetch-data: no temporary files left" sh -c "! ls -A '$io_dest' | grep -q part"
out=$(sh mk/fetch-data.sh "$IO_MNIST" "$io_dest" 2>&1)
case $out in
*"$IO_MNIST/"*) fail "fetch-data: a verified set is not fetched again" "$out" ;;
*) pass "fetch-data: a verified set is not fetched again" ;;
esac

# A mirror with one file changed: refused, deleted, and no .verified.
io_bad="$T_TMP/mirror-bad"
io_dest="$T_TMP/data-bad"
mkdir -p "$io_bad"
cp "$IO_MNIST"/*.gz "$io_bad/" 2>/dev/null
chmod u+w "$io_bad"/*.gz 2>/dev/null
printf 'x' >>"$io_bad/t10k-labels-idx1-ubyte.gz"
if out=$(sh mk/fetch-data.sh "$io_bad" "$io_dest" 2>&1); then
    fail "fetch-data: a tampered mirror is refused" "$out"
else
    pass "fetch-data: a tampered mirror is refused"
fi
case $out in
*"t10k-labels-idx1-ubyte.gz: SHA-256 does not match"*) pass "fetch-data: says which file is wrong" ;;
*) fail "fetch-data: says which file is wrong" "$out" ;;
esac
check "fetch-data: the tampered file is deleted" sh -c "! ls -A '$io_dest' | grep -q t10k-labels"
check "fetch-data: no .verified after a failure" test ! -e "$io_dest/.verified"
if out=$(sh mk/fetch-data.sh "$T_TMP/no-such-mirror" "$T_TMP/data-none" 2>&1); then
    fail "fetch-data: a missing mirror is an error" "$out"
else
    case $out in
    *"no-such-mirror: no such directory"*) pass "fetch-data: a missing mirror is an error" ;;
    *) fail "fetch-data: a missing mirror is an error" "$out" ;;
    esac
fi

# An http mirror, served from the local copy by Python's http.server (curl or wget downloads).
if command -v python3 >/dev/null 2>&1 && [ -d "$IO_MNIST" ]; then
    python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$IO_MNIST" >"$T_TMP/http.log" 2>&1 &
    io_http_pid=$!
    io_port=""
    io_wait=0
    while [ -z "$io_port" ] && [ $io_wait -lt 50 ]; do
        sleep 0.2
        io_port=$(sed -n 's/.* port \([0-9][0-9]*\).*/\1/p' "$T_TMP/http.log" | head -1)
        io_wait=$((io_wait + 1))
    done
    if [ -z "$io_port" ]; then
        fail "fetch-data: local http server starts" "$(cat "$T_TMP/http.log")"
    else
        if out=$(sh mk/fetch-data.sh "http://127.0.0.1:$io_port" "$T_TMP/data-http" 2>&1) &&
            (cd "$T_TMP/data-http" && sha256sum -c --quiet "$OLDPWD/mk/mnist.sha256") >/dev/null 2>&1; then
            pass "fetch-data: downloads from an http mirror"
        else
            fail "fetch-data: downloads from an http mirror" "$out"
        fi
        if out=$(sh mk/fetch-data.sh "http://127.0.0.1:$io_port/missing" "$T_TMP/data-404" 2>&1); then
            fail "fetch-data: a 404 is an error" "$out"
        else
            case $out in
            *"missing/train-images-idx3-ubyte.gz: cannot fetch"*) pass "fetch-data: a 404 is an error" ;;
            *) fail "fetch-data: a 404 is an error" "$out" ;;
            esac
        fi
        check "fetch-data: a failed download leaves no file" sh -c "! ls -A '$T_TMP/data-404' | grep -q ."
    fi
    kill "$io_http_pid" 2>/dev/null
    wait "$io_http_pid" 2>/dev/null
else
    echo "  (skipped: the http mirror test needs python3)"
fi
