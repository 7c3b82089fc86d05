#!/usr/bin/env bash
# Makes the Rust release that rust-toolchain.toml pins usable, with rustfmt and clippy. Every
# make target that runs cargo calls it first, so `make test` works on a machine that has Rust and
# nothing else, even where rustup does not install a missing pinned toolchain by itself
# (RUSTUP_AUTO_INSTALL=0, as on the CI machines). Without rustup (Debian's cargo package) the pin
# does not apply and nothing is done. No root needed: everything happens in RUSTUP_HOME.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v rustup >/dev/null 2>&1 || exit 0
pinned=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
if ! rustup run "$pinned" rustc --version >/dev/null 2>&1; then
  # Where the machine's stable toolchain is that very release, it is made available under the
  # pinned name (a link to the directory rustup would have created): no download. Otherwise
  # rustup installs the pinned release (needs the network to static.rust-lang.org).
  stable=$(rustup run stable rustc --print sysroot 2>/dev/null || true)
  if [ -n "$stable" ] && rustup run stable rustc --version | grep -q "^rustc $pinned "; then
    host=$(rustup run stable rustc -vV | sed -n 's/^host: //p')
    ln -sfnT "$stable" "${RUSTUP_HOME:-$HOME/.rustup}/toolchains/$pinned-$host"
    echo "toolchain: Rust $pinned (rust-toolchain.toml) is this machine's stable toolchain: linked" >&2
  else
    echo "toolchain: installing Rust $pinned (rust-toolchain.toml)" >&2
    rustup toolchain install "$pinned" --profile minimal --component rustfmt --component clippy
  fi
fi
# rustfmt and clippy are what `make lint` runs; a linked stable toolchain may lack them.
for c in rustfmt clippy; do
  if ! rustup run "$pinned" "$c" --version >/dev/null 2>&1 && ! rustup run "$pinned" "cargo-${c/rustfmt/fmt}" --version >/dev/null 2>&1; then
    rustup component add --toolchain "$pinned" "$c"
  fi
done
