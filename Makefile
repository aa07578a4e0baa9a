# maillage - build, test, run. `make help` lists the targets.
#
# Generated code and every build product go under build/ (build-san/ for
# sanitizer builds, build-tsan/ for the thread sanitizer's); nothing
# generated is committed.

DEB_PACKAGES := libevent-dev liblmdb-dev libprotobuf-c-dev protobuf-c-compiler \
                libssl-dev libcmocka-dev pkg-config openssl lmdb-utils testssl.sh \
                clang libclang-rt-dev libsystemd-dev \
                python3-prometheus-client systemd python3

# Install what is missing before anything asks pkg-config (skipped for help
# and clean). tools/deps.sh only calls apt-get when a package is absent.
ifneq ($(filter-out help clean,$(or $(MAKECMDGOALS),all)),)
DEPS_STATUS := $(shell tools/deps.sh $(DEB_PACKAGES) >&2; echo $$?)
ifneq ($(DEPS_STATUS),0)
$(error could not install the Debian packages: $(DEB_PACKAGES))
endif
endif

CC       ?= cc
SANITIZE ?=
ifeq ($(SANITIZE),)
BUILD    := build
OPT      := -O2
else
BUILD    := $(if $(findstring thread,$(SANITIZE)),build-tsan,build-san)
OPT      := -O1 -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
BIN      := $(BUILD)/bin
OBJ      := $(BUILD)/obj
GEN      := $(BUILD)/gen

PKGS     := libevent libevent_openssl libevent_pthreads openssl lmdb libprotobuf-c libsystemd
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wpointer-arith -Wformat=2 -Wno-format-nonliteral -Wvla -Wundef
CFLAGS   += -std=c11 -D_GNU_SOURCE -g $(OPT) $(WARN) -MMD -MP \
            -I$(GEN) -Iserver -Iclient $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDFLAGS  += $(if $(SANITIZE),-fsanitize=$(SANITIZE))
LDLIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread
TESTLIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

PROTO    := proto/maillage/v1/maillage.proto
PB_C     := $(GEN)/maillage/v1/maillage.pb-c.c
PB_H     := $(GEN)/maillage/v1/maillage.pb-c.h

# The core: pure logic and storage, shared by the daemon, the tools and tests.
CORE     := err log clock status wire crypto fsutil grow config config_diff validate casestate household auth \
            tagindex evlog_keys evlog_households evlog_journal evlog_commands evlog_streams evlog_stat backup backup_manifest kek vault personal journal erasure counters \
            project models evlog command query verify frame board deadline stats
# The daemon's network side.
DAEMON   := tls conn feed sub writer metrics reload server main
CLIENT   := mlclient mlsub
CLI      := cli cli_json watch

CORE_O   := $(OBJ)/pb.o $(CORE:%=$(OBJ)/server/%.o)
DAEMON_O := $(DAEMON:%=$(OBJ)/server/%.o)
CLIENT_O := $(OBJ)/pb.o $(CLIENT:%=$(OBJ)/client/%.o)
CLI_O    := $(CLI:%=$(OBJ)/client/%.o)

