//! Per-environment snapshots: what every case observed, step by step, as stable text (symbols
//! and mapping-relative addresses, never raw addresses), one file per case group (`mmap`,
//! `mprotect`, ...) under `snapshots/<env-key>/`. The files use insta's format, so `cargo insta
//! review` reviews pending ones. The verdict against the contract is recorded beside, not mixed in.

use crate::outcome::{CaseRun, Status, StepRun};
use crate::results::{CaseResult, EnvInfo, ResultsDoc};
use std::path::{Path, PathBuf};

/// The group a case id belongs to: its first path component (`mmap/x@ext4` is in `mmap`).
pub fn group_of(id: &str) -> &str {
    id.split('/').next().unwrap_or(id)
}

/// The groups of a set of runs, in order.
pub fn groups<'a>(runs: impl IntoIterator<Item = &'a CaseRun>) -> Vec<String> {
    let mut out: Vec<String> = runs
        .into_iter()
        .map(|r| group_of(&r.id).to_string())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The snapshot text of one group: each case with its verdict, then each step's observation.
/// A case skipped for the machine's setup (a missing mkfs, no root) was not observed: it keeps
/// what the committed snapshot says of it, if that is an observation, and is left out otherwise.
pub fn render_group(group: &str, runs: &[CaseRun], committed: Option<&str>) -> String {
    let mut runs: Vec<&CaseRun> = runs.iter().filter(|r| group_of(&r.id) == group).collect();
    runs.sort_by(|a, b| a.id.cmp(&b.id));
    let kept = committed.map(case_blocks).unwrap_or_default();
    let mut out = String::new();
    for r in runs {
        if r.not_compared() {
            if let Some((_, block)) = kept.iter().find(|(id, _)| *id == r.id) {
                if !is_skip(block) {
                    out.push_str(block.trim_end());
                    out.push_str("\n\n");
                }
            }
            continue;
        }
        out.push_str(&render_case(r));
    }
    out
}

/// One case's block: `id: verdict`, its steps, and any layout-dependent rendering.
fn render_case(r: &CaseRun) -> String {
    let verdict = match r.status {
        Status::Pass => "pass".to_string(),
        Status::Fail => format!("FAIL: {}", stable_reason(first_line(&r.reason))),
        Status::Broken => format!("BROKEN: {}", stable(first_line(&r.reason))),
        // "needs kernel >=6.10; this is 6.1.0-28-cloud-amd64": the release's patch level is
        // not part of the environment key, so it stays out of the snapshot.
        Status::Skip => format!(
            "skip ({})",
            stable(r.reason.split(';').next().unwrap_or(""))
        ),
    };
    let mut out = format!("{}: {verdict}\n", r.id);
    for s in &r.steps {
        out.push_str(&format!("  {} {}: {}\n", s.label, s.call, stable_step(s)));
    }
    if !r.layout_dependent.is_empty() {
        out.push_str(&format!(
            "  layout-dependent: {}\n",
            stable(&r.layout_dependent.join("; "))
        ));
    }
    out.push('\n');
    out
}

/// A snapshot's case blocks, by id.
pub fn case_blocks(text: &str) -> Vec<(&str, &str)> {
    text.split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .filter_map(|b| {
            let b = b.trim_start_matches('\n');
            let id = b.split_once(": ")?.0;
            Some((id, b))
        })
        .collect()
}

fn is_skip(block: &str) -> bool {
    block.lines().next().is_some_and(|l| {
        l.split_once(": ")
            .is_some_and(|(_, v)| v.starts_with("skip"))
    })
}

/// The cases whose blocks differ between two renderings of a group, as (id, block in `old`,
/// block in `new`), a missing block as "".
pub fn changed_blocks(old: &str, new: &str) -> Vec<(String, String, String)> {
    let (old, new) = (case_blocks(old), case_blocks(new));
    let mut ids: Vec<&str> = old.iter().chain(&new).map(|(id, _)| *id).collect();
    ids.sort();
    ids.dedup();
    let find = |blocks: &[(&str, &str)], id: &str| {
        blocks
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, b)| b.trim_end().to_string())
            .unwrap_or_default()
    };
    ids.into_iter()
        .map(|id| (id.to_string(), find(&old, id), find(&new, id)))
        .filter(|(_, a, b)| a != b)
        .collect()
}

