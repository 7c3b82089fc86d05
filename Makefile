# mmcheck: the two commands a newcomer needs are `make run` and `make test`.
CARGO ?= cargo

.PHONY: run test lint unit cases bench bless build clean

## Build and run the whole suite on this kernel: a table, then "N passed, N failed, N skipped".
run: build
	./target/release/mmcheck run

build:
	$(CARGO) build --release --locked

## Everything CI checks: formatting, clippy, unit tests, every case as a test, bad-input tests.
test: lint
	$(CARGO) test --locked

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

## Only the cases, as libtest trials (filters work: make cases FILTER=mprotect/).
cases:
	$(CARGO) test --locked --test conformance -- $(FILTER)

## Wall time of the whole suite, measured (tests assert behaviour; this measures speed).
bench: build
	bash ci/bench.sh

## Accept changed snapshots (error messages today; per-kernel outcomes later).
bless:
	INSTA_UPDATE=always $(CARGO) test --locked

clean:
	$(CARGO) clean
