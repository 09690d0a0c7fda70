# insync build. `make` builds the daemon and CLI; `make check` runs every test;
# `make asan` runs them under ASan+UBSan; `make fuzz` builds the libFuzzer harnesses.
CC      ?= cc
BUILD   ?= build
PKGS    := libssl libcrypto libmnl libedit libbpf
CFLAGS  ?= -O2 -g
# override: these stay when a target passes its own CFLAGS (asan, fuzz).
override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter \
           -Isrc $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lnetsnmp -lpthread -lm

LIB_SRC := $(filter-out src/daemon/main.c,$(sort $(wildcard src/*/*.c)))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all check unit asan fuzz fuzz-run bench demo lab deps clean format
all: $(BUILD)/insyncd $(BUILD)/insyncctl $(BENCH_BIN)

deps:
	@./scripts/deps.sh

$(BUILD)/obj/%.o: %.c $(wildcard src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# The kernel-side SPI filter: built for the BPF target and embedded in the
# daemon as a byte array (spi_filter_obj.h).
BPF_CC  ?= clang
$(BUILD)/gen/spi_filter.bpf.o: src/esp/bpf/spi_filter.bpf.c
	@mkdir -p $(dir $@)
	$(BPF_CC) -O2 -g -target bpf -idirafter /usr/include/$(shell gcc -dumpmachine) -c -o $@ $<

$(BUILD)/gen/spi_filter_obj.h: $(BUILD)/gen/spi_filter.bpf.o
	{ echo 'static const unsigned char spi_filter_obj[] = {'; \
	  od -An -v -tx1 $< | sed -e 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; echo '};'; } >$@.tmp && mv $@.tmp $@

$(BUILD)/obj/src/esp/spi_filter.o: override CFLAGS += -I$(BUILD)/gen
$(BUILD)/obj/src/esp/spi_filter.o: $(BUILD)/gen/spi_filter_obj.h

$(BUILD)/libinsync.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The daemon takes the whole library: every subsystem registers itself.
$(BUILD)/insyncd: $(BUILD)/obj/src/daemon/main.o $(BUILD)/libinsync.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< -Wl,--whole-archive $(BUILD)/libinsync.a -Wl,--no-whole-archive $(LDLIBS)

$(BUILD)/insyncctl: $(BUILD)/obj/tools/insyncctl.o $(BUILD)/libinsync.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libinsync.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(BUILD)/bench/%: bench/%.c $(BUILD)/libinsync.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

unit: $(UNIT_BIN)

check: deps all unit
	@BUILD=$(BUILD) ./tests/run.sh

asan:
	@./scripts/deps.sh
	$(MAKE) BUILD=build-asan CC=clang \
	  CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	  LDFLAGS="-fsanitize=address,undefined" all unit
	@BUILD=build-asan ASAN_OPTIONS=detect_leaks=1 REKEY_SECONDS=40 ./tests/run.sh

# libFuzzer harnesses: the library is rebuilt with clang and coverage.
FUZZ_CFLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined
fuzz:
	@./scripts/deps.sh
	$(MAKE) BUILD=build-fuzz CC=clang CFLAGS="$(FUZZ_CFLAGS)" build-fuzz/libinsync.a
	@mkdir -p build-fuzz/fuzz
	@for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  echo "  FUZZ $$n"; \
	  clang -std=c11 -D_GNU_SOURCE -Isrc -O1 -g -fsanitize=fuzzer,address,undefined \
	    $(shell pkg-config --cflags $(PKGS)) -o build-fuzz/fuzz/$$n $$f build-fuzz/libinsync.a $(LDLIBS) || exit 1; \
	done

# Run each harness briefly (CI); FUZZ_SECONDS sets the time per harness.
fuzz-run: fuzz
	@./tests/fuzz/run.sh $${FUZZ_SECONDS:-20}

bench: all
	@./bench/run.sh

demo: deps all
	@./scripts/demo.sh

lab: deps all
	@./tests/netns/lab.sh

format:
	clang-format -i $$(find src tools tests bench -name '*.[ch]')

clean:
	rm -rf build build-asan build-fuzz
