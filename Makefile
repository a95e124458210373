# nnlab: a C engine for small neural networks, driven from Lua 5.4.
#   make          build/nnlab (Lua host with the engine) and build/nnlab.so
#   make test     C unit tests and Busted specs; ends with "N passed, N failed"
#   make install  PREFIX (/usr/local) under DESTDIR: bin/nnlab, lib/lua/5.4/nnlab.so,
#                 share/lua/5.4/nnlab/*.lua, share/nnlab/data/mnist/, share/man/man1/nnlab.1
#   make uninstall  removes exactly those files (and their folders when left empty)
#   make clean

CC      ?= cc
LUA_INC ?= /usr/include/lua5.4
LUA_LIB ?= -llua5.4
OPT     ?= -O3
CFLAGS  ?= $(OPT) -g $(OPENMP)
OPENMP  ?= -fopenmp
WARN     = -std=c11 -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes
CPPFLAGS = -I$(LUA_INC) -Isrc -MMD -MP
LIBS     = -lopenblas -lz -lm -pthread $(OPENMP)
BIND_LIBS = -lpng16

ifeq ($(SANITIZE),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif

BUILD    = build
KINDS    = linear relu sigmoid tanh dropout batchnorm reshape conv2d pool2d normalize random_shift
ENGINE   = status cpu tensor rng sparse sparse_plain sparse_avx2 sparse_avx512 blocks blocks_plain blocks_avx512 layers $(KINDS:%=layers/%) conv_direct conv_avx2 conv_avx512 conv_winograd gemm_avx2 pool_avx2 pool_avx512 model loss loss_avx2 loss_avx512 optim data data_avx2 data_avx512 csv train gradcheck model_io
ENG_OBJ  = $(ENGINE:%=$(BUILD)/obj/%.o)
BINDING  = lnnlab lnn_aux lnn_sys lnn_tensor lnn_model lnn_data lnn_optim lnn_train lnn_image lnn_lock
BIND_OBJ = $(BINDING:%=$(BUILD)/obj/%.o)
C_TESTS  = $(patsubst tests/c/%.c,$(BUILD)/tests/%,$(wildcard tests/c/test_*.c))
FUZZ_TARGETS = idx model model_payload images csv
REPLAYS  = $(FUZZ_TARGETS:%=$(BUILD)/tests/replay_%)
FUZZ_SECONDS ?= 30
FUZZ_CC  ?= clang
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

all: $(BUILD)/nnlab $(BUILD)/nnlab.so


# Everything is rebuilt when the compiler or its flags change (SANITIZE=1 and back).
FLAGS_STAMP = $(BUILD)/obj/flags
$(FLAGS_STAMP): FORCE | $(BUILD)/obj
	@echo '$(CC) $(CFLAGS) $(LDFLAGS)' | cmp -s - $@ || echo '$(CC) $(CFLAGS) $(LDFLAGS)' > $@
FORCE:

$(BUILD)/obj/%.o: src/%.c $(FLAGS_STAMP) | $(BUILD)/obj
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) -fPIC $(CPPFLAGS) -c $< -o $@

$(BUILD)/nnlab: $(BUILD)/obj/main.o $(BIND_OBJ) $(ENG_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LUA_LIB) $(BIND_LIBS) $(LIBS) -Wl,-E

$(BUILD)/nnlab.so: $(BIND_OBJ) $(ENG_OBJ)
	$(CC) $(LDFLAGS) -shared -o $@ $^ $(BIND_LIBS) $(LIBS)

$(BUILD)/tests/%: tests/c/%.c $(ENG_OBJ) $(FLAGS_STAMP) | $(BUILD)/tests
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) -Itests/c $(LDFLAGS) -o $@ $< $(ENG_OBJ) -lcmocka $(LIBS)

# A fuzz target replayed over its corpus (seeds and regressions) without libFuzzer.
$(BUILD)/tests/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(ENG_OBJ) $(BUILD)/obj/lnn_image.o $(FLAGS_STAMP) | $(BUILD)/tests
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) -DNNLAB_ROOT=\"$(CURDIR)\" -DCORPUS_DIR=\"$(CURDIR)/tests/fuzz/corpus/$*\" \
	    $(LDFLAGS) -o $@ $< tests/fuzz/replay.c $(ENG_OBJ) $(BUILD)/obj/lnn_image.o $(LUA_LIB) $(BIND_LIBS) $(LIBS)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(ENGINE:%=src/%.c) src/lnn_image.c | $(BUILD)/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -std=c11 -Isrc -I$(LUA_INC) -DNNLAB_ROOT=\"$(CURDIR)\" -o $@ $< \
	    $(ENGINE:%=src/%.c) src/lnn_image.c $(LUA_LIB) $(BIND_LIBS) $(LIBS)

