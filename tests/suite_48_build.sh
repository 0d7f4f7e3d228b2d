# Suite 48: `cnnc build` (compiler/cmd/build.c) as a user meets it (issue 16): the program's
# path is checked before anything is compiled (a folder, a missing folder); the build says
# what it compiles (file, size, compiler, options) and, every few seconds, that it still
# runs; a failure that the user's CFLAGS cause is blamed on them, not on the generated code;
# `cnnc build --help` documents CC, CFLAGS and LDFLAGS.
# Sourced by tests/run.sh. CC, CFLAGS and LDFLAGS must match the build (e.g. the sanitizers).

BU_DIR=$T_TMP/build
mkdir -p "$BU_DIR/a-folder"
BU_MODEL=tests/train/diverge.cnn
BU_CFLAGS=${CFLAGS:--O1}

# bu_expect NAME STATUS PATTERN COMMAND...: the command exits with STATUS and its stderr
# holds PATTERN (a fixed string).
bu_expect() {
    bu_name=$1 bu_want=$2 bu_pattern=$3
    shift 3
    "$@" >"$BU_DIR/out" 2>"$BU_DIR/err" </dev/null
    bu_got=$?
    if [ "$bu_got" -ge 128 ] || grep -q -e 'runtime error:' -e 'AddressSanitizer' -e 'LeakSanitizer' "$BU_DIR/err"; then
        fail "$bu_name" "status $bu_got" "$(head -20 "$BU_DIR/err")"
    elif [ "$bu_got" != "$bu_want" ]; then
        fail "$bu_name" "exit status $bu_got, expected $bu_want" "$(head -20 "$BU_DIR/err")"
    elif ! grep -qF -e "$bu_pattern" "$BU_DIR/err"; then
        fail "$bu_name" "no '$bu_pattern' in:" "$(head -20 "$BU_DIR/err")"
    else
        pass "$bu_name"
    fi
}

# A C compiler that notes that it ran, and one that takes six seconds to start.
cat >"$BU_DIR/cc-spy" <<SH
#!/bin/sh
touch "$BU_DIR/cc-ran"
exec ${CC:-cc} "\$@"
SH
cat >"$BU_DIR/cc-slow" <<SH
#!/bin/sh
sleep 6
exec ${CC:-cc} "\$@"
SH
chmod +x "$BU_DIR/cc-spy" "$BU_DIR/cc-slow"

# ---------------------------------------------------------------- --help
if "$CNNC" build --help >"$BU_DIR/out" 2>&1 && grep -q '^    CC  ' "$BU_DIR/out" &&
    grep -q '^    CFLAGS   its options (default: ' "$BU_DIR/out" && grep -q '^    LDFLAGS  ' "$BU_DIR/out"; then
    pass "build/help documents CC, CFLAGS and LDFLAGS"
else
    fail "build/help documents CC, CFLAGS and LDFLAGS" "$(cat "$BU_DIR/out")"
fi

# ---------------------------------------------------------------- the program's path, first
rm -f "$BU_DIR/cc-ran"
bu_expect "build/output is a folder" 1 "cannot write the program '$BU_DIR/a-folder': it is a folder; give a file name, such as '$BU_DIR/a-folder/diverge'" \
    env CC="$BU_DIR/cc-spy" CFLAGS="$BU_CFLAGS" "$CNNC" build "$BU_MODEL" -o "$BU_DIR/a-folder"
bu_expect "build/output in a missing folder" 1 "cannot write the program '$BU_DIR/no/such/prog': the folder '$BU_DIR/no/such' does not exist" \
    env CC="$BU_DIR/cc-spy" CFLAGS="$BU_CFLAGS" "$CNNC" build "$BU_MODEL" -o "$BU_DIR/no/such/prog"
if [ -e "$BU_DIR/cc-ran" ]; then fail "build/output checked before compiling" "the C compiler ran"
else pass "build/output checked before compiling"; fi

# ---------------------------------------------------------------- what is compiled, and progress
bu_expect "build/says what it compiles" 0 "cnnc: compiling diverge.c (" \
    env CC="$BU_DIR/cc-spy" CFLAGS="$BU_CFLAGS" "$CNNC" build "$BU_MODEL" -o "$BU_DIR/diverge"
if grep -q "^cnnc: compiling diverge\.c ([1-9][0-9]* bytes) with $BU_DIR/cc-spy $BU_CFLAGS" "$BU_DIR/err" && [ -x "$BU_DIR/diverge" ]; then
    pass "build/names the file, its size, the compiler and the options"
else
    fail "build/names the file, its size, the compiler and the options" "$(cat "$BU_DIR/err")"
fi
bu_expect "build/says it is still compiling" 0 "cnnc: still compiling diverge.c (5 s)" \
    env CC="$BU_DIR/cc-slow" CFLAGS="$BU_CFLAGS" "$CNNC" build "$BU_MODEL" -o "$BU_DIR/diverge-slow"

# ---------------------------------------------------------------- whose fault
bu_expect "build/bad CFLAGS are blamed" 1 "failed with CFLAGS '-fno-such-option-at-all' and LDFLAGS '' even on an empty program: they or the compiler are at fault, not the generated code" \
    env CFLAGS=-fno-such-option-at-all LDFLAGS= "$CNNC" build "$BU_MODEL" -o "$BU_DIR/bad"
if grep -q 'failed on the generated code' "$BU_DIR/err"; then fail "build/bad CFLAGS are not the code's fault" "$(cat "$BU_DIR/err")"
else pass "build/bad CFLAGS are not the code's fault"; fi
if ls -A "$BU_DIR" | grep -q '^\.cnnc-build'; then fail "build/a failed build leaves nothing" "$(ls -A "$BU_DIR")"
else pass "build/a failed build leaves nothing"; fi