/// A step's observation as the snapshot keeps it. Fault counts vary from run to run (by a few
/// on a kernel: writeback timing, the stack's random offset; by dozens under an emulator, whose
/// own faults in the process count too), so a count is recorded against its contract: meeting
/// it, or not. A `faults` step without a contract only starts the count, and is recorded as such.
fn stable_step(s: &crate::outcome::StepRun) -> String {
    if s.call == "faults" {
        return match (&s.mismatch, s.explicit) {
            (None, true) => format!("as expected ({})", s.expected),
            // No fault counted at all is exact, and says the layer does not count them.
            (Some(_), _) if s.observed == "minflt 0, majflt 0" => s.observed.clone(),
            (Some(_), _) => format!("outside the contract ({})", s.expected),
            // A step that only starts the count: its number belongs to no rule.
            (None, false) => "counted".into(),
        };
    }
    stable(&s.observed)
}

/// A mismatch or reason as the snapshot keeps it: `stable`, and a fault count that missed its
/// contract without its number ("expected minor faults <8, observed outside it"), as in
/// `stable_step`; a count of 0 is exact and stays.
fn stable_reason(text: &str) -> String {
    let text = stable(text);
    for what in ["minor faults ", "major faults "] {
        let Some(at) = text.find(&format!("expected {what}")) else {
            continue;
        };
        let Some(obs) = text[at..]
            .find(", observed ")
            .map(|o| at + o + ", observed ".len())
        else {
            continue;
        };
        let end = text[obs..]
            .find(|c: char| !c.is_ascii_digit())
            .map_or(text.len(), |e| obs + e);
        if end > obs && &text[obs..end] != "0" {
            return format!("{}outside it{}", &text[..obs], &text[end..]);
        }
    }
    text
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// Removes what varies from run to run: absolute addresses become `<addr>`, and the iteration
/// count of a repeated step is rounded to two significant digits (a limit such as
/// vm.max_map_count counts the harness's own mappings too).
pub fn stable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("0x") {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let digits = from[2..]
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(from.len() - 2);
        if digits >= 5 {
            out.push_str("<addr>");
        } else {
            out.push_str(&from[..2 + digits]);
        }
        rest = &from[2 + digits..];
    }
    out.push_str(rest);
    round_iterations(&out)
}

fn round_iterations(text: &str) -> String {
    let Some(at) = text.find("(iteration ") else {
        return text.to_string();
    };
    let start = at + "(iteration ".len();
    let end = text[start..]
        .find(|c: char| !c.is_ascii_digit())
        .map_or(text.len(), |e| start + e);
    let Ok(n) = text[start..end].parse::<u64>() else {
        return text.to_string();
    };
    let rounded = if n < 100 {
        n.to_string()
    } else {
        let scale = 10u64.pow((n as f64).log10().floor() as u32 - 1);
        format!("~{}", (n + scale / 2) / scale * scale)
    };
    format!("{}{}{}", &text[..start], rounded, &text[end..])
}

/// The stable form of a run's results document, committed as `snapshots/<key>/results.json`
/// for reports: the environment, and per case its verdict and observed steps, without raw
/// values, timings or machine paths. As in `render_group`, a case skipped for the machine's
/// setup keeps its entry of the `committed` results, if that is an observation, and is left out
/// otherwise. A kernel release is machine detail unless behaviour changed: when the only
/// difference from the `committed` results is the release (the host's kernel is another build of
/// the same series), the committed release is kept, so the file changes only with behaviour.
pub fn stable_results(doc: &ResultsDoc, committed: Option<&ResultsDoc>) -> ResultsDoc {
    let env = EnvInfo {
        euid: None,
        scratch: Vec::new(),
        default_scratch: None,
        ..doc.env.clone()
    };
    let cases = doc
        .cases
        .iter()
        .filter_map(|c| {
            if c.run.not_compared() {
                return committed?
                    .case(c.id())
                    .filter(|k| k.status() != Status::Skip)
                    .cloned();
            }
            Some(stable_case(c))
        })
        .collect();
    let fresh = ResultsDoc::new(env, cases);
    if let Some(k) = committed.filter(|k| k.env.release != fresh.env.release) {
        let mut same = fresh.clone();
        same.env.release.clone_from(&k.env.release);
        if same.to_text() == k.to_text() {
            return same;
        }
    }
    fresh
}

