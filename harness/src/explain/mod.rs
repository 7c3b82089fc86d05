//! `mmcheck explain`: a symbol of the mmap family in the project's own words, the installed man
//! page's text for it, the kernel version that brought it, and the cases that prove each claim
//! with what each environment observed. Numbers decode to names, and `--call` runs a call and
//! names the documented causes its arguments match.

pub mod call;
pub mod evidence;
pub mod facts;
pub mod index;
pub mod kb;
pub mod man;
mod scan;

use crate::names::{self, Family};
use evidence::{CaseView, Evidence};
use serde::Serialize;

/// The calls of the family, with their man page and the families of their flag argument.
pub const SYSCALLS: &[(&str, &str, &[Family])] = &[
    ("mmap", "mmap", &[Family::Map, Family::Prot]),
    ("munmap", "munmap", &[]),
    ("mprotect", "mprotect", &[Family::Prot]),
    ("msync", "msync", &[Family::Ms]),
    ("mremap", "mremap", &[Family::Mremap]),
    ("madvise", "madvise", &[Family::Madv]),
    ("mincore", "mincore", &[]),
    ("mlock", "mlock", &[]),
    ("mlock2", "mlock2", &[Family::Mlock]),
    ("munlock", "munlock", &[]),
    ("mlockall", "mlockall", &[Family::Mcl]),
    ("munlockall", "munlockall", &[]),
    ("remap_file_pages", "remap_file_pages", &[Family::Map]),
    ("mseal", "mseal", &[]),
    ("memfd_create", "memfd_create", &[Family::Mfd]),
];

/// Pages of calls outside the family whose flags and errnos the knowledge base explains: their
/// symbols are looked up there (but an errno's explanation does not quote them).
const OTHER_PAGES: &[&str] = &["fcntl", "prctl", "pkey_alloc", "process_madvise"];

/// A passage of the installed man page, kept with its fonts for the terminal.
#[derive(Debug, Clone, Serialize)]
pub struct ManText {
    /// `mmap(2)`.
    pub page: String,
    pub section: String,
    #[serde(serialize_with = "plain_spans")]
    pub tag: man::Spans,
    #[serde(serialize_with = "plain_paragraphs")]
    pub body: Vec<man::Spans>,
}

fn plain_spans<S: serde::Serializer>(s: &man::Spans, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(&man::plain(s))
}

fn plain_paragraphs<S: serde::Serializer>(p: &[man::Spans], ser: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = ser.serialize_seq(Some(p.len()))?;
    for para in p {
        seq.serialize_element(&man::plain(para))?;
    }
    seq.end()
}

#[derive(Debug, Clone, Serialize)]
pub struct CauseView {
    pub syscall: String,
    pub errno: String,
    pub cause: String,
    pub cases: Vec<CaseView>,
}

/// `explain mmap`: the call's synopsis and its flags and errors as tables.
#[derive(Debug, Clone, Serialize)]
pub struct CallTables {
    /// `mmap(addr, len, prot, flags, fd, offset)`, with the argument names of case files.
    pub synopsis: Vec<String>,
    pub arguments: Vec<Argument>,
    pub flags: Vec<FlagRow>,
}

/// An argument of a call, as case files name it.
#[derive(Debug, Clone, Serialize)]
pub struct Argument {
    pub name: String,
    /// What it takes: `PROT_* flags`, `a number or address`.
    pub takes: String,
}

/// A flag (or advice, seal, mode) a call takes.
#[derive(Debug, Clone, Serialize)]
pub struct FlagRow {
    pub name: String,
    /// Its value on this architecture; none when it has no number here.
    pub value: Option<u64>,
    /// The Linux version that brought it, when recorded.
    pub since: Option<String>,
    /// The first sentence of its explanation, whole.
    pub summary: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub symbol: String,
    pub kind: String,
    pub of: Vec<String>,
    /// Its number on this architecture: a flag's value, an errno's, a signal's, an si_code's.
    pub value: Option<i64>,
    pub since: Option<String>,
    pub summary: String,
    pub related: Vec<String>,
    pub man: Vec<ManText>,
    /// Why the man page's text is missing, when it is.
    pub man_note: Option<String>,
    pub tables: Option<CallTables>,
    /// For an errno or a call: its documented causes, each with its cases.
    pub causes: Vec<CauseView>,
    /// The cases that name the symbol, with what every environment did.
    pub cases: Vec<CaseView>,
    pub evidence_note: Option<String>,
}

