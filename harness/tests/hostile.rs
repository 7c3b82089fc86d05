//! Nothing a case does takes the runner down or fools it: the hostile fixtures in
//! `tests/fixtures/hostile` hang, crash, escape their process group, map over the harness, unmap
//! everything, kill themselves and garble the record pipe. Each gets the verdict it deserves, the
//! run finishes, and no process or scratch file outlives it.

mod common;

use std::path::Path;
use std::process::Command;

/// (id, verdict, words the reason must contain)
const EXPECTED: &[(&str, &str, &[&str])] = &[
    (
        "hang/spin",
        "broken",
        &["step 2 (selftest, line 11) did not finish within 1 s"],
    ),
    (
        "hang/kernel-call",
        "fail",
        &["step 2 (read, line 11) did not finish within 1 s"],
    ),
    // A process holding the record pipe open must not stall the case until its timeout (that
    // would be BROKEN, "did not exit within 30 s"), and must not outlive it (checked below).
    ("escape/orphan", "pass", &[]),
    ("escape/straggler", "pass", &[]),
    ("address-space/noreserve-1tib", "pass", &[]),
    (
        "address-space/fixed-over-stack",
        "broken",
        &["the harness itself was hit by SIGSEGV"],
    ),
    (
        "address-space/thread-unmaps-own-stack",
        "broken",
        &["the harness itself was hit by SIGSEGV"],
    ),
    // Whether the fault handler still runs (it reports "the harness itself was hit") or is
    // itself hit (the child is killed by SIGSEGV) depends on where the linker put it.
    ("address-space/fixed-over-code", "broken", &["SIGSEGV"]),
    (
        "address-space/munmap-everything",
        "broken",
        &["the child was killed by SIGSEGV during step 1 (munmap, line 6)"],
    ),
    (
        "signal/sigkill",
        "broken",
        &["the child was killed by SIGKILL during step 2 (selftest, line 11)"],
    ),
    (
        "record/garbage",
        "broken",
        &["record stream is garbled", "this is no record"],
    ),
    ("record/half", "broken", &["record stream is garbled"]),
    (
        "record/nothing",
        "broken",
        &["exited with status 0 during step 1 (selftest, line 6) without reporting it"],
    ),
    (
        "record/no-done",
        "broken",
        &["exited with status 0 during step 2 (selftest, line 10) without reporting it"],
    ),
    (
        "record/exit-status",
        "broken",
        &["the child exited with status 3 during step 1"],
    ),
    ("memory/until-rlimit-as", "pass", &[]),
    (
        "process/threaded-fork",
        "broken",
        &["refused to fork a process with 2 threads"],
    ),
    ("process/fork-after-join", "pass", &[]),
    ("after/plain", "pass", &[]),
];

#[test]
fn every_hostile_case_gets_its_verdict_and_nothing_outlives_the_run() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile");
    let scratch = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mmcheck"))
        .args(["run", "--format", "json", "-j", "2", "--cases"])
        .arg(&fixtures)
        .env("TMPDIR", scratch.path())
        .output()
        .expect("mmcheck runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "failures make the exit code 1");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("the run still prints JSON");
    let cases = doc["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), EXPECTED.len(), "{text}");

    for (id, status, words) in EXPECTED {
        let case = cases
            .iter()
            .find(|c| c["id"] == *id)
            .unwrap_or_else(|| panic!("{id} is missing from the run:\n{text}"));
        let reason = case["reason"].as_str().unwrap_or("");
        assert_eq!(case["status"], *status, "{id}: {reason}");
        for w in *words {
            assert!(reason.contains(w), "{id}: {w:?} is not in {reason:?}");
        }
    }

    common::assert_nothing_left(scratch.path());
}
