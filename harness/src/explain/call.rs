//! `explain --call 'mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, file:/tmp/f:O_RDONLY, 100)'`:
//! runs the call in a forked child, as a case would, gathers facts about the process, the system,
//! the file and the address range (explain/facts.rs), and names the documented causes whose
//! conditions the arguments and the facts meet, the ones of the errno the kernel returned first.
//! The diagnosis is `named` when exactly one documented cause of the returned errno is met, and
//! `weak` when none is, or several are.

use super::facts::{self, Fact, Facts};
use super::{kb, ExplainError};
use crate::case::expr::Scope;
use crate::case::load;
use crate::case::plan::Case;
use crate::case::vocab;
use crate::names::{self, Family};
use crate::outcome::{CaseRun, Status};
use crate::pool::Pool;
use crate::wire::{Data, Obs};
use serde::Serialize;
use std::path::Path;

/// Calls `--call` runs under their C name through a step of another name, with the step's
/// arguments the C prototype takes.
const ALIASES: &[(&str, &str, &[&str])] = &[("memfd_create", "memfd", &["name", "flags"])];

/// The objects a call expression may name: (name, what it is, the steps that make it).
const OBJECTS: &[(&str, &str)] = &[
    (
        "map",
        "a fresh 4-page private anonymous mapping, readable and writable",
    ),
    ("locked_map", "the same, mapped with MAP_LOCKED"),
    ("shared_map", "a fresh 4-page shared anonymous mapping"),
    (
        "hole",
        "4 pages that were mapped and unmapped again: an unmapped range",
    ),
];

/// The step name and argument names of a call as `--call` takes it.
fn runnable(call: &str) -> Option<(&'static vocab::CallSpec, Vec<&'static str>)> {
    if let Some((_, step, args)) = ALIASES.iter().find(|(c, _, _)| *c == call) {
        return vocab::lookup(step).map(|s| (s, args.to_vec()));
    }
    vocab::prototyped()
        .find(|c| c.name == call)
        .map(|c| (c, c.args.iter().map(|a| a.name).collect()))
}

/// `mmap(addr, len, prot, flags, fd, offset)`: the call with its arguments' names in case files.
pub fn prototype(call: &str) -> Option<String> {
    runnable(call).map(|(_, args)| format!("{call}({})", args.join(", ")))
}

/// How the user wrote the call, parsed.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub call: String,
    pub args: Vec<(String, Arg)>,
}

