//! `mmcheck matrix`: runs the suite in every environment of `ci/environments.toml` (this
//! kernel, other kernels booted in QEMU, gVisor), in parallel, and turns each one's JSON result
//! into that environment's snapshots and stable results under `snapshots/<env-key>/`.

use crate::outcome::CaseRun;
use crate::results::{verdicts_differ, ResultsDoc};
use crate::snapshot::{self, Compared};
use serde::Deserialize;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Why an environment could not be run or recorded. Each names what failed: the file, the
/// command and its last lines of stderr, the tool to install.
#[derive(Debug, thiserror::Error)]
pub enum MatrixError {
    #[error("{}:{line}: {message}", file.display())]
    BadFile {
        file: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("needs `{command}`, which is not installed (apt-get install {package})")]
    NotInstalled { command: String, package: String },
    #[error("needs the static mmcheck at {} (make static{})", .0.display(),
        if .1 == "x86_64" { String::new() } else { format!(" ARCH={}", .1) })]
    NoStatic(PathBuf, String),
    #[error("`{0}` was not started: interrupted")]
    NotStarted(String),
    #[error("cannot run `{cmd}`: {source}")]
    Spawn { cmd: String, source: std::io::Error },
    #[error("waiting for `{cmd}`: {source}")]
    Wait { cmd: String, source: std::io::Error },
    #[error("`{cmd}` failed ({how}):\n{tail}")]
    Failed {
        cmd: String,
        how: String,
        tail: String,
    },
    #[error("its output is not mmcheck's results document ({source}); it began {head:?}")]
    NotResults {
        source: serde_json::Error,
        head: String,
    },
    #[error("interrupted; {0}")]
    Interrupted(Box<MatrixError>),
    /// The run was interrupted before this environment (or this seed) started.
    #[error("not started: the run was interrupted")]
    NotRun,
}

fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> MatrixError + '_ {
    move |source| MatrixError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Process groups of the environments' shells now running: an interrupt stops them all.
static GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// How long an interrupted environment (a VM, gVisor, the host runner) gets to clean up after
/// SIGTERM before its group is killed.
const GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvFile {
    #[serde(rename = "env")]
    pub envs: Vec<EnvSpec>,
}

/// One environment: how to prepare it and how to run the suite in it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EnvSpec {
    pub name: String,
    /// What it is, for people: "Linux 6.1 (Debian 12 cloud kernel) under QEMU TCG".
    pub about: String,
    /// Commands that must exist, with the packages that provide them.
    #[serde(default)]
    pub needs: Vec<Need>,
    /// A shell command run first (fetching a kernel, say). Placeholders as in `run`.
    #[serde(default)]
    pub setup: Option<String>,
    /// Why this environment's results change from run to run by themselves (an emulator that
    /// corrupts its guest at random): its snapshots are compared and a change is shown, but it
    /// does not fail the matrix and the committed results stay until `--bless`.
    #[serde(default)]
    pub unstable: Option<String>,
    /// A shell command whose first line of output names what answers the system calls where
    /// the kernel is emulated (`runsc --version`): recorded in the results as `env.runtime`,
    /// since the run inside cannot see it.
    #[serde(default)]
    pub runtime: Option<String>,
    /// A shell command that prints the JSON of `mmcheck run --format json` on stdout and
    /// `mmcheck: progress N/M` lines on stderr. Placeholders: {mmcheck} (this binary),
    /// {static} (the static binary), {static-aarch64} and {static-ppc64le} (those of the other
    /// architectures, `make static ARCH=...`), {cases} (the cases directory), {work} (a cache
    /// directory).
    pub run: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Need {
    pub command: String,
    pub package: String,
}

pub struct Options {
    pub repo: PathBuf,
    pub cases: PathBuf,
    pub mmcheck: PathBuf,
    pub static_mmcheck: PathBuf,
    pub work: PathBuf,
    pub jobs: usize,
    pub bless: bool,
}

/// What became of one environment.
pub struct EnvOutcome {
    pub name: String,
    pub key: Option<String>,
    /// The environment's `unstable` reason: a snapshot change there does not fail the matrix.
    pub unstable: Option<String>,
    pub seconds: f64,
    pub result: Result<EnvRun, MatrixError>,
}

