# Suite 65: the layer benchmark (runtime/bench/, `cnnc build --bench`, PROGRAM bench), on the
# small numerics models tests/models/t_*.cnn, which between them hold every layer kind,
# activation, padding, loss and optimizer: for each, a quick `bench --iters 2` finds the four
# implementations (generated, reference, im2col+OpenBLAS, oneDNN) in agreement and writes JSON
# that names every layer with its times, oneDNN's reorders and its implementations; a
# deliberately broken im2col+BLAS or oneDNN result (CNN_BENCH_BREAK) makes bench refuse with
# status 1 and the mismatch; a program built without --bench answers `bench` with status 2 and
# links neither OpenBLAS nor oneDNN.
# Sourced by tests/run.sh. No timing is asserted: speed belongs in `make bench`.

BE_DIR=$T_TMP/bench
mkdir -p "$BE_DIR"

# be_run NAME STATUS COMMAND...: the command must exit with STATUS, never crash, and leave no
# sanitizer report; its output is in $T_TMP/be.out and be.err. Returns 1 (after a fail) otherwise.
be_run() {
    be_name=$1 be_want=$2
    shift 2
    "$@" >"$T_TMP/be.out" 2>"$T_TMP/be.err" </dev/null
    be_got=$?
    if [ "$be_got" -ge 128 ]; then
        fail "$be_name" "crashed with status $be_got" "$(head -20 "$T_TMP/be.err")"; return 1
    fi
    if grep -q -e 'runtime error:' -e 'AddressSanitizer' -e 'LeakSanitizer' "$T_TMP/be.err"; then
        fail "$be_name" "sanitizer report:" "$(head -30 "$T_TMP/be.err")"; return 1
    fi
    if [ "$be_got" != "$be_want" ]; then
        fail "$be_name" "exit status $be_got, expected $be_want" "$(head -20 "$T_TMP/be.out" "$T_TMP/be.err")"; return 1
    fi
    return 0
}

# be_json NAME MODEL JSON: the JSON parses and has, in order, every layer `cnnc summary` lists,
# each pass that runs timed for all three implementations, and the training step and inference.
be_json() {
    "$CNNC" summary --format json "$2" >"$T_TMP/be.summary.json" 2>&1 || { fail "$1" "cnnc summary failed"; return; }
    if out=$(python3 - "$T_TMP/be.summary.json" "$3" 2>&1 <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))
bench = json.load(open(sys.argv[2]))
want = [l["name"] for l in summary["layers"]]
got = [l["name"] for l in bench["layers"]]
assert got == want, f"layers {got}, expected {want}"
assert bench["peak_gflops_per_core"] > 0, "no peak"
def timed(p, where):
    for impl in ("generated", "reference", "blas", "onednn", "onednn_reorders"):
        t = p[impl]
        assert t["min_ms"] <= t["median_ms"] <= t["max_ms"], f"{where} {impl}: median outside min-max"
        assert t["reps"] == bench["iters"], f"{where} {impl}: {t['reps']} repetitions"
    assert p["onednn"]["median_ms"] > 0, f"{where}: oneDNN did nothing"
    best = p["best_hand_written"]
    fastest = min(p[k]["median_ms"] for k in ("reference", "blas", "onednn"))
    assert p[best]["median_ms"] <= fastest + 1e-6, f"{where}: {best} is not the fastest hand-written"
    g, b = p["generated"]["median_ms"], p[best]["median_ms"]
    # The JSON rounds milliseconds to 6 decimals: allow for that in the ratio.
    slack = (b + 0.5e-6) / max(g - 0.5e-6, 1e-12) - b / g + 1e-4
    assert abs(p["speedup_vs_best"] - b / g) <= slack, f"{where}: speed-up over the best {p['speedup_vs_best']}, not {b / g}"
