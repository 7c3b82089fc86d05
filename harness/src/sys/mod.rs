//! The only unsafe code of mmcheck: raw system calls, fork and exec, signal handling, fault probes.
//! Calls under test go through `syscall(2)` with raw arguments, so a case can pass what libc's
//! and nix's wrappers would refuse or fix up (zero lengths, unaligned addresses, unknown bits,
//! descriptor numbers that may be invalid on purpose). Everything else uses nix's safe wrappers.

pub mod probe;
mod process;
pub mod uffd;

pub use process::*;

use std::ffi::CString;

/// The result of a raw system call: its return value, or the errno.
pub type SysResult = Result<u64, i32>;

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// `syscall(nr, a...)`, with every argument passed as the full 64-bit register value.
pub fn raw(nr: libc::c_long, a: [u64; 6]) -> SysResult {
    // SAFETY: the kernel validates every argument of a system call; the memory-mapping calls
    // can change this process's address space, which is what a case is for, and the cases run
    // in a forked child whose damage ends with it.
    let r = unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) };
    if r == -1 {
        Err(errno())
    } else {
        Ok(r as u64)
    }
}

pub mod nr {
    pub use libc::SYS_fchmod as FCHMOD;
    pub use libc::{
        SYS_close as CLOSE, SYS_fallocate as FALLOCATE, SYS_fcntl as FCNTL, SYS_fsync as FSYNC,
        SYS_ftruncate as FTRUNCATE, SYS_madvise as MADVISE, SYS_memfd_create as MEMFD_CREATE,
        SYS_mincore as MINCORE, SYS_mlock as MLOCK, SYS_mlock2 as MLOCK2, SYS_mlockall as MLOCKALL,
        SYS_mmap as MMAP, SYS_mprotect as MPROTECT, SYS_mremap as MREMAP, SYS_msync as MSYNC,
        SYS_munlock as MUNLOCK, SYS_munlockall as MUNLOCKALL, SYS_munmap as MUNMAP,
        SYS_openat as OPENAT, SYS_personality as PERSONALITY, SYS_pipe2 as PIPE2,
        SYS_pread64 as PREAD, SYS_pwrite64 as PWRITE, SYS_read as READ,
        SYS_remap_file_pages as REMAP_FILE_PAGES, SYS_sendfile as SENDFILE,
        SYS_setrlimit as SETRLIMIT, SYS_splice as SPLICE, SYS_vmsplice as VMSPLICE,
        SYS_write as WRITE,
    };
    pub use libc::{
        SYS_pidfd_open as PIDFD_OPEN, SYS_prctl as PRCTL, SYS_process_madvise as PROCESS_MADVISE,
    };
    /// mseal(2), Linux 6.10; not yet in every libc.
    pub const MSEAL: libc::c_long = 462;

    // The protection key calls (Linux 4.9) have numbers of their own on each architecture, and
    // libc lacks them for powerpc64.
    #[cfg(target_arch = "x86_64")]
    pub const PKEY_MPROTECT: libc::c_long = 329;
    #[cfg(target_arch = "x86_64")]
    pub const PKEY_ALLOC: libc::c_long = 330;
    #[cfg(target_arch = "x86_64")]
    pub const PKEY_FREE: libc::c_long = 331;
    #[cfg(target_arch = "aarch64")]
    pub const PKEY_MPROTECT: libc::c_long = 288;
    #[cfg(target_arch = "aarch64")]
    pub const PKEY_ALLOC: libc::c_long = 289;
    #[cfg(target_arch = "aarch64")]
    pub const PKEY_FREE: libc::c_long = 290;
    #[cfg(target_arch = "powerpc64")]
    pub const PKEY_ALLOC: libc::c_long = 384;
    #[cfg(target_arch = "powerpc64")]
    pub const PKEY_FREE: libc::c_long = 385;
    #[cfg(target_arch = "powerpc64")]
    pub const PKEY_MPROTECT: libc::c_long = 386;