pub struct EnvRun {
    pub runs: Vec<CaseRun>,
    /// (group, how it compared) for every group.
    pub snapshots: Vec<(String, Compared)>,
}

/// Parses `ci/environments.toml`, naming the file on error.
pub fn load(path: &Path) -> Result<EnvFile, MatrixError> {
    let text = std::fs::read_to_string(path).map_err(io_at(path))?;
    toml::from_str(&text).map_err(|e| MatrixError::BadFile {
        file: path.to_path_buf(),
        line: e
            .span()
            .map(|s| text[..s.start].matches('\n').count() + 1)
            .unwrap_or(0),
        message: e.message().to_string(),
    })
}

/// Runs the environments, `jobs` at a time; `progress` hears (env, done, total) and status lines.
pub fn run(
    envs: &[EnvSpec],
    opts: &Options,
    progress: &(dyn Fn(&str, &str) + Sync),
) -> Vec<EnvOutcome> {
    // An environment's processes may leave its group (QEMU, runsc and their helpers); as their
    // subreaper, this process gets them back to kill when the matrix is interrupted.
    crate::sys::become_subreaper();
    let next = Mutex::new(0usize);
    let out: Mutex<Vec<Option<EnvOutcome>>> = Mutex::new((0..envs.len()).map(|_| None).collect());
    let finished = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| stop_on_interrupt(&finished));
        let runners: Vec<_> = (0..opts.jobs.max(1))
            .map(|_| {
                s.spawn(|| loop {
                    if crate::sys::interrupted() {
                        break;
                    }
                    let i = {
                        let mut n = next.lock().expect("lock");
                        let i = *n;
                        *n += 1;
                        i
                    };
                    let Some(env) = envs.get(i) else { break };
                    let outcome = run_env(env, opts, progress);
                    out.lock().expect("lock")[i] = Some(outcome);
                })
            })
            .collect();
        for r in runners {
            let _ = r.join();
        }
        finished.store(true, Ordering::SeqCst);
    });
    out.into_inner()
        .expect("lock")
        .into_iter()
        .zip(envs)
        .map(|(o, env)| {
            o.unwrap_or_else(|| EnvOutcome {
                name: env.name.clone(),
                key: None,
                unstable: env.unstable.clone(),
                seconds: 0.0,
                result: Err(MatrixError::NotRun),
            })
        })
        .collect()
}

/// Runs `f` (which starts environments through `execute`) with the same handling of interrupts
/// as `run`: SIGTERM to every environment's group, then SIGKILL.
pub fn with_interrupt_stop<T>(f: impl FnOnce() -> T) -> T {
    crate::sys::become_subreaper();
    let finished = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| stop_on_interrupt(&finished));
        let out = f();
        finished.store(true, Ordering::SeqCst);
        out
    })
}

