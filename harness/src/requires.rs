//! Decides, before a case runs, whether this machine can run it; the reason is printed on skip.
//!
//! Every unmet need is one of two kinds. A property of the *kernel* (its version, its
//! architecture, a /proc or /sys feature it lacks) is kernel behaviour: the skip is part of the
//! environment's snapshot, like any observation. A property of the machine's *setup* (a missing
//! mkfs tool, no root, no free huge pages, a capability the runner lacks, a sysctl set otherwise)
//! says nothing about the kernel: the case is not compared, and the run says what to install or
//! change. Kernel needs are checked first, so that a case both kinds would skip is skipped for
//! the kernel's reason on every machine.

use crate::case::plan::Case;
use crate::env::{self, HostEnv};
pub use crate::outcome::Setup;

/// Why a case cannot run here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmet {
    /// The sentence printed with the skip.
    pub reason: String,
    /// `None` for a property of the kernel; else what about the machine's setup stands in the way.
    pub setup: Option<Setup>,
}

impl Unmet {
    fn kernel(reason: String) -> Unmet {
        Unmet {
            reason,
            setup: None,
        }
    }

    fn setup(reason: String, cause: &str, fix: Option<String>) -> Unmet {
        Unmet {
            reason,
            setup: Some(Setup::Other {
                cause: cause.to_string(),
                fix,
            }),
        }
    }
}

/// `Ok` when the case can run here, else why not.
pub fn check(case: &Case, host: &HostEnv) -> Result<(), Unmet> {
    kernel_needs(case, host)?;
    setup_needs(case, host)
}

/// Needs the kernel meets or not, wherever it runs.
fn kernel_needs(case: &Case, host: &HostEnv) -> Result<(), Unmet> {
    let r = &case.requires;
    let arch = host.kernel_arch();
    if !r.arch.is_empty() && !r.arch.iter().any(|a| a == arch) {
        let this = if arch == host.machine {
            arch.to_string()
        } else {
            format!("{arch} (User-mode Linux on {})", host.machine)
        };
        return Err(Unmet::kernel(format!(
            "written for {}; this machine is {this}",
            r.arch.join(", ")
        )));
    }
    for path in &r.exists {
        if !std::path::Path::new(path).exists() {
            return Err(Unmet::kernel(format!(
                "needs {path}, which this kernel does not have"
            )));
        }
    }
    // A settings file the kernel does not have is a missing feature; one it has with another
    // value is a setting of this machine (below).
    for (path, _) in r.file_contains.iter().chain(&r.file_lacks) {
        if !std::path::Path::new(path).exists() {
            return Err(Unmet::kernel(format!(
                "needs {path}, which this kernel does not have"
            )));
        }
    }
    if r.soft_dirty && !soft_dirty_tracked() {
        return Err(Unmet::kernel(
            "needs soft-dirty tracking (CONFIG_MEM_SOFT_DIRTY): a page this process wrote \
             shows no soft-dirty bit in /proc/self/pagemap"
                .into(),
        ));
    }
    if let (Some(range), true) = (&r.kernel, crate::env::runs_linux(&host.platform)) {
        match host.kernel {
            Some(v) if range.contains(v) => {}
            Some(_) => {
                return Err(Unmet::kernel(format!(
                    "needs kernel {}; this is {}",
                    range.text, host.release
                )))
            }
            None => {
                return Err(Unmet::kernel(format!(
                    "needs kernel {}; cannot read a version from `{}`",
                    range.text, host.release
                )))
            }
        }
    }
    // Missing keys are the kernel's when it refuses them (no such call, not built in, turned
    // off) and the machine's when the processor has none: the same kernel on the next machine
    // gives keys, so that skip is not compared (checked last, after every need of the kernel).
    if r.pkeys {
        if let Some(why) = &host.no_pkeys {
            if why.processor {
                return Err(Unmet::setup(
                    why.reason.clone(),
                    "the processor has no memory protection keys",
                    None,
                ));
            }
            return Err(Unmet::kernel(why.reason.clone()));
        }
    }
    Ok(())
}

