#!/usr/bin/env bash
# Installs what `make matrix` needs on a fresh Debian 12 machine (as root): QEMU for the VM
# kernels, busybox-static, cpio and kmod to build their initramfs, runsc for gVisor, and the
# mkfs tools for the scratch filesystems.
set -euo pipefail
packages=()
# The guest needs a static busybox; Debian's plain busybox package is dynamic.
if ! command -v busybox >/dev/null 2>&1 || ldd "$(command -v busybox)" >/dev/null 2>&1; then
  packages+=(busybox-static)
fi
for pair in qemu-system-x86_64:qemu-system-x86 cpio:cpio modinfo:kmod \
            runsc:runsc mkfs.ext4:e2fsprogs mkfs.xfs:xfsprogs mkfs.btrfs:btrfs-progs xz:xz-utils; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || packages+=("${pair#*:}")
done
if [ ${#packages[@]} -gt 0 ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"
fi