for l in bench["layers"]:
    if l["kind"] == "flatten":
        assert l["forward"] is None, "flatten timed"
        continue
    timed(l["forward"], l["name"] + " forward")
    if l["kind"] in ("conv2d", "dense"):
        assert l["forward"]["flop"] == 2 * l["macs_per_image"] * bench["batch"], l["name"] + ": flop"
        for p in (l["forward"], l["backward"]):
            assert p["onednn_implementation"], l["name"] + ": no oneDNN implementation named"
            assert "ref:" not in p["onednn_implementation"], l["name"] + ": oneDNN's reference loops: " + p["onednn_implementation"]
    if l["backward"] is not None:
        timed(l["backward"], l["name"] + " backward")
timed(bench["training_step"], "training step")
assert bench["training_step"]["generated"]["images_per_s"] > 0
assert bench["inference"]["one_image"]["median_ms"] > 0
PY
    ); then pass "$1"; else fail "$1" "$out"; fi
}

# be_model MODEL: builds MODEL with --bench into $BE_DIR and runs its bench (a t_jobs case).
be_model() {
    be_n=$(basename "$1" .cnn)
    be_prog=$BE_DIR/$be_n
    be_run "bench/$be_n: cnnc build --bench" 0 "$CNNC" build --bench "$1" -o "$be_prog" || return
    if be_run "bench/$be_n: bench --iters 2" 0 "$be_prog" bench --iters 2 --json "$BE_DIR/$be_n.json"; then
        if grep -q 'agree' "$T_TMP/be.out"; then pass "bench/$be_n: agreement reported"; else
            fail "bench/$be_n: agreement reported" "$(head -5 "$T_TMP/be.out")"; fi
        if grep -q '^target [a-z0-9-]*; peak [0-9.]* GFLOP/s per core' "$T_TMP/be.out"; then
            pass "bench/$be_n: target and peak printed"; else
            fail "bench/$be_n: target and peak printed" "$(head -5 "$T_TMP/be.out")"; fi
        be_json "bench/$be_n: JSON has every layer" "$1" "$BE_DIR/$be_n.json"
    fi
}
# Every test model but seven under make test-full (CNNC_TEST_FULL=1): the nine of make test
# still hold every layer kind, activation, padding, stride, loss and optimizer, and Winograd's
# convolution (t_winograd).
for be_model in tests/models/t_*.cnn; do
    case $(basename "$be_model" .cnn) in
    t_conv_simd | t_conv_stride | t_dense_simd | t_dropout_last | t_inception | t_maxpool | t_mse_linear)
        t_full || continue ;;
    esac
    echo "$be_model"
done >"$BE_DIR/models"
t_jobs be_model "$BE_DIR/models"

# The FMA probe (fma_probe.c) measures every instruction set the CPU reports, each with its own
# instructions: on x86-64 SSE2 always, AVX2 where the CPU has avx2 and fma, AVX-512 where it has
# avx512f; NEON on AArch64. Each FMA loop must reach 4 FLOP per TSC cycle on one core, an eighth
# of what two 256-bit FMA pipes give: a probe built from a slow vector type (7 GFLOP/s, under 3
# FLOP a cycle, on a Zen 3) fails it, a busy machine does not. The JSON names the model's target
# and the probe its figures are shares of.
be_probe() {
    if out=$(python3 - "$1" 2>&1 <<'PY'
import json, platform, sys
bench = json.load(open(sys.argv[1]))
probes = {p["isa"]: p for p in bench["probes"]}
arch = platform.machine()
if arch == "x86_64":
    flags = set()
    for line in open("/proc/cpuinfo"):
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    want = ["sse2"] + (["avx2"] if {"avx2", "fma"} <= flags else []) + (["avx512"] if "avx512f" in flags else [])
elif arch == "aarch64":
    want = ["neon"]
else:
    want = []
assert list(probes) == want, f"probes {list(probes)}, the CPU has {want}"
for isa, p in probes.items():
    assert p["gflops_one_core"] > 0 and p["gflops_two_cores"] > 0, f"{isa}: {p}"
    if isa in ("avx2", "avx512"):
        assert p["flop_per_tsc_cycle"] >= 4, f"{isa}: {p['flop_per_tsc_cycle']} FLOP per cycle, under 4"
assert isinstance(bench["target"], str) and bench["target"], "no target"
if want:
    assert bench["peak_isa"] in probes, f"peak from {bench['peak_isa']}"
    assert bench["peak_gflops_per_core"] == probes[bench["peak_isa"]]["gflops_one_core"], "peak is not the probe's"
PY
    ); then pass "$2"; else fail "$2" "$out"; fi
}
if [ -e "$BE_DIR/t_standalone.json" ]; then
    be_probe "$BE_DIR/t_standalone.json" "bench: the FMA probe runs each instruction set, 4+ FLOP per cycle with FMA"
