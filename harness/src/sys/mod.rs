//! The only unsafe code of mmcheck: raw system calls, fork and exec, signal handling, fault probes.
//! Calls under test go through `syscall(2)` with raw arguments, so a case can pass what libc's
//! and nix's wrappers would refuse or fix up (zero lengths, unaligned addresses, unknown bits,
//! descriptor numbers that may be invalid on purpose). Everything else uses nix's safe wrappers.

pub mod probe;

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
        SYS_openat as OPENAT, SYS_pread64 as PREAD, SYS_pwrite64 as PWRITE, SYS_read as READ,
        SYS_remap_file_pages as REMAP_FILE_PAGES, SYS_setrlimit as SETRLIMIT, SYS_write as WRITE,
    };
    /// mseal(2), Linux 6.10; not yet in every libc.
    pub const MSEAL: libc::c_long = 462;
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

pub fn fstat(fd: i32) -> Result<(u64, u64), i32> {
    // SAFETY: fstat fills the zeroed struct we own.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(fd, &mut st) == 0 {
            Ok((st.st_size as u64, st.st_blocks as u64))
        } else {
            Err(errno())
        }
    }
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

pub enum Forked {
    Child,
    Parent(i32),
}

/// Why `fork` did not fork.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForkError {
    /// The kernel refused: this errno (EAGAIN, ENOMEM). A case's `fork` step observes it.
    Errno(i32),
    /// The process has this many threads. A forked child inherits only the calling thread, and
    /// with it every lock another thread held at that moment (malloc's, stdio's): it could hang
    /// on its first allocation. Only single-threaded processes fork (the worker, a case child),
    /// so this is the harness's bug, never the kernel's.
    Threaded(usize),
}

impl std::fmt::Display for ForkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ForkError::Errno(e) => write!(f, "fork failed: {}", crate::names::errno_name(*e)),
            ForkError::Threaded(n) => write!(
                f,
                "refused to fork a process with {n} threads: only the single-threaded worker and \
                 case children may fork"
            ),
        }
    }
}

/// How many threads this process has (`Threads:` of /proc/self/status); `None` when it cannot
/// be read (no /proc), in which case the caller cannot check and does not.
pub fn thread_count() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
}

/// fork(2), from a single-threaded process only: a process with more threads gets
/// `ForkError::Threaded` and no child.
pub fn fork() -> Result<Forked, ForkError> {
    if let Some(n) = thread_count().filter(|&n| n > 1) {
        return Err(ForkError::Threaded(n));
    }
    // SAFETY: the process was just found single-threaded, so the child inherits no lock held by
    // another thread and may allocate.
    match unsafe { libc::fork() } {
        -1 => Err(ForkError::Errno(errno())),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid)),
    }
}

/// Ends the process at once, without unwinding or running destructors (the parent owns them).
pub fn exit_now(status: i32) -> ! {
    // SAFETY: _exit has no preconditions.
    unsafe { libc::_exit(status) }
}

/// Replaces the process image; returns only on failure.
pub fn exec(path: &str, args: &[String]) -> i32 {
    let path = CString::new(path).expect("no NUL in the executable path");
    let argv: Vec<CString> = args
        .iter()
        .map(|a| CString::new(a.as_str()).expect("no NUL in exec arguments"))
        .collect();
    match nix::unistd::execv(&path, &argv) {
        Err(e) => e as i32,
        Ok(never) => match never {},
    }
}

/// Puts a process in its own process group (called by both sides of a fork, to avoid a race).
pub fn set_own_group(pid: i32) {
    use nix::unistd::{setpgid, Pid};
    let _ = setpgid(Pid::from_raw(pid), Pid::from_raw(pid));
}

/// `sig` to a whole process group; pgid > 1 only: never 0 (our own group) or 1 ("everyone").
pub fn signal_group(pgid: i32, sig: i32) {
    if pgid > 1 {
        // SAFETY: kill has no memory-safety effect.
        unsafe {
            libc::kill(-pgid, sig);
        }
    }
}

/// SIGKILL to a whole process group.
pub fn kill_group(pgid: i32) {
    signal_group(pgid, libc::SIGKILL);
}

/// Makes this process the reaper of its orphaned descendants (PR_SET_CHILD_SUBREAPER), so that
/// a process a case started and let escape its group (setsid) comes back to the worker to be
/// killed, instead of running on under init.
pub fn become_subreaper() {
    // SAFETY: prctl with integer arguments has no memory-safety effect.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
}

/// This process's live children: from /proc/self/task/PID/children, or, where the kernel does
/// not offer that file, by scanning /proc for processes whose parent is this one.
fn children() -> Vec<i32> {
    let me = std::process::id();
    if let Ok(text) = std::fs::read_to_string(format!("/proc/self/task/{me}/children")) {
        return text
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: the command may contain spaces and parentheses.
        let Some(rest) = stat.rfind(')').map(|at| &stat[at + 1..]) else {
            continue;
        };
        if rest.split_whitespace().nth(1) == Some(me.to_string().as_str()) {
            if let Ok(pid) = entry.file_name().to_string_lossy().parse() {
                out.push(pid);
            }
        }
    }
    out
}

/// Kills and reaps every child this process still has (with `become_subreaper`, that includes
/// every descendant a finished case left behind); returns how many there were.
pub fn reap_strays() -> usize {
    let mut reaped = 0;
    // A stray may fork while it is being killed; its children come back to us when it dies.
    for _ in 0..1000 {
        let strays = children();
        if strays.is_empty() {
            break;
        }
        for pid in strays {
            let _ = kill(pid, libc::SIGKILL);
            let _ = wait(pid, true);
            reaped += 1;
        }
    }
    reaped
}

