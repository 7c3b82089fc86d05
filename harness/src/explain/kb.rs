//! The knowledge base behind `explain`: docs/explain/*.toml, embedded at build time. Symbols
//! with an explanation in the project's own words, and the documented causes of each errno.

use crate::case::expr::{self, Context, Expr};
use crate::names::Family;
use crate::version::Range;
use serde::Deserialize;
use std::sync::OnceLock;

mod files {
    include!(concat!(env!("OUT_DIR"), "/kb_files.rs"));
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Symbol {
    pub name: String,
    pub kind: String,
    #[serde(default)]
    pub of: Vec<String>,
    #[serde(default)]
    pub since: Option<String>,
    pub summary: String,
    #[serde(default)]
    pub related: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCause {
    syscall: String,
    errno: String,
    cause: String,
    #[serde(default)]
    when: Option<String>,
    #[serde(default)]
    cases: Vec<String>,
    #[serde(default)]
    kernel: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Cause {
    pub syscall: String,
    pub errno: String,
    pub cause: String,
    /// The cause as a condition on the call's arguments, for `explain --call`.
    pub when: Option<Expr>,
    pub when_text: Option<String>,
    pub cases: Vec<String>,
    /// The Linux versions the cause holds on (`>=6.13, <6.15`), when it is tied to some: only
    /// environments running such a kernel give evidence for it.
    pub kernel: Option<Range>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    symbol: Vec<Symbol>,
    #[serde(default)]
    cause: Vec<RawCause>,
}

#[derive(Debug, Default)]
pub struct Kb {
    pub symbols: Vec<Symbol>,
    pub causes: Vec<Cause>,
    /// Problems in the files: `cargo test` fails on any.
    pub problems: Vec<String>,
}

/// The names a `when` condition may use, in slot order: a call's arguments (as the case format
/// names them, `-` written `_`) and the facts `explain --call` gathers about them.
pub const VARS: &[&str] = &[
    "addr",
    "len",
    "prot",
    "flags",
    "fd",
    "offset",
    "advice",
    "old_len",
    "new_len",
    "new_addr",
    "vec",
    "size",
    "pgoff",
    "fd_open",
    "fd_regular",
    "fd_dir",
    "fd_pipe",
    "fd_chr",
    "fd_readable",
    "fd_writable",
    "fd_append",
    "range_mapped",
    // Added for `explain --call`'s facts (explain/facts.rs); appended, so the slots above keep
    // their numbers.
    "pkey",
    "name_len",
    "fd_socket",
    "fd_path",
    "fd_size",
    "fd_noexec",
    "fd_rofs",
    "fd_dax",
    "fd_append_only",
    "fd_immutable",
    "fd_hugetlbfs",
    "cap_ipc_lock",
    "cap_sys_admin",
    "cap_sys_nice",
    "cap_sys_rawio",
    "cap_sys_resource",
    "memlock_limit",
    "as_limit",
    "data_limit",
    "long_bits",
    "mmap_min_addr",
    "overcommit_memory",
    "commit_limit",
    "committed_as",
    "ram_swap",
    "max_map_count",
    "memory_failure",
    "map_count",
    "vm_size",
    "vm_data",
    "locked",
    "addr_mapped",
    "range_whole",
    "addr_shared",
    "range_locked",
    "huge_size",
    "huge_size_supported",
    "huge_free",
];

/// Every family: a condition may name any constant.
const ALL: &[Family] = &[
    Family::Prot,
    Family::Map,
    Family::Ms,
    Family::Mremap,
    Family::Madv,
    Family::Mlock,
    Family::Mcl,
    Family::Seal,
    Family::Mfd,
    Family::Open,
    Family::Falloc,
    Family::Splice,
    Family::Rlimit,
    Family::Pkey,
    Family::Pr,
    Family::Mdwe,
];

pub fn parse_when(text: &str) -> Result<Expr, String> {
    let resolve = |name: &str| {
        VARS.iter()
            .position(|v| *v == name)
            .ok_or_else(|| format!("`${name}` is not one of {}", VARS.join(", ")))
    };
    expr::parse(
        text,
        &Context {
            families: ALL,
            resolve: &resolve,
        },
    )
    .map_err(|e| format!("{} (at {})", e.message, e.at))
}

/// The embedded knowledge base, parsed once.
pub fn get() -> &'static Kb {
    static KB: OnceLock<Kb> = OnceLock::new();
    KB.get_or_init(|| {
        let mut kb = Kb::default();
        for (name, text) in files::FILES {
            let file: File = match toml::from_str(text) {
                Ok(f) => f,
                Err(e) => {
                    kb.problems
                        .push(format!("docs/explain/{name}: {}", e.message()));
                    continue;
                }
            };
            kb.symbols.extend(file.symbol);
            for c in file.cause {
                let when = c.when.as_deref().map(parse_when).transpose();
                let when = match when {
                    Ok(w) => w,
                    Err(e) => {
                        kb.problems.push(format!(
                            "docs/explain/{name}: cause {}/{} `when`: {e}",
                            c.syscall, c.errno
                        ));
                        None
                    }
                };
                let kernel = c.kernel.as_deref().map(Range::parse).transpose();
                let kernel = kernel.unwrap_or_else(|e| {
                    kb.problems.push(format!(
                        "docs/explain/{name}: cause {}/{} `kernel`: {e}",
                        c.syscall, c.errno
                    ));
                    None
                });
                kb.causes.push(Cause {
                    syscall: c.syscall,
                    errno: c.errno,
                    cause: c.cause,
                    when,
                    when_text: c.when,
                    cases: c.cases,
                    kernel,
                });
            }
        }
        kb
    })
}

impl Kb {
    pub fn symbol(&self, name: &str) -> Option<&Symbol> {
        self.symbols.iter().find(|s| s.name == name)
    }

    pub fn causes_of<'a>(&'a self, errno: &'a str) -> impl Iterator<Item = &'a Cause> + 'a {
        self.causes.iter().filter(move |c| c.errno == errno)
    }

    pub fn causes_for<'a>(&'a self, syscall: &'a str) -> impl Iterator<Item = &'a Cause> + 'a {
        self.causes.iter().filter(move |c| c.syscall == syscall)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_knowledge_base_is_sound() {
        let kb = get();
        assert!(kb.problems.is_empty(), "{:#?}", kb.problems);
        assert!(kb.symbols.len() > 100);
        let mut names: Vec<&str> = kb.symbols.iter().map(|s| s.name.as_str()).collect();
        names.sort();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "a symbol is defined twice");
        for s in &kb.symbols {
            for r in &s.related {
                assert!(
                    kb.symbol(r).is_some(),
                    "{} names unknown related symbol {r}",
                    s.name
                );
            }
        }
        for c in &kb.causes {
            assert!(
                crate::names::errno_value(&c.errno).is_some() || c.errno.starts_with("SIG"),
                "cause with unknown errno {}",
                c.errno
            );
        }
    }
}
