# Suite 70: pictures of training (libcnnplot, `cnnc plot`). Draws curves, confusion matrices
# and mistakes from the CSVs in tests/plot/ and checks the files: PNGs with tests/unit/png_check
# (size, not blank, the training blue #1f77b4 and validation orange #ff7f0e where expected),
# SVG and PDF by their first bytes; then the errors: bad extensions, unwritable places and
# malformed histories, each a message and status 1, never a crash.
# Sourced by tests/run.sh. CC, CFLAGS and LDFLAGS must match the build (e.g. the sanitizers).

P_DIR=$T_TMP/plot
# A folder of the suite's own: suites run at once (tests/run.sh), and others build programs of
# the same names (toy, png_check).
P_BIN=$BUILD/tests/plot
mkdir -p "$P_DIR" "$P_BIN"
P_CFLAGS="-std=c11 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -Iruntime -Iruntime/plot ${CFLAGS:--O2 -g}"
P_TRAIN=1f77b4
P_VALID=ff7f0e
P_MNIST=$(mnist_dir)/t10k-images-idx3-ubyte.gz
# Under LeakSanitizer, ignore the caches fontconfig and pango keep (our own leaks still count).
P_SAVED_LSAN=${LSAN_OPTIONS-}
export LSAN_OPTIONS="suppressions=$PWD/tests/plot/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

# plot_expect NAME STATUS PATTERN COMMAND...: the command exits with STATUS (not a crash),
# and its output matches the grep pattern PATTERN (empty: stdout and stderr must be empty).
plot_expect() {
    pe_name=$1 pe_status=$2 pe_pattern=$3
    shift 3
    "$@" >"$T_TMP/p_out" 2>"$T_TMP/p_err" </dev/null
    pe_got=$?
    if [ "$pe_got" != "$pe_status" ]; then
        fail "$pe_name" "exit status $pe_got, expected $pe_status" "$(cat "$T_TMP/p_out" "$T_TMP/p_err")"
    elif grep -q -e 'runtime error:' -e 'AddressSanitizer' -e 'LeakSanitizer' "$T_TMP/p_err"; then
        fail "$pe_name" "sanitizer report:" "$(head -30 "$T_TMP/p_err")"
    elif [ -z "$pe_pattern" ] && [ -s "$T_TMP/p_out" -o -s "$T_TMP/p_err" ]; then
        fail "$pe_name" "expected no output, got:" "$(cat "$T_TMP/p_out" "$T_TMP/p_err")"
    elif [ -n "$pe_pattern" ] && ! cat "$T_TMP/p_out" "$T_TMP/p_err" | grep -q -e "$pe_pattern"; then
        fail "$pe_name" "the output does not match '$pe_pattern':" "$(cat "$T_TMP/p_out" "$T_TMP/p_err")"
    else
        pass "$pe_name"
    fi
}

# starts_with NAME FILE MAGIC...: the file begins with one of the given strings.
starts_with() {
    sw_name=$1 sw_file=$2
    shift 2
    for sw_magic in "$@"; do
        if [ "$(head -c ${#sw_magic} "$sw_file" 2>/dev/null)" = "$sw_magic" ]; then pass "$sw_name"; return; fi
    done
    fail "$sw_name" "$sw_file does not start with any of: $*" "$(head -c 60 "$sw_file" 2>&1)"
}

# absent NAME FILE: a failed plot leaves no file behind.
absent() {
    if [ -e "$2" ]; then fail "$1" "$2 was left behind"; else pass "$1"; fi
}

check plot/build-png_check ${CC:-cc} $P_CFLAGS -o "$P_BIN/png_check" tests/unit/png_check.c $LDFLAGS -lpng
check plot/build-plot_samples ${CC:-cc} $P_CFLAGS -o "$P_BIN/plot_samples" tests/unit/plot_samples.c \
    "$BUILD/libcnnplot.a" "$BUILD/libcnnrt.a" $LDFLAGS -lplplot -lz -lm
