//! powerpc64le (ELFv2): a copy is a byte loop whose load and store are the two instructions that
//! may fault; a call is one `bctrl` inside a minimal frame that saves the link register.

std::arch::global_asm!(
    ".text",
    ".globl mmcheck_probe_copy",
    ".type mmcheck_probe_copy,@function",
    // r3 = destination, r4 = source, r5 = length. Returns 0, or 1 after a fault.
    "mmcheck_probe_copy:",
    "    cmpdi 5, 0",
    "    beq .Lmmcheck_copy_done",
    "    mtctr 5",
    ".Lmmcheck_copy_loop:",
    ".globl mmcheck_probe_copy_load",
    "mmcheck_probe_copy_load:",
    "    lbz 6, 0(4)",
    ".globl mmcheck_probe_copy_store",
    "mmcheck_probe_copy_store:",
    "    stb 6, 0(3)",
    "    addi 4, 4, 1",
    "    addi 3, 3, 1",
    "    bdnz .Lmmcheck_copy_loop",
    ".Lmmcheck_copy_done:",
    "    li 3, 0",
    "    blr",
    ".globl mmcheck_probe_copy_landing",
    "mmcheck_probe_copy_landing:",
    "    li 3, 1",
    "    blr",
    ".globl mmcheck_probe_call",
    ".type mmcheck_probe_call,@function",
    // r3 = code to call. Returns 0 when it returns, or 1 after a fault on fetching it.
    "mmcheck_probe_call:",
    "    mflr 0",
    "    std 0, 16(1)",
    "    stdu 1, -32(1)",
    "    mr 12, 3",
    "    mtctr 3",
    "    bctrl",
    "    li 3, 0",
    "    addi 1, 1, 32",
    "    ld 0, 16(1)",
    "    mtlr 0",
    "    blr",
    ".globl mmcheck_probe_call_landing",
    "mmcheck_probe_call_landing:",
    "    li 3, 1",
    "    addi 1, 1, 32",
    "    ld 0, 16(1)",
    "    mtlr 0",
    "    blr",
);

/// `blr` (0x4e800020), little-endian.
pub const RET: &[u8] = &[0x20, 0x00, 0x80, 0x4e];

/// Index of the next-instruction address in `gp_regs` (PT_NIP).
const PT_NIP: usize = 32;

/// The interrupted instruction's address.
pub fn ip(uc: &libc::ucontext_t) -> u64 {
    uc.uc_mcontext.gp_regs[PT_NIP]
}

/// Resumes the interrupted thread at `at`. The kernel restores NIP from `gp_regs`.
pub fn resume_at(uc: &mut libc::ucontext_t, at: u64) {
    uc.uc_mcontext.gp_regs[PT_NIP] = at;
}

/// Makes instructions just stored at `addr` visible to instruction fetch (the sequence the Power
/// ISA gives for modified code), one 32-byte step at a time, which covers every cache line size.
pub fn sync_code(addr: u64, len: usize) {
    let end = addr + len as u64;
    let mut a = addr & !31;
    while a < end {
        // SAFETY: cache maintenance on a line of a mapping this process just wrote.
        unsafe {
            std::arch::asm!(
                "dcbst 0, {0}",
                "sync",
                "icbi 0, {0}",
                in(reg_nonzero) a,
                options(nostack)
            )
        };
        a += 32;
    }
    // SAFETY: barriers only.
    unsafe { std::arch::asm!("sync", "isync", options(nostack)) };
}
