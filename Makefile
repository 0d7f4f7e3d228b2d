# cnnc - a compiler from declarative CNN model files to specialized C.
#
#   make            build build/cnnc, the runtime and the plotting library
#   make demo       build, fetch MNIST, train the seed model, evaluate, plot
#   make test       the test suite (about six minutes on 2 cores); make test-full runs everything
#   make fuzz       fuzz every reader with clang's libFuzzer for FUZZ_SECONDS each (mk/fuzz.mk)
#
# CC, CFLAGS and LDFLAGS may be set on the command line; warnings and include paths are kept
# apart from CFLAGS so that `make CFLAGS='-O1 -g -fsanitize=address,undefined'` still works.

CC      ?= cc
CFLAGS  ?= -O2 -g
LDFLAGS ?=
BUILD   ?= build
FLEX    ?= flex
BISON   ?= bison

WARN     = -Wall -Wextra -Werror
CPPFLAGS_CNNC = -Icompiler -I$(BUILD)/compiler -Iruntime -D_POSIX_C_SOURCE=200809L
ALL_CFLAGS = -std=c11 $(WARN) $(CPPFLAGS_CNNC) $(CFLAGS)

# Debian packages the core build needs; mk/deps.sh installs the missing ones.
DEPS_CORE = flex bison libyaml-dev zlib1g-dev libpng-dev libplplot-dev plplot-driver-cairo \
            libopenblas-dev libdnnl-dev clang protobuf-c-compiler libprotobuf-c-dev libonnx-dev

.PHONY: all deps test test-full demo data clean bench bench-peers fuzz
all: $(BUILD)/cnnc $(BUILD)/libcnnc.a $(BUILD)/libcnnonnx.a $(BUILD)/libcnnrt.a $(BUILD)/libcnnref.a $(BUILD)/libcnnapp.a $(BUILD)/libcnnplot.a

deps: $(BUILD)/.deps
$(BUILD)/.deps: mk/deps.sh
	@mkdir -p $(BUILD)
	@sh mk/deps.sh $(DEPS_CORE)
	@touch $@

# ---------------------------------------------------------------- the compiler
# compiler/<phase>/*.c (front, check, layers, emit, cmd, base); the scanner and the parser are
# generated into $(BUILD)/compiler/front. libcnnc.a is the compiler without its main, for the
# unit tests and the fuzzers.
# compiler/onnx/ but its protobuf-free graph writer (which the layers' onnx_export write to) is
# libcnnonnx.a, below.
COMPILER_SRC = $(filter-out compiler/onnx/%,$(wildcard compiler/*/*.c)) compiler/onnx/onnx_writer.c
COMPILER_GEN = $(BUILD)/compiler/front/lexer.c $(BUILD)/compiler/front/parser.c
COMPILER_OBJ = $(COMPILER_SRC:%.c=$(BUILD)/%.o) $(COMPILER_GEN:.c=.o)
COMPILER_LIB_OBJ = $(filter-out $(BUILD)/compiler/cmd/main.o,$(COMPILER_OBJ))
COMPILER_HDR = $(wildcard compiler/*.h compiler/*/*.h) $(BUILD)/compiler/front/parser.h
CPPFLAGS_FRONT = -I$(BUILD)/compiler/front

$(BUILD)/compiler/front/parser.c $(BUILD)/compiler/front/parser.h &: compiler/front/parser.y $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(BISON) -Wall -Werror --defines=$(BUILD)/compiler/front/parser.h -o $(BUILD)/compiler/front/parser.c $<

$(BUILD)/compiler/front/lexer.c $(BUILD)/compiler/front/lexer.h &: compiler/front/lexer.l $(BUILD)/compiler/front/parser.h
	@mkdir -p $(dir $@)
	$(FLEX) --header-file=$(BUILD)/compiler/front/lexer.h -o $(BUILD)/compiler/front/lexer.c $<

# Generated scanners and parsers trip a few warnings that are not ours to fix.
$(BUILD)/compiler/front/lexer.o $(BUILD)/compiler/front/parser.o: ALL_CFLAGS += -Wno-unused-function -Wno-sign-compare -Wno-unused-parameter

$(BUILD)/compiler/front/%.o: $(BUILD)/compiler/front/%.c $(COMPILER_HDR) $(BUILD)/compiler/front/lexer.h
	$(CC) $(ALL_CFLAGS) $(CPPFLAGS_FRONT) -c -o $@ $<

$(BUILD)/compiler/%.o: compiler/%.c $(COMPILER_HDR) $(BUILD)/compiler/front/lexer.h runtime/cnn_model.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CPPFLAGS_FRONT) -c -o $@ $<

