//! The evidence behind explain's claims: the cases that name a symbol, and what each environment
//! with committed results (`snapshots/<env>/results.json`) observed in them.
//!
//! Loading all of it is most of what `mmcheck explain SYMBOL` would cost (every case compiled,
//! 4 MB of JSON parsed into values), so [`Evidence::for_symbol`] loads only what one explanation
//! reads: it compiles only the case files whose text may name the symbol and the cases the
//! knowledge base cites for it, and reads each `results.json` straight into small
//! [`CaseResult`]s, keeping those of these cases. The files are shared out among threads.

use crate::case::load;
use crate::case::plan::Case;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::HashSet;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// One environment's results, in the order of its `results.json`.
pub struct EnvResults {
    pub key: String,
    pub cases: Vec<CaseResult>,
}

/// One entry of a `results.json`, reduced to what explain shows of it. Its fields read as
/// `serde_json::Value` indexing would read them: a field that is missing or of another type is
/// `"?"` for the status and empty for the rest, and an entry whose `id` is not text is left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    /// `mmap/hole-read@ext4`: the case id, with the filesystem of a variant.
    pub id: String,
    /// `pass`, `fail`, `skip`, `broken`.
    pub status: String,
    /// For what did not pass: the skip reason, or the decisive observation as
    /// [`crate::snapshot::decisive`] words it. `None` when it passed.
    pub detail: Option<String>,
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

/// The part of the evidence explain reads for one symbol.
struct Wanted<'a> {
    /// The case files that name this symbol in their `symbols`...
    symbol: &'a str,
    /// ...and these cases, by file id.
    ids: HashSet<&'a str>,
}

impl Evidence {
    /// Loads every case and every environment's results under `repo` (the directory holding
    /// `cases/` and `snapshots/`). Environments are ordered newest Linux first, gVisor last.
    pub fn load(repo: Option<&Path>) -> Evidence {
        let Some(repo) = with_cases(repo) else {
            return Evidence::missing();
        };
        Evidence::new(load::load_dir(&repo.join("cases")).0, envs(repo))
    }

    /// Loads what [`super::explain`] reads to explain `symbol`, and nothing more: the cases that
    /// name it, the cases its documented causes cite, and their results. Explaining `symbol`
    /// with it gives what explaining it with [`Evidence::load`]'s gives. Loads nothing for a
    /// symbol explain does not know (it answers that with suggestions, not evidence).
    pub fn for_symbol(repo: Option<&Path>, symbol: &str) -> Evidence {
        Evidence::for_symbol_while(repo, symbol, || ()).0
    }

    /// [`Evidence::for_symbol`], running `meanwhile` on this thread while the evidence loads on
    /// others (one per CPU, up to four); this one helps once `meanwhile` is done.
    pub fn for_symbol_while<T>(
        repo: Option<&Path>,
        symbol: &str,
        meanwhile: impl FnOnce() -> T,
    ) -> (Evidence, T) {
        let Some(sym) = super::resolve(symbol) else {
            return (Evidence::default(), meanwhile());
        };
        let Some(repo) = with_cases(repo) else {
            return (Evidence::missing(), meanwhile());
        };
        let wanted = Wanted {
            symbol: &sym.name,
            ids: super::causes(sym)
                .into_iter()
                .flat_map(|c| c.cases.iter().map(String::as_str))
                .collect(),
        };
        let root = repo.join("cases");
        let work = Work::new(repo, &root, &wanted);
        let helpers = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        let (loaded, t) = std::thread::scope(|s| {
            // Fewer helpers, or none, if threads cannot be had: the work gets done all the same.
            let helpers: Vec<_> = (0..helpers)
                .map_while(|_| {
                    let helper = std::thread::Builder::new();
                    helper.spawn_scoped(s, || work.take()).ok()
                })
                .collect();
            let t = meanwhile();
            let mut loaded = work.take();
            for h in helpers {
                let theirs = join(h);
                loaded.cases.extend(theirs.cases);
                loaded.envs.extend(theirs.envs);
            }
            (loaded, t)
        });
        let Loaded {
            mut cases,
            mut envs,
        } = loaded;
        // In load_dir's order, and envs's.
        cases.sort_by(|a, b| a.id.cmp(&b.id));
        sort_envs(&mut envs);
        // The results of the wanted cases, the cited ones with a case file or without.
        let ids: HashSet<&str> = wanted
            .ids
            .iter()
            .copied()
            .chain(cases.iter().map(|c| c.file_id.as_str()))
            .collect();
        for e in &mut envs {
            e.cases.retain(|c| {
                ids.contains(c.id.as_str())
                    || c.id.split_once('@').is_some_and(|(f, _)| ids.contains(f))
            });
        }
        (Evidence::new(cases, envs), t)
    }

