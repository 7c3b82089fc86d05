//! Nothing is lost or left behind: when a run is interrupted while a case hangs, the case's
//! process group is killed and its scratch directory removed, and the runner says so.

mod common;

use common::{assert_nothing_left, loop_devices_under, processes_with, wait_until};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const HANGING_CASE: &str = r#"
summary = "blocks on an empty pipe until it is killed"
symbols = ["read"]
refs = ["pipe(7)"]
timeout = 60
# On a scratch filesystem, so that as root the run also has loop mounts to remove.
requires = { fs = ["ext4"] }

[[step]]
id = "f"
call = "file"
args = { size = "PAGE" }

[[step]]
id = "p"
call = "pipe"

[[step]]
call = "read"
args = { fd = "$p", len = 1 }
"#;

const FAST_CASE: &str = r#"
summary = "maps a page"
symbols = ["mmap"]
refs = ["mmap(2)"]

[[step]]
call = "mmap"
args = { len = "PAGE", prot = "PROT_READ", flags = "MAP_PRIVATE|MAP_ANONYMOUS" }
"#;

/// `target` turns the runner's pid into what `kill` is given: the runner alone (`kill PID`, as a CI
/// timeout does) or its whole process group (`kill -- -PGID`, as Ctrl-C in a terminal does).
fn interrupt_run(signal: &str, target: fn(u32) -> String) {
    interrupt_run_with_jobs(signal, target, 1);
}

/// With `jobs` 2 (and MMCHECK_SPARE=1), the worker that ran the fast case sits idle beside the
/// hanging one, with the next case's child already forked and waiting (its spare): that one
/// must go too.
fn interrupt_run_with_jobs(signal: &str, target: fn(u32) -> String, jobs: u32) {
    let cases = tempfile::tempdir().unwrap();
    std::fs::create_dir(cases.path().join("hang")).unwrap();
    std::fs::write(cases.path().join("hang/forever.toml"), HANGING_CASE).unwrap();
    // Runs first (one job, cases in id order), so its verdict is in by the time the run is
    // interrupted, and must be printed all the same.
    std::fs::create_dir(cases.path().join("fast")).unwrap();
    std::fs::write(cases.path().join("fast/done.toml"), FAST_CASE).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let marker = format!("TMPDIR={}", scratch.path().display());

    let runner = Command::new(env!("CARGO_BIN_EXE_mmcheck"))
        .process_group(0)
        .args(["run", "-j", &jobs.to_string(), "--cases"])
        .arg(cases.path())
        .env("TMPDIR", scratch.path())
        .env("MMCHECK_SPARE", if jobs > 1 { "1" } else { "0" })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // The case is running once a scratch directory holds the file of its first step: directly
    // in TMPDIR, or (as root) inside the ext4 mount the janitor made there.
    fn holds_case_file(dir: &Path, depth: u32) -> bool {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .any(|d| {
                let p = d.path();
                p.join("f").exists() || (depth > 0 && p.is_dir() && holds_case_file(&p, depth - 1))
            })
    }
    let scratch_has_case = || holds_case_file(scratch.path(), 3);
    wait_until("the case started", scratch_has_case);
    // runner, worker, case child; with two jobs also the idle worker and its spare child
    let expected = if jobs > 1 { 5 } else { 3 };
    if jobs > 1 {
        // Each worker has a child: one runs the hanging case, the other is the idle one's spare.
        wait_until("the idle worker has its spare", || {
            // A worker's children are forks of it, with its command line: a worker is a
            // `__worker` whose parent is not one.
            let is_worker = |p: u32| {
                std::fs::read_to_string(format!("/proc/{p}/cmdline"))
                    .is_ok_and(|c| c.contains("__worker"))
            };
            let workers: Vec<u32> = processes_with(&marker)
                .iter()
                .filter_map(|p| p.parse().ok())
                .filter(|&p| is_worker(p) && !parent_of(p).is_some_and(is_worker))
                .collect();
            workers.len() == 2 && workers.iter().all(|w| !children_of(*w).is_empty())
        });
    }
    assert!(
        processes_with(&marker).len() >= expected,
        "{:?}",
        processes_with(&marker)
    );

    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg("--")
        .arg(target(runner.id()))
        .status()
        .unwrap();
    assert!(status.success());
    let out = runner.wait_with_output().unwrap();
    if signal != "KILL" {
        assert_eq!(out.status.code(), Some(130));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("interrupted after 1 of 2 cases"),
            "{stderr}"
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let row = stdout.lines().find(|l| l.starts_with("fast/done"));
        assert!(
            row.is_some_and(|r| r.ends_with("pass")),
            "the finished case's verdict is printed:\n{stdout}"
        );
        assert!(!stdout.contains("hang/forever"), "{stdout}");
    }

    wait_until("every process of the run is gone", || {
        processes_with(&marker).is_empty()
    });
    assert_nothing_left(scratch.path());
}

