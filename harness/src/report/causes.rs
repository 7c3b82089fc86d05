//! Why environments differ: each cell that did not pass is classified by its deciding step (the
//! call that failed, what the contract expected there and what was observed), and cells with
//! the same kind, call and detail on the same platform form one cause with a one-line wording.
//! The words come from the data (errno, signal, check) through the small table below, never
//! from a list of cases.

use super::{Cell, EnvSummary};
use crate::case::expr::Expr;
use crate::case::plan::{ArgValue, Case};
use crate::outcome::{Status, StepRun};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The call answers ENOSYS.
pub const NOT_IMPLEMENTED: &str = "not implemented";
/// EINVAL or EOPNOTSUPP where success is expected, on a step passing a flag or advice the case
/// is about.
pub const REJECTED: &str = "flag or advice rejected";
/// The call does something else: another errno, success where it must fail, another effect.
pub const BEHAVIOUR: &str = "behaviour differs";
/// A /proc line or field the check reads is missing.
pub const UNAVAILABLE: &str = "observation unavailable";
/// The access faults with the expected signal, but its si_code is another: the detail the
/// contract reads is not delivered.
pub const SIGNAL_DETAIL: &str = "signal detail differs";
/// Linux kernels differ by version: a version gate kept the case from running on some.
pub const KERNEL_VERSION: &str = "kernel version";
/// No step decided: the child died or the harness gave up (a `broken` verdict).
pub const BROKE: &str = "run broke";

/// One cell's cause, before grouping.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Classified {
    pub kind: &'static str,
    /// The call that deviated: the deciding step's, or the gated feature's.
    pub call: String,
    /// For a rejected flag: the errno.
    pub errno: String,
    /// For a rejected flag: the flags the step passed (`MADV_WIPEONFORK`).
    pub detail: String,
    /// The cause without its platform: `mincore reports every page resident`.
    pub what: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CauseGroup {
    /// A slug of the platform and the wording: `gvisor-mincore-reports-every-page-resident`.
    pub id: String,
    pub kind: String,
    pub call: String,
    /// The platform of its environments (`gvisor`), or `kernel` for a version gate.
    pub platform: String,
    /// One line: `gVisor: mincore reports every page resident`.
    pub line: String,
    pub cases: Vec<String>,
    /// Cells by environment key.
    pub per_env: BTreeMap<String, usize>,
    /// The wording without the platform, which with platform, kind and call keys the group.
    #[serde(skip)]
    pub what: String,
    #[serde(skip)]
    pub key_call: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CauseRef {
    pub id: String,
}

/// `EINVAL` from an observation `EINVAL` or `ENOMEM (iteration ~33000)`.
fn errno_of(observed: &str) -> Option<&str> {
    let first = observed.split_whitespace().next()?;
    (first.starts_with('E') && crate::names::errno_value(first).is_some()).then_some(first)
}

/// The errno a contract expects: `errno = EINVAL, iterations = >4`.
fn expected_errno(expected: &str) -> Option<&str> {
    field(expected, "errno")
}

/// A `key = value` field of a contract.
fn field<'a>(expected: &'a str, key: &str) -> Option<&'a str> {
    expected.split(", ").find_map(|part| {
        let (k, v) = part.split_once(" = ")?;
        (k.trim() == key).then(|| v.trim())
    })
}

/// `SIGSEGV SEGV_MAPERR at $m` as (signal, si_code).
fn signal_of(observed: &str) -> Option<(&str, Option<&str>)> {
    let mut words = observed.split_whitespace();
    let sig = words.next().filter(|w| w.starts_with("SIG"))?;
    let code = words.next().filter(|w| *w != "at");
    Some((sig, code))
}

