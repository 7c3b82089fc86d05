//! Touching memory that may fault, and coming back. A copy runs at known instructions (one
//! `rep movsb` on x86_64, a byte loop's load and store elsewhere), a call as one call
//! instruction; the SIGSEGV/SIGBUS handler recognises them, records signal, si_code and address,
//! and resumes at a landing that returns "faulted" (one file per architecture holds the code).
//! This is how the kernel's own exception tables recover user copies; no setjmp/longjmp is
//! involved.

use std::cell::Cell;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering::SeqCst};

#[cfg(not(target_os = "linux"))]
compile_error!("mmcheck tests the Linux system calls and runs on Linux only");

#[cfg(target_arch = "aarch64")]
#[path = "aarch64.rs"]
mod arch;
#[cfg(all(target_arch = "powerpc64", target_endian = "little"))]
#[path = "powerpc64.rs"]
mod arch;
#[cfg(target_arch = "x86_64")]
#[path = "x86_64.rs"]
mod arch;
#[cfg(not(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    all(target_arch = "powerpc64", target_endian = "little")
)))]
compile_error!("mmcheck's fault probes are written for x86_64, aarch64 and powerpc64le");

extern "C" {
    fn mmcheck_probe_copy(dst: *mut u8, src: *const u8, len: usize) -> u32;
    fn mmcheck_probe_call(code: u64) -> u32;
    static mmcheck_probe_copy_load: u8;
    static mmcheck_probe_copy_store: u8;
    static mmcheck_probe_copy_landing: u8;
    static mmcheck_probe_call_landing: u8;
}

/// This architecture's return instruction, which a case stores where it will `jump`.
pub const RET: &[u8] = arch::RET;

/// Makes code just stored at `addr` visible to instruction fetch (a no-op on x86).
pub fn sync_code(addr: u64, len: usize) {
    arch::sync_code(addr, len)
}

/// A caught fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    pub signo: i32,
    pub code: i32,
    pub addr: u64,
}

// Per thread: a fault is taken, and recorded, by the thread whose probe touched the address,
// whichever thread of a case runs. Constant-initialised and without destructors, so writing it
// is a plain thread-local access, which the signal handler makes only for a fault in a probe.
thread_local! {
    static LAST_FAULT: Cell<Fault> = const { Cell::new(Fault { signo: 0, code: 0, addr: 0 }) };
}
/// The target of the `jump` in progress, 0 when none. Process-wide, not per thread: one thread
/// of a case runs steps at a time, and the handler must decide whether a fault is the harness's
/// own without touching thread-local storage, which a case's thread may have unmapped along with
/// the top of its stack.
static CALL_TARGET: AtomicU64 = AtomicU64::new(0);
/// Where the handler reports faults it cannot recover from.
static CRASH_FD: AtomicI32 = AtomicI32::new(-1);

/// Exit status of a child whose harness code faulted; the Crash record says where.
pub const CRASH_STATUS: i32 = 70;

fn take_fault() -> Fault {
    LAST_FAULT.with(Cell::get)
}

/// Copies `len` bytes from `src` to `dst`; either may be an address under test.
pub fn copy(dst: u64, src: u64, len: usize) -> Result<(), Fault> {
    // SAFETY: the copy's only faulting instructions are its load and store, whose faults the
    // handler turns into a return of 1; the caller owns whichever side is its own buffer, and
    // the other side is the address under test, which may be anything: that is the point.
    let faulted = unsafe { mmcheck_probe_copy(dst as *mut u8, src as *const u8, len) };
    if faulted == 0 {
        Ok(())
    } else {
        Err(take_fault())
    }
}

/// Calls the code at `addr`.
pub fn call(addr: u64) -> Result<(), Fault> {
    CALL_TARGET.store(addr, SeqCst);
    // SAFETY: the case stored a `ret` at `addr`; if fetching it faults, the handler resumes at
    // the call landing, which unwinds what the call pushed and returns 1. Code that is not a
    // `ret` is the case's problem and ends up as a Crash record, not as a return here.
    let faulted = unsafe { mmcheck_probe_call(addr) };
    CALL_TARGET.store(0, SeqCst);
    if faulted == 0 {
        Ok(())
    } else {
        Err(take_fault())
    }
}

/// Installs the handler for SIGSEGV, SIGBUS, SIGILL and SIGFPE on an alternate stack.
/// Unrecoverable faults are written as a Crash record to `crash_fd`.
pub fn install(crash_fd: i32) {
    CRASH_FD.store(crash_fd, SeqCst);
    install_thread();
    install_handlers();
}

/// Gives the calling thread its own alternate signal stack for the handler (an alternate stack
/// is per thread: a case's thread that faults, say after unmapping its own stack, needs one of
/// its own). `install` does it for the thread that installs the handler; every other thread
/// that runs steps calls this first.
pub fn install_thread() {
    const ALT_SIZE: usize = 256 * 1024;
    if let Some(stack) = super::fenced_region(ALT_SIZE) {
        let ss = libc::stack_t {
            ss_sp: stack.as_mut_ptr().cast(),
            ss_flags: 0,
            ss_size: stack.len(),
        };
        // SAFETY: the stack lives for the rest of the process; sigaltstack copies the descriptor.
        unsafe {
            libc::sigaltstack(&ss, std::ptr::null_mut());
        }
    }
}

fn install_handlers() {
    for sig in [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE] {
        // SAFETY: `on_fault` is async-signal-safe (atomics, write(2), _exit), and the sigaction
        // struct is fully initialised before use.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_fault as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

extern "C" fn on_fault(signo: i32, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo and ucontext to an SA_SIGINFO handler; we read
    // and write the saved registers of the interrupted thread, which is what they are for.
    unsafe {
        let uc = &mut *(ctx as *mut libc::ucontext_t);
        let ip = arch::ip(uc);
        let code = (*info).si_code;
        let addr = (*info).si_addr() as u64;
        let load = &raw const mmcheck_probe_copy_load as u64;
        let store = &raw const mmcheck_probe_copy_store as u64;
        let target = CALL_TARGET.load(SeqCst);
        let in_copy =
            (ip == load || ip == store) && (signo == libc::SIGSEGV || signo == libc::SIGBUS);
        let in_call = target != 0 && ip == target && signo == libc::SIGSEGV;
        if in_copy || in_call {
            LAST_FAULT.with(|f| f.set(Fault { signo, code, addr }));
            let landing = if in_call {
                &raw const mmcheck_probe_call_landing as u64
            } else {
                &raw const mmcheck_probe_copy_landing as u64
            };
            arch::resume_at(uc, landing);
            return;
        }
        let mut buf = [0u8; 160];
        let n = crate::wire::format_crash(&mut buf, signo, code, addr, ip);
        let fd = CRASH_FD.load(SeqCst);
        if fd >= 0 {
            libc::write(fd, buf.as_ptr().cast(), n);
        }
        libc::_exit(CRASH_STATUS);
    }
}
