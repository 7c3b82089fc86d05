//! Verdicts as data: pass, fail (the kernel deviates from the contract), broken (the harness
//! failed) or skip (not applicable here), with every step's contract and observation in the
//! case's symbols. `classify` makes them; `symbols` names what was observed; render words them.

mod check;
mod classify;
pub mod regions;
pub mod symbols;

pub use check::check;
pub use classify::{classify, execution_order, Seen};
pub use regions::Regions;

use crate::case::plan::{Case, Expectation, Outcome, Step};
use crate::wire::Obs;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    /// The kernel did not do what the contract says.
    Fail,
    /// The harness itself failed: a bug of ours or of the case, never the kernel's verdict.
    Broken,
    /// Not applicable here; the reason says why.
    Skip,
}

impl Status {
    /// Its name in results documents: `pass`, `fail`, `broken`, `skip`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Broken => "broken",
            Status::Skip => "skip",
        }
    }
}

/// A need of the machine's setup that is not met: not kernel behaviour, so not compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Setup {
    /// A program the runner needs is not installed.
    Tool { tool: String, package: String },
    /// Anything else: "not root", "no free huge pages", with how to provide it when we know.
    Other {
        cause: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fix: Option<String>,
    },
}

/// The result of one case, as the worker sends it and as `--format json` prints it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseRun {
    pub id: String,
    pub status: Status,
    /// Why it failed, broke or was skipped; empty for a pass.
    pub reason: String,
    pub steps: Vec<StepRun>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fs: Option<String>,
    /// How long the child took; 0 in a committed (stable) document.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub millis: u64,
    /// What about the machine's setup kept the case from running (a skip), or from running on
    /// something the snapshots can be compared with (a filesystem found on the machine). Such a
    /// result says nothing reliable about the kernel and is not compared. `None` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup: Option<Setup>,
    /// Addresses that no rule could name, rendered by their distance to the nearest region:
    /// where the kernel happened to place things shows in them (`step 3 load: $m+40*PAGE`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layout_dependent: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRun {
    pub label: String,
    pub call: String,
    pub line: usize,
    /// The contract as the case writes it, without TOML's quotes: `errno = EINVAL`.
    pub expected: String,
    /// The contract says the call fails (an errno) or the access faults (a signal): the heart
    /// of most rules.
    #[serde(default, skip_serializing_if = "is_false")]
    pub must_fail: bool,
    /// What happened, in symbols: `EINVAL`, `SIGSEGV SEGV_ACCERR at $m+PAGE`, `= $m`.
    pub observed: String,
    /// The raw observation, for tools; `None` when the step left no record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub obs: Option<Obs>,
    /// Whether the case wrote this contract (rather than the default).
    #[serde(default, skip_serializing_if = "is_false")]
    pub explicit: bool,
    /// `None` when it matched the contract, else what differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mismatch: Option<String>,
}

impl CaseRun {
    /// Skipped before it ran; `setup` says what about the machine stood in the way, `None` when
    /// it was the kernel.
    pub fn skipped(case: &Case, reason: String, setup: Option<Setup>) -> CaseRun {
        CaseRun {
            setup,
            ..CaseRun::bare(&case.id, case.fs.clone(), Status::Skip, reason)
        }
    }

    pub fn broken(case: &Case, reason: String) -> CaseRun {
        CaseRun::bare(&case.id, case.fs.clone(), Status::Broken, reason)
    }

    /// A verdict with no steps behind it.
    pub fn bare(id: &str, fs: Option<String>, status: Status, reason: String) -> CaseRun {
        CaseRun {
            id: id.to_string(),
            status,
            reason,
            steps: Vec::new(),
            fs,
            millis: 0,
            setup: None,
            layout_dependent: Vec::new(),
        }
    }

    /// Skipped, or run somewhere, because of the machine's setup rather than the kernel's
    /// behaviour (a missing mkfs tool; a filesystem of the machine's own rather than a fresh one):
    /// not compared with the snapshots.
    pub fn not_compared(&self) -> bool {
        self.setup.is_some()
    }

    /// The index of the step that decided the verdict: the first that did not meet its
    /// contract, else the first that must fail or fault. `None` when no step did: a pass of
    /// calls that only had to succeed, or a run that ended before its steps.
    pub fn decisive(&self) -> Option<usize> {
        self.steps
            .iter()
            .position(|s| s.mismatch.is_some())
            .or_else(|| self.steps.iter().position(|s| s.must_fail))
    }
}

impl StepRun {
    /// A step with its contract, before anything was observed of it.
    pub fn of(step: &Step, contract: &Expectation) -> StepRun {
        StepRun {
            label: step.label.clone(),
            call: step.spec.name.to_string(),
            line: step.line,
            expected: contract.text.replace('"', ""),
            must_fail: matches!(contract.outcome, Outcome::Errno(_) | Outcome::Signal { .. }),
            explicit: contract.explicit,
            observed: "(no record)".into(),
            obs: None,
            mismatch: None,
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}