#[derive(Debug, Clone)]
pub enum Arg {
    /// An expression, as in case files; `NULL` is 0, `map` is a fresh 4-page mapping.
    Expr(String),
    /// `file:PATH[:FLAGS]`: PATH opened with FLAGS (default O_RDWR).
    File { path: String, flags: String },
    /// `pipe`: the read end of a fresh pipe.
    Pipe,
    /// `closed`: a descriptor number that is not open.
    Closed,
    /// `"text"`: a string (memfd_create's name).
    Text(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct CauseMatch {
    pub errno: String,
    pub cause: String,
    /// The kernel returned this errno.
    pub returned: bool,
    pub cases: Vec<String>,
}

/// The verdict: which documented cause explains the call's failure, and how sure that is.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnosis {
    /// `named` (exactly one documented cause of the returned errno is met), `weak` (none is, or
    /// several are), `succeeded`, or `not run` (an object the call needs could not be made).
    pub grade: String,
    /// The errno the diagnosis is about: the call's, or the one that kept it from running.
    pub errno: Option<String>,
    /// The cause named, in the knowledge base's words (or what kept the call from running).
    pub cause: Option<String>,
    /// Why the grade is what it is, in words.
    pub why: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Argument {
    pub name: String,
    /// The value as passed, in symbols.
    pub value: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CallReport {
    pub call: String,
    /// What the call returned, in symbols.
    pub result: String,
    pub errno: Option<String>,
    pub arguments: Vec<Argument>,
    /// What was found about the process, the system, the file and the range (facts.rs).
    pub facts: Vec<Fact>,
    pub diagnosis: Diagnosis,
    /// The causes whose conditions the arguments and facts meet, the returned errno's first.
    pub matches: Vec<CauseMatch>,
    /// Causes of the returned errno whose conditions explain cannot check (memory pressure,
    /// seals, the state of other mappings), leaving out those whose flag is not passed.
    pub unchecked: Vec<CauseMatch>,
}

/// Parses `name(arg, arg, ...)`.
pub fn parse(text: &str) -> Result<Parsed, ExplainError> {
    let bad = |m: String| ExplainError::BadCall(m);
    let text = text.trim().trim_end_matches(';');
    let open = text
        .find('(')
        .ok_or_else(|| bad(format!("`{text}`: expected a call like mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)")))?;
    let name = text[..open].trim();
    let inner = text[open + 1..]
        .strip_suffix(')')
        .ok_or_else(|| bad(format!("`{text}`: the call must end with `)`")))?;
    let Some((_, order)) = runnable(name) else {
        let names: Vec<&str> = vocab::prototyped()
            .map(|c| c.name)
            .chain(ALIASES.iter().map(|a| a.0))
            .collect();
        let near = names::nearest(name, names.iter().copied());
        return Err(bad(format!(
            "`{name}` cannot be run by explain --call; it runs {}{}",
            names.join(", "),
            near.first()
                .map(|n| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default()
        )));
    };
    let mut parts = Vec::new();
    let (mut depth, mut cur, mut quoted) = (0i32, String::new(), false);
    for c in inner.chars() {
        match c {
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            ',' if depth == 0 && !quoted => {
                parts.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() || !parts.is_empty() {
        parts.push(cur);
    }
    let wanted = order.len();
    // mremap's new_address is optional, as in C; without mincore's vec the harness supplies one.
    let optional = usize::from(name == "mremap" || name == "mincore");
    if parts.len() > wanted || parts.len() + optional < wanted {
        return Err(bad(format!(
            "{name}() takes {wanted} arguments ({}), not {}",
            order.join(", "),
            parts.len()
        )));
    }
    let args = parts
        .iter()
        .zip(order.iter())
        .map(|(p, n)| (n.to_string(), parse_arg(p.trim())))
        .collect();
    Ok(Parsed {
        call: name.to_string(),
        args,
    })
}

fn parse_arg(p: &str) -> Arg {
    if let Some(rest) = p.strip_prefix("file:") {
        let (path, flags) = match rest.rsplit_once(':') {
            Some((path, flags)) if flags.starts_with("O_") => (path, flags),
            _ => (rest, "O_RDWR"),
        };
        return Arg::File {
            path: path.to_string(),
            flags: flags.to_string(),
        };
    }
    if let Some(text) = p.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        return Arg::Text(text.to_string());
    }
    match p {
        "pipe" => Arg::Pipe,
        "closed" => Arg::Closed,
        "NULL" | "nullptr" => Arg::Expr("0".into()),
        _ => Arg::Expr(with_objects(p)),
    }
}

/// `map+PAGE` as a case expression: each object's name becomes its slot, `$map`.
fn with_objects(expr: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if OBJECTS.iter().any(|(o, _)| *o == word) && !out.ends_with('$') {
            out.push('$');
        }
        out.push_str(word);
        word.clear();
    };
    for c in expr.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// The objects an argument names, in OBJECTS order.
fn objects(p: &Parsed) -> Vec<&'static str> {
    OBJECTS
        .iter()
        .map(|(o, _)| *o)
        .filter(|o| {
            let slot = format!("${o}");
            p.args.iter().any(|(_, a)| {
                matches!(a, Arg::Expr(e) if e.match_indices(&slot).any(|(at, _)| {
                    !e[at + slot.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                }))
            })
        })
        .collect()
}

/// The (addr, len) arguments of the range a call works on, by name.
fn range_args(p: &Parsed) -> Option<(&str, &str)> {
    let find = |names: &[&str]| {
        p.args.iter().find_map(|(n, a)| match a {
            Arg::Expr(e) if names.contains(&n.as_str()) => Some(e.as_str()),
            _ => None,
        })
    };
    Some((find(&["addr"])?, find(&["len", "old-len", "size"])?))
}

/// The case a call becomes: the objects its arguments need, a look at the child's
/// /proc/self/smaps, and the call itself.
fn case_text(p: &Parsed) -> String {
    let mut steps = String::new();
    let step = |steps: &mut String, id: &str, call: &str, args: &str| {
        steps.push_str(&format!(
            "[[step]]\nid = \"{id}\"\ncall = \"{call}\"\nargs = {{ {args} }}\n\n"
        ));
    };
    for o in objects(p) {
        let (prot, flags) = match o {
            "locked_map" => (
                "PROT_READ|PROT_WRITE",
                "MAP_PRIVATE|MAP_ANONYMOUS|MAP_LOCKED",
            ),
            "shared_map" => ("PROT_READ|PROT_WRITE", "MAP_SHARED|MAP_ANONYMOUS"),
            "hole" => ("PROT_NONE", "MAP_PRIVATE|MAP_ANONYMOUS"),
            _ => ("PROT_READ|PROT_WRITE", "MAP_PRIVATE|MAP_ANONYMOUS"),
        };
        step(
            &mut steps,
            o,
            "mmap",
            &format!("len = \"4*PAGE\", prot = \"{prot}\", flags = \"{flags}\""),
        );
        if o == "hole" {
            step(
                &mut steps,
                "unmap_hole",
                "munmap",
                "addr = \"$hole\", len = \"4*PAGE\"",
            );
        }
    }
    let (call, _) = runnable(&p.call).expect("parsed calls are runnable");
    let mut args = Vec::new();
    for (name, a) in &p.args {
        let value = match a {
            Arg::Expr(e) => e.clone(),
            Arg::Text(t) => t.clone(),
            Arg::File { path, flags } => {
                step(
                    &mut steps,
                    "fd",
                    "open",
                    &format!("path = {}, flags = {}", toml_str(path), toml_str(flags)),
                );
                "$fd".into()
            }
            Arg::Pipe => {
                steps.push_str("[[step]]\nid = \"fd\"\ncall = \"pipe\"\n\n");
                "$fd".into()
            }
            Arg::Closed => "999".into(),
        };
        args.push(format!("{} = {}", name, toml_str(&value)));
    }
    // The whole address space as the child sees it just before the call.
    step(
        &mut steps,
        "space",
        "smaps",
        "addr = \"0\", len = \"0xffffffffffffffff\"",
    );
    steps.push_str(&format!(
        "[[step]]\nid = \"r\"\ncall = \"{}\"\nargs = {{ {} }}\n",
        call.name,
        args.join(", ")
    ));
    format!(
        "summary = \"explain --call\"\nsymbols = [\"{}\"]\nrefs = [\"explain\"]\n\n{steps}",
        call.name
    )
}

fn toml_str(s: &str) -> String {
    format!("{s:?}")
}

/// Runs the call and diagnoses it.
pub fn run(text: &str, exe: &Path, scratch: &Path) -> Result<CallReport, ExplainError> {
    let parsed = parse(text)?;
    let dir = tempfile::tempdir().map_err(|e| ExplainError::BadCall(e.to_string()))?;
    let file = dir.path().join("call.toml");
    std::fs::write(&file, case_text(&parsed)).map_err(|e| ExplainError::BadCall(e.to_string()))?;
    let case = load::load_one(&file, "explain/call").map_err(|d| {
        ExplainError::BadCall(
            d.iter()
                .map(|d| {
                    let field = d.field.rsplit(" args.").next().unwrap_or(&d.field);
                    format!("argument `{field}`: {}", d.message)
                })
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })?;
    let case = case.into_iter().next().expect("one case");
    let pool = Pool::new(exe);
    let run = pool.run(&case, scratch, None, None);
    Ok(diagnose(&parsed, &case, &run))
}

struct Slots(Vec<Option<u64>>);

impl Scope for Slots {
    fn page(&self) -> u64 {
        crate::sys::page_size()
    }
    fn slot(&self, index: usize) -> Option<u64> {
        self.0.get(index).copied().flatten()
    }
}

fn diagnose(p: &Parsed, case: &Case, run: &CaseRun) -> CallReport {
    // Values the steps produced, by slot, as the child saw them.
    let mut slots = Slots(vec![None; case.plan.slots.len()]);
    let mut last: Option<&Obs> = None;
    let mut space = Vec::new();
    let mut open_failed: Option<i32> = None;
    for (step, sr) in case.plan.steps.iter().zip(&run.steps) {
        let id = step.slot.map(|s| case.plan.slots[s].as_str());
        if let (Some(slot), Some(Obs::Ok { value, data })) = (step.slot, &sr.obs) {
            slots.0[slot] = Some(*value);
            if let (Some("space"), Some(Data::Smaps(entries))) = (id, data) {
                space = entries.clone();
            }
        }
        if let (Some("fd"), Some(Obs::Err { errno })) = (id, &sr.obs) {
            open_failed = Some(*errno);
        }
        last = sr.obs.as_ref();
    }
    let call_step = case.plan.steps.last().expect("the call is the last step");
    let mut values = vec![0u64; kb::VARS.len()];
    let mut arguments = Vec::new();
    let by_name = |name: &str, v: u64, values: &mut Vec<u64>| {
        if let Some(i) = kb::VARS.iter().position(|x| *x == name.replace('-', "_")) {
            values[i] = v;
        }
    };
    for (name, arg) in &p.args {
        let v = match arg {
            Arg::Text(t) => {
                by_name("name_len", t.len() as u64, &mut values);
                0
            }
            _ => call_step
                .num(name)
                .and_then(|e| e.eval(&slots).ok())
                .unwrap_or(0),
        };
        by_name(name, v, &mut values);
        arguments.push(Argument {
            name: name.clone(),
            value: shown(name, v, arg, &p.call),
        });
    }
    let arg = |name: &str| {
        kb::VARS
            .iter()
            .position(|x| *x == name)
            .map_or(0, |i| values[i])
    };

    // The facts, then their values into the conditions' scope.
    let mut found = Facts::default();
    facts::process(&mut found);
    facts::system(&mut found);
    let range =
        range_args(p).map(|_| (arg("addr"), arg("len").max(arg("old_len")).max(arg("size"))));
    facts::address_space(&mut found, &space, range);
    match p.args.iter().find(|(n, _)| n == "fd").map(|(_, a)| a) {
        Some(Arg::File { path, flags }) => {
            facts::file(&mut found, path, flags, open_failed.is_none())
        }
        Some(Arg::Pipe) => facts::other_fd(&mut found, true),
        Some(_) => facts::other_fd(&mut found, false),
        None => {}
    }
    let flags = arg("flags");
    let huge = match p.call.as_str() {
        "mmap" => flags & names::constant("MAP_HUGETLB").map_or(0, |k| k.value) != 0,
        "memfd_create" => flags & names::constant("MFD_HUGETLB").map_or(0, |k| k.value) != 0,
        _ => false,
    };
    if huge {
        facts::huge_pages(&mut found, flags);
    }
    for f in &found.0 {
        by_name(&f.name, f.value, &mut values);
    }

    let (result, errno) = match (open_failed, last) {
        (Some(e), _) => {
            let path = match p.args.iter().find(|(n, _)| n == "fd") {
                Some((_, Arg::File { path, .. })) => path.as_str(),
                _ => "the file",
            };
            (
                format!("not run: could not open {path}: {}", names::errno_name(e)),
                None,
            )
        }
        (_, Some(Obs::Err { errno })) => {
            (names::errno_name(*errno), Some(names::errno_name(*errno)))
        }
        (_, Some(Obs::Ok { value, .. })) => (format!("success, returned {value:#x}"), None),
        (_, Some(Obs::NotRun { reason })) => (format!("not run: {reason}"), None),
        (_, Some(Obs::Fault { signo, code, .. })) => {
            (crate::outcome::symbols::signal(*signo, *code), None)
        }
        (_, None) if run.status == Status::Broken => {
            (format!("the harness broke: {}", run.reason), None)
        }
        (_, None) => ("no result".into(), None),
    };
    let scope = Slots(values.iter().copied().map(Some).collect());
    let mut matches = Vec::new();
    let mut unchecked = Vec::new();
    // An object the call needed could not be made: no cause of the call applies.
    let causes = causes_of(&p.call).filter(|_| open_failed.is_none());
    for c in causes {
        let m = CauseMatch {
            errno: c.errno.clone(),
            cause: c.cause.clone(),
            returned: errno.as_deref() == Some(c.errno.as_str()),
            cases: c.cases.clone(),
        };
        match &c.when {
            Some(w) if w.eval(&scope).unwrap_or(0) != 0 => matches.push(m),
            Some(_) => {}
            None if m.returned && !names_absent_flag(&c.cause, &p.call, &values) => {
                unchecked.push(m)
            }
            None => {}
        }
    }
    matches.sort_by_key(|m| !m.returned);
    // The facts worth showing: those the conditions of the weighed causes name, and the ones
    // that say what the file, the range and the huge page pool are.
    let weighed: Vec<&str> = causes_of(&p.call)
        .filter(|c| {
            errno.as_deref() == Some(c.errno.as_str()) || matches.iter().any(|m| m.cause == c.cause)
        })
        .filter_map(|c| c.when_text.as_deref())
        .collect();
    let file_arg = p
        .args
        .iter()
        .any(|(_, a)| matches!(a, Arg::File { .. } | Arg::Pipe));
    for f in &mut found.0 {
        let named = format!("${}", f.name);
        f.used = weighed.iter().any(|w| {
            w.match_indices(&named).any(|(at, _)| {
                !w[at + named.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            })
        }) || (file_arg && matches!(f.name.as_str(), "fd_open" | "fd_hugetlbfs"))
            || f.group == "huge pages";
    }
    let diagnosis = grade(
        p,
        open_failed,
        errno.as_deref(),
        &result,
        &matches,
        &unchecked,
    );
    CallReport {
        call: format!(
            "{}({})",
            p.call,
            arguments
                .iter()
                .map(|a| a.value.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        result,
        errno,
        arguments,
        facts: found.0,
        diagnosis,
        matches,
        unchecked,
    }
}

/// The documented causes of a call: pkey_mprotect() is mprotect() with a key, and fails for
/// all of mprotect()'s reasons too.
fn causes_of<'a>(call: &'a str) -> impl Iterator<Item = &'a kb::Cause> + 'a {
    let kb = kb::get();
    let also = if call == "pkey_mprotect" {
        "mprotect"
    } else {
        ""
    };
    kb.causes_for(call).chain(kb.causes_for(also))
}

fn grade(
    p: &Parsed,
    open_failed: Option<i32>,
    errno: Option<&str>,
    result: &str,
    matches: &[CauseMatch],
    unchecked: &[CauseMatch],
) -> Diagnosis {
    let diagnosis =
        |grade: &str, errno: Option<String>, cause: Option<String>, why: String| Diagnosis {
            grade: grade.into(),
            errno,
            cause,
            why,
        };
    if let Some(e) = open_failed {
        let name = names::errno_name(e);
        return diagnosis(
            "not run",
            Some(name.clone()),
            Some(result.trim_start_matches("not run: ").to_string()),
            format!("open() failed with {name}, so {}() was not called", p.call),
        );
    }
    let Some(errno) = errno else {
        let grade = if result.starts_with("success") {
            "succeeded"
        } else {
            "not run"
        };
        return diagnosis(
            grade,
            None,
            None,
            format!("the call did not fail: {result}"),
        );
    };
    let met: Vec<&CauseMatch> = matches.iter().filter(|m| m.returned).collect();
    match met.as_slice() {
        [one] => diagnosis(
            "named",
            Some(errno.into()),
            Some(one.cause.trim().to_string()),
            format!(
                "exactly one documented cause of {errno} is met by the arguments and the facts"
            ),
        ),
        [] => diagnosis(
            "weak",
            Some(errno.into()),
            None,
            if unchecked.is_empty() {
                format!("no documented cause of {errno} is met by the arguments and the facts")
            } else {
                format!(
                    "no documented cause of {errno} is met by the arguments and the facts; {} \
                     cannot be checked from here",
                    unchecked.len()
                )
            },
        ),
        several => diagnosis(
            "weak",
            Some(errno.into()),
            Some(several[0].cause.trim().to_string()),
            format!(
                "{} documented causes of {errno} are met; the facts cannot tell which one the \
                 kernel took",
                several.len()
            ),
        ),
    }
}

/// Whether a cause without a condition is about flags none of which the call passes:
/// "MAP_HUGETLB with a file that is not on hugetlbfs" when MAP_HUGETLB is not set. `values`
/// are the arguments by kb::VARS slot.
fn names_absent_flag(cause: &str, call: &str, values: &[u64]) -> bool {
    let arg = |name: &str| {
        kb::VARS
            .iter()
            .position(|x| *x == name)
            .map_or(0, |i| values[i])
    };
    let families: &[(Family, &str)] = match call {
        "mmap" => &[(Family::Map, "flags"), (Family::Prot, "prot")],
        "mprotect" | "pkey_mprotect" => &[(Family::Prot, "prot")],
        "msync" => &[(Family::Ms, "flags")],
        "mremap" => &[(Family::Mremap, "flags")],
        "madvise" => &[(Family::Madv, "advice")],
        "mlock2" => &[(Family::Mlock, "flags")],
        "mlockall" => &[(Family::Mcl, "flags")],
        "memfd_create" => &[(Family::Mfd, "flags")],
        _ => &[],
    };
    let mut named = 0;
    for word in cause.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        let Some(k) = names::constant(word) else {
            continue;
        };
        let Some((family, name)) = families.iter().find(|(f, _)| *f == k.family) else {
            continue;
        };
        named += 1;
        let v = arg(name);
        let present = match family {
            Family::Madv => v == k.value,
            Family::Map if k.value <= 0xf => v & 0xf == k.value,
            Family::Map if k.value >> 26 != 0 => (v >> 26) & 0x3f == k.value >> 26,
            _ if k.value == 0 => v == 0,
            _ => v & k.value == k.value,
        };
        if present {
            return false;
        }
    }
    named > 0
}

/// An argument as the user would write it back: flags by name, the fd by what it is.
fn shown(name: &str, v: u64, arg: &Arg, call: &str) -> String {
    match (name, arg) {
        (_, Arg::File { path, flags }) => format!("file:{path}:{flags}"),
        (_, Arg::Pipe) => "pipe".into(),
        (_, Arg::Closed) => "closed".into(),
        (_, Arg::Text(t)) if t.len() > 40 => {
            let head: String = t.chars().take(16).collect();
            format!("\"{head}…\" ({} bytes)", t.len())
        }
        (_, Arg::Text(t)) => format!("\"{t}\""),
        ("prot", _) => names::describe_value(Family::Prot, v),
        ("flags", _) => match call {
            "mmap" | "remap_file_pages" => names::describe_value(Family::Map, v),
            "msync" => names::describe_value(Family::Ms, v),
            "mremap" => names::describe_value(Family::Mremap, v),
            "mlock2" => names::describe_value(Family::Mlock, v),
            "mlockall" => names::describe_value(Family::Mcl, v),
            "memfd_create" => names::describe_value(Family::Mfd, v),
            _ => v.to_string(),
        },
        ("advice", _) => names::describe_value(Family::Madv, v),
        ("addr" | "new-addr", Arg::Expr(e)) if e.contains('$') => e.replace('$', ""),
        ("addr" | "new-addr", _) if v == 0 => "NULL".into(),
        ("fd" | "pkey", _) => (v as i64).to_string(),
        (_, _) if v > 0xffff => format!("{v:#x}"),
        (_, _) => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_parse() {
        let p =
            parse("mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, file:/tmp/f:O_RDONLY, 100)")
                .unwrap();
        assert_eq!(p.call, "mmap");
        assert_eq!(p.args.len(), 6);
        assert!(
            matches!(&p.args[4].1, Arg::File { path, flags } if path == "/tmp/f" && flags == "O_RDONLY")
        );
        assert!(matches!(&p.args[0].1, Arg::Expr(e) if e == "0"));
        let p = parse("mprotect(map+1, PAGE, PROT_READ)").unwrap();
        assert!(matches!(&p.args[0].1, Arg::Expr(e) if e == "$map+1"));
        assert!(parse("mmap(1, 2)")
            .unwrap_err()
            .to_string()
            .contains("takes 6 arguments"));
        assert!(parse("mmapp(1)")
            .unwrap_err()
            .to_string()
            .contains("did you mean `mmap`"));
        assert!(parse("mremap(map, PAGE, 2*PAGE, MREMAP_MAYMOVE)").is_ok());
    }
}