    #[cfg(all(test, not(target_arch = "powerpc64")))]
    #[test]
    fn pkey_numbers_agree_with_libc() {
        assert_eq!(PKEY_MPROTECT, libc::SYS_pkey_mprotect);
        assert_eq!(PKEY_ALLOC, libc::SYS_pkey_alloc);
        assert_eq!(PKEY_FREE, libc::SYS_pkey_free);
    }
}

/// Whether this kernel and processor give protection keys to a process: one can be allocated
/// (and is freed again). The errno otherwise: ENOSPC without hardware or kernel support,
/// ENOSYS where the call does not exist.
pub fn pkeys_available() -> Result<(), i32> {
    let key = raw(nr::PKEY_ALLOC, [0; 6])?;
    raw(nr::PKEY_FREE, [key, 0, 0, 0, 0, 0]).map(|_| ())
}

/// Sets the calling thread's rights for protection key `pkey` (PKEY_DISABLE_ACCESS,
/// PKEY_DISABLE_WRITE) in the x86 PKRU register, without a system call, as pkeys(7) describes.
/// `Err` with the reason where this cannot be done: another architecture (arm64's POR_EL0 and
/// powerpc's AMR are not written here), or a key or rights out of range.
pub fn set_pkey_rights(pkey: u64, rights: u64) -> Result<(), String> {
    if pkey > 15 || rights > 3 {
        return Err(format!(
            "PKRU holds keys 0 to 15 and rights 0 to 3; got key {pkey}, rights {rights}"
        ));
    }
    #[cfg(target_arch = "x86_64")]
    {
        // Callers run it only where pkey_alloc gave a key, so the kernel has set CR4.PKE and
        // RDPKRU/WRPKRU do not raise #UD.
        let shift = 2 * pkey as u32;
        let mut pkru: u32;
        // SAFETY: RDPKRU reads the thread's PKRU register into eax (ecx must be 0, edx is
        // clobbered); it touches no memory.
        unsafe {
            std::arch::asm!("rdpkru", in("ecx") 0u32, out("eax") pkru, out("edx") _,
                options(nomem, nostack, preserves_flags));
        }
        pkru = (pkru & !(3 << shift)) | ((rights as u32) << shift);
        // SAFETY: WRPKRU changes only which pages tagged with a key this thread may access;
        // no Rust invariant depends on it. A case that takes away the rights of key 0, which the
        // harness's own memory carries, crashes only its own child, which is reported BROKEN.
        unsafe {
            std::arch::asm!("wrpkru", in("eax") pkru, in("ecx") 0u32, in("edx") 0u32,
                options(nostack, preserves_flags));
        }
        Ok(())
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Err("setting a key's rights without pkey_alloc is written for x86_64 (WRPKRU) only".into())
    }
}

/// process_madvise(pidfd, iovec, 1, advice, flags) with the one range [addr, addr+len).
/// process_madvise(2) with these ranges as its iovec array and `vlen` as given: a `vlen` beyond
/// the ranges is padded with empty ranges (up to IOV_MAX, past which the kernel reads nothing).
pub fn process_madvise(
    pidfd: u64,
    ranges: &[(u64, u64)],
    vlen: u64,
    advice: u64,
    flags: u64,
) -> SysResult {
    const IOV_MAX: usize = 1024;
    let mut iov: Vec<libc::iovec> = ranges
        .iter()
        .map(|&(addr, len)| libc::iovec {
            iov_base: addr as *mut libc::c_void,
            iov_len: len as usize,
        })
        .collect();
    let want = (vlen as usize).min(IOV_MAX);
    while iov.len() < want {
        iov.push(libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        });
    }
    raw(
        nr::PROCESS_MADVISE,
        [pidfd, iov.as_ptr() as u64, vlen, advice, flags, 0],
    )
}

/// Where the kernel mapped the vDSO, from the auxiliary vector; `None` without one.
pub fn vdso_base() -> Option<u64> {
    // SAFETY: getauxval only reads the auxiliary vector the kernel left for the process.
    let base = unsafe { libc::getauxval(libc::AT_SYSINFO_EHDR) };
    (base != 0).then_some(base as u64)
}