/// What a mismatch is about: `expected minor faults >=16, observed 0` is about `minor faults`;
/// `expected VmFlags +sf on …` about `VmFlags +sf`.
fn noun(mismatch: &str) -> String {
    let rest = mismatch.strip_prefix("expected ").unwrap_or(mismatch);
    let mut words: Vec<&str> = Vec::new();
    let mut tokens = rest.split_whitespace();
    for t in tokens.by_ref() {
        let word = t.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && !["to", "on", "at", "of", "is"].contains(&t);
        if !word || words.len() == 3 {
            if (t.starts_with('+') || t.starts_with('-')) && words.len() == 1 {
                words.push(t.trim_end_matches(','));
            }
            break;
        }
        words.push(t.trim_end_matches(','));
    }
    words.join(" ")
}

/// The first line of a reason (a broken child's adds its stderr below).
fn generic(text: &str) -> String {
    text.lines().next().unwrap_or("").to_string()
}

/// `step 2 (mmap, line 20) did not finish…` as (`mmap`, `did not finish…`).
fn step_reason(reason: &str) -> Option<(&str, &str)> {
    let first = reason.lines().next()?;
    let at = first.find("step ")?;
    let open = first[at..].find('(')? + at;
    let close = first[open..].find(')')? + open;
    let call = first[open + 1..close].split(',').next()?.trim();
    let rest = first[close + 1..].trim_start_matches(':').trim();
    Some((call, rest))
}

/// The flag-like names a step passes that the case is about (`MADV_WIPEONFORK`), from the case
/// file; empty when the case file is not at hand.
pub fn flags_of(case: Option<&Case>, step: &StepRun) -> Vec<String> {
    fn walk(e: &Expr, out: &mut Vec<&'static str>) {
        match e {
            Expr::Sym(name, _) => out.push(name),
            Expr::Neg(e) | Expr::Not(e) | Expr::LogicNot(e) => walk(e, out),
            Expr::Bin(_, a, b) => {
                walk(a, out);
                walk(b, out);
            }
            Expr::Num(_) | Expr::Page | Expr::HugePage | Expr::Ref(..) => {}
        }
    }
    let Some(case) = case else {
        return Vec::new();
    };
    let Some(plan_step) = case
        .plan
        .steps
        .iter()
        .find(|s| s.line == step.line && s.spec.name == step.call)
    else {
        return Vec::new();
    };
    let mut names = Vec::new();
    for (_, v) in &plan_step.args {
        if let ArgValue::Num(e) = v {
            walk(e, &mut names);
        }
    }
    let mut out: Vec<String> = names
        .into_iter()
        .filter(|n| case.symbols.iter().any(|s| s == n))
        .map(str::to_string)
        .collect();
    out.dedup();
    out
}

/// Words a `not implemented` cause as the whole call missing, whatever flags its step passed:
/// for a call that answered nothing but ENOSYS in the environment.
pub fn missing_call(c: &mut Classified) {
    c.what = format!("{} is not implemented (ENOSYS)", c.call);
}

