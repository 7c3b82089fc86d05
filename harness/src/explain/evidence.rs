//! The evidence behind explain's claims: the cases that name a symbol, and what each environment
//! with committed results (`snapshots/<env>/results.json`) observed in them.
//!
//! Loading all of it is most of what `mmcheck explain SYMBOL` would cost (every case compiled,
//! 4 MB of JSON parsed into values), so [`Evidence::for_symbol`] loads only what one explanation
//! reads: it compiles only the case files whose text may name the symbol and the cases the
//! knowledge base cites for it, and reads each `results.json` straight into small
//! [`Verdict`]s, keeping those of these cases. The files are shared out among threads.

use super::scan::may_name;
use crate::case::load;
use crate::case::plan::Case;
use crate::outcome::Status;
use crate::version::{Range, Version};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::HashSet;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// One environment's results, in the order of its `results.json`.
pub struct EnvResults {
    pub key: String,
    /// The Linux version its kernel ranges were compared with ([`crate::env::linux_version`]):
    /// none under gVisor and qemu-user, where every case ran its default contracts.
    pub linux: Option<Version>,
    /// `linux`, `uml`, `gvisor`, `qemu-user`.
    pub platform: String,
    pub cases: Vec<Verdict>,
}

/// One entry of a `results.json`, reduced to what explain shows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// `mmap/hole-read@ext4`: the case id, with the filesystem of a variant.
    pub id: String,
    pub status: Status,
    /// For what did not pass: the skip reason, or the decisive observation as
    /// [`crate::results::CaseResult::decided_by`] words it. `None` when it passed.
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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnvVerdict {
    pub env: String,
    /// `pass`, `fail`, `skip`, `broken`, or `pass on tmpfs, fail on xfs`.
    pub status: String,
    /// For what did not pass: the decisive observation or the skip reason.
    pub detail: Option<String>,
    /// For a case with kernel-dependent contracts (`expect-if`): which contract each such step
    /// had here, and why (`step 4 expected errno = EINVAL: kernel 6.1 is <6.15`).
    pub branch: Option<String>,
}

impl EnvVerdict {
    /// What is said after the verdict, in parentheses: the detail, then the branch.
    pub fn note(&self) -> Option<String> {
        let parts: Vec<&str> = self
            .detail
            .iter()
            .chain(&self.branch)
            .map(String::as_str)
            .collect();
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseView {
    pub id: String,
    pub summary: String,
    pub outcomes: Vec<EnvVerdict>,
    /// Why no environment's outcome is shown, when none is: a cause tied to kernels no
    /// environment of the matrix runs.
    pub unrun: Option<String>,
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
                .filter_map(|e| outcome(e, &case.file_id, Some(case)))
                .collect(),
            unrun: None,
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
                    .filter_map(|e| outcome(e, file_id, None))
                    .collect(),
                unrun: None,
            },
        }
    }

    /// A case a cause cites as evidence: what the environments where the cause holds did in it,
    /// those whose Linux version is in `kernel` (every environment when the cause is not tied to
    /// kernel versions). When no environment of the matrix runs such a kernel, no outcome is
    /// shown and `unrun` says so: what other kernels did is no evidence for the cause.
    pub fn view_for_cause(&self, file_id: &str, kernel: Option<&Range>) -> CaseView {
        let mut view = self.view_id(file_id);
        let Some(range) = kernel else {
            return view;
        };
        let holds: Vec<&str> = self
            .envs
            .iter()
            .filter(|e| e.linux.is_some_and(|v| range.contains(v)))
            .map(|e| e.key.as_str())
            .collect();
        view.outcomes.retain(|o| holds.contains(&o.env.as_str()));
        if holds.is_empty() && !self.envs.is_empty() {
            view.unrun = Some(format!(
                "no environment in this matrix runs Linux {}",
                range.text
            ));
        }
        view
    }
}