/// Memory for the harness's own use in a case child, between two PROT_NONE guard pages, so that
/// the kernel never merges it with a mapping of the case: smaps reports Rss and Locked per
/// mapping, and a merge would add the harness's pages to the case's. Lives as long as the process.
pub fn fenced_region(len: usize) -> Option<&'static mut [u8]> {
    let page = page_size() as usize;
    let len = len.div_ceil(page) * page;
    // SAFETY: a fresh anonymous reservation nobody else refers to; only its middle is made
    // accessible, and the slice handed out covers exactly that middle, for the process's life.
    unsafe {
        let base = libc::mmap(
            std::ptr::null_mut(),
            len + 2 * page,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if base == libc::MAP_FAILED {
            return None;
        }
        let middle = (base as *mut u8).add(page);
        if libc::mprotect(middle.cast(), len, libc::PROT_READ | libc::PROT_WRITE) != 0 {
            return None;
        }
        Some(std::slice::from_raw_parts_mut(middle, len))
    }
}

/// Keeps this process on the CPU it runs on now. Per-CPU state makes some kernel results depend
/// on which CPU a call runs on (MADV_PAGEOUT reclaims only pages that left the per-CPU LRU
/// batches, and drains the current CPU's alone), so a case that moved between CPUs could see
/// either. Best effort: a sandbox may refuse, and then nothing changes.
pub fn stay_on_this_cpu() {
    use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
    use nix::unistd::Pid;
    // SAFETY: sched_getcpu has no preconditions.
    let cpu = unsafe { libc::sched_getcpu() };
    let Ok(allowed) = sched_getaffinity(Pid::from_raw(0)) else {
        return;
    };
    if cpu < 0 || !allowed.is_set(cpu as usize).unwrap_or(false) {
        return;
    }
    let mut one = CpuSet::new();
    if one.set(cpu as usize).is_ok() {
        let _ = sched_setaffinity(Pid::from_raw(0), &one);
    }
}

/// The running page size.
pub fn page_size() -> u64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE) {
        Ok(Some(p)) if p > 0 => p as u64,
        _ => 4096,
    }
}

/// The default huge page size of the running kernel: `Hugepagesize` in /proc/meminfo (the
/// hugetlb default, which is also the PMD-level THP size on x86_64, arm64 with 4K or 16K pages and
/// powerpc: 2 MiB, 32 MiB, 2 or 16 MiB), else the THP PMD size from sysfs, else 2 MiB.
pub fn huge_page_size() -> u64 {
    static SIZE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *SIZE.get_or_init(|| {
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let from_meminfo = meminfo.lines().find_map(|l| {
            let kb = l.strip_prefix("Hugepagesize:")?.trim().strip_suffix("kB")?;
            kb.trim().parse::<u64>().ok().map(|kb| kb * 1024)
        });
        from_meminfo
            .or_else(|| {
                std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size")
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
            })
            .filter(|&n| n > 0)
            .unwrap_or(2 << 20)
    })
}

/// The width in columns of the terminal `fd` is, when it is one (TIOCGWINSZ) and says.
pub fn terminal_columns(fd: i32) -> Option<u16> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ only writes a `struct winsize` through the pointer, which points to one
    // on this stack frame; a descriptor that is no terminal gives ENOTTY and writes nothing.
    let r = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) };
    (r == 0 && ws.ws_col > 0).then_some(ws.ws_col)
}

