//! Mutant kernels: the child pretends that one call does nothing and reports success. A case
//! that still passes against such a kernel does not observe the effect of that call, which the
//! suite forbids for the calls a case names in `symbols`. `mmcheck mutants` and `cargo test` run
//! every case against every mutant that applies to it.

use crate::case::expr::Expr;
use crate::case::plan::Case;
use crate::case::vocab::{self, Call};
use crate::outcome::{CaseRun, Status};

/// What an ignoring kernel answers for this step, or `None` when the mutant leaves it alone.
/// `flags` and `addr` are the step's evaluated arguments.
pub fn ignored_result(mutant: &str, call: Call, name: &str, addr: u64, flags: u64) -> Option<u64> {
    const MAP_FIXED: u64 = 0x10;
    const MAP_FIXED_NOREPLACE: u64 = 0x10_0000;
    match (mutant, call) {
        ("MAP_FIXED", Call::Mmap) if flags & MAP_FIXED != 0 && flags & MAP_FIXED_NOREPLACE == 0 => {
            Some(addr)
        }
        // An ignored mremap "succeeds" where the mapping already is.
        (m, Call::Mremap) if m == name => Some(addr),
        (m, _) if m == name && m != "MAP_FIXED" => Some(0),
        _ => None,
    }
}

/// The mutants that apply to a case: those it names in `symbols` and actually calls.
pub fn applicable(case: &Case) -> Vec<&'static str> {
    vocab::mutants()
        .filter(|m| case.symbols.iter().any(|s| s == m))
        .filter(|m| {
            case.plan.steps.iter().any(|s| match *m {
                "MAP_FIXED" => s.call == Call::Mmap && s.num("flags").is_some_and(names_map_fixed),
                _ => s.spec.name == *m,
            })
        })
        .collect()
}

fn names_map_fixed(e: &Expr) -> bool {
    match e {
        Expr::Sym(name, _) => *name == "MAP_FIXED",
        Expr::Neg(x) | Expr::Not(x) => names_map_fixed(x),
        Expr::Bin(_, a, b) => names_map_fixed(a) || names_map_fixed(b),
        _ => false,
    }
}

/// The reason a surviving mutant is acceptable, if the case gives one (`survives`).
pub fn accepted_survivor<'a>(case: &'a Case, mutant: &str) -> Option<&'a str> {
    case.survives
        .iter()
        .find(|(m, _)| m == mutant)
        .map(|(_, why)| why.as_str())
}

/// How a case fared against one mutant kernel.
pub struct MutantVerdict {
    pub id: String,
    pub mutant: String,
    pub status: Status,
    /// The case's reason for surviving, when it gives one.
    pub accepted: Option<String>,
    pub reason: String,
}

impl MutantVerdict {
    pub fn of(case: &Case, mutant: &str, run: &CaseRun) -> MutantVerdict {
        MutantVerdict {
            id: case.id.clone(),
            mutant: mutant.to_string(),
            status: run.status,
            accepted: accepted_survivor(case, mutant).map(str::to_string),
            reason: run.reason.clone(),
        }
    }

    /// The case passed although the kernel ignored a call it claims to verify.
    pub fn is_unexplained_survivor(&self) -> bool {
        self.status == Status::Pass && self.accepted.is_none()
    }
}