fn stable_case(c: &CaseResult) -> CaseResult {
    let r = &c.run;
    let steps = r
        .steps
        .iter()
        .map(|s| StepRun {
            observed: stable_step(s),
            mismatch: s.mismatch.as_deref().map(stable_reason),
            obs: None,
            explicit: false,
            ..s.clone()
        })
        .collect();
    CaseResult {
        run: CaseRun {
            reason: stable_reason(r.reason.split(';').next().unwrap_or("")),
            steps,
            millis: 0,
            layout_dependent: r.layout_dependent.iter().map(|l| stable(l)).collect(),
            ..r.clone()
        },
        ..c.clone()
    }
}

/// How environments are ordered in reports: grouped by architecture (x86_64, aarch64, ppc64le),
/// and within one, Linux newest first, then User-mode Linux, qemu-user and gVisor.
pub fn env_order(key: &str) -> (usize, usize, i64, String) {
    const ARCHES: &[&str] = &["x86_64", "aarch64", "ppc64le"];
    const PLATFORMS: &[&str] = &["linux-", "uml-", "qemu-user-", "gvisor-"];
    let arch = ARCHES
        .iter()
        .position(|a| key.contains(&format!("-{a}")))
        .unwrap_or(ARCHES.len());
    let platform = PLATFORMS
        .iter()
        .position(|p| key.starts_with(p))
        .unwrap_or(PLATFORMS.len());
    let version = PLATFORMS
        .get(platform)
        .and_then(|p| crate::version::parse_release(&key[p.len()..]))
        .map_or(0, |(major, minor, _)| -((major * 1000 + minor) as i64));
    (arch, platform, version, key.to_string())
}

/// `snapshots/<key>` under the repository root.
pub fn dir(root: &Path, key: &str) -> PathBuf {
    root.join("snapshots").join(key)
}

/// Whether an environment has committed snapshots at all.
pub fn exists(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|mut d| d.any(|e| e.is_ok_and(|e| e.path().extension().is_some_and(|x| x == "snap"))))
        .unwrap_or(false)
}

/// The content of a snapshot file, without insta's header.
pub fn read(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let body = text
        .strip_prefix("---\n")
        .and_then(|t| t.split_once("\n---\n"))
        .map(|(_, body)| body)
        .unwrap_or(&text);
    Some(body.to_string())
}

/// Writes a snapshot file in insta's format.
pub fn write(path: &Path, key: &str, group: &str, content: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let header = format!(
        "---\nsource: harness/src/snapshot.rs\ndescription: \"{group} cases observed in {key}\"\n---\n"
    );
    std::fs::write(path, format!("{header}{content}"))
}

/// How a fresh rendering compares with the committed snapshot.
#[derive(Debug, PartialEq)]
pub enum Compared {
    Same,
    /// Differs; the new text was written beside it as `<group>.snap.new`.
    Changed {
        old: String,
    },
    /// No committed snapshot; the new text was written as `<group>.snap.new`.
    New,
    /// `bless`: written over the committed snapshot.
    Accepted,
}