/// `write(2)` of a whole buffer to a descriptor; records are small, so one call suffices unless
/// interrupted.
pub fn write_all(fd: i32, mut buf: &[u8]) -> Result<(), i32> {
    while !buf.is_empty() {
        match raw(
            nr::WRITE,
            [fd as u64, buf.as_ptr() as u64, buf.len() as u64, 0, 0, 0],
        ) {
            Ok(0) => return Err(libc::EIO),
            Ok(n) => buf = &buf[n as usize..],
            Err(libc::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads into a buffer of ours; `offset` selects pread.
pub fn read_into(fd: i32, buf: &mut [u8], offset: Option<u64>) -> SysResult {
    let (ptr, len) = (buf.as_mut_ptr() as u64, buf.len() as u64);
    match offset {
        Some(off) => raw(nr::PREAD, [fd as u64, ptr, len, off, 0, 0]),
        None => raw(nr::READ, [fd as u64, ptr, len, 0, 0, 0]),
    }
}

/// Writes a buffer of ours; `offset` selects pwrite.
pub fn write_from(fd: i32, buf: &[u8], offset: Option<u64>) -> SysResult {
    let (ptr, len) = (buf.as_ptr() as u64, buf.len() as u64);
    match offset {
        Some(off) => raw(nr::PWRITE, [fd as u64, ptr, len, off, 0, 0]),
        None => raw(nr::WRITE, [fd as u64, ptr, len, 0, 0, 0]),
    }
}

/// sendfile(out, in, offset, count); a given offset is passed through a variable of ours (the
/// kernel updates it; the case sees only the count).
pub fn sendfile(out: i32, input: i32, offset: Option<u64>, count: u64) -> SysResult {
    let mut off = offset.unwrap_or(0) as i64;
    let ptr = match offset {
        Some(_) => &mut off as *mut i64 as u64,
        None => 0,
    };
    raw(nr::SENDFILE, [out as u64, input as u64, ptr, count, 0, 0])
}

/// splice(in, off_in, out, off_out, len, flags), each given offset through a variable of ours.
pub fn splice(
    input: i32,
    off_in: Option<u64>,
    out: i32,
    off_out: Option<u64>,
    len: u64,
    flags: u64,
) -> SysResult {
    let (mut a, mut b) = (off_in.unwrap_or(0) as i64, off_out.unwrap_or(0) as i64);
    let pa = off_in.map_or(0, |_| &mut a as *mut i64 as u64);
    let pb = off_out.map_or(0, |_| &mut b as *mut i64 as u64);
    raw(nr::SPLICE, [input as u64, pa, out as u64, pb, len, flags])
}

/// vmsplice(fd, {addr, len}, 1, flags): `addr` is the case's memory, passed as is.
pub fn vmsplice(fd: i32, addr: u64, len: u64, flags: u64) -> SysResult {
    let iov = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: len as usize,
    };
    raw(
        nr::VMSPLICE,
        [fd as u64, &iov as *const libc::iovec as u64, 1, flags, 0, 0],
    )
}

/// openat(AT_FDCWD, path, flags, mode).
pub fn open(path: &str, flags: u64, mode: u64) -> SysResult {
    let c = CString::new(path).map_err(|_| libc::EINVAL)?;
    raw(
        nr::OPENAT,
        [libc::AT_FDCWD as u64, c.as_ptr() as u64, flags, mode, 0, 0],
    )
}

pub fn memfd_create(name: &str, flags: u64) -> SysResult {
    let c = CString::new(name).map_err(|_| libc::EINVAL)?;
    raw(nr::MEMFD_CREATE, [c.as_ptr() as u64, flags, 0, 0, 0, 0])
}

/// mincore into a buffer of ours.
pub fn mincore(addr: u64, len: u64, vec: &mut [u8]) -> SysResult {
    raw(nr::MINCORE, [addr, len, vec.as_mut_ptr() as u64, 0, 0, 0])
}

pub fn setrlimit(resource: u64, soft: u64, hard: u64) -> SysResult {
    let lim = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    raw(
        nr::SETRLIMIT,
        [resource, &lim as *const _ as u64, 0, 0, 0, 0],
    )
}

pub fn fstat(fd: i32) -> Result<FileStat, i32> {
    // SAFETY: fstat fills the zeroed struct we own.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(fd, &mut st) == 0 {
            let ns = |sec: i64, nsec: i64| sec.saturating_mul(1_000_000_000).saturating_add(nsec);
            Ok(FileStat {
                size: st.st_size as u64,
                blocks: st.st_blocks as u64,
                mtime_ns: ns(st.st_mtime as i64, st.st_mtime_nsec as i64),
                ctime_ns: ns(st.st_ctime as i64, st.st_ctime_nsec as i64),
            })
        } else {
            Err(errno())
        }
    }
}

/// What `fstat` tells a case: size, blocks, and the modification and status change times in
/// nanoseconds since the epoch.
#[derive(Debug, Clone, Copy)]
pub struct FileStat {
    pub size: u64,
    pub blocks: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
}

/// Whether the filesystem holding `path` is mounted noexec (statvfs's ST_NOEXEC).
pub fn mounted_noexec(path: &std::path::Path) -> bool {
    nix::sys::statvfs::statvfs(path)
        .is_ok_and(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_NOEXEC))
}