/// Whether this kernel tracks soft-dirty pages. A kernel built with CONFIG_MEM_SOFT_DIRTY marks
/// every mapping of a process soft-dirty until the process writes 4 to /proc/self/clear_refs,
/// which the runner never does: so a page of its own stack, just written, reads soft-dirty
/// (bit 55 of its pagemap entry) exactly when the kernel tracks the bit at all.
fn soft_dirty_tracked() -> bool {
    use std::os::unix::fs::FileExt;
    static TRACKED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACKED.get_or_init(|| {
        let mut here = [1u8; 64];
        std::hint::black_box(&mut here);
        let page = crate::sys::page_size();
        let index = here.as_ptr() as u64 / page;
        let mut entry = [0u8; 8];
        std::fs::File::open("/proc/self/pagemap")
            .and_then(|f| f.read_exact_at(&mut entry, index * 8))
            .is_ok_and(|()| u64::from_ne_bytes(entry) & (1 << 55) != 0)
    })
}

/// Needs of the machine's setup: privileges, tools, reserved memory, settings.
fn setup_needs(case: &Case, host: &HostEnv) -> Result<(), Unmet> {
    let r = &case.requires;
    if r.root && host.euid != 0 {
        return Err(Unmet::setup(
            format!("needs root; running as uid {}", host.euid),
            "not run as root",
            None,
        ));
    }
    for (path, text) in &r.file_contains {
        let content = std::fs::read_to_string(path).unwrap_or_default();
        if !content.contains(text.as_str()) {
            let seen = content.trim();
            let seen = if seen.is_empty() {
                "nothing readable"
            } else {
                seen
            };
            return Err(Unmet::setup(
                format!("needs {path} to contain `{text}`; it holds `{seen}`"),
                &format!("{path} does not contain `{text}`"),
                None,
            ));
        }
    }
    for (path, text) in &r.file_lacks {
        let content = std::fs::read_to_string(path).unwrap_or_default();
        if content.contains(text.as_str()) {
            return Err(Unmet::setup(
                format!(
                    "needs {path} not to contain `{text}`; it holds `{}`",
                    content.trim()
                ),
                &format!("{path} contains `{text}`"),
                None,
            ));
        }
    }
    if r.hugepages > 0 {
        let free = free_huge_pages();
        if free < r.hugepages {
            let fix = format!("sysctl vm.nr_hugepages={}", r.hugepages);
            return Err(Unmet::setup(
                format!(
                    "needs {} free huge pages; HugePages_Free is {free} (reserve some with {fix})",
                    r.hugepages
                ),
                "too few free huge pages",
                Some(fix),
            ));
        }
    }
    for cap in &r.caps {
        if !caps::has_cap(None, caps::CapSet::Effective, *cap).unwrap_or(false) {
            return Err(Unmet::setup(
                format!("needs {cap} in the effective capability set"),
                &format!("the runner lacks {cap}"),
                None,
            ));
        }
    }
    if let Some(fs) = &case.fs {
        if host.scratch_for(fs).is_none() {
            let reason = env::scratch_hint(host, fs);
            let setup = match host.scratch_problems.iter().find(|(name, _)| name == fs) {
                Some((_, why)) => missing_tool(why).unwrap_or_else(|| Setup::Other {
                    cause: format!("could not make a scratch {fs}: {why}"),
                    fix: None,
                }),
                None => Setup::Other {
                    cause: format!("no writable {fs} directory"),
                    fix: Some(format!("run as root, or MMCHECK_SCRATCH={fs}=DIR")),
                },
            };
            return Err(Unmet {
                reason,
                setup: Some(setup),
            });
        }
    }
    Ok(())
}