    /// From cases sorted by id: the first of each file id.
    fn new(cases: Vec<Case>, envs: Vec<EnvResults>) -> Evidence {
        let mut seen = HashSet::new();
        let cases: Vec<Case> = cases
            .into_iter()
            .filter(|c| seen.insert(c.file_id.clone()))
            .collect();
        Evidence {
            cases,
            envs,
            missing: None,
        }
    }

    fn missing() -> Evidence {
        Evidence {
            missing: Some(
                "no cases directory found: run from the mmcheck repository, or pass --cases DIR"
                    .into(),
            ),
            ..Default::default()
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
    let variants: Vec<&CaseResult> = env
        .cases
        .iter()
        .filter(|c| c.id == file_id || c.id.split('@').next() == Some(file_id))
        .collect();
    let first = variants.first()?;
    let all_same = variants.iter().all(|c| c.status == first.status);
    let status = if all_same {
        first.status.clone()
    } else {
        variants
            .iter()
            .map(|c| {
                let fs = c.id.split('@').nth(1).unwrap_or("");
                format!("{} on {fs}", c.status)
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let detail = variants
        .iter()
        .find(|c| c.status != "pass")
        .map(|c| c.detail.clone().unwrap_or_default());
    Some(Outcome {
        env: env.key.clone(),
        status,
        detail,
    })
}

/// A thread's result, or its panic.
fn join<T>(h: std::thread::ScopedJoinHandle<'_, T>) -> T {
    h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
}

/// `repo`, when it has a `cases` directory.
fn with_cases(repo: Option<&Path>) -> Option<&Path> {
    repo.filter(|r| r.join("cases").is_dir())
}

/// Every environment's results under `repo`: newest Linux first, gVisor last.
fn envs(repo: &Path) -> Vec<EnvResults> {
    // One buffer for every file: they are read one after the other.
    let mut text = String::new();
    let mut envs: Vec<EnvResults> = snapshots(repo)
        .into_iter()
        .filter_map(|(key, path)| read_env(key, &path, &mut text))
        .collect();
    sort_envs(&mut envs);
    envs
}

fn sort_envs(envs: &mut [EnvResults]) {
    envs.sort_by_key(|e| crate::snapshot::env_order(&e.key));
}

/// Each environment's key and its results.json (which may not be there).
fn snapshots(repo: &Path) -> Vec<(String, PathBuf)> {
    let Ok(dirs) = std::fs::read_dir(repo.join("snapshots")) else {
        return Vec::new();
    };
    dirs.flatten()
        .map(|d| {
            let key = d.file_name().to_string_lossy().into_owned();
            (key, d.path().join("results.json"))
        })
        .collect()
}

/// An environment's results, read through `text`; none when its results.json cannot be read
/// or parsed.
fn read_env(key: String, path: &Path, text: &mut String) -> Option<EnvResults> {
    text.clear();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_string(text))
        .ok()?;
    let cases = results(text).ok()?;
    Some(EnvResults { key, cases })
}

/// Loading the evidence for one symbol, shared by the threads that do it: each results.json and
/// each case file is read by whichever thread takes it first, the results first (the largest).
struct Work<'a> {
    snapshots: Vec<(String, PathBuf)>,
    root: &'a Path,
    /// Sorted, as load_dir sorts them.
    files: Vec<PathBuf>,
    wanted: &'a Wanted<'a>,
    /// The first piece of work no thread has taken: a snapshot's, then a case file's.
    next: AtomicUsize,
}

/// What one thread loaded.
#[derive(Default)]
struct Loaded {
    cases: Vec<Case>,
    envs: Vec<EnvResults>,
}

impl<'a> Work<'a> {
    fn new(repo: &Path, root: &'a Path, wanted: &'a Wanted<'a>) -> Work<'a> {
        let mut files = Vec::new();
        // As load_dir does: a directory that cannot be read ends the search, and what it found
        // until then is loaded.
        let _ = collect(root, &mut files);
        files.sort();
        Work {
            snapshots: snapshots(repo),
            root,
            files,
            wanted,
            next: AtomicUsize::new(0),
        }
    }

    /// Takes the pieces of work no thread has taken, one at a time, until there are none. Gives
    /// every entry of the results it read (which are wanted is known only when every case file
    /// is compiled), and the wanted cases among the files: those naming the symbol, and the
    /// cited ones. Only the cited files and those whose text may name the symbol are compiled.
    fn take(&self) -> Loaded {
        let mut loaded = Loaded::default();
        let mut text = String::new();
        loop {
            let next = self.next.fetch_add(1, Ordering::Relaxed);
            if let Some((key, path)) = self.snapshots.get(next) {
                loaded.envs.extend(read_env(key.clone(), path, &mut text));
                continue;
            }
            let Some(file) = self.files.get(next - self.snapshots.len()) else {
                return loaded;
            };
            let id = load::case_id(self.root, file);
            let cited = self.wanted.ids.contains(id.as_str());
            // A file that is not UTF-8 text does not compile either.
            let symbol = self.wanted.symbol;
            if !cited && !std::fs::read_to_string(file).is_ok_and(|t| may_name(&t, symbol)) {
                continue;
            }
            if let Ok(compiled) = load::load_one(file, &id) {
                let wanted = |c: &Case| cited || c.symbols.iter().any(|s| s == symbol);
                loaded.cases.extend(compiled.into_iter().filter(wanted));
            }
        }
    }
}

/// Every `*.toml` under `dir`, as `load::load_dir` finds them (without a `stat` of each file:
/// the directory says which entries are directories, but for symbolic links).
fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let is_dir = match entry.file_type() {
            Ok(t) if !t.is_symlink() => t.is_dir(),
            _ => path.is_dir(),
        };
        if is_dir {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    Ok(())
}

/// Whether a case file may have `symbol` (letters, digits and `_`) in its `symbols`, from its
/// text: errs only towards yes. Each of `symbols` is a whole TOML string, so the symbol must be
/// written between quotes, or after the line break that opens a multi-line string. A string
/// holds its text as written but for escapes and line continuations: an escape gives a letter,
/// digit or `_` only as `\u`, `\U` or `\x`, and a line-ending backslash in a multi-line string
/// joins the lines, dropping the backslash and the blank space after it, so the text is also
/// searched with every such join made.
fn may_name(text: &str, symbol: &str) -> bool {
    if quoted(text, symbol) {
        return true;
    }
    if !text.contains('\\') {
        return false;
    }
    if ["\\u", "\\U", "\\x"].iter().any(|e| text.contains(e)) {
        return true;
    }
    let blank = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n');
    let mut joined = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\\') {
        joined.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let gap = &after[..after.len() - after.trim_start_matches(blank).len()];
        if gap.contains('\n') {
            rest = &after[gap.len()..];
        } else {
            joined.push('\\');
            rest = after;
        }
    }
    joined.push_str(rest);
    quoted(&joined, symbol)
}

/// Whether `text` has `symbol` as the whole of a string: after a quote or a line break, before
/// a quote.
fn quoted(text: &str, symbol: &str) -> bool {
    let bytes = text.as_bytes();
    text.match_indices(symbol).any(|(at, _)| {
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(at + symbol.len());
        matches!(before, Some(b'"' | b'\'' | b'\n')) && matches!(after, Some(b'"' | b'\''))
    })
}

/// The entries of a `results.json`, in their order. Fails where parsing the text as a
/// `serde_json::Value` fails (but for nesting deeper than its limit, 128, in the parts it skips);
/// reads a document that is not an object, or whose `cases` is not an array, as having none.
pub fn results(text: &str) -> serde_json::Result<Vec<CaseResult>> {
    fn read<const LAZY: bool>(text: &str) -> serde_json::Result<Cases<LAZY>> {
        let mut de = serde_json::Deserializer::from_str(text);
        let Doc(cases) = Doc::deserialize(&mut de)?;
        de.end()?;
        Ok(cases)
    }
    // Nearly every entry passed, and says so before its steps: those are skipped. Read again
    // with every step if an entry said so only after them.
    let lazy = read::<true>(text)?;
    if !lazy.missed {
        return Ok(lazy.entries);
    }
    Ok(read::<false>(text)?.entries)
}

// What follows reads results.json as `Value` indexing does (`doc["cases"]`, `c["status"]
// .as_str()`, `s["mismatch"].is_null()`, the last of two equal keys winning), without building
// the `Value`: strings are borrowed from the text while it is parsed, each entry's steps are
// reduced to the decisive one as they are read, and only the kept entries are copied out.

/// A visitor's answer to any JSON value it does not look into: the default, as `Value`
/// indexing gives `Null` for it. Arrays and objects are read through and dropped.
macro_rules! anything_else_is_default {
    ($($kind:ident)*) => { $(anything_else_is_default!(@ $kind);)* };
    (@ scalars) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
    };
    (@ str) => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
    };
    (@ seq) => {
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Default::default())
        }
    };
    (@ map) => {
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Default::default())
        }
    };
}

