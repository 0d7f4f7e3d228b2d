# Suite 57: the differential test of the code generator (issue 14, tests/difftest/). Sourced by
# tests/run.sh.
#   - every model kept under tests/models/found/ (a defect once found stays fixed; on the target
#     it failed on, and on every target under make test-full), and a fixed sample of random
#     models, against the reference layers on every target this machine runs (DT_TARGETS,
#     tests/difftest/lib.sh), their predictors too, the twin forms identical;
#   - the test of the test: the code of a small model broken on purpose (a sigmoid off by
#     1e-4, the first sum of the convolution's backward pass off by 0.1%, the loss gradient off
#     by 0.1%, the learning rate off by 0.1%) must fail with the check that covers it, and the
#     shrinker must turn such a failure into a smaller model that fails the same way.
# The sample is sized to keep make test short: one model on every target (24 model-target
# checks under make test-full); CI checks five minutes of fresh seeds besides (make difftest).

D57_WORK=$T_TMP/difftest
mkdir -p "$D57_WORK"
D57_ENV="DT_BUILD=$BUILD DT_WORK=$D57_WORK DT_JOBS=$T_JOBS"

# d57_lines PREFIX FILE: turns run.sh's verdict lines into passes and fails; a failure shows
# the checker's details (runs/INDEX/details, found through runs/INDEX.result).
d57_lines() {
    grep -e '^ok ' -e '^FAIL ' "$2" | while read -r d57_v d57_model d57_rest; do
        if [ "$d57_v" = ok ]; then echo "pass $1$d57_model"; else echo "fail $1$d57_model $d57_rest"; fi
    done >"$D57_WORK/verdicts"
    while read -r d57_v d57_name d57_rest; do
        if [ "$d57_v" = pass ]; then
            pass "$d57_name"
        else
            d57_result=$(grep -l "^FAIL ${d57_name##*/} " "$D57_WORK"/runs/*.result 2>/dev/null | head -1)
            fail "$d57_name" "$d57_rest" "$(head -30 "${d57_result%.result}/details" 2>/dev/null)"
        fi
    done <"$D57_WORK/verdicts"
}

# The targets, as the sample will check them: the sample's size follows their number, 5
# model-target checks and at least one model (24 and four under make test-full).
# shellcheck disable=SC2086
d57_targets=$(env $D57_ENV sh -c '. tests/difftest/lib.sh; dt_active_targets' 2>/dev/null)
d57_ntargets=$(echo $d57_targets | wc -w)
d57_checks=5 d57_least=1
t_full && d57_checks=24 d57_least=4
d57_models=$((d57_checks / (d57_ntargets > 0 ? d57_ntargets : 1)))
[ "$d57_models" -lt "$d57_least" ] && d57_models=$d57_least

# Kept models first: under make test-full on every target; under make test each on the target
# its '# Fails: TARGET: ...' line names (the host's default target when that line names none,
# or a target this machine does not run), one run of tests/difftest/run.sh a target.
# d57_found_run NAME TARGETS FILE...: the files on TARGETS (DT_TARGETS); every file must have
# its verdict.
d57_found_run() {
    d57_fr=$1 d57_ts=$2
    shift 2
    # shellcheck disable=SC2086
    env $D57_ENV DT_TARGETS="$d57_ts" sh tests/difftest/run.sh files "$@" >"$D57_WORK/found.log" 2>&1
    d57_lines "$d57_fr" "$D57_WORK/found.log"
    if [ "$(grep -c -e '^ok ' -e '^FAIL ' "$D57_WORK/found.log")" -ne $# ]; then
        fail "${d57_fr%/}: every kept model checked" "$(tail -20 "$D57_WORK/found.log")"
    fi
}
d57_found=$(ls tests/models/found/*.cnn 2>/dev/null)
if [ -n "$d57_found" ] && t_full; then
    # shellcheck disable=SC2086
    d57_found_run difftest/found/ "$d57_targets" $d57_found
elif [ -n "$d57_found" ]; then
    for d57_f in $d57_found; do
        d57_t=$(sed -n 's/^# Fails: \([a-z0-9-]*\): .*/\1/p' "$d57_f" | head -1)
        case " $d57_targets default " in *" $d57_t "*) ;; *) d57_t=default ;; esac
        echo "$d57_t $d57_f"
    done >"$D57_WORK/found.targets"
    for d57_t in $(cut -d' ' -f1 "$D57_WORK/found.targets" | sort -u); do
        # shellcheck disable=SC2046
        d57_found_run "difftest/found/$d57_t/" "$d57_t" $(sed -n "s/^$d57_t //p" "$D57_WORK/found.targets")
    done
fi

# The fixed sample: seeds 1.. (both forms, every 4th with clang and tcc as well).
# shellcheck disable=SC2086
env $D57_ENV sh tests/difftest/run.sh seeds 1 "$d57_models" >"$D57_WORK/sample.log" 2>&1
d57_lines "difftest/" "$D57_WORK/sample.log"
if grep -q '^difftest: .* models' "$D57_WORK/sample.log"; then
    echo "  note difftest: $(grep '^difftest: .* s in all' "$D57_WORK/sample.log" | sed 's/^difftest: //') (targets:$d57_targets)"
else
    fail "difftest: the sample ran" "$(tail -20 "$D57_WORK/sample.log")"
fi

