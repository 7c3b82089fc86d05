//! The results document: one environment's verdicts as data. `mmcheck run --format json` prints
//! it; the matrix reads it back from every environment and commits its stable form as
//! `snapshots/<env>/results.json`; the report and explain's evidence read those. One type, read
//! and written with serde's derive, so that every reader sees the same fields the same way.

use crate::case::plan::Case;
use crate::outcome::{CaseRun, Status, StepRun};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResultsDoc {
    pub env: EnvInfo,
    pub totals: Totals,
    pub cases: Vec<CaseResult>,
}

/// The environment a document's results were observed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvInfo {
    /// `linux-6.12-x86_64`: names the snapshot folder.
    pub key: String,
    /// `uname -r`.
    pub release: String,
    /// `uname -m`.
    pub machine: String,
    /// `linux`, or `gvisor` when the kernel is gVisor's Sentry.
    pub platform: String,
    pub page_size: u64,
    /// What answers the system calls where the kernel is emulated: the first line of `runsc
    /// --version` or `qemu-aarch64-static --version`, which the matrix records (the run inside
    /// cannot see it). `None` on Linux, and in results recorded before it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// The run's privileges and scratch directories: in a fresh run's document, not in the
    /// committed (stable) one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub euid: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scratch: Vec<(String, PathBuf)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_scratch: Option<PathBuf>,
}

/// One case's result: the verdict and its steps, with the case's rule and symbols beside it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseResult {
    #[serde(flatten)]
    pub run: CaseRun,
    /// The rule the case states.
    pub summary: String,
    /// The symbols the case is evidence for.
    pub symbols: Vec<String>,
    /// Index in `run.steps` of the step that decided the verdict ([`CaseRun::decisive`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decisive: Option<usize>,
}

/// How many cases ended each way.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub passed: usize,
    pub failed: usize,
    pub broken: usize,
    pub skipped: usize,
}

impl Totals {
    pub fn count(statuses: impl IntoIterator<Item = Status>) -> Totals {
        let mut t = Totals::default();
        for s in statuses {
            match s {
                Status::Pass => t.passed += 1,
                Status::Fail => t.failed += 1,
                Status::Broken => t.broken += 1,
                Status::Skip => t.skipped += 1,
            }
        }
        t
    }

    pub fn of(runs: &[CaseRun]) -> Totals {
        Totals::count(runs.iter().map(|r| r.status))
    }
}

impl CaseResult {
    pub fn new(run: CaseRun, summary: &str, symbols: &[String]) -> CaseResult {
        CaseResult {
            decisive: run.decisive(),
            run,
            summary: summary.to_string(),
            symbols: symbols.to_vec(),
        }
    }

    pub fn id(&self) -> &str {
        &self.run.id
    }

    pub fn status(&self) -> Status {
        self.run.status
    }

    /// The observation that decided the verdict, `step 3 load: SIGSEGV SEGV_ACCERR at $m`, if
    /// a step did.
    pub fn decided_by(&self) -> Option<String> {
        self.decisive_step()
            .map(|s| format!("{} {}: {}", s.label, s.call, s.observed))
    }

    /// The step that decided the verdict, if one did.
    pub fn decisive_step(&self) -> Option<&StepRun> {
        self.decisive.and_then(|i| self.run.steps.get(i))
    }
}

impl ResultsDoc {
    pub fn new(env: EnvInfo, cases: Vec<CaseResult>) -> ResultsDoc {
        ResultsDoc {
            env,
            totals: Totals::count(cases.iter().map(CaseResult::status)),
            cases,
        }
    }

    /// The document of a run: each run beside its case's rule and symbols.
    pub fn of_run(env: EnvInfo, cases: &[&Case], runs: &[CaseRun]) -> ResultsDoc {
        let results = runs
            .iter()
            .map(|r| match cases.iter().find(|c| c.id == r.id) {
                Some(c) => CaseResult::new(r.clone(), &c.summary, &c.symbols),
                None => CaseResult::new(r.clone(), "", &[]),
            })
            .collect();
        ResultsDoc::new(env, results)
    }

    pub fn runs(&self) -> Vec<CaseRun> {
        self.cases.iter().map(|c| c.run.clone()).collect()
    }

    pub fn case(&self, id: &str) -> Option<&CaseResult> {
        self.cases.iter().find(|c| c.run.id == id)
    }

    /// Reads a document, naming what does not parse.
    pub fn parse(text: &str) -> Result<ResultsDoc, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The document as committed: pretty JSON with a final newline.
    pub fn to_text(&self) -> String {
        serde_json::to_string_pretty(self).expect("a results document serializes") + "\n"
    }
}

/// Whether environments that ran a case gave it different verdicts. A skip is no verdict: only
/// the environments that ran the case are compared.
pub fn verdicts_differ(statuses: impl IntoIterator<Item = Status>) -> bool {
    let mut ran = statuses.into_iter().filter(|s| *s != Status::Skip);
    match ran.next() {
        Some(first) => ran.any(|s| s != first),
        None => false,
    }
}