/// `v.as_str()`: text, borrowed from the document unless it has escapes.
#[derive(Default)]
struct Text<'de>(Option<Cow<'de, str>>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Some(Cow::Borrowed(s))))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Text<'de>, E> {
                Ok(Text(Some(Cow::Owned(s.to_string()))))
            }
            anything_else_is_default!(scalars seq map);
        }
        d.deserialize_any(V)
    }
}

impl Text<'_> {
    fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

/// `!v.is_null()`.
#[derive(Default)]
struct NotNull(bool);

impl<'de> Deserialize<'de> for NotNull {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = NotNull;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<NotNull, E> {
                Ok(NotNull(false))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<NotNull, E> {
                Ok(NotNull(true))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<NotNull, E> {
                Ok(NotNull(true))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<NotNull, E> {
                Ok(NotNull(true))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<NotNull, E> {
                Ok(NotNull(true))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<NotNull, E> {
                Ok(NotNull(true))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NotNull, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(NotNull(true))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NotNull, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(NotNull(true))
            }
        }
        d.deserialize_any(V)
    }
}

/// An object's key, borrowed unless it has escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

/// One of an entry's `steps`, the fields `snapshot::decisive` reads.
#[derive(Default)]
struct Step<'de> {
    label: Text<'de>,
    call: Text<'de>,
    expected: ExpectsFailure,
    observed: Text<'de>,
    mismatch: NotNull,
}

/// Whether a step's `expected` is text starting with `errno` or `signal` (decided as it is read:
/// it is often escaped, and there is one per step).
#[derive(Default)]
struct ExpectsFailure(bool);

impl<'de> Deserialize<'de> for ExpectsFailure {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ExpectsFailure;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ExpectsFailure, E> {
                Ok(ExpectsFailure(
                    s.starts_with("errno") || s.starts_with("signal"),
                ))
            }
            anything_else_is_default!(scalars seq map);
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Step<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Step<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Step<'de>, A::Error> {
                let mut s = Step::default();
                while let Some(Key(k)) = map.next_key()? {
                    match &*k {
                        "label" => s.label = map.next_value()?,
                        "call" => s.call = map.next_value()?,
                        "expected" => s.expected = map.next_value()?,
                        "observed" => s.observed = map.next_value()?,
                        "mismatch" => s.mismatch = map.next_value()?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(s)
            }
            anything_else_is_default!(scalars str seq);
        }
        d.deserialize_any(V)
    }
}

/// An entry's `steps`, reduced to the one `snapshot::decisive` picks: the first with a
/// mismatch, else the first expecting an errno or a signal.
#[derive(Default)]
struct Decisive<'de>(Option<Step<'de>>);

