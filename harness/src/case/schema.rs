//! The serde types of a case file, nothing else. Every field keeps its span so that an error can
//! name the line; unknown fields are errors, never silently ignored.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// One case file: `cases/<syscall>/<behaviour>.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CaseFile {
    /// The rule, one sentence.
    pub summary: Spanned<String>,
    /// The man-page symbols this case verifies: syscall, flag, errno and signal names.
    pub symbols: Spanned<Vec<Spanned<String>>>,
    /// Where the rule is written: `mmap(2) ERRORS EINVAL`.
    pub refs: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    pub requires: Option<Spanned<Requires>>,
    /// Seconds the whole case may take before its process group is killed.
    #[serde(default)]
    pub timeout: Option<Spanned<u64>>,
    /// Free text: history, kernel commits, where the kernel and the man page disagree.
    #[serde(default)]
    pub note: Option<String>,
    /// Mutant kernels this case may survive, each with the reason: `{ munmap = "..." }`.
    #[serde(default)]
    pub survives: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(rename = "step")]
    pub steps: Spanned<Vec<StepSpec>>,
}

/// What the case needs from the machine; an unmet need skips the case with the reason.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Requires {
    /// Needs to run as root (euid 0).
    #[serde(default)]
    pub root: Option<bool>,
    /// Capabilities that must be in the effective set.
    #[serde(default)]
    pub caps: Vec<Spanned<String>>,
    /// Capabilities the child drops before its first step, so that the case runs as root too.
    #[serde(default)]
    pub caps_dropped: Vec<Spanned<String>>,
    /// Kernel version range: `>=5.17`, `>=4.17, <6.0`.
    #[serde(default)]
    pub kernel: Option<Spanned<String>>,
    /// Filesystems the case runs on, once each: `tmpfs`, `ext4`, `xfs`, `btrfs`.
    #[serde(default)]
    pub fs: Vec<Spanned<String>>,
    /// Architectures (`uname -m`) the case is written for: `["x86_64"]`.
    #[serde(default)]
    pub arch: Vec<Spanned<String>>,
    /// Needs memory protection keys (pkeys(7)): the kernel and the processor must give one to a
    /// process that asks, which is probed with pkey_alloc.
    #[serde(default)]
    pub pkeys: Option<bool>,
    /// Free huge pages the case needs (HugePages_Free).
    #[serde(default)]
    pub hugepages: Option<Spanned<u64>>,
    /// Paths that must exist, such as `/sys/kernel/mm/ksm` for a kernel with KSM.
    #[serde(default)]
    pub exists: Vec<Spanned<String>>,
    /// Files whose content must contain a text: a machine setting the case depends on, like
    /// `{ "/sys/kernel/mm/transparent_hugepage/enabled" = "[madvise]" }`.
    #[serde(default)]
    pub file_contains: BTreeMap<Spanned<String>, Spanned<String>>,
    /// Files whose content must not contain a text: `{ "/proc/sys/vm/overcommit_memory" = "2" }`
    /// for a case that holds in every overcommit mode but the strict one.
    #[serde(default)]
    pub file_lacks: BTreeMap<Spanned<String>, Spanned<String>>,
    /// Resource limits the child sets before its first step: `{ RLIMIT_MEMLOCK = "0" }`.
    #[serde(default)]
    pub rlimits: BTreeMap<Spanned<String>, Spanned<Value>>,
    /// Needs soft-dirty tracking (CONFIG_MEM_SOFT_DIRTY), probed through /proc/self/pagemap.
    #[serde(default)]
    pub soft_dirty: Option<bool>,
}

/// One step: a call with arguments, and what it must do.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StepSpec {
    /// Names the step's result (`$m`) for later steps and for fault offsets.
    #[serde(default)]
    pub id: Option<Spanned<String>>,
    pub call: Spanned<String>,
    #[serde(default)]
    pub args: Option<Spanned<BTreeMap<Spanned<String>, Spanned<Value>>>>,
    /// The documented contract; without it, the step must succeed.
    #[serde(default)]
    pub expect: Option<Spanned<ExpectSpec>>,
    /// Contracts for kernel ranges where the behaviour differs; the first that matches wins.
    #[serde(default)]
    pub expect_if: Vec<Spanned<ExpectSpec>>,
    /// Steps of the child of a `fork`, or of the thread a `thread` step starts.
    #[serde(default)]
    pub child: Vec<StepSpec>,
    /// Run the step up to this many times, `$i` counting from 0; it stops at the first failure,
    /// whose outcome is the step's.
    #[serde(default)]
    pub repeat: Option<Spanned<u64>>,
    #[serde(default)]
    pub note: Option<String>,
}

/// A scalar argument: an expression string, a plain integer or a boolean.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Int(i64),
    Bool(bool),
    Str(String),
}

