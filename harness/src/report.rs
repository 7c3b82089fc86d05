//! `mmcheck report`: the compatibility report across environments, built from the committed
//! results of every environment (`snapshots/<env>/results.json`, and optionally a fresh run of
//! this one): per environment its counts, per call and per symbol a support level, and every case
//! whose verdict differs between environments, with the observations side by side.

use serde::Serialize;
use serde_json::Value;
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
    pub pass: usize,
    pub fail: usize,
    pub broken: usize,
    pub skip: usize,
}

/// What one environment did in one case.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub status: String,
    pub reason: String,
    /// The deciding observation (first mismatch, else the first step that must fail or fault).
    pub decisive: String,
    pub steps: Vec<Value>,
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
pub fn load(snapshots: &Path) -> Result<Vec<Value>, String> {
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
        let doc: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        docs.push(doc);
    }
    if docs.is_empty() {
        return Err(format!(
            "no results.json under {} (run make matrix first)",
            snapshots.display()
        ));
    }
    docs.sort_by_key(|d| crate::snapshot::env_order(d["env"]["key"].as_str().unwrap_or("")));
    Ok(docs)
}

/// Builds the report from the environments' results documents.
pub fn build(docs: &[Value]) -> Report {
    let envs: Vec<EnvSummary> = docs
        .iter()
        .map(|d| {
            let count = |st: &str| {
                d["cases"]
                    .as_array()
                    .map_or(0, |cs| cs.iter().filter(|c| c["status"] == st).count())
            };
            EnvSummary {
                key: d["env"]["key"].as_str().unwrap_or("?").to_string(),
                release: d["env"]["release"].as_str().unwrap_or("").to_string(),
                platform: d["env"]["platform"].as_str().unwrap_or("").to_string(),
                pass: count("pass"),
                fail: count("fail"),
                broken: count("broken"),
                skip: count("skip"),
            }
        })
        .collect();
    let mut rows: BTreeMap<String, CaseRow> = BTreeMap::new();
    for (env, doc) in envs.iter().zip(docs) {
        for c in doc["cases"].as_array().cloned().unwrap_or_default() {
            let id = c["id"].as_str().unwrap_or("").to_string();
            let row = rows.entry(id.clone()).or_insert_with(|| CaseRow {
                group: crate::snapshot::group_of(&id).to_string(),
                summary: c["summary"].as_str().unwrap_or("").to_string(),
                symbols: c["symbols"]
                    .as_array()
                    .map(|s| {
                        s.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
                id,
                results: BTreeMap::new(),
                differs: false,
                partly_skipped: false,
            });
            row.results.insert(
                env.key.clone(),
                Cell {
                    status: c["status"].as_str().unwrap_or("?").to_string(),
                    reason: c["reason"].as_str().unwrap_or("").to_string(),
                    decisive: crate::snapshot::decisive(&c),
                    steps: c["steps"].as_array().cloned().unwrap_or_default(),
                },
            );
        }
    }
    let mut cases: Vec<CaseRow> = rows.into_values().collect();
    for row in &mut cases {
        let statuses: Vec<&str> = envs
            .iter()
            .map(|e| {
                row.results
                    .get(&e.key)
                    .map_or("absent", |c| c.status.as_str())
            })
            .collect();
        let ran: Vec<&str> = statuses
            .iter()
            .copied()
            .filter(|s| *s != "skip" && *s != "absent")
            .collect();
        row.differs = ran.windows(2).any(|w| w[0] != w[1]);
        row.partly_skipped = !ran.is_empty() && statuses.contains(&"skip");
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
                    match row.results.get(&e.key).map(|c| c.status.as_str()) {
                        Some("pass") => {
                            pass += 1;
                            ran += 1;
                        }
                        Some("fail") | Some("broken") => {
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