/// Compares `content` with `dir/<group>.snap`; writes `.snap.new` for review, or the `.snap`
/// itself with `bless`.
pub fn compare(
    dir: &Path,
    key: &str,
    group: &str,
    content: &str,
    bless: bool,
) -> std::io::Result<Compared> {
    let committed = dir.join(format!("{group}.snap"));
    let pending = dir.join(format!("{group}.snap.new"));
    let old = read(&committed);
    if old.as_deref().map(str::trim_end) == Some(content.trim_end()) {
        let _ = std::fs::remove_file(&pending);
        return Ok(Compared::Same);
    }
    if bless {
        write(&committed, key, group, content)?;
        let _ = std::fs::remove_file(&pending);
        return Ok(Compared::Accepted);
    }
    write(&pending, key, group, content)?;
    Ok(match old {
        Some(old) => Compared::Changed { old },
        None => Compared::New,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_count_outside_its_contract_is_kept_without_its_number() {
        assert_eq!(
            stable_reason("step 3 (faults, line 15): expected minor faults <8, observed 26"),
            "step 3 (faults, line 15): expected minor faults <8, observed outside it"
        );
        assert_eq!(
            stable_reason("expected major faults 0, observed 1; more"),
            "expected major faults 0, observed outside it; more"
        );
        assert_eq!(
            stable_reason("expected errno = EINVAL, observed = 0"),
            "expected errno = EINVAL, observed = 0"
        );
    }

    #[test]
    fn unstable_parts_are_removed() {
        assert_eq!(stable("= 0x7f12345000 at $m+PAGE"), "= <addr> at $m+PAGE");
        assert_eq!(stable("byte 0x41 and 0x7fff"), "byte 0x41 and 0x7fff");
        assert_eq!(
            stable("ENOMEM (iteration 32751)"),
            "ENOMEM (iteration ~33000)"
        );
        assert_eq!(stable("ENOMEM (iteration 7)"), "ENOMEM (iteration 7)");
        assert_eq!(
            stable("= 0x12345678 (iteration 123)"),
            "= <addr> (iteration ~120)"
        );
    }

    #[test]
    fn changed_blocks_name_each_case_that_differs() {
        let old = "a/x: pass\n  step 1 mmap: = $m\n\na/y: pass\n\n";
        let new = "a/x: pass\n  step 1 mmap: = $n\n\na/z: pass\n\n";
        assert_eq!(
            changed_blocks(old, new),
            vec![
                (
                    "a/x".into(),
                    "a/x: pass\n  step 1 mmap: = $m".into(),
                    "a/x: pass\n  step 1 mmap: = $n".into()
                ),
                ("a/y".into(), "a/y: pass".into(), String::new()),
                ("a/z".into(), String::new(), "a/z: pass".into()),
            ]
        );
        assert!(changed_blocks(old, old).is_empty());
    }

    #[test]
    fn compare_writes_pending_then_accepts() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert_eq!(
            compare(d, "k", "mmap", "a\n", false).unwrap(),
            Compared::New
        );
        assert!(d.join("mmap.snap.new").exists());
        assert_eq!(
            compare(d, "k", "mmap", "a\n", true).unwrap(),
            Compared::Accepted
        );
        assert!(!d.join("mmap.snap.new").exists());
        assert_eq!(read(&d.join("mmap.snap")).unwrap(), "a\n");
        assert_eq!(
            compare(d, "k", "mmap", "a\n", false).unwrap(),
            Compared::Same
        );
        assert_eq!(
            compare(d, "k", "mmap", "b\n", false).unwrap(),
            Compared::Changed { old: "a\n".into() }
        );
    }
    fn doc(release: &str, status: &str) -> ResultsDoc {
        ResultsDoc::parse(&format!(
            r#"{{"env": {{"key": "linux-6.18-x86_64", "release": "{release}", "machine": "x86_64",
                "platform": "linux", "page_size": 4096}},
               "totals": {{"passed": 0, "failed": 0, "broken": 0, "skipped": 0}},
               "cases": [{{"id": "munmap/x", "status": "{status}", "reason": "",
                 "steps": [{{"label": "step 1", "call": "munmap", "line": 3,
                   "expected": "ok", "observed": "= 0"}}],
                 "summary": "s", "symbols": ["munmap"]}}]}}"#
        ))
        .unwrap()
    }

    #[test]
    fn another_build_of_the_kernel_keeps_the_committed_release_unless_behaviour_changed() {
        let committed = stable_results(&doc("6.18.44-fc-v1045", "pass"), None);
        let same = stable_results(&doc("6.18.44-fc-v1147", "pass"), Some(&committed));
        assert_eq!(same.env.release, "6.18.44-fc-v1045");
        let changed = stable_results(&doc("6.18.44-fc-v1147", "fail"), Some(&committed));
        assert_eq!(changed.env.release, "6.18.44-fc-v1147");
        let first = stable_results(&doc("6.18.44-fc-v1147", "pass"), None);
        assert_eq!(first.env.release, "6.18.44-fc-v1147");
    }
}