PNG_CHECK=$P_BIN/png_check
SAMPLES=$P_BIN/plot_samples

plot_expect plot/png_check-rejects-non-png 2 'Not a PNG' "$PNG_CHECK" tests/plot/history5.csv

# ---------------------------------------------------------------- curves, through the library
plot_expect plot/curves-5-epochs 0 '' "$SAMPLES" curves tests/plot/history5.csv "$P_DIR/c5.png" mnist_cnn
check plot/curves-5-epochs-png "$PNG_CHECK" "$P_DIR/c5.png" --size 1200x500 --min-colours 50 --has $P_TRAIN --has $P_VALID
# png_check must be able to say no: wrong size, too few colours, a colour that is there.
plot_expect plot/png_check-wrong-size 1 'FAIL: expected 1199x500' "$PNG_CHECK" "$P_DIR/c5.png" --size 1199x500
plot_expect plot/png_check-too-few-colours 1 'FAIL: expected at least 1000000 colours' "$PNG_CHECK" "$P_DIR/c5.png" --min-colours 1000000
plot_expect plot/png_check-colour-present 1 "FAIL: expected no pixel of #$P_TRAIN" "$PNG_CHECK" "$P_DIR/c5.png" --lacks $P_TRAIN
plot_expect plot/curves-1-epoch 0 '' "$SAMPLES" curves tests/plot/history1.csv "$P_DIR/c1.png"
check plot/curves-1-epoch-png "$PNG_CHECK" "$P_DIR/c1.png" --size 1200x500 --min-colours 50 --has $P_TRAIN --has $P_VALID
plot_expect plot/curves-no-validation 0 '' "$SAMPLES" curves tests/plot/history_noval.csv "$P_DIR/cn.png"
check plot/curves-no-validation-png "$PNG_CHECK" "$P_DIR/cn.png" --size 1200x500 --min-colours 50 --has $P_TRAIN --lacks $P_VALID
plot_expect plot/curves-40-epochs 0 '' "$SAMPLES" curves tests/plot/history_long.csv "$P_DIR/c40.png"
check plot/curves-40-epochs-png "$PNG_CHECK" "$P_DIR/c40.png" --size 1200x500 --min-colours 50 --has $P_TRAIN --has $P_VALID
plot_expect plot/curves-diverged 0 '' "$SAMPLES" curves tests/plot/history_diverged.csv "$P_DIR/cd.png"
check plot/curves-diverged-png "$PNG_CHECK" "$P_DIR/cd.png" --size 1200x500 --min-colours 50 --has $P_TRAIN --has $P_VALID

plot_expect plot/curves-svg 0 '' "$SAMPLES" curves tests/plot/history5.csv "$P_DIR/c5.svg"
starts_with plot/curves-svg-magic "$P_DIR/c5.svg" '<?xml' '<svg'
plot_expect plot/curves-pdf 0 '' "$SAMPLES" curves tests/plot/history5.csv "$P_DIR/c5.pdf"
starts_with plot/curves-pdf-magic "$P_DIR/c5.pdf" '%PDF'
plot_expect plot/curves-upper-case-extension 0 '' "$SAMPLES" curves tests/plot/history5.csv "$P_DIR/C5.PNG"
check plot/curves-upper-case-extension-png "$PNG_CHECK" "$P_DIR/C5.PNG" --size 1200x500

plot_expect plot/curves-unknown-extension 1 'c5.gif: cannot tell the picture format' \
    "$SAMPLES" curves tests/plot/history5.csv "$P_DIR/c5.gif"
absent plot/curves-unknown-extension-no-file "$P_DIR/c5.gif"
plot_expect plot/curves-no-extension 1 'cannot tell the picture format' \
    "$SAMPLES" curves tests/plot/history5.csv "$P_DIR/curves"
plot_expect plot/curves-missing-directory 1 'no/such/dir/c.png: cannot create the picture' \
    "$SAMPLES" curves tests/plot/history5.csv "$P_DIR/no/such/dir/c.png"
