# Benchmarks (issue 5, 6, 13, 17). Included from the Makefile.
#
#   make bench        per-layer times of the generated code against the reference layers,
#                     im2col+OpenBLAS and oneDNN in its own layouts (reorders apart) for the seed
#                     model and LeNet-5, with the FMA peak of every instruction set, then training
#                     epochs at 1 and 2 threads, inference, peak memory, build time; JSON in build/bench/
#   make bench-peers  one epoch of cnnc next to one of PyTorch (examples/pytorch), 2 threads
#
#   BENCH_TARGET=avx2  the target every program is built for (cnnc build --target; default: this
#                      machine's own), recorded in the JSON, which then goes to build/bench/avx2/
#   BENCH_CFLAGS='-O3' the C compiler's options for those programs ($CFLAGS of cnnc build;
#                      default: cnnc build's own), recorded in the JSON
#   BENCH_EPOCHS=3     training epochs timed at each thread count (their median is reported)
#
# OpenBLAS and oneDNN (Debian's libdnnl-dev, its C API) go into libcnnbench.a's programs only
# (`cnnc build --bench` links -lopenblas -ldnnl -lgomp), never into libcnnrt.a or the programs
# a plain `cnnc build` makes.

BENCH_SRC = $(filter-out runtime/bench/fma_probe.c,$(wildcard runtime/bench/*.c))
BENCH_OBJ = $(BENCH_SRC:%.c=$(BUILD)/%.o) $(BUILD)/runtime/bench/fma_probe.o
BENCH_HDR = $(wildcard runtime/bench/*.h)
BENCH_TARGET ?=
BENCH_CFLAGS ?=
BENCH_DIR = $(BUILD)/bench$(if $(BENCH_TARGET),/$(BENCH_TARGET))
# cnnc build with the chosen target and options, and the same for the two scripts.
BENCH_CNNC = $(if $(BENCH_CFLAGS),CFLAGS='$(BENCH_CFLAGS)') $(BUILD)/cnnc
BENCH_BUILD_ARGS = $(if $(BENCH_TARGET),--target $(BENCH_TARGET))
BENCH_SCRIPT_ARGS = $(if $(BENCH_TARGET),--target $(BENCH_TARGET)) $(if $(BENCH_CFLAGS),--cflags='$(BENCH_CFLAGS)')
BENCH_MODELS ?= models/mnist_cnn.cnn models/lenet5.cnn
BENCH_ITERS ?= 20
BENCH_EPOCHS ?= 3

# The benchmark's own packages, also for build directories made before they were added.
$(BUILD)/.deps-bench: mk/bench.mk $(BUILD)/.deps
	@sh mk/deps.sh libopenblas-dev libdnnl-dev
	@touch $@

$(BUILD)/runtime/bench/%.o: runtime/bench/%.c $(BENCH_HDR) $(RUNTIME_HDR) $(REF_HDR) $(BUILD)/.deps-bench
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Iruntime/ref -c -o $@ $<

# The peak probe picks each instruction set's loop at run time (target attributes): no
# -march=native, which would let the SSE2 loop use wider instructions, and no contraction, which
# would turn its multiply and add into an FMA.
$(BUILD)/runtime/bench/fma_probe.o: runtime/bench/fma_probe.c $(BENCH_HDR) $(BUILD)/.deps-bench
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -O2 -ffp-contract=off -pthread -c -o $@ $<

$(BUILD)/libcnnbench.a: $(BENCH_OBJ)
	rm -f $@
	ar rcs $@ $^

all: $(BUILD)/libcnnbench.a

bench: all data
	@mkdir -p $(BENCH_DIR)
	@for model in $(BENCH_MODELS); do \
	    name=$$(basename $$model .cnn); \
	    $(BENCH_CNNC) build --bench $(BENCH_BUILD_ARGS) $$model -o $(BENCH_DIR)/$$name || exit 1; \
	    $(BENCH_DIR)/$$name bench --iters $(BENCH_ITERS) --json $(BENCH_DIR)/$$name-layers.json || exit 1; \
	    echo; \
	done
	python3 mk/bench_epoch.py --cnnc $(BUILD)/cnnc --model models/mnist_cnn.cnn --data $(DATA_DIR) \
	    --out $(BENCH_DIR) --layers $(BENCH_DIR)/mnist_cnn-layers.json --epochs $(BENCH_EPOCHS) $(BENCH_SCRIPT_ARGS)

bench-peers: all data
	@mkdir -p $(BENCH_DIR)
	python3 mk/bench_peers.py --cnnc $(BUILD)/cnnc --model models/mnist_cnn.cnn --data $(DATA_DIR) \
	    --out $(BENCH_DIR) $(BENCH_SCRIPT_ARGS)
