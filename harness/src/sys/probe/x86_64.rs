//! x86_64: a copy is one `rep movsb`, a call is one `call`.

std::arch::global_asm!(
    ".text",
    ".globl mmcheck_probe_copy",
    ".type mmcheck_probe_copy,@function",
    // rdi = destination, rsi = source, rdx = length. Returns 0, or 1 after a fault.
    "mmcheck_probe_copy:",
    "    mov rcx, rdx",
    ".globl mmcheck_probe_copy_load",
    ".globl mmcheck_probe_copy_store",
    "mmcheck_probe_copy_load:",
    "mmcheck_probe_copy_store:",
    "    rep movsb",
    "    xor eax, eax",
    "    ret",
    ".globl mmcheck_probe_copy_landing",
    "mmcheck_probe_copy_landing:",
    "    mov eax, 1",
    "    ret",
    ".globl mmcheck_probe_call",
    ".type mmcheck_probe_call,@function",
    // rdi = code to call. Returns 0 when it returns, or 1 after a fault on fetching it.
    "mmcheck_probe_call:",
    "    call rdi",
    "    xor eax, eax",
    "    ret",
    ".globl mmcheck_probe_call_landing",
    "mmcheck_probe_call_landing:",
    // Drop the return address that `call` pushed; return to our caller.
    "    add rsp, 8",
    "    mov eax, 1",
    "    ret",
);

/// `ret`.
pub const RET: &[u8] = &[0xc3];

/// The interrupted instruction's address.
pub fn ip(uc: &libc::ucontext_t) -> u64 {
    uc.uc_mcontext.gregs[libc::REG_RIP as usize] as u64
}

/// Resumes the interrupted thread at `at`.
pub fn resume_at(uc: &mut libc::ucontext_t, at: u64) {
    uc.uc_mcontext.gregs[libc::REG_RIP as usize] = at as i64;
}

/// x86 keeps instruction fetch coherent with stores: nothing to do.
pub fn sync_code(_addr: u64, _len: usize) {}
