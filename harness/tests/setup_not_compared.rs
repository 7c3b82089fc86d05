//! A missing tool on the machine is not kernel behaviour. This runs the suite as a fresh Debian
//! machine without xfsprogs and btrfs-progs would (mkfs.xfs and mkfs.btrfs hidden from PATH, and
//! mkfs.ext4 too, as a PATH without /usr/sbin does), and checks that every committed snapshot of
//! this kernel still holds: the cases on xfs and btrfs are skipped, those on ext4 run on
//! whatever ext4 directory the machine has (with its own block size) or are skipped, all marked
//! as the setup's and not compared; and the run says what to install.

use mmcheck::outcome::{CaseRun, Status};
use mmcheck::snapshot;
use std::path::Path;
use std::process::Command;

/// A directory of links to every program on PATH except the mkfs tools.
fn path_without_mkfs(dir: &Path) -> String {
    let path = std::env::var("PATH").unwrap_or_default();
    for entry in std::env::split_paths(&path) {
        let Ok(list) = std::fs::read_dir(&entry) else {
            continue;
        };
        for f in list.flatten() {
            let name = f.file_name();
            let hidden = ["mkfs.xfs", "mkfs.btrfs", "mkfs.ext4"];
            if hidden.iter().any(|h| name == *h) || dir.join(&name).exists() {
                continue;
            }
            let _ = std::os::unix::fs::symlink(f.path(), dir.join(&name));
        }
    }
    dir.display().to_string()
}

#[test]
fn snapshots_hold_without_the_mkfs_tools() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let links = tempfile::tempdir().expect("a temporary directory");
    let out = Command::new(env!("CARGO_BIN_EXE_mmcheck"))
        .args(["run", "--format", "json", "--cases"])
        .arg(repo.join("cases"))
        .env("PATH", path_without_mkfs(links.path()))
        .env_remove("MMCHECK_SCRATCH")
        .output()
        .expect("mmcheck runs");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "mmcheck run printed no JSON ({e}); stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let runs: Vec<CaseRun> = serde_json::from_value(doc["cases"].clone()).expect("cases parse");
    assert!(runs.len() > 500, "only {} cases ran", runs.len());

    // Whatever this machine lacks, a skip for the setup is marked so, and only such skips.
    for r in &runs {
        if r.reason.contains("mkfs.xfs is not installed")
            || r.reason.contains("mkfs.btrfs is not installed")
        {
            assert!(r.not_compared(), "{} is not marked as the setup's", r.id);
        }
        if r.id.ends_with("@ext4") && r.status != Status::Skip && mmcheck::sys::euid() == 0 {
            // As root the runner would have made a fresh ext4; this one is the machine's.
            assert!(
                r.not_compared(),
                "{} ran on the machine's ext4 but is compared",
                r.id
            );
        }
        if r.reason.starts_with("needs kernel") {
            assert!(
                !r.not_compared(),
                "{}: a kernel's skip marked as the setup's",
                r.id
            );
        }
    }
    let lines = mmcheck::render::not_compared_lines(&runs);
    let skipped_xfs = runs
        .iter()
        .filter(|r| r.status == Status::Skip && r.id.ends_with("@xfs"))
        .count();
    if mmcheck::sys::euid() == 0 {
        // As root the runner would have made xfs and btrfs scratch filesystems: now it cannot.
        assert!(skipped_xfs > 50, "only {skipped_xfs} xfs cases skipped");
        assert!(
            lines
                .iter()
                .any(|l| l.contains("mkfs.btrfs, mkfs.xfs missing")
                    && l.contains("apt-get install btrfs-progs xfsprogs")),
            "no line says what to install: {lines:?}"
        );
    }

    let key = doc["env"]["key"].as_str().expect("an environment key");
    let dir = snapshot::dir(&repo, key);
    if !snapshot::exists(&dir) {
        eprintln!("no committed snapshots for {key}: nothing to compare");
        return;
    }
    let mut changed = Vec::new();
    for group in snapshot::groups(&runs) {
        let committed = snapshot::read(&dir.join(format!("{group}.snap"))).unwrap_or_default();
        let text = snapshot::render_group(&group, &runs, Some(&committed));
        if text.trim_end() != committed.trim_end() {
            changed.push(group);
        }
    }
    assert!(
        changed.is_empty(),
        "without mkfs.xfs and mkfs.btrfs, the snapshots of {key} changed in: {}",
        changed.join(", ")
    );
}