/// Classifies a cell that did not pass, from its deciding step (if one decided), its reason and
/// the flags that step passed.
pub fn classify(
    status: Status,
    reason: &str,
    step: Option<&StepRun>,
    flags: &[String],
) -> Classified {
    let make = |kind, call: &str, what: String| Classified {
        kind,
        call: call.to_string(),
        errno: String::new(),
        detail: String::new(),
        what,
    };
    let step = step.filter(|s| s.mismatch.is_some());
    let Some(s) = step else {
        // No step mismatched: the reason says what went wrong.
        if status == Status::Broken {
            let first = generic(reason);
            let what = first.split(" during ").next().unwrap_or(&first).to_string();
            return make(BROKE, "", what);
        }
        return match step_reason(reason) {
            Some((call, rest)) => make(BEHAVIOUR, call, format!("{call} {rest}")),
            None => make(BEHAVIOUR, "", generic(reason)),
        };
    };
    let call = s.call.as_str();
    let mismatch = s.mismatch.as_deref().unwrap_or("");
    let want_errno = expected_errno(&s.expected);
    let want_signal = field(&s.expected, "signal");
    let got_errno = errno_of(&s.observed);
    let got_signal = signal_of(&s.observed);
    if got_errno == Some("ENOSYS") && want_errno != Some("ENOSYS") {
        let what = if flags.is_empty() {
            format!("{call} is not implemented (ENOSYS)")
        } else {
            format!(
                "{call} is not implemented for {} (ENOSYS)",
                flags.join(" | ")
            )
        };
        return make(NOT_IMPLEMENTED, call, what);
    }
    if let Some(got) = got_errno {
        return match want_errno {
            None if want_signal.is_none() => {
                if matches!(got, "EINVAL" | "EOPNOTSUPP") && !flags.is_empty() {
                    let detail = flags.join(" | ");
                    Classified {
                        kind: REJECTED,
                        call: call.to_string(),
                        errno: got.to_string(),
                        what: format!("{call} rejects {detail} ({got})"),
                        detail,
                    }
                } else {
                    make(
                        BEHAVIOUR,
                        call,
                        format!("{call} fails with {got} where success is expected"),
                    )
                }
            }
            Some(want) => make(
                BEHAVIOUR,
                call,
                format!("{call} fails with {got} where {want} is expected"),
            ),
            None => make(
                BEHAVIOUR,
                call,
                format!("{call} fails with {got} where it should fault"),
            ),
        };
    }
    if let Some(want) = want_errno {
        return make(
            BEHAVIOUR,
            call,
            format!("{call} succeeds where {want} is expected"),
        );
    }
    if let Some(want) = want_signal {
        let want_code = field(&s.expected, "si-code");
        return match got_signal {
            Some((sig, code)) if sig == want && want_code.is_some() && code != want_code => make(
                SIGNAL_DETAIL,
                call,
                format!(
                    "{sig} comes with {}, not {}",
                    code.unwrap_or("no si_code"),
                    want_code.unwrap_or("")
                ),
            ),
            Some((sig, _)) if sig != want => make(
                BEHAVIOUR,
                call,
                format!("{call} raises {sig} where {want} is expected"),
            ),
            Some(_) => make(BEHAVIOUR, call, format!("{call}: {}", noun(mismatch))),
            None => make(
                BEHAVIOUR,
                call,
                format!("{call} does not fault where {want} is expected"),
            ),
        };
    }
    if let Some((sig, _)) = got_signal {
        return make(
            BEHAVIOUR,
            call,
            format!("{call} faults with {sig} where it should not"),
        );
    }
    if s.observed.starts_with("no ") && s.observed != "no mapping" {
        return make(UNAVAILABLE, call, format!("{call}: {}", s.observed));
    }
    if let Some(rest) = mismatch.strip_prefix("expected residency ") {
        let observed = rest.split("observed ").nth(1).unwrap_or("");
        let what = if !observed.is_empty() && observed.chars().all(|c| c == '1') {
            "reports every page resident"
        } else if !observed.is_empty() && observed.chars().all(|c| c == '0') {
            "reports no page resident"
        } else {
            "reports other pages resident than expected"
        };
        return make(BEHAVIOUR, call, format!("{call} {what}"));
    }
    let n = noun(mismatch);
    let what = if n.is_empty() || n.eq_ignore_ascii_case(call) {
        format!("{call} shows another result than documented")
    } else {
        format!("{call}: {n} not as documented")
    };
    make(BEHAVIOUR, call, what)
}

/// The cause of a skip for a version gate, in a case other environments ran: charged to the
/// symbol of the case documented as arriving in the gate's version (`mseal` for `>=6.10`),
/// else to the case's call.
pub fn gated(reason: &str, group: &str, symbols: &[String]) -> Classified {
    let range = reason
        .split(';')
        .next()
        .unwrap_or(reason)
        .trim_start_matches("needs kernel ")
        .to_string();
    let bound = range
        .trim_start_matches(['>', '<', '='])
        .split(',')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    let call = symbols
        .iter()
        .find(|s| super::since::documented(s).as_deref() == Some(bound.as_str()))
        .map_or(group, |s| s.as_str());
    let documented = super::since::documented(call)
        .map(|d| format!(" (documented since {d})"))
        .unwrap_or_default();
    let which = if range.starts_with('<') {
        "newer"
    } else {
        "older"
    };
    Classified {
        kind: KERNEL_VERSION,
        call: call.to_string(),
        errno: String::new(),
        detail: range.clone(),
        what: format!("{call} needs kernel {range}{documented}: not run on {which} kernels"),
    }
}

