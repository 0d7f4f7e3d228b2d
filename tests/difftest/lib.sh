# difftest/lib.sh - what the differential test's scripts share (POSIX sh, sourced from the
# repository's root): the targets, how to build and run the code of each, and the tools.
#
# DT_TARGETS is the one list of targets to check, each passed as --target NAME (`default`:
# what cnnc emit writes without one, compiled with -march=native; the only one checked with a
# cnnc that has no --target). A target this machine cannot run is left out with a note. DT_BUILD is the build directory (cnnc, the
# runtime), DT_WORK where everything is written.

DT_BUILD=${DT_BUILD:-${BUILD:-build}}
DT_WORK=${DT_WORK:-$DT_BUILD/difftest}
DT_TARGETS=${DT_TARGETS:-generic x86-64 avx2 avx512 neon}
DT_CNNC=$DT_BUILD/cnnc
DT_TOOLS=$DT_WORK/tools
DT_STRICT="-std=c99 -Wall -Wextra -pedantic -Werror"
DT_HOST_CC=${CC:-cc}
QEMU_AARCH64=${QEMU_AARCH64:-qemu-aarch64 -L /usr/aarch64-linux-gnu}
# The neon target is built by clang as a cross compiler (Debian's binutils, C library and libgcc
# for arm64): Debian's gcc-aarch64-linux-gnu conflicts with gcc-multilib, which suite 60 needs
# for gcc -m32, so the two would uninstall each other on every make test.
DT_NEON_CC=${DT_NEON_CC:-clang --target=aarch64-linux-gnu}

# dt_has_flag FLAG: whether this CPU has the /proc/cpuinfo flag.
dt_has_flag() {
    grep -q "^flags.*\b$1\b" /proc/cpuinfo 2>/dev/null
}

# dt_target_supported: whether cnnc emit knows --target.
dt_target_supported() {
    "$DT_CNNC" emit --help 2>&1 | grep -q -- '--target'
}

# dt_arch TARGET: the architecture its code runs on (host or aarch64).
dt_arch() {
    case $1 in neon) echo aarch64 ;; *) echo host ;; esac
}

# dt_target_flags TARGET: the flags the target's code needs (those its #error names, so that
# nothing beyond the target's own instructions is assumed) from the machine's own compiler.
dt_target_flags() {
    case $1 in
    default) echo "-march=native" ;;
    x86-64) echo "-msse2" ;;
    avx2) echo "-mavx2 -mfma" ;;
    avx512) echo "-mavx512f -mavx2 -mfma" ;;
    esac
}

# dt_cc TARGET: the compiler and the flags that build the target's code.
dt_cc() {
    case $1 in
    neon) echo "$DT_NEON_CC -O2" ;;
    *)
        dt_f=$(dt_target_flags "$1")
        echo "$DT_HOST_CC -O2${dt_f:+ $dt_f}"
        ;;
    esac
}

# dt_run TARGET PROGRAM ARGS...: runs a program built for the target.
dt_run() {
    dt_run_target=$1
    shift
    # shellcheck disable=SC2086
    case $dt_run_target in neon) $QEMU_AARCH64 "$@" ;; *) "$@" ;; esac
}

# dt_runnable TARGET: whether this machine can run the target's code.
dt_runnable() {
    case $1 in
    default | generic | x86-64) [ "$(uname -m)" = x86_64 ] || [ "$1" = default ] || [ "$1" = generic ] ;;
    avx2) dt_has_flag avx2 && dt_has_flag fma ;;
    avx512) dt_has_flag avx512f && dt_has_flag avx2 && dt_has_flag fma ;;
    neon) command -v qemu-aarch64 >/dev/null 2>&1 && command -v "${DT_NEON_CC%% *}" >/dev/null 2>&1 &&
        [ -d /usr/aarch64-linux-gnu/lib ] ;;
    *) return 1 ;;
    esac
}

# dt_active_targets: DT_TARGETS as this machine and this cnnc can check them; notes on stderr.
dt_active_targets() {
    dt_list=""
    for t in $DT_TARGETS; do
        if [ "$t" != default ] && ! dt_target_supported; then
            echo "difftest: note: cnnc emit has no --target yet; checking the default target only" >&2
            echo "default"
            return 0
        fi
        if dt_runnable "$t"; then dt_list="$dt_list $t"; else echo "difftest: note: this machine cannot run target $t" >&2; fi
    done
    echo "$dt_list"
}

# dt_tools ARCH...: builds the generator and, for each architecture, the checker's objects and
# the reference layers into $DT_TOOLS/ARCH. Returns 1, with the compiler's messages, on failure.
dt_tools() {
    mkdir -p "$DT_TOOLS"
    dt_w="-Wall -Wextra -Werror -Iruntime -Iruntime/ref -Itests/difftest"
    # shellcheck disable=SC2086
    $DT_HOST_CC -std=c11 -O2 $dt_w -D_POSIX_C_SOURCE=200809L -o "$DT_TOOLS/dt_gen" \
        tests/difftest/gen.c tests/difftest/model_io.c >"$DT_TOOLS/build.log" 2>&1 || { cat "$DT_TOOLS/build.log"; return 1; }
    for dt_a in "$@"; do
        mkdir -p "$DT_TOOLS/$dt_a"
        if [ "$dt_a" = aarch64 ]; then dt_c=$DT_NEON_CC; dt_def=""; else dt_c=$DT_HOST_CC; dt_def="-DDT_CHECKPOINT"; fi
        for dt_src in tests/difftest/check.c tests/difftest/ref_pass.c tests/difftest/model_io.c \
            runtime/ref/*.c; do
            # shellcheck disable=SC2086
            $dt_c -std=c11 -O1 -g $dt_w $dt_def -D_POSIX_C_SOURCE=200809L -c \
                -o "$DT_TOOLS/$dt_a/$(basename "$dt_src" .c).o" "$dt_src" >>"$DT_TOOLS/build.log" 2>&1 ||
                { cat "$DT_TOOLS/build.log"; return 1; }
        done
    done
}