/// A decoded number.
#[derive(Debug, Clone, Serialize)]
pub struct Decoded {
    pub input: String,
    /// (what it was read as, the names); in JSON, objects `{"as": ..., "names": ...}`.
    #[serde(serialize_with = "reading_objects")]
    pub readings: Vec<(String, String)>,
}

fn reading_objects<S: serde::Serializer>(
    r: &[(String, String)],
    ser: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Reading<'a> {
        #[serde(rename = "as")]
        read_as: &'a str,
        names: &'a str,
    }
    ser.collect_seq(r.iter().map(|(a, n)| Reading {
        read_as: a,
        names: n,
    }))
}

#[derive(Debug)]
pub enum ExplainError {
    /// Not a symbol of the family; the nearest ones.
    Unknown {
        wanted: String,
        near: Vec<String>,
    },
    BadNumber(String),
    BadCall(String),
}

impl std::fmt::Display for ExplainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExplainError::Unknown { wanted, near } if near.is_empty() => write!(
                f,
                "`{wanted}` is not a symbol of the mmap family (mmcheck explain --list shows them all)"
            ),
            ExplainError::Unknown { wanted, near } => write!(
                f,
                "`{wanted}` is not a symbol of the mmap family; did you mean {}?",
                near.iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            ExplainError::BadNumber(m) | ExplainError::BadCall(m) => write!(f, "{m}"),
        }
    }
}

/// Every symbol explain knows, sorted.
pub fn symbols() -> Vec<&'static str> {
    let mut v: Vec<&str> = kb::get().symbols.iter().map(|s| s.name.as_str()).collect();
    v.sort();
    v
}

/// What `--flags` takes: every call with a flag argument, then `prot` and `seals`.
pub fn flag_families() -> Vec<&'static str> {
    SYSCALLS
        .iter()
        .filter(|(_, _, f)| !f.is_empty())
        .map(|(n, _, _)| *n)
        .chain(["prot", "seals"])
        .collect()
}

/// The knowledge base's entry for a name as a user types it: `map_fixed` is MAP_FIXED, `MADVISE`
/// is madvise.
pub fn resolve(symbol: &str) -> Option<&'static kb::Symbol> {
    let kb = kb::get();
    kb.symbol(symbol)
        .or_else(|| kb.symbol(&symbol.to_ascii_uppercase()))
        .or_else(|| kb.symbol(&symbol.to_ascii_lowercase()))
}

/// The documented causes explain lists for a symbol: an errno's, or a call's. Grouped by call,
/// the calls in [`call_rank`]'s order, each call's causes in the knowledge base's order.
pub fn causes(sym: &kb::Symbol) -> Vec<&kb::Cause> {
    let kb = kb::get();
    let mut causes: Vec<&kb::Cause> = match sym.kind.as_str() {
        "errno" => kb.causes_of(&sym.name).collect(),
        "syscall" => kb.causes_for(&sym.name).collect(),
        _ => Vec::new(),
    };
    causes.sort_by_key(|c| call_rank(&c.syscall));
    causes
}

/// Where a call's group of causes comes: the family's calls in [`SYSCALLS`]'s order (mmap,
/// munmap, mprotect, msync, mremap, madvise, mincore, mlock, mlock2, ... memfd_create), then
/// every other call by name.
pub fn call_rank(call: &str) -> (usize, &str) {
    let at = SYSCALLS.iter().position(|(n, _, _)| *n == call);
    (at.unwrap_or(SYSCALLS.len()), call)
}

/// Explains one symbol. [`explain_at`] loads just the evidence this reads.
pub fn explain(symbol: &str, evidence: &Evidence) -> Result<Explanation, ExplainError> {
    let sym = resolve(symbol).ok_or_else(|| unknown(symbol))?;
    Ok(explanation(
        sym,
        man_text(sym),
        index::Views::of(sym, evidence),
    ))
}

