# Data-parallel training over MPI (issue 21, contract section 8). Included from the Makefile.
#
# runtime/mpi/ is compiled with Open MPI's mpicc (Debian's libopenmpi-dev; openmpi-bin gives
# mpirun, which the tests use) into libcnnmpi.a, which only the programs of `cnnc build --mpi`
# link: libcnnrt.a and the programs of a plain `cnnc build` never depend on MPI.

MPICC ?= mpicc
MPI_SRC = $(wildcard runtime/mpi/*.c)
MPI_OBJ = $(MPI_SRC:%.c=$(BUILD)/%.o)
MPI_HDR = $(wildcard runtime/mpi/*.h)

# The MPI packages, also for build directories made before they were added.
$(BUILD)/.deps-mpi: mk/mpi.mk $(BUILD)/.deps
	@sh mk/deps.sh libopenmpi-dev openmpi-bin
	@touch $@

$(BUILD)/runtime/mpi/%.o: runtime/mpi/%.c $(MPI_HDR) $(RUNTIME_HDR) $(APP_HDR) $(BUILD)/.deps-mpi
	@mkdir -p $(dir $@)
	$(MPICC) $(ALL_CFLAGS) -Iruntime/app -c -o $@ $<

$(BUILD)/libcnnmpi.a: $(MPI_OBJ)
	rm -f $@
	ar rcs $@ $^

all: $(BUILD)/libcnnmpi.a
