//! The suite as an ordinary user: every case passes or is skipped with its reason; nothing fails
//! for want of privileges. As root, the test switches to `nobody` (setpriv, util-linux) with no
//! capabilities at all; as anyone else, it runs as that user.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

const NOBODY: u32 = 65534;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn make_readable(dir: &Path, mode: u32) {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn as_an_ordinary_user_every_case_passes_or_says_why_it_skips() {
    let root = common::effective_uid() == 0;
    // The build directory may sit where `nobody` cannot reach (/root/...): run copies instead.
    let home = tempfile::tempdir().unwrap();
    make_readable(home.path(), 0o755);
    let exe = home.path().join("mmcheck");
    std::fs::copy(env!("CARGO_BIN_EXE_mmcheck"), &exe).unwrap();
    make_readable(&exe, 0o755);
    let cases = home.path().join("cases");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../cases"),
        &cases,
    );
    let scratch = home.path().join("scratch");
    std::fs::create_dir(&scratch).unwrap();
    make_readable(&scratch, 0o1777);

    let mut cmd = if root {
        let mut c = Command::new("setpriv");
        c.args([
            &format!("--reuid={NOBODY}"),
            &format!("--regid={NOBODY}"),
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--",
        ]);
        c.arg(&exe);
        c
    } else {
        Command::new(&exe)
    };
    let out = cmd
        .args(["run", "--format", "json", "--cases"])
        .arg(&cases)
        .env("TMPDIR", &scratch)
        .env("HOME", &scratch)
        .output()
        .expect("setpriv (util-linux) runs mmcheck as nobody");
    let text = String::from_utf8_lossy(&out.stdout);
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "no JSON ({e}); stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_ne!(doc["env"]["euid"], 0, "the run is not root's");
    let cases = doc["cases"].as_array().expect("cases");
    let mut problems = Vec::new();
    let mut passed = 0;
    for c in cases {
        match c["status"].as_str() {
            Some("pass") => passed += 1,
            Some("skip") if !c["reason"].as_str().unwrap_or("").is_empty() => {}
            _ => problems.push(format!("{}: {} {}", c["id"], c["status"], c["reason"])),
        }
    }
    assert!(
        problems.is_empty(),
        "as an ordinary user these cases neither pass nor skip with a reason:\n{}",
        problems.join("\n")
    );
    assert_eq!(out.status.code(), Some(0));
    // Most of the suite needs no privilege at all: an unprivileged run that skips nearly
    // everything would be a requirement check gone wrong.
    assert!(
        passed * 2 > cases.len(),
        "only {passed} of {} cases passed",
        cases.len()
    );
    eprintln!(
        "as uid {}: {passed} passed, {} skipped",
        doc["env"]["euid"],
        cases.len() - passed
    );
}
