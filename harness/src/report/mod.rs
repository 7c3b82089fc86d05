//! `mmcheck report`: the compatibility report across environments, built from the committed
//! results of every environment (`snapshots/<env>/results.json`, and optionally a fresh run of
//! this one): per environment its counts, per call and per symbol a support level, and every case
//! whose verdict differs between environments, with the observations side by side.

use crate::outcome::{Status, StepRun};
use crate::results::{verdicts_differ, CaseResult, ResultsDoc, Totals};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Serialize)]
pub struct Report {
    pub envs: Vec<EnvSummary>,
    pub cases: Vec<CaseRow>,
    pub syscalls: Vec<Support>,
    pub symbols: Vec<Support>,
    /// The explain knowledge base's summary of every symbol the cases name.
    pub explain: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
pub struct EnvSummary {
    pub key: String,
    pub release: String,
    pub platform: String,
    /// `uname -m` in the environment.
    pub machine: String,
    pub page_size: u64,
    /// What a column of this environment is headed with: the key without its architecture and
    /// page size, then both (`linux-6.12 aarch64 16K`).
    pub label: String,
    pub pass: usize,
    pub fail: usize,
    pub broken: usize,
    pub skip: usize,
}

/// What one environment did in one case.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub status: Status,
    pub reason: String,
    /// The deciding observation (first mismatch, else the first step that must fail or fault).
    pub decisive: String,
    pub steps: Vec<StepRun>,
}

#[derive(Debug, Serialize)]
pub struct CaseRow {
    pub id: String,
    pub group: String,
    pub summary: String,
    pub symbols: Vec<String>,
    /// By environment key; an environment without the case has no entry.
    pub results: BTreeMap<String, Cell>,
    /// Two environments that ran the case disagree on its verdict (a skip is no verdict).
    pub differs: bool,
    /// Some environment skipped it while others ran it.
    pub partly_skipped: bool,
    /// For a case that differs: what accounts for it (see `varies_with`): "platform",
    /// "architecture", "page size", "kernel", or a pair ("platform and page size"). Several
    /// when this matrix cannot tell them apart; none when no pair does.
    pub varies_with: Vec<String>,
}

/// The support of a call or symbol in each environment.
#[derive(Debug, Serialize)]
pub struct Support {
    pub name: String,
    pub per_env: BTreeMap<String, Level>,
}

#[derive(Debug, Serialize)]
pub struct Level {
    /// `full` (every case that ran passed), `partial`, `absent` (none passed), or `untested`
    /// (every case was skipped).
    pub level: String,
    pub pass: usize,
    pub ran: usize,
    /// The cases that did not pass.
    pub missing: Vec<String>,
}

