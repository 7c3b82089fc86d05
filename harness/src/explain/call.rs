//! `explain --call 'mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, file:/tmp/f:O_RDONLY, 100)'`:
//! runs the call in a forked child, as a case would, and names the documented causes whose
//! conditions these arguments meet, marking the ones that match what the kernel returned.

use super::{kb, ExplainError};
use crate::case::expr::Scope;
use crate::case::load;
use crate::case::plan::Case;
use crate::case::vocab;
use crate::names;
use crate::outcome::{CaseRun, Status};
use crate::pool::Pool;
use crate::wire::{Data, Obs};
use serde::Serialize;
use std::path::Path;

/// `mmap(addr, len, prot, flags, fd, offset)`: the call with its arguments' names in case files.
pub fn prototype(call: &str) -> Option<String> {
    vocab::prototyped().find(|c| c.name == call).map(|c| {
        let args: Vec<_> = c.args.iter().map(|a| a.name).collect();
        format!("{call}({})", args.join(", "))
    })
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
}

#[derive(Debug, Clone, Serialize)]
pub struct CauseMatch {
    pub errno: String,
    pub cause: String,
    /// The kernel returned this errno.
    pub returned: bool,
    pub cases: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CallReport {
    pub call: String,
    /// What the call returned, in symbols.
    pub result: String,
    pub errno: Option<String>,
    /// (argument, value as passed, in symbols)
    pub arguments: Vec<(String, String)>,
    /// Facts about the arguments the conditions use: (name, 0 or 1).
    pub facts: Vec<(String, u64)>,
    pub matches: Vec<CauseMatch>,
    /// Causes whose conditions cannot be told from the arguments (limits, memory).
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
    let Some(spec) = vocab::prototyped().find(|c| c.name == name) else {
        let runnable = vocab::prototyped().map(|c| c.name);
        let near = names::nearest(name, runnable.clone());
        return Err(bad(format!(
            "`{name}` cannot be run by explain --call; it runs {}{}",
            runnable.collect::<Vec<_>>().join(", "),
            near.first()
                .map(|n| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default()
        )));
    };
    let mut parts = Vec::new();
    let (mut depth, mut cur) = (0i32, String::new());
    for c in inner.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
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
    let order: Vec<&str> = spec.args.iter().map(|a| a.name).collect();
    let wanted = order.len();
    // mremap's new_address is optional, as in C.
    let optional = usize::from(name == "mremap");
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
    match p {
        "pipe" => Arg::Pipe,
        "closed" => Arg::Closed,
        "NULL" | "nullptr" => Arg::Expr("0".into()),
        _ => Arg::Expr(p.replace("map", "$map").replace("$$", "$")),
    }
}

/// The case a call becomes: the objects its arguments need, a look at /proc/self/maps over the
/// target range, and the call itself.
fn case_text(p: &Parsed) -> String {
    let mut steps = String::new();
    let uses_map = p
        .args
        .iter()
        .any(|(_, a)| matches!(a, Arg::Expr(e) if e.contains("$map")));
    if uses_map {
        steps.push_str(
            "[[step]]\nid = \"map\"\ncall = \"mmap\"\nargs = { len = \"4*PAGE\", prot = \"PROT_READ|PROT_WRITE\", flags = \"MAP_PRIVATE|MAP_ANONYMOUS\" }\n\n",
        );
    }
    let mut args = Vec::new();
    for (name, a) in &p.args {
        let value = match a {
            Arg::Expr(e) => e.clone(),
            Arg::File { path, flags } => {
                steps.push_str(&format!(
                    "[[step]]\nid = \"fd\"\ncall = \"open\"\nargs = {{ path = {}, flags = {} }}\n\n",
                    toml_str(path),
                    toml_str(flags)
                ));
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
    let addr = p.args.iter().find(|(n, _)| n == "addr");
    let len = p
        .args
        .iter()
        .find(|(n, _)| n == "len" || n == "old-len" || n == "size");
    if let (Some((_, Arg::Expr(a))), Some((_, Arg::Expr(l)))) = (addr, len) {
        steps.push_str(&format!(
            "[[step]]\nid = \"look\"\ncall = \"maps\"\nargs = {{ addr = {}, len = {} }}\n\n",
            toml_str(a),
            toml_str(&format!("({l}) + ((({l}) == 0) * PAGE)"))
        ));
    }
    steps.push_str(&format!(
        "[[step]]\nid = \"r\"\ncall = \"{}\"\nargs = {{ {} }}\n",
        p.call,
        args.join(", ")
    ));
    format!(
        "summary = \"explain --call\"\nsymbols = [\"{}\"]\nrefs = [\"explain\"]\n\n{steps}",
        p.call
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
    let mut range_mapped = 0;
    for (step, sr) in case.plan.steps.iter().zip(&run.steps) {
        if let (Some(slot), Some(Obs::Ok { value, data })) = (step.slot, &sr.obs) {
            slots.0[slot] = Some(*value);
            if let Some(Data::Maps(lines)) = data {
                range_mapped = u64::from(!lines.is_empty());
            }
        }
        last = sr.obs.as_ref();
    }
    let call_step = case.plan.steps.last().expect("the call is the last step");
    let mut values = vec![0u64; kb::VARS.len()];
    let mut arguments = Vec::new();
    for (name, arg) in &p.args {
        let v = call_step
            .num(name)
            .and_then(|e| e.eval(&slots).ok())
            .unwrap_or(0);
        if let Some(i) = kb::VARS.iter().position(|x| *x == name.replace('-', "_")) {
            values[i] = v;
        }
        arguments.push((name.clone(), shown(name, v, arg, &p.call)));
    }
    let fd_spec = p.args.iter().find(|(n, _)| n == "fd").map(|(_, a)| a);
    let fd_ok = run.steps.iter().zip(&case.plan.steps).any(|(sr, st)| {
        st.slot.is_some_and(|s| case.plan.slots[s] == "fd")
            && matches!(sr.obs, Some(Obs::Ok { .. }))
    });
    let fd = FdFacts::of(fd_spec, fd_ok);
    let mut facts: Vec<(String, u64)> = fd.pairs();
    facts.push(("range_mapped".into(), range_mapped));
    for (name, v) in &facts {
        if let Some(i) = kb::VARS.iter().position(|x| x == name) {
            values[i] = *v;
        }
    }

    let (result, errno) = match last {
        Some(Obs::Err { errno }) => (names::errno_name(*errno), Some(names::errno_name(*errno))),
        Some(Obs::Ok { value, .. }) => (format!("success, returned {value:#x}"), None),
        Some(Obs::NotRun { reason }) => (format!("not run: {reason}"), None),
        Some(Obs::Fault { signo, code, .. }) => {
            (crate::outcome::symbols::signal(*signo, *code), None)
        }
        None if run.status == Status::Broken => {
            (format!("the harness broke: {}", run.reason), None)
        }
        None => ("no result".into(), None),
    };
    let scope = Slots(values.into_iter().map(Some).collect());
    let mut matches = Vec::new();
    let mut unchecked = Vec::new();
    for c in kb::get().causes_for(&p.call) {
        let m = CauseMatch {
            errno: c.errno.clone(),
            cause: c.cause.clone(),
            returned: errno.as_deref() == Some(c.errno.as_str()),
            cases: c.cases.clone(),
        };
        match &c.when {
            Some(w) if w.eval(&scope).unwrap_or(0) != 0 => matches.push(m),
            Some(_) => {}
            None if m.returned => unchecked.push(m),
            None => {}
        }
    }
    matches.sort_by_key(|m| !m.returned);
    CallReport {
        call: format!(
            "{}({})",
            p.call,
            arguments
                .iter()
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        result,
        errno,
        arguments,
        facts,
        matches,
        unchecked,
    }
}

/// What the harness knows about the descriptor argument, for the causes' conditions.
#[derive(Default)]
struct FdFacts {
    open: bool,
    regular: bool,
    dir: bool,
    pipe: bool,
    chr: bool,
    readable: bool,
    writable: bool,
    append: bool,
}

impl FdFacts {
    fn of(spec: Option<&Arg>, opened: bool) -> FdFacts {
        match spec {
            Some(Arg::File { path, flags }) if opened => {
                use std::os::unix::fs::FileTypeExt;
                let kind = std::fs::metadata(path).ok().map(|m| m.file_type());
                let access = names::constant(flags.split('|').next().unwrap_or(""))
                    .map_or(2, |k| k.value & 3);
                FdFacts {
                    open: true,
                    regular: kind.is_some_and(|k| k.is_file()),
                    dir: kind.is_some_and(|k| k.is_dir()),
                    pipe: kind.is_some_and(|k| k.is_fifo()),
                    chr: kind.is_some_and(|k| k.is_char_device()),
                    readable: access != 1,
                    writable: access != 0,
                    append: flags.contains("O_APPEND"),
                }
            }
            Some(Arg::Pipe) => FdFacts {
                open: true,
                pipe: true,
                readable: true,
                ..Default::default()
            },
            // -1, `closed`, a raw number, or a file that did not open: not open as far as the
            // harness knows.
            _ => FdFacts::default(),
        }
    }

    /// The facts by the names `when` conditions use (kb::VARS).
    fn pairs(&self) -> Vec<(String, u64)> {
        [
            ("fd_open", self.open),
            ("fd_regular", self.regular),
            ("fd_dir", self.dir),
            ("fd_pipe", self.pipe),
            ("fd_chr", self.chr),
            ("fd_readable", self.readable),
            ("fd_writable", self.writable),
            ("fd_append", self.append),
        ]
        .into_iter()
        .map(|(n, v)| (n.to_string(), u64::from(v)))
        .collect()
    }
}

/// An argument as the user would write it back: flags by name, the fd by what it is.
fn shown(name: &str, v: u64, arg: &Arg, call: &str) -> String {
    use names::Family;
    match (name, arg) {
        (_, Arg::File { path, flags }) => format!("file:{path}:{flags}"),
        (_, Arg::Pipe) => "pipe".into(),
        (_, Arg::Closed) => "closed".into(),
        ("prot", _) => names::describe_value(Family::Prot, v),
        ("flags", _) => match call {
            "mmap" | "remap_file_pages" => names::describe_value(Family::Map, v),
            "msync" => names::describe_value(Family::Ms, v),
            "mremap" => names::describe_value(Family::Mremap, v),
            "mlock2" => names::describe_value(Family::Mlock, v),
            "mlockall" => names::describe_value(Family::Mcl, v),
            _ => v.to_string(),
        },
        ("advice", _) => names::describe_value(Family::Madv, v),
        ("addr" | "new-addr", Arg::Expr(e)) if e.contains("$map") => e.replace('$', ""),
        ("addr" | "new-addr", _) if v == 0 => "NULL".into(),
        ("fd", _) => (v as i64).to_string(),
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
