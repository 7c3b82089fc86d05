//! aarch64: a copy is a byte loop whose load and store are the two instructions that may fault;
//! a call is one `blr` inside a frame that saves the link register.

std::arch::global_asm!(
    ".text",
    ".globl mmcheck_probe_copy",
    ".type mmcheck_probe_copy,%function",
    // x0 = destination, x1 = source, x2 = length. Returns 0, or 1 after a fault.
    "mmcheck_probe_copy:",
    "    cbz x2, .Lmmcheck_copy_done",
    ".Lmmcheck_copy_loop:",
    ".globl mmcheck_probe_copy_load",
    "mmcheck_probe_copy_load:",
    "    ldrb w3, [x1], #1",
    ".globl mmcheck_probe_copy_store",
    "mmcheck_probe_copy_store:",
    "    strb w3, [x0], #1",
    "    subs x2, x2, #1",
    "    b.ne .Lmmcheck_copy_loop",
    ".Lmmcheck_copy_done:",
    "    mov w0, #0",
    "    ret",
    ".globl mmcheck_probe_copy_landing",
    "mmcheck_probe_copy_landing:",
    "    mov w0, #1",
    "    ret",
    ".globl mmcheck_probe_call",
    ".type mmcheck_probe_call,%function",
    // x0 = code to call. Returns 0 when it returns, or 1 after a fault on fetching it.
    "mmcheck_probe_call:",
    "    stp x29, x30, [sp, #-16]!",
    "    mov x29, sp",
    "    blr x0",
    "    mov w0, #0",
    "    ldp x29, x30, [sp], #16",
    "    ret",
    ".globl mmcheck_probe_call_landing",
    "mmcheck_probe_call_landing:",
    "    mov w0, #1",
    "    ldp x29, x30, [sp], #16",
    "    ret",
);

/// `ret` (0xd65f03c0), little-endian.
pub const RET: &[u8] = &[0xc0, 0x03, 0x5f, 0xd6];

/// The interrupted instruction's address.
pub fn ip(uc: &libc::ucontext_t) -> u64 {
    uc.uc_mcontext.pc
}

/// Resumes the interrupted thread at `at`.
pub fn resume_at(uc: &mut libc::ucontext_t, at: u64) {
    uc.uc_mcontext.pc = at;
}

/// Makes instructions just stored at `addr` visible to instruction fetch: clean the data cache
/// to the point of unification, invalidate the instruction cache, as `__clear_cache` does. The
/// range was just written, so it is mapped and these cannot fault.
pub fn sync_code(addr: u64, len: usize) {
    let ctr: u64;
    // SAFETY: CTR_EL0 is readable from user space on Linux (the kernel traps and emulates it
    // where the hardware does not allow it).
    unsafe { std::arch::asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack)) };
    let dline = 4u64 << ((ctr >> 16) & 0xf);
    let iline = 4u64 << (ctr & 0xf);
    let end = addr + len as u64;
    let mut a = addr & !(dline - 1);
    while a < end {
        // SAFETY: cache maintenance by address on a line of a mapping this process just wrote.
        unsafe { std::arch::asm!("dc cvau, {}", in(reg) a, options(nostack)) };
        a += dline;
    }
    // SAFETY: barriers only.
    unsafe { std::arch::asm!("dsb ish", options(nostack)) };
    let mut a = addr & !(iline - 1);
    while a < end {
        // SAFETY: as above, for the instruction cache.
        unsafe { std::arch::asm!("ic ivau, {}", in(reg) a, options(nostack)) };
        a += iline;
    }
    // SAFETY: barriers only.
    unsafe { std::arch::asm!("dsb ish", "isb", options(nostack)) };
}
