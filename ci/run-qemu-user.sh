#!/usr/bin/env bash
# Runs the suite under qemu-user (Debian's qemu-user-static) and prints its JSON on stdout:
#   ci/run-qemu-user.sh ARCH STATIC_MMCHECK CASES_DIR [PAGE_SIZE]
# ARCH is aarch64 or ppc64le; PAGE_SIZE (65536, say) is the page size the guest is shown
# (QEMU_PAGESIZE), which qemu then emulates on this host's 4 KiB pages.
#
# Every process of the run must be emulated: mmcheck execs its workers, and cases exec and fork.
# Without binfmt_misc an exec of the foreign binary fails, and a `qemu-<arch>-static mmcheck`
# started by hand execs its workers natively where the kernel can run them. So the foreign
# architecture is registered with binfmt_misc for the run, with the F flag (the interpreter is
# opened now, as Docker's binfmt installer does), under a name of our own, and unregistered on
# exit. The host's own architecture is never registered.
set -euo pipefail
arch=$1
bin=$2
cases=$3
page=${4:-}
case $arch in
  aarch64)
    magic='\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
    mask='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff' ;;
  ppc64le)
    magic='\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x15\x00'
    mask='\xff\xff\xff\xff\xff\xff\xff\xfc\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\x00' ;;
  *) echo "error: ARCH is aarch64 or ppc64le, not '$arch'" >&2; exit 2 ;;
esac
if [ "$arch" = "$(uname -m)" ]; then
  echo "error: refusing to register this machine's own architecture ($arch) with binfmt_misc" >&2
  exit 2
fi
qemu=$(command -v "qemu-$arch-static") || { echo "error: qemu-$arch-static is missing (apt-get install qemu-user-static)" >&2; exit 1; }
[ -x "$bin" ] || { echo "error: no static mmcheck for $arch at $bin (make static ARCH=$arch)" >&2; exit 1; }
# The snapshots were made with Debian 12's qemu-user 7.2 (7.2.22): another series is another
# emulator, whose differences would show as snapshot changes nobody asked for.
want=${MMCHECK_QEMU_USER_SERIES:-7.2}
got=$("$qemu" --version | awk 'NR == 1 {print $3}')
case $got in
  "$want".*|"$want") ;;
  *) echo "error: the snapshots were made with qemu-user $want; this is $got (MMCHECK_QEMU_USER_SERIES=${got%.*} runs it anyway; then review with make matrix BLESS=1)" >&2; exit 1 ;;
esac
[ "$(id -u)" = 0 ] || { echo "error: registering with binfmt_misc needs root" >&2; exit 1; }

binfmt=/proc/sys/fs/binfmt_misc
if [ ! -e "$binfmt/register" ]; then
  mount -t binfmt_misc binfmt_misc "$binfmt"
fi
name="mmcheck-$arch-$$"
out=$(mktemp)
cleanup() {
  [ -e "$binfmt/$name" ] && echo -1 > "$binfmt/$name"
  rm -f "$out"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
printf ':%s:M::%s:%s:%s:F' "$name" "$magic" "$mask" "$qemu" > "$binfmt/register"

# qemu-user answers the system calls; the host release it passes on is not the answer.
export MMCHECK_PLATFORM=qemu-user
[ -n "$page" ] && export QEMU_PAGESIZE=$page
timeout "${MMCHECK_QEMU_USER_TIMEOUT:-900}" "$bin" run --format json --cases "$cases" --progress \
  ${MMCHECK_LAYOUT_SEED:+--layout-seed "$MMCHECK_LAYOUT_SEED"} > "$out" || [ $? -eq 1 ]
[ -s "$out" ] || { echo "error: qemu-user produced no result" >&2; exit 1; }
cat "$out"
