# The differential test of the code generator (issue 14). Included from the Makefile.
#
#   make difftest N=500 SEED=7    random models of seeds SEED .. SEED+N-1 (default: 100 from 1),
#                                 each against the reference layers on every target this machine
#                                 runs (tests/difftest/run.sh); DIFFTEST_SECONDS=300 stops
#                                 starting models after that long
#
# A failing model is shrunk into DIFFTEST_KEEP (tests/models/found-pending: commit it to
# tests/models/found once the defect is fixed; make test replays every model there).
# DIFFTEST_TARGETS is the one list of targets (tests/difftest/lib.sh).

# The neon target is cross-compiled by clang (tests/difftest/lib.sh says why not gcc).
DEPS_DIFFTEST = clang tcc qemu-user binutils-aarch64-linux-gnu libc6-dev-arm64-cross libgcc-12-dev-arm64-cross
DIFFTEST_KEEP ?= tests/models/found-pending
DIFFTEST_TARGETS ?= generic x86-64 avx2 avx512 neon
DIFFTEST_SECONDS ?=

.PHONY: difftest difftest-deps
difftest-deps: $(BUILD)/.deps-difftest
$(BUILD)/.deps-difftest: mk/deps.sh mk/difftest.mk
	@mkdir -p $(BUILD)
	@sh mk/deps.sh $(DEPS_DIFFTEST)
	@touch $@

difftest: all difftest-deps
	DT_BUILD=$(BUILD) DT_TARGETS='$(DIFFTEST_TARGETS)' DT_SECONDS=$(DIFFTEST_SECONDS) \
	  DT_SHRINK_TO=$(DIFFTEST_KEEP) sh tests/difftest/run.sh seeds $(or $(SEED),1) $(or $(N),100)

# make test replays the kept models and checks a fixed sample (tests/suite_57_difftest.sh),
# which needs the cross compiler, qemu and tcc.
test test-full: difftest-deps
