//! Decides, before a case runs, whether this machine can run it; the reason is printed on skip.

use crate::case::plan::Case;
use crate::env::{self, HostEnv};

/// `Ok` when the case can run here, else why not.
pub fn check(case: &Case, host: &HostEnv) -> Result<(), String> {
    let r = &case.requires;
    if r.root && host.euid != 0 {
        return Err(format!("needs root; running as uid {}", host.euid));
    }
    for cap in &r.caps {
        if !caps::has_cap(None, caps::CapSet::Effective, *cap).unwrap_or(false) {
            return Err(format!("needs {cap} in the effective capability set"));
        }
    }
    if let Some(range) = &r.kernel {
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