/// Explains one symbol with the evidence of the repository at `repo` (the directory holding
/// `cases/` and `snapshots/`), as [`explain`] with [`Evidence::load`] would, loading only the
/// evidence it reads. The man pages are read while the evidence loads.
pub fn explain_at(
    symbol: &str,
    repo: Option<&std::path::Path>,
) -> Result<Explanation, ExplainError> {
    let sym = resolve(symbol).ok_or_else(|| unknown(symbol))?;
    // The cache of every symbol's evidence (index.rs), else just this symbol's, loaded while
    // the man pages are read.
    if let Some(repo) = repo.filter(|r| r.join("cases").is_dir()) {
        let (views, man) = std::thread::scope(|s| {
            let cached = std::thread::Builder::new().spawn_scoped(s, || index::views(repo, sym));
            let man = man_text(sym);
            let views = match cached {
                Ok(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
                Err(_) => index::views(repo, sym),
            };
            (views, man)
        });
        if let Some(views) = views {
            return Ok(explanation(sym, man, views));
        }
    }
    let (evidence, man) = Evidence::for_symbol_while(repo, &sym.name, || man_text(sym));
    Ok(explanation(sym, man, index::Views::of(sym, &evidence)))
}

fn unknown(symbol: &str) -> ExplainError {
    let kb = kb::get();
    ExplainError::Unknown {
        wanted: symbol.to_string(),
        near: names::nearest(symbol, kb.symbols.iter().map(|s| s.name.as_str()))
            .into_iter()
            .map(str::to_string)
            .collect(),
    }
}

fn explanation(
    sym: &kb::Symbol,
    (man, man_note): (Vec<ManText>, Option<String>),
    views: index::Views,
) -> Explanation {
    let since = sym
        .since
        .clone()
        .or_else(|| man.iter().find_map(|m| man::since(&m.tag)));
    let value = names::constant(&sym.name)
        .map(|k| k.value as i64)
        .or_else(|| names::errno_value(&sym.name).map(i64::from))
        .or_else(|| names::signal_value(&sym.name).map(i64::from))
        .or_else(|| names::si_code_value(&sym.name).map(|(_, v)| i64::from(v)));
    let causes: Vec<CauseView> = causes(sym)
        .into_iter()
        .zip(views.causes)
        .map(|(c, cases)| CauseView {
            syscall: c.syscall.clone(),
            errno: c.errno.clone(),
            cause: c.cause.clone(),
            cases,
        })
        .collect();
    let tables = (sym.kind == "syscall").then(|| call_tables(&sym.name));
    let cases = views.cases;
    Explanation {
        symbol: sym.name.clone(),
        kind: sym.kind.clone(),
        of: sym.of.clone(),
        value,
        since,
        summary: sym.summary.trim().to_string(),
        related: sym.related.clone(),
        man,
        man_note,
        tables,
        causes,
        cases,
        evidence_note: views.missing,
    }
}

/// The man pages a symbol is documented in.
fn pages_for(sym: &kb::Symbol) -> Vec<(String, u32)> {
    let mut pages: Vec<(String, u32)> = Vec::new();
    let mut add = |p: &str, s: u32| {
        if !pages.iter().any(|(q, _)| q == p) {
            pages.push((p.to_string(), s));
        }
    };
    match sym.kind.as_str() {
        "syscall" => add(&sym.name, 2),
        "signal" | "si-code" => add("sigaction", 2),
        "limit" if sym.name.starts_with("RLIMIT") => add("getrlimit", 2),
        "seal" => add("fcntl", 2),
        _ => {}
    }
    for of in &sym.of {
        if SYSCALLS.iter().any(|(n, _, _)| n == of) || OTHER_PAGES.contains(&of.as_str()) {
            add(of, 2);
        }
    }
    if sym.kind == "errno" {
        for (n, _, _) in SYSCALLS {
            add(n, 2);
        }
    }
    pages
}

/// The man page's own text for a symbol: a syscall's NAME and first DESCRIPTION paragraph,
/// another symbol's tagged entries (an errno's in every ERRORS section of the family).
fn man_text(sym: &kb::Symbol) -> (Vec<ManText>, Option<String>) {
    let mut out = Vec::new();
    let mut any_page = false;
    // Pages parsed so far, by their text: an errno's fifteen pages are ten texts (munmap(2) is
    // mmap(2), and munlock(2) and three more are mlock(2), as links or `.so` requests).
    let mut parsed: Vec<(String, man::Page)> = Vec::new();
    for (page, section) in pages_for(sym) {
        let Some((path, text)) = man::source(&page, section) else {
            continue;
        };
        let at = match parsed.iter().position(|(t, _)| *t == text) {
            Some(at) => at,
            None => {
                let sections = man::parse(&text);
                let name = page.clone();
                parsed.push((
                    text,
                    man::Page {
                        name,
                        path,
                        sections,
                    },
                ));
                parsed.len() - 1
            }
        };
        let p = &parsed[at].1;
        any_page = true;
        let label = format!("{page}({section})");
        if sym.kind == "syscall" && sym.name == page {
            if let Some(desc) = p.section("DESCRIPTION") {
                out.push(ManText {
                    page: label.clone(),
                    section: "DESCRIPTION".into(),
                    tag: vec![(man::Font::Bold, page.clone())],
                    body: desc.paragraphs.iter().take(2).cloned().collect(),
                });
            }
            continue;
        }
        for (section_name, entry) in p.entries_for(&sym.name) {
            if sym.kind == "errno" && section_name != "ERRORS" {
                continue;
            }
            // munmap(2) is a copy of mmap(2): the same entry once is enough.
            let text: Vec<String> = entry.body.iter().map(man::plain).collect();
            if out
                .iter()
                .any(|m: &ManText| m.body.iter().map(man::plain).eq(text.iter().cloned()))
            {
                continue;
            }
            out.push(ManText {
                page: label.clone(),
                section: section_name.to_string(),
                tag: entry.tag.clone(),
                body: entry.body.clone(),
            });
        }
    }
    let note = if !any_page && man::load("mmap", 2).is_some() {
        Some(format!(
            "the installed man pages ({}) have no page for it: it is newer than that release",
            man::source("mmap", 2)
                .and_then(|(_, text)| man::release(&text))
                .unwrap_or_else(|| "their release".into())
        ))
    } else if !any_page {
        Some(format!(
            "the man pages are not installed here (looked in {}); apt-get install manpages-dev \
             to see their text beside this explanation",
            man::man_dir().display()
        ))
    } else if out.is_empty() {
        Some("the installed man pages have no entry for it".into())
    } else {
        None
    };
    (out, note)
}

fn call_tables(call: &str) -> CallTables {
    let kb = kb::get();
    let synopsis = call::prototype(call).into_iter().collect();
    let arguments = crate::case::vocab::lookup(call)
        .map(|spec| {
            spec.args
                .iter()
                .map(|a| {
                    let takes = match a.kind {
                        crate::case::vocab::Kind::Num(f) if !f.is_empty() => f
                            .iter()
                            .map(|x| x.describe())
                            .collect::<Vec<_>>()
                            .join(" or "),
                        crate::case::vocab::Kind::Num(_) => "a number or address".into(),
                        crate::case::vocab::Kind::Text => "text".into(),
                    };
                    Argument {
                        name: a.name.to_string(),
                        takes,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let mut flags: Vec<FlagRow> = kb
        .symbols
        .iter()
        .filter(|s| {
            s.of.iter().any(|o| o == call)
                && matches!(
                    s.kind.as_str(),
                    "flag" | "prot" | "advice" | "seal" | "mode"
                )
        })
        .map(|s| {
            let summary = s.summary.split_whitespace().collect::<Vec<_>>().join(" ");
            let first = summary
                .split(". ")
                .next()
                .unwrap_or("")
                .trim_end_matches('.');
            FlagRow {
                name: s.name.clone(),
                value: names::constant(&s.name).map(|k| k.value),
                since: s.since.clone(),
                summary: format!("{first}."),
            }
        })
        .collect();
    flags.sort_by(|a, b| a.name.cmp(&b.name));
    CallTables {
        synopsis,
        arguments,
        flags,
    }
}

/// Decodes a number: `22` (an errno, or a signal), `0x22` (mmap flags), or with a call or family
/// given (`--flags mmap 0x100022`), as that call's flags.
pub fn decode(input: &str, flags_of: Option<&str>) -> Result<Decoded, ExplainError> {
    let text = input.trim();
    if let Some(negated) = text.strip_prefix('-') {
        return decode_negative(input, negated);
    }
    let mut readings = Vec::new();
    let value = match parse_number(text) {
        Some(v) => v,
        // Symbols joined by `|`, to be named back as the call's kernel reads them.
        None if flags_of.is_some() && !text.is_empty() => {
            let v = symbolic(input, text)?;
            readings.push(("a number".to_string(), format!("{v:#x}")));
            v
        }
        None => {
            return Err(ExplainError::BadNumber(format!(
                "`{input}` is not a number (decimal, 0x hex, or negative: -22)"
            )))
        }
    };
    if let Some(which) = flags_of {
        let families = family_of(which).ok_or_else(|| {
            let known: Vec<&str> = SYSCALLS.iter().map(|(n, _, _)| *n).collect();
            let near = names::nearest(which, known.iter().copied().chain(["prot", "seals"]));
            ExplainError::BadNumber(format!(
                "`--flags {which}`: expected a call ({}) or `prot`/`seals`{}",
                known.join(", "),
                near.first()
                    .map(|n| format!("; did you mean `{n}`?"))
                    .unwrap_or_default()
            ))
        })?;
        for f in families {
            readings.push((f.describe().to_string(), names::describe_value(f, value)));
        }
    } else if text.starts_with("0x") || text.starts_with("0X") {
        readings.push((
            Family::Map.describe().into(),
            names::describe_value(Family::Map, value),
        ));
        if value < 0x10 {
            readings.push((
                Family::Prot.describe().into(),
                names::describe_value(Family::Prot, value),
            ));
        }
    } else {
        let errno = errno_reading(value);
        readings.push(("errno".into(), errno));
        if (1..32).contains(&value) {
            readings.push(("signal".into(), names::signal_name(value as i32)));
            let codes: Vec<String> = ["SIGSEGV", "SIGBUS"]
                .iter()
                .map(|s| {
                    let signo = names::signal_value(s).unwrap_or(0);
                    format!("{} with {s}", names::si_code_name(signo, value as i32))
                })
                .filter(|c| !c.starts_with("si_code"))
                .collect();
            if !codes.is_empty() {
                readings.push(("si_code".into(), codes.join(", ")));
            }
        }
    }
    Ok(Decoded {
        input: input.to_string(),
        readings,
    })
}

/// An errno's name, or plainly why there is none.
fn errno_reading(value: u64) -> String {
    let (last, name) = names::last_errno();
    if names::errno_known(value as i32) {
        names::errno_name(value as i32)
    } else if value == 0 || value > last as u64 {
        format!("no errno has the number {value} (Linux's run from 1 to {last}, {name})")
    } else {
        format!("errno {value}, which no call of the mmap family returns (errno(3) names them all)")
    }
}

fn parse_number(text: &str) -> Option<u64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse::<u64>().ok(),
    }
}

/// `MAP_SHARED|MAP_FIXED`: the value of the names, each of which must be known.
fn symbolic(input: &str, text: &str) -> Result<u64, ExplainError> {
    let mut value = 0;
    for part in text.split('|').map(str::trim) {
        if let Some(v) = parse_number(part) {
            value |= v;
            continue;
        }
        match names::constant(part) {
            Some(k) => value |= k.value,
            None => {
                let near = names::nearest(part, names::CONSTANTS.iter().map(|k| k.name));
                return Err(ExplainError::BadNumber(format!(
                    "`{input}`: `{part}` is neither a number nor a known flag{}",
                    near.first()
                        .map(|n| format!("; did you mean `{n}`?"))
                        .unwrap_or_default()
                )));
            }
        }
    }
    Ok(value)
}

/// `-22`, as a raw system call returns an error; `-1`, as libc's wrappers do.
fn decode_negative(input: &str, negated: &str) -> Result<Decoded, ExplainError> {
    let n = parse_number(negated).filter(|n| *n > 0).ok_or_else(|| {
        ExplainError::BadNumber(format!(
            "`{input}` is not a number (decimal, 0x hex, or negative: -22)"
        ))
    })?;
    let mut readings = Vec::new();
    if n == 1 {
        readings.push((
            "a return value".to_string(),
            "-1: the libc wrapper failed and errno says why (mmap's MAP_FAILED is (void *) -1)"
                .to_string(),
        ));
    }
    let errno = match errno_reading(n) {
        name if names::errno_known(n as i32) => format!("-{name}"),
        other => other,
    };
    readings.push((
        "a raw system call's return (minus the errno)".to_string(),
        errno,
    ));
    Ok(Decoded {
        input: input.to_string(),
        readings,
    })
}

fn family_of(which: &str) -> Option<Vec<Family>> {
    match which {
        "prot" | "PROT" => Some(vec![Family::Prot]),
        "seals" | "seal" | "fcntl" => Some(vec![Family::Seal]),
        "mmap" => Some(vec![Family::Map]),
        _ => SYSCALLS
            .iter()
            .find(|(n, _, f)| *n == which && !f.is_empty())
            .map(|(_, _, f)| f.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_decode() {
        let d = decode("0x100022", Some("mmap")).unwrap();
        assert_eq!(
            d.readings[0].1,
            "MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE"
        );
        let d = decode("0x22", None).unwrap();
        assert_eq!(d.readings[0].1, "MAP_PRIVATE|MAP_ANONYMOUS");
        let d = decode("22", None).unwrap();
        assert_eq!(d.readings[0], ("errno".to_string(), "EINVAL".to_string()));
        let d = decode("11", None).unwrap();
        assert_eq!(d.readings[1].1, "SIGSEGV");
        let d = decode("2", None).unwrap();
        assert_eq!(
            d.readings[2].1,
            "SEGV_ACCERR with SIGSEGV, BUS_ADRERR with SIGBUS"
        );
        let d = decode("0x80000002", Some("mmap")).unwrap();
        assert_eq!(d.readings[0].1, "MAP_PRIVATE|0x80000000");
        let d = decode("3", Some("mprotect")).unwrap();
        assert_eq!(d.readings[0].1, "PROT_READ|PROT_WRITE");
        assert!(decode("zz", None).is_err());
        let d = decode("MAP_SHARED|MAP_FIXED", Some("mmap")).unwrap();
        assert_eq!(d.readings[0].1, "0x11");
        assert_eq!(d.readings[1].1, "MAP_SHARED|MAP_FIXED");
        assert!(decode("MAP_SHARD", Some("mmap"))
            .unwrap_err()
            .to_string()
            .contains("did you mean `MAP_SHARED`?"));
        let d = decode("-22", None).unwrap();
        assert_eq!(d.readings[0].1, "-EINVAL");
        let d = decode("-1", None).unwrap();
        assert!(d.readings[0].1.contains("MAP_FAILED"), "{:?}", d.readings);
        assert_eq!(d.readings[1].1, "-EPERM");
        let d = decode("999", None).unwrap();
        assert!(d.readings[0].1.starts_with("no errno has the number 999"));
        let d = decode("0x3", Some("memfd_create")).unwrap();
        assert_eq!(
            d.readings,
            [(
                "memfd_create flag (MFD_*)".to_string(),
                "MFD_CLOEXEC|MFD_ALLOW_SEALING".to_string()
            )]
        );
        assert!(decode("1", Some("mmapp"))
            .unwrap_err()
            .to_string()
            .contains("did you mean `mmap`?"));
    }

    #[test]
    fn unknown_symbols_suggest() {
        let e = explain("MAP_FIXD", &Evidence::default()).unwrap_err();
        assert!(e.to_string().contains("`MAP_FIXED`"), "{e}");
        let e = explain("map_fixed", &Evidence::default()).unwrap();
        assert_eq!(e.symbol, "MAP_FIXED");
    }
}