$(BUILD)/obj $(BUILD)/tests $(BUILD)/fuzz:
	mkdir -p $@

test: all $(C_TESTS) $(REPLAYS)
	@SANITIZE=$(SANITIZE) sh tests/run.sh $(C_TESTS) $(REPLAYS)

# libFuzzer on each target for FUZZ_SECONDS; a crash, leak, sanitizer report
# or timeout fails, its input kept under build/fuzz/artifacts-TARGET/ (copy it
# into tests/fuzz/corpus/TARGET/ to make it a regression test).
fuzz: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(BUILD)/fuzz/corpus-$$t $(BUILD)/fuzz/artifacts-$$t; \
	    echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	    $(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	        -artifact_prefix=$(BUILD)/fuzz/artifacts-$$t/ -print_final_stats=1 \
	        $(BUILD)/fuzz/corpus-$$t tests/fuzz/corpus/$$t >$(BUILD)/fuzz/$$t.log 2>&1 \
	        || { tail -40 $(BUILD)/fuzz/$$t.log; echo "fuzz: $$t FAILED"; exit 1; }; \
	    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" $(BUILD)/fuzz/$$t.log; \
	done; echo "fuzz: all targets passed"

# A short training of every layer, loss and optimizer, a save and a load,
# under valgrind: no error and no definite leak. Two threads, so that the
# small batches go through the gathering thread's ring.
memcheck: all
	OPENBLAS_NUM_THREADS=1 NNLAB_THREADS=2 valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=9 \
	    --quiet $(BUILD)/nnlab tests/scripts/memcheck.lua

bench: all $(BUILD)/bench/sgemm_peak
	@sh bench/run.sh

$(BUILD)/bench/sgemm_peak: bench/sgemm_peak.c
	@mkdir -p $(BUILD)/bench
	$(CC) $(WARN) -O2 -o $@ $< -lopenblas

check-style:
	luacheck lua experiments tests/lua tests/experiments
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability --std=c11 -I src src tests/c

clean:
	rm -rf $(BUILD)

# Installing. Each folder can be set on its own (the rockspec stages the
# files in luarocks' folders this way); MNIST goes to DATADIR/data/mnist.
PREFIX   ?= /usr/local
DESTDIR  ?=
BINDIR   ?= $(PREFIX)/bin
LUA_CDIR ?= $(PREFIX)/lib/lua/5.4
LUA_LDIR ?= $(PREFIX)/share/lua/5.4
DATADIR  ?= $(PREFIX)/share/nnlab
MANDIR   ?= $(PREFIX)/share/man/man1
LUA_MODS  = $(notdir $(wildcard lua/nnlab/*.lua))
MNIST     = $(notdir $(wildcard data/mnist/*))

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LUA_CDIR) $(DESTDIR)$(LUA_LDIR)/nnlab \
	    $(DESTDIR)$(DATADIR)/data/mnist $(DESTDIR)$(MANDIR)
	install -m 755 $(BUILD)/nnlab $(DESTDIR)$(BINDIR)/nnlab
	install -m 755 $(BUILD)/nnlab.so $(DESTDIR)$(LUA_CDIR)/nnlab.so
	install -m 644 $(LUA_MODS:%=lua/nnlab/%) $(DESTDIR)$(LUA_LDIR)/nnlab/
	install -m 644 $(MNIST:%=data/mnist/%) $(DESTDIR)$(DATADIR)/data/mnist/
	install -m 644 doc/nnlab.1 $(DESTDIR)$(MANDIR)/nnlab.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/nnlab $(DESTDIR)$(LUA_CDIR)/nnlab.so $(DESTDIR)$(MANDIR)/nnlab.1 \
	    $(LUA_MODS:%=$(DESTDIR)$(LUA_LDIR)/nnlab/%) $(MNIST:%=$(DESTDIR)$(DATADIR)/data/mnist/%)
	-rmdir $(DESTDIR)$(LUA_LDIR)/nnlab $(DESTDIR)$(DATADIR)/data/mnist $(DESTDIR)$(DATADIR)/data \
	    $(DESTDIR)$(DATADIR) 2>/dev/null

.PHONY: all test bench fuzz memcheck check-style clean install uninstall FORCE
-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/obj/layers/*.d)
