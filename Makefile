# mmcheck: the two commands a newcomer needs are `make run` and `make test`.
CARGO ?= cargo

.PHONY: toolchain run test setup lint cases bench bless build static statics matrix stability report coverage e2e fuzz clean man completions

## Build and run the whole suite on this kernel: a table, then "N passed, N failed, N skipped".
run: build
	./target/release/mmcheck run

## The Rust release rust-toolchain.toml pins, with rustfmt and clippy (ci/toolchain.sh): every
## target that runs cargo depends on it, so a machine with Rust and nothing else can run them.
toolchain:
	@bash ci/toolchain.sh

build: toolchain
	$(CARGO) build --release --locked

## As root: install every optional package the suite, the matrix and the report use (mkfs tools
## for xfs and btrfs, manpages-dev, QEMU, busybox-static, runsc, chromium, ...). Neither `make run`
## nor `make test` needs it: what a missing tool keeps from running is skipped and not compared.
setup:
	bash ci/setup.sh

## Everything CI checks: formatting, clippy, unit tests, every case as a test, bad-input tests.
test: lint
	$(CARGO) test --locked

lint: toolchain
	$(CARGO) fmt --all --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

## A statically linked mmcheck, for VM initramfs images, gVisor and qemu-user:
## make static (x86_64), make static ARCH=aarch64, make static ARCH=ppc64le. The cross targets need
## `rustup target add` and Debian's cross gcc (make setup installs both).
ARCH ?= x86_64
TRIPLE_x86_64 := x86_64-unknown-linux-gnu
TRIPLE_aarch64 := aarch64-unknown-linux-gnu
TRIPLE_ppc64le := powerpc64le-unknown-linux-gnu
TRIPLE = $(or $(TRIPLE_$(ARCH)),$(error ARCH is x86_64, aarch64 or ppc64le, not '$(ARCH)'))
STATIC := target/x86_64-unknown-linux-gnu/release/mmcheck
static: toolchain
	RUSTFLAGS="-C target-feature=+crt-static" \
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
	CARGO_TARGET_POWERPC64LE_UNKNOWN_LINUX_GNU_LINKER=powerpc64le-linux-gnu-gcc \
	$(CARGO) build --release --locked --target $(TRIPLE) --bin mmcheck

## All three static binaries (what the matrix's emulated and foreign-architecture environments run).
statics:
	$(MAKE) static ARCH=x86_64
	$(MAKE) static ARCH=aarch64
	$(MAKE) static ARCH=ppc64le

## The suite in every environment of ci/environments.toml; fails on a snapshot change.
## make matrix BLESS=1 accepts the new snapshots; make matrix ONLY=gvisor runs one.
matrix: build statics
	./target/release/mmcheck matrix --static $(STATIC) $(if $(BLESS),--bless) \
		$(foreach e,$(ONLY),--only $(e))

## The snapshots must not depend on where the kernel places mappings: the host suite under 30
## layout seeds and gVisor under 10 (MMCHECK_LAYOUT_SEED: pads that move every case's mappings),
## each rendering compared with the committed snapshots; fails on any change.
STABILITY ?= --env host:30 --env gvisor:10
stability: build static
	./target/release/mmcheck stability --static $(STATIC) $(STABILITY)

## The compatibility report from the committed snapshots, into docs/compat/ (committed): report.md,
## index.html, report.json, and each environment's results as ktap/<env>.ktap and junit/<env>.xml.
report: build
	./target/release/mmcheck report --out docs/compat

## Opens the report's index.html in headless Chromium (Debian's chromium, driven by
## playwright-core from npm) at a desktop and a phone size, checks what ci/e2e/report.test.mjs
## lists (legend, releases, per-call view, permalinks, keyboard, search, phone layout, skipped
## cells) on the report and on a fixture with the newer report fields, and saves screenshots
## into target/e2e/ (desktop.png, phone.png, phone-cell.png, ...).
e2e: build
	./target/release/mmcheck report --out target/e2e/report
	cd ci/e2e && npm install --no-audit --no-fund --silent && node report.test.mjs ../../target/e2e/report ../../target/e2e

## Only the cases, as libtest trials (filters work: make cases FILTER=mprotect/).
cases: toolchain
	$(CARGO) test --locked --test conformance -- $(FILTER)

## How fast mmcheck is here: the fork floor, the runner's cost per case, explain's latency and the
## whole suite's wall time, each next to its target (docs/performance.md). Reports; never fails.
bench: build
	$(CARGO) bench --locked --bench bench

## Which rules of the installed man pages the cases cover: regenerates docs/coverage.md (needs
## manpages-dev; `./target/release/mmcheck coverage` prints the uncovered rules themselves).
coverage: build
	./target/release/mmcheck coverage --format markdown > docs/coverage.md.new
	mv docs/coverage.md.new docs/coverage.md

## Fuzz the case loader with FUZZ_CASES mutated, generated and random case files (default
## 200000, about 80 s): no panic, every rejection names its file:line. Prints how many it
## tried and the seed; MMCHECK_FUZZ_SEED=<seed> replays a run. `cargo test` tries 600.
FUZZ_CASES ?= 200000
fuzz: toolchain
	MMCHECK_FUZZ_CASES=$(FUZZ_CASES) $(CARGO) test --locked --profile fuzz --test fuzz_loader -- --nocapture

## mmcheck's man pages (mmcheck.1 and one per subcommand: mmcheck-run.1, mmcheck-explain.1, ...)
## into target/man, then installed into $(DESTDIR)$(PREFIX)/share/man/man1 (PREFIX=/usr/local;
## `make man PREFIX=$$HOME/.local`, or DESTDIR=/tmp/pkg for a package).
PREFIX ?= /usr/local
MANDIR ?= $(PREFIX)/share/man/man1
man: build
	rm -rf target/man
	./target/release/mmcheck manpage target/man
	install -d $(DESTDIR)$(MANDIR)
	install -m 644 target/man/*.1 $(DESTDIR)$(MANDIR)/

## Shell completions (subcommands, options, explain's symbols, the calls of --flags) into
## target/completions, then installed where bash-completion, zsh and fish look under
## $(DESTDIR)$(PREFIX)/share.
completions: build
	rm -rf target/completions
	mkdir -p target/completions
	./target/release/mmcheck completions bash > target/completions/mmcheck
	./target/release/mmcheck completions zsh > target/completions/_mmcheck
	./target/release/mmcheck completions fish > target/completions/mmcheck.fish
	install -D -m 644 target/completions/mmcheck $(DESTDIR)$(PREFIX)/share/bash-completion/completions/mmcheck
	install -D -m 644 target/completions/_mmcheck $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_mmcheck
	install -D -m 644 target/completions/mmcheck.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/mmcheck.fish

## Accept changed snapshots (error messages today; per-kernel outcomes later).
bless: toolchain
	INSTA_UPDATE=always $(CARGO) test --locked

clean:
	$(CARGO) clean