/// The janitor's "mkfs.xfs is not installed (apt-get install xfsprogs)" as a missing tool.
fn missing_tool(why: &str) -> Option<Setup> {
    let (tool, rest) = why.split_once(" is not installed (apt-get install ")?;
    let package = rest.strip_suffix(')')?;
    Some(Setup::Tool {
        tool: tool.to_string(),
        package: package.to_string(),
    })
}

/// HugePages_Free from /proc/meminfo (0 when it cannot be read).
fn free_huge_pages() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("HugePages_Free:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_mkfs_is_a_tool_of_the_setup() {
        assert_eq!(
            missing_tool("mkfs.xfs is not installed (apt-get install xfsprogs)"),
            Some(Setup::Tool {
                tool: "mkfs.xfs".into(),
                package: "xfsprogs".into()
            })
        );
        assert_eq!(missing_tool("losetup failed: no free loop device"), None);
    }

    fn case(requires: &str) -> Case {
        crate::case::load::case_from_toml(&format!(
            "summary = \"s\"\nsymbols = [\"mmap\"]\nrefs = [\"mmap(2)\"]\nrequires = {requires}\n\n\
             [[step]]\ncall = \"munmap\"\nargs = {{ addr = \"0\", len = \"0\" }}\n"
        ))
    }

    #[test]
    fn settings_are_the_setups_and_missing_files_the_kernels() {
        let host = HostEnv::detect();
        // /proc/self/status always holds "Name:": a setting this machine has otherwise.
        let lacks = check(
            &case("{ file-lacks = { \"/proc/self/status\" = \"Name:\" } }"),
            &host,
        );
        let unmet = lacks.expect_err("the file holds the text");
        assert!(unmet.setup.is_some(), "{unmet:?}");
        assert!(unmet.reason.contains("not to contain `Name:`"), "{unmet:?}");
        assert!(check(
            &case("{ file-lacks = { \"/proc/self/status\" = \"no such\" } }"),
            &host
        )
        .is_ok());
        // A settings file the kernel does not have is the kernel's, for -contains and -lacks.
        for field in ["file-contains", "file-lacks"] {
            let missing = format!("{{ {field} = {{ \"/proc/sys/vm/no-such-knob\" = \"1\" }} }}");
            let unmet = check(&case(&missing), &host).expect_err("no such file");
            assert_eq!(unmet.setup, None, "{field}: {unmet:?}");
        }
        // Without protection keys from the kernel, a case that needs them is skipped as the
        // kernel's property, with the probe's reason; with them it runs.
        let mut without = host.clone();
        without.no_pkeys = Some(crate::env::NoPkeys {
            reason: "pkey_alloc(0, 0) fails here with ENOSPC".into(),
            processor: false,
        });
        let unmet = check(&case("{ pkeys = true }"), &without).expect_err("no keys");
        assert_eq!(unmet.setup, None, "{unmet:?}");
        assert!(unmet.reason.contains("ENOSPC"), "{unmet:?}");
        assert!(check(&case("{ pkeys = false }"), &without).is_ok());
        // A processor without keys is the machine's: skipped and not compared, after every need
        // of the kernel.
        let mut no_pku = host.clone();
        no_pku.no_pkeys = Some(crate::env::NoPkeys {
            reason: "this processor has none (no `pku` in /proc/cpuinfo)".into(),
            processor: true,
        });
        let unmet = check(&case("{ pkeys = true }"), &no_pku).expect_err("no keys");
        assert!(unmet.setup.is_some(), "{unmet:?}");
        let old = check(&case("{ pkeys = true, kernel = \"<2.0\" }"), &no_pku);
        assert_eq!(old.expect_err("too new").setup, None);
        let mut with = host.clone();
        with.no_pkeys = None;
        assert!(check(&case("{ pkeys = true }"), &with).is_ok());
        // Kernel needs come first: a case both would skip is skipped for the kernel.
        let both = check(&case("{ kernel = \"<2.0\", hugepages = 100000 }"), &host);
        assert_eq!(both.expect_err("unmet").setup, None);
    }
}