impl<'de> Deserialize<'de> for Decisive<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Decisive<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Decisive<'de>, A::Error> {
                let (mut mismatch, mut failing) = (None, None);
                while let Some(s) = seq.next_element::<Step>()? {
                    if mismatch.is_none() && s.mismatch.0 {
                        mismatch = Some(s);
                    } else if failing.is_none() && s.expected.0 {
                        failing = Some(s);
                    }
                }
                Ok(Decisive(mismatch.or(failing)))
            }
            anything_else_is_default!(scalars str map);
        }
        d.deserialize_any(V)
    }
}

/// One entry of `cases` (all empty when it is not an object). `LAZY`: its steps are skipped
/// when it has already said that it passed.
#[derive(Default)]
struct Entry<'de, const LAZY: bool> {
    id: Text<'de>,
    status: Text<'de>,
    reason: Text<'de>,
    decisive: Decisive<'de>,
    /// Its steps were skipped.
    skipped: bool,
}

impl<'de, const LAZY: bool> Deserialize<'de> for Entry<'de, LAZY> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<const LAZY: bool>;
        impl<'de, const LAZY: bool> Visitor<'de> for V<LAZY> {
            type Value = Entry<'de, LAZY>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut e = Entry::default();
                while let Some(Key(k)) = map.next_key()? {
                    match &*k {
                        "id" => e.id = map.next_value()?,
                        "status" => e.status = map.next_value()?,
                        "reason" => e.reason = map.next_value()?,
                        "steps" if LAZY && e.status.get() == Some("pass") => {
                            map.next_value::<IgnoredAny>()?;
                            e.skipped = true;
                        }
                        "steps" => {
                            e.decisive = map.next_value()?;
                            e.skipped = false;
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(e)
            }
            anything_else_is_default!(scalars str seq);
        }
        d.deserialize_any(V::<LAZY>)
    }
}