/// Which contract the kernel-dependent steps of `case` (those with `expect-if`) had in an
/// environment whose kernel ranges were compared with `linux` (none under gVisor and qemu-user,
/// which run the defaults), and why: `step 2: the expect-if kernel <6.15 contract, as kernel
/// 6.1 is`, `steps 7, 8: the default contract, as kernel 6.18 is not <6.15`. None for a case without `expect-if`.
pub fn branch(case: &Case, linux: Option<Version>, platform: &str) -> Option<String> {
    // (why, step numbers), in the order of the steps.
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for s in case.plan.steps.iter().filter(|s| s.expect.len() > 1) {
        let why = match (&s.contract(linux).kernel, linux) {
            (Some(r), Some(v)) => format!(
                "the expect-if kernel {} contract, as kernel {} is",
                r.text,
                show(v)
            ),
            (_, Some(v)) => {
                let ranges: Vec<&str> = s
                    .expect
                    .iter()
                    .filter_map(|e| e.kernel.as_ref().map(|r| r.text.as_str()))
                    .collect();
                format!(
                    "the default contract, as kernel {} is not {}",
                    show(v),
                    ranges.join(" nor ")
                )
            }
            (_, None) => format!("the default contract, as no kernel range applies on {platform}"),
        };
        let number = s.label.strip_prefix("step ").unwrap_or(&s.label);
        match groups.iter_mut().find(|(w, _)| *w == why) {
            Some((_, steps)) => steps.push(number),
            None => groups.push((why, vec![number])),
        }
    }
    let said: Vec<String> = groups
        .into_iter()
        .map(|(why, steps)| {
            let noun = if steps.len() == 1 { "step" } else { "steps" };
            format!("{noun} {}: {why}", steps.join(", "))
        })
        .collect();
    (!said.is_empty()).then(|| said.join("; "))
}

/// `6.1`, `6.18`: the version kernel ranges are written in.
fn show((major, minor, _): Version) -> String {
    format!("{major}.{minor}")
}

