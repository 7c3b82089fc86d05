#!/usr/bin/env bash
# Runs the suite under User-mode Linux (Debian's user-mode-linux: a Linux kernel that runs as a
# process of this one, `uname -m` = um) and prints its JSON on stdout:
#   ci/run-uml.sh STATIC_MMCHECK CASES_DIR
# The guest's root is this machine's / through hostfs, read-only in spirit: the guest writes
# only in a fresh work directory. Three UBD disks hold fresh ext4, xfs and btrfs filesystems (the
# UML kernel has all three built in), as in the QEMU VMs. Progress lines go to stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=fs-image.sh
. "$here/fs-image.sh"
bin=$1
cases=$2
uml=$(command -v linux.uml) || { echo "error: linux.uml is missing (apt-get install user-mode-linux)" >&2; exit 1; }
busybox=$(command -v busybox) || { echo "error: busybox is missing (apt-get install busybox-static)" >&2; exit 1; }
if ldd "$busybox" >/dev/null 2>&1; then
  echo "error: $busybox is dynamically linked; the guest needs busybox-static" >&2
  exit 1
fi
[ -x "$bin" ] || { echo "error: no static mmcheck at $bin (make static)" >&2; exit 1; }
# The snapshots were made with Debian 12's user-mode-linux 6.1 (6.1.176): pinned to the series,
# as the VM kernels are.
want=${MMCHECK_UML_SERIES:-6.1}
got=$("$uml" --version 2>/dev/null | head -n 1)
case $got in
  "$want".*) ;;
  *) echo "error: the snapshots were made with User-mode Linux $want; this is ${got:-unknown} (MMCHECK_UML_SERIES runs it anyway; then review with make matrix BLESS=1)" >&2; exit 1 ;;
esac
bin=$(realpath "$bin")
cases=$(realpath "$cases")

work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$work/tmp" "$work/mnt"
disks=()
i=0
for fs in ext4 xfs btrfs; do
  make_fs_image "$fs" "$work/$fs.img"
  disks+=("ubd$i=$work/$fs.img")
  i=$((i + 1))
done

cat > "$work/init" <<INIT
#!$busybox sh
bb=$busybox
\$bb mount -t proc proc /proc
\$bb mount -t sysfs sys /sys
\$bb mount -t devtmpfs dev /dev
\$bb mkdir -p /dev/pts && \$bb mount -t devpts -o ptmxmode=0666 devpts /dev/pts
\$bb mount -t tmpfs -o size=1g,mode=1777 tmp $work/tmp
scratch=""
i=0
for fs in ext4 xfs btrfs; do
  dev=/dev/ubd\$(\$bb printf "\\\\x\$(\$bb printf %x \$((97 + i)))")
  i=\$((i + 1))
  \$bb mkdir -p "$work/mnt/\$fs"
  [ -e "\$dev" ] || \$bb mknod "\$dev" b 98 \$(( (i - 1) * 16 ))
  if \$bb mount -t "\$fs" "\$dev" "$work/mnt/\$fs" 2>/dev/null; then
    \$bb chmod 1777 "$work/mnt/\$fs"
    scratch="\$scratch\${scratch:+,}\$fs=$work/mnt/\$fs"
  fi
done
export MMCHECK_SCRATCH="tmpfs=$work/tmp,\$scratch" TMPDIR=$work/tmp PATH=/usr/sbin:/usr/bin:/sbin:/bin
$bin run --format json --cases $cases --progress \${MMCHECK_LAYOUT_SEED:+--layout-seed \$MMCHECK_LAYOUT_SEED} > $work/result.json 2> $work/progress
echo "MMCHECK-EXIT \$?" > $work/exit
\$bb sync
\$bb poweroff -f
INIT
chmod +x "$work/init"

: > "$work/progress"
timeout "${MMCHECK_UML_TIMEOUT:-900}" "$uml" mem=2048M root=/dev/root rootfstype=hostfs rootflags=/ rw \
  "${disks[@]}" init="$work/init" con=null con0=null,fd:2 \
  ${MMCHECK_LAYOUT_SEED:+MMCHECK_LAYOUT_SEED=$MMCHECK_LAYOUT_SEED} > "$work/console.log" 2>&1 < /dev/null &
pid=$!
tail -f --pid="$pid" "$work/progress" 2>/dev/null | grep --line-buffered '^mmcheck: progress' >&2 || true
wait "$pid" || true
pid=
if [ ! -s "$work/result.json" ] || [ ! -e "$work/exit" ]; then
  echo "error: the UML guest did not finish; the last console lines:" >&2
  tail -n 30 "$work/console.log" >&2
  exit 1
fi
cat "$work/result.json"
