#!/usr/bin/env bash
# Runs the suite under gVisor (Debian's runsc) and prints its JSON on stdout:
#   ci/run-gvisor.sh STATIC_MMCHECK CASES_DIR
# The sandbox's root is a fresh directory holding mmcheck, the cases and three loop-mounted
# filesystems made for the run (ext4, xfs, btrfs), served by gVisor's gofer with write access
# (`runsc do -root DIR -force-overlay=false`: nothing of the host outside DIR is visible), so
# the file cases run on real host filesystems as gVisor presents them. tmpfs cases use the
# sandbox's own /dev/shm (a Sentry tmpfs). --network=none because plain `runsc do` wants
# iptables. MMCHECK_LAYOUT_SEED, when set (make stability), is passed on as --layout-seed.
# Without root (no loop mounts) the file cases are skipped, with the reason.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=fs-image.sh
. "$here/fs-image.sh"
bin=$1
cases=$2
command -v runsc >/dev/null || { echo "error: runsc is missing (apt-get install runsc)" >&2; exit 1; }
# The snapshots were made with Debian 12's runsc release 20221219.
want=${MMCHECK_RUNSC_RELEASE:-20221219}
got=$(runsc --version 2>/dev/null | awk 'NR == 1 {print $3}')
case $got in
  *"$want"*) ;;
  *) echo "error: the snapshots were made with runsc $want; this is ${got:-unknown} (MMCHECK_RUNSC_RELEASE=<it> runs it anyway; then review with make matrix BLESS=1)" >&2; exit 1 ;;
esac
work=$(mktemp -d)
mounted=()
cleanup() {
  for m in "${mounted[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
root="$work/root"
mkdir -p "$root/scratch" "$root/tmp"
cp "$bin" "$root/mmcheck"
cp -r "$cases" "$root/cases"
scratch="tmpfs=/dev/shm"
if [ "$(id -u)" = 0 ]; then
  for fs in ext4 xfs btrfs; do
    command -v "mkfs.$fs" >/dev/null || continue
    make_fs_image "$fs" "$work/$fs.img"
    mkdir -p "$root/scratch/$fs"
    if mount -o loop "$work/$fs.img" "$root/scratch/$fs" 2>/dev/null; then
      mounted+=("$root/scratch/$fs")
      chmod 1777 "$root/scratch/$fs"
      scratch="$scratch,$fs=/scratch/$fs"
    fi
  done
fi
out="$work/result.json"
# Piped, not redirected: direct redirection of runsc's output lost output here.
MMCHECK_SCRATCH="$scratch" TMPDIR=/tmp timeout "${MMCHECK_GVISOR_TIMEOUT:-600}" \
  runsc --network=none do -root "$root" -force-overlay=false -cwd / \
  /mmcheck run --format json --cases /cases --progress \
  ${MMCHECK_LAYOUT_SEED:+--layout-seed "$MMCHECK_LAYOUT_SEED"} \
  2> >(grep --line-buffered '^mmcheck: progress' >&2) | cat > "$out" || true
[ -s "$out" ] || { echo "error: runsc produced no result" >&2; exit 1; }
cat "$out"
