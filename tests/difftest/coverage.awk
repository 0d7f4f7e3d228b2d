# difftest/coverage.awk - what a run's models covered, from their descriptions (m.desc, the
# format of tests/difftest/model_io.c): awk -f coverage.awk runs/*/m.desc
#   model NAME H W C MNIST LOSS OPT LR MOMENTUM NESTEROV B1 B2 EPS BATCH
#   layer KIND UNITS KH KW SH SW SAME ACT USE_BIAS RATE FROM WITH SCALE MOMENTUM EPSILON NAME
BEGIN {
    split("conv2d maxpool2d avgpool2d flatten dense dropout relu sigmoid tanh softmax add concat globalavgpool2d batchnorm", kind, " ")
    split("none relu sigmoid tanh softmax", act, " ")
}
$1 == "model" {
    models++
    index_ = 0
    graph_seen = 0
    loss[$7]++
    opt[$8]++
    if ($15 < bmin || models == 1) bmin = $15
    if ($15 > bmax) bmax = $15
    if ($3 * $4 == 1) one_by_one++
    inc[$5]++
}
$1 == "layer" {
    k = $2 + 1
    kinds[kind[k]]++
    if (kind[k] == "conv2d" || kind[k] == "dense") acts[act[$9 + 1]]++
    if ($2 >= 6 && $2 <= 9) acts[kind[k]]++
    # A layer that reads another than the one before it, or an add or a concat, makes a graph.
    if ($12 != index_ - 1) skips++
    if (($12 != index_ - 1 || $2 == 10 || $2 == 11) && !graph_seen) {
        graphs++
        graph_seen = 1
    }
    if (kind[k] == "add" && $12 == $13) self_adds++
    if (kind[k] == "batchnorm") {
        if (!$10) nocenter++
        if (!$14) noscale++
        moms[$15 + 0]++
        epss[$16 + 0]++
    }
    index_++
    if (kind[k] == "conv2d") {
        kernels[$4 "x" $5]++
        if ($4 != $5) nonsquare++
        strides[$6 "x" $7]++
        mod16[$3 % 16]++
        if ($3 > cmax) cmax = $3
    }
    if (kind[k] == "conv2d" || kind[k] == "maxpool2d" || kind[k] == "avgpool2d") pad[$8 ? "same" : "valid"]++
    if (kind[k] == "maxpool2d" || kind[k] == "avgpool2d") {
        pools[$4 "x" $5]++
        if ($6 == $4 && $7 == $5) tile++
        else if ($6 <= $4 && $7 <= $5) overlap++
        else skip++
    }
    if (kind[k] == "dense") {
        if ($3 > dmax) dmax = $3
        if (dmin == 0 || $3 < dmin) dmin = $3
    }
    if ((kind[k] == "conv2d" || kind[k] == "dense") && !$10) nobias++
}
function list(a,    s, x) {
    s = ""
    for (x in a) s = s " " x ":" a[x]
    return s
}
function count(a,    n, x) {
    n = 0
    for (x in a) n++
    return n
}
END {
    printf "coverage: %d models; layers%s\n", models, list(kinds)
    printf "coverage: activations%s\n", list(acts)
    printf "coverage: conv2d kernels %d of 49 (%d not square), strides %d of 9, filters up to %d, %d of 16 remainders mod 16\n", count(kernels), nonsquare, count(strides), cmax, count(mod16)
    printf "coverage: padding%s; pools %d of 16 windows, tiling %d, overlapping %d, skipping %d\n", list(pad), count(pools), tile, overlap, skip
    printf "coverage: dense units %d..%d; %d layers without bias; inputs of 1x1: %d; channels in:%s\n", dmin, dmax, nobias, one_by_one, list(inc)
    printf "coverage: graphs %d (layers reading another than the one before: %d, outputs added to themselves: %d); batchnorm without center %d, without scale %d, momentum%s, epsilon%s\n", graphs, skips, self_adds, nocenter, noscale, list(moms), list(epss)
    printf "coverage: losses (0 xent, 1 mse)%s; optimizers (0 sgd, 1 adam)%s; batch %d..%d\n", list(loss), list(opt), bmin, bmax
}
