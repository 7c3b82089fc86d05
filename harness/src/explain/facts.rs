//! What `explain --call` finds out about the process, the system, the file and the address range
//! before it matches the documented causes: each fact is a number a cause's `when` condition
//! names (`$cap_ipc_lock`, `$memlock_limit`, `$fd_noexec`, `$range_whole`, ...), with a sentence
//! that says what was found.
//!
//! Capabilities and resource limits are read in the explain process: the worker and the child
//! that runs the call inherit both unchanged. The address space facts come from the child's own
//! /proc/self/smaps, read just before the call.

use crate::names;
use crate::wire::SmapsEntry;
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Clone, Serialize)]
pub struct Fact {
    /// The name a `when` condition uses, without the `$`.
    pub name: String,
    pub value: u64,
    /// What kind of fact: process, system, memory, range, file, huge pages.
    pub group: &'static str,
    /// What was found, in words.
    pub text: String,
    /// A condition of a cause the report weighs names it, or it says what the file or range
    /// is: the text output shows it.
    pub used: bool,
}

/// The facts gathered for one call.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Facts(pub Vec<Fact>);

impl Facts {
    pub fn get(&self, name: &str) -> Option<u64> {
        self.0.iter().find(|f| f.name == name).map(|f| f.value)
    }

    fn add(&mut self, group: &'static str, name: &str, value: u64, text: String) {
        self.0.push(Fact {
            name: name.to_string(),
            value,
            group,
            text,
            used: false,
        });
    }

    fn flag(&mut self, group: &'static str, name: &str, on: bool, text: String) {
        self.add(group, name, u64::from(on), text);
    }
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// `8 MiB`, `unlimited`, `4096 bytes`.
pub fn bytes(v: u64) -> String {
    if v == u64::MAX {
        return "unlimited".into();
    }
    for (unit, size) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
        if v >= size && v % size == 0 {
            return format!("{} {unit}", v / size);
        }
    }
    format!("{v} bytes")
}