/// Waits for an interrupt (or the end of the run). On an interrupt: SIGTERM to every running
/// environment's process group, so that the host runner unmounts its scratch filesystems and
/// the VM and gVisor scripts remove their files; after `GRACE`, SIGKILL to what is left and to
/// every descendant that left its group.
fn stop_on_interrupt(finished: &AtomicBool) {
    while !finished.load(Ordering::SeqCst) {
        if crate::sys::interrupted() {
            let groups = GROUPS.lock().expect("groups lock").clone();
            for g in &groups {
                crate::sys::signal_group(*g, libc::SIGTERM);
            }
            let start = Instant::now();
            while start.elapsed() < GRACE
                && !GROUPS.lock().expect("groups lock").is_empty()
                && !finished.load(Ordering::SeqCst)
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            for g in GROUPS.lock().expect("groups lock").iter() {
                crate::sys::kill_group(*g);
            }
            crate::sys::reap_strays();
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The static binaries of the other architectures, by placeholder: (architecture, Rust target).
const FOREIGN_STATICS: &[(&str, &str)] = &[
    ("aarch64", "aarch64-unknown-linux-gnu"),
    ("ppc64le", "powerpc64le-unknown-linux-gnu"),
];

/// Every static binary a run command may name: (placeholder, architecture, path).
fn statics(opts: &Options) -> Vec<(String, &'static str, PathBuf)> {
    let mut all = vec![(
        "{static}".to_string(),
        "x86_64",
        opts.static_mmcheck.clone(),
    )];
    for (arch, triple) in FOREIGN_STATICS {
        let path = opts
            .repo
            .join("target")
            .join(triple)
            .join("release/mmcheck");
        all.push((format!("{{static-{arch}}}"), *arch, path));
    }
    all
}

fn expand(template: &str, opts: &Options) -> String {
    let mut out = template.to_string();
    for (placeholder, _, path) in statics(opts) {
        out = out.replace(&placeholder, &path.to_string_lossy());
    }
    out.replace("{mmcheck}", &opts.mmcheck.to_string_lossy())
        .replace("{cases}", &opts.cases.to_string_lossy())
        .replace("{work}", &opts.work.to_string_lossy())
}

fn run_env(env: &EnvSpec, opts: &Options, progress: &(dyn Fn(&str, &str) + Sync)) -> EnvOutcome {
    let start = Instant::now();
    let result = execute(env, opts, None, progress);
    let seconds = start.elapsed().as_secs_f64();
    match result {
        Err(e) => EnvOutcome {
            name: env.name.clone(),
            key: None,
            unstable: env.unstable.clone(),
            seconds,
            result: Err(e),
        },
        Ok(doc) => {
            let runs = doc.runs();
            let written = record(&doc, &runs, opts, env.unstable.is_some());
            EnvOutcome {
                name: env.name.clone(),
                key: Some(doc.env.key.clone()),
                unstable: env.unstable.clone(),
                seconds,
                result: written.map(|snapshots| EnvRun { runs, snapshots }),
            }
        }
    }
}

/// Of the cases that ran in more than one environment, how many have different verdicts, and
/// of how many cases; `None` when fewer than two environments ran.
pub fn differing_verdicts(outcomes: &[EnvOutcome]) -> Option<(usize, usize)> {
    let ran: Vec<&Vec<CaseRun>> = outcomes
        .iter()
        .filter_map(|o| o.result.as_ref().ok().map(|r| &r.runs))
        .collect();
    if ran.len() < 2 {
        return None;
    }
    let mut ids: Vec<&str> = ran
        .iter()
        .flat_map(|runs| runs.iter().map(|r| r.id.as_str()))
        .collect();
    ids.sort();
    ids.dedup();
    let differing = ids
        .iter()
        .filter(|id| {
            verdicts_differ(
                ran.iter()
                    .filter_map(|runs| runs.iter().find(|r| r.id == **id).map(|r| r.status)),
            )
        })
        .count();
    Some((differing, ids.len()))
}

/// Prepares an environment and runs the suite in it (after the layout fuzzer's pads for
/// `layout_seed`, when given): its key, its JSON document and its verdicts.
pub fn execute(
    env: &EnvSpec,
    opts: &Options,
    layout_seed: Option<u64>,
    progress: &(dyn Fn(&str, &str) + Sync),
) -> Result<ResultsDoc, MatrixError> {
    let vars: Vec<(String, String)> = layout_seed
        .map(|s| (crate::layout::SEED_VAR.to_string(), s.to_string()))
        .into_iter()
        .collect();
    let result = (|| {
        for need in &env.needs {
            let found = Command::new("sh")
                .args(["-c", &format!("command -v {}", need.command)])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !found {
                return Err(MatrixError::NotInstalled {
                    command: need.command.clone(),
                    package: need.package.clone(),
                });
            }
        }
        for (arch, path) in env.statics_needed(opts) {
            if !path.exists() {
                return Err(MatrixError::NoStatic(path, arch.to_string()));
            }
        }
        if let Some(setup) = &env.setup {
            progress(&env.name, "preparing");
            shell(&expand(setup, opts), &opts.repo, &[], |_| {})?;
        }
        progress(&env.name, "running");
        let stdout = shell(&expand(&env.run, opts), &opts.repo, &vars, |line| {
            if let Some(p) = line.strip_prefix("mmcheck: progress ") {
                progress(&env.name, p.split(' ').next().unwrap_or(p));
            }
        })?;
        let mut doc = ResultsDoc::parse(&stdout).map_err(|source| MatrixError::NotResults {
            source,
            head: head(&stdout),
        })?;
        if let Some(cmd) = &env.runtime {
            let out = shell(&expand(cmd, opts), &opts.repo, &[], |_| {})?;
            doc.env.runtime = out
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(str::to_string);
        }
        Ok(doc)
    })();
    match result {
        Err(e) if crate::sys::interrupted() => Err(MatrixError::Interrupted(Box::new(e))),
        other => other,
    }
}

impl EnvSpec {
    /// The static binaries the run command names, by architecture.
    fn statics_needed(&self, opts: &Options) -> Vec<(&'static str, PathBuf)> {
        statics(opts)
            .into_iter()
            .filter(|(placeholder, _, _)| self.run.contains(placeholder.as_str()))
            .map(|(_, arch, path)| (arch, path))
            .collect()
    }
}

fn head(s: &str) -> String {
    s.chars().take(120).collect()
}

/// Runs a shell command in `dir`, in its own process group; stderr lines go to `on_line` (and
/// the last ones into the error), stdout is returned.
fn shell(
    cmd: &str,
    dir: &Path,
    vars: &[(String, String)],
    on_line: impl Fn(&str) + Sync,
) -> Result<String, MatrixError> {
    if crate::sys::interrupted() {
        return Err(MatrixError::NotStarted(cmd.to_string()));
    }
    let mut child = Command::new("bash")
        .args(["-c", cmd])
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own group, so that an interrupt reaches everything it started and nothing else.
        .process_group(0)
        .spawn()
        .map_err(|source| MatrixError::Spawn {
            cmd: cmd.to_string(),
            source,
        })?;
    let group = child.id() as i32;
    GROUPS.lock().expect("groups lock").push(group);
    let mut stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    std::thread::scope(|s| {
        let out = s.spawn(move || {
            let mut text = String::new();
            let _ = stdout.read_to_string(&mut text);
            text
        });
        let err = s.spawn(|| {
            let mut tail: Vec<String> = Vec::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                on_line(&line);
                if !line.starts_with("mmcheck: progress") {
                    tail.push(line);
                    if tail.len() > 15 {
                        tail.remove(0);
                    }
                }
            }
            tail
        });
        // The shell's exit ends the environment, even while something it left behind still
        // holds its pipes (that is killed when the matrix is interrupted).
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(source) => {
                    break Err(MatrixError::Wait {
                        cmd: cmd.to_string(),
                        source,
                    })
                }
            }
        };
        GROUPS.lock().expect("groups lock").retain(|g| *g != group);
        let status = status?;
        let out = out.join().unwrap_or_default();
        let tail = err.join().unwrap_or_default();
        if status.success() {
            Ok(out)
        } else {
            use std::os::unix::process::ExitStatusExt;
            let how = match (status.code(), status.signal()) {
                (Some(code), _) => format!("exit status {code}"),
                (None, Some(sig)) => format!("killed by {}", crate::names::signal_name(sig)),
                (None, None) => status.to_string(),
            };
            Err(MatrixError::Failed {
                cmd: cmd.to_string(),
                how,
                tail: tail.join("\n"),
            })
        }
    })
}

