#!/usr/bin/env bash
# `make setup`: installs, as root on Debian 12 (or Ubuntu), every optional package the suite, the
# matrix and the report's browser test use. Without them `make run` and `make test` still pass:
# cases that need a missing tool are skipped and not compared, with a line saying what to install.
#   - e2fsprogs, xfsprogs, btrfs-progs, mount: the scratch filesystems the runner loop-mounts as
#     root, so that filesystem-dependent cases run on ext4, xfs and btrfs as well as tmpfs;
#   - manpages-dev: the man pages `mmcheck explain` quotes;
#   - qemu-system-x86, busybox-static, cpio, kmod, xz-utils: the Linux 6.1 and 6.12 VMs of
#     `make matrix`; runsc: its gVisor environment;
#   - qemu-system-arm, qemu-system-ppc: the arm64 and ppc64el VMs; qemu-user-static: the
#     qemu-user environments; user-mode-linux: the UML one;
#   - gcc-aarch64-linux-gnu, gcc-powerpc64le-linux-gnu and their libc6-dev-*-cross, with
#     `rustup target add`: the static builds for those architectures (make statics);
#   - chromium, nodejs, npm: `make e2e`, the report in a headless browser;
#   - libxml2-utils: xmllint, with which `make test` validates the JUnit XML against
#     ci/junit/junit-10.xsd (without it that check says it was not run).
# Only what is missing is installed; a second run installs nothing.
set -euo pipefail
packages=()
need() { command -v "$1" >/dev/null 2>&1 || packages+=("$2"); }
need make make
need cc gcc
need mkfs.ext4 e2fsprogs
need mkfs.xfs xfsprogs
need mkfs.btrfs btrfs-progs
need losetup mount
[ -e /usr/share/man/man2/mmap.2.gz ] || packages+=(manpages-dev)
need xmllint libxml2-utils
need qemu-system-x86_64 qemu-system-x86
need cpio cpio
need modinfo kmod
need xz xz-utils
need runsc runsc
need qemu-system-aarch64 qemu-system-arm
need qemu-system-ppc64 qemu-system-ppc
need qemu-aarch64-static qemu-user-static
need linux.uml user-mode-linux
need aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu
need powerpc64le-linux-gnu-gcc gcc-powerpc64le-linux-gnu
[ -e /usr/aarch64-linux-gnu/lib/libc.a ] || packages+=(libc6-dev-arm64-cross)
[ -e /usr/powerpc64le-linux-gnu/lib/libc.a ] || packages+=(libc6-dev-ppc64el-cross)
if command -v rustup >/dev/null 2>&1; then
  # The pinned Rust release (rust-toolchain.toml), then the cross targets of `make statics`.
  bash ci/toolchain.sh
  rustup target add aarch64-unknown-linux-gnu powerpc64le-unknown-linux-gnu >/dev/null
fi
# The guest needs a static busybox; Debian's plain busybox package is dynamic.
if ! command -v busybox >/dev/null 2>&1 || ldd "$(command -v busybox)" >/dev/null 2>&1; then
  packages+=(busybox-static)
fi
if [ "${MMCHECK_SETUP_BROWSER:-1}" = 1 ]; then
  need chromium chromium
  need node nodejs
  need npm npm
fi
if [ ${#packages[@]} -eq 0 ]; then
  echo "make setup: everything is installed"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "make setup: needs root to install: ${packages[*]}" >&2
  exit 1
fi
echo "make setup: installing ${packages[*]}"
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"
