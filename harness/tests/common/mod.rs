//! What the runner's own tests share: finding the processes of one run, and checking that a run
//! left nothing behind. A run is told apart by its TMPDIR, which every worker, case child and
//! process a case forked inherits.

#![allow(dead_code)] // each test binary uses its own part

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Runs mmcheck in `dir` (relative to the harness crate) without a pager: (exit code, stdout,
/// stderr).
pub fn mmcheck_in(dir: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mmcheck"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
        .env_remove("PAGER")
        .output()
        .expect("mmcheck runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// This process's effective uid, from /proc (the tests have no unsafe code).
pub fn effective_uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|u| u.parse().ok())
        .expect("/proc/self/status has Uid")
}

/// Pids of the processes (other than this one) whose environment carries `marker`.
pub fn processes_with(marker: &str) -> Vec<String> {
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

/// Loop devices whose backing file lies under `dir` (deleted or not).
pub fn loop_devices_under(dir: &Path) -> Vec<String> {
    let dir = dir.to_string_lossy().into_owned();
    std::fs::read_dir("/sys/block")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|d| {
            let backing = std::fs::read_to_string(d.path().join("loop/backing_file")).ok()?;
            backing
                .starts_with(&dir)
                .then(|| format!("{}: {}", d.file_name().to_string_lossy(), backing.trim()))
        })
        .collect()
}

/// Whether a program of this name is on PATH (as the runner, which runs it by name, finds it).
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Asserts that no process of the run (marked by `TMPDIR=scratch`) runs, and that `scratch`
/// holds no file and backs no loop device.
pub fn assert_nothing_left(scratch: &Path) {
    let marker = format!("TMPDIR={}", scratch.display());
    let left: Vec<String> = processes_with(&marker)
        .into_iter()
        .map(|p| {
            let cmd = std::fs::read_to_string(format!("/proc/{p}/cmdline")).unwrap_or_default();
            format!("{p} {}", cmd.replace('\0', " ").trim_end())
        })
        .collect();
    assert!(left.is_empty(), "processes outlived the run: {left:?}");
    let files: Vec<_> = std::fs::read_dir(scratch)
        .unwrap()
        .flatten()
        .map(|d| d.path())
        .collect();
    assert!(files.is_empty(), "left behind: {files:?}");
    let loops = loop_devices_under(scratch);
    assert!(loops.is_empty(), "loop devices still attached: {loops:?}");
}
