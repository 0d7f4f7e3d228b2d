# The command line (sourced by tests/run.sh): golden stdout, stderr and status of cnnc's own
# options and usage errors (tests/cli/*.cmd): --help, --version, no arguments, unknown
# commands and options (with did-you-mean), missing files, and each command's argument errors.

golden_cli tests/cli

# --help lists every command of the driver's table: a command added there shows up here.
"$CNNC" --help >"$T_TMP/cli.out" 2>&1
for c in check summary; do
    if grep -q "^  cnnc $c " "$T_TMP/cli.out"; then pass "cli: --help lists $c"
    else fail "cli: --help lists $c" "$(cat "$T_TMP/cli.out")"; fi
done
