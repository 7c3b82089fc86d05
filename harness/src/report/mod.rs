//! `mmcheck report`: the compatibility report across environments, built from the committed
//! results of every environment (`snapshots/<env>/results.json`, and optionally a fresh run of
//! this one): per environment its counts, per call and per symbol a support level and since
//! when it works, and every case whose verdict differs between environments, with the
//! observations side by side and the differences grouped by cause.

pub mod causes;
pub mod since;

use crate::case::plan::Case;
use crate::outcome::{Status, StepRun};
use crate::results::{verdicts_differ, CaseResult, ResultsDoc, Totals};
pub use causes::{CauseGroup, CauseRef};
use serde::Serialize;
pub use since::Since;
use std::collections::BTreeMap;
use std::path::Path;

/// The version of report.json's layout (docs/report.md): 2 added since-versions, causes,
/// runtimes and kernel-only views.
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Debug, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub envs: Vec<EnvSummary>,
    pub cases: Vec<CaseRow>,
    pub syscalls: Vec<Support>,
    pub symbols: Vec<Support>,
    /// The explain knowledge base's summary of every symbol the cases name.
    pub explain: BTreeMap<String, String>,
    /// The differences grouped by cause, most cells first.
    pub causes: Vec<CauseGroup>,
}

#[derive(Debug, Serialize)]
pub struct EnvSummary {
    pub key: String,
    pub release: String,
    pub platform: String,
    /// `uname -m` in the environment.
    pub machine: String,
    pub page_size: u64,
    /// The release of what answers the system calls where the kernel is emulated (`runsc
    /// version …`, `qemu-aarch64 version 7.2.22 …`); `None` for a Linux kernel, and where the
    /// results did not record it.
    pub runtime: Option<String>,
    /// A real Linux kernel (platform `linux`, native or in a VM): the columns of the
    /// kernels-only views and of "since" versions.
    pub kernel_only: bool,
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
    /// The id of the cause (in `Report::causes`) of a cell that did not pass, or of a version
    /// gate's skip in a case others ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    #[serde(skip)]
    pub classified: Option<causes::Classified>,
    /// Index in `steps` of the deciding step.
    #[serde(skip)]
    pub deciding: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct CaseRow {
    pub id: String,
    pub group: String,
    pub summary: String,
    pub symbols: Vec<String>,
    /// What the case expects at its deciding step: `step 3 madvise: errno = EINVAL` (the
    /// deciding step of the first environment that did not pass, else of any).
    pub expected: String,
    /// By environment key; an environment without the case has no entry.
    pub results: BTreeMap<String, Cell>,
    /// Two environments that ran the case disagree on its verdict, or a version gate kept it
    /// from running somewhere while another environment ran it.
    pub differs: bool,
    /// The same among the Linux kernels only (`EnvSummary::kernel_only`).
    pub differs_kernels: bool,
    /// Some environment skipped it while others ran it.
    pub partly_skipped: bool,
    /// For a case that differs: what accounts for it (see `varies_with`): "platform",
    /// "architecture", "page size", "kernel", or a pair ("platform and page size"). Several
    /// when this matrix cannot tell them apart; none when no pair does.
    pub varies_with: Vec<String>,
    pub since: Since,
    /// The cause most of its cells that did not pass share (see `Report::causes`).
    pub cause: Option<CauseRef>,
}

/// The support of a call or symbol in each environment.
#[derive(Debug, Serialize)]
pub struct Support {
    pub name: String,
    pub per_env: BTreeMap<String, Level>,
    pub since: Since,
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

impl Cell {
    /// The step that decided its verdict, if one did.
    pub fn deciding_step(&self) -> Option<&StepRun> {
        self.deciding.and_then(|i| self.steps.get(i))
    }
}

/// Whether a case differs across some environments: two that ran it disagree, or a version gate
/// kept it from running in one while another ran it.
fn differs_among<'a>(cells: impl IntoIterator<Item = &'a Cell>) -> bool {
    let cells: Vec<&Cell> = cells.into_iter().collect();
    let gated = cells
        .iter()
        .any(|c| c.status == Status::Skip && since::is_version_gate(&c.reason));
    let ran = cells.iter().any(|c| c.status != Status::Skip);
    verdicts_differ(cells.iter().map(|c| c.status)) || (gated && ran)
}

/// Builds the report from the environments' results documents; `cases`, the case files when at
/// hand, name the flags a failing step passed (else causes say less).
pub fn build(docs: &[ResultsDoc], cases: &[Case]) -> Report {
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
                runtime: d.env.runtime.clone(),
                kernel_only: d.env.platform == "linux",
                label: label(&d.env.key, &d.env.machine, d.env.page_size),
                pass: t.passed,
                fail: t.failed,
                broken: t.broken,
                skip: t.skipped,
            }
        })
        .collect();
    let plans: BTreeMap<&str, &Case> = cases.iter().map(|c| (c.id.as_str(), c)).collect();
    let mut rows: BTreeMap<String, CaseRow> = BTreeMap::new();
    for (env, doc) in envs.iter().zip(docs) {
        for c in &doc.cases {
            let id = c.id().to_string();
            let row = rows.entry(id.clone()).or_insert_with(|| CaseRow {
                group: crate::snapshot::group_of(&id).to_string(),
                summary: c.summary.clone(),
                symbols: c.symbols.clone(),
                expected: String::new(),
                id,
                results: BTreeMap::new(),
                differs: false,
                differs_kernels: false,
                partly_skipped: false,
                varies_with: Vec::new(),
                since: Since::default(),
                cause: None,
            });
            let classified = match c.status() {
                Status::Fail | Status::Broken => {
                    let step = c.decisive_step();
                    let flags = step
                        .map(|s| causes::flags_of(plans.get(c.id()).copied(), s))
                        .unwrap_or_default();
                    Some(causes::classify(c.status(), &c.run.reason, step, &flags))
                }
                _ => None,
            };
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
                    cause: None,
                    classified,
                    deciding: c.decisive,
                },
            );
        }
    }
    let mut cases: Vec<CaseRow> = rows.into_values().collect();
    // A call that answered ENOSYS to every step of every case in an environment is missing
    // there as a whole: its ENOSYS is not charged to the flags one step passed.
    let mut answered: std::collections::BTreeSet<(String, String)> = Default::default();
    for row in &cases {
        for (env, cell) in &row.results {
            for st in &cell.steps {
                let silent = ["ENOSYS", "(no record)", "not run"]
                    .iter()
                    .any(|p| st.observed.starts_with(p));
                if !silent {
                    answered.insert((env.clone(), st.call.clone()));
                }
            }
        }
    }
    for row in &mut cases {
        for (env, cell) in &mut row.results {
            if let Some(c) = &mut cell.classified {
                if c.kind == causes::NOT_IMPLEMENTED
                    && !answered.contains(&(env.clone(), c.call.clone()))
                {
                    causes::missing_call(c);
                }
            }
        }
    }
    for row in &mut cases {
        let statuses: Vec<Option<Status>> = envs
            .iter()
            .map(|e| row.results.get(&e.key).map(|c| c.status))
            .collect();
        // What the case expects where it decides: at the deciding step of the first
        // environment that did not pass, else of the first that has one.
        let cells: Vec<&Cell> = envs
            .iter()
            .filter_map(|e| row.results.get(&e.key))
            .collect();
        let step = cells
            .iter()
            .filter(|c| matches!(c.status, Status::Fail | Status::Broken))
            .find_map(|c| c.deciding_step())
            .or_else(|| cells.iter().find_map(|c| c.deciding_step()));
        if let Some(s) = step {
            row.expected = format!("{} {}: {}", s.label, s.call, s.expected);
        }
        row.differs = differs_among(row.results.values());
        row.differs_kernels = differs_among(
            envs.iter()
                .filter(|e| e.kernel_only)
                .filter_map(|e| row.results.get(&e.key)),
        );
        row.partly_skipped = statuses.contains(&Some(Status::Skip))
            && statuses.iter().flatten().any(|s| *s != Status::Skip);
        if row.differs {
            row.varies_with = if verdicts_differ(statuses.iter().flatten().copied()) {
                varies_with(&envs, &statuses)
            } else {
                // Only a version gate tells them apart: the kernel's version.
                vec!["kernel".to_string()]
            };
            for cell in row.results.values_mut() {
                if cell.status == Status::Skip && since::is_version_gate(&cell.reason) {
                    cell.classified = Some(causes::gated(&cell.reason, &row.group, &row.symbols));
                }
            }
        }
        let documented = row
            .symbols
            .iter()
            .filter_map(|s| since::documented(s))
            .collect::<Vec<_>>();
        row.since = Since {
            matrix: since::in_matrix(&envs, &|e| {
                row.results
                    .get(&e.key)
                    .map(|c| c.status)
                    .into_iter()
                    .collect()
            }),
            documented: since::newest(documented.iter().map(String::as_str)),
            absent: row
                .results
                .iter()
                .filter_map(|(env, cell)| {
                    since::absence(cell, &row.group).map(|a| (env.clone(), a))
                })
                .collect(),
        };
    }
    // Causes: every classified cell, grouped; then each cell and case points at its group.
    let by_case: BTreeMap<String, BTreeMap<String, &Cell>> = cases
        .iter()
        .map(|r| {
            (
                r.id.clone(),
                r.results.iter().map(|(k, c)| (k.clone(), c)).collect(),
            )
        })
        .collect();
    let causes = causes::group(&envs, &by_case);
    let ids: BTreeMap<(String, &str, String, String), String> = causes
        .iter()
        .map(|g| {
            let kind = [
                causes::NOT_IMPLEMENTED,
                causes::REJECTED,
                causes::BEHAVIOUR,
                causes::UNAVAILABLE,
                causes::SIGNAL_DETAIL,
                causes::KERNEL_VERSION,
                causes::BROKE,
            ]
            .into_iter()
            .find(|k| *k == g.kind)
            .unwrap_or("");
            (
                (g.platform.clone(), kind, g.key_call.clone(), g.what.clone()),
                g.id.clone(),
            )
        })
        .collect();
    for row in &mut cases {
        let mut count: BTreeMap<String, usize> = BTreeMap::new();
        for e in &envs {
            let Some(cell) = row.results.get_mut(&e.key) else {
                continue;
            };
            let Some(c) = &cell.classified else { continue };
            let key = (
                causes::platform_of(c, e),
                c.kind,
                causes::key_call(c),
                c.what.clone(),
            );
            cell.cause = ids.get(&key).cloned();
            if let Some(id) = &cell.cause {
                *count.entry(id.clone()).or_default() += 1;
            }
        }
        // The cause most cells share; ties go to the cause listed first (the largest).
        row.cause = causes
            .iter()
            .filter(|g| count.contains_key(&g.id))
            .max_by(|a, b| {
                count[&a.id].cmp(&count[&b.id]).then_with(|| {
                    let pos = |g: &CauseGroup| causes.iter().position(|x| x.id == g.id);
                    pos(b).cmp(&pos(a))
                })
            })
            .map(|g| CauseRef { id: g.id.clone() });
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
        since: Since {
            matrix: since::in_matrix(&envs, &|e| {
                cases
                    .iter()
                    .filter(|r| member(r))
                    .filter_map(|r| r.results.get(&e.key).map(|c| c.status))
                    .collect()
            }),
            documented: since::documented(name),
            absent: since::absent_in(&envs, &|env| {
                cases
                    .iter()
                    .filter(|r| member(r))
                    .filter_map(|r| r.results.get(env).map(|c| (c, name.to_string())))
                    .collect()
            }),
        },
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
        schema_version: SCHEMA_VERSION,
        envs,
        cases,
        syscalls,
        symbols,
        explain,
        causes,
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
            runtime: None,
            kernel_only: platform == "linux",
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

#[cfg(test)]
mod synthetic {
    //! Since-versions and causes derived from small made-up results documents.
    use super::*;
    use crate::outcome::CaseRun;
    use crate::results::EnvInfo;

    fn step(call: &str, expected: &str, observed: &str, mismatch: bool) -> StepRun {
        StepRun {
            label: "step 2".into(),
            call: call.into(),
            line: 9,
            expected: expected.into(),
            must_fail: expected.starts_with("errno") || expected.starts_with("signal"),
            observed: observed.into(),
            obs: None,
            explicit: true,
            mismatch: mismatch.then(|| format!("expected {expected}, observed {observed}")),
        }
    }

    /// A case's result: `pass`, `skip:<reason>`, or a failing deciding step.
    fn result(
        id: &str,
        symbols: &[&str],
        status: Status,
        reason: &str,
        steps: Vec<StepRun>,
    ) -> CaseResult {
        let run = CaseRun {
            id: id.into(),
            status,
            reason: reason.into(),
            steps,
            fs: None,
            millis: 0,
            setup: None,
            layout_dependent: Vec::new(),
        };
        CaseResult::new(
            run,
            "a rule",
            &symbols.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
    }

    fn doc(key: &str, platform: &str, release: &str, cases: Vec<CaseResult>) -> ResultsDoc {
        ResultsDoc::new(
            EnvInfo {
                key: key.into(),
                release: release.into(),
                machine: "x86_64".into(),
                platform: platform.into(),
                page_size: 4096,
                runtime: (platform == "gvisor").then(|| "runsc version 0.0~20221219.0".into()),
                euid: None,
                scratch: Vec::new(),
                default_scratch: None,
            },
            cases,
        )
    }

    fn pass(id: &str, symbols: &[&str], call: &str, expected: &str) -> CaseResult {
        result(
            id,
            symbols,
            Status::Pass,
            "",
            vec![step(call, expected, "EINVAL", false)],
        )
    }

    fn gated(id: &str, symbols: &[&str], range: &str, release: &str) -> CaseResult {
        result(
            id,
            symbols,
            Status::Skip,
            &format!("needs kernel {range}; this is {release}"),
            Vec::new(),
        )
    }

    /// mseal: gated on 6.1, passing on 6.12 and 6.18, ENOSYS on gVisor; mincore: passes on
    /// every kernel, gVisor reports every page resident.
    fn matrix() -> Vec<ResultsDoc> {
        let mseal = ["mseal", "EINVAL"];
        let mincore = ["mincore"];
        let kernel = |key: &str, release: &str| {
            let seal = if release.starts_with("6.1.") {
                gated("mseal/einval-flags", &mseal, ">=6.10", release)
            } else {
                pass("mseal/einval-flags", &mseal, "mseal", "errno = EINVAL")
            };
            doc(
                key,
                "linux",
                release,
                vec![
                    seal,
                    result(
                        "mincore/dontneed-drops",
                        &mincore,
                        Status::Pass,
                        "",
                        vec![step("mincore", "resident = 00", "resident 00", false)],
                    ),
                ],
            )
        };
        vec![
            kernel("linux-6.18-x86_64", "6.18.4"),
            kernel("linux-6.12-x86_64", "6.12.1"),
            kernel("linux-6.1-x86_64", "6.1.0-56-cloud-amd64"),
            doc(
                "gvisor-x86_64",
                "gvisor",
                "4.4.0",
                vec![
                    result(
                        "mseal/einval-flags",
                        &mseal,
                        Status::Fail,
                        "step 2 (mseal, line 9): expected errno = EINVAL, observed ENOSYS",
                        vec![step("mseal", "errno = EINVAL", "ENOSYS", true)],
                    ),
                    result(
                        "mincore/dontneed-drops",
                        &mincore,
                        Status::Fail,
                        "step 2 (mincore, line 9): residency",
                        vec![StepRun {
                            mismatch: Some("expected residency 00, observed 11".into()),
                            ..step("mincore", "resident = 00", "resident 11", true)
                        }],
                    ),
                ],
            ),
        ]
    }

    #[test]
    fn since_is_the_first_kernel_from_which_on_it_passes_with_what_is_absent_where() {
        let r = build(&matrix(), &[]);
        assert_eq!(r.schema_version, 2);
        let seal = r.syscalls.iter().find(|s| s.name == "mseal").unwrap();
        assert_eq!(seal.since.matrix.as_deref(), Some("6.12"));
        assert_eq!(seal.since.documented.as_deref(), Some("6.10"));
        assert_eq!(
            seal.since
                .absent
                .get("linux-6.1-x86_64")
                .map(String::as_str),
            Some("needs kernel >=6.10 (not run)")
        );
        assert_eq!(
            seal.since.absent.get("gvisor-x86_64").map(String::as_str),
            Some("ENOSYS")
        );
        assert!(!seal.since.absent.contains_key("linux-6.12-x86_64"));
        // Working on the oldest kernel: since it, at least.
        let mincore = r.syscalls.iter().find(|s| s.name == "mincore").unwrap();
        assert_eq!(mincore.since.matrix.as_deref(), Some("6.1"));
        // A behaviour that differs is not an absence.
        assert!(
            mincore.since.absent.is_empty(),
            "{:?}",
            mincore.since.absent
        );
        let case = r
            .cases
            .iter()
            .find(|c| c.id == "mseal/einval-flags")
            .unwrap();
        assert_eq!(case.since.matrix.as_deref(), Some("6.12"));
        assert_eq!(case.expected, "step 2 mseal: errno = EINVAL");
        let gvisor = r.envs.iter().find(|e| e.key == "gvisor-x86_64").unwrap();
        assert!(!gvisor.kernel_only);
        assert_eq!(
            gvisor.runtime.as_deref(),
            Some("runsc version 0.0~20221219.0")
        );
        assert!(r
            .envs
            .iter()
            .filter(|e| e.platform == "linux")
            .all(|e| e.kernel_only));
    }

    #[test]
    fn a_version_gate_is_a_difference_between_kernels() {
        let r = build(&matrix(), &[]);
        let case = r
            .cases
            .iter()
            .find(|c| c.id == "mseal/einval-flags")
            .unwrap();
        assert!(case.differs && case.differs_kernels);
        let mincore = r
            .cases
            .iter()
            .find(|c| c.id == "mincore/dontneed-drops")
            .unwrap();
        assert!(mincore.differs && !mincore.differs_kernels);
        // Only kernels, one gated: the gate alone makes the difference, put down to the kernel.
        let docs: Vec<ResultsDoc> = matrix().into_iter().take(3).collect();
        let r = build(&docs, &[]);
        let case = r
            .cases
            .iter()
            .find(|c| c.id == "mseal/einval-flags")
            .unwrap();
        assert!(case.differs_kernels);
        assert_eq!(case.varies_with, ["kernel"]);
    }

    #[test]
    fn differences_are_grouped_by_cause_and_charged_to_the_call_that_deviated() {
        let r = build(&matrix(), &[]);
        let lines: Vec<(&str, &str, &str)> = r
            .causes
            .iter()
            .map(|g| (g.kind.as_str(), g.call.as_str(), g.line.as_str()))
            .collect();
        assert!(lines.contains(&(
            causes::NOT_IMPLEMENTED,
            "mseal",
            "gVisor: mseal is not implemented (ENOSYS)"
        )));
        assert!(lines.contains(&(
            causes::BEHAVIOUR,
            "mincore",
            "gVisor: mincore reports every page resident"
        )));
        let gate = r
            .causes
            .iter()
            .find(|g| g.kind == causes::KERNEL_VERSION)
            .unwrap();
        assert_eq!(gate.call, "mseal");
        assert_eq!(
            gate.line,
            "mseal needs kernel >=6.10 (documented since 6.10): not run on older kernels"
        );
        assert_eq!(gate.per_env.get("linux-6.1-x86_64"), Some(&1));
        let case = r
            .cases
            .iter()
            .find(|c| c.id == "mseal/einval-flags")
            .unwrap();
        let cell = &case.results["gvisor-x86_64"];
        let id = cell.cause.as_deref().unwrap();
        let group = r.causes.iter().find(|g| g.id == id).unwrap();
        assert_eq!(group.cases, ["mseal/einval-flags"]);
        assert_eq!(group.per_env.get("gvisor-x86_64"), Some(&1));
        assert!(case.cause.is_some());
        // Ids are unique.
        let mut ids: Vec<&str> = r.causes.iter().map(|g| g.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), r.causes.len());
    }

    #[test]
    fn each_kind_of_deviation_is_classified_from_its_deciding_step() {
        use causes::classify;
        let kind = |expected: &str, observed: &str, flags: &[&str]| {
            let flags: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
            let s = step("madvise", expected, observed, true);
            classify(Status::Fail, "", Some(&s), &flags)
        };
        let c = kind("ok", "EINVAL", &["MADV_COLD"]);
        assert_eq!(
            (c.kind, c.what.as_str()),
            (causes::REJECTED, "madvise rejects MADV_COLD (EINVAL)")
        );
        assert_eq!(
            since::absence(
                &Cell {
                    status: Status::Fail,
                    reason: String::new(),
                    decisive: String::new(),
                    steps: Vec::new(),
                    cause: None,
                    classified: Some(c),
                    deciding: None,
                },
                "madvise"
            )
            .as_deref(),
            Some("EINVAL: MADV_COLD rejected")
        );
        // EINVAL without a flag of the case: not "rejected", only another behaviour.
        assert_eq!(kind("ok", "EINVAL", &[]).kind, causes::BEHAVIOUR);
        assert_eq!(
            kind("errno = EINVAL", "= $m", &[]).what,
            "madvise succeeds where EINVAL is expected"
        );
        assert_eq!(
            kind("errno = EFAULT", "EINVAL", &[]).what,
            "madvise fails with EINVAL where EFAULT is expected"
        );
        let sig = kind(
            "signal = SIGBUS, si-code = BUS_ADRERR, addr = $m",
            "SIGBUS BUS_ADRALN at $m",
            &[],
        );
        assert_eq!(
            (sig.kind, sig.what.as_str()),
            (
                causes::SIGNAL_DETAIL,
                "SIGBUS comes with BUS_ADRALN, not BUS_ADRERR"
            )
        );
        assert_eq!(
            kind(
                "signal = SIGSEGV, si-code = SEGV_MAPERR, addr = $m",
                "read hex 00",
                &[]
            )
            .what,
            "madvise does not fault where SIGSEGV is expected"
        );
        let s = step(
            "status",
            "vmlck = PAGE",
            "no VmLck line in /proc/self/status",
            true,
        );
        assert_eq!(
            classify(Status::Fail, "", Some(&s), &[]).kind,
            causes::UNAVAILABLE
        );
        let broke = classify(
            Status::Broken,
            "the child was killed by SIGABRT during step 7 (load, line 42)\nchild stderr: …",
            None,
            &[],
        );
        assert_eq!(
            (broke.kind, broke.what.as_str()),
            (causes::BROKE, "the child was killed by SIGABRT")
        );
        let slow = classify(
            Status::Fail,
            "step 2 (mmap, line 20) did not finish within 10 s",
            None,
            &[],
        );
        assert_eq!(
            (slow.call.as_str(), slow.what.as_str()),
            ("mmap", "mmap did not finish within 10 s")
        );
    }
}
