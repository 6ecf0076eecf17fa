# Thin wrapper over meson + ninja. `make demo` and `make test` do all set-up on a
# fresh Debian machine (they call scripts/install-deps first).
BUILD     ?= build
SANBUILD  ?= build-san
FUZZBUILD ?= build-fuzz
SEGUE     := $(BUILD)/segue

.PHONY: all deps test lint demo fuzz bench cluster clean

all: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

deps:
	@scripts/install-deps

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=release -Db_ndebug=false -Dtests=false >/dev/null

# The test build treats warnings as errors (the release build does not, so
# that a newer compiler's new warning does not stop a user's build).
$(SANBUILD)/build.ninja:
	meson setup $(SANBUILD) --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true >/dev/null

# Every test program, the browser test and the static checks (scripts/lint,
# counted as one test in the summary line).
test: deps $(SANBUILD)/build.ninja
	ninja -C $(SANBUILD)
	@scripts/run-tests $(SANBUILD)

# cppcheck over src/ and clang-format --dry-run over the C sources.
lint:
	@scripts/lint

demo: all
	@scripts/demo $(SEGUE)

$(FUZZBUILD)/build.ninja:
	CC=clang meson setup $(FUZZBUILD) --buildtype=debugoptimized -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false >/dev/null

# Bounded fuzzing run of every target (FUZZ_SECONDS each); not part of `make test`.
FUZZ_SECONDS ?= 60
fuzz: deps $(FUZZBUILD)/build.ninja
	ninja -C $(FUZZBUILD)
	@scripts/run-fuzz $(FUZZBUILD) $(FUZZ_SECONDS)

# N replicas (CLUSTER_REPLICAS, default 2) behind HAProxy over a throwaway
# PostgreSQL, on loopback, serving a generated catalogue (or CLUSTER_WORKSPACE);
# scripts/cluster status|down afterwards.
CLUSTER_REPLICAS ?= 2
cluster: all
	@scripts/cluster up --segue $(SEGUE) --replicas $(CLUSTER_REPLICAS) $(if $(CLUSTER_WORKSPACE),--workspace $(CLUSTER_WORKSPACE))

bench: all
	@scripts/install-deps --bench
	@bench/ingest $(SEGUE)

clean:
	rm -rf $(BUILD) $(SANBUILD) $(FUZZBUILD)
