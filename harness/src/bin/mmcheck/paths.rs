//! Where the cases are, and the repository around them.

use crate::exit::Exit;
use mmcheck::case::load;
use mmcheck::case::plan::Case;
use mmcheck::render;
use std::path::{Path, PathBuf};

/// `--cases`, else `MMCHECK_CASES`, else `cases/` here or above, else the source tree's.
pub fn cases_dir(arg: Option<PathBuf>) -> PathBuf {
    if let Some(dir) = arg.or_else(|| std::env::var_os("MMCHECK_CASES").map(PathBuf::from)) {
        return dir;
    }
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            let candidate = dir.join("cases");
            if candidate.is_dir() && dir.join("harness").is_dir() {
                return candidate;
            }
        }
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../cases"))
}

/// The cases directory, and the repository around it (its parent: where snapshots/ and ci/ are).
pub fn cases_and_repo(arg: Option<PathBuf>) -> (PathBuf, PathBuf) {
    let cases = cases_dir(arg);
    let cases = cases.canonicalize().unwrap_or(cases);
    let repo = cases
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    (cases, repo)
}

/// Every case under `dir`; with a problem in any file, the diagnostics are printed and nothing
/// runs.
pub fn load_or_report(dir: &Path) -> Result<Vec<Case>, Exit> {
    let (cases, diags) = load::load_dir(dir);
    if diags.is_empty() {
        Ok(cases)
    } else {
        render::diagnostics(&mut std::io::stderr(), &diags);
        Err(Exit::BadInput)
    }
}