#[test]
fn sigterm_to_the_runner_alone_cleans_up() {
    interrupt_run("TERM", |pid| pid.to_string());
}

#[test]
fn ctrl_c_to_the_process_group_cleans_up() {
    interrupt_run("INT", |pid| format!("-{pid}"));
}

#[test]
fn sigkill_to_the_runner_still_cleans_up() {
    interrupt_run("KILL", |pid| pid.to_string());
}

#[test]
fn sigterm_with_an_idle_worker_and_its_spare_cleans_up() {
    interrupt_run_with_jobs("TERM", |pid| pid.to_string(), 2);
}

#[test]
fn ctrl_c_with_an_idle_worker_and_its_spare_cleans_up() {
    interrupt_run_with_jobs("INT", |pid| format!("-{pid}"), 2);
}

/// The children of a process, from /proc (the kernel lists them per thread).
fn children_of(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// The parent of a process.
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(") ")?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// A live process, not a zombie waiting for a parent to reap it.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z')))
        .unwrap_or(false)
}

/// A worker keeps the next case's child forked and waiting; `how` ends the worker (closing its
/// requests, or SIGKILL), and the waiting child must not outlive it.
fn spare_goes_with_its_worker(kill_worker: bool) {
    let scratch = tempfile::tempdir().unwrap();
    let marker = format!("TMPDIR={}", scratch.path().display());
    let mut worker = Command::new(env!("CARGO_BIN_EXE_mmcheck"))
        .arg("__worker")
        .env("TMPDIR", scratch.path())
        .env("MMCHECK_SPARE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the worker forked its spare", || {
        !children_of(worker.id()).is_empty()
    });
    let spare = children_of(worker.id())[0];
    assert!(alive(spare));
    if kill_worker {
        worker.kill().unwrap();
        let _ = worker.wait().unwrap();
    } else {
        drop(worker.stdin.take());
        let status = worker.wait().unwrap();
        assert!(status.success(), "{status}");
        // Reaped by the worker before it exited: not even a zombie is left.
        assert!(
            !Path::new(&format!("/proc/{spare}")).exists() || !alive(spare),
            "spare {spare} outlived its worker"
        );
    }
    wait_until("the spare is gone", || !alive(spare));
    wait_until("every process of the worker is gone", || {
        processes_with(&marker).is_empty()
    });
    assert_nothing_left(scratch.path());
}

#[test]
fn a_worker_reaps_its_unused_spare_when_its_requests_end() {
    spare_goes_with_its_worker(false);
}

#[test]
fn a_spare_ends_by_itself_when_its_worker_is_killed() {
    spare_goes_with_its_worker(true);
}

