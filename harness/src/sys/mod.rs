//! The only unsafe code of mmcheck: raw system calls, fork and exec, signal handling, fault probes.
//! Calls under test go through `syscall(2)` with raw arguments, so a case can pass what libc's
//! wrappers would refuse or fix up (zero lengths, unaligned addresses, unknown bits).

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

/// The running page size.
pub fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as u64
    } else {
        4096
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
    // SAFETY: getrusage fills the zeroed struct we own.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        (ru.ru_minflt as u64, ru.ru_majflt as u64)
    }
}

pub fn pipe() -> Result<(i32, i32), i32> {
    let mut fds = [0i32; 2];
    // SAFETY: pipe writes two descriptors into the array we own.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } == 0 {
        Ok((fds[0], fds[1]))
    } else {
        Err(errno())
    }
}

pub fn pipe_cloexec() -> Result<(i32, i32), i32> {
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 writes two descriptors into the array we own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } == 0 {
        Ok((fds[0], fds[1]))
    } else {
        Err(errno())
    }
}

pub fn close(fd: i32) {
    // SAFETY: closing a descriptor number has no memory-safety effect.
    unsafe {
        libc::close(fd);
    }
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

/// fork(2). Only called from single-threaded processes (the worker, a case child).
pub fn fork() -> Result<Forked, i32> {
    // SAFETY: every caller is single-threaded, so the child inherits no lock held by another
    // thread and may allocate.
    match unsafe { libc::fork() } {
        -1 => Err(errno()),
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
    let owned: Vec<CString> = args
        .iter()
        .map(|a| CString::new(a.as_str()).expect("no NUL in exec arguments"))
        .collect();
    let mut argv: Vec<*const libc::c_char> = owned.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    // SAFETY: argv is a NULL-terminated array of pointers to live C strings.
    unsafe { libc::execv(path.as_ptr(), argv.as_ptr()) };
    errno()
}

/// Puts a process in its own process group (called by both sides of a fork, to avoid a race).
pub fn set_own_group(pid: i32) {
    // SAFETY: setpgid has no memory-safety effect.
    unsafe {
        libc::setpgid(pid, pid);
    }
}

/// SIGKILL to a whole process group.
pub fn kill_group(pgid: i32) {
    if pgid > 1 {
        // SAFETY: kill has no memory-safety effect; pgid > 1 never means "everyone".
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
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
    let mut status = 0;
    loop {
        // SAFETY: waitpid writes the status into our integer.
        let r = unsafe { libc::waitpid(pid, &mut status, if block { 0 } else { libc::WNOHANG }) };
        if r == -1 {
            let e = errno();
            if e == libc::EINTR {
                continue;
            }
            return Err(e);
        }
        if r == 0 {
            return Ok(None);
        }
        return Ok(Some(if libc::WIFEXITED(status) {
            Ended::Exited(libc::WEXITSTATUS(status))
        } else {
            Ended::Killed(libc::WTERMSIG(status))
        }));
    }
}

/// poll(2) on one descriptor for input; true when readable or hung up.
pub fn poll_in(fd: i32, timeout_ms: i32) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: poll reads and writes the one pollfd we own.
    let r = unsafe { libc::poll(&mut p, 1, timeout_ms) };
    r > 0
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

pub fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// The filesystem type of a directory, as statfs's f_type.
pub fn fs_magic(path: &std::path::Path) -> Option<i64> {
    use std::os::unix::ffi::OsStrExt;
    let c = CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statfs fills the zeroed struct we own from a valid C string path.
    unsafe {
        let mut st: libc::statfs = std::mem::zeroed();
        (libc::statfs(c.as_ptr(), &mut st) == 0).then_some(st.f_type)
    }
}

/// Whether this process may write into a directory.
pub fn writable(path: &std::path::Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: access reads a valid C string.
    unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) == 0 }
}

pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() }
}

/// uname's release and machine.
pub fn uname() -> (String, String) {
    // SAFETY: uname fills the zeroed struct we own with NUL-terminated strings.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        libc::uname(&mut u);
        let s = |f: &[libc::c_char]| {
            std::ffi::CStr::from_ptr(f.as_ptr())
                .to_string_lossy()
                .into_owned()
        };
        (s(&u.release), s(&u.machine))
    }
}