mkdir -p "$P_DIR/dir.png"
plot_expect plot/curves-directory-as-output 1 'dir.png: cannot create the picture' \
    "$SAMPLES" curves tests/plot/history5.csv "$P_DIR/dir.png"
mkdir -p "$P_DIR/readonly" && chmod 555 "$P_DIR/readonly"
if [ "$(id -u)" != 0 ]; then
    plot_expect plot/curves-read-only-directory 1 'cannot create the picture' \
        "$SAMPLES" curves tests/plot/history5.csv "$P_DIR/readonly/c.png"
fi
# A file that opens but takes no bytes: PLplot's failed write must still be an error.
if [ -w /dev/full ]; then
    ln -s /dev/full "$P_DIR/full.png"
    plot_expect plot/curves-disk-full 1 'full.png: the picture could not be written' \
        "$SAMPLES" curves tests/plot/history5.csv "$P_DIR/full.png"
fi
# Without drivers PLplot would exit; the exit handler turns that into an error, no file left.
mkdir -p "$P_DIR/no-drivers"
plot_expect plot/curves-no-driver 1 'nodrv.png: PLplot has no pngcairo driver' \
    env PLPLOT_DRV_DIR="$P_DIR/no-drivers" "$SAMPLES" curves tests/plot/history5.csv "$P_DIR/nodrv.png"
absent plot/curves-no-driver-no-file "$P_DIR/nodrv.png"
plot_expect plot/curves-title-with-hash 0 '' "$SAMPLES" curves tests/plot/history5.csv "$P_DIR/ch.png" 'net#1'

# ---------------------------------------------------------------- confusion matrix
plot_expect plot/confusion 0 '' "$SAMPLES" confusion "$P_DIR/conf.png"
# The darkest shade (#08306b) fills the diagonal; white is the background and the small counts.
check plot/confusion-png "$PNG_CHECK" "$P_DIR/conf.png" --size 800x800 --min-colours 50 --has 08306b --has ffffff
plot_expect plot/confusion-64-classes 0 '' "$SAMPLES" confusion "$P_DIR/conf64.png" 64
check plot/confusion-64-classes-png "$PNG_CHECK" "$P_DIR/conf64.png" --size 800x800 --min-colours 50 --has 08306b
plot_expect plot/confusion-svg 0 '' "$SAMPLES" confusion "$P_DIR/conf.svg"
starts_with plot/confusion-svg-magic "$P_DIR/conf.svg" '<?xml' '<svg'
plot_expect plot/confusion-no-classes 1 'needs 1 to 64 classes, not 0' "$SAMPLES" confusion "$P_DIR/conf0.png" 0
plot_expect plot/confusion-too-many-classes 1 'not 65' "$SAMPLES" confusion "$P_DIR/conf65.png" 65

# ---------------------------------------------------------------- mistakes
plot_expect plot/mistakes-synthetic 0 '' "$SAMPLES" mistakes "$P_DIR/mist.png" 36
check plot/mistakes-synthetic-png "$PNG_CHECK" "$P_DIR/mist.png" --size 900x980 --min-colours 50 --has 000000
plot_expect plot/mistakes-more-than-36 0 '' "$SAMPLES" mistakes "$P_DIR/mist50.png" 50
check plot/mistakes-more-than-36-png "$PNG_CHECK" "$P_DIR/mist50.png" --size 900x980 --min-colours 50
plot_expect plot/mistakes-one 0 '' "$SAMPLES" mistakes "$P_DIR/mist1.png" 1
check plot/mistakes-one-png "$PNG_CHECK" "$P_DIR/mist1.png" --size 900x980 --min-colours 20 --has 000000
plot_expect plot/mistakes-none 0 '' "$SAMPLES" mistakes "$P_DIR/mist0.png" 0
check plot/mistakes-none-png "$PNG_CHECK" "$P_DIR/mist0.png" --size 900x980 --min-colours 5
plot_expect plot/mistakes-negative-count 1 'no images of mistakes' "$SAMPLES" mistakes "$P_DIR/mistn.png" -1
plot_expect plot/mistakes-pdf 0 '' "$SAMPLES" mistakes "$P_DIR/mist.pdf" 12
starts_with plot/mistakes-pdf-magic "$P_DIR/mist.pdf" '%PDF'
if [ -r "$P_MNIST" ]; then
    plot_expect plot/mistakes-mnist 0 '' "$SAMPLES" mistakes "$P_DIR/mist_mnist.png" 36 "$P_MNIST"
    check plot/mistakes-mnist-png "$PNG_CHECK" "$P_DIR/mist_mnist.png" --size 900x980 --min-colours 50 --has 000000