/// Sleeps for `millis` milliseconds.
pub fn sleep_ms(millis: u64) {
    std::thread::sleep(std::time::Duration::from_millis(millis));
}

/// Minor and major faults of this process so far.
pub fn fault_counts() -> (u64, u64) {
    use nix::sys::resource::{getrusage, UsageWho};
    getrusage(UsageWho::RUSAGE_SELF)
        .map(|u| (u.minor_page_faults() as u64, u.major_page_faults() as u64))
        .unwrap_or((0, 0))
}

/// A pipe whose descriptors the caller manages by number (a case's `pipe` step, the record pipe
/// of a child, which must outlive Rust's ownership through fork and exec).
pub fn pipe(cloexec: bool) -> Result<(i32, i32), i32> {
    use nix::fcntl::OFlag;
    use std::os::fd::IntoRawFd;
    let flags = if cloexec {
        OFlag::O_CLOEXEC
    } else {
        OFlag::empty()
    };
    nix::unistd::pipe2(flags)
        .map(|(r, w)| (r.into_raw_fd(), w.into_raw_fd()))
        .map_err(|e| e as i32)
}

/// pipe2(flags) for a case's `pipe` step: (read end, write end).
pub fn pipe_with(flags: u64) -> Result<(i32, i32), i32> {
    let mut fds = [-1i32; 2];
    raw(nr::PIPE2, [fds.as_mut_ptr() as u64, flags, 0, 0, 0, 0])?;
    Ok((fds[0], fds[1]))
}

pub fn close(fd: i32) {
    let _ = nix::unistd::close(fd);
}

/// Closes every descriptor from 3 up except `keep`, so that a case starts with the same
/// descriptor table wherever the runner was started (a shell, make or CI may leave extra
/// descriptors open, which would shift every limit a case counts against RLIMIT_NOFILE).
pub fn close_inherited(keep: i32) {
    let keep = keep.max(2) as u32;
    let ranges = [(3u32, keep.saturating_sub(1)), (keep + 1, u32::MAX)];
    for (first, last) in ranges {
        if first > last {
            continue;
        }
        // SAFETY: close_range(2) only closes descriptors; none of the ones closed here is owned
        // by live Rust objects in the freshly forked child (the worker's own are CLOEXEC pipes
        // it never reads in the child).
        let r = unsafe { libc::syscall(libc::SYS_close_range, first, last, 0u32) };
        if r != 0 {
            // Kernels (or sandboxes) without close_range: close what /proc lists.
            let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
                return;
            };
            let open: Vec<i32> = dir
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect();
            for fd in open {
                if fd as u32 >= first && fd as u32 <= last {
                    close(fd);
                }
            }
        }
    }
}

/// The highest descriptor number the soft RLIMIT_NOFILE allows.
pub fn top_fd() -> i32 {
    use nix::sys::resource::{getrlimit, Resource};
    // Read once: the worker asks before every case and its limit does not change.
    static TOP: std::sync::OnceLock<i32> = std::sync::OnceLock::new();
    *TOP.get_or_init(|| {
        let soft = getrlimit(Resource::RLIMIT_NOFILE).map_or(1024, |(soft, _)| soft);
        soft.clamp(4, i32::MAX as u64) as i32 - 1
    })
}

