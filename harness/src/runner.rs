//! Runs a selection of cases: checks each one's requirements, hands the runnable ones to the
//! worker pool on `jobs` threads, and returns the verdicts in case order.

use crate::case::plan::Case;
use crate::env::HostEnv;
use crate::outcome::{CaseRun, Setup, Status};
use crate::pool::Pool;
use crate::requires;
use crate::scratch::Session;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The machine as the cases will see it: when root, with fresh scratch filesystems for the
/// filesystems these cases run on. Keep the session alive for the whole run; dropping it
/// unmounts them. A janitor that cannot start is reported in the skip reasons, not fatal.
pub fn prepare_host(cases: &[&Case], exe: &Path) -> (HostEnv, Option<Session>) {
    let mut host = HostEnv::detect();
    host.swept = crate::scratch::sweep_stale(&host.default_scratch);
    // Filesystems the user (or a VM's init) named in MMCHECK_SCRATCH need no mount of ours.
    let given = std::env::var("MMCHECK_SCRATCH").unwrap_or_default();
    let wanted: Vec<String> = filesystems_of(cases.iter().copied())
        .into_iter()
        .filter(|fs| {
            !given
                .split(',')
                .any(|item| item.starts_with(&format!("{fs}=")))
        })
        .collect();
    match Session::start(exe, &wanted, &host.default_scratch) {
        Ok(Some(session)) => {
            use_session(&mut host, &session);
            (host, Some(session))
        }
        Ok(None) => (host, None),
        Err(why) => {
            let why = why.to_string();
            host.scratch_problems = wanted.into_iter().map(|fs| (fs, why.clone())).collect();
            (host, None)
        }
    }
}

/// Puts the scratch janitor's fresh mounts first, and remembers what it could not make.
fn use_session(host: &mut HostEnv, session: &Session) {
    for (fs, dir) in session.mounted.iter().rev() {
        host.scratch.retain(|(name, _)| name != fs);
        host.scratch.insert(0, (fs.clone(), dir.clone()));
        host.scratch_found.retain(|name| name != fs);
    }
    host.scratch_problems = session.problems.clone();
}

/// The filesystems a selection of cases runs on.
fn filesystems_of<'a>(cases: impl IntoIterator<Item = &'a Case>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in cases {
        if let Some(fs) = &c.fs {
            if !out.contains(fs) {
                out.push(fs.clone());
            }
        }
    }
    out
}

/// Cases whose id contains `filter` (all of them without one).
pub fn select<'a>(cases: &'a [Case], filters: &[String]) -> Vec<&'a Case> {
    cases
        .iter()
        .filter(|c| filters.is_empty() || filters.iter().any(|f| c.id.contains(f.as_str())))
        .collect()
}

/// Where a case puts its files: its filesystem's scratch directory, or the default one.
pub fn scratch_dir(case: &Case, host: &HostEnv) -> PathBuf {
    case.fs
        .as_deref()
        .and_then(|fs| host.scratch_for(fs))
        .unwrap_or(&host.default_scratch)
        .to_path_buf()
}

/// Runs one case through the pool, or skips it with the reason. `force` runs it even when its
/// requirements are unmet (libtest's `--ignored`).
pub fn run_one(
    case: &Case,
    host: &HostEnv,
    pool: &Pool,
    force: bool,
    mutate: Option<&str>,
    layout_seed: Option<u64>,
) -> CaseRun {
    if let Err(unmet) = requires::check(case, host) {
        if !force {
            return CaseRun::skipped(case, unmet.reason, unmet.setup);
        }
    }
    let mut run = pool.run(case, &scratch_dir(case, host), mutate, layout_seed);
    if let Some(fs) = case
        .fs
        .as_ref()
        .filter(|fs| host.scratch_found.contains(fs))
    {
        run.setup = Some(Setup::Other {
            cause: format!("their {fs} is a directory of this machine, not a fresh filesystem"),
            fix: Some(format!(
                "as root with the mkfs tools installed the runner makes one; or name one with \
                 MMCHECK_SCRATCH={fs}=DIR"
            )),
        });
    }
    run
}

