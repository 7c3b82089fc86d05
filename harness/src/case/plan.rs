//! A case after loading: names resolved, expressions parsed, steps numbered. The child runs a
//! `Plan`; the parent checks records against its expectations.

use super::expr::{Expr, Op};
use super::vocab::{Call, CallSpec};
use crate::version::Range;
use std::path::PathBuf;
use std::time::Duration;

/// A loaded case. One file can give several (one per filesystem it runs on).
#[derive(Debug, Clone)]
pub struct Case {
    /// `mprotect/unaligned-addr`, or `mmap/hole-read@ext4` for a filesystem variant.
    pub id: String,
    /// The case file, and the id of the file (without the filesystem suffix).
    pub path: PathBuf,
    pub file_id: String,
    pub summary: String,
    pub symbols: Vec<String>,
    pub refs: Vec<String>,
    pub note: Option<String>,
    pub requires: Requirements,
    /// The filesystem this variant runs on, if the case depends on one.
    pub fs: Option<String>,
    pub timeout: Duration,
    /// Mutant kernels the case may survive, with the reason (see `mutant.rs`).
    pub survives: Vec<(String, String)>,
    pub plan: Plan,
}

#[derive(Debug, Clone, Default)]
pub struct Requirements {
    pub root: bool,
    /// Machine architectures (`uname -m`) the case is written for.
    pub arch: Vec<String>,
    /// Needs protection keys (probed: pkey_alloc gives one).
    pub pkeys: bool,
    /// Free huge pages needed (HugePages_Free of /proc/meminfo).
    pub hugepages: u64,
    /// Paths that must exist: kernel features show up in /sys and /proc.
    pub exists: Vec<String>,
    /// (file, text): the file must contain the text.
    pub file_contains: Vec<(String, String)>,
    /// (file, text): the file must not contain the text.
    pub file_lacks: Vec<(String, String)>,
    pub caps: Vec<caps::Capability>,
    pub caps_dropped: Vec<caps::Capability>,
    pub kernel: Option<Range>,
    /// (resource, soft, hard), set by the child before its first step.
    pub rlimits: Vec<(u32, u64, u64)>,
    /// Soft-dirty tracking (CONFIG_MEM_SOFT_DIRTY), probed.
    pub soft_dirty: bool,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// Step lists: 0 is the top level; each `fork` owns one more.
    pub lists: Vec<Vec<usize>>,
    /// Names of the `$` slots, by slot number.
    pub slots: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Step {
    /// Position in `Plan::steps`, which is the order of the file.
    pub index: usize,
    /// The list this step belongs to, and its place in it.
    pub list: usize,
    pub pos: usize,
    /// `step 3`, or `step 3 > child step 1`.
    pub label: String,
    /// Line of `call = ...` in the case file.
    pub line: usize,
    pub call: Call,
    pub spec: &'static CallSpec,
    pub slot: Option<usize>,
    pub args: Vec<(&'static str, ArgValue)>,
    /// The contract: versioned ones first, the default last.
    pub expect: Vec<Expectation>,
    /// For `fork`: the list its child runs.
    pub child_list: Option<usize>,
    /// `repeat = N`: run up to N times, `$i` counting from 0, stopping at the first failure.
    pub repeat: Option<(u64, usize)>,
}

#[derive(Debug, Clone)]
pub enum ArgValue {
    Num(Expr),
    Text(String),
}

impl Step {
    pub fn num(&self, name: &str) -> Option<&Expr> {
        self.args.iter().find_map(|(n, v)| match v {
            ArgValue::Num(e) if *n == name => Some(e),
            _ => None,
        })
    }

    pub fn text(&self, name: &str) -> Option<&str> {
        self.args.iter().find_map(|(n, v)| match v {
            ArgValue::Text(t) if *n == name => Some(t.as_str()),
            _ => None,
        })
    }

    /// The contract that applies on this kernel; without a Linux version (gVisor), the default.
    pub fn contract(&self, kernel: Option<(u32, u32, u32)>) -> &Expectation {
        self.expect
            .iter()
            .find(|e| match (&e.kernel, kernel) {
                (None, _) => true,
                (Some(range), Some(v)) => range.contains(v),
                (Some(_), None) => false,
            })
            .expect("the default contract comes last")
    }
}

/// One contract for a step.
#[derive(Debug, Clone)]
pub struct Expectation {
    pub kernel: Option<Range>,
    pub outcome: Outcome,
    pub checks: Vec<Check>,
    /// Source text of the contract, for messages: `errno = EINVAL`.
    pub text: String,
    /// Written in the case, rather than the default ("ok", or "exit 0" for a wait).
    pub explicit: bool,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    /// The call succeeds; with a value, it returns that (`"$m"`), or one that compares so
    /// (`"<0x80000000"`).
    Success(Option<Compare>),
    /// The call fails with one of these errnos.
    Errno(Vec<i32>),
    /// The access is stopped by this signal (and si_code, and fault address when given).
    Signal {
        signo: i32,
        code: Option<i32>,
        addr: Option<Expr>,
    },
    /// `wait`: the child exited with this status.
    Exit(i32),
    /// `wait`: the child was killed by this signal.
    Killed(i32),
}

#[derive(Debug, Clone)]
pub enum Check {
    Bytes(Vec<u8>),
    EveryByte(Expr),
    Maps(Vec<MapsLine>),
    Size(Compare),
    Blocks(Compare),
    Minflt(Compare),
    Majflt(Compare),
    Resident(Vec<bool>),
    Equal(bool),
    /// smaps VmFlags: each `(flag, present)` must hold for every VMA in the range.
    VmFlags(Vec<(String, bool)>),
    Rss(Compare),
    Locked(Compare),
    AnonHuge(Compare),
    /// smaps KernelPageSize and MMUPageSize of every VMA of the range.
    KernelPageSize(Compare),
    MmuPageSize(Compare),
    /// smaps ProtectionKey: must compare so for every VMA in the range.
    Pkey(Compare),
    /// How many times a repeated step ran.
    Iterations(Compare),
    /// F_GET_SEALS: exactly this set of seals.
    Seals(Expr),
    /// st_mtime and st_ctime against those an earlier `stat` step (the slot of the `$name`)
    /// observed: only the order of the two times is ever compared or shown.
    Mtime(Compare, usize),
    Ctime(Compare, usize),
    /// pagemap flags as `(bit, set)`: for every page of the range, or one list a page.
    Pagemap(PagemapWant),
    /// `uffd_served`: the message's event (UFFD_EVENT_*).
    UffdEvent(u64),
    /// `uffd_served`: the page-fault flags (UFFD_PAGEFAULT_FLAG_*), exactly.
    FaultFlags(Expr),
}

#[derive(Debug, Clone)]
pub enum PagemapWant {
    Every(Vec<(u64, bool)>),
    Pages(Vec<Vec<(u64, bool)>>),
}

#[derive(Debug, Clone)]
pub struct MapsLine {
    pub start: Expr,
    pub end: Expr,
    pub perms: String,
    pub offset: Option<Expr>,
    /// The pathname: exactly, or its end after a leading `*`.
    pub path: Option<String>,
}

/// `"0"`, `">0"`, `">=16"`, `"<4"`, `"!=0"`: one of the expression language's comparisons.
#[derive(Debug, Clone)]
pub struct Compare {
    /// `Op::Eq`, `Ne`, `Lt`, `Le`, `Gt` or `Ge`.
    pub op: Op,
    pub rhs: Expr,
    pub text: String,
}

impl Compare {
    /// Whether `got` compares with `want` as the contract says.
    pub fn holds(&self, got: u64, want: u64) -> bool {
        self.op.apply(got, want) == Ok(1)
    }
}