else
    fail "bench: the FMA probe runs each instruction set, 4+ FLOP per cycle with FMA" "no JSON from t_standalone"
fi

# The graph models (tests/models/t_residual, t_concat, t_batchnorm) went through the loop above
# like the others: add, concat, globalavgpool2d and batchnorm timed in all four, their training
# steps (gradients summed where an output has several readers) in agreement. A broken result
# of one of those layers is refused as well, here the input gradient of an add and of a
# batchnorm, a flat batchnorm without beta, and oneDNN's concat, global pooling and batchnorm.
# be_break_graph PROGRAM:BREAK: CNN_BENCH_BREAK=BREAK for $BE_DIR/PROGRAM (a t_jobs case).
be_break_graph() {
    be_case=$1
    be_prog=$BE_DIR/${be_case%%:*}
    be_break=${be_case#*:}
    [ -x "$be_prog" ] || { fail "bench: refuses a broken $be_case" "no program ${be_case%%:*}"; return; }
    if CNN_BENCH_BREAK=$be_break be_run "bench: refuses a broken $be_case" 1 "$be_prog" bench --iters 2; then
        be_layer=${be_break%.backward}
        be_impl="im2col+BLAS"
        case $be_layer in onednn:*) be_impl=oneDNN; be_layer=${be_layer#onednn:} ;; esac
        if grep -q "$be_impl .* of layer '$be_layer'" "$T_TMP/be.err" && ! grep -q 'training step' "$T_TMP/be.out"; then
            pass "bench: names the mismatch in $be_case and times nothing"
        else
            fail "bench: names the mismatch in $be_case and times nothing" "$(cat "$T_TMP/be.err")"
        fi
    fi
}
# Three under make test, every one under make test-full (CNNC_TEST_FULL=1).
{
    printf '%s\n' t_residual:add_1.backward t_batchnorm:batchnorm_2.backward t_concat:onednn:concat_1.backward
    t_full && printf '%s\n' t_batchnorm:batchnorm_4 t_concat:onednn:globalavgpool2d_1 t_batchnorm:onednn:batchnorm_3.backward
} >"$BE_DIR/graph_breaks"
t_jobs be_break_graph "$BE_DIR/graph_breaks"

# A broken implementation: one value of a forward output, or of a backward gradient, is off.
# be_break BREAK: CNN_BENCH_BREAK=BREAK for t_standalone (a t_jobs case).
be_break() {
    rm -f "$T_TMP/broken.json"
    if CNN_BENCH_BREAK=$1 be_run "bench: refuses a broken $1" 1 \
        "$BE_DIR/t_standalone" bench --iters 2 --json "$T_TMP/broken.json"; then
        be_layer=${1%.backward}
        be_impl="im2col+BLAS"
        case $be_layer in onednn:*) be_impl=oneDNN; be_layer=${be_layer#onednn:} ;; esac
        if grep -q "$be_impl .* of layer '$be_layer'" "$T_TMP/be.err" && [ ! -e "$T_TMP/broken.json" ] &&
            ! grep -q 'training step' "$T_TMP/be.out"; then
            pass "bench: names the mismatch in $1 and times nothing"
        else
            fail "bench: names the mismatch in $1 and times nothing" "$(cat "$T_TMP/be.err")"
        fi
    fi
}
be_prog=$BE_DIR/t_standalone
if [ -x "$be_prog" ]; then
    # A forward and a backward pass of each implementation under make test, every one under
    # make test-full.
    {
        printf '%s\n' conv2d_1 dense_1.backward onednn:conv2d_1.backward onednn:maxpool2d_1
        t_full && printf '%s\n' maxpool2d_1.backward tanh_1 onednn:conv2d_1 onednn:dense_1.backward onednn:tanh_1.backward
    } >"$BE_DIR/breaks"
    t_jobs be_break "$BE_DIR/breaks"
    be_run "bench: --iters 0 is a usage error" 2 "$be_prog" bench --iters 0 && pass "bench: --iters 0 is a usage error"
    be_run "bench: unknown option" 2 "$be_prog" bench --fast && pass "bench: unknown option"
    be_run "bench: --json without a file" 2 "$be_prog" bench --json && pass "bench: --json without a file"
fi

# Without --bench there is no OpenBLAS, no oneDNN and no bench command.
if be_run "bench: plain build" 0 "$CNNC" build tests/models/t_dense_acts.cnn -o "$BE_DIR/plain"; then
    if be_run "bench: a plain program refuses bench" 2 "$BE_DIR/plain" bench; then
        if grep -q 'cnnc build --bench' "$T_TMP/be.err"; then pass "bench: a plain program says how to get bench"; else
            fail "bench: a plain program says how to get bench" "$(cat "$T_TMP/be.err")"; fi
    fi
    if ldd "$BE_DIR/plain" | grep -q -e openblas -e dnnl; then
        fail "bench: a plain program links neither OpenBLAS nor oneDNN" "$(ldd "$BE_DIR/plain")"
    else
        pass "bench: a plain program links neither OpenBLAS nor oneDNN"
    fi
    if ldd "$BE_DIR/t_standalone" | grep -q dnnl; then pass "bench: a --bench program links oneDNN"; else
        fail "bench: a --bench program links oneDNN" "$(ldd "$BE_DIR/t_standalone")"; fi
fi

# oneDNN is held to the target's instructions: code generated for x86-64 (SSE2) is compared with
# oneDNN's SSE4.1 kernels, never with its AVX ones, and the header and the JSON say so.
if [ "$(uname -m)" = x86_64 ] &&
    be_run "bench: cnnc build --bench --target x86-64" 0 "$CNNC" build --bench --target x86-64 \
        tests/models/t_conv_simd.cnn -o "$BE_DIR/sse"; then
    if be_run "bench: bench of the x86-64 target" 0 "$BE_DIR/sse" bench --iters 2 --json "$BE_DIR/sse.json"; then
        if grep -q 'instructions up to SSE41' "$T_TMP/be.out"; then pass "bench: oneDNN up to SSE41 for x86-64"; else
            fail "bench: oneDNN up to SSE41 for x86-64" "$(grep -i onednn "$T_TMP/be.out" | head -3)"; fi
        if out=$(python3 - "$BE_DIR/sse.json" 2>&1 <<'PY'
import json, sys
bench = json.load(open(sys.argv[1]))
assert bench["onednn_max_isa"] == "SSE41", bench["onednn_max_isa"]
impls = [p["onednn_implementation"] for l in bench["layers"] for p in (l["forward"], l["backward"])
         if p and p.get("onednn_implementation")]
assert any("sse41" in i for i in impls), impls
assert not any("avx" in i for i in impls), impls
PY
        ); then pass "bench: oneDNN's kernels for x86-64 are SSE4.1 ones"; else
            fail "bench: oneDNN's kernels for x86-64 are SSE4.1 ones" "$out"; fi
    fi
fi