/// getpid(2), uncached (a forked child asks).
pub fn pid() -> i32 {
    nix::unistd::getpid().as_raw()
}

/// setsid(2): leaves the process group and session (hostile fixtures do this).
pub fn setsid() -> SysResult {
    nix::unistd::setsid()
        .map(|p| p.as_raw() as u64)
        .map_err(|e| e as i32)
}

/// Sends `sig` to process `pid`.
pub fn kill(pid: i32, sig: i32) -> SysResult {
    // SAFETY: kill has no memory-safety effect.
    match unsafe { libc::kill(pid, sig) } {
        -1 => Err(errno()),
        _ => Ok(0),
    }
}

/// How a waited-for process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    Killed(i32),
}

/// waitpid(pid); with `block` false, returns None while the process runs.
pub fn wait(pid: i32, block: bool) -> Result<Option<Ended>, i32> {
    use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
    let flags = (!block).then_some(WaitPidFlag::WNOHANG);
    loop {
        return match waitpid(nix::unistd::Pid::from_raw(pid), flags) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => Err(e as i32),
            Ok(WaitStatus::Exited(_, code)) => Ok(Some(Ended::Exited(code))),
            Ok(WaitStatus::Signaled(_, sig, _)) => Ok(Some(Ended::Killed(sig as i32))),
            Ok(_) => Ok(None),
        };
    }
}

/// Waits until process `pid` (a child) can be reaped or `timeout_ms` pass, without reaping it:
/// poll(2) on a pidfd (Linux 5.3), or where there is none, one short sleep.
pub fn await_exit(pid: i32, timeout_ms: u16) {
    use std::os::fd::{FromRawFd, OwnedFd};
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        std::thread::sleep(std::time::Duration::from_millis(u64::from(
            timeout_ms.min(2),
        )));
        return;
    }
    // SAFETY: the descriptor was just returned to us and nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    poll_in(std::os::fd::AsFd::as_fd(&fd), timeout_ms);
}

/// poll(2) on one descriptor for input; true when readable or hung up.
pub fn poll_in(fd: std::os::fd::BorrowedFd, timeout_ms: u16) -> bool {
    use nix::poll::{poll, PollFd, PollFlags};
    let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
    matches!(poll(&mut fds, timeout_ms), Ok(n) if n > 0)
}

static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Worker processes an interrupted runner passes its signal on to (0 = free slot).
static WORKERS: [std::sync::atomic::AtomicI32; 64] =
    [const { std::sync::atomic::AtomicI32::new(0) }; 64];

extern "C" fn on_interrupt(sig: i32) {
    INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
    for w in &WORKERS {
        let pid = w.load(std::sync::atomic::Ordering::SeqCst);
        if pid > 0 {
            // SAFETY: kill is async-signal-safe and has no memory-safety effect.
            unsafe {
                libc::kill(pid, sig);
            }
        }
    }
}

/// Remembers a worker, so that an interrupt of the runner reaches it even when the signal was
/// sent to the runner alone (`kill PID`, a CI timeout) rather than to the terminal's group.
pub fn register_worker(pid: i32) {
    for w in &WORKERS {
        if w.compare_exchange(
            0,
            pid,
            std::sync::atomic::Ordering::SeqCst,
            std::sync::atomic::Ordering::SeqCst,
        )
        .is_ok()
        {
            return;
        }
    }
}

pub fn unregister_worker(pid: i32) {
    for w in &WORKERS {
        let _ = w.compare_exchange(
            pid,
            0,
            std::sync::atomic::Ordering::SeqCst,
            std::sync::atomic::Ordering::SeqCst,
        );
    }
}

/// Turns SIGINT, SIGTERM and SIGHUP into a flag (passed on to registered workers), so that a
/// process can clean up before it exits.
pub fn catch_interrupts() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic. No SA_RESTART: blocking calls return
        // EINTR, so the worker notices at once.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_interrupt as *const () as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// Restores default dispositions in a case child (it must not inherit the worker's handlers).
pub fn default_interrupts() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGPIPE] {
        // SAFETY: signal() with SIG_DFL has no memory-safety effect.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
        }
    }
}

/// The parent this process had when it started serving; 0 when not recorded.
static PARENT: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// Remembers the current parent, so that `interrupted` also notices when it dies (a runner
/// killed with SIGKILL cannot pass anything on).
pub fn watch_parent() {
    PARENT.store(
        nix::unistd::getppid().as_raw(),
        std::sync::atomic::Ordering::SeqCst,
    );
}

/// An interrupt arrived, or the watched parent is gone.
pub fn interrupted() -> bool {
    let parent = PARENT.load(std::sync::atomic::Ordering::SeqCst);
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
        || (parent != 0 && nix::unistd::getppid().as_raw() != parent)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fork_is_refused_in_a_process_with_threads() {
        // A second thread that outlives the check; the refusal comes before any child exists.
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || rx.recv());
        let n = thread_count().expect("/proc/self/status has a Threads: line");
        assert!(n >= 2, "{n} threads with one spawned");
        match fork() {
            Err(ForkError::Threaded(m)) => assert!(m >= 2),
            Err(e) => panic!("unexpected error: {e}"),
            Ok(_) => panic!("forked a multi-threaded process"),
        }
        drop(tx);
        let _ = t.join();
    }
}
