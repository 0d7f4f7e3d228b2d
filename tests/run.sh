#!/bin/sh
# The test runner: sources every tests/suite_*.sh in order; each suite reports through
# pass/fail (tests/lib.sh). Ends with the line `N passed, N failed` and a matching status.
#   BUILD=build sh tests/run.sh [SUITE...]      e.g. sh tests/run.sh 45_trainer (tests/suite_45_trainer.sh)
#   CNNC_TEST_FULL=1 also runs the slow tests.
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
export BUILD
. tests/lib.sh
if [ $# -gt 0 ]; then
    for s in "$@"; do suites="$suites tests/suite_$s.sh"; done
else
    suites=$(ls tests/suite_*.sh | sort)
fi
# Each suite's seconds, so that the slow ones show (make test aims at about five minutes).
run_start=$(date +%s)
for s in $suites; do
    echo "== $s"
    suite_start=$(date +%s)
    . "$s"
    echo "   ($(($(date +%s) - suite_start)) s)"
done
echo
echo "   ($(($(date +%s) - run_start)) s in all)"
echo "$T_PASSED passed, $T_FAILED failed"
[ "$T_FAILED" -eq 0 ]
