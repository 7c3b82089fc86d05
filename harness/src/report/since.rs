//! Since when a case, a call or a symbol works: the first Linux kernel of the matrix from which
//! on every case that ran passed, beside the version the knowledge base documents, and where it
//! is absent: a call the kernel answers with ENOSYS, a flag it rejects, a version gate that kept
//! the case from running. What was observed and what is only a gate are worded apart.

use super::{Cell, EnvSummary};
use crate::outcome::Status;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Since {
    /// The oldest Linux kernel version of the matrix (`6.12`) from which on, in every kernel
    /// environment (platform `linux`), every case of it that ran passed; `None` when the newest
    /// kernel that ran it does not pass it all, or no kernel ran it. The oldest version of the
    /// matrix means "at least since then".
    pub matrix: Option<String>,
    /// The version the man page or the kernel's history gives (explain's knowledge base).
    pub documented: Option<String>,
    /// By environment key, where it is missing: observed (`ENOSYS`, `EINVAL: MADV_COLD
    /// rejected`) or a gate that kept it from running (`needs kernel >=6.10 (not run)`).
    pub absent: BTreeMap<String, String>,
}

/// A kernel environment's `major.minor`, the unit of "since".
pub fn kernel_version(e: &EnvSummary) -> Option<(u32, u32)> {
    if !e.kernel_only {
        return None;
    }
    crate::version::parse_release(&e.release).map(|(major, minor, _)| (major, minor))
}

/// The first version from which on everything that ran passed. `statuses(env)` gives the
/// verdicts in that environment of the cases in question (skips included; they are ignored).
pub fn in_matrix(
    envs: &[EnvSummary],
    statuses: &dyn Fn(&EnvSummary) -> Vec<Status>,
) -> Option<String> {
    // Per version: whether any case ran there, and whether all that ran passed.
    let mut versions: BTreeMap<(u32, u32), (bool, bool)> = BTreeMap::new();
    for e in envs {
        let Some(v) = kernel_version(e) else { continue };
        let ran: Vec<Status> = statuses(e)
            .into_iter()
            .filter(|s| *s != Status::Skip)
            .collect();
        let entry = versions.entry(v).or_insert((false, true));
        entry.0 |= !ran.is_empty();
        entry.1 &= ran.iter().all(|s| *s == Status::Pass);
    }
    let mut since = None;
    for (v, (ran, ok)) in versions.iter().rev() {
        if !ran {
            continue;
        }
        if !ok {
            break;
        }
        since = Some(format!("{}.{}", v.0, v.1));
    }
    since
}

/// Orders `2.6.32` before `6.1` before `6.10`.
pub fn version_key(v: &str) -> Vec<u32> {
    v.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

/// The newest of some documented versions: a case needs every symbol it names.
pub fn newest<'a>(versions: impl IntoIterator<Item = &'a str>) -> Option<String> {
    versions
        .into_iter()
        .max_by_key(|v| version_key(v))
        .map(str::to_string)
}

/// The version explain's knowledge base gives for a name; for a call directory without an
/// entry of its own (`memfd`), that of the system call it is named after (`memfd_create`).
pub fn documented(name: &str) -> Option<String> {
    let kb = crate::explain::kb::get();
    match kb.symbol(name) {
        Some(s) => s.since.clone(),
        None => kb
            .symbols
            .iter()
            .find(|s| s.kind == "syscall" && s.name.starts_with(&format!("{name}_")))
            .and_then(|s| s.since.clone()),
    }
}

/// A skip that says the kernel lacks something (a version, a /proc file, a processor feature),
/// shortened: `needs kernel >=6.10`. `None` for a case written for another architecture, which
/// says nothing about the kernel.
pub fn gate(reason: &str) -> Option<String> {
    if reason.starts_with("written for") || reason.is_empty() {
        return None;
    }
    let short = reason
        .split(';')
        .next()
        .unwrap_or(reason)
        .trim_end_matches(", which this kernel does not have");
    let short = short.split(": ").next().unwrap_or(short);
    Some(short.trim().to_string())
}

/// Whether a skip is a kernel version gate (`needs kernel >=6.10`, `needs kernel <6.17`).
pub fn is_version_gate(reason: &str) -> bool {
    reason.starts_with("needs kernel ")
}

/// What a cell says about the feature being absent, if anything: the observation of its
/// deciding step (`ENOSYS`, or `ENOSYS (mseal)` when the call that failed is not `call`; a flag
/// rejected with EINVAL), or the gate that kept it from running.
pub fn absence(cell: &Cell, call: &str) -> Option<String> {
    match cell.status {
        Status::Skip => gate(&cell.reason).map(|g| format!("{g} (not run)")),
        Status::Pass => None,
        Status::Fail | Status::Broken => {
            let cause = cell.classified.as_ref()?;
            let on = if cause.call == call {
                String::new()
            } else {
                format!(" ({})", cause.call)
            };
            match cause.kind {
                super::causes::NOT_IMPLEMENTED => Some(format!("ENOSYS{on}")),
                super::causes::REJECTED => {
                    Some(format!("{}: {} rejected{on}", cause.errno, cause.detail))
                }
                _ => None,
            }
        }
    }
}

/// Where a call or symbol is absent, from the cells of its cases in each environment: where none
/// passed and every case that ran failed with an observed absence (ENOSYS, a rejected flag), the
/// most frequent of those; where none ran, the most frequent gate. A case that failed otherwise
/// (another errno, another signal detail) says the feature is there but differs: not absent.
/// Ties go to the first in order of the text, so that the result does not depend on case order.
pub fn absent_in<'a>(
    envs: &[EnvSummary],
    cells: &dyn Fn(&str) -> Vec<(&'a Cell, String)>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for e in envs {
        let cells = cells(&e.key);
        if cells.is_empty() || cells.iter().any(|(c, _)| c.status == Status::Pass) {
            continue;
        }
        let mut observed: BTreeMap<String, usize> = BTreeMap::new();
        let mut gated: BTreeMap<String, usize> = BTreeMap::new();
        let ran = cells.iter().filter(|(c, _)| c.status != Status::Skip);
        if ran.clone().any(|(c, call)| absence(c, call).is_none()) {
            continue;
        }
        for (cell, call) in &cells {
            if let Some(a) = absence(cell, call) {
                let to = if cell.status == Status::Skip {
                    &mut gated
                } else {
                    &mut observed
                };
                *to.entry(a).or_default() += 1;
            }
        }
        let pick = |m: &BTreeMap<String, usize>| {
            m.iter()
                .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
                .map(|(k, _)| k.clone())
        };
        if let Some(a) = pick(&observed).or_else(|| pick(&gated)) {
            out.insert(e.key.clone(), a);
        }
    }
    out
}
