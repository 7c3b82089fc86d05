//! Processes: fork (single-threaded callers only), exec, process groups and the subreaper's
//! strays, waiting, and the interrupt flags the runner and workers share.

use super::*;

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
    status_number("Threads").map(|n| n as usize)
}

/// The number a line of /proc/self/status gives for `key` (`Threads`, `VmLck`: a unit such as
/// `kB` is left to the caller); `None` when the file or the line is missing.
///
/// Every `fork` asks for the thread count, so this reads the file the cheap way: one open of a
/// constant path, reads into a buffer on the stack, no allocation (an allocation in the worker
/// after a fork is a copy-on-write fault; `std::fs::read_to_string` also took a statx and eight
/// reads of growing size). The file is about 1.5 KiB on Linux 6.18; only when the buffer fills
/// without the line (a long `Groups:` line, say) is the whole file read.
pub fn status_number(key: &str) -> Option<u64> {
    let number = |text: &[u8]| -> Option<u64> {
        text.split(|&b| b == b'\n').find_map(|l| {
            let value = l.strip_prefix(key.as_bytes())?.strip_prefix(b":")?;
            let value = std::str::from_utf8(value).ok()?.trim();
            value.trim_end_matches("kB").trim().parse().ok()
        })
    };
    const PATH: &std::ffi::CStr = c"/proc/self/status";
    let flags = (libc::O_RDONLY | libc::O_CLOEXEC) as u64;
    let fd = raw(
        nr::OPENAT,
        [libc::AT_FDCWD as u64, PATH.as_ptr() as u64, flags, 0, 0, 0],
    )
    .ok()? as i32;
    let mut buf = [0u8; 4096];
    let mut len = 0;
    while len < buf.len() {
        match read_into(fd, &mut buf[len..], None) {
            Ok(0) => break,
            Ok(n) => len += n as usize,
            Err(libc::EINTR) => {}
            Err(_) => break,
        }
    }
    close(fd);
    match number(&buf[..len]) {
        None if len == buf.len() => number(&std::fs::read("/proc/self/status").ok()?),
        found => found,
    }
}

/// Threads this process had before any of mmcheck's code ran, read by a constructor at load
/// time: 1 on a kernel, more under an emulator that runs its own threads inside the process
/// (qemu-user's RCU thread). Those are not ours and hold none of our locks; a fork under such an
/// emulator is the emulator's business (qemu-user serialises its own state around fork).
static THREADS_AT_START: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);

extern "C" fn count_threads_at_start() {
    if let Some(n) = thread_count() {
        THREADS_AT_START.store(n.max(1), std::sync::atomic::Ordering::SeqCst);
    }
}

#[used]
#[link_section = ".init_array"]
static COUNT_THREADS_AT_START: extern "C" fn() = count_threads_at_start;

/// Waits (up to a second) until this process has at most `n` threads. A joined thread has
/// finished, but the kernel drops it from the count a moment later (pthread_join returns when the
/// thread clears its tid, before its task is released); a `fork` right after a `join` must not
/// see it.
pub fn settle_threads(n: usize) {
    for _ in 0..10_000 {
        if thread_count().is_none_or(|c| c <= n) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_micros(100));
    }
}

/// fork(2), from a single-threaded process only (threads an emulator ran before our code are
/// not counted): a process with more threads gets `ForkError::Threaded` and no child.
pub fn fork() -> Result<Forked, ForkError> {
    let foreign = THREADS_AT_START.load(std::sync::atomic::Ordering::SeqCst) - 1;
    if let Some(n) = thread_count().filter(|&n| n > 1 + foreign) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_numbers_are_read_by_their_whole_key() {
        assert!(status_number("Threads").is_some_and(|n| n >= 1));
        // VmLck is in kB; the unit is left to the caller.
        assert!(status_number("VmLck").is_some());
        assert_eq!(status_number("Thread"), None);
        assert_eq!(status_number("No such key"), None);
    }

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
