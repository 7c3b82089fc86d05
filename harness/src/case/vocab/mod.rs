//! The step vocabulary: every `call` a case may use, its arguments, and what its `expect` may check.
//! Adding a call means a variant of `Call` here, a row in `calls.rs`, an arm in `child/`, and a
//! section in docs/case-format.md.

use crate::names::Family;

mod calls;
pub use calls::CALLS;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    // Setting the stage.
    File,
    Open,
    Memfd,
    Seal,
    Seals,
    Pipe,
    Dir,
    Close,
    // The calls under test.
    Mmap,
    Munmap,
    Mprotect,
    Msync,
    Mremap,
    Madvise,
    Mincore,
    Mlock,
    Mlock2,
    Munlock,
    Mlockall,
    Munlockall,
    RemapFilePages,
    Mseal,
    Userfaultfd,
    UffdioApi,
    UffdioRegister,
    UffdioWriteprotect,
    // Serving userfaultfd faults from a second thread.
    UffdServe,
    UffdServed,
    PkeyAlloc,
    PkeyMprotect,
    PkeyFree,
    PkeySet,
    Prctl,
    PidfdOpen,
    ProcessMadvise,
    // Files.
    Ftruncate,
    Fallocate,
    Write,
    Read,
    Fsync,
    Fchmod,
    Sendfile,
    Splice,
    Vmsplice,
    // Memory, through the mapping.
    Load,
    Store,
    Jump,
    Compare,
    // Processes and limits.
    Setrlimit,
    Fork,
    Wait,
    Exec,
    Sleep,
    Thread,
    Pause,
    Resume,
    Join,
    // Looking.
    Let,
    Maps,
    Smaps,
    Stat,
    Faults,
    Status,
    Personality,
    DropCap,
    Pagemap,
    ClearRefs,
    // The harness itself.
    Locate,
    Selftest,
}

/// How a `uffd_serve` thread resolves the fault it reads.
pub const UFFD_RESOLVE: &[&str] = &["copy", "zeropage", "unprotect"];

/// What `locate` can find.
pub const LOCATE_WHAT: &[&str] = &["stack", "code", "vdso"];

/// What `selftest` can do. Each act misbehaves the way a broken or hostile case could, for the
/// runner's own tests (harness/tests/fixtures/hostile); no case under cases/ may use them.
pub const SELFTEST_ACTS: &[&str] = &[
    "spin",
    "orphan",
    "straggler",
    "garbage",
    "half-record",
    "exit",
    "sigkill",
    "thread",
];

/// How an argument is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An expression; constants of these families are allowed.
    Num(&'static [Family]),
    /// A literal string.
    Text,
}

#[derive(Debug)]
pub struct Arg {
    pub name: &'static str,
    pub kind: Kind,
    /// `None`: required. `Some("")`: optional with no default. Otherwise the default expression.
    pub default: Option<&'static str>,
}

/// Whether a failure of the call is the kernel's or the harness's business.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Prepares the stage (temporary files, directories): failing means the harness broke.
    Setup,
    /// A call whose result is the kernel's: failing unexpectedly is a deviation.
    Kernel,
}

#[derive(Debug)]
pub struct CallSpec {
    pub name: &'static str,
    pub call: Call,
    pub role: Role,
    /// `args` are the C prototype's arguments, in its order: `explain --call` can run the call.
    pub prototype: bool,
    /// A mutant kernel can ignore the call (see `mutant.rs`).
    pub mutable: bool,
    pub args: &'static [Arg],
    /// Groups of arguments of which exactly one must be given.
    pub one_of: &'static [&'static [&'static str]],
    /// Data fields its `expect` may use, beyond the outcome fields.
    pub checks: &'static [&'static str],
    /// What the step does, for docs and `--help`.
    pub doc: &'static str,
}

/// The calls a mutant kernel can ignore (see `mutant.rs`), in table order after `MAP_FIXED`, which
/// stands for mmap calls with MAP_FIXED.
pub fn mutants() -> impl Iterator<Item = &'static str> + Clone {
    std::iter::once("MAP_FIXED").chain(CALLS.iter().filter(|c| c.mutable).map(|c| c.name))
}

/// The calls whose `args` are their C prototype's: `explain --call` can run them.
pub fn prototyped() -> impl Iterator<Item = &'static CallSpec> + Clone {
    CALLS.iter().filter(|c| c.prototype)
}

pub fn lookup(name: &str) -> Option<&'static CallSpec> {
    CALLS.iter().find(|c| c.name == name)
}

pub fn spec(call: Call) -> &'static CallSpec {
    CALLS
        .iter()
        .find(|c| c.call == call)
        .expect("every Call has a row in CALLS")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_is_documented() {
        let doc = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docs/case-format.md"
        ))
        .expect("docs/case-format.md exists");
        for c in CALLS {
            assert!(
                doc.contains(&format!("### `{}`", c.name)),
                "docs/case-format.md has no section for `{}`",
                c.name
            );
        }
    }

    #[test]
    fn defaults_name_real_arguments() {
        for c in CALLS {
            for group in c.one_of {
                for name in *group {
                    assert!(c.args.iter().any(|a| a.name == *name), "{}: {name}", c.name);
                }
            }
        }
    }
}
