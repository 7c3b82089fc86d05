//! Decides, before a case runs, whether this machine can run it; the reason is printed on skip.

use crate::case::plan::Case;
use crate::env::{self, HostEnv};

/// `Ok` when the case can run here, else why not.
pub fn check(case: &Case, host: &HostEnv) -> Result<(), String> {
    let r = &case.requires;
    if r.root && host.euid != 0 {
        return Err(format!("needs root; running as uid {}", host.euid));
    }
    if !r.arch.is_empty() && !r.arch.contains(&host.machine) {
        return Err(format!(
            "written for {}; this machine is {}",
            r.arch.join(", "),
            host.machine
        ));
    }
    for path in &r.exists {
        if !std::path::Path::new(path).exists() {
            return Err(format!("needs {path}, which this kernel does not have"));
        }
    }
    for (path, text) in &r.file_contains {
        let content = std::fs::read_to_string(path).unwrap_or_default();
        if !content.contains(text.as_str()) {
            let seen = content.trim();
            return Err(format!(
                "needs {path} to contain `{text}`; it holds `{}`",
                if seen.is_empty() {
                    "nothing readable"
                } else {
                    seen
                }
            ));
        }
    }
    if r.hugepages > 0 {
        let free = free_huge_pages();
        if free < r.hugepages {
            return Err(format!(
                "needs {} free huge pages; HugePages_Free is {free} (reserve some with \
                 sysctl vm.nr_hugepages={})",
                r.hugepages, r.hugepages
            ));
        }
    }
    for cap in &r.caps {
        if !caps::has_cap(None, caps::CapSet::Effective, *cap).unwrap_or(false) {
            return Err(format!("needs {cap} in the effective capability set"));
        }
    }
    if let (Some(range), "linux") = (&r.kernel, host.platform.as_str()) {
        match host.kernel {
            Some(v) if range.contains(v) => {}
            Some(_) => {
                return Err(format!(
                    "needs kernel {}; this is {}",
                    range.text, host.release
                ))
            }
            None => {
                return Err(format!(
                    "needs kernel {}; cannot read a version from `{}`",
                    range.text, host.release
                ))
            }
        }
    }
    if let Some(fs) = &case.fs {
        if host.scratch_for(fs).is_none() {
            return Err(env::scratch_hint(host, fs));
        }
    }
    Ok(())
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