impl<const LAZY: bool> Entry<'_, LAZY> {
    /// Its steps were skipped, and it did not pass after all: they were needed.
    fn missed(&self) -> bool {
        self.skipped && self.status.get() != Some("pass")
    }

    /// What explain keeps of it, the detail worded as `snapshot::decisive` words it.
    fn result(self, id: String) -> CaseResult {
        let status = self.status.get().unwrap_or("?");
        let reason = || self.reason.get().unwrap_or("").to_string();
        let detail = match status {
            "pass" => None,
            "skip" => Some(reason()),
            _ => Some(match &self.decisive.0 {
                Some(s) => format!(
                    "{} {}: {}",
                    s.label.get().unwrap_or(""),
                    s.call.get().unwrap_or(""),
                    s.observed.get().unwrap_or("")
                ),
                None => reason(),
            }),
        };
        CaseResult {
            id,
            status: status.to_string(),
            detail,
        }
    }
}

/// The document: its `cases`.
#[derive(Default)]
struct Doc<const LAZY: bool>(Cases<LAZY>);

impl<'de, const LAZY: bool> Deserialize<'de> for Doc<LAZY> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<const LAZY: bool>;
        impl<'de, const LAZY: bool> Visitor<'de> for V<LAZY> {
            type Value = Doc<LAZY>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut doc = Doc::default();
                while let Some(Key(k)) = map.next_key()? {
                    if k == "cases" {
                        doc.0 = map.next_value()?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(doc)
            }
            anything_else_is_default!(scalars str seq);
        }
        d.deserialize_any(V::<LAZY>)
    }
}

/// The `cases` array, but for the entries without an id.
#[derive(Default)]
struct Cases<const LAZY: bool> {
    entries: Vec<CaseResult>,
    /// An entry's skipped steps were needed.
    missed: bool,
}