/// The call a cause is keyed by: none for a signal's detail, which is the same fault whatever
/// access (load, store, jump) met it.
pub fn key_call(c: &Classified) -> String {
    if c.kind == SIGNAL_DETAIL {
        String::new()
    } else {
        c.call.clone()
    }
}

/// The platform a cause is grouped under: the environment's, or `kernel` for a version gate
/// (Linux and User-mode Linux alike).
pub fn platform_of(c: &Classified, env: &EnvSummary) -> String {
    if c.kind == KERNEL_VERSION {
        "kernel".to_string()
    } else {
        env.platform.clone()
    }
}

fn pretty(platform: &str) -> &str {
    match platform {
        "gvisor" => "gVisor",
        "uml" => "UML",
        "linux" => "Linux",
        other => other,
    }
}

fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// Groups the classified cells of the cases (by case id, by environment key) into causes,
/// most cases first, then most cells. The line names the platform when every environment of it is concerned,
/// else the environments.
pub fn group(
    envs: &[EnvSummary],
    cells: &BTreeMap<String, BTreeMap<String, &Cell>>,
) -> Vec<CauseGroup> {
    type Key = (String, &'static str, String, String);
    type Members = (BTreeSet<String>, BTreeMap<String, usize>, BTreeSet<String>);
    let mut groups: BTreeMap<Key, Members> = BTreeMap::new();
    for (id, by_env) in cells {
        for (env, cell) in by_env {
            let Some(c) = &cell.classified else { continue };
            let platform = envs
                .iter()
                .find(|e| &e.key == env)
                .map_or(String::new(), |e| platform_of(c, e));
            let g = groups
                .entry((platform, c.kind, key_call(c), c.what.clone()))
                .or_default();
            g.0.insert(id.clone());
            g.2.insert(c.call.clone());
            *g.1.entry(env.clone()).or_default() += 1;
        }
    }
    let mut out: Vec<CauseGroup> = groups
        .into_iter()
        .map(
            |((platform, kind, key_call, what), (cases, per_env, calls))| {
                let call = calls.into_iter().collect::<Vec<_>>().join(", ");
                let line = if kind == KERNEL_VERSION {
                    what.clone()
                } else {
                    let all: Vec<&str> = envs
                        .iter()
                        .filter(|e| e.platform == platform)
                        .map(|e| e.key.as_str())
                        .collect();
                    let who = if all.iter().all(|k| per_env.contains_key(*k)) {
                        pretty(&platform).to_string()
                    } else {
                        per_env.keys().cloned().collect::<Vec<_>>().join(" and ")
                    };
                    format!("{who}: {what}")
                };
                CauseGroup {
                    id: slug(&format!("{platform} {what}")),
                    kind: kind.to_string(),
                    call,
                    platform,
                    line,
                    cases: cases.into_iter().collect(),
                    per_env,
                    what,
                    key_call,
                }
            },
        )
        .collect();
    out.sort_by(|a, b| {
        let total = |g: &CauseGroup| g.per_env.values().sum::<usize>();
        (b.cases.len(), total(b))
            .cmp(&(a.cases.len(), total(a)))
            .then_with(|| a.id.cmp(&b.id))
    });
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for g in &mut out {
        let n = seen.entry(g.id.clone()).or_default();
        *n += 1;
        if *n > 1 {
            g.id = format!("{}-{n}", g.id);
        }
    }
    out
}
