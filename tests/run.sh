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
for s in $suites; do
    echo "== $s"
    . "$s"
done
echo
echo "$T_PASSED passed, $T_FAILED failed"
[ "$T_FAILED" -eq 0 ]
