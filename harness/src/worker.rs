//! The single-threaded worker process (`mmcheck __worker`): reads one request per line, forks
//! one child per case in its own process group, supervises it against the deadline, and answers
//! with the verdict. Test threads never fork; workers do.

use crate::case::load;
use crate::case::plan::Case;
use crate::child::{self, Setup};
use crate::outcome::{self, CaseRun, Seen};
use crate::sys::{self, Forked};
use crate::wire;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::os::fd::{AsFd, AsRawFd, IntoRawFd, OwnedFd};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// One case to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    pub file: PathBuf,
    /// The case id of the file (without a filesystem suffix).
    pub file_id: String,
    /// The case id to run (with its filesystem suffix, if any).
    pub id: String,
    /// Directory in which the case gets its own scratch directory.
    pub scratch: PathBuf,
    /// Run against this mutant kernel instead of the real one.
    #[serde(default)]
    pub mutate: Option<String>,
    /// Scatter the layout fuzzer's pads first (`layout.rs`).
    #[serde(default)]
    pub layout_seed: Option<u64>,
}

/// Serves requests from stdin until it closes or the worker is interrupted. With
/// MMCHECK_SPARE=1, between two cases the next case's child is already forked and waiting (a
/// `Spare`), so that no case has a `fork` on its own critical path; a spare that no case takes
/// is killed and reaped on the way out, whatever the way out is.
pub fn serve() -> i32 {
    sys::catch_interrupts();
    sys::watch_parent();
    sys::become_subreaper();
    let mut cache = Cache::new();
    let mut spare = Spare::fork(&cache);
    let code = serve_with(&mut cache, &mut spare);
    if let Some(s) = spare.take() {
        s.dismiss();
    }
    code
}

fn serve_with(cache: &mut Cache, spare: &mut Option<Spare>) -> i32 {
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let run = match serde_json::from_str::<Request>(&line) {
            Ok(req) => match run_request(&req, cache, spare.take()) {
                Some(run) => run,
                None => return 130,
            },
            Err(e) => {
                eprintln!("mmcheck worker: bad request {line:?}: {e}");
                return 2;
            }
        };
        let mut out = serde_json::to_vec(&run).expect("verdicts serialize");
        out.push(b'\n');
        if stdout.write_all(&out).and_then(|_| stdout.flush()).is_err() {
            break;
        }
        if sys::interrupted() {
            return 130;
        }
        // After the answer, so that forking overlaps the runner reading it and sending the next
        // request.
        *spare = Spare::fork(cache);
    }
    0
}

/// A case child forked ahead of its case: it has its own process group and its record pipe at
/// `RECORD_FD`, and blocks reading the request from `go`. It ends at once, with nothing run,
/// when `go` closes (the worker dropped it, or died).
struct Spare {
    pid: i32,
    go: OwnedFd,
    records: OwnedFd,
}

impl Spare {
    /// Forks the next case's child; `None` when a pipe or the fork fails (the case then forks
    /// its own child, as it would have without a spare).
    fn fork(cache: &Cache) -> Option<Spare> {
        use nix::fcntl::OFlag;
        // Only with MMCHECK_SPARE=1: measured on a busy two-CPU machine, `mmcheck run -j 1` over
        // 500 distinct case files took 0.3-0.5 ms more per case with a spare than without
        // (docs/performance.md), so the case's own fork stays the default until a quiet machine
        // says otherwise.
        static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        if !*ON.get_or_init(|| std::env::var_os("MMCHECK_SPARE").is_some_and(|v| v == "1")) {
            return None;
        }
        let (read_end, write_end) = nix::unistd::pipe2(OFlag::O_CLOEXEC).ok()?;
        let (go_read, go_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).ok()?;
        let record_at = RECORD_FD.min(sys::top_fd());
        let log = child_log();
        match sys::fork() {
            Err(_) => None,
            Ok(Forked::Child) => {
                sys::set_own_group(0);
                drop(read_end);
                drop(go_write);
                let record_fd = sys::move_fd(write_end.into_raw_fd(), record_at);
                spare_main(go_read, record_fd, log, cache)
            }
            Ok(Forked::Parent(pid)) => {
                sys::set_own_group(pid);
                Some(Spare {
                    pid,
                    go: go_write,
                    records: read_end,
                })
            }
        }
    }