fi

# ---------------------------------------------------------------- several pictures in one process
mkdir -p "$P_DIR/repeat"
plot_expect plot/repeat-in-one-process 0 'no/such/dir/x.png: cannot create the picture' \
    "$SAMPLES" repeat tests/plot/history5.csv "$P_DIR/repeat"
check plot/repeat-curves-png "$PNG_CHECK" "$P_DIR/repeat/1-curves.png" --size 1200x500 --min-colours 50 --has $P_TRAIN --has $P_VALID
check plot/repeat-confusion-png "$PNG_CHECK" "$P_DIR/repeat/1-confusion.png" --size 800x800 --min-colours 50 --has 08306b
check plot/repeat-mistakes-png "$PNG_CHECK" "$P_DIR/repeat/1-mistakes.png" --size 900x980 --min-colours 50
for f in curves confusion mistakes; do
    starts_with plot/repeat-$f-svg "$P_DIR/repeat/2-$f.svg" '<?xml' '<svg'
done

plot_expect plot/cnnc-plot-default-output 0 '' sh -c "cd '$P_DIR' && '$PWD/$CNNC' plot '$PWD/tests/plot/history5.csv'"
check plot/cnnc-plot-default-output-png "$PNG_CHECK" "$P_DIR/curves.png" --size 1200x500 --min-colours 50 --has $P_TRAIN --has $P_VALID
plot_expect plot/cnnc-plot-svg 0 '' "$CNNC" plot tests/plot/history_noval.csv -o "$P_DIR/cnnc.svg" --model mlp
starts_with plot/cnnc-plot-svg-magic "$P_DIR/cnnc.svg" '<?xml' '<svg'
plot_expect plot/cnnc-plot-bad-header 1 '^tests/plot/bad_header.csv:1: error: ' \
    "$CNNC" plot tests/plot/bad_header.csv -o "$P_DIR/bad.png"
plot_expect plot/cnnc-plot-bad-number 1 '^tests/plot/bad_number.csv:4: error: .*0.99x3' \
    "$CNNC" plot tests/plot/bad_number.csv -o "$P_DIR/bad.png"
absent plot/cnnc-plot-bad-history-no-file "$P_DIR/bad.png"
plot_expect plot/cnnc-plot-missing-history 1 'tests/plot/missing.csv' "$CNNC" plot tests/plot/missing.csv -o "$P_DIR/m.png"
plot_expect plot/cnnc-plot-unknown-extension 1 'cannot tell the picture format' \
    "$CNNC" plot tests/plot/history5.csv -o "$P_DIR/c.jpg"
plot_expect plot/cnnc-plot-no-history 2 'usage' "$CNNC" plot
plot_expect plot/cnnc-plot-two-histories 2 'one history at a time' "$CNNC" plot tests/plot/history1.csv tests/plot/history5.csv
plot_expect plot/cnnc-plot-unknown-option 2 "unknown option '--colour'" "$CNNC" plot tests/plot/history5.csv --colour red
plot_expect plot/cnnc-plot-o-without-file 2 'error' "$CNNC" plot tests/plot/history5.csv -o

LSAN_OPTIONS=$P_SAVED_LSAN
