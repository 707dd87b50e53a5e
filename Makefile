# llmtap build.  `make` builds build/llmtap (BPF object and skeleton included),
# `sudo make run` installs missing dependencies, builds and runs the agent,
# `sudo make test` installs missing dependencies and runs the whole suite.

BUILD     ?= build
CC        ?= gcc
CLANG     ?= clang
BPFTOOL   ?= $(shell command -v bpftool 2>/dev/null || ls /usr/sbin/bpftool 2>/dev/null)
ARCH      := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VERSION   := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
GIT_REV   := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)

WARN      := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 -Wvla
CFLAGS    ?= -O2 -g
CFLAGS    += $(WARN) -std=gnu11 -D_GNU_SOURCE -fno-strict-aliasing \
	     -Iinclude -I$(BUILD) -Iagent -DLLMTAP_VERSION='"$(VERSION)"'
LDLIBS    += -lbpf -lelf -lz -ljansson -lcurl -lbrotlidec -lzstd -lpthread -lyaml -lpcre2-8 -lhs -lcrypto

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -D__BPF__ \
	      -Wall -Wextra -Werror -Wno-unused-parameter \
	      -I$(BUILD) -Iinclude -Ibpf

BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_HDRS   := $(wildcard bpf/*.bpf.h) include/llmtap_abi.h

# Every agent module except main.c is shared by the agent, unit tests and fuzzers.
LIB_SRCS   := $(sort $(wildcard agent/*/*.c))
LIB_OBJS   := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS)) $(BUILD)/prices_blob.o
AGENT_HDRS := $(wildcard agent/*/*.h) include/llmtap_abi.h
UNIT_SRCS  := $(sort $(wildcard tests/unit/*.c))
UNIT_OBJS  := $(patsubst %.c,$(BUILD)/%.o,$(UNIT_SRCS))
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS  := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
TOOL_SRCS  := $(wildcard tests/tools/*.c)
TOOL_BINS  := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRCS))

comma := ,

.PHONY: all run test unit e2e fuzz fuzz-run deps format format-check clean tools bench \
	install deb rpm pkg-test
.DELETE_ON_ERROR:

all: $(BUILD)/llmtap

$(BUILD)/vmlinux.h:
	@mkdir -p $(dir $@)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) $(BUILD)/vmlinux.h
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# One linked object, one skeleton: the loader owns a single skeleton struct.
$(BUILD)/llmtap.bpf.o: $(BPF_OBJS)
	$(BPFTOOL) gen object $@ $^

$(BUILD)/llmtap.skel.h: $(BUILD)/llmtap.bpf.o
	$(BPFTOOL) gen skeleton $< name llmtap_bpf > $@

$(BUILD)/agent/%.o: agent/%.c $(AGENT_HDRS) $(BUILD)/llmtap.skel.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# share/prices.json embedded as the default price table
$(BUILD)/prices_blob.o: agent/llm/prices_blob.S share/prices.json
	@mkdir -p $(dir $@)
	$(CC) -c $< -o $@

# The program itself (agent/*.c): commands and the daemon's event loop.
MAIN_SRCS  := $(sort $(wildcard agent/*.c))
MAIN_OBJS  := $(patsubst agent/%.c,$(BUILD)/%.o,$(MAIN_SRCS))
$(BUILD)/%.o: agent/%.c agent/main.h $(AGENT_HDRS) $(BUILD)/llmtap.skel.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DLLMTAP_GIT_REV='"$(GIT_REV)"' -c $< -o $@

$(BUILD)/llmtap: $(MAIN_OBJS) $(LIB_OBJS)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/tests/unit/%.o: tests/unit/%.c tests/unit/test.h $(AGENT_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -c $< -o $@

$(BUILD)/unit-tests: $(UNIT_OBJS) $(LIB_OBJS)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/tools/%: tests/tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< -o $@ -lssl -lcrypto -lpthread

tools: $(TOOL_BINS)

# The unit tests again under ASan/UBSan (clang), leaks included.
ASAN_LIB_SRCS := $(filter-out agent/capture/loader.c agent/capture/targets.c agent/capture/attach.c,$(LIB_SRCS))
$(BUILD)/unit-tests-asan: $(UNIT_SRCS) $(ASAN_LIB_SRCS) $(AGENT_HDRS) tests/unit/test.h $(BUILD)/llmtap.skel.h share/prices.json
	$(CLANG) -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined \
		-fno-omit-frame-pointer -std=gnu11 -D_GNU_SOURCE -Iinclude -I$(BUILD) -Iagent \
		-Itests/unit -DLLMTAP_VERSION='"asan"' $(UNIT_SRCS) $(ASAN_LIB_SRCS) \
		agent/llm/prices_blob.S -o $@ $(LDLIBS)

unit: $(BUILD)/unit-tests
	LLMTAP_TEST_DATA=tests/data $(BUILD)/unit-tests

# Fuzzers: libFuzzer + ASan/UBSan, built from the same sources with clang.
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	       -std=gnu11 -D_GNU_SOURCE -Iinclude -I$(BUILD) -Iagent -DLLMTAP_VERSION='"fuzz"' \
	       -DLLMTAP_GIT_REV='"fuzz"'
# The agent's modules are compiled once with the sanitizers (fuzzer-no-link)
# into one archive every fuzzer links: not once per fuzzer.
FUZZ_LIB_SRCS := $(ASAN_LIB_SRCS)
FUZZ_LIB_OBJS := $(patsubst %.c,$(BUILD)/fuzzlib/%.o,$(FUZZ_LIB_SRCS))
$(BUILD)/fuzzlib/%.o: %.c $(AGENT_HDRS) $(BUILD)/llmtap.skel.h
	@mkdir -p $(dir $@)
	$(CLANG) $(subst -fsanitize=fuzzer$(comma),-fsanitize=fuzzer-no-link$(comma),$(FUZZ_CFLAGS)) -c $< -o $@
$(BUILD)/fuzzlib.a: $(FUZZ_LIB_OBJS) agent/llm/prices_blob.S share/prices.json
	$(CLANG) -c agent/llm/prices_blob.S -o $(BUILD)/fuzzlib/prices_blob.o
	rm -f $@
	ar rcs $@ $(FUZZ_LIB_OBJS) $(BUILD)/fuzzlib/prices_blob.o
$(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/fuzzlib.a $(AGENT_HDRS)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) $< $(BUILD)/fuzzlib.a -o $@ $(LDLIBS)

fuzz: $(FUZZ_BINS)

# A short run of every fuzzer over its seeds (part of `make test`).
fuzz-run: $(FUZZ_BINS)
	tests/fuzz/run-all $(BUILD)/fuzz

$(BUILD)/tls_rtt: bench/tls_rtt.c
	$(CC) $(CFLAGS) $< -o $@ -lssl -lcrypto

$(BUILD)/plain_rtt: bench/plain_rtt.c
	$(CC) $(CFLAGS) $< -o $@

# The benchmarks' floor: empty programs where llmtap attaches (bench/empty_probe.c).
$(BUILD)/bench/empty_probe.bpf.o: bench/empty_probe.bpf.c $(BUILD)/vmlinux.h
	@mkdir -p $(dir $@)
	$(CLANG) -g -O2 -target bpf -Wall -Werror -I$(BUILD) -c $< -o $@

$(BUILD)/empty_probe: bench/empty_probe.c $(BUILD)/bench/empty_probe.bpf.o
	$(CC) $(CFLAGS) $< -o $@ -lbpf -lelf -lz

$(BUILD)/sse_load: bench/sse_load.c
	$(CC) $(CFLAGS) $< -o $@ -lssl -lcrypto

$(BUILD)/http_server: bench/http_server.c
	$(CC) $(CFLAGS) $< -o $@

$(BUILD)/replay: bench/replay.c $(LIB_OBJS) $(AGENT_HDRS)
	$(CC) $(CFLAGS) bench/replay.c $(LIB_OBJS) -o $@ $(LDLIBS)

$(BUILD)/rules_bench: bench/rules_bench.c $(LIB_OBJS) $(AGENT_HDRS)
	$(CC) $(CFLAGS) bench/rules_bench.c $(LIB_OBJS) -o $@ $(LDLIBS)

$(BUILD)/redact_bench: bench/redact_bench.c $(LIB_OBJS) $(AGENT_HDRS)
	$(CC) $(CFLAGS) bench/redact_bench.c $(LIB_OBJS) -o $@ $(LDLIBS)

# Benchmarks print ratios; never part of `make test` (docs/performance.md).  Root.
BENCH_BINS := $(BUILD)/tls_rtt $(BUILD)/plain_rtt $(BUILD)/empty_probe $(BUILD)/sse_load \
	      $(BUILD)/http_server \
	      $(BUILD)/replay $(BUILD)/rules_bench $(BUILD)/redact_bench
bench: all $(BENCH_BINS)
	BUILD=$(BUILD) python3 bench/pipeline.py
	BUILD=$(BUILD) python3 bench/tls_overhead.py
	BUILD=$(BUILD) python3 bench/plain_overhead.py
	BUILD=$(BUILD) python3 bench/wrk_overhead.py
	BUILD=$(BUILD) python3 bench/capacity.py
	BUILD=$(BUILD) python3 bench/conn_memory.py
	BUILD=$(BUILD) python3 bench/summary.py

# Instructions per replayed exchange under callgrind against bench/baseline/ (deterministic,
# part of tests/run and CI); bench-baseline refreshes the baseline after an intended change.
.PHONY: bench-check bench-baseline
bench-check: $(BUILD)/replay
	python3 bench/callgrind_check.py $(BUILD)/replay
bench-baseline: $(BUILD)/replay
	python3 bench/callgrind_check.py $(BUILD)/replay --update

# ---- install and packages (packaging/README.md) ----
# `make install [DESTDIR=...] [prefix=/usr]`, `make deb`, `make rpm` (into
# $(BUILD)/pkg/), `sudo make pkg-test` (builds both, lints, installs the .deb
# on this host and removes it again: tests/pkg/run).
# Package version: the VERSION file plus the git revision `llmtap --version`
# prints; PKG_VERSION overrides it (the upgrade test builds a later one).
prefix    ?= /usr
PKG_VERSION ?= $(VERSION)$(if $(filter unknown,$(GIT_REV)),,+g$(GIT_REV))

install: $(BUILD)/llmtap
	DESTDIR="$(DESTDIR)" prefix="$(prefix)" packaging/install.sh $(BUILD)/llmtap

deb: $(BUILD)/llmtap
	packaging/deb/build.sh $(BUILD) $(PKG_VERSION) $(GIT_REV)

rpm: $(BUILD)/llmtap
	packaging/rpm/build.sh $(BUILD) $(PKG_VERSION) $(GIT_REV)

pkg-test: deb rpm
	LLMTAP_BUILD=$(BUILD) tests/pkg/run

deps:
	scripts/install-deps

run: deps
	$(MAKE) all
	$(BUILD)/llmtap run

test: deps
	$(MAKE) -j$(shell nproc) all $(BUILD)/unit-tests $(BUILD)/unit-tests-asan tools fuzz
	tests/run

FORMAT_FILES := $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf $(BUILD)