UNIT_SRC := $(wildcard tests/unit/test_*.c)
INTEG_SRC:= $(wildcard tests/integration/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
INTEG_BIN:= $(INTEG_SRC:tests/integration/%.c=$(BUILD)/tests/integration/%)
HARNESS_O:= $(OBJ)/tests/integration/harness.o
FUZZ_BIN := $(patsubst %,build-fuzz/%,fuzz_frame fuzz_request fuzz_config)
CRASH_SRC:= $(wildcard tests/crash/test_*.c)
CRASH_BIN:= $(CRASH_SRC:tests/crash/%.c=$(BUILD)/tests/crash/%)
# Shell tests of what an operator installs and runs (tests/deploy/lib.sh).
DEPLOY_TESTS := $(wildcard tests/deploy/test_*.sh)

PROGRAMS := $(BIN)/maillaged $(BIN)/maillage $(BIN)/maillage-admin

.PHONY: all deps run test unit integration crash clean help dev-setup valgrind threads demo bench-sub bench-replay
.DEFAULT_GOAL := all
.SECONDARY:

all: $(PROGRAMS) ## build the daemon, the client and the admin tool into build/bin/

help: ## list the targets
	@echo "maillage targets:"
	@grep -hE '^[a-z-]+:.*## ' $(filter-out %.d,$(MAKEFILE_LIST)) | sed -E 's/^([a-z-]+):.*## /  make \1\t/' | expand -t 24
	@echo "variables:"
	@echo "  SANITIZE=address,undefined   build into build-san/ with sanitizers (e.g. make SANITIZE=address,undefined test)"
	@echo "  SANITIZE=thread              build into build-tsan/ with the thread sanitizer (make SANITIZE=thread threads)"
	@echo "  PORT=7400                    port for make run"
	@echo "  HOUSEHOLDS=200               households for make demo"
	@echo "  BENCH_ARGS=..., BENCH_PG_ARGS=..., BENCH_REPLAY_ARGS=...  options of tools/bench.sh, tools/bench-postgres.sh, tools/bench-replay.sh"
	@echo "  FUZZ_SECONDS=60              seconds per target for make fuzz"
	@echo "  PREFIX=/usr/local, DESTDIR=  where make install puts the files (deploy/install.mk)"

deps: ## install missing Debian packages (done by every target anyway)
	@true

$(PB_C) $(PB_H): $(PROTO)
	@mkdir -p $(GEN)
	protoc-c --c_out=$(GEN) -Iproto $(PROTO)

$(OBJ)/pb.o: $(PB_C)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Wno-missing-prototypes -c $< -o $@

$(OBJ)/%.o: %.c | $(PB_H)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(BIN)/maillaged: $(CORE_O) $(DAEMON_O)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BIN)/maillage: $(CLIENT_O) $(CLI_O)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BIN)/maillage-admin: $(CORE_O) $(OBJ)/client/cli_json.o $(OBJ)/tools/admin.o $(OBJ)/tools/admin_backup.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Benchmarks (not part of make test): built on demand by make bench-sub.
SUBBENCH_O := $(patsubst %.c,$(OBJ)/%.o,$(wildcard tools/subbench/*.c))
$(BIN)/maillage-subbench: $(CLIENT_O) $(SUBBENCH_O)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# maillage-bench (make bench-maillage), and what both benchmarks share
# (tools/benchlib/).
BENCHLIB_O := $(patsubst %.c,$(OBJ)/%.o,$(wildcard tools/benchlib/*.c))
BENCH_O    := $(patsubst %.c,$(OBJ)/%.o,$(wildcard tools/bench/*.c))
$(BIN)/maillage-subbench: $(BENCHLIB_O)
$(BIN)/maillage-bench: $(CLIENT_O) $(BENCH_O) $(BENCHLIB_O)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# maillage-diskbench (tools/bench.sh): the disk alone, commit-shaped writes.
DISKBENCH_O := $(patsubst %.c,$(OBJ)/%.o,$(wildcard tools/diskbench/*.c))
$(BIN)/maillage-diskbench: $(DISKBENCH_O)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ -lpthread -o $@

# maillage-replaybench (make bench-replay): the core, in process.
REPLAY_O := $(patsubst %.c,$(OBJ)/%.o,$(wildcard tools/replaybench/*.c))
$(BIN)/maillage-replaybench: $(CORE_O) $(REPLAY_O)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The unit tests' shared fixture (tests/unit/fixture.c, not a test itself).
UNIT_FIXTURE_O := $(OBJ)/tests/unit/fixture.o
$(BUILD)/tests/unit/%: $(OBJ)/tests/unit/%.o $(UNIT_FIXTURE_O) $(CORE_O)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) $(TESTLIBS) -o $@

# Integration tests and the crash harness drive the real server through the harness.
HARNESS_DEPS := $(HARNESS_O) $(CLIENT_O) $(OBJ)/server/crypto.o $(OBJ)/server/err.o
define link_harness_test
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) $(TESTLIBS) -o $@
endef

$(BUILD)/tests/integration/%: $(OBJ)/tests/integration/%.o $(HARNESS_DEPS)
	$(link_harness_test)

$(BUILD)/tests/crash/%: $(OBJ)/tests/crash/%.o $(HARNESS_DEPS)
	$(link_harness_test)

# Every test binary, then the test runner, which prints "N passed, N failed".
test: $(PROGRAMS) $(UNIT_BIN) $(INTEG_BIN) $(CRASH_BIN) $(FUZZ_BIN) ## build and run every test (unit, integration, crash, the fuzz corpus)
	@FUZZ=$(FUZZ) tests/fuzz/replay.sh
	@BUILD=$(BUILD) tests/run.sh $(UNIT_BIN) $(INTEG_BIN) $(CRASH_BIN) $(DEPLOY_TESTS)

unit: $(UNIT_BIN) ## run the unit tests only
	@BUILD=$(BUILD) tests/run.sh $(UNIT_BIN)

integration: $(PROGRAMS) $(INTEG_BIN) ## run the integration tests only
	@BUILD=$(BUILD) tests/run.sh $(INTEG_BIN)

crash: $(PROGRAMS) $(CRASH_BIN) ## the crash harness only: SIGKILL under load, 50 cycles (CRASH_CYCLES=500, CRASH_SEED=...)
	@BUILD=$(BUILD) tests/run.sh $(CRASH_BIN)

# For the thread sanitizer (make SANITIZE=thread threads; .ci/run does): the
# unit test that starts a thread of its own (a reader beside the writer),
# and integration tests whose server's loop thread reads while its writer
# commits (a race reported in the server's log fails the test: the
# harness's teardown looks for it). A few, for time: the whole suite takes
# 11 minutes under the sanitizer, and the tests that time the server or
# measure its memory fail there (it is slower; its shadow memory counts in
# the RSS). setarch -R: gcc 12's sanitizer cannot map its shadow memory on
# a kernel with more address randomisation (vm.mmap_rnd_bits over 28).
THREAD_TESTS := $(BUILD)/tests/unit/test_evlog_households \
                $(addprefix $(BUILD)/tests/integration/,test_story test_subscribe test_personal)
threads: $(PROGRAMS) $(THREAD_TESTS) ## the tests that run threads side by side (with SANITIZE=thread: data races)
	@BUILD=$(BUILD) setarch $$(uname -m) -R tests/run.sh $(THREAD_TESTS)

valgrind: $(PROGRAMS) $(UNIT_BIN) ## run the unit tests under valgrind
	@for t in $(UNIT_BIN); do valgrind -q --error-exitcode=1 --leak-check=full $$t || exit 1; done

dev-setup: ## create development certificates and configuration under var/dev/
	@tools/devsetup.sh var/dev $(or $(PORT),7400)

run: $(PROGRAMS) dev-setup ## build, set up var/dev/ and start the server on 127.0.0.1
	@echo "data directory: var/data; client settings: . var/dev/ORG.env (see README.md)"
	exec $(BIN)/maillaged -c var/dev/maillaged.conf

demo: $(PROGRAMS) ## fill a platform with a year of households and show its boards (build/demo/)
	@tools/demo.sh $(or $(HOUSEHOLDS),200)

bench-sub: $(PROGRAMS) $(BIN)/maillage-subbench ## subscription benchmark: delivery latency to 1000 subscribers, catch-up speed (build/bench/)
	@BUILD=$(BUILD) tools/subbench.sh

.PHONY: bench bench-maillage bench-postgres
bench-maillage: $(PROGRAMS) $(BIN)/maillage-bench $(BIN)/maillage-diskbench ## command benchmark: the disk alone, then durable commands/s and latency of a realistic mix over 64 connections (build/bench/)
	@BUILD=$(BUILD) tools/bench.sh $(BENCH_ARGS)

bench-postgres: ## PostgreSQL 15 doing maillage's durable appends: pgbench over TLS, synchronous commit (build/bench/postgres/)
	@BUILD=$(BUILD) tools/bench-postgres.sh $(BENCH_PG_ARGS)

# Both in one run on this machine, then the table and the ratio (last line).
bench-replay: $(BIN)/maillage-replaybench ## rebuild every model from a log of a million events; read a case's history of 1000 (about a minute)
	tools/bench-replay.sh $(BENCH_REPLAY_ARGS)

bench: SHELL := /bin/bash
bench: .SHELLFLAGS := -eu -o pipefail -c
bench: $(PROGRAMS) $(BIN)/maillage-bench $(BIN)/maillage-diskbench ## the disk alone, maillage's commands against PostgreSQL doing the same durable appends, and the ratio (about 2 minutes)
	@BUILD=$(BUILD) tools/bench.sh $(BENCH_ARGS) | tee $(BUILD)/bench-maillage.txt
	@echo
	@BUILD=$(BUILD) tools/bench-postgres.sh $(BENCH_PG_ARGS) | tee $(BUILD)/bench-postgres.txt
	@m=$$(sed -n 's/^maillage commands\/s: //p' $(BUILD)/bench-maillage.txt); \
	p=$$(sed -n 's/^postgresql appends\/s: //p' $(BUILD)/bench-postgres.txt); \
	echo; echo "== maillage against postgresql ($$(nproc) cpus, same durable appends, 64 TLS clients)"; \
	printf '%-28s %s\n' "maillage commands/s" "$$m" "postgresql appends/s" "$$p"; \
	awk -v m="$$m" -v p="$$p" 'BEGIN { printf "throughput ratio maillage/postgresql: %.1f\n", m / p }'

# make install (PREFIX, DESTDIR): deploy/install.mk
include deploy/install.mk

clean: ## remove build products (keeps var/)
	rm -rf build build-san build-tsan build-fuzz

# libFuzzer targets (tests/fuzz/): every parser of outside input, built with
# clang and ASan/UBSan into build-fuzz/. make fuzz runs each for FUZZ_SECONDS
# seconds; new inputs go to build-fuzz/corpus/, crashes to build-fuzz/crashes/.
# make test replays the committed corpus (tests/fuzz/corpus/).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ         := build-fuzz
FUZZ_TARGETS := fuzz_frame fuzz_request fuzz_config
FUZZ_CORE    := err status wire validate auth config frame
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) \
                -fsanitize=fuzzer-no-link $(WARN) -MMD -MP -I$(GEN) -Iserver \
                $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FUZZ_O       := $(FUZZ)/obj/pb.o $(FUZZ_CORE:%=$(FUZZ)/obj/server/%.o)

$(FUZZ)/obj/pb.o: $(PB_C)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Wno-missing-prototypes -c $< -o $@

$(FUZZ)/obj/%.o: %.c | $(PB_H)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BIN): $(FUZZ)/%: $(FUZZ)/obj/tests/fuzz/%.o $(FUZZ_O)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer $^ $(LDLIBS) -o $@

.PHONY: fuzz fuzz-replay
fuzz: $(FUZZ_BIN) ## run each fuzz target for FUZZ_SECONDS seconds (default 60; build-fuzz/)
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ)/corpus/$$t $(FUZZ)/crashes/$$t; \
		echo "== $$t: $(FUZZ_SECONDS) s"; \
		$(FUZZ)/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(FUZZ)/crashes/$$t/ \
			$$(test -f tests/fuzz/$$t.dict && echo -dict=tests/fuzz/$$t.dict) \
			$(FUZZ)/corpus/$$t tests/fuzz/corpus/$$t || exit 1; \
	done

fuzz-replay: $(FUZZ_BIN) ## replay the committed fuzz corpus once (no fuzzing)
	@FUZZ=$(FUZZ) tests/fuzz/replay.sh

-include $(shell find $(FUZZ) -name '*.d' 2>/dev/null)

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)