impl<'de, const LAZY: bool> Deserialize<'de> for Cases<LAZY> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<const LAZY: bool>;
        impl<'de, const LAZY: bool> Visitor<'de> for V<LAZY> {
            type Value = Cases<LAZY>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut cases = Cases::default();
                while let Some(mut e) = seq.next_element::<Entry<LAZY>>()? {
                    cases.missed |= e.missed();
                    if let Some(id) = e.id.0.take() {
                        cases.entries.push(e.result(id.into_owned()));
                    }
                }
                Ok(cases)
            }
            anything_else_is_default!(scalars str map);
        }
        d.deserialize_any(V::<LAZY>)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// What the entries of a document were before they were read this way: `Value` indexing
    /// and `snapshot::decisive`.
    fn by_value(text: &str) -> Option<Vec<CaseResult>> {
        let doc: Value = serde_json::from_str(text).ok()?;
        let cases = doc["cases"].as_array().cloned().unwrap_or_default();
        Some(
            cases
                .iter()
                .filter_map(|c| {
                    let id = c["id"].as_str()?.to_string();
                    let status = c["status"].as_str().unwrap_or("?").to_string();
                    let detail = (status != "pass").then(|| match c["status"].as_str() {
                        Some("skip") => c["reason"].as_str().unwrap_or("").to_string(),
                        _ => crate::snapshot::decisive(c),
                    });
                    Some(CaseResult { id, status, detail })
                })
                .collect(),
        )
    }

    fn typed(text: &str) -> Option<Vec<CaseResult>> {
        results(text).ok()
    }

    #[test]
    fn results_read_as_value_indexing_reads_them() {
        let step = |m: &str, e: &str| {
            format!(
                r#"{{"label":"step 1","call":"mmap","expected":{e},"observed":"= 0","mismatch":{m}}}"#
            )
        };
        let docs = [
            r#"{"cases":[{"id":"a/b","status":"pass","reason":"","steps":[]}]}"#.to_string(),
            format!(
                r#"{{"env":{{"key":"x"}},"cases":[{{"id":"a/b@ext4","status":"fail","reason":"r","steps":[{},{},{}]}}]}}"#,
                step("null", r#""ok""#),
                step("null", r#""errno = \"EINVAL\"""#),
                step(r#""wrong""#, r#""ok""#)
            ),
            format!(
                r#"{{"cases":[{{"id":"a/b","status":"fail","steps":[{},{}]}}]}}"#,
                step("null", r#""signal = \"SIGBUS\"""#),
                step("0", "null")
            ),
            // Not quite the schema: wrong types, missing fields, keys twice, escapes.
            r#"{"cases":[{"id":"a/b","status":3,"reason":"r","steps":{"x":1}}, 7, "s",
                {"id":5,"status":"fail"}, {"status":"fail"},
                {"id":"a/c","status":"skip","reason":["no"]},
                {"id":"a\/d\u0040tmpfs","st\u0061tus":"fail","reason":"why \"not\"","steps":[1,null,[],{"mismatch":false,"label":7,"call":"c","observed":"o\nk"}]},
                {"id":"a/e","status":"pass","status":"broken","reason":"first","reason":"second"},
                {"id":"a/f","status":"broken","steps":[{"mismatch":null}, {"expected":"errno","expected":"ok"}], "steps":"none"}],
              "cases2":[]}"#.to_string(),
            r#"{"cases":[{"id":"a/b","status":"fail"}],"cases":[{"id":"a/c","status":"skip"}]}"#
                .to_string(),
            // The status after the steps, or said twice: the steps are read again.
            format!(
                r#"{{"cases":[{{"id":"a/b","status":"pass","steps":[{}]}},{{"id":"a/c","steps":[{}],"status":"fail"}}]}}"#,
                step(r#""x""#, "null"),
                step(r#""y""#, "null")
            ),
            format!(
                r#"{{"cases":[{{"id":"a/b","status":"pass","steps":[{}],"status":"broken"}}]}}"#,
                step(r#""x""#, "null")
            ),
            format!(
                r#"{{"cases":[{{"id":"a/b","status":"fail","steps":[{}],"status":"pass","steps":[]}}]}}"#,
                step(r#""x""#, "null")
            ),
            r#"{"cases":{"id":"a/b"}}"#.to_string(),
            r#"[{"cases":[{"id":"a/b","status":"pass"}]}]"#.to_string(),
            r#""cases""#.to_string(),
            "null".to_string(),
            r#"{"cases":[]} x"#.to_string(),
            r#"{"cases":[{"id":"a/b",}]}"#.to_string(),
            r#"{"cases":[{"id":"a/b","reason":"\ud800"}]}"#.to_string(),
            String::new(),
        ];
        for doc in &docs {
            assert_eq!(typed(doc), by_value(doc), "{doc}");
        }
        assert_eq!(
            typed(&docs[1]).unwrap()[0].detail.as_deref(),
            Some("step 1 mmap: = 0")
        );
        assert_eq!(
            typed(&docs[2]).unwrap()[0].detail.as_deref(),
            Some("step 1 mmap: = 0")
        );
    }

    #[test]
    fn the_committed_results_read_as_value_indexing_reads_them() {
        let snapshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../snapshots");
        let Ok(dirs) = std::fs::read_dir(snapshots) else {
            return;
        };
        for d in dirs.flatten() {
            let Ok(text) = std::fs::read_to_string(d.path().join("results.json")) else {
                continue;
            };
            let typed = typed(&text).expect("parses");
            assert!(!typed.is_empty());
            assert_eq!(Some(typed), by_value(&text), "{}", d.path().display());
        }
    }

    /// For every symbol explain knows, the cases loaded are those of all the cases that name it
    /// or that its causes cite.
    #[test]
    fn every_symbol_gets_every_case_it_needs() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let root = repo.join("cases");
        let (all, _) = load::load_dir(&root);
        for sym in &crate::explain::kb::get().symbols {
            let wanted = Wanted {
                symbol: &sym.name,
                ids: crate::explain::causes(sym)
                    .into_iter()
                    .flat_map(|c| c.cases.iter().map(String::as_str))
                    .collect(),
            };
            let work = Work {
                snapshots: Vec::new(),
                ..Work::new(&repo, &root, &wanted)
            };
            let mut loaded: Vec<String> = work.take().cases.into_iter().map(|c| c.id).collect();
            loaded.sort();
            let needed: Vec<&str> = all
                .iter()
                .filter(|c| c.symbols.contains(&sym.name) || wanted.ids.contains(&*c.file_id))
                .map(|c| c.id.as_str())
                .collect();
            assert_eq!(loaded, needed, "{}", sym.name);
        }
    }

    #[test]
    fn the_text_test_never_misses_a_symbol() {
        let symbols = r#"symbols = ["mmap", 'MAP_FIXED']"#;
        assert!(may_name(symbols, "MAP_FIXED"));
        assert!(may_name(symbols, "mmap"));
        assert!(!may_name(symbols, "MAP_SHARED"));
        // Named in arguments, in prose, or as part of a longer name: not one of `symbols`.
        for text in [
            r#"symbols = ["MAP_FIXED_NOREPLACE"]"#,
            r#"symbols = ["XMAP_FIXED"]"#,
            r#"args = { flags = "MAP_PRIVATE|MAP_FIXED" }"#,
            r#"note = "MAP_FIXED replaces""#,
            "note = \"\"\"\nMAP_FIXED\nreplaces\"\"\"",
        ] {
            assert!(!may_name(text, "MAP_FIXED"), "{text}");
        }
        // Spelled with escapes, split by line continuations (with CRLF and blank lines, before,
        // inside and after the symbol), or after the line break that opens a multi-line string.
        for text in [
            r#"symbols = ["MAP_\u0046IXED"]"#,
            r#"symbols = ["MAP_\U00000046IXED"]"#,
            "symbols = [\"\"\"\nMAP_FIXED\"\"\"]",
            "symbols = ['''\r\nMAP_FIXED''']",
            "symbols = [\"\"\"MAP_\\\n   FIXED\"\"\"]",
            "symbols = [\"\"\"MAP_\\  \r\n\r\n\tFIXED\"\"\"]",
            "symbols = [\"\"\"\\\n  MAP_FIXED\\\n  \"\"\"]",
            "note = \"\"\"a \\\\ b\"\"\"\nsymbols = [\"\"\"\nMAP_\\\n\n  FIX\\\n  ED\"\"\"]",
        ] {
            assert!(may_name(text, "MAP_FIXED"), "{text}");
            let parsed: toml::Table = toml::from_str(text).unwrap();
            assert_eq!(parsed["symbols"][0].as_str(), Some("MAP_FIXED"), "{text}");
        }
        // TOML 1.1's \x, which this toml may not read.
        assert!(may_name(r#"symbols = ["MAP_\x46IXED"]"#, "MAP_FIXED"));
        // Other escapes and backslashes give no letter.
        for text in [
            "note = \"a \\\"quote\\\" \\\\ and\\t\"\nsymbols = [\"MAP_\\\\FIXED\"]",
            "note = \"\"\"MAP_\\ FIXED\"\"\"",
        ] {
            assert!(!may_name(text, "MAP_FIXED"), "{text}");
        }
    }
}
