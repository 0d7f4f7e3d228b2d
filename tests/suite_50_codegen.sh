# Code generation: `cnnc emit` and `cnnc build`, and the generated C itself.
# Sourced by tests/run.sh (POSIX sh); reports through pass/fail/check/same_file.

# generated/ is kept in git: it must be what the current cnnc writes for models/.
mkdir -p "$T_TMP/gen"
for model in models/*.cnn; do
    name=$(basename "$model" .cnn)
    if "$CNNC" emit "$model" -o "$T_TMP/gen" >"$T_TMP/out" 2>&1; then
        for ext in h c; do
            same_file "codegen: generated/$name.$ext is up to date" "generated/$name.$ext" "$T_TMP/gen/$name.$ext"
        done
    else
        fail "codegen: emit $model" "$(cat "$T_TMP/out")"
    fi
done

# Emitting writes the two files and nothing else: no temporary file is left behind.
leftover=$(ls -A "$T_TMP/gen" | grep -v -e '\.h$' -e '\.c$')
if [ -z "$leftover" ]; then pass "codegen: no temporary files left"; else fail "codegen: no temporary files left" "$leftover"; fi

# A .cnn file and its YAML twin give byte-identical C.
mkdir -p "$T_TMP/twin"
if "$CNNC" emit models/mnist_cnn.yaml -o "$T_TMP/twin" >"$T_TMP/out" 2>&1; then
    same_file "codegen: yaml twin gives the same header" "$T_TMP/gen/mnist_cnn.h" "$T_TMP/twin/mnist_cnn.h"
    same_file "codegen: yaml twin gives the same source" "$T_TMP/gen/mnist_cnn.c" "$T_TMP/twin/mnist_cnn.c"
else
    fail "codegen: emit models/mnist_cnn.yaml" "$(cat "$T_TMP/out")"
fi

# The banner's hash is of the model's meaning, not of its text: comments, spacing and the
# order of the train settings change nothing, a different learning rate changes the hash.
mkdir -p "$T_TMP/respelled" "$T_TMP/retuned"
{ echo "/* the seed model, spelled differently */"; sed -e 's/^    //' -e 's/seed 42;/seed 42; # the same seed/' models/mnist_cnn.cnn; } \
    >"$T_TMP/respelled.cnn"
sed 's/learning_rate=0.001/learning_rate=0.002/' models/mnist_cnn.cnn >"$T_TMP/retuned.cnn"
if "$CNNC" emit "$T_TMP/respelled.cnn" -o "$T_TMP/respelled" >"$T_TMP/out" 2>&1 &&
    "$CNNC" emit "$T_TMP/retuned.cnn" -o "$T_TMP/retuned" >>"$T_TMP/out" 2>&1; then
    same_file "codegen: comments and spacing do not change the output" "$T_TMP/gen/mnist_cnn.c" "$T_TMP/respelled/mnist_cnn.c"
    old_hash=$(grep -o 'fnv1a64:[0-9a-f]*' "$T_TMP/gen/mnist_cnn.c")
    new_hash=$(grep -o 'fnv1a64:[0-9a-f]*' "$T_TMP/retuned/mnist_cnn.c")
    if [ -n "$old_hash" ] && [ "$old_hash" != "$new_hash" ]; then pass "codegen: the hash follows the training settings"
    else fail "codegen: the hash follows the training settings" "$old_hash vs $new_hash"; fi
else
    fail "codegen: emit respelled models" "$(cat "$T_TMP/out")"
fi