fn outcome(env: &EnvResults, file_id: &str, case: Option<&Case>) -> Option<EnvVerdict> {
    let variants: Vec<&Verdict> = env
        .cases
        .iter()
        .filter(|c| c.id == file_id || c.id.split('@').next() == Some(file_id))
        .collect();
    let first = variants.first()?;
    let all_same = variants.iter().all(|c| c.status == first.status);
    let status = if all_same {
        first.status.as_str().to_string()
    } else {
        variants
            .iter()
            .map(|c| {
                let fs = c.id.split('@').nth(1).unwrap_or("");
                format!("{} on {fs}", c.status.as_str())
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let detail = variants
        .iter()
        .find(|c| c.status != Status::Pass)
        .map(|c| c.detail.clone().unwrap_or_default());
    // What a skipped case would have expected is no evidence of anything.
    let ran = variants.iter().any(|c| c.status != Status::Skip);
    let branch = case
        .filter(|_| ran)
        .and_then(|c| branch(c, env.linux, &env.platform));
    Some(EnvVerdict {
        env: env.key.clone(),
        status,
        detail,
        branch,
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
    let (about, cases) = brief(text).ok()?;
    Some(EnvResults {
        key,
        linux: crate::env::linux_version(&about.platform, &about.release),
        platform: about.platform.into_owned(),
        cases,
    })
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

/// The entries of a `results.json`, in their order, reduced to what explain shows of them.
pub fn results(text: &str) -> serde_json::Result<Vec<Verdict>> {
    Ok(brief(text)?.1)
}

/// The environment a `results.json` describes, and its entries as [`results`] gives them.
fn brief(text: &str) -> serde_json::Result<(BriefEnv<'_>, Vec<Verdict>)> {
    let doc: Brief = serde_json::from_str(text)?;
    let cases = doc.cases.into_iter().map(BriefCase::verdict).collect();
    Ok((doc.env, cases))
}

// A `ResultsDoc` as explain reads it: strings borrowed from the text, every field it does not
// show skipped unread. Its deciding step is the one `decisive` indexes, as in `CaseResult`; the
// steps are kept as raw text and read only for an entry that did not pass (most passed, and
// reading every step of four environments took a third of explain's time).

#[derive(Deserialize)]
struct Brief<'a> {
    #[serde(borrow, default)]
    env: BriefEnv<'a>,
    #[serde(borrow)]
    cases: Vec<BriefCase<'a>>,
}

#[derive(Deserialize, Default)]
struct BriefEnv<'a> {
    #[serde(borrow, default)]
    release: Cow<'a, str>,
    #[serde(borrow, default)]
    platform: Cow<'a, str>,
}

#[derive(Deserialize)]
struct BriefCase<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    status: Status,
    #[serde(borrow, default)]
    reason: Cow<'a, str>,
    #[serde(default)]
    decisive: Option<usize>,
    #[serde(borrow, default)]
    steps: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct BriefStep<'a> {
    #[serde(borrow)]
    label: Cow<'a, str>,
    #[serde(borrow)]
    call: Cow<'a, str>,
    #[serde(borrow)]
    observed: Cow<'a, str>,
}

impl BriefCase<'_> {
    /// What explain keeps of it, the detail worded as `CaseResult::decided_by` words it.
    fn verdict(self) -> Verdict {
        let step = match (self.status, self.decisive, self.steps) {
            (Status::Fail | Status::Broken, Some(i), Some(raw)) => {
                serde_json::from_str::<Vec<BriefStep>>(raw.get())
                    .ok()
                    .and_then(|steps| steps.into_iter().nth(i))
            }
            _ => None,
        };
        let detail = match (self.status, step) {
            (Status::Pass, _) => None,
            (Status::Skip, _) | (_, None) => Some(self.reason.into_owned()),
            (_, Some(s)) => Some(format!("{} {}: {}", s.label, s.call, s.observed)),
        };
        Verdict {
            id: self.id.into_owned(),
            status: self.status,
            detail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the full document says of each entry.
    fn by_doc(text: &str) -> Vec<Verdict> {
        let doc = crate::results::ResultsDoc::parse(text).expect("parses");
        doc.cases
            .iter()
            .map(|c| Verdict {
                id: c.id().to_string(),
                status: c.status(),
                detail: match c.status() {
                    Status::Pass => None,
                    Status::Skip => Some(c.run.reason.clone()),
                    _ => Some(c.decided_by().unwrap_or_else(|| c.run.reason.clone())),
                },
            })
            .collect()
    }

    #[test]
    fn the_brief_reading_agrees_with_the_document() {
        let doc = r#"{"env":{"key":"x","release":"6.1","machine":"x86_64","platform":"linux","page_size":4096},
            "totals":{"passed":1,"failed":2,"broken":0,"skipped":1},
            "cases":[
              {"id":"a/b","status":"pass","reason":"","steps":[],"summary":"s","symbols":[]},
              {"id":"a/c@ext4","status":"fail","reason":"r","summary":"s","symbols":["mmap"],"decisive":1,
               "steps":[{"label":"step 1","call":"mmap","line":3,"expected":"ok","observed":"= $m"},
                        {"label":"step 2","call":"load","line":5,"expected":"ok","observed":"SIGSEGV at \"$m\"","mismatch":"m"}]},
              {"id":"a/d","status":"fail","reason":"the child was killed","summary":"s","symbols":[],"steps":[]},
              {"id":"a/e","status":"skip","reason":"needs root","summary":"s","symbols":[],"steps":[]}]}"#;
        let brief = results(doc).expect("parses");
        assert_eq!(brief, by_doc(doc));
        assert_eq!(
            brief[1].detail.as_deref(),
            Some("step 2 load: SIGSEGV at \"$m\"")
        );
        assert_eq!(brief[2].detail.as_deref(), Some("the child was killed"));
        assert_eq!(brief[3].detail.as_deref(), Some("needs root"));
        // Not a results document: no evidence from it, rather than a guess.
        for bad in [
            "",
            "null",
            r#"{"cases":{"id":"a/b"}}"#,
            r#"{"cases":[{"id":5}]}"#,
        ] {
            assert!(results(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_committed_results_read_briefly_as_in_full() {
        let snapshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../snapshots");
        let Ok(dirs) = std::fs::read_dir(snapshots) else {
            return;
        };
        for d in dirs.flatten() {
            let Ok(text) = std::fs::read_to_string(d.path().join("results.json")) else {
                continue;
            };
            let brief = results(&text).expect("parses");
            assert!(!brief.is_empty());
            assert_eq!(brief, by_doc(&text), "{}", d.path().display());
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

    fn env(key: &str, platform: &str, linux: Option<Version>, id: &str) -> EnvResults {
        EnvResults {
            key: key.into(),
            linux,
            platform: platform.into(),
            cases: vec![Verdict {
                id: id.into(),
                status: Status::Pass,
                detail: None,
            }],
        }
    }

    fn case(id: &str) -> Case {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cases");
        let file = root.join(format!("{id}.toml"));
        load::load_one(&file, id).expect("loads").remove(0)
    }

    /// Evidence from a kernel-dependent contract says which contract ran, and why.
    #[test]
    fn a_versioned_contract_says_which_branch_ran() {
        let c = case("madvise/guard-install-readonly-mapping");
        assert_eq!(
            branch(&c, Some((6, 14, 3)), "linux").as_deref(),
            Some("steps 7, 8: the expect-if kernel <6.15 contract, as kernel 6.14 is")
        );
        assert_eq!(
            branch(&c, Some((6, 18, 44)), "linux").as_deref(),
            Some("steps 7, 8: the default contract, as kernel 6.18 is not <6.15")
        );
        assert_eq!(
            branch(&c, None, "gvisor").as_deref(),
            Some("steps 7, 8: the default contract, as no kernel range applies on gvisor")
        );
        assert_eq!(
            branch(
                &case("madvise/guard-install-faults-at-address"),
                Some((6, 14, 0)),
                "linux"
            ),
            None
        );
        // Shown after the verdict, with what did not pass; not for a case that did not run.
        let mut ev = Evidence::new(
            vec![c.clone()],
            vec![env("linux-6.14-x86_64", "linux", Some((6, 14, 0)), &c.id)],
        );
        let o = &ev.view(&c).outcomes[0];
        assert_eq!(o.note(), o.branch.clone());
        assert!(o.note().unwrap().contains("<6.15 contract"));
        ev.envs[0].cases[0].status = Status::Skip;
        ev.envs[0].cases[0].detail = Some("needs kernel >=6.13".into());
        let o = &ev.view(&c).outcomes[0];
        assert_eq!(o.note().as_deref(), Some("needs kernel >=6.13"));
    }

    /// A cause tied to kernel versions cites only what environments running such a kernel did,
    /// and says so when there is none.
    #[test]
    fn a_cause_cites_only_environments_where_it_holds() {
        let id = "madvise/guard-install-readonly-mapping";
        let ev = Evidence::new(
            vec![case(id)],
            vec![
                env("linux-6.18-x86_64", "linux", Some((6, 18, 44)), id),
                env("gvisor-x86_64", "gvisor", None, id),
            ],
        );
        let range = Range::parse(">=6.13, <6.15").unwrap();
        let v = ev.view_for_cause(id, Some(&range));
        assert!(v.outcomes.is_empty());
        assert_eq!(
            v.unrun.as_deref(),
            Some("no environment in this matrix runs Linux >=6.13, <6.15")
        );
        assert_eq!(ev.view_for_cause(id, None).outcomes.len(), 2);
        let newer = Range::parse(">=6.15").unwrap();
        let v = ev.view_for_cause(id, Some(&newer));
        let envs: Vec<&str> = v.outcomes.iter().map(|o| o.env.as_str()).collect();
        assert_eq!((envs, v.unrun), (vec!["linux-6.18-x86_64"], None));
    }

    /// The rule over the whole knowledge base and the committed results: every outcome explain
    /// shows under a cause comes from an environment where the cause holds, and a cause whose
    /// kernels no environment runs says so for each case it cites.
    #[test]
    fn every_cause_cites_only_environments_where_it_holds() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let ev = Evidence::load(Some(&repo));
        let kb = crate::explain::kb::get();
        let holds = |c: &crate::explain::kb::Cause, key: &str| {
            let e = ev
                .envs
                .iter()
                .find(|e| e.key == key)
                .expect("a known environment");
            c.kernel
                .as_ref()
                .is_none_or(|r| e.linux.is_some_and(|v| r.contains(v)))
        };
        let mut seen = HashSet::new();
        // Each cause is listed under its errno, or its call where the errno is no symbol.
        let mut names: Vec<&str> = kb
            .causes
            .iter()
            .flat_map(|c| [c.errno.as_str(), c.syscall.as_str()])
            .collect();
        names.sort();
        names.dedup();
        for name in names {
            let Ok(x) = crate::explain::explain(name, &ev) else {
                continue;
            };
            for view in &x.causes {
                let cause = kb
                    .causes
                    .iter()
                    .find(|c| {
                        c.syscall == view.syscall && c.errno == view.errno && c.cause == view.cause
                    })
                    .expect("a cause of the knowledge base");
                seen.insert(std::ptr::from_ref(cause));
                let ran_here = ev.envs.iter().any(|e| holds(cause, &e.key));
                for cv in &view.cases {
                    for o in &cv.outcomes {
                        assert!(
                            holds(cause, &o.env),
                            "{}: {} cites {}",
                            cv.id,
                            view.cause,
                            o.env
                        );
                    }
                    assert_eq!(cv.unrun.is_some(), !ran_here, "{}: {}", cv.id, view.cause);
                }
            }
        }
        assert_eq!(seen.len(), kb.causes.len(), "every cause is listed");
    }
}
