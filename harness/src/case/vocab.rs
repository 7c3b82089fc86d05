//! The step vocabulary: every `call` a case may use, its arguments, and what its `expect` may check.
//! Adding a call means a row here, an arm in `child.rs`, and a section in docs/case-format.md.

use crate::names::Family::{self, *};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    // Setting the stage.
    File,
    Open,
    Memfd,
    Seal,
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
    // Files.
    Ftruncate,
    Fallocate,
    Write,
    Read,
    Fsync,
    Fchmod,
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
    // Looking.
    Let,
    Maps,
    Smaps,
    Stat,
    Faults,
    // The harness itself.
    Locate,
    Selftest,
}

/// What `locate` can find.
pub const LOCATE_WHAT: &[&str] = &["stack", "code"];

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

const fn req(name: &'static str, kind: Kind) -> Arg {
    Arg {
        name,
        kind,
        default: None,
    }
}

const fn opt(name: &'static str, kind: Kind, default: &'static str) -> Arg {
    Arg {
        name,
        kind,
        default: Some(default),
    }
}

const N: Kind = Kind::Num(&[]);
const T: Kind = Kind::Text;
const PROT: Kind = Kind::Num(&[Prot]);

pub static CALLS: &[CallSpec] = &[
    CallSpec {
        name: "file",
        call: Call::File,
        role: Role::Setup,
        prototype: false,
        mutable: false,
        args: &[
            opt("size", N, "0"),
            opt("fill", N, ""),
            opt("text", T, ""),
            opt("pattern", T, ""),
            opt("open", Kind::Num(&[Open]), "O_RDWR"),
            opt("mode", N, "0o600"),
            opt("name", T, ""),
        ],
        one_of: &[],
        checks: &[],
        doc: "creates a file in the case's scratch directory: `text` at offset 0, or `size` bytes of `fill`, \
              or `pattern = \"page-number\"` (every byte of page k is k+1); without content the file is \
              sparse (a hole) up to `size`; then reopens it with `open` flags; yields the descriptor",
    },
    CallSpec {
        name: "open",
        call: Call::Open,
        role: Role::Kernel,
        prototype: false,
        mutable: false,
        args: &[req("path", T), opt("flags", Kind::Num(&[Open]), "O_RDONLY")],
        one_of: &[],
        checks: &[],
        doc: "opens `path` (absolute, or relative to the scratch directory, where `file` steps create \
              files named by their id); yields the descriptor",
    },
    CallSpec {
        name: "memfd",
        call: Call::Memfd,
        role: Role::Kernel,
        prototype: false,
        mutable: false,
        args: &[
            opt("name", T, "mmcheck"),
            opt("flags", Kind::Num(&[Mfd]), "0"),
            opt("size", N, "0"),
        ],
        one_of: &[],
        checks: &[],
        doc: "memfd_create(name, flags), then ftruncate to `size`; yields the descriptor",
    },
    CallSpec {
        name: "seal",
        call: Call::Seal,
        role: Role::Kernel,
        prototype: false,
        mutable: false,
        args: &[req("fd", N), req("seals", Kind::Num(&[Seal]))],
        one_of: &[],
        checks: &[],
        doc: "fcntl(fd, F_ADD_SEALS, seals)",
    },
    CallSpec {
        name: "pipe",
        call: Call::Pipe,
        role: Role::Setup,
        prototype: false,
        mutable: false,
        args: &[opt("end", T, "read")],
        one_of: &[],
        checks: &[],
        doc: "makes a pipe; yields the descriptor of `end` (`read` or `write`); both ends stay open",
    },
    CallSpec {
        name: "dir",
        call: Call::Dir,
        role: Role::Setup,
        prototype: false,
        mutable: false,
        args: &[],
        one_of: &[],
        checks: &[],
        doc: "opens the scratch directory with O_RDONLY|O_DIRECTORY; yields the descriptor",
    },
    CallSpec {
        name: "close",
        call: Call::Close,
        role: Role::Kernel,
        prototype: false,
        mutable: false,
        args: &[req("fd", N)],
        one_of: &[],
        checks: &[],
        doc: "close(fd)",
    },
    CallSpec {
        name: "mmap",
        call: Call::Mmap,
        role: Role::Kernel,
        prototype: true,
        mutable: false,
        args: &[
            opt("addr", N, "0"),
            req("len", N),
            req("prot", PROT),
            req("flags", Kind::Num(&[Map])),
            opt("fd", N, "-1"),
            opt("offset", N, "0"),
        ],
        one_of: &[],
        checks: &[],
        doc: "mmap(addr, len, prot, flags, fd, offset); yields the address, and names the mapping for \
              fault offsets",
    },
    CallSpec {
        name: "munmap",
        call: Call::Munmap,
        role: Role::Kernel,
        prototype: true,
        mutable: true,
        args: &[req("addr", N), req("len", N)],
        one_of: &[],
        checks: &[],
        doc: "munmap(addr, len)",
    },
    CallSpec {
        name: "mprotect",
        call: Call::Mprotect,
        role: Role::Kernel,
        prototype: true,
        mutable: true,
        args: &[req("addr", N), req("len", N), req("prot", PROT)],
        one_of: &[],
        checks: &[],
        doc: "mprotect(addr, len, prot)",
    },
    CallSpec {
        name: "msync",
        call: Call::Msync,
        role: Role::Kernel,
        prototype: true,
        mutable: true,
        args: &[req("addr", N), req("len", N), req("flags", Kind::Num(&[Ms]))],
        one_of: &[],
        checks: &[],
        doc: "msync(addr, len, flags)",
    },
    CallSpec {
        name: "mremap",
        call: Call::Mremap,
        role: Role::Kernel,
        prototype: true,
        mutable: true,
        args: &[
            req("addr", N),
            req("old-len", N),
            req("new-len", N),
            opt("flags", Kind::Num(&[Mremap]), "0"),
            opt("new-addr", N, "0"),
        ],
        one_of: &[],
        checks: &[],
        doc: "mremap(addr, old-len, new-len, flags, new-addr); yields the new address",
    },
    CallSpec {
        name: "madvise",
        call: Call::Madvise,
        role: Role::Kernel,
        prototype: true,
        mutable: true,
        args: &[req("addr", N), req("len", N), req("advice", Kind::Num(&[Madv]))],
        one_of: &[],
        checks: &[],
        doc: "madvise(addr, len, advice)",
    },
    CallSpec {
        name: "mincore",
        call: Call::Mincore,
        role: Role::Kernel,
        prototype: true,
        mutable: false,
        args: &[req("addr", N), req("len", N), opt("vec", N, "")],
        one_of: &[],
        checks: &["resident"],
        doc: "mincore(addr, len, vec); without `vec` the harness supplies the buffer and records it",
    },
    CallSpec {
        name: "mlock",
        call: Call::Mlock,
        role: Role::Kernel,
        prototype: true,
        mutable: true,
        args: &[req("addr", N), req("len", N)],
        one_of: &[],
        checks: &[],
        doc: "mlock(addr, len)",
    },
    CallSpec {
        name: "mlock2",
        call: Call::Mlock2,
        role: Role::Kernel,
        prototype: true,
        mutable: true,
        args: &[req("addr", N), req("len", N), opt("flags", Kind::Num(&[Mlock]), "0")],
        one_of: &[],
        checks: &[],
        doc: "mlock2(addr, len, flags), as a raw system call",
    },
    CallSpec {
        name: "munlock",
        call: Call::Munlock,
        role: Role::Kernel,
        prototype: true,
        mutable: true,
        args: &[req("addr", N), req("len", N)],
        one_of: &[],
        checks: &[],
        doc: "munlock(addr, len)",
    },
    CallSpec {
        name: "mlockall",
        call: Call::Mlockall,
        role: Role::Kernel,
        prototype: true,
        mutable: true,
        args: &[req("flags", Kind::Num(&[Mcl]))],
        one_of: &[],
        checks: &[],
        doc: "mlockall(flags)",
    },
    CallSpec {
        name: "munlockall",
        call: Call::Munlockall,
        role: Role::Kernel,
        prototype: true,
        mutable: true,
        args: &[],
        one_of: &[],
        checks: &[],
        doc: "munlockall()",
    },
    CallSpec {
        name: "remap_file_pages",
        call: Call::RemapFilePages,
        role: Role::Kernel,
        prototype: true,
        mutable: true,
        args: &[
            req("addr", N),
            req("size", N),
            opt("prot", PROT, "0"),
            req("pgoff", N),
            opt("flags", Kind::Num(&[Map]), "0"),
        ],
        one_of: &[],
        checks: &[],
        doc: "remap_file_pages(addr, size, prot, pgoff, flags)",
    },
    CallSpec {
        name: "mseal",
        call: Call::Mseal,
        role: Role::Kernel,
        prototype: true,
        mutable: true,
        args: &[req("addr", N), req("len", N), opt("flags", N, "0")],
        one_of: &[],
        checks: &[],
        doc: "mseal(addr, len, flags), as a raw system call",
    },
    CallSpec {
        name: "ftruncate",
        call: Call::Ftruncate,
        role: Role::Kernel,
        prototype: false,
        mutable: true,
        args: &[req("fd", N), req("len", N)],
        one_of: &[],
        checks: &[],
        doc: "ftruncate(fd, len)",
    },
    CallSpec {
        name: "fallocate",
        call: Call::Fallocate,
        role: Role::Kernel,
        prototype: false,
        mutable: true,
        args: &[
            req("fd", N),
            opt("mode", Kind::Num(&[Falloc]), "0"),
            opt("offset", N, "0"),
            req("len", N),
        ],
        one_of: &[],
        checks: &[],
        doc: "fallocate(fd, mode, offset, len)",
    },
    CallSpec {
        name: "write",
        call: Call::Write,
        role: Role::Kernel,
        prototype: false,
        mutable: false,
        args: &[
            req("fd", N),
            opt("text", T, ""),
            opt("fill", N, ""),
            opt("len", N, "1"),
            opt("offset", N, ""),
        ],
        one_of: &[&["text", "fill"]],
        checks: &[],
        doc: "writes `text`, or `len` bytes of `fill`, with pwrite at `offset` or write without it; \
              yields the count",
    },
    CallSpec {
        name: "read",
        call: Call::Read,
        role: Role::Kernel,
        prototype: false,
        mutable: false,
        args: &[req("fd", N), req("len", N), opt("offset", N, "")],
        one_of: &[],
        checks: &["text", "hex", "byte"],
        doc: "reads `len` bytes with pread at `offset` or read without it; yields the count",
    },
    CallSpec {
        name: "fsync",
        call: Call::Fsync,
        role: Role::Kernel,
        prototype: false,
        mutable: false,
        args: &[req("fd", N)],
        one_of: &[],
        checks: &[],
        doc: "fsync(fd)",
    },
    CallSpec {
        name: "fchmod",
        call: Call::Fchmod,
        role: Role::Kernel,
        prototype: false,
        mutable: false,
        args: &[req("fd", N), req("mode", N)],
        one_of: &[],
        checks: &[],
        doc: "fchmod(fd, mode)",
    },
    CallSpec {
        name: "load",
        call: Call::Load,
        role: Role::Kernel,
        prototype: false,
        mutable: false,
        args: &[req("addr", N), opt("len", N, "1")],
        one_of: &[],
        checks: &["text", "hex", "byte"],
        doc: "reads `len` bytes at `addr` through the mapping; a fault is caught and recorded with its \
              signal, si_code and address",
    },
    CallSpec {
        name: "store",
        call: Call::Store,
        role: Role::Kernel,
        prototype: false,
        mutable: false,
        args: &[
            req("addr", N),
            opt("text", T, ""),
            opt("byte", N, ""),
            opt("len", N, "1"),
        ],
        one_of: &[&["text", "byte"]],
        checks: &[],
        doc: "writes `text`, or `len` copies of `byte`, at `addr` through the mapping; faults are \
              caught as for `load`",
    },
    CallSpec {
        name: "jump",
        call: Call::Jump,
        role: Role::Kernel,
        prototype: false,
        mutable: false,
        args: &[req("addr", N)],
        one_of: &[],
        checks: &[],
        doc: "calls the code at `addr` (store a `ret`, byte 0xc3, there first); a fault on instruction \
              fetch is caught as for `load`",
    },
    CallSpec {
        name: "compare",
        call: Call::Compare,
        role: Role::Kernel,
        prototype: false,
        mutable: false,
        args: &[req("addr", N), req("fd", N), opt("offset", N, "0"), req("len", N)],
        one_of: &[],
        checks: &["equal"],
        doc: "compares `len` bytes of the mapping at `addr` with the file at `offset` (read with pread)",
    },
    CallSpec {
        name: "setrlimit",
        call: Call::Setrlimit,
        role: Role::Kernel,
        prototype: false,
        mutable: false,
        args: &[
            req("resource", Kind::Num(&[Rlimit])),
            req("soft", N),
            opt("hard", N, ""),
        ],
        one_of: &[],
        checks: &[],
        doc: "setrlimit(resource, {soft, hard}); `hard` defaults to `soft`",
    },
    CallSpec {
        name: "fork",
        call: Call::Fork,
        role: Role::Kernel,
        prototype: false,
        mutable: false,
        args: &[],
        one_of: &[],
        checks: &[],
        doc: "forks; the child runs the `[[step.child]]` steps when the parent reaches the matching \
              `wait`, so the parent's steps in between happen first; yields the child's pid",
    },
    CallSpec {
        name: "wait",
        call: Call::Wait,
        role: Role::Kernel,
        prototype: false,
        mutable: false,
        args: &[req("pid", N)],
        one_of: &[],
        checks: &[],
        doc: "lets the forked child run its steps and waits for it; expects `exit = 0` unless told \
              otherwise (`exit` or `signal`)",
    },
    CallSpec {
        name: "exec",
        call: Call::Exec,
        role: Role::Kernel,
        prototype: false,
        mutable: false,
        args: &[],
        one_of: &[],
        checks: &[],
        doc: "execve()s the mmcheck checker; the steps after it run in the new image, with the old \
              `$names` carried over as numbers and descriptors kept open",
    },
    CallSpec {
        name: "let",
        call: Call::Let,
        role: Role::Setup,
        prototype: false,
        mutable: false,
        args: &[req("value", N), opt("len", N, "")],
        one_of: &[],
        checks: &[],
        doc: "names a value: `$id` is `value` from here on; with `len`, [value, value+len) is \
              a named region, so that faults and maps lines in it read relative to it",
    },
    CallSpec {
        name: "maps",
        call: Call::Maps,
        role: Role::Kernel,
        prototype: false,
        mutable: false,
        args: &[req("addr", N), req("len", N)],
        one_of: &[],
        checks: &["maps"],
        doc: "reads /proc/self/maps: the lines overlapping [addr, addr+len), clipped to that range",
    },
    CallSpec {
        name: "smaps",
        call: Call::Smaps,
        role: Role::Kernel,
        prototype: false,
        mutable: false,
        args: &[req("addr", N), req("len", N)],
        one_of: &[],
        checks: &["vmflags", "rss", "locked"],
        doc: "reads /proc/self/smaps for the mappings overlapping [addr, addr+len): their VmFlags, \
              and Rss and Locked summed, in bytes",
    },
    CallSpec {
        name: "stat",
        call: Call::Stat,
        role: Role::Kernel,
        prototype: false,
        mutable: false,
        args: &[req("fd", N)],
        one_of: &[],
        checks: &["size", "blocks"],
        doc: "fstat(fd): st_size and st_blocks (512-byte units)",
    },
    CallSpec {
        name: "faults",
        call: Call::Faults,
        role: Role::Kernel,
        prototype: false,
        mutable: false,
        args: &[],
        one_of: &[],
        checks: &["minflt", "majflt"],
        doc: "getrusage(RUSAGE_SELF): minor and major faults since the previous `faults` step (or the \
              start of the process)",
    },
    CallSpec {
        name: "locate",
        call: Call::Locate,
        role: Role::Setup,
        prototype: false,
        mutable: false,
        args: &[req("what", T)],
        one_of: &[],
        checks: &[],
        doc: "yields the page-aligned address of the child's own `stack` (the page holding the current \
              frame) or `code` (the page holding the harness function that runs steps), for cases that \
              map over, protect or unmap the harness itself",
    },
    CallSpec {
        name: "selftest",
        call: Call::Selftest,
        role: Role::Setup,
        prototype: false,
        mutable: false,
        args: &[req("act", T), opt("status", N, "0")],
        one_of: &[],
        checks: &[],
        doc: "misbehaves on purpose, to test the runner: `spin` loops forever; `orphan` forks a process \
              that leaves the group (setsid), keeps the record pipe open and sleeps forever; `straggler` \
              does the same inside the group; `garbage` writes bytes that are no record to the record \
              pipe; `half-record` writes the start of a record and exits; `exit` exits with `status` \
              without reporting; `sigkill` kills the child with SIGKILL. Only for the runner's own \
              fixtures: a case under cases/ that uses it is refused by `cargo test`",
    },
];

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