    /// Hands the spare its case: `Err` gives the spare back when it cannot take it (it died).
    fn start(self, go: &Go) -> Result<(i32, OwnedFd), Spare> {
        let mut line = serde_json::to_vec(go).expect("requests serialize");
        line.push(b'\n');
        if sys::write_all(self.go.as_raw_fd(), &line).is_err() {
            return Err(self);
        }
        // Nothing more goes this way; the child is on its own now.
        Ok((self.pid, self.records))
    }

    /// Kills an unused spare and reaps it.
    fn dismiss(self) {
        let _ = sys::kill(self.pid, libc::SIGKILL);
        let _ = sys::wait(self.pid, true);
    }
}

/// The spare's life: wait for the request, find its case (compiled by the worker before the
/// fork, or now), make its scratch directory if it needs one, then run it as any case child
/// does.
fn spare_main(go: OwnedFd, record_fd: i32, log: Option<i32>, cache: &Cache) -> ! {
    let mut line = Vec::new();
    let mut buf = [0u8; 4096];
    while !line.ends_with(b"\n") {
        match nix::unistd::read(&go, &mut buf) {
            Ok(0) => sys::exit_now(0),
            Ok(n) => line.extend_from_slice(&buf[..n]),
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => sys::exit_now(0),
        }
    }
    drop(go);
    let broken = |reason: String| -> ! {
        let _ = sys::write_all(record_fd, &wire::Record::Broken { reason }.encode());
        sys::exit_now(0)
    };
    let Go { req, dir } = match serde_json::from_slice(&line) {
        Ok(go) => go,
        Err(e) => broken(format!("the case child could not read its request: {e}")),
    };
    let compiled;
    let cases = match cache.get(&req.file, &req.file_id) {
        Some(Ok(cases)) => cases,
        _ => {
            compiled = compile(&req.file, &req.file_id);
            match &compiled {
                Ok(cases) => cases,
                Err(e) => broken(format!("the case child could not load the case: {e}")),
            }
        }
    };
    let Some(case) = cases.iter().find(|c| c.id == req.id) else {
        broken(format!("{} has no case `{}`", req.file.display(), req.id))
    };
    // Only a case that makes or opens files gets a directory of its own, as in `run_case`.
    let scratch = if uses_files(case) {
        use std::os::unix::fs::DirBuilderExt;
        if let Err(e) = std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            broken(format!(
                "cannot make a scratch directory in {}: {e}",
                req.scratch.display()
            ))
        }
        dir
    } else {
        req.scratch.clone()
    };
    let setup = Setup {
        record_fd,
        stderr_fd: log.unwrap_or(-1),
        scratch,
        mutate: req.mutate,
        layout_seed: req.layout_seed,
    };
    child::main(case, &setup)
}