# The small models of tests/codegen cover what models/ does not: every layer kind, same
# padding with strides, bias-free layers, mean squared error, cross-entropy without softmax.
for model in tests/codegen/*.cnn tests/models/*.cnn; do
    check "codegen: emit $model" "$CNNC" emit "$model" -o "$T_TMP/gen"
done

# The kernel window is unrolled: no loop runs over kh or kw. For AVX-512, the seed model's
# first convolution runs its 3x3 window as one loop per kernel row in each of its two pixel
# blocks (12 and 2 pixels of a 26-pixel row) and its kernel gradient as one call per tap.
if grep -n -E 'for \(int k[hw]\b' "$T_TMP"/gen/*.c >"$T_TMP/out"; then
    fail "codegen: kernel windows are unrolled" "$(cat "$T_TMP/out")"
else
    pass "codegen: kernel windows are unrolled"
fi
"$CNNC" emit models/mnist_cnn.cnn --target avx512 -o "$T_TMP/avx512" >"$T_TMP/out" 2>&1 ||
    fail "codegen: emit --target avx512" "$(cat "$T_TMP/out")"
taps=$(sed -n '/^static CNN_PASS void conv2d_1_forward/,/^}/p' "$T_TMP/avx512/mnist_cnn.c" | grep -c 'kernel row [012], columns 0\.\.2 \*/')
# One input channel: the nine taps' rows of the kernel gradient share one register block.
wtaps=$(sed -n '/^static CNN_PASS void conv2d_1_backward/,/^}/p' "$T_TMP/avx512/mnist_cnn.c" | grep -c 'conv2d_1_wgrad[0-9]*(')
wrows=$(sed -n '/^static void conv2d_1_wgrad0/,/^}/p' "$T_TMP/avx512/mnist_cnn.c" | grep -c 'VF_SET1(x[0-9]*, x\[at')
if [ "$taps" = 6 ] && [ "$wtaps" = 1 ] && [ "$wrows" = 9 ]; then
    pass "codegen: 3x3 window is three row loops per block, nine gradient taps in one block"
else
    fail "codegen: 3x3 window is three row loops per block, nine gradient taps in one block" \
        "forward $taps, backward calls $wtaps, rows $wrows"
fi
# Same padding: lenet5's 5x5 convolution on 28x28 has 5 runs of rows times 5 of columns,
# each with its own literal bounds, and the corner run covers only the 3x3 taps inside: three
# kernel rows of three columns each.
runs=$(sed -n '/^static CNN_PASS void conv2d_1_forward/,/^}/p' "$T_TMP/gen/lenet5.c" | grep -c '/\* rows ')
corner=$(sed -n '/^static CNN_PASS void conv2d_1_forward/,/^}/p' "$T_TMP/gen/lenet5.c" |
    sed -n '/rows 0\.\.0, columns 0\.\.0/,/rows 0\.\.0, columns 1\.\.1/p' | grep -c 'kernel row [234], columns 2\.\.4 \*/')
if [ "$runs" = 25 ] && [ "$corner" = 3 ]; then pass "codegen: same padding split into border runs"
else fail "codegen: same padding split into border runs" "runs $runs, corner kernel rows $corner"; fi
# Winograd's F(4x4, 3x3) where the shapes say it pays (emit/winograd.c): the seed model's
# conv2d_2 (3x3, stride 1, 32 input channels) in training, not conv2d_1 (one input channel),
# and not its input gradient (a 13x13 output: too few tiles). Evaluation stays direct.
wino=$(grep -c '^static void conv2d_[0-9]*_winograd(' "$T_TMP/avx512/mnist_cnn.c")
wino2=$(grep -c '^static void conv2d_2_winograd(' "$T_TMP/avx512/mnist_cnn.c")
wdin=$(grep -c 'input gradient by Winograd' "$T_TMP/avx512/mnist_cnn.c")
direct=$(sed -n '/^static CNN_PASS void conv2d_2_forward/,/^}/p' "$T_TMP/avx512/mnist_cnn.c" | grep -c 'conv2d_2_winograd(out, in, kernel, bias, n);')
if [ "$wino" = 1 ] && [ "$wino2" = 1 ] && [ "$wdin" = 0 ] && [ "$direct" = 1 ]; then
    pass "codegen: Winograd for conv2d_2's training forward pass only"
else
    fail "codegen: Winograd for conv2d_2's training forward pass only" \
        "winograd functions $wino (conv2d_2: $wino2), input gradients $wdin, calls in conv2d_2_forward $direct"
