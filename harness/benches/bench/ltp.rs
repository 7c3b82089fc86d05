//! The whole host suite against LTP's tests of the same system calls, pair by pair in one run.
//! LTP is not part of mmcheck: point LTP_DIR at an LTP build or install directory holding the
//! mmap-family binaries (docs/performance.md says how to build them). Without it, nothing is
//! measured and the bench says so.

use super::*;

/// The system calls whose LTP tests are compared (testcases/kernel/syscalls/<dir>).
pub(crate) const FAMILY: &[&str] = &[
    "mmap",
    "munmap",
    "mprotect",
    "msync",
    "mremap",
    "madvise",
    "mincore",
    "mlock",
    "mlock2",
    "mlockall",
    "munlock",
    "munlockall",
    "remap_file_pages",
    "memfd_create",
    "mseal",
];

/// Whether a file name is one of the family's test binaries: a family name followed by digits
/// only (`mmap01`, `mlock201`, `memfd_create03`; not `mmap-corruption01` or `mmap01.c`).
fn is_family_test(name: &str) -> bool {
    FAMILY.iter().any(|f| {
        name.strip_prefix(f)
            .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// The family's test binaries under `dir` (a build tree or an install's testcases/bin), one per
/// name, sorted.
pub(crate) fn find(dir: &Path) -> Vec<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let mut found: std::collections::BTreeMap<String, PathBuf> = Default::default();
    let mut todo = vec![(dir.to_path_buf(), 0)];
    while let Some((d, depth)) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = e.path();
            let Ok(meta) = e.metadata() else { continue };
            let name = e.file_name().to_string_lossy().into_owned();
            if meta.is_dir() && depth < 6 && !name.starts_with('.') {
                todo.push((path, depth + 1));
            } else if meta.is_file()
                && meta.permissions().mode() & 0o111 != 0
                && is_family_test(&name)
            {
                found.entry(name).or_insert(path);
            }
        }
    }
    found.into_values().collect()
}

/// One pass over LTP's binaries, one after the other as runltp runs them: wall time, and how
/// many did not exit 0 (TFAIL, TBROK, TCONF all count; the figure is the time).
fn run_ltp(bins: &[PathBuf], tmp: &Path) -> (Duration, usize) {
    let t = Instant::now();
    let mut not_ok = 0;
    for b in bins {
        let ok = Command::new(b)
            .current_dir(tmp)
            .env("TMPDIR", tmp)
            .env("LTP_TIMEOUT_MUL", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            not_ok += 1;
        }
    }
    (t.elapsed(), not_ok)
}

fn run_mmcheck(exe: &Path, repo: &Path) -> Duration {
    let t = Instant::now();
    let _ = Command::new(exe)
        .arg("run")
        .current_dir(repo)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    t.elapsed()
}

pub(crate) struct Pairs {
    pub(crate) binaries: usize,
    /// (mmcheck, LTP) wall times, in run order.
    pub(crate) pairs: Vec<(Duration, Duration)>,
    pub(crate) ltp_not_ok: usize,
}

/// `runs` pairs, mmcheck and LTP alternating.
pub(crate) fn pairs(exe: &Path, repo: &Path, bins: &[PathBuf], runs: usize) -> Pairs {
    let tmp = tempfile::Builder::new()
        .prefix("mmcheck-bench-ltp-")
        .tempdir()
        .expect("a temporary directory");
    let mut out = Vec::new();
    let mut ltp_not_ok = 0;
    for _ in 0..runs {
        let ours = run_mmcheck(exe, repo);
        let (theirs, bad) = run_ltp(bins, tmp.path());
        ltp_not_ok = bad;
        out.push((ours, theirs));
    }
    Pairs {
        binaries: bins.len(),
        pairs: out,
        ltp_not_ok,
    }
}
