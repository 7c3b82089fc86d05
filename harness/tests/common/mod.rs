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

/// Checks a KTAP document line by line against the format rules of the kernel's
/// Documentation/dev-tools/ktap.rst and kselftest.h: the version line first, the plan second,
/// then result lines `ok N name` / `not ok N name` numbered in order, a name without `#`, a
/// directive only as `ok N name # SKIP reason`, everything else a `#` diagnostic line, as many
/// results as planned, and a closing `# Totals:` line that agrees with the result lines.
/// Returns the number of results.
pub fn check_ktap(text: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0] == "TAP version 13" || lines[0] == "KTAP version 1",
        "version line first: {}",
        lines[0]
    );
    let plan: usize = lines[1]
        .strip_prefix("1..")
        .expect("plan second")
        .parse()
        .unwrap();
    let (mut seen, mut passed, mut skipped) = (0, 0, 0);
    for l in &lines[2..] {
        if l.starts_with('#') {
            continue;
        }
        let (ok, rest) = if let Some(r) = l.strip_prefix("not ok ") {
            (false, r)
        } else if let Some(r) = l.strip_prefix("ok ") {
            (true, r)
        } else {
            panic!("not a KTAP line: {l:?}");
        };
        seen += 1;
        let (number, name) = rest.split_once(' ').expect("number and name");
        assert_eq!(
            number.parse::<usize>().unwrap(),
            seen,
            "results are numbered in order"
        );
        let (name, directive) = match name.split_once(" # ") {
            Some((n, d)) => (n, Some(d)),
            None => (name, None),
        };
        assert!(!name.contains('#') && !name.is_empty(), "{l}");
        match directive {
            Some(d) => {
                assert!(
                    ok && d.starts_with("SKIP ") && d.len() > "SKIP ".len(),
                    "only ok lines carry SKIP, with a reason: {l}"
                );
                skipped += 1;
            }
            None if ok => passed += 1,
            None => {}
        }
    }
    assert_eq!(seen, plan, "as many results as planned");
    let totals = lines.last().unwrap();
    let count = |key: &str| -> usize {
        totals
            .split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{key} in {totals}"))
    };
    assert!(totals.starts_with("# Totals: "), "{totals}");
    assert_eq!(count("pass:"), passed, "{totals}");
    assert_eq!(count("skip:"), skipped, "{totals}");
    assert_eq!(
        count("fail:") + count("error:"),
        seen - passed - skipped,
        "{totals}"
    );
    seen
}