/// `errno = "EINVAL"` or `errno = ["EINVAL", "ENOMEM"]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// What a step must do. Outcome fields (`ok`, `ret`, `errno`, `signal`, `exit`) say how the call
/// ends; data fields say what it observed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ExpectSpec {
    /// Only in `expect-if`: the kernel range this contract applies to.
    #[serde(default)]
    pub kernel: Option<Spanned<String>>,
    #[serde(default)]
    pub ok: Option<Spanned<bool>>,
    #[serde(default)]
    pub ret: Option<Spanned<Value>>,
    #[serde(default)]
    pub errno: Option<Spanned<OneOrMany>>,
    /// Required when `errno` lists several: why the contract allows each.
    #[serde(default)]
    pub why: Option<Spanned<String>>,
    #[serde(default)]
    pub signal: Option<Spanned<String>>,
    #[serde(default)]
    pub si_code: Option<Spanned<String>>,
    /// The fault address, as an expression: `$m+PAGE`.
    #[serde(default)]
    pub addr: Option<Spanned<Value>>,
    #[serde(default)]
    pub exit: Option<Spanned<i64>>,
    #[serde(default)]
    pub text: Option<Spanned<String>>,
    #[serde(default)]
    pub hex: Option<Spanned<String>>,
    /// Every byte read equals this value.
    #[serde(default)]
    pub byte: Option<Spanned<Value>>,
    #[serde(default)]
    pub maps: Option<Spanned<Vec<Spanned<MapsSpec>>>>,
    #[serde(default)]
    pub size: Option<Spanned<Value>>,
    #[serde(default)]
    pub blocks: Option<Spanned<Value>>,
    #[serde(default)]
    pub minflt: Option<Spanned<Value>>,
    #[serde(default)]
    pub majflt: Option<Spanned<Value>>,
    /// mincore's answer, one character a page: `1` resident, `0` not.
    #[serde(default)]
    pub resident: Option<Spanned<String>>,
    #[serde(default)]
    pub equal: Option<Spanned<bool>>,
    /// smaps VmFlags: `"+lo -dc"`, each flag present (+) or absent (-) in every VMA of the range.
    #[serde(default)]
    pub vmflags: Option<Spanned<String>>,
    /// smaps Rss, in bytes, summed over the VMAs of the range.
    #[serde(default)]
    pub rss: Option<Spanned<Value>>,
    /// smaps Locked, in bytes, summed over the VMAs of the range.
    #[serde(default)]
    pub locked: Option<Spanned<Value>>,
    /// smaps AnonHugePages, in bytes, summed over the VMAs of the range.
    #[serde(default)]
    pub anon_huge: Option<Spanned<Value>>,
    /// smaps KernelPageSize of every VMA of the range, in bytes.
    #[serde(default)]
    pub kernel_page_size: Option<Spanned<Value>>,
    /// smaps MMUPageSize of every VMA of the range, in bytes.
    #[serde(default)]
    pub mmu_page_size: Option<Spanned<Value>>,
    /// smaps ProtectionKey: the protection key of every VMA of the range.
    #[serde(default)]
    pub pkey: Option<Spanned<Value>>,
    /// How many times a `repeat`ed step ran.
    #[serde(default)]
    pub iterations: Option<Spanned<Value>>,
    /// pagemap flags, `"+present -exclusive"`: one string for every page of the range, or a list
    /// of strings, one a page.
    #[serde(default)]
    pub pagemap: Option<Spanned<OneOrMany>>,
    /// `uffd_served`: the event read, `UFFD_EVENT_PAGEFAULT`.
    #[serde(default)]
    pub event: Option<Spanned<String>>,
    /// `uffd_served`: the page-fault flags, `UFFD_PAGEFAULT_FLAG_WRITE|UFFD_PAGEFAULT_FLAG_WP`.
    #[serde(default)]
    pub fault_flags: Option<Spanned<Value>>,
    /// `seals`: the exact set of seals F_GET_SEALS reports, `"F_SEAL_SEAL|F_SEAL_WRITE"` or `0`.
    #[serde(default)]
    pub seals: Option<Spanned<Value>>,
    /// `stat`: st_mtime compared with an earlier `stat` step's: `">$before"`, `"$before"`.
    #[serde(default)]
    pub mtime: Option<Spanned<Value>>,
    /// `stat`: st_ctime compared with an earlier `stat` step's.
    #[serde(default)]
    pub ctime: Option<Spanned<Value>>,
}

/// One expected line of `/proc/self/maps`, clipped to the queried range.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MapsSpec {
    pub start: Spanned<Value>,
    pub end: Spanned<Value>,
    pub perms: Spanned<String>,
    #[serde(default)]
    pub offset: Option<Spanned<Value>>,
    /// The pathname column: `"[stack]"`, `""` (anonymous), or with a leading `*` its end
    /// (`"*/f (deleted)"`), since scratch directories differ from run to run.
    #[serde(default)]
    pub path: Option<Spanned<String>>,
}