/// Compiles every case of one file.
fn compile(file: &std::path::Path, file_id: &str) -> Result<Vec<Case>, String> {
    load::load_one(file, file_id).map_err(|d| {
        d.iter()
            .map(|d| format!("{}:{}: {}", d.file.display(), d.line, d.message))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// The case files a worker compiled last, by file and file id, newest first. A file's filesystem
/// variants and mutant runs are asked for one after the other, so a few files are enough to
/// compile most files once per worker. Keeping every file (as this did before) grew the worker's
/// heap with each file, and every `fork` copies the page table of that heap: over 2000 distinct
/// files the cases ran 10 % slower at the end than at the start.
struct Cache {
    recent: std::collections::VecDeque<(CacheKey, Result<Vec<Case>, String>)>,
}

type CacheKey = (PathBuf, String);

/// How many compiled files a worker keeps.
const CACHE_FILES: usize = 16;

impl Cache {
    fn new() -> Cache {
        Cache {
            recent: std::collections::VecDeque::with_capacity(CACHE_FILES),
        }
    }

    fn position(&self, file: &std::path::Path, file_id: &str) -> Option<usize> {
        self.recent
            .iter()
            .position(|((f, id), _)| f == file && id == file_id)
    }

    fn get(&self, file: &std::path::Path, file_id: &str) -> Option<&Result<Vec<Case>, String>> {
        self.position(file, file_id).map(|at| &self.recent[at].1)
    }

    /// The file's cases, compiled now unless they are among the recent ones.
    fn get_or_compile(
        &mut self,
        file: &std::path::Path,
        file_id: &str,
    ) -> &Result<Vec<Case>, String> {
        if let Some(at) = self.position(file, file_id) {
            let hit = self.recent.remove(at).expect("position is in range");
            self.recent.push_front(hit);
        } else {
            if self.recent.len() == CACHE_FILES {
                self.recent.pop_back();
            }
            let key = (file.to_path_buf(), file_id.to_string());
            self.recent.push_front((key, compile(file, file_id)));
        }
        &self.recent[0].1
    }
}

/// Runs one case, in `spare` when there is one; `None` when the worker was interrupted (the
/// child is already gone then).
fn run_request(req: &Request, cache: &mut Cache, spare: Option<Spare>) -> Option<CaseRun> {
    // The spare gets its case at once: it finds or compiles the case while the worker does the
    // same for judging, side by side rather than one after the other.
    let started = spare.and_then(|s| Started::new(s, req));
    let case = match cache.get_or_compile(&req.file, &req.file_id) {
        Ok(cases) => cases
            .iter()
            .find(|c| c.id == req.id)
            .ok_or_else(|| format!("{} has no case `{}`", req.file.display(), req.id)),
        Err(e) => Err(e.clone()),
    };
    let case = match case {
        Ok(c) => c,
        Err(e) => {
            if let Some(st) = started {
                st.abandon();
            }
            return Some(CaseRun::bare(
                &req.id,
                None,
                outcome::Status::Broken,
                format!("the worker could not load the case: {e}"),
            ));
        }
    };
    let run = Run {
        mutate: req.mutate.clone(),
        layout_seed: req.layout_seed,
        started,
    };
    run_case_with(case, &req.scratch, run)
}

/// How to run a case besides the case itself.
struct Run {
    mutate: Option<String>,
    layout_seed: Option<u64>,
    /// The spare child that already has the case.
    started: Option<Started>,
}

/// What a spare is sent: the request, and the scratch directory to make should its case use
/// files (the worker removes it after the case).
#[derive(Serialize, Deserialize)]
struct Go {
    req: Request,
    dir: PathBuf,
}

/// A spare child that has been sent its case.
struct Started {
    pid: i32,
    records: OwnedFd,
    start: Instant,
    dir: PathBuf,
}

impl Started {
    /// Sends `req` to the spare; `None` (the spare reaped) when it is gone.
    fn new(spare: Spare, req: &Request) -> Option<Started> {
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = req
            .scratch
            .join(format!("mmcheck-{}-{seq}", std::process::id()));
        if let Some(log) = child_log() {
            let _ = sys::raw(sys::nr::FTRUNCATE, [log as u64, 0, 0, 0, 0, 0]);
        }
        let go = Go {
            req: req.clone(),
            dir: dir.clone(),
        };
        let start = Instant::now();
        match spare.start(&go) {
            Ok((pid, records)) => Some(Started {
                pid,
                records,
                start,
                dir,
            }),
            Err(s) => {
                s.dismiss();
                None
            }
        }
    }

    /// Stops a child whose case the worker could not load.
    fn abandon(self) {
        sys::kill_group(self.pid);
        let _ = sys::wait(self.pid, true);
        sys::reap_strays();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Forks the case's child and supervises it. The scratch directory is removed when this returns,
/// whatever happened to the child.
pub fn run_case(
    case: &Case,
    scratch_root: &std::path::Path,
    mutate: Option<String>,
    layout_seed: Option<u64>,
) -> Option<CaseRun> {
    let run = Run {
        mutate,
        layout_seed,
        started: None,
    };
    run_case_with(case, scratch_root, run)
}

fn run_case_with(case: &Case, scratch_root: &std::path::Path, run: Run) -> Option<CaseRun> {
    let Run {
        mutate,
        layout_seed,
        started,
    } = run;
    let log = child_log();
    if let Some(st) = started {
        let run = supervise(case, st.pid, st.records, st.start, log, None);
        let _ = std::fs::remove_dir_all(&st.dir);
        return run;
    }
    // Only a case that makes or opens files gets a directory of its own (making and removing
    // one costs about 0.15 ms on ext4); the others never touch the filesystem.
    let dir = if uses_files(case) {
        match tempfile::Builder::new()
            .prefix("mmcheck-")
            .tempdir_in(scratch_root)
        {
            Ok(d) => Some(d),
            Err(e) => {
                let why = format!(
                    "cannot make a scratch directory in {}: {e}",
                    scratch_root.display()
                );
                return Some(CaseRun::broken(case, why));
            }
        }
    } else {
        None
    };
    let scratch = dir
        .as_ref()
        .map_or_else(|| scratch_root.to_path_buf(), |d| d.path().to_path_buf());
    if let Some(log) = log {
        let _ = sys::raw(sys::nr::FTRUNCATE, [log as u64, 0, 0, 0, 0, 0]);
    }
    let (read_end, write_end) = match nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC) {
        Ok(p) => p,
        Err(e) => {
            let why = format!("cannot make the record pipe: {}", e.desc());
            return Some(CaseRun::broken(case, why));
        }
    };
    let record_at = RECORD_FD.min(sys::top_fd());
    let start = Instant::now();
    let pid = match sys::fork() {
        Err(e) => return Some(CaseRun::broken(case, e.to_string())),
        Ok(Forked::Child) => {
            sys::set_own_group(0);
            drop(read_end);
            let setup = Setup {
                // The child's end lives until _exit or exec, never until a Rust drop. It sits at
                // a fixed high descriptor, so the case's own descriptors start at 3 as in a fresh
                // process and a case that lowers RLIMIT_NOFILE counts the same descriptors
                // wherever the runner was started.
                record_fd: sys::move_fd(write_end.into_raw_fd(), record_at),
                stderr_fd: log.unwrap_or(-1),
                scratch,
                mutate,
                layout_seed,
            };
            child::main(case, &setup)
        }
        Ok(Forked::Parent(pid)) => pid,
    };
    sys::set_own_group(pid);
    drop(write_end);
    supervise(case, pid, read_end, start, log, dir)
}

/// Reads the records of the case child `pid` (started at `start`) until it ends or its time is
/// up, kills its group and whatever escaped it, and judges the case.
fn supervise(
    case: &Case,
    pid: i32,
    read_end: OwnedFd,
    start: Instant,
    log: Option<i32>,
    dir: Option<tempfile::TempDir>,
) -> Option<CaseRun> {
    let deadline = start + case.timeout;
    let (stream, ended, timed_out) = read_records(read_end, deadline, pid)?;

    // The stream ended (or time ran out); give the child until the deadline to exit, then kill
    // its whole group, which also takes any grandchild a `fork` step left behind, and then
    // whatever escaped the group (the worker is their subreaper).
    let mut ended = ended;
    let mut timed_out = timed_out;
    while !timed_out && ended.is_none() {
        match sys::wait(pid, false) {
            Ok(Some(e)) => ended = Some(e),
            Ok(None) if Instant::now() < deadline => {
                let left = deadline.saturating_duration_since(Instant::now());
                sys::await_exit(pid, left.as_millis().clamp(1, 100) as u16);
            }
            Ok(None) => timed_out = true,
            Err(_) => break,
        }
    }
    sys::kill_group(pid);
    if ended.is_none() {
        ended = sys::wait(pid, true).ok().flatten();
    }
    sys::reap_strays();
    let stderr = log.map(read_log).unwrap_or_default();
    drop(dir);
    let seen = Seen {
        records: wire::decode(&stream),
        ended: if timed_out { None } else { ended },
        timed_out,
        stderr,
        millis: start.elapsed().as_millis() as u64,
    };
    let kernel = crate::env::running_linux_version();
    Some(outcome::classify(case, seen, kernel, sys::page_size()))
}

/// Where every case child's record pipe sits: high enough to stay clear of a case's own
/// descriptors and of any RLIMIT_NOFILE a case sets, low enough that the child's descriptor table
/// stays small (a table grown to a limit of 2^20 would cost megabytes and milliseconds per case).
const RECORD_FD: i32 = 255;

/// Whether a case makes, opens or lists files, and so needs a scratch directory of its own.
fn uses_files(case: &Case) -> bool {
    use crate::case::vocab::Call;
    case.plan
        .steps
        .iter()
        .any(|s| matches!(s.call, Call::File | Call::Open | Call::Dir | Call::Exec))
}

/// The worker's log for its children's stderr: one memfd, emptied before each case.
fn child_log() -> Option<i32> {
    static LOG: std::sync::OnceLock<Option<i32>> = std::sync::OnceLock::new();
    *LOG.get_or_init(|| {
        sys::memfd_create("mmcheck-child-stderr", libc::MFD_CLOEXEC as u64)
            .ok()
            .map(|fd| fd as i32)
    })
}

/// What a case child wrote to stderr (its first 64 KiB).
fn read_log(fd: i32) -> String {
    // Sized by what is there (nearly always nothing): a zeroed 64 KiB buffer per case would cost
    // page faults on the worker's hot path.
    let len = sys::fstat(fd).map_or(0, |st| st.size.min(64 << 10));
    if len == 0 {
        return String::new();
    }
    let mut buf = vec![0u8; len as usize];
    let n = sys::read_into(fd, &mut buf, Some(0)).unwrap_or(0) as usize;
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Reads the record stream until EOF, the deadline, or the child's exit: (bytes, how the child
/// ended if it was seen to, timed out). The child's exit ends the stream even while a process it
/// left behind holds the pipe open. `None` when the worker was interrupted, after killing the
/// child's group and everything it started.
fn read_records(
    read_end: OwnedFd,
    deadline: Instant,
    pid: i32,
) -> Option<(Vec<u8>, Option<sys::Ended>, bool)> {
    let mut stream = Vec::new();
    // One page on the stack: nearly every case's records fit in it. Each page the worker writes
    // after a fork is a copy-on-write fault, and a zeroed 64 KiB array was sixteen of them per
    // case; a stream that fills the page gets a 64 KiB buffer on the heap for the rest.
    let mut small = [0u8; 4096];
    let mut big: Vec<u8> = Vec::new();
    let mut ended = None;
    loop {
        if sys::interrupted() {
            sys::kill_group(pid);
            let _ = sys::wait(pid, true);
            sys::reap_strays();
            return None;
        }
        let now = Instant::now();
        if now >= deadline {
            return Some((stream, ended, true));
        }
        let wait_ms = (deadline - now).min(Duration::from_millis(50)).as_millis() as u16;
        // Once the child is gone, only what is already in the pipe counts.
        if !sys::poll_in(
            read_end.as_fd(),
            if ended.is_some() { 0 } else { wait_ms.max(1) },
        ) {
            if ended.is_some() {
                return Some((stream, ended, false));
            }
            if let Ok(Some(e)) = sys::wait(pid, false) {
                ended = Some(e);
            }
            continue;
        }
        let buf: &mut [u8] = if big.is_empty() { &mut small } else { &mut big };
        match nix::unistd::read(&read_end, buf) {
            Ok(0) => return Some((stream, ended, false)),
            Ok(n) => {
                stream.extend_from_slice(&buf[..n]);
                if n == small.len() && big.is_empty() {
                    big = vec![0u8; 64 * 1024];
                }
            }
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return Some((stream, ended, false)),
        }
    }
}
