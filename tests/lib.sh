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

# ---------------------------------------------------------------- cases on every core
# T_JOBS: how many cases t_jobs runs at once: CNNC_TEST_JOBS, else the cores this machine has.
T_JOBS=${CNNC_TEST_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}
case $T_JOBS in '' | *[!0-9]* | 0) T_JOBS=2 ;; esac

# t_jobs FUNCTION LIST: calls FUNCTION once for each line of the file LIST, with the line's
# words as its arguments, T_JOBS calls at once. Each call runs in a subshell of its own, with
# its own empty $T_TMP and stdin from /dev/null; so a call must keep its files in $T_TMP (or in a
# folder named after its arguments) and may not change the suite's variables. What a call
# prints, its passes and its fails are replayed in the order of LIST once every call has ended,
# as if the calls had run one after the other. List the slow cases first: a free core takes the
# next line that no other has taken.
t_jobs() {
    tj_fn=$1
    tj_list=$2
    tj_dir=$(mktemp -d "$T_TMP/jobs.XXXXXX")
    tj_w=0
    while [ "$tj_w" -lt "$T_JOBS" ]; do
        (
            tj_i=0
            while IFS= read -r tj_line; do
                tj_i=$((tj_i + 1))
                # mkdir is atomic: the first worker to make the folder takes the line.
                mkdir "$tj_dir/$tj_i" 2>/dev/null || continue
                (
                    T_TMP=$tj_dir/$tj_i/tmp
                    mkdir "$T_TMP"
                    tj_passed=$T_PASSED tj_failed=$T_FAILED
                    # shellcheck disable=SC2086
                    $tj_fn $tj_line
                    echo "$((T_PASSED - tj_passed)) $((T_FAILED - tj_failed))" >"$tj_dir/$tj_i/counts"
                    times >"$tj_dir/$tj_i/times"
                ) </dev/null >"$tj_dir/$tj_i/out" 2>&1
            done <"$tj_list"
        ) &
        tj_w=$((tj_w + 1))
    done
    wait
    tj_i=0
    while IFS= read -r tj_line; do
        tj_i=$((tj_i + 1))
        cat "$tj_dir/$tj_i/out" 2>/dev/null
        if [ -f "$tj_dir/$tj_i/counts" ] && read -r tj_p tj_f <"$tj_dir/$tj_i/counts"; then
            T_PASSED=$((T_PASSED + tj_p))
            T_FAILED=$((T_FAILED + tj_f))
        else
            fail "$tj_fn $tj_line: the case ended without a verdict"
        fi
        # The case's processor time (its shell's and its commands'), for the note below.
        [ -f "$tj_dir/$tj_i/times" ] && echo "$(t_times_seconds "$tj_dir/$tj_i/times") $tj_line" >>"$tj_dir/cpu"
    done <"$tj_list"
    # Where the time goes, so that a suite that grows slow shows why.
    [ -f "$tj_dir/cpu" ] && sort -rn "$tj_dir/cpu" | awk -v fn="$tj_fn" '
        { n++; s += $1; if (n <= 3) top = top (n > 1 ? ", " : "") substr($0, index($0, " ") + 1) " " $1 " s" }
        END { printf "  note %s: %d cases, %.0f s of processor time; the slowest: %s\n", fn, n, s, top }'
    rm -rf "$tj_dir"
}

# t_times_seconds FILE: the seconds in FILE, what `times` wrote (the user and system time of a
# shell and of the commands it ran and waited for), added up, with one decimal.
t_times_seconds() {
    awk '{ for (i = 1; i <= 2; i++) { split($i, p, "m"); s += p[1] * 60 + p[2] } } END { printf "%.1f", s }' "$1"
}

# t_cpu: sets T_CPU to the processor time of this shell and of every command it has run and
# waited for so far, which load from other work does not inflate as it does wall-clock time.
# (Not $(...): `times` in a subshell would see the subshell's.)
t_cpu() {
    times >"$T_TMP/times"
    T_CPU=$(t_times_seconds "$T_TMP/times")
}

# t_full: whether this is make test-full (CNNC_TEST_FULL=1), which also runs the slow variants.
t_full() {
    [ -n "${CNNC_TEST_FULL:-}" ]
}

# t_deps PACKAGE...: mk/deps.sh, which installs the Debian packages that are missing, one call
# at a time across the suites that run at once: apt-get fails, rather than waits, when another
# holds its lock.
t_deps() {
    flock "$BUILD/.deps-lock" sh mk/deps.sh "$@"
}

# t_make FILE...: what a suite needs of the build. tests/run.sh has built it all (make all)
# before any suite starts, so this only checks that the files are there: a make of a suite's
# own, while other suites run, would rewrite a program or a library they are using whenever a
# source had been edited since. Prints what is missing and returns 1.
t_make() {
    tm_missing=""
    for tm_f in "$@"; do
        [ -e "$tm_f" ] || tm_missing="$tm_missing $tm_f"
    done
    [ -z "$tm_missing" ] && return 0
    echo "not built:$tm_missing (tests/run.sh runs make BUILD=$BUILD all first; see its failure)"
    return 1
}
