//! The evidence behind explain's claims: the cases that name a symbol, and what each environment
//! with committed results (`snapshots/<env>/results.json`) observed in them.

use crate::case::load;
use crate::case::plan::Case;
use serde::Serialize;
use std::path::Path;

/// One environment's results, by case id.
pub struct EnvResults {
    pub key: String,
    pub cases: Vec<serde_json::Value>,
}

#[derive(Default)]
pub struct Evidence {
    /// Case files, one per file id (filesystem variants folded together).
    pub cases: Vec<Case>,
    pub envs: Vec<EnvResults>,
    /// Why there is no evidence, when there is none.
    pub missing: Option<String>,
}

/// What one environment did in one case file (all its filesystem variants).
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub env: String,
    /// `pass`, `fail`, `skip`, `broken`, or `pass on tmpfs, fail on xfs`.
    pub status: String,
    /// For what did not pass: the decisive observation or the skip reason.
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseView {
    pub id: String,
    pub summary: String,
    pub outcomes: Vec<Outcome>,
}

impl Evidence {
    /// Loads the cases and every environment's results under `repo` (the directory holding
    /// `cases/` and `snapshots/`). Environments are ordered newest Linux first, gVisor last.
    pub fn load(repo: Option<&Path>) -> Evidence {
        let Some(repo) = repo.filter(|r| r.join("cases").is_dir()) else {
            return Evidence {
                missing: Some(
                    "no cases directory found: run from the mmcheck repository, or pass --cases DIR"
                        .into(),
                ),
                ..Default::default()
            };
        };
        let (cases, _) = load::load_dir(&repo.join("cases"));
        let mut seen = std::collections::HashSet::new();
        let cases: Vec<Case> = cases
            .into_iter()
            .filter(|c| seen.insert(c.file_id.clone()))
            .collect();
        let mut envs = Vec::new();
        if let Ok(dirs) = std::fs::read_dir(repo.join("snapshots")) {
            for d in dirs.flatten() {
                let path = d.path().join("results.json");
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                let Ok(doc) = serde_json::from_str::<serde_json::Value>(&text) else {
                    continue;
                };
                let key = d.file_name().to_string_lossy().into_owned();
                let cases = doc["cases"].as_array().cloned().unwrap_or_default();
                envs.push(EnvResults { key, cases });
            }
        }
        envs.sort_by_key(|e| crate::snapshot::env_order(&e.key));
        Evidence {
            cases,
            envs,
            missing: None,
        }
    }

    /// The case files that name `symbol` in their `symbols`.
    pub fn naming(&self, symbol: &str) -> Vec<&Case> {
        self.cases
            .iter()
            .filter(|c| c.symbols.iter().any(|s| s == symbol))
            .collect()
    }

    pub fn case(&self, file_id: &str) -> Option<&Case> {
        self.cases.iter().find(|c| c.file_id == file_id)
    }

    /// A case with what every environment did in it.
    pub fn view(&self, case: &Case) -> CaseView {
        CaseView {
            id: case.file_id.clone(),
            summary: case.summary.clone(),
            outcomes: self
                .envs
                .iter()
                .filter_map(|e| outcome(e, &case.file_id))
                .collect(),
        }
    }

    /// A case by id, even when it is not loaded (a knowledge-base entry naming a case).
    pub fn view_id(&self, file_id: &str) -> CaseView {
        match self.case(file_id) {
            Some(c) => self.view(c),
            None => CaseView {
                id: file_id.to_string(),
                summary: String::new(),
                outcomes: self
                    .envs
                    .iter()
                    .filter_map(|e| outcome(e, file_id))
                    .collect(),
            },
        }
    }
}

fn outcome(env: &EnvResults, file_id: &str) -> Option<Outcome> {
    let variants: Vec<&serde_json::Value> = env
        .cases
        .iter()
        .filter(|c| {
            c["id"]
                .as_str()
                .is_some_and(|id| id == file_id || id.split('@').next() == Some(file_id))
        })
        .collect();
    let first = variants.first()?;
    let status_of = |c: &serde_json::Value| c["status"].as_str().unwrap_or("?").to_string();
    let all_same = variants.iter().all(|c| status_of(c) == status_of(first));
    let status = if all_same {
        status_of(first)
    } else {
        variants
            .iter()
            .map(|c| {
                let fs = c["id"]
                    .as_str()
                    .and_then(|id| id.split('@').nth(1))
                    .unwrap_or("");
                format!("{} on {fs}", status_of(c))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let not_passed = variants.iter().find(|c| status_of(c) != "pass");
    let detail = not_passed.map(|c| match c["status"].as_str() {
        Some("skip") => c["reason"].as_str().unwrap_or("").to_string(),
        _ => crate::snapshot::decisive(c),
    });
    Some(Outcome {
        env: env.key.clone(),
        status,
        detail,
    })
}