# The test of the test, on the host's default target, as cases on every core (t_jobs).
# d57_mutant NAME SED EXPECTED [MODEL]: the mutated model (tests/difftest/mutant.cnn unless
# given) must fail with a line `FAIL default: ...` that matches the extended regular expression
# EXPECTED. A mutation that no longer finds its text in the generated code fails too: update it.
d57_mutant() {
    # shellcheck disable=SC2086
    env $D57_ENV DT_ACTIVE=default DT_MUTATE="$2" sh tests/difftest/model.sh "${4:-tests/difftest/mutant.cnn}" cnn \
        "$T_TMP/mutant" >"$T_TMP/mutant.out" 2>&1
    if grep -qE "^FAIL default: $3\$" "$T_TMP/mutant.out" && ! grep -q 'mutation changes nothing' "$T_TMP/mutant.out"; then
        pass "difftest catches $1"
    else
        fail "difftest catches $1" "expected: FAIL default: $3" "$(cat "$T_TMP/mutant.out")"
    fi
}
# d57_unbroken WHAT MODEL: the model unmutated must pass; then $D57_WORK/WHAT.ok exists.
d57_unbroken() {
    d57_what=mutant
    [ "$1" = graph ] && d57_what="graph mutant"
    # shellcheck disable=SC2086
    if env $D57_ENV DT_ACTIVE=default sh tests/difftest/model.sh "$2" cnn "$T_TMP/mutant" >"$T_TMP/mutant.out" 2>&1; then
        pass "difftest: the unbroken $d57_what passes"
        : >"$D57_WORK/$1.ok"
    else
        fail "difftest: the unbroken $d57_what passes" "$(cat "$T_TMP/mutant.out")" "$(cat "$T_TMP/mutant/details" 2>/dev/null)"
    fi
}
d57_graph=tests/difftest/mutant_graph.cnn
# d57_case N: the Nth mutation; 1 to 4 of tests/difftest/mutant.cnn, the others of the graph's
# (batchnorm, a residual add and a concat: tests/difftest/mutant_graph.cnn).
# shellcheck disable=SC2016
d57_case() {
    case $1 in
    1) d57_mutant "a sigmoid off by 1e-4" 's|1\.0f / (1\.0f + expf(|1.0001f / (1.0f + expf(|' \
        "layer conv2d forward output" ;;
    2) d57_mutant "the first sum of the convolution's backward off by 0.1%" \
        '/^static CNN_PASS void conv2d_1_backward/,/^}/{/VF_ADD(s0, d0);/{s/VF_ADD(s0, d0);/{ cnn_vf m_; VF_SET1(m_, 1.001f); VF_MUL(d0, m_); } VF_ADD(s0, d0);/;:a;n;ba}}' \
        "layer conv2d (kernel|bias) gradient" ;;
    3) d57_mutant "the loss gradient off by 0.1%" 's/db\[t\] -= scale;/db[t] -= 1.001f * scale;/' \
        "model backward dense bias gradient" ;;
    4) d57_mutant "the learning rate off by 0.1%" 's/step, 0\.1, 1\.0f, lo, hi)/step, 0.1001, 1.0f, lo, hi)/' "update sgd" ;;
    5) d57_mutant "batchnorm's batch variance off by 0.1%" 's/var\[ch\] \/= count;/var[ch] \/= 1.001f * count;/' \
        "layer batchnorm batch statistics" $d57_graph ;;
    6) d57_mutant "batchnorm's moving mean off in update_state" 's/mean\[ch\] = 0\.9f \* mean\[ch\]/mean[ch] = 0.9001f * mean[ch]/' \
        "model update_state moving statistics" $d57_graph ;;
    7) d57_mutant "batchnorm's input gradient off by 0.1%" 's/k\[ch\] = gamma\[ch\] \* inv\[ch\];/k[ch] = 1.001f * gamma[ch] * inv[ch];/' \
        "layer batchnorm input gradient" $d57_graph ;;
    8) d57_mutant "the gradients of a read-twice output added up off by 0.1%" 's/dst\[i\] += src\[i\];/dst[i] += 1.001f * src[i];/' \
        "model backward conv2d kernel gradient" $d57_graph ;;
    9) d57_mutant "batchnorm's statistics of a split batch summed per slice" \
        's/batch_sum(sync, part, n, \([0-9]*\), mean);/cnn_sum_images(part, n, \1, mean);/' \
        "model\(split\) moving statistics bit for bit" $d57_graph ;;
    shrink)
        # The shrinker keeps the failure in a smaller graph (dropped layers' readers rewired).
        # shellcheck disable=SC2086
        if d57_kept=$(env $D57_ENV DT_SHRINK_CHECKS=12 DT_MUTATE='s/var\[ch\] \/= count;/var[ch] \/= 1.001f * count;/' \
            sh tests/difftest/shrink.sh $d57_graph cnn "default: layer batchnorm batch statistics" \
            "$T_TMP/kept" 2>"$T_TMP/shrink.err") &&
            grep -q '^# Fails: default: layer batchnorm batch statistics$' "$d57_kept" && "$CNNC" check "$d57_kept" &&
            [ "$(grep -c ';' "$d57_kept")" -lt "$(grep -c ';' $d57_graph)" ]; then
            pass "difftest: the shrinker keeps a smaller model with the same failure"
        else
            fail "difftest: the shrinker keeps a smaller model with the same failure" "$(cat "$T_TMP/shrink.err")" \
                "$(cat "$d57_kept" 2>/dev/null)"
        fi
        ;;
    esac
}
printf '%s\n' "mutant tests/difftest/mutant.cnn" "graph $d57_graph" >"$D57_WORK/unbroken"
t_jobs d57_unbroken "$D57_WORK/unbroken"
# The shrinker, the slowest, first.
{
    [ -e "$D57_WORK/graph.ok" ] && printf '%s\n' shrink 5 6 7 8 9
    [ -e "$D57_WORK/mutant.ok" ] && printf '%s\n' 1 2 3 4
} >"$D57_WORK/mutants"
t_jobs d57_case "$D57_WORK/mutants"
