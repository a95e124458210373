# nnlab: a C engine for small neural networks, driven from Lua 5.4.
#   make          build/nnlab (Lua host with the engine) and build/nnlab.so
#   make test     C unit tests and Busted specs; ends with "N passed, N failed"
#   make clean

CC      ?= cc
LUA_INC ?= /usr/include/lua5.4
LUA_LIB ?= -llua5.4
OPT     ?= -O3
CFLAGS  ?= $(OPT) -g
WARN     = -std=c11 -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes
CPPFLAGS = -I$(LUA_INC) -Isrc -MMD -MP
LIBS     = -lopenblas -lz -lm

ifeq ($(SANITIZE),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif

BUILD    = build
ENGINE   = status tensor rng layers model loss optim data train gradcheck model_io
ENG_OBJ  = $(ENGINE:%=$(BUILD)/obj/%.o)
BIND_OBJ = $(BUILD)/obj/lnnlab.o
C_TESTS  = $(patsubst tests/c/%.c,$(BUILD)/tests/%,$(wildcard tests/c/test_*.c))

all: $(BUILD)/nnlab $(BUILD)/nnlab.so

$(BUILD)/obj/%.o: src/%.c | $(BUILD)/obj
	$(CC) $(WARN) $(CFLAGS) -fPIC $(CPPFLAGS) -c $< -o $@

$(BUILD)/nnlab: $(BUILD)/obj/main.o $(BIND_OBJ) $(ENG_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LUA_LIB) $(LIBS) -Wl,-E

$(BUILD)/nnlab.so: $(BIND_OBJ) $(ENG_OBJ)
	$(CC) $(LDFLAGS) -shared -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/c/%.c $(ENG_OBJ) | $(BUILD)/tests
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) -Itests/c $(LDFLAGS) -o $@ $< $(ENG_OBJ) -lcmocka $(LIBS)

$(BUILD)/obj $(BUILD)/tests:
	mkdir -p $@

test: all $(C_TESTS)
	@sh tests/run.sh $(C_TESTS)

bench: all
	@sh bench/run.sh

check-style:
	luacheck lua experiments tests/lua
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability --std=c11 -I src src tests/c

clean:
	rm -rf $(BUILD)

.PHONY: all test bench check-style clean
-include $(wildcard $(BUILD)/obj/*.d)