/// The capabilities and resource limits of this process, which the child inherits.
pub fn process(f: &mut Facts) {
    use caps::{CapSet, Capability};
    for (name, cap) in [
        ("cap_ipc_lock", Capability::CAP_IPC_LOCK),
        ("cap_sys_admin", Capability::CAP_SYS_ADMIN),
        ("cap_sys_nice", Capability::CAP_SYS_NICE),
        ("cap_sys_rawio", Capability::CAP_SYS_RAWIO),
        ("cap_sys_resource", Capability::CAP_SYS_RESOURCE),
    ] {
        let has = caps::has_cap(None, CapSet::Effective, cap).unwrap_or(false);
        f.flag(
            "process",
            name,
            has,
            format!("{cap} in the effective set: {}", yes(has)),
        );
    }
    use nix::sys::resource::{getrlimit, Resource};
    for (name, res, label) in [
        ("memlock_limit", Resource::RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK"),
        ("as_limit", Resource::RLIMIT_AS, "RLIMIT_AS"),
        ("data_limit", Resource::RLIMIT_DATA, "RLIMIT_DATA"),
    ] {
        let soft = getrlimit(res).map(|(s, _)| s).unwrap_or(u64::MAX);
        f.add(
            "process",
            name,
            soft,
            format!("{label} (soft limit): {}", bytes(soft)),
        );
    }
    let bits = usize::BITS as u64;
    f.add(
        "system",
        "long_bits",
        bits,
        format!("{bits}-bit kernel and process"),
    );
}

fn read_number(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// A /proc/meminfo line in bytes (`CommitLimit:  123 kB`).
fn meminfo(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
}

/// The system's settings: vm.* sysctls, overcommit accounting, what the kernel was built with.
pub fn system(f: &mut Facts) {
    let min = read_number("/proc/sys/vm/mmap_min_addr").unwrap_or(0);
    f.add(
        "system",
        "mmap_min_addr",
        min,
        format!("vm.mmap_min_addr: {min:#x}"),
    );
    let mode = read_number("/proc/sys/vm/overcommit_memory").unwrap_or(0);
    let said = match mode {
        0 => "0 (heuristic)",
        1 => "1 (always overcommit)",
        2 => "2 (strict: CommitLimit)",
        _ => "unknown",
    };
    f.add(
        "system",
        "overcommit_memory",
        mode,
        format!("vm.overcommit_memory: {said}"),
    );
    let mi = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let limit = meminfo(&mi, "CommitLimit").unwrap_or(u64::MAX);
    let committed = meminfo(&mi, "Committed_AS").unwrap_or(0);
    f.add(
        "system",
        "commit_limit",
        limit,
        format!("CommitLimit: {} (enforced only in mode 2)", bytes(limit)),
    );
    f.add(
        "system",
        "committed_as",
        committed,
        format!("Committed_AS: {}", bytes(committed)),
    );
    let ram_swap = meminfo(&mi, "MemTotal")
        .unwrap_or(0)
        .saturating_add(meminfo(&mi, "SwapTotal").unwrap_or(0));
    f.add(
        "system",
        "ram_swap",
        ram_swap,
        format!(
            "RAM plus swap (the heuristic mode's bound): {}",
            bytes(ram_swap)
        ),
    );
    let max = read_number("/proc/sys/vm/max_map_count").unwrap_or(65530);
    f.add(
        "system",
        "max_map_count",
        max,
        format!("vm.max_map_count: {max}"),
    );
    // CONFIG_MEMORY_FAILURE brings MADV_HWPOISON, MADV_SOFT_OFFLINE and these sysctls.
    let mf = Path::new("/proc/sys/vm/memory_failure_early_kill").exists();
    f.flag(
        "system",
        "memory_failure",
        mf,
        format!(
            "kernel built with CONFIG_MEMORY_FAILURE (MADV_HWPOISON, MADV_SOFT_OFFLINE): {}",
            yes(mf)
        ),
    );
}

/// The child's address space just before the call, from its /proc/self/smaps, and the range
/// [addr, addr+len) the call names (len rounded up to whole pages).
pub fn address_space(f: &mut Facts, all: &[SmapsEntry], range: Option<(u64, u64)>) {
    let has = |e: &SmapsEntry, flag: &str| e.vmflags.iter().any(|v| v == flag);
    let count = all.len() as u64;
    let size: u64 = all.iter().map(|e| e.end - e.start).sum();
    let data: u64 = all
        .iter()
        .filter(|e| has(e, "wr") && !has(e, "sh") && !has(e, "gd"))
        .map(|e| e.end - e.start)
        .sum();
    let locked: u64 = all
        .iter()
        .filter(|e| has(e, "lo"))
        .map(|e| e.end - e.start)
        .sum();
    f.add(
        "memory",
        "map_count",
        count,
        format!("mappings in the child before the call: {count}"),
    );
    f.add(
        "memory",
        "vm_size",
        size,
        format!("its address space (VmSize): {}", bytes(size)),
    );
    f.add(
        "memory",
        "vm_data",
        data,
        format!(
            "its private writable memory (VmData, what RLIMIT_DATA limits): {}",
            bytes(data)
        ),
    );
    f.add(
        "memory",
        "locked",
        locked,
        format!("its locked memory (VmLck): {}", bytes(locked)),
    );
    let Some((addr, len)) = range else {
        return;
    };
    let page = crate::sys::page_size();
    let start = addr & !(page - 1);
    let end = addr
        .saturating_add(len)
        .checked_add(page - 1)
        .map_or(u64::MAX, |e| e & !(page - 1))
        .max(start);
    let inside: Vec<&SmapsEntry> = all
        .iter()
        .filter(|e| e.start < end && e.end > start)
        .collect();
    let covered: u64 = inside
        .iter()
        .map(|e| e.end.min(end) - e.start.max(start))
        .sum();
    let at = all.iter().find(|e| e.start <= addr && addr < e.end);
    let whole = end > start && covered == end - start;
    let shown = format!("[{start:#x}, {end:#x})");
    f.flag(
        "range",
        "addr_mapped",
        at.is_some(),
        format!("{addr:#x} lies in a mapping: {}", yes(at.is_some())),
    );
    let how = if whole {
        "wholly mapped"
    } else if covered > 0 {
        "partly mapped"
    } else {
        "not mapped at all"
    };
    f.flag(
        "range",
        "range_mapped",
        covered > 0,
        format!("some page of {shown} is mapped: {}", yes(covered > 0)),
    );
    f.flag("range", "range_whole", whole, format!("{shown} is {how}"));
    let shared = at.is_some_and(|e| has(e, "sh"));
    f.flag(
        "range",
        "addr_shared",
        shared,
        format!(
            "the mapping at {addr:#x} is shared (VmFlags sh): {}",
            yes(shared)
        ),
    );
    let lo = inside.iter().any(|e| has(e, "lo"));
    f.flag(
        "range",
        "range_locked",
        lo,
        format!("{shown} holds locked memory (VmFlags lo): {}", yes(lo)),
    );
}

/// What the descriptor argument `file:PATH:FLAGS` is: its type, how it is opened, its
/// filesystem and mount, its inode attributes.
pub fn file(f: &mut Facts, path: &str, flags: &str, opened: bool) {
    use std::os::unix::fs::FileTypeExt;
    let p = Path::new(path);
    let meta = std::fs::metadata(p).ok();
    let kind = meta.as_ref().map(|m| m.file_type());
    let is = |k: fn(&std::fs::FileType) -> bool| kind.as_ref().is_some_and(k);
    let what = match &kind {
        Some(k) if k.is_file() => "a regular file",
        Some(k) if k.is_dir() => "a directory",
        Some(k) if k.is_fifo() => "a FIFO (named pipe)",
        Some(k) if k.is_socket() => "a socket",
        Some(k) if k.is_char_device() => "a character device",
        Some(k) if k.is_block_device() => "a block device",
        Some(_) => "something else",
        None => "missing",
    };
    let value = |name: &str| names::constant(name).map_or(0, |k| k.value);
    let open_flags = flags
        .split('|')
        .map(|w| value(w.trim()))
        .fold(0, |a, b| a | b);
    let o_path = open_flags & value("O_PATH") != 0;
    let access = open_flags & 3;
    let mode = if o_path {
        "O_PATH (no access at all)"
    } else {
        match access {
            0 => "O_RDONLY",
            1 => "O_WRONLY",
            _ => "O_RDWR",
        }
    };
    f.flag(
        "file",
        "fd_open",
        opened,
        if opened {
            format!("{path} is {what}, opened {mode}")
        } else {
            format!("{path} is {what}; opening it {mode} failed")
        },
    );
    f.flag(
        "file",
        "fd_regular",
        is(|k| k.is_file()),
        format!("regular file: {}", yes(is(|k| k.is_file()))),
    );
    f.flag(
        "file",
        "fd_dir",
        is(|k| k.is_dir()),
        format!("directory: {}", yes(is(|k| k.is_dir()))),
    );
    f.flag(
        "file",
        "fd_pipe",
        is(|k| k.is_fifo()),
        format!("pipe or FIFO: {}", yes(is(|k| k.is_fifo()))),
    );
    f.flag(
        "file",
        "fd_chr",
        is(|k| k.is_char_device()),
        format!("character device: {}", yes(is(|k| k.is_char_device()))),
    );
    f.flag(
        "file",
        "fd_socket",
        is(|k| k.is_socket()),
        format!("socket: {}", yes(is(|k| k.is_socket()))),
    );
    let readable = opened && !o_path && access != 1;
    let writable = opened && !o_path && access != 0;
    f.flag(
        "file",
        "fd_readable",
        readable,
        format!("open for reading: {}", yes(readable)),
    );
    f.flag(
        "file",
        "fd_writable",
        writable,
        format!("open for writing: {}", yes(writable)),
    );
    f.flag(
        "file",
        "fd_path",
        o_path,
        format!("an O_PATH descriptor: {}", yes(o_path)),
    );
    let append = open_flags & value("O_APPEND") != 0;
    f.flag(
        "file",
        "fd_append",
        append,
        format!("opened O_APPEND: {}", yes(append)),
    );
    let size = meta.as_ref().map_or(0, |m| m.len());
    f.add("file", "fd_size", size, format!("size: {}", bytes(size)));

    // The filesystem: its type and mount options from mountinfo, noexec and read-only from
    // statvfs (what the kernel checks), hugetlbfs from statfs's magic.
    let (fstype, options) = mount_of(p).unwrap_or_default();
    let magic = crate::sys::fs_magic(p).unwrap_or(0);
    let hugetlbfs = magic == 0x9584_58f6;
    let vfs = nix::sys::statvfs::statvfs(p).ok().map(|s| s.flags());
    use nix::sys::statvfs::FsFlags;
    let noexec = vfs.is_some_and(|fl| fl.contains(FsFlags::ST_NOEXEC));
    let rofs = vfs.is_some_and(|fl| fl.contains(FsFlags::ST_RDONLY));
    f.flag(
        "file",
        "fd_hugetlbfs",
        hugetlbfs,
        format!(
            "filesystem: {} (mount options {})",
            if fstype.is_empty() {
                "unknown"
            } else {
                &fstype
            },
            if options.is_empty() {
                "unknown"
            } else {
                &options
            }
        ),
    );
    f.flag(
        "file",
        "fd_noexec",
        noexec,
        format!("mounted noexec: {}", yes(noexec)),
    );
    f.flag(
        "file",
        "fd_rofs",
        rofs,
        format!("mounted read-only: {}", yes(rofs)),
    );
    let dax = crate::sys::statx_attributes(p)
        .map(|(attrs, _)| attrs & libc::STATX_ATTR_DAX as u64 != 0)
        .unwrap_or(false)
        || options.split(',').any(|o| o == "dax" || o == "dax=always");
    f.flag(
        "file",
        "fd_dax",
        dax,
        format!("DAX (direct access, what MAP_SYNC needs): {}", yes(dax)),
    );
    // Inode attributes (chattr +a, +i): only regular files and directories have them.
    let iflags = if is(|k| k.is_file() || k.is_dir()) {
        crate::sys::inode_flags(p).unwrap_or(0)
    } else {
        0
    };
    const FS_IMMUTABLE_FL: u64 = 0x10;
    const FS_APPEND_FL: u64 = 0x20;
    let ao = iflags & FS_APPEND_FL != 0;
    let im = iflags & FS_IMMUTABLE_FL != 0;
    f.flag(
        "file",
        "fd_append_only",
        ao,
        format!("append-only attribute (chattr +a): {}", yes(ao)),
    );
    f.flag(
        "file",
        "fd_immutable",
        im,
        format!("immutable attribute (chattr +i): {}", yes(im)),
    );
}

/// The facts of a descriptor that is no file: a pipe the harness made, or no descriptor.
pub fn other_fd(f: &mut Facts, pipe: bool) {
    f.flag(
        "file",
        "fd_open",
        pipe,
        if pipe {
            "fd is the read end of a pipe".into()
        } else {
            "fd is not an open descriptor".into()
        },
    );
    f.flag(
        "file",
        "fd_pipe",
        pipe,
        format!("pipe or FIFO: {}", yes(pipe)),
    );
    f.flag(
        "file",
        "fd_readable",
        pipe,
        format!("open for reading: {}", yes(pipe)),
    );
}

/// (filesystem type, super and mount options) of the mount holding `path`, from
/// /proc/self/mountinfo: the mount point that is the longest prefix of the path.
fn mount_of(path: &Path) -> Option<(String, String)> {
    let path = std::fs::canonicalize(path)
        .ok()
        .or_else(|| path.parent().and_then(|p| std::fs::canonicalize(p).ok()))?;
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mut best: Option<(usize, String, String)> = None;
    for line in text.lines() {
        let (left, right) = line.split_once(" - ")?;
        let l: Vec<&str> = left.split_whitespace().collect();
        let r: Vec<&str> = right.split_whitespace().collect();
        let (Some(point), Some(mopts), Some(fstype)) = (l.get(4), l.get(5), r.first()) else {
            continue;
        };
        let point = point.replace("\\040", " ");
        if path.starts_with(&point) && best.as_ref().is_none_or(|b| point.len() >= b.0) {
            let sopts = r.get(2).copied().unwrap_or("");
            best = Some((point.len(), fstype.to_string(), format!("{mopts},{sopts}")));
        }
    }
    best.map(|(_, t, o)| (t, o))
}

/// The huge page pool a MAP_HUGETLB or MFD_HUGETLB call asks for: the size its MAP_HUGE_* bits
/// name (bits 26-31, the size's log2), or the default size, whether the system has that size,
/// and how much of it is free and not reserved.
pub fn huge_pages(f: &mut Facts, flags: u64) {
    let log2 = (flags >> 26) & 0x3f;
    let default = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| meminfo(&m, "Hugepagesize"))
        .unwrap_or(2 << 20);
    let size = if log2 == 0 { default } else { 1u64 << log2 };
    let dir = format!("/sys/kernel/mm/hugepages/hugepages-{}kB", size / 1024);
    let supported = Path::new(&dir).exists();
    let free = read_number(&format!("{dir}/free_hugepages")).unwrap_or(0);
    let resv = read_number(&format!("{dir}/resv_hugepages")).unwrap_or(0);
    let total = read_number(&format!("{dir}/nr_hugepages")).unwrap_or(0);
    let available = free.saturating_sub(resv) * size;
    f.add(
        "huge pages",
        "huge_size",
        size,
        format!(
            "huge page size asked for: {}{}",
            bytes(size),
            if log2 == 0 { " (the default)" } else { "" }
        ),
    );
    f.flag(
        "huge pages",
        "huge_size_supported",
        supported,
        format!(
            "the system has {} huge pages: {}",
            bytes(size),
            yes(supported)
        ),
    );
    f.add(
        "huge pages",
        "huge_free",
        available,
        format!(
            "that pool: {total} pages, {free} free, {resv} reserved: {} available",
            bytes(available)
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_plainly() {
        assert_eq!(bytes(u64::MAX), "unlimited");
        assert_eq!(bytes(8 << 20), "8 MiB");
        assert_eq!(bytes(4096), "4 KiB");
        assert_eq!(bytes(100), "100 bytes");
        assert_eq!(
            meminfo("CommitLimit:    1024 kB\n", "CommitLimit"),
            Some(1 << 20)
        );
    }

    #[test]
    fn a_range_is_wholly_partly_or_not_mapped() {
        let page = crate::sys::page_size();
        let e = |s: u64, n: u64, flags: &[&str]| SmapsEntry {
            start: s * page,
            end: (s + n) * page,
            vmflags: flags.iter().map(|s| s.to_string()).collect(),
            rss: 0,
            locked: 0,
            anon_huge: 0,
            pkey: None,
            kernel_page: None,
            mmu_page: None,
            mapping: None,
        };
        let all = [e(16, 4, &["rd", "wr"]), e(24, 2, &["rd", "sh", "lo"])];
        let facts = |addr: u64, len: u64| {
            let mut f = Facts::default();
            address_space(&mut f, &all, Some((addr * page, len * page)));
            f
        };
        let f = facts(16, 4);
        assert_eq!(f.get("range_whole"), Some(1));
        assert_eq!(f.get("vm_data"), Some(4 * page));
        assert_eq!(f.get("locked"), Some(2 * page));
        assert_eq!(f.get("map_count"), Some(2));
        let f = facts(18, 4);
        assert_eq!(
            (f.get("range_mapped"), f.get("range_whole")),
            (Some(1), Some(0))
        );
        let f = facts(20, 4);
        assert_eq!(
            (f.get("range_mapped"), f.get("addr_mapped")),
            (Some(0), Some(0))
        );
        let f = facts(24, 1);
        assert_eq!(
            (f.get("addr_shared"), f.get("range_locked")),
            (Some(1), Some(1))
        );
    }
}
