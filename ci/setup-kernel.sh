#!/usr/bin/env bash
# Fetches one of Debian 12's kernels and prepares it for ci/run-vm.sh:
#   ci/setup-kernel.sh 'linux-image-6.1.0-56-cloud-amd64' DIR [DEBIAN_ARCH]
# The name may be a glob ('linux-image-6.1.0-*-cloud-amd64'), and then the newest match is taken.
# DEBIAN_ARCH (arm64, ppc64el) fetches another architecture's kernel, and the static busybox of
# that architecture for its initramfs; the architecture is added to dpkg first (dpkg
# --add-architecture, apt-get update), which installs nothing.
# DIR gets vmlinuz, release (the kernel release string), and modules/ with the modules the
# guest needs for virtio disks, ext4 (a module in some kernels), xfs and btrfs (their dependencies first), uncompressed, plus
# modules.order, the order in which to insmod them. Re-running with the same name and DIR does nothing.
set -euo pipefail
pattern=$1
dir=$2
debarch=${3:-$(dpkg --print-architecture)}
stamp="$pattern $debarch"
# Prepared already for this very name: nothing to do. Prepared for another: start again.
if [ -f "$dir/ready" ]; then
  [ "$(cat "$dir/ready")" = "$stamp" ] && exit 0
  rm -rf "$dir"
fi
need=(apt-get dpkg-deb modinfo xz)
for tool in "${need[@]}"; do
  command -v "$tool" >/dev/null || { echo "error: $tool is missing (apt-get install kmod xz-utils)" >&2; exit 1; }
done
if [ "$debarch" != "$(dpkg --print-architecture)" ] && ! dpkg --print-foreign-architectures | grep -qx "$debarch"; then
  [ "$(id -u)" = 0 ] || { echo "error: dpkg --add-architecture $debarch needs root" >&2; exit 1; }
  dpkg --add-architecture "$debarch"
  apt-get update >/dev/null 2>&1 || { echo "error: apt-get update failed" >&2; exit 1; }
fi
mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The newest package matching the pattern, from Debian 12's own sources.
# The pattern is a glob (`*`); everything else in it is literal.
regex=$(printf '%s' "$pattern" | sed -e 's/[.+]/\\&/g' -e 's/\*/.*/g')
newest() {
  apt-cache search --names-only "^${regex}\$" | awk '{print $1}' |
    { if [[ $pattern == *-unsigned ]]; then grep -v -e -dbg; else grep -v -e -dbg -e -unsigned; fi || true; } |
    sort -V | tail -n 1
}
package=$(newest)
# A fresh machine may not have read the package lists yet.
[ -n "$package" ] || { apt-get update >/dev/null 2>&1 || true; package=$(newest); }
if [ -z "$package" ]; then
  echo "error: no package matches $pattern in the archive. ci/environments.toml pins the kernel the" >&2
  echo "committed snapshots were made with; when Debian drops it, pin a newer one there" >&2
  echo "(apt-cache search linux-image-6 | grep cloud-amd64) and run make matrix BLESS=1" >&2
  exit 1
fi
(cd "$work" && apt-get download "$package:$debarch" >/dev/null 2>&1) || {
  echo "error: apt-get download $package:$debarch failed" >&2; exit 1; }
dpkg-deb -x "$work"/*.deb "$work/x"
release=$(ls "$work/x/lib/modules")
# x86 and arm64 ship a compressed vmlinuz, powerpc the ELF vmlinux; QEMU boots either.
cp "$(ls "$work/x/boot/vmlinuz-$release" "$work/x/boot/vmlinux-$release" 2>/dev/null | head -n 1)" "$dir/vmlinuz"
echo "$debarch" > "$dir/arch"
if [ "$debarch" != "$(dpkg --print-architecture)" ]; then
  mkdir -p "$work/bb"
  (cd "$work/bb" && apt-get download "busybox-static:$debarch" >/dev/null 2>&1) || {
    echo "error: apt-get download busybox-static:$debarch failed" >&2; exit 1; }
  dpkg-deb -x "$work"/bb/*.deb "$work/bb/x"
  cp "$work/bb/x/bin/busybox" "$dir/busybox"
fi
echo "$release" > "$dir/release"
echo "$package" > "$dir/package"
moddir="$work/x/lib/modules/$release"

# Resolve dependencies depth first, so that each module follows what it needs.
declare -A seen=()
order=()
path_of() { find "$moddir" -name "$1.ko" -o -name "$1.ko.xz" -o -name "$1.ko.zst" | head -n 1; }
visit() {
  local name=$1 file deps dep
  [ -n "${seen[$name]:-}" ] && return
  seen[$name]=1
  file=$(path_of "$name")
  # Not a module file: built into this kernel (or an alias, which the list below names).
  [ -n "$file" ] || return 0
  # Soft dependencies ("pre: crc32c") are loaded by modprobe, not by the kernel: insmod needs
  # them first as well.
  deps="$(modinfo -F softdep "$file" | sed -e 's/post:.*//' -e 's/pre://g') $(modinfo -F depends "$file" | tr ',' ' ')"
  for dep in $deps; do visit "$dep"; done
  order+=("$name")
  case "$file" in
    *.xz) xz -dc "$file" > "$dir/modules/$name.ko" ;;
    *.zst) zstd -dqc "$file" > "$dir/modules/$name.ko" ;;
    *) cp "$file" "$dir/modules/$name.ko" ;;
  esac
}
mkdir -p "$dir/modules"
# crc32c_generic: the "crc32c" that libcrc32c (xfs, btrfs) and ext4's metadata checksums ask
# for by name; a module on some architectures (ppc64el 6.1), and a mount fails without it.
for m in virtio_pci virtio_blk crc32c_generic ext4 xfs btrfs; do visit "$m"; done
printf '%s\n' "${order[@]}" > "$dir/modules.order"
echo "$stamp" > "$dir/ready"
echo "prepared $package ($release) in $dir: ${#order[@]} modules" >&2
