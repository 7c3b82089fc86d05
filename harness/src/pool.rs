//! A pool of worker processes shared by test threads (or `mmcheck run`'s threads). A thread takes
//! an idle worker, sends it one request, reads one verdict, and gives it back.

use crate::case::plan::Case;
use crate::outcome::CaseRun;
use crate::worker::Request;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;

/// Why a worker could not run a case: the case is BROKEN with this reason, never a deviation.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("cannot start the worker {}: {source}", exe.display())]
    Start {
        exe: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot send the request: {0}")]
    Send(std::io::Error),
    #[error("it exited without answering")]
    Silent,
    #[error("garbled answer: {0}")]
    Garbled(serde_json::Error),
    #[error("cannot read its answer: {0}")]
    Read(std::io::Error),
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

pub struct Pool {
    exe: PathBuf,
    idle: Mutex<Vec<Worker>>,
}

impl Pool {
    /// `exe` is the mmcheck binary; workers are started on demand.
    pub fn new(exe: &Path) -> Pool {
        Pool {
            exe: exe.to_path_buf(),
            idle: Mutex::new(Vec::new()),
        }
    }

    fn spawn(&self) -> Result<Worker, PoolError> {
        let mut child = Command::new(&self.exe)
            .arg("__worker")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|source| PoolError::Start {
                exe: self.exe.clone(),
                source,
            })?;
        crate::sys::register_worker(child.id() as i32);
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        Ok(Worker {
            child,
            stdin,
            stdout,
        })
    }

    /// Runs one case in some worker. A worker that dies is replaced, and the case is broken.
    pub fn run(
        &self,
        case: &Case,
        scratch: &Path,
        mutate: Option<&str>,
        layout_seed: Option<u64>,
    ) -> CaseRun {
        let req = Request {
            layout_seed,
            file: case.path.clone(),
            file_id: case.file_id.clone(),
            id: case.id.clone(),
            scratch: scratch.to_path_buf(),
            mutate: mutate.map(str::to_string),
        };
        let taken = self.idle.lock().expect("pool lock").pop();
        let mut worker = match taken.map(Ok).unwrap_or_else(|| self.spawn()) {
            Ok(w) => w,
            Err(e) => return CaseRun::broken(case, e.to_string()),
        };
        match exchange(&mut worker, &req) {
            Ok(run) => {
                self.idle.lock().expect("pool lock").push(worker);
                run
            }
            Err(e) => {
                crate::sys::unregister_worker(worker.child.id() as i32);
                let _ = worker.child.kill();
                let status = worker
                    .child
                    .wait()
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                CaseRun::broken(case, format!("the worker process failed ({e}; {status})"))
            }
        }
    }
}

fn exchange(w: &mut Worker, req: &Request) -> Result<CaseRun, PoolError> {
    let mut line = serde_json::to_vec(req).expect("requests serialize");
    line.push(b'\n');
    w.stdin
        .write_all(&line)
        .and_then(|_| w.stdin.flush())
        .map_err(PoolError::Send)?;
    let mut answer = String::new();
    match w.stdout.read_line(&mut answer) {
        Ok(0) => Err(PoolError::Silent),
        Ok(_) => serde_json::from_str(&answer).map_err(PoolError::Garbled),
        Err(e) => Err(PoolError::Read(e)),
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Closing stdin ends each worker's loop; wait so none outlives the run.
        for mut w in self
            .idle
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
        {
            drop(w.stdin);
            let _ = w.child.wait();
            crate::sys::unregister_worker(w.child.id() as i32);
        }
    }
}
