# Helpers shared by the test suites (sourced by tests/run.sh; POSIX sh).
T_PASSED=0
T_FAILED=0
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cnnc-test.XXXXXX")
trap 'rm -rf "$T_TMP"' EXIT
CNNC=$BUILD/cnnc

# mnist_dir: the folder with the four MNIST IDX files, gzipped or not: $CNNC_DATA_DIR if set,
# else where `make data` puts them ($BUILD/data/mnist; `make test` runs the data step first).
# Prints nothing when neither has them.
mnist_dir() {
    for d in "${CNNC_DATA_DIR:-}" "$BUILD/data/mnist"; do
        if [ -n "$d" ] && { [ -e "$d/train-images-idx3-ubyte.gz" ] || [ -e "$d/train-images-idx3-ubyte" ]; }; then
            echo "$d"
            return 0
        fi
    done
}

# lib_sanitizers LIBRARY: the -fsanitize flags a unit program needs to link with LIBRARY, as
# its objects were built (make test CFLAGS='-fsanitize=address,undefined').
lib_sanitizers() {
    ls_san=""
    nm "$1" 2>/dev/null | grep -q __asan && ls_san="$ls_san -fsanitize=address"
    nm "$1" 2>/dev/null | grep -q __ubsan && ls_san="$ls_san -fsanitize=undefined"
    echo "$ls_san"
}

pass() { T_PASSED=$((T_PASSED + 1)); [ -n "$T_VERBOSE" ] && echo "  ok   $1"; return 0; }
fail() {
    T_FAILED=$((T_FAILED + 1))
    echo "  FAIL $1"
    shift
    [ $# -gt 0 ] && printf '%s\n' "$@" | sed 's/^/       /' | head -40
    return 0
}
# check NAME COMMAND...: passes when the command exits 0.
check() {
    name=$1; shift
    if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$out"; fi
}
# same_file NAME EXPECTED ACTUAL: passes when they are identical, else shows the diff.
same_file() {
    if diff -u "$2" "$3" >"$T_TMP/diff" 2>&1; then pass "$1"; else fail "$1" "$(head -40 "$T_TMP/diff")"; fi
}
# golden_cli DIR: each DIR/NAME.cmd holds the arguments to cnnc (one line, run from the
# repository root); DIR/NAME.out, .err and .status hold the expected stdout, stderr and status.
# Missing expectation files are written when CNNC_BLESS=1 (then review them with git diff).
golden_cli() {
    for cmd in "$1"/*.cmd; do
        [ -e "$cmd" ] || continue
        base=${cmd%.cmd}
        name=${base#tests/}
        # shellcheck disable=SC2046
        eval "set -- $(cat "$cmd")"
        "$CNNC" "$@" >"$T_TMP/out" 2>"$T_TMP/err" </dev/null
        status=$?
        echo "$status" >"$T_TMP/status"
        if [ -n "$CNNC_BLESS" ]; then
            cp "$T_TMP/out" "$base.out"; cp "$T_TMP/err" "$base.err"; cp "$T_TMP/status" "$base.status"
        fi
        if [ "$status" -ge 128 ]; then fail "$name" "crashed with status $status" "$(head -20 "$T_TMP/err")"; continue; fi
        if grep -q -e 'runtime error:' -e 'AddressSanitizer' -e 'LeakSanitizer' "$T_TMP/err"; then
            fail "$name" "sanitizer report:" "$(head -30 "$T_TMP/err")"; continue
        fi
        ok=1; msg=""
        for k in out err status; do
            if ! diff -u "$base.$k" "$T_TMP/$k" >"$T_TMP/diff" 2>&1; then ok=0; msg="$msg$(head -30 "$T_TMP/diff")
"; fi
        done
        if [ $ok = 1 ]; then pass "$name"; else fail "$name" "$msg"; fi
    done
}