/// `mmcheck matrix` interrupted while one environment is done, the host runner is in the middle
/// of a hanging case (with its scratch mounts), and a "VM" runs with a process that left its
/// group: the finished environment is summarised, everything else is stopped and removed.
#[test]
fn sigterm_to_the_matrix_stops_every_environment() {
    let dir = tempfile::tempdir().unwrap();
    let quick = dir.path().join("quick");
    std::fs::create_dir_all(quick.join("fast")).unwrap();
    std::fs::write(quick.join("fast/done.toml"), FAST_CASE).unwrap();
    let hanging = dir.path().join("hanging");
    std::fs::create_dir_all(hanging.join("hang")).unwrap();
    std::fs::write(hanging.join("hang/forever.toml"), HANGING_CASE).unwrap();
    let exe = env!("CARGO_BIN_EXE_mmcheck");
    let envs = format!(
        r#"
[[env]]
name = "done"
about = "finishes at once"
run = "{exe} run --format json --cases {quick}"

[[env]]
name = "hang"
about = "the host runner in the middle of a hanging case"
run = "{exe} run --format json --cases {hanging}"

[[env]]
name = "vm"
about = "a VM that never finishes, one of whose processes left the group"
run = "sleep 1000 & setsid sleep 1000 & wait"
"#,
        quick = quick.display(),
        hanging = hanging.display()
    );
    std::fs::write(dir.path().join("envs.toml"), envs).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let marker = format!("TMPDIR={}", scratch.path().display());

    let matrix = Command::new(exe)
        .args(["matrix", "-j", "3", "--envs"])
        .arg(dir.path().join("envs.toml"))
        .arg("--cases")
        .arg(&quick)
        .env("TMPDIR", scratch.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let sleeping = || {
        processes_with(&marker)
            .iter()
            .filter(|p| {
                std::fs::read_to_string(format!("/proc/{p}/cmdline"))
                    .is_ok_and(|c| c.starts_with("sleep"))
            })
            .count()
    };
    // The hanging case has made its file, and both sleeps of the "VM" run.
    wait_until("every environment is running", || {
        sleeping() == 2 && std::fs::read_dir(scratch.path()).is_ok_and(|mut d| d.next().is_some())
    });
    std::thread::sleep(Duration::from_millis(300));

    let status = Command::new("kill")
        .args(["-TERM", &matrix.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(matrix.wait_with_output()));
    let out = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the interrupted matrix exits within a minute")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stdout}{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let done = stdout
        .lines()
        .find(|l| l.starts_with("done "))
        .unwrap_or("");
    assert!(
        done.split_whitespace().nth(3) == Some("1"),
        "the finished environment's pass count is summarised:\n{stdout}"
    );
    for name in ["hang ", "vm "] {
        let row = stdout.lines().find(|l| l.starts_with(name)).unwrap_or("");
        assert!(row.contains("could not run"), "{name}:\n{stdout}");
    }
    assert!(stdout.contains("interrupted"), "{stdout}");

    // Nothing of the run is left, at once: the matrix reaped it all before exiting.
    assert_nothing_left(scratch.path());
}

/// Only SIGKILL to the scratch janitor itself can leave its mounts behind (it outlives the
/// runner on purpose); the next run as root finds them and removes them.
#[test]
fn the_next_run_removes_what_a_killed_janitor_left() {
    if common::effective_uid() != 0 {
        eprintln!("not root: no janitor, no mounts to leave behind");
        return;
    }
    if !common::on_path("mkfs.ext4") {
        eprintln!(
            "mkfs.ext4 is not on PATH: the janitor cannot make the ext4 image to leave behind"
        );
        return;
    }
    let cases = tempfile::tempdir().unwrap();
    std::fs::create_dir(cases.path().join("hang")).unwrap();
    std::fs::write(cases.path().join("hang/forever.toml"), HANGING_CASE).unwrap();
    let quick = tempfile::tempdir().unwrap();
    std::fs::create_dir(quick.path().join("fast")).unwrap();
    std::fs::write(quick.path().join("fast/done.toml"), FAST_CASE).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let marker = format!("TMPDIR={}", scratch.path().display());

    let mut runner = Command::new(env!("CARGO_BIN_EXE_mmcheck"))
        .process_group(0)
        .args(["run", "--cases"])
        .arg(cases.path())
        .env("TMPDIR", scratch.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // runner, janitor, worker, case child
    wait_until("the case runs on its ext4 image", || {
        !loop_devices_under(scratch.path()).is_empty() && processes_with(&marker).len() >= 4
    });
    // Everything of the run dies at once, the janitor first (killed after its runner, it would
    // notice and clean up, as it should).
    let mut pids = processes_with(&marker);
    pids.sort_by_key(|p| {
        !std::fs::read_to_string(format!("/proc/{p}/cmdline"))
            .is_ok_and(|c| c.contains("__scratch"))
    });
    let _ = Command::new("kill").arg("-KILL").args(&pids).status();
    let _ = runner.wait();
    wait_until("the killed run is gone", || {
        processes_with(&marker).is_empty()
    });
    assert!(
        !loop_devices_under(scratch.path()).is_empty(),
        "the killed janitor left its image attached (else this test shows nothing)"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_mmcheck"))
        .args(["run", "--cases"])
        .arg(quick.path())
        .env("TMPDIR", scratch.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("left by a scratch janitor that was killed"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_nothing_left(scratch.path());
}