/// Reads every environment's results under `snapshots`. Environments are ordered newest Linux
/// first, other platforms after.
pub fn load(snapshots: &Path) -> Result<Vec<ResultsDoc>, String> {
    let mut docs = Vec::new();
    let dirs = std::fs::read_dir(snapshots).map_err(|e| {
        format!(
            "cannot read {}: {e} (run make matrix first)",
            snapshots.display()
        )
    })?;
    for d in dirs.flatten() {
        let path = d.path().join("results.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        docs.push(ResultsDoc::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?);
    }
    if docs.is_empty() {
        return Err(format!(
            "no results.json under {} (run make matrix first)",
            snapshots.display()
        ));
    }
    docs.sort_by_key(|d| crate::snapshot::env_order(&d.env.key));
    Ok(docs)
}

/// A column header for an environment: `linux-6.12-aarch64-16k` is `linux-6.12 aarch64 16K`.
fn label(key: &str, machine: &str, page_size: u64) -> String {
    let page = page_size / 1024;
    let base = key.strip_suffix(&format!("-{page}k")).unwrap_or(key);
    let base = base.strip_suffix(&format!("-{machine}")).unwrap_or(base);
    format!("{base} {machine} {page}K")
}

/// What accounts for a difference: the properties of the environments such that those alike in
/// them always agree on the verdict. The coarsest single properties ("platform", "architecture",
/// "page size"; "kernel" only when the platform alone does not), else the pairs that do
/// ("platform and page size"); several when this matrix cannot tell them apart. Where no single
/// property does and one or two environments disagree with all the others, which agree:
/// `only <key>` or `only <key> and <key>`, the more useful fact.
fn varies_with(envs: &[EnvSummary], statuses: &[Option<Status>]) -> Vec<String> {
    let kernel = |e: &EnvSummary| match crate::version::parse_release(&e.release) {
        Some((major, minor, _)) if crate::env::runs_linux(&e.platform) => {
            format!("{}-{major}.{minor}", e.platform)
        }
        _ => e.platform.clone(),
    };
    let platform = |e: &EnvSummary| e.platform.clone();
    let arch = |e: &EnvSummary| e.machine.clone();
    let page = |e: &EnvSummary| e.page_size.to_string();
    type Property<'a> = (&'static str, &'a dyn Fn(&EnvSummary) -> String);
    let singles: [Property; 4] = [
        ("platform", &platform),
        ("architecture", &arch),
        ("page size", &page),
        ("kernel", &kernel),
    ];
    let accounts = |props: &[&Property]| {
        let mut seen: BTreeMap<Vec<String>, Status> = BTreeMap::new();
        envs.iter().zip(statuses).all(|(e, s)| match s {
            Some(s) if *s != Status::Skip => {
                let key = props.iter().map(|(_, value)| value(e)).collect();
                *seen.entry(key).or_insert(*s) == *s
            }
            _ => true,
        })
    };
    let mut found: Vec<String> = singles
        .iter()
        .filter(|p| accounts(&[p]))
        .map(|(name, _)| name.to_string())
        .collect();
    // A kernel is a platform and a version: named only when the platform is not enough.
    if found.iter().any(|f| f == "platform") {
        found.retain(|f| f != "kernel");
    }
    if found.is_empty() {
        // One or two environments against all the others, which agree: those are the fact.
        let ran: Vec<(&EnvSummary, Status)> = envs
            .iter()
            .zip(statuses)
            .filter_map(|(e, s)| s.filter(|s| *s != Status::Skip).map(|s| (e, s)))
            .collect();
        let count = |s: Status| ran.iter().filter(|(_, t)| *t == s).count();
        if let Some(&(_, majority)) = ran.iter().max_by_key(|(_, s)| count(*s)) {
            let others: Vec<&str> = ran
                .iter()
                .filter(|(_, s)| *s != majority)
                .map(|(e, _)| e.key.as_str())
                .collect();
            if (1..=2).contains(&others.len()) && count(majority) >= 2 {
                return vec![format!("only {}", others.join(" and "))];
            }
        }
        for (i, a) in singles.iter().enumerate() {
            for b in &singles[i + 1..] {
                let redundant = a.0 == "platform" && b.0 == "kernel";
                if !redundant && accounts(&[a, b]) {
                    found.push(format!("{} and {}", a.0, b.0));
                }
            }
        }
        if found.iter().any(|f| f.starts_with("platform and ")) {
            found.retain(|f| !f.starts_with("kernel and "));
        }
    }
    found
}

/// Builds the report from the environments' results documents.
pub fn build(docs: &[ResultsDoc]) -> Report {
    let envs: Vec<EnvSummary> = docs
        .iter()
        .map(|d| {
            let t = Totals::count(d.cases.iter().map(CaseResult::status));
            EnvSummary {
                key: d.env.key.clone(),
                release: d.env.release.clone(),
                platform: d.env.platform.clone(),
                machine: d.env.machine.clone(),
                page_size: d.env.page_size,
                label: label(&d.env.key, &d.env.machine, d.env.page_size),
                pass: t.passed,
                fail: t.failed,
                broken: t.broken,
                skip: t.skipped,
            }
        })
        .collect();
    let mut rows: BTreeMap<String, CaseRow> = BTreeMap::new();
    for (env, doc) in envs.iter().zip(docs) {
        for c in &doc.cases {
            let id = c.id().to_string();
            let row = rows.entry(id.clone()).or_insert_with(|| CaseRow {
                group: crate::snapshot::group_of(&id).to_string(),
                summary: c.summary.clone(),
                symbols: c.symbols.clone(),
                id,
                results: BTreeMap::new(),
                differs: false,
                partly_skipped: false,
                varies_with: Vec::new(),
            });
            row.results.insert(
                env.key.clone(),
                Cell {
                    status: c.status(),
                    reason: c.run.reason.clone(),
                    decisive: match (c.decided_by(), c.status()) {
                        (Some(d), _) => d,
                        (None, Status::Pass) => "as documented".into(),
                        (None, _) => c.run.reason.clone(),
                    },
                    steps: c.run.steps.clone(),
                },
            );
        }
    }
    let mut cases: Vec<CaseRow> = rows.into_values().collect();
    for row in &mut cases {
        let statuses: Vec<Option<Status>> = envs
            .iter()
            .map(|e| row.results.get(&e.key).map(|c| c.status))
            .collect();
        row.differs = verdicts_differ(statuses.iter().flatten().copied());
        row.partly_skipped = statuses.contains(&Some(Status::Skip))
            && statuses.iter().flatten().any(|s| *s != Status::Skip);
        if row.differs {
            row.varies_with = varies_with(&envs, &statuses);
        }
    }
    let support = |name: &str, member: &dyn Fn(&CaseRow) -> bool| Support {
        name: name.to_string(),
        per_env: envs
            .iter()
            .map(|e| {
                let mut pass = 0;
                let mut ran = 0;
                let mut missing = Vec::new();
                for row in cases.iter().filter(|r| member(r)) {
                    match row.results.get(&e.key).map(|c| c.status) {
                        Some(Status::Pass) => {
                            pass += 1;
                            ran += 1;
                        }
                        Some(Status::Fail) | Some(Status::Broken) => {
                            ran += 1;
                            missing.push(row.id.clone());
                        }
                        _ => {}
                    }
                }
                let level = match (ran, pass) {
                    (0, _) => "untested",
                    (r, p) if p == r => "full",
                    (_, 0) => "absent",
                    _ => "partial",
                };
                (
                    e.key.clone(),
                    Level {
                        level: level.to_string(),
                        pass,
                        ran,
                        missing,
                    },
                )
            })
            .collect(),
    };
    let mut groups: Vec<String> = cases.iter().map(|c| c.group.clone()).collect();
    groups.dedup();
    let syscalls = groups
        .iter()
        .map(|g| support(g, &|r: &CaseRow| &r.group == g))
        .collect();
    let mut names: Vec<String> = cases.iter().flat_map(|c| c.symbols.clone()).collect();
    names.sort();
    names.dedup();
    let symbols = names
        .iter()
        .map(|n| support(n, &|r: &CaseRow| r.symbols.contains(n)))
        .collect();
    let kb = crate::explain::kb::get();
    let explain = names
        .iter()
        .filter_map(|n| {
            kb.symbol(n).map(|s| {
                (
                    n.clone(),
                    s.summary.split_whitespace().collect::<Vec<_>>().join(" "),
                )
            })
        })
        .collect();
    Report {
        envs,
        cases,
        syscalls,
        symbols,
        explain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(key: &str, platform: &str, release: &str, machine: &str, page_size: u64) -> EnvSummary {
        EnvSummary {
            key: key.into(),
            release: release.into(),
            platform: platform.into(),
            machine: machine.into(),
            page_size,
            label: label(key, machine, page_size),
            pass: 0,
            fail: 0,
            broken: 0,
            skip: 0,
        }
    }

    #[test]
    fn a_column_is_headed_with_platform_version_architecture_and_page_size() {
        assert_eq!(
            label("linux-6.1-x86_64", "x86_64", 4096),
            "linux-6.1 x86_64 4K"
        );
        assert_eq!(
            label("linux-6.12-aarch64-16k", "aarch64", 16384),
            "linux-6.12 aarch64 16K"
        );
        assert_eq!(label("gvisor-x86_64", "x86_64", 4096), "gvisor x86_64 4K");
    }

    #[test]
    fn a_difference_is_put_down_to_what_environments_alike_in_it_agree_on() {
        use Status::*;
        let envs = [
            env("linux-6.1-x86_64", "linux", "6.1.0-56", "x86_64", 4096),
            env("linux-6.12-x86_64", "linux", "6.12.1", "x86_64", 4096),
            env("gvisor-x86_64", "gvisor", "4.4.0", "x86_64", 4096),
            env(
                "linux-6.1-ppc64le-64k",
                "linux",
                "6.1.0-56",
                "ppc64le",
                65536,
            ),
            env(
                "qemu-user-ppc64le-64k",
                "qemu-user",
                "6.18.4",
                "ppc64le",
                65536,
            ),
        ];
        let of = |s: [Status; 5]| varies_with(&envs, &s.map(Some));
        // Both ppc64le environments, and only they: architecture and page size go together here.
        assert_eq!(
            of([Pass, Pass, Pass, Fail, Fail]),
            ["architecture", "page size"]
        );
        // gVisor alone: its platform.
        assert_eq!(of([Pass, Pass, Fail, Pass, Pass]), ["platform"]);
        // A kernel version, where the platform is not enough.
        assert_eq!(of([Skip, Pass, Fail, Fail, Fail]), ["kernel"]);
        // gVisor failing and qemu-user broken: each platform agrees with itself.
        assert_eq!(of([Pass, Pass, Fail, Pass, Broken]), ["platform"]);
        // Two environments against three that agree, with no property in common.
        assert_eq!(
            of([Fail, Pass, Pass, Pass, Fail]),
            ["only linux-6.1-x86_64 and qemu-user-ppc64le-64k"]
        );
    }
}
