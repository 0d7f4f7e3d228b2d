# make fuzz: libFuzzer targets for every reader of outside input (tests/fuzz/fuzz_*.c).
#
#   make fuzz                       build with clang's fuzzer, ASan and UBSan; run each target
#                                   for FUZZ_SECONDS (60); fail on any crash, sanitizer report,
#                                   leak, timeout or out-of-memory
#   make fuzz FUZZ_TARGETS=yaml     one target
#
# Everything a run finds is kept under tests/fuzz/found/<target>/: crash-*, leak-*, timeout-*
# and oom-* inputs, and corpus/ (the inputs that reached new code, merged so that only those
# adding coverage are kept, each at most FUZZ_KEEP_BYTES). make test replays all of them
# (tests/suite_90_fuzz_replay.sh), so a defect once found stays fixed.
# The objects are built apart, in $(BUILD)/fuzz/obj, by this Makefile with clang's flags.

FUZZ_SECONDS    ?= 60
FUZZ_TARGETS    ?= cnn yaml safetensors idx pgm png history onnx
FUZZ_CC         ?= clang
FUZZ_KEEP_BYTES ?= 65536
FUZZ_SAN   = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_DIR   = $(BUILD)/fuzz
FUZZ_OBJ   = $(FUZZ_DIR)/obj
# -close_fd_mask=3: the readers' error messages would otherwise be most of the run's time;
# libFuzzer keeps its own output and the sanitizers' reports.
FUZZ_FLAGS = -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -timeout=10 -close_fd_mask=3 \
             -print_final_stats=1

# What each target links, besides its own file: the compiler's objects but its main, the
# seed model as cnnc emits it, the PNG reader's object (libcnnapp.a's main would clash with
# libFuzzer's), and the runtime.
FUZZ_COMPILER = $(FUZZ_OBJ)/libcnnc.a
FUZZ_LINK_cnn         = $(FUZZ_COMPILER) $(FUZZ_OBJ)/libcnnplot.a $(FUZZ_OBJ)/libcnnrt.a -lyaml -lplplot
FUZZ_LINK_yaml        = $(FUZZ_LINK_cnn)
FUZZ_LINK_safetensors = $(FUZZ_DIR)/mnist_cnn.o $(FUZZ_OBJ)/libcnnrt.a
FUZZ_LINK_png         = $(FUZZ_OBJ)/runtime/app/png.o $(FUZZ_OBJ)/libcnnrt.a -lpng
FUZZ_LINK_idx         = $(FUZZ_OBJ)/libcnnrt.a
FUZZ_LINK_pgm         = $(FUZZ_OBJ)/libcnnrt.a
FUZZ_LINK_history     = $(FUZZ_OBJ)/libcnnrt.a
# The importer calls back into the compiler (the model file it writes is checked).
FUZZ_LINK_onnx        = $(FUZZ_OBJ)/libcnnonnx.a $(FUZZ_LINK_cnn) -lprotobuf-c

# Seeds: the project's own inputs where they exist (read in place), and tests/fuzz/seeds.
FUZZ_SEEDS_cnn         = models tests/models tests/errors/syntax tests/errors/semantic
FUZZ_SEEDS_yaml        = models tests/yaml tests/errors/yaml
FUZZ_SEEDS_safetensors = $(FUZZ_DIR)/seeds/safetensors
FUZZ_SEEDS_history     = tests/plot
# onnx: tests/fuzz/seeds/onnx (small files of tests/onnx/bad_models.py, good and bad)

FUZZ_BINS = $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)

fuzz: $(FUZZ_BINS) $(FUZZ_DIR)/seeds/safetensors/.done
	@FUZZ_DIR=$(FUZZ_DIR) FUZZ_FLAGS='$(FUZZ_FLAGS)' FUZZ_KEEP_BYTES=$(FUZZ_KEEP_BYTES) \
	  sh tests/fuzz/run.sh $(foreach t,$(FUZZ_TARGETS),'$(t):$(FUZZ_SEEDS_$(t))')

# clang and its sanitizer and libFuzzer runtimes (Debian's names; mk/deps.sh installs them).
$(FUZZ_DIR)/.deps: mk/deps.sh
	@mkdir -p $(FUZZ_DIR)
	@sh mk/deps.sh clang libclang-rt-14-dev
	@touch $@

# The objects, with coverage instrumentation but no main of libFuzzer's (fuzzer-no-link).
$(FUZZ_OBJ)/.built: $(FUZZ_DIR)/.deps $(COMPILER_SRC) $(ONNX_SRC) $(RUNTIME_SRC) $(APP_SRC) $(PLOT_SRC) compiler/front/lexer.l \
                    compiler/front/parser.y $(COMPILER_HDR) $(wildcard runtime/*.h runtime/app/*.h runtime/plot/*.h)
	$(MAKE) --no-print-directory BUILD=$(FUZZ_OBJ) CC=$(FUZZ_CC) \
	  CFLAGS='-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link $(FUZZ_SAN)' \
	  $(FUZZ_COMPILER) $(FUZZ_OBJ)/libcnnonnx.a $(FUZZ_OBJ)/libcnnrt.a $(FUZZ_OBJ)/libcnnplot.a $(FUZZ_OBJ)/runtime/app/png.o
	@touch $@

$(FUZZ_DIR)/mnist_cnn.c: models/mnist_cnn.cnn $(BUILD)/cnnc
	@mkdir -p $(FUZZ_DIR)
	$(BUILD)/cnnc emit $< -o $(FUZZ_DIR)

# Only its tensor table is read, so neither optimized nor instrumented: -O0 compiles the
# unrolled passes in seconds where -O1 with the sanitizers takes minutes.
$(FUZZ_DIR)/mnist_cnn.o: $(FUZZ_DIR)/mnist_cnn.c
	$(FUZZ_CC) -std=c99 -O0 -Iruntime -c -o $@ $<

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_input.h $(FUZZ_OBJ)/.built $(FUZZ_DIR)/mnist_cnn.o
	$(FUZZ_CC) -std=c11 $(WARN) $(CPPFLAGS_CNNC) -I$(FUZZ_OBJ)/compiler/front -Iruntime/app -I$(FUZZ_DIR) \
	  -O1 -g -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $< $(FUZZ_LINK_$*) -lz -lm -pthread

# Real checkpoints of the seed model (with and without optimizer state) to start from.
$(FUZZ_DIR)/seeds/safetensors/.done: tests/fuzz/seed_safetensors.c $(FUZZ_DIR)/mnist_cnn.o $(BUILD)/libcnnrt.a
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(WARN) -D_POSIX_C_SOURCE=200809L -Iruntime -I$(FUZZ_DIR) $(CFLAGS) -o $(FUZZ_DIR)/seed_safetensors \
	  $< $(FUZZ_DIR)/mnist_cnn.o $(BUILD)/libcnnrt.a $(LDFLAGS) -lz -lm -pthread
	$(FUZZ_DIR)/seed_safetensors $(dir $@)
	@touch $@
