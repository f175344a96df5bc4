# ardoise: the two set-up commands are `make run` and `make test`.
# Everything builds from crates.io: SQLite and libpq are compiled in (no system package needed).

CARGO ?= cargo
ARGS ?= serve

.PHONY: run test lint fmt bench bench-smoke bench-import clean

## Build in release mode and serve on the embedded SQLite default (sqlite://data/ardoise.db).
run:
	$(CARGO) run --release --bin ardoise -- $(ARGS)

## The whole test suite. PostgreSQL tests run when ARDOISE_TEST_POSTGRES_URL is set, MariaDB
## tests (ardoise-import) when ARDOISE_TEST_MARIADB_URL is set.
test:
	@if [ -z "$$ARDOISE_TEST_POSTGRES_URL" ]; then \
	  echo "make test: ARDOISE_TEST_POSTGRES_URL is not set: PostgreSQL tests will be skipped (SQLite only)."; \
	fi
	@if [ -z "$$ARDOISE_TEST_MARIADB_URL" ]; then \
	  echo "make test: ARDOISE_TEST_MARIADB_URL is not set: the MariaDB tests of ardoise-import will be skipped."; \
	fi
	$(CARGO) test --workspace --all-features
	@if [ -z "$$ARDOISE_TEST_POSTGRES_URL" ]; then \
	  echo "make test: PostgreSQL was skipped (set ARDOISE_TEST_POSTGRES_URL, or run .ci/run)."; \
	fi
	@if [ -z "$$ARDOISE_TEST_MARIADB_URL" ]; then \
	  echo "make test: MariaDB was skipped (set ARDOISE_TEST_MARIADB_URL, or run .ci/run, which starts one with .ci/mariadb)."; \
	fi

## Formatting and lints, as CI checks them.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings

fmt:
	$(CARGO) fmt --all

## Load benchmark of the release binary on a fresh SQLite database (64 clients, 10 s per
## scenario; see docs/performance.md). Also on PostgreSQL when ARDOISE_BENCH_POSTGRES_URL is set
## (a superuser URL: a fresh database is created and dropped). BENCH_ARGS adds options.
BENCH_ARGS ?=
bench:
	$(CARGO) build --release --bin ardoise --bin ardoise-bench
	"$${CARGO_TARGET_DIR:-target}/release/ardoise-bench" $(BENCH_ARGS)

## A 1-second run with 8 clients: checks that the bench itself works.
bench-smoke:
	$(CARGO) build --release --bin ardoise --bin ardoise-bench
	"$${CARGO_TARGET_DIR:-target}/release/ardoise-bench" --clients 8 --seconds 1 --raw-seconds 1 --cards 50 $(BENCH_ARGS)

## Import benchmark: a generated 10p5 dump of 5,000 cards and 100,000 transactions imported
## into a fresh SQLite file by the release ardoise-import (see docs/performance.md).
BENCH_IMPORT_DIR ?= target/bench-import
bench-import:
	$(CARGO) build --release -p ardoise-import --bin ardoise-import --example tenp5_dump
	mkdir -p $(BENCH_IMPORT_DIR)
	rm -f $(BENCH_IMPORT_DIR)/ardoise.db*
	"$${CARGO_TARGET_DIR:-target}/release/examples/tenp5_dump" 5000 100000 > $(BENCH_IMPORT_DIR)/10p5.sql
	time "$${CARGO_TARGET_DIR:-target}/release/ardoise-import" 10p5 --dump $(BENCH_IMPORT_DIR)/10p5.sql \
	  --database-url sqlite://$(BENCH_IMPORT_DIR)/ardoise.db --report $(BENCH_IMPORT_DIR)/report.csv

clean:
	$(CARGO) clean
