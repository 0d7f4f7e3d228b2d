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

# make bench-mpi: an epoch on 1 process x 2 threads against 2 processes x 1 thread, and the time
# of one gradient sum alone (mk/bench_mpi.py), for the seed model and the residual one.
BENCH_MPI_MODELS ?= models/mnist_cnn.cnn models/resnet_mnist.cnn
BENCH_MPI_LIMIT ?= 0

$(BUILD)/mpi_allreduce: mk/mpi_allreduce.c $(BUILD)/libcnnmpi.a $(BUILD)/libcnnrt.a
	$(MPICC) $(ALL_CFLAGS) -Iruntime/mpi -o $@ $< $(BUILD)/libcnnmpi.a $(BUILD)/libcnnrt.a -lm -lpthread

.PHONY: bench-mpi
bench-mpi: all data $(BUILD)/mpi_allreduce
	@mkdir -p $(BUILD)/bench/mpi
	python3 mk/bench_mpi.py --cnnc $(BUILD)/cnnc --data $(DATA_DIR) --out $(BUILD)/bench/mpi \
	    --allreduce $(BUILD)/mpi_allreduce --limit $(BENCH_MPI_LIMIT) $(BENCH_MPI_MODELS)