/// Writes the environment's stable results and compares (or blesses) its snapshots.
fn record(
    doc: &ResultsDoc,
    runs: &[CaseRun],
    opts: &Options,
    unstable: bool,
) -> Result<Vec<(String, Compared)>, MatrixError> {
    let key = doc.env.key.as_str();
    let dir = snapshot::dir(&opts.repo, key);
    std::fs::create_dir_all(&dir).map_err(io_at(&dir))?;
    let committed = std::fs::read_to_string(dir.join("results.json"))
        .ok()
        .and_then(|t| ResultsDoc::parse(&t).ok());
    let results = snapshot::stable_results(doc, committed.as_ref());
    let file = dir.join("results.json");
    // An unstable environment keeps its committed results until they are blessed.
    if opts.bless || !unstable || committed.is_none() {
        std::fs::write(&file, results.to_text()).map_err(io_at(&file))?;
    }
    let mut out = Vec::new();
    for group in snapshot::groups(runs) {
        let committed = snapshot::read(&dir.join(format!("{group}.snap")));
        let text = snapshot::render_group(&group, runs, committed.as_deref());
        let c = snapshot::compare(&dir, key, &group, &text, opts.bless).map_err(io_at(&dir))?;
        out.push((group, c));
    }
    Ok(out)
}
