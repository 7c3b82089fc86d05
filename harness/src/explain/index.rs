//! A cache of the evidence explain shows, so that `mmcheck explain SYMBOL` answers in a few
//! milliseconds instead of compiling the case files and reading every environment's results
//! (14 MB of JSON) each time.
//!
//! On the first explain after anything it depends on changed, the whole evidence is loaded once
//! and each symbol's part of it (its cases and its causes' cases, with what every environment
//! did) is written to a file of its own; later explains read only their symbol's file. The
//! cache is a directory named by a fingerprint of everything the evidence comes from: the path,
//! size and modification time of every file under `cases/`, of every `snapshots/*/results.json`,
//! and of the running executable (which embeds the knowledge base and the code that reads the
//! rest). Any change gives another name, so a stale cache is never read; older directories are
//! removed when a new one is written.
//!
//! Where: `$MMCHECK_CACHE` (set it empty to use no cache), else `$XDG_CACHE_HOME/mmcheck`, else
//! `~/.cache/mmcheck`. Without a writable cache, explain loads what it needs each time, as before.

use super::evidence::{CaseView, Evidence};
use super::kb;
use serde::{Deserialize, Serialize};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

/// What explaining one symbol shows of the evidence.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Views {
    /// The cases that name the symbol.
    pub cases: Vec<CaseView>,
    /// For each documented cause (in [`super::causes`]'s order), its cases.
    pub causes: Vec<Vec<CaseView>>,
    /// Why there is no evidence, when there is none.
    pub missing: Option<String>,
}

impl Views {
    /// The views of `sym` in `evidence`.
    pub fn of(sym: &kb::Symbol, evidence: &Evidence) -> Views {
        Views {
            cases: evidence
                .naming(&sym.name)
                .into_iter()
                .map(|c| evidence.view(c))
                .collect(),
            causes: super::causes(sym)
                .into_iter()
                .map(|c| {
                    c.cases
                        .iter()
                        .map(|id| evidence.view_for_cause(id, c.kernel.as_ref()))
                        .collect()
                })
                .collect(),
            missing: evidence.missing.clone(),
        }
    }
}

/// The cache's directory, if there is to be one.
fn cache_root() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("MMCHECK_CACHE") {
        return (!dir.is_empty()).then(|| PathBuf::from(dir));
    }
    std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
        .map(|d| d.join("mmcheck"))
}

/// A file's identity for the fingerprint.
fn stamp(h: &mut impl Hasher, path: &Path) {
    path.hash(h);
    if let Ok(m) = std::fs::metadata(path) {
        m.len().hash(h);
        if let Ok(t) = m.modified() {
            t.hash(h);
        }
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => walk(&path, out),
            _ => out.push(path),
        }
    }
}

/// The fingerprint of everything the evidence under `repo` comes from.
fn fingerprint(repo: &Path) -> Option<String> {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    stamp(&mut h, &std::env::current_exe().ok()?);
    let mut files = Vec::new();
    walk(&repo.join("cases"), &mut files);
    if let Ok(dirs) = std::fs::read_dir(repo.join("snapshots")) {
        files.extend(dirs.flatten().map(|d| d.path().join("results.json")));
    }
    files.sort();
    for f in &files {
        stamp(&mut h, f);
    }
    Some(format!("explain-{:016x}", h.finish()))
}

/// A symbol's file name: its name, which is letters, digits, `_`, `.` and `-`.
fn file_name(symbol: &str) -> String {
    let safe: String = symbol
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' {
                c
            } else {
                '%'
            }
        })
        .collect();
    format!("{safe}.json")
}

/// The views of `sym` from the cache for `repo`, building the cache first when it is missing or
/// stale. None when there is no usable cache: the caller loads the evidence itself.
pub fn views(repo: &Path, sym: &kb::Symbol) -> Option<Views> {
    views_in(&cache_root()?, repo, sym)
}

/// [`views`], with the cache under `root`.
fn views_in(root: &Path, repo: &Path, sym: &kb::Symbol) -> Option<Views> {
    let dir = root.join(fingerprint(repo)?);
    let file = dir.join(file_name(&sym.name));
    if let Ok(text) = std::fs::read(&file) {
        if let Ok(v) = serde_json::from_slice::<Views>(&text) {
            return Some(v);
        }
    }
    if dir.is_dir() {
        // Written whole or not at all: a directory without this symbol is of another knowledge
        // base; not to be trusted.
        return None;
    }
    build(root, &dir, repo);
    let text = std::fs::read(&file).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Loads the whole evidence once and writes every symbol's views into `dir`, through a
/// temporary directory renamed into place, then removes the other explain caches.
fn build(root: &Path, dir: &Path, repo: &Path) {
    let evidence = Evidence::load(Some(repo));
    if std::fs::create_dir_all(root).is_err() {
        return;
    }
    let Ok(tmp) = tempfile::Builder::new()
        .prefix(".explain-")
        .tempdir_in(root)
    else {
        return;
    };
    for sym in &kb::get().symbols {
        let views = Views::of(sym, &evidence);
        let Ok(text) = serde_json::to_vec(&views) else {
            return;
        };
        if std::fs::write(tmp.path().join(file_name(&sym.name)), text).is_err() {
            return;
        }
    }
    let tmp = tmp.keep();
    if std::fs::rename(&tmp, dir).is_err() {
        // Another explain got there first: its files are the same.
        let _ = std::fs::remove_dir_all(&tmp);
        return;
    }
    if let Ok(entries) = std::fs::read_dir(root) {
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("explain-") && e.path() != dir {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cache gives what loading the evidence gives, and a changed case file is seen at once
    /// (a new cache replaces the old one).
    #[test]
    fn the_cache_follows_the_case_files() {
        let repo = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let src =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../cases/mprotect/unaligned-addr.toml");
        let case = repo.path().join("cases/mprotect/unaligned-addr.toml");
        std::fs::create_dir_all(case.parent().unwrap()).unwrap();
        let text = std::fs::read_to_string(src).unwrap();
        std::fs::write(&case, &text).unwrap();
        let sym = super::super::resolve("mprotect").unwrap();
        let cached = views_in(cache.path(), repo.path(), sym).expect("a cache");
        let loaded = Views::of(sym, &Evidence::load(Some(repo.path())));
        assert_eq!(
            serde_json::to_value(&cached).unwrap(),
            serde_json::to_value(&loaded).unwrap()
        );
        assert_eq!(cached.cases.len(), 1);
        // Again, from the cache's file.
        let again = views_in(cache.path(), repo.path(), sym).unwrap();
        assert_eq!(again.cases[0].summary, cached.cases[0].summary);
        // A new summary, the same size and maybe the same second: the size differs here.
        std::fs::write(
            &case,
            text.replace("changes nothing", "changes nothing at all"),
        )
        .unwrap();
        let changed = views_in(cache.path(), repo.path(), sym).unwrap();
        assert!(changed.cases[0].summary.ends_with("at all"), "{changed:?}");
        let dirs = std::fs::read_dir(cache.path()).unwrap().count();
        assert_eq!(dirs, 1, "the stale cache is removed");
    }
}