$(BUILD)/libcnnc.a: $(COMPILER_LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

# `cnnc plot` draws with libcnnplot, which reads histories with the runtime's history.c.
# libcnnonnx.a (import, export) and libcnnc.a call each other: the second libcnnc.a resolves
# what the ONNX objects need from the compiler.
$(BUILD)/cnnc: $(BUILD)/compiler/cmd/main.o $(BUILD)/libcnnc.a $(BUILD)/libcnnonnx.a $(BUILD)/libcnnplot.a $(BUILD)/libcnnrt.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(BUILD)/compiler/cmd/main.o $(BUILD)/libcnnc.a $(BUILD)/libcnnonnx.a \
	  $(BUILD)/libcnnc.a $(BUILD)/libcnnplot.a $(BUILD)/libcnnrt.a -lyaml -lplplot -lprotobuf-c -lz -lm

# ---------------------------------------------------------------- ONNX (protobuf-c), in cnnc only
# compiler/onnx: `cnnc import` and `cnnc export`. The C bindings are generated at build time
# from the onnx.proto of Debian's libonnx-dev; nothing of protobuf-c reaches libcnnrt.a or the
# programs cnnc builds.
ONNX_PROTO = /usr/include/onnx/onnx.proto
ONNX_SRC = $(filter-out compiler/onnx/onnx_writer.c,$(wildcard compiler/onnx/*.c))
ONNX_GEN = $(BUILD)/compiler/onnx/onnx.pb-c.c
ONNX_OBJ = $(ONNX_SRC:%.c=$(BUILD)/%.o) $(ONNX_GEN:.c=.o)
ONNX_HDR = $(wildcard compiler/onnx/*.h) $(BUILD)/compiler/onnx/onnx.pb-c.h

$(BUILD)/compiler/onnx/onnx.pb-c.c $(BUILD)/compiler/onnx/onnx.pb-c.h &: $(BUILD)/.deps
	@mkdir -p $(dir $@)
	protoc-c --c_out=$(BUILD)/compiler/onnx -I$(dir $(ONNX_PROTO)) $(ONNX_PROTO)

$(BUILD)/compiler/onnx/onnx.pb-c.o: $(BUILD)/compiler/onnx/onnx.pb-c.c $(BUILD)/compiler/onnx/onnx.pb-c.h
	$(CC) $(ALL_CFLAGS) -Wno-unused-parameter -c -o $@ $<

$(BUILD)/compiler/onnx/%.o: compiler/onnx/%.c $(ONNX_HDR) $(COMPILER_HDR) runtime/cnn_model.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -I$(BUILD)/compiler/onnx -c -o $@ $<

$(BUILD)/libcnnonnx.a: $(ONNX_OBJ)
	rm -f $@
	ar rcs $@ $^

# ---------------------------------------------------------------- the runtime (libc, libm, zlib)
RUNTIME_SRC = $(wildcard runtime/*.c)
RUNTIME_OBJ = $(RUNTIME_SRC:%.c=$(BUILD)/%.o)
RUNTIME_HDR = $(wildcard runtime/*.h)

$(BUILD)/runtime/%.o: runtime/%.c $(RUNTIME_HDR) $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libcnnrt.a: $(RUNTIME_OBJ)
	rm -f $@
	ar rcs $@ $^

# ---------------------------------------------------------------- the reference layers (libm)
# runtime/ref: plain loops over run-time shapes, the oracle of the tests and the benchmark's
# baseline. Not part of libcnnrt.a: no program that trains or predicts needs them.
REF_SRC = $(wildcard runtime/ref/*.c)
REF_OBJ = $(REF_SRC:%.c=$(BUILD)/%.o)
REF_HDR = $(wildcard runtime/ref/*.h)

$(BUILD)/runtime/ref/%.o: runtime/ref/%.c $(REF_HDR) $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libcnnref.a: $(REF_OBJ)
	rm -f $@
	ar rcs $@ $^

# ---------------------------------------------------------------- the program's front (libpng allowed)
# runtime/app: the command line of a built model (train, eval, predict) and image readers that
# need libpng. Linked into the programs `cnnc build` makes; not part of libcnnrt.a.
APP_SRC = $(wildcard runtime/app/*.c)
APP_OBJ = $(APP_SRC:%.c=$(BUILD)/%.o)
APP_HDR = $(wildcard runtime/app/*.h)

$(BUILD)/runtime/app/%.o: runtime/app/%.c $(APP_HDR) $(RUNTIME_HDR) $(PLOT_HDR) $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Iruntime/plot -c -o $@ $<

$(BUILD)/libcnnapp.a: $(APP_OBJ)
	rm -f $@
	ar rcs $@ $^

# ---------------------------------------------------------------- plotting (PLplot, libpng), outside the runtime
PLOT_SRC = $(wildcard runtime/plot/*.c)
PLOT_OBJ = $(PLOT_SRC:%.c=$(BUILD)/%.o)
PLOT_HDR = $(wildcard runtime/plot/*.h)

$(BUILD)/runtime/plot/%.o: runtime/plot/%.c $(PLOT_HDR) $(RUNTIME_HDR) $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -I/usr/include/plplot -c -o $@ $<

$(BUILD)/libcnnplot.a: $(PLOT_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/compiler/cmd/plot.o: $(PLOT_HDR) $(RUNTIME_HDR)

# ---------------------------------------------------------------- data, demo
DATA_MIRROR ?= https://storage.googleapis.com/cvdf-datasets/mnist
DATA_DIR    ?= $(BUILD)/data/mnist

data: $(DATA_DIR)/.verified
$(DATA_DIR)/.verified: mk/fetch-data.sh mk/mnist.sha256
	sh mk/fetch-data.sh "$(DATA_MIRROR)" $(DATA_DIR)

-include mk/demo.mk
-include mk/fuzz.mk
-include mk/bench.mk
-include mk/difftest.mk
-include mk/mpi.mk

# ---------------------------------------------------------------- tests
# tests/run.sh runs the suites, and the cases of the slow ones, on every core (CNNC_TEST_JOBS);
# test-full (CNNC_TEST_FULL=1) adds the exhaustive variants, every model on every target (the
# README's Tests section lists them).
test: all data
	@BUILD=$(BUILD) sh tests/run.sh

test-full: all data
	@BUILD=$(BUILD) CNNC_TEST_FULL=1 sh tests/run.sh

clean:
	rm -rf $(BUILD)
