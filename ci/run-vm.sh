#!/usr/bin/env bash
# Runs the suite in a Linux kernel booted with QEMU under software emulation (TCG: /dev/kvm
# here is a nested virtualizer that cannot boot these kernels) and prints its JSON on stdout:
#   ci/run-vm.sh KERNEL_DIR STATIC_MMCHECK CASES_DIR
# KERNEL_DIR comes from ci/setup-kernel.sh, and says the kernel's architecture (amd64, arm64,
# ppc64el); STATIC_MMCHECK must be built for it (make static ARCH=...). The guest boots from an
# initramfs holding busybox, mmcheck and the cases, with three virtio disks holding fresh ext4, xfs and btrfs filesystems.
# Progress lines go to stderr.
set -euo pipefail
kdir=$1
bin=$2
cases=$3
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=fs-image.sh
. "$here/fs-image.sh"
[ -f "$kdir/ready" ] || { echo "error: $kdir is not prepared: run ci/setup-kernel.sh" >&2; exit 1; }
debarch=$(cat "$kdir/arch" 2>/dev/null || echo amd64)
# The machine each architecture is booted on. The x86 guest should differ from a common x86_64
# machine in its kernel only: no 5-level paging (la57, which widens the address space).
case $debarch in
  amd64)
    qemu=qemu-system-x86_64; qpkg=qemu-system-x86; console=ttyS0
    machine=(-accel tcg -cpu max,la57=off) ;;
  arm64)
    # pauth-impdef: QEMU's cheap pointer-authentication algorithm, much faster under TCG.
    qemu=qemu-system-aarch64; qpkg=qemu-system-arm; console=ttyAMA0
    machine=(-accel tcg -M virt -cpu max,pauth-impdef=on) ;;
  ppc64el)
    # The spectre capabilities TCG cannot provide are declared broken rather than warned about.
    qemu=qemu-system-ppc64; qpkg=qemu-system-ppc; console=hvc0
    machine=(-accel tcg -M pseries,cap-cfpc=broken,cap-sbbc=broken,cap-ibs=broken,cap-ccf-assist=off) ;;
  *) echo "error: $kdir holds a kernel for $debarch, which run-vm.sh cannot boot" >&2; exit 1 ;;
esac
for tool in "$qemu" cpio mkfs.ext4 mkfs.xfs mkfs.btrfs base64 gzip; do
  command -v "$tool" >/dev/null || {
    echo "error: $tool is missing (apt-get install $qpkg cpio e2fsprogs xfsprogs btrfs-progs)" >&2
    exit 1
  }
done
if [ -x "$kdir/busybox" ]; then
  busybox=$kdir/busybox
else
  busybox=$(command -v busybox) || { echo "error: busybox is missing (apt-get install busybox-static)" >&2; exit 1; }
fi
if ldd "$busybox" >/dev/null 2>&1; then
  echo "error: $busybox is dynamically linked; the guest needs busybox-static (apt-get install busybox-static)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root"/{bin,proc,sys,dev,tmp,mnt,modules}
cp "$busybox" "$root/bin/busybox"
strip -o "$root/mmcheck" "$bin" 2>/dev/null || cp "$bin" "$root/mmcheck"
cp -r "$cases" "$root/cases"
cp "$kdir"/modules/*.ko "$root/modules/" 2>/dev/null || true
cp "$kdir/modules.order" "$root/modules.order"
install -m 0755 "$here/vm/init" "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initrd.gz"

drives=()
for fs in ext4 xfs btrfs; do
  make_fs_image "$fs" "$work/$fs.img"
  drives+=(-drive "file=$work/$fs.img,if=none,id=$fs,format=raw" -device "virtio-blk-pci,drive=$fs")
done

# The console log is piped (a plain redirect of QEMU's output lost lines here).
# One vCPU by default (MMCHECK_VM_SMP): alone, a 6.1 guest with two took 31.5 s instead of 57 s,
# but the matrix runs two environments at once on two cores, and there two-vCPU guests made the
# whole matrix slower (6 min 9 s against 5 min 4 s); the snapshots were the same either way.
# THP in the mode most distributions and this project's CI machines use ("madvise"; Debian's
# cloud kernels default to "always"). Four huge pages of the default size reserved at boot
# (2 MiB on x86_64 and arm64 with 4K pages, 32 MiB with 16K pages, 16 MiB or 2 MiB on ppc64le),
# so the hugetlb cases run here; the host has none reserved and skips them with the reason.
# -nic none: the guest needs no network, and QEMU's default NIC wants a boot ROM from ipxe-qemu,
# which a --no-install-recommends install lacks ("failed to find romfile efi-virtio.rom").
timeout "${MMCHECK_VM_TIMEOUT:-900}" "$qemu" "${machine[@]}" -m 2048 -smp "${MMCHECK_VM_SMP:-1}" \
  -nic none -nographic -no-reboot -kernel "$kdir/vmlinuz" -initrd "$work/initrd.gz" \
  -append "console=$console panic=-1 quiet loglevel=1 transparent_hugepage=madvise hugepages=${MMCHECK_VM_HUGEPAGES:-4}" "${drives[@]}" < /dev/null 2>&1 \
  | tr -d '\r' | tee "$work/console.log" | grep --line-buffered '^mmcheck: progress' >&2 || true

if ! grep -q '^MMCHECK-END' "$work/console.log"; then
  echo "error: the guest did not finish; the last console lines:" >&2
  tail -n 30 "$work/console.log" >&2
  exit 1
fi
sed -n '/^MMCHECK-BEGIN$/,/^MMCHECK-END$/p' "$work/console.log" | sed '1d;$d' | base64 -d | gunzip