/// One case to run, against the real kernel or against a mutant kernel that ignores one call.
#[derive(Debug, Clone, Copy)]
pub struct Job<'a> {
    pub case: &'a Case,
    pub mutant: Option<&'static str>,
}

/// A selection of cases ready to run: the machine prepared for them (fresh scratch filesystems
/// mounted for as long as the suite lives) and interrupts caught. What `mmcheck run`,
/// `mutants` and `report --run` share.
pub struct Suite<'a> {
    pub cases: Vec<&'a Case>,
    pub host: HostEnv,
    exe: PathBuf,
    /// Unmounts the scratch filesystems when the suite is dropped.
    _session: Option<Session>,
}

/// Why a suite could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    #[error("cannot find my own executable: {0}")]
    NoExecutable(std::io::Error),
}

impl<'a> Suite<'a> {
    /// Prepares the machine for `cases`; from here on an interrupt stops the run cleanly.
    pub fn prepare(cases: Vec<&'a Case>) -> Result<Suite<'a>, SuiteError> {
        let exe = std::env::current_exe().map_err(SuiteError::NoExecutable)?;
        crate::sys::catch_interrupts();
        let (host, session) = prepare_host(&cases, &exe);
        Ok(Suite {
            cases,
            host,
            exe,
            _session: session,
        })
    }

    /// The running executable, whose `__worker` runs the cases.
    pub fn exe(&self) -> &Path {
        &self.exe
    }

    /// Every case against this kernel, in case order; only the finished ones after an interrupt.
    pub fn run(
        &self,
        jobs: usize,
        layout_seed: Option<u64>,
        progress: &(dyn Fn(usize, usize, &CaseRun) + Sync),
    ) -> Vec<CaseRun> {
        let work: Vec<Job> = self
            .cases
            .iter()
            .map(|&case| Job { case, mutant: None })
            .collect();
        run_all(&work, &self.host, &self.exe, jobs, layout_seed, progress)
            .into_iter()
            .map(|(_, run)| run)
            .collect()
    }

    /// Every case against every mutant kernel that applies to it, each run with its job.
    pub fn run_mutants(&self, jobs: usize) -> Vec<(Job<'a>, CaseRun)> {
        let work: Vec<Job> = self
            .cases
            .iter()
            .flat_map(|&case| {
                crate::mutant::applicable(case)
                    .into_iter()
                    .map(move |m| Job {
                        case,
                        mutant: Some(m),
                    })
            })
            .collect();
        run_all(&work, &self.host, &self.exe, jobs, None, &|_, _, _| {})
    }
}

/// Runs the jobs on `jobs` threads, each after the layout fuzzer's pads when there is a seed;
/// `progress` is called after each with (done, total, run). After an interrupt no further job
/// starts, and only the finished ones are returned, each with its job, in job order.
pub fn run_all<'a>(
    work: &[Job<'a>],
    host: &HostEnv,
    exe: &Path,
    jobs: usize,
    layout_seed: Option<u64>,
    progress: &(dyn Fn(usize, usize, &CaseRun) + Sync),
) -> Vec<(Job<'a>, CaseRun)> {
    let pool = Pool::new(exe);
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<CaseRun>>> = Mutex::new(vec![None; work.len()]);
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| loop {
                if crate::sys::interrupted() {
                    break;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(job) = work.get(i) else {
                    break;
                };
                let run = run_one(job.case, host, &pool, false, job.mutant, layout_seed);
                if crate::sys::interrupted() && run.status == Status::Broken {
                    // Cut short by the interrupt (its worker stopped it): no verdict.
                    break;
                }
                let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                progress(n, work.len(), &run);
                results.lock().expect("results lock")[i] = Some(run);
            });
        }
    });
    let runs = results.into_inner().expect("results lock");
    work.iter()
        .zip(runs)
        .filter_map(|(job, run)| Some((*job, run?)))
        .collect()
}
