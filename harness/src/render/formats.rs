//! Machine formats of a run for the systems that run kernel tests at scale: KTAP, as the
//! kernel's selftests print it (KernelCI and LAVA read it), and JUnit XML (GitHub Actions, GitLab,
//! Jenkins).

use crate::case::plan::Case;
use crate::env::HostEnv;
use crate::outcome::{CaseRun, Status};
use crate::snapshot::group_of;
use std::fmt::Write as _;

/// kselftest's exit codes (tools/testing/selftests/kselftest.h).
pub const KSFT_PASS: u8 = 0;
pub const KSFT_FAIL: u8 = 1;
pub const KSFT_SKIP: u8 = 4;

/// The exit code kselftest would give this run: fail if anything failed, skip if everything
/// was skipped, else pass.
pub fn ksft_exit(runs: &[CaseRun]) -> u8 {
    if runs
        .iter()
        .any(|r| matches!(r.status, Status::Fail | Status::Broken))
    {
        KSFT_FAIL
    } else if !runs.is_empty() && runs.iter().all(|r| r.status == Status::Skip) {
        KSFT_SKIP
    } else {
        KSFT_PASS
    }
}

/// One KTAP document: version line, plan, one result line per case with diagnostics above a
/// failure, and the `# Totals:` line.
pub fn ktap(host: &HostEnv, runs: &[CaseRun]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "TAP version 13");
    let _ = writeln!(s, "1..{}", runs.len());
    let _ = writeln!(
        s,
        "# mmcheck on {} ({} {}, page size {})",
        host.env_key, host.platform, host.release, host.page_size
    );
    for (i, r) in runs.iter().enumerate() {
        let n = i + 1;
        // A test name may not contain '#', which starts a directive.
        let name = r.id.replace('#', "_");
        match r.status {
            Status::Pass => {
                let _ = writeln!(s, "ok {n} {name}");
            }
            Status::Skip => {
                let _ = writeln!(s, "ok {n} {name} # SKIP {}", one_line(&r.reason));
            }
            Status::Fail | Status::Broken => {
                let kind = if r.status == Status::Broken {
                    "BROKEN (the harness failed, not the kernel)"
                } else {
                    "the kernel deviates from the documented contract"
                };
                let _ = writeln!(s, "# {name}: {kind}");
                for line in r.reason.lines() {
                    let _ = writeln!(s, "# {line}");
                }
                // The reason names the first mismatch; the others follow.
                for step in r.steps.iter().filter(|st| st.mismatch.is_some()).skip(1) {
                    let _ = writeln!(
                        s,
                        "# {} {} (line {}): expected {}, observed {}",
                        step.label, step.call, step.line, step.expected, step.observed
                    );
                }
                let _ = writeln!(s, "not ok {n} {name}");
            }
        }
    }
    let count = |st: Status| runs.iter().filter(|r| r.status == st).count();
    let _ = writeln!(
        s,
        "# Totals: pass:{} fail:{} xfail:0 xpass:0 skip:{} error:{}",
        count(Status::Pass),
        count(Status::Fail),
        count(Status::Skip),
        count(Status::Broken)
    );
    s
}

fn one_line(s: &str) -> String {
    s.lines().next().unwrap_or("").replace('#', "")
}

/// JUnit XML: one testsuite per call (the case group), one testcase per case, failures showing
/// expected and observed, skips with their reason, the environment as properties.
pub fn junit(host: &HostEnv, cases: &[&Case], runs: &[CaseRun]) -> String {
    use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
    let mut report = Report::new("mmcheck");
    let mut groups: Vec<&str> = runs.iter().map(|r| group_of(&r.id)).collect();
    groups.sort();
    groups.dedup();
    for g in groups {
        let mut suite = TestSuite::new(g);
        for (k, v) in [
            ("env", host.env_key.as_str()),
            ("platform", host.platform.as_str()),
            ("release", host.release.as_str()),
            ("machine", host.machine.as_str()),
        ] {
            suite.add_property(Property::new(k, v));
        }
        for r in runs.iter().filter(|r| group_of(&r.id) == g) {
            let status = match r.status {
                Status::Pass => TestCaseStatus::success(),
                Status::Skip => {
                    let mut st = TestCaseStatus::skipped();
                    st.set_message(one_line(&r.reason));
                    st
                }
                Status::Fail | Status::Broken => {
                    let kind = if r.status == Status::Broken {
                        NonSuccessKind::Error
                    } else {
                        NonSuccessKind::Failure
                    };
                    let mut st = TestCaseStatus::non_success(kind);
                    st.set_message(one_line(&r.reason));
                    st.set_type(if r.status == Status::Broken {
                        "broken"
                    } else {
                        "deviation"
                    });
                    let steps: Vec<String> = r
                        .steps
                        .iter()
                        .map(|s| {
                            format!(
                                "{}{} {} (line {}): expected {}, observed {}",
                                if s.mismatch.is_some() { "✗ " } else { "  " },
                                s.label,
                                s.call,
                                s.line,
                                s.expected,
                                s.observed
                            )
                        })
                        .collect();
                    st.set_description(format!("{}\n{}", r.reason, steps.join("\n")));
                    st
                }
            };
            let mut tc = TestCase::new(r.id.clone(), status);
            tc.set_classname(g);
            tc.set_time(std::time::Duration::from_millis(r.millis));
            if let Some(c) = cases.iter().find(|c| c.id == r.id) {
                tc.add_property(Property::new("summary", c.summary.as_str()));
                tc.add_property(Property::new("symbols", c.symbols.join(" ")));
            }
            suite.add_test_case(tc);
        }
        report.add_test_suite(suite);
    }
    report.to_string().unwrap_or_default()
}