/// Moves descriptor `fd` to number `to` (close-on-exec), closing whatever `to` was.
pub fn move_fd(fd: i32, to: i32) -> i32 {
    if fd == to {
        return fd;
    }
    // SAFETY: dup3 and close act on descriptor numbers only; `to` is the caller's to overwrite.
    unsafe {
        if libc::dup3(fd, to, libc::O_CLOEXEC) != to {
            return fd;
        }
        libc::close(fd);
    }
    to
}

pub fn dup2(from: i32, to: i32) {
    // SAFETY: as close.
    unsafe {
        libc::dup2(from, to);
    }
}

pub fn set_cloexec(fd: i32, on: bool) {
    // SAFETY: fcntl on a descriptor number has no memory-safety effect.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFD);
        let flags = if on {
            flags | libc::FD_CLOEXEC
        } else {
            flags & !libc::FD_CLOEXEC
        };
        libc::fcntl(fd, libc::F_SETFD, flags);
    }
}

/// The filesystem type of a directory, as statfs's f_type.
pub fn fs_magic(path: &std::path::Path) -> Option<i64> {
    nix::sys::statfs::statfs(path)
        .ok()
        .map(|s| s.filesystem_type().0)
}

/// Whether this process may write into a directory.
pub fn writable(path: &std::path::Path) -> bool {
    use nix::unistd::AccessFlags;
    nix::unistd::access(path, AccessFlags::W_OK | AccessFlags::X_OK).is_ok()
}

pub fn euid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// uname's release and machine.
pub fn uname() -> (String, String) {
    match nix::sys::utsname::uname() {
        Ok(u) => (
            u.release().to_string_lossy().into_owned(),
            u.machine().to_string_lossy().into_owned(),
        ),
        Err(_) => (String::new(), String::new()),
    }
}

/// The inode flags of the file at `path` (FS_IOC_GETFLAGS: FS_APPEND_FL, FS_IMMUTABLE_FL, ...),
/// read through a descriptor opened for the question and closed again.
pub fn inode_flags(path: &std::path::Path) -> Result<u64, i32> {
    use std::os::unix::ffi::OsStrExt;
    let c = CString::new(path.as_os_str().as_bytes()).map_err(|_| libc::EINVAL)?;
    let flags = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: open reads the NUL-terminated path we own; the descriptor is closed below.
    let fd = unsafe { libc::open(c.as_ptr(), flags) };
    if fd < 0 {
        return Err(errno());
    }
    let mut value: libc::c_long = 0;
    // SAFETY: FS_IOC_GETFLAGS writes one long (the kernel writes an int into it) into `value`,
    // which we own and which outlives the call.
    let r = unsafe { libc::ioctl(fd, libc::FS_IOC_GETFLAGS, &mut value as *mut libc::c_long) };
    let result = if r < 0 {
        Err(errno())
    } else {
        Ok(value as u32 as u64)
    };
    close(fd);
    result
}

/// statx's attributes of the file at `path` that the filesystem reports (attributes and the
/// mask of those it knows): STATX_ATTR_DAX, STATX_ATTR_APPEND, ...
pub fn statx_attributes(path: &std::path::Path) -> Result<(u64, u64), i32> {
    use std::os::unix::ffi::OsStrExt;
    let c = CString::new(path.as_os_str().as_bytes()).map_err(|_| libc::EINVAL)?;
    // SAFETY: statx reads the NUL-terminated path we own and fills the zeroed struct we own.
    unsafe {
        let mut st: libc::statx = std::mem::zeroed();
        if libc::statx(
            libc::AT_FDCWD,
            c.as_ptr(),
            0,
            libc::STATX_BASIC_STATS,
            &mut st,
        ) == 0
        {
            Ok((st.stx_attributes, st.stx_attributes_mask))
        } else {
            Err(errno())
        }
    }
}
