# ardoise: the two set-up commands are `make run` and `make test`.
# Everything builds from crates.io: SQLite and libpq are compiled in (no system package needed).

CARGO ?= cargo
ARGS ?= serve

.PHONY: run test lint fmt bench clean

## Build in release mode and serve on the embedded SQLite default (sqlite://data/ardoise.db).
run:
	$(CARGO) run --release --bin ardoise -- $(ARGS)

## The whole test suite. PostgreSQL tests run when ARDOISE_TEST_POSTGRES_URL is set.
test:
	@if [ -z "$$ARDOISE_TEST_POSTGRES_URL" ]; then \
	  echo "make test: ARDOISE_TEST_POSTGRES_URL is not set: PostgreSQL tests will be skipped (SQLite only)."; \
	fi
	$(CARGO) test --workspace --all-features
	@if [ -z "$$ARDOISE_TEST_POSTGRES_URL" ]; then \
	  echo "make test: PostgreSQL was skipped (set ARDOISE_TEST_POSTGRES_URL, or run .ci/run)."; \
	fi

## Formatting and lints, as CI checks them.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
