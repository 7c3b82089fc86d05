# Sourced by the run scripts that give a guest or sandbox fresh filesystems.
# make_fs_image FS FILE: a fresh 320 MiB FS (ext4, xfs, btrfs) in the image FILE.
make_fs_image() {
  truncate -s 320M "$2"
  case $1 in
    ext4) mkfs.ext4 -q -F "$2" ;;
    *) "mkfs.$1" -q -f "$2" >/dev/null ;;
  esac
}