fi
# No allocation in generated code.
if grep -n -E '\b(malloc|calloc|realloc|free)\(' "$T_TMP"/gen/*.c >"$T_TMP/out"; then
    fail "codegen: generated code does not allocate" "$(cat "$T_TMP/out")"
else
    pass "codegen: generated code does not allocate"
fi

# UBSan's pointer-overflow only sees arithmetic that wraps; a pointer formed before the start
# of a buffer (`dx + at + 12` with `at` negative in the padding) is undefined all the same, so
# the window index is always added to its offset before the pointer: `dx + (at + 12)`.
if grep -n -E '[A-Za-z_]+ \+ at \+ [0-9]' "$T_TMP"/gen/*.c >"$T_TMP/out"; then
    fail "codegen: no pointer is formed from a negative window index" "$(head -5 "$T_TMP/out")"
else
    pass "codegen: no pointer is formed from a negative window index"
fi

# What compiles and runs each generated file, as cases on every core (t_jobs): s50_case KIND NAME
# for $S50_GEN/NAME.c.
S50_GEN=$T_TMP/gen
s50_case() {
    s50_src=$S50_GEN/$2.c
    case $1 in
    gcc | clang)
        # Every generated file compiles without a warning as strict C99, with gcc and clang.
        check "codegen: $2.c compiles with $1 -std=c99 -pedantic -Werror" \
            "$1" -std=c99 -Wall -Wextra -pedantic -Werror -Iruntime -c -o "$T_TMP/obj.o" "$s50_src"
        ;;
    ubsan)
        # Undefined behaviour: the model, generated for the plain-C target, has all its passes
        # run once under UBSan with pointer-overflow, so that no pass forms a pointer outside its
        # buffer, even one it never dereferences.
        if gcc -std=c99 -O0 -g -fsanitize=undefined,pointer-overflow -fno-sanitize-recover=all \
            -DMODEL="$2_model" -Iruntime -o "$T_TMP/run_passes" tests/unit/run_passes.c "$s50_src" -lm \
            >"$T_TMP/out" 2>&1; then
            check "codegen: $2 passes run clean under UBSan with pointer-overflow" "$T_TMP/run_passes"
        else
            fail "codegen: build $2 under UBSan" "$(cat "$T_TMP/out")"
        fi
        ;;
    double)
        # Numerical checks through the cnn_model struct: gradients against finite differences, a
        # split batch against the whole, one optimizer step against Keras' formulas. In double
        # every model is checked exactly.
        if gcc -std=c99 -O2 -Dfloat=double -Dexpf=exp -Dtanhf=tanh -Dsqrtf=sqrt -DGRADCHECK_STEP=1e-6 \
            -DMODEL="$2_model" -Iruntime -I"$S50_GEN" -o "$T_TMP/gradcheck" \
            tests/unit/emit_gradcheck.c "$s50_src" -lm -pthread >"$T_TMP/out" 2>&1; then
            check "codegen: $2 gradients, batch split and update (double)" "$T_TMP/gradcheck"
        else
            fail "codegen: build the double gradient check of $2" "$(cat "$T_TMP/out")"
        fi
        ;;
    float)
        # In float the small models of tests/codegen, with a coarser step, under the sanitizers.
        if gcc -std=c99 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -DMODEL="$2_model" \
            -Iruntime -I"$S50_GEN" -o "$T_TMP/gradcheck" tests/unit/emit_gradcheck.c "$s50_src" -lm -pthread \
            >"$T_TMP/out" 2>&1; then
            check "codegen: $2 gradients, batch split and update (float, sanitizers)" "$T_TMP/gradcheck"
        else
            fail "codegen: build the float gradient check of $2" "$(cat "$T_TMP/out")"
        fi
        ;;
    esac
}
# The cases, the slowest kinds first. Every model of models/, tests/models/ and tests/codegen is
# compiled strictly; the models of tests/models/ and tests/codegen, which between them have every
# layer kind, activation, padding, stride, loss, optimizer and Winograd's convolution, are checked
# under UBSan and in double (t_winograd under make test-full only), and all_kinds (every layer
# kind) in float under the sanitizers; make test-full (CNNC_TEST_FULL=1) checks models/ as well,
# and all of tests/codegen in float.
# The residual networks take minutes in double (1.5e7 and more MACs an image, each finite
# difference a forward pass in double); their layers are checked as the small graph models of
# tests/models/ are, and resnet_mnist against the reference in suite 55.
# s50_checked NAME: whether NAME is checked under UBSan and in double in this run.
s50_checked() {
    t_full || [ -e "tests/models/$1.cnn" ] || [ -e "tests/codegen/$1.cnn" ]
}
for cc in gcc clang; do
    command -v $cc >/dev/null 2>&1 || fail "codegen: $cc is installed"
done
{
    for model in tests/codegen/*.cnn; do
        name=$(basename "$model" .cnn)
        [ "$name" = all_kinds ] || t_full || continue
        echo "float $name"
    done
    for src in "$S50_GEN"/*.c; do
        name=$(basename "$src" .c)
        s50_checked "$name" && echo "ubsan $name"
    done
    for src in "$S50_GEN"/*.c; do
        name=$(basename "$src" .c)
        case $name in resnet_*) continue ;; esac
        # t_winograd's three 3x3 convolutions of 33 to 36 channels take 18 s of processor time
        # in double; suite 55 checks its gradients against the reference's on every target.
        [ "$name" = t_winograd ] && ! t_full && continue
        s50_checked "$name" && echo "double $name"
    done
    for cc in gcc clang; do
        command -v $cc >/dev/null 2>&1 || continue
        for src in "$S50_GEN"/*.c; do echo "$cc $(basename "$src" .c)"; done
    done
} >"$T_TMP/cases"
echo "  note codegen: the residual networks' double gradient check is left to suite 55"
t_jobs s50_case "$T_TMP/cases"

# Errors: emit into something that is not a directory, or from a model with errors, reports
# and writes nothing.
: >"$T_TMP/not_a_dir"
"$CNNC" emit models/mnist_cnn.cnn -o "$T_TMP/not_a_dir" >"$T_TMP/out" 2>&1
status=$?
if [ $status = 1 ] && grep -q "not a directory" "$T_TMP/out"; then pass "codegen: emit into a file is refused"
else fail "codegen: emit into a file is refused" "status $status" "$(cat "$T_TMP/out")"; fi
mkdir -p "$T_TMP/bad_out"
printf 'model bad {\n    input 28x28x1;\n    dense(units=10);\n}\n' >"$T_TMP/bad.cnn"
"$CNNC" emit "$T_TMP/bad.cnn" -o "$T_TMP/bad_out" >"$T_TMP/out" 2>&1
status=$?
if [ $status = 1 ] && [ -z "$(ls -A "$T_TMP/bad_out")" ]; then pass "codegen: a model with errors writes nothing"
else fail "codegen: a model with errors writes nothing" "status $status" "$(cat "$T_TMP/out")" "$(ls -A "$T_TMP/bad_out")"; fi
"$CNNC" emit >"$T_TMP/out" 2>&1
status=$?
if [ $status = 2 ]; then pass "codegen: emit without a model is a usage error"
else fail "codegen: emit without a model is a usage error" "status $status" "$(cat "$T_TMP/out")"; fi

# cnnc build: a failing C compiler is reported and leaves no program; with the runtime built,
# a real build gives a program that runs.
if [ -f "$BUILD/libcnnrt.a" ] && [ -f "$BUILD/libcnnapp.a" ] && [ -f "$BUILD/libcnnplot.a" ]; then
    CC=false "$CNNC" build models/mlp.cnn -o "$T_TMP/mlp_prog" >"$T_TMP/out" 2>&1
    status=$?
    if [ $status = 1 ] && [ ! -e "$T_TMP/mlp_prog" ] && grep -q "failed" "$T_TMP/out" &&
        [ -z "$(ls -A "$T_TMP" | grep cnnc-build)" ]; then
        pass "codegen: a failed build leaves nothing"
    else
        fail "codegen: a failed build leaves nothing" "status $status" "$(cat "$T_TMP/out")"
    fi
    cnnc_abs=$(cd "$(dirname "$CNNC")" && pwd)/$(basename "$CNNC")
    repo=$(pwd)
    # A runtime built with sanitizers needs them in the program too.
    san=""
    if nm "$BUILD/libcnnrt.a" 2>/dev/null | grep -q __asan; then san="-fsanitize=address,undefined"; fi
    (cd "$T_TMP" && CFLAGS="-O1 $san" LDFLAGS="$san" "$cnnc_abs" build "$repo/models/mlp.cnn" -o mlp_prog) \
        >"$T_TMP/out" 2>&1
    status=$?
    if [ $status = 0 ] && [ -x "$T_TMP/mlp_prog" ]; then
        pass "codegen: cnnc build from another directory"
        check "codegen: the built program answers --help" "$T_TMP/mlp_prog" --help
    else
        fail "codegen: cnnc build from another directory" "status $status" "$(cat "$T_TMP/out")"
    fi
else
    fail "codegen: cnnc build needs the runtime libraries in $BUILD (run make first)"
fi
