//! Nothing is lost or left behind: when a run is interrupted while a case hangs, the case's
//! process group is killed and its scratch directory removed, and the runner says so.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

/// Processes whose environment carries `marker`: the runner, its workers, the case child.
fn processes_with(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.chars().all(|c| c.is_ascii_digit()) || name == std::process::id().to_string() {
            continue;
        }
        if let Ok(env) = std::fs::read(entry.path().join("environ")) {
            if env.split(|b| *b == 0).any(|v| v == marker.as_bytes()) {
                found.push(name);
            }
        }
    }
    found
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `target` turns the runner's pid into what `kill` is given: the runner alone (`kill PID`, as a CI
/// timeout does) or its whole process group (`kill -- -PGID`, as Ctrl-C in a terminal does).
fn interrupt_run(signal: &str, target: fn(u32) -> String) {
    let cases = tempfile::tempdir().unwrap();
    std::fs::create_dir(cases.path().join("hang")).unwrap();
    std::fs::write(cases.path().join("hang/forever.toml"), HANGING_CASE).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let marker = format!("TMPDIR={}", scratch.path().display());

    let runner = Command::new(env!("CARGO_BIN_EXE_mmcheck"))
        .process_group(0)
        .args(["run", "--cases"])
        .arg(cases.path())
        .env("TMPDIR", scratch.path())
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
    // runner, worker, case child
    assert!(
        processes_with(&marker).len() >= 3,
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
        assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
    }

    wait_until("every process of the run is gone", || {
        processes_with(&marker).is_empty()
    });
    let left: Vec<_> = std::fs::read_dir(scratch.path())
        .unwrap()
        .flatten()
        .map(|d| d.path())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(Path::new(scratch.path()).exists());
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
