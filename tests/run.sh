#!/bin/sh
# The test runner: sources every tests/suite_*.sh; each suite reports through pass/fail
# (tests/lib.sh). Ends with the line `N passed, N failed` and a matching status.
#   BUILD=build sh tests/run.sh [SUITE...]      e.g. sh tests/run.sh 45_trainer (tests/suite_45_trainer.sh)
#   CNNC_TEST_FULL=1 also runs the slow tests; CNNC_TEST_JOBS=N runs N suites, and N cases of a
#   suite, at once (default: the cores).
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
export BUILD
. tests/lib.sh
if [ $# -gt 0 ]; then
    for s in "$@"; do suites="$suites tests/suite_$s.sh"; done
else
    suites=$(ls tests/suite_*.sh | sort)
fi

# T_JOBS suites at once, so that no core waits while a suite runs something alone. Each suite
# runs in a subshell of its own, with its own $T_TMP, its output into a file that is printed,
# in the order of the suites, once it and the suites before it have ended. The first free lane
# takes the next suite that no other has taken (mkdir is atomic). Each suite ends with its
# seconds, wall-clock and of processor time (what its commands used of the cores, which other
# work on the machine does not inflate), so that the slow ones show (make test aims at about
# five minutes on two cores).
run_start=$(date +%s)
# What suites build with their own `make -s` (the compiler, the libraries) is built first, once,
# so that suites that run at once do not build the same files at the same time.
if ! make -s BUILD="$BUILD" all >"$T_TMP/make.log" 2>&1; then
    fail "tests/run.sh: make BUILD=$BUILD all" "$(tail -20 "$T_TMP/make.log")"
fi
run_dir=$T_TMP/suites
mkdir "$run_dir"
lane=0
while [ "$lane" -lt "$T_JOBS" ]; do
    (
        i=0
        for s in $suites; do
            i=$((i + 1))
            mkdir "$run_dir/$i" 2>/dev/null || continue
            # The suite may use any name but T_*: what comes after it is kept in T_SUITE_*.
            (
                T_SUITE_DIR=$run_dir/$i
                T_SUITE_START=$(date +%s)
                T_TMP=$T_SUITE_DIR/tmp
                mkdir "$T_TMP"
                T_PASSED=0 T_FAILED=0
                echo "== $s"
                . "$s"
                t_cpu
                echo "   ($(($(date +%s) - T_SUITE_START)) s, $T_CPU s of processor time)"
                echo "$T_PASSED $T_FAILED" >"$T_SUITE_DIR/counts"
            ) </dev/null >"$run_dir/$i/out" 2>&1
            : >"$run_dir/$i/done"
        done
    ) &
    lane=$((lane + 1))
done
i=0
for s in $suites; do
    i=$((i + 1))
    while [ ! -e "$run_dir/$i/done" ]; do sleep 1; done
    cat "$run_dir/$i/out"
    if [ -f "$run_dir/$i/counts" ] && read -r passed failed <"$run_dir/$i/counts"; then
        T_PASSED=$((T_PASSED + passed))
        T_FAILED=$((T_FAILED + failed))
    else
        fail "$s: the suite ended without a verdict"
    fi
done
wait
echo
t_cpu
echo "   ($(($(date +%s) - run_start)) s in all, $T_CPU s of processor time, $T_JOBS at once)"
echo "$T_PASSED passed, $T_FAILED failed"
[ "$T_FAILED" -eq 0 ]
