//! Machine formats of a results document for the systems that run kernel tests at scale: KTAP,
//! as the kernel's selftests print it (KernelCI and LAVA read it), and JUnit XML (GitHub Actions,
//! GitLab, Jenkins). One renderer for both sources: a live run (`mmcheck run --format ktap|junit`
//! renders the run's document) and a committed environment (`mmcheck report` renders each
//! `snapshots/<env>/results.json`).

use crate::outcome::{CaseRun, Status};
use crate::results::{CaseResult, ResultsDoc};
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
pub fn ktap(doc: &ResultsDoc) -> String {
    let env = &doc.env;
    let mut s = String::new();
    let _ = writeln!(s, "TAP version 13");
    let _ = writeln!(s, "1..{}", doc.cases.len());
    let _ = writeln!(
        s,
        "# mmcheck on {} ({} {}, page size {})",
        env.key, env.platform, env.release, env.page_size
    );
    for (i, c) in doc.cases.iter().enumerate() {
        let r = &c.run;
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
    let t = &doc.totals;
    let _ = writeln!(
        s,
        "# Totals: pass:{} fail:{} xfail:0 xpass:0 skip:{} error:{}",
        t.passed, t.failed, t.skipped, t.broken
    );
    s
}

fn one_line(s: &str) -> String {
    s.lines().next().unwrap_or("").replace('#', "")
}

/// JUnit XML valid against the Jenkins xunit plugin's junit-10.xsd (`ci/junit/junit-10.xsd`):
/// one testsuite per call (the case group), one testcase per case, failures showing expected and
/// observed, skips with their reason, the environment as the suite's properties. The testsuite
/// name and every classname are `<env>.<call>`, so that files of several environments merged
/// together keep their cases apart (and a reader splitting at the last dot gets the environment
/// as the package, the call as the class). Each case's rule and symbols are its `system-out`.
/// Times are written only when the document has them: a committed document has none, and its
/// XML is the same on every rendering.
pub fn junit(doc: &ResultsDoc) -> String {
    let env = &doc.env;
    let timed = doc.cases.iter().any(|c| c.run.millis > 0);
    let time = |cases: &[&CaseResult]| {
        let ms: u64 = cases.iter().map(|c| c.run.millis).sum();
        format!(" time=\"{}.{:03}\"", ms / 1000, ms % 1000)
    };
    let counts = |cases: &[&CaseResult]| {
        let n = |st: Status| cases.iter().filter(|c| c.status() == st).count();
        format!(
            "tests=\"{}\" failures=\"{}\" errors=\"{}\"",
            cases.len(),
            n(Status::Fail),
            n(Status::Broken)
        )
    };
    let all: Vec<&CaseResult> = doc.cases.iter().collect();
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuites name=\"mmcheck {}\" {}{}>",
        xml(&env.key),
        counts(&all),
        if timed { time(&all) } else { String::new() }
    );
    let mut groups: Vec<&str> = doc.cases.iter().map(|c| group_of(c.id())).collect();
    groups.sort();
    groups.dedup();
    for g in groups {
        let class = xml(&format!("{}.{g}", env.key));
        let cases: Vec<&CaseResult> = all
            .iter()
            .copied()
            .filter(|c| group_of(c.id()) == g)
            .collect();
        let skipped = cases.iter().filter(|c| c.status() == Status::Skip).count();
        let _ = writeln!(
            s,
            "  <testsuite name=\"{class}\" {} skipped=\"{skipped}\"{}>",
            counts(&cases),
            if timed { time(&cases) } else { String::new() }
        );
        s.push_str("    <properties>\n");
        for (k, v) in [
            ("env", env.key.clone()),
            ("platform", env.platform.clone()),
            ("release", env.release.clone()),
            ("machine", env.machine.clone()),
            ("page_size", env.page_size.to_string()),
        ] {
            let _ = writeln!(s, "      <property name=\"{k}\" value=\"{}\"/>", xml(&v));
        }
        s.push_str("    </properties>\n");
        for c in cases {
            testcase(&mut s, c, &class, timed);
        }
        s.push_str("  </testsuite>\n");
    }
    s.push_str("</testsuites>\n");
    s
}

fn testcase(s: &mut String, c: &CaseResult, class: &str, timed: bool) {
    let r = &c.run;
    let time = if timed {
        format!(" time=\"{}.{:03}\"", r.millis / 1000, r.millis % 1000)
    } else {
        String::new()
    };
    let _ = writeln!(
        s,
        "    <testcase name=\"{}\" classname=\"{class}\"{time}>",
        xml(&r.id)
    );
    match r.status {
        Status::Pass => {}
        Status::Skip => {
            let _ = writeln!(
                s,
                "      <skipped message=\"{}\"/>",
                xml(&one_line(&r.reason))
            );
        }
        Status::Fail | Status::Broken => {
            let (tag, ty) = if r.status == Status::Broken {
                ("error", "broken")
            } else {
                ("failure", "deviation")
            };
            let steps: Vec<String> = r
                .steps
                .iter()
                .map(|st| {
                    format!(
                        "{}{} {} (line {}): expected {}, observed {}",
                        if st.mismatch.is_some() { "✗ " } else { "  " },
                        st.label,
                        st.call,
                        st.line,
                        st.expected,
                        st.observed
                    )
                })
                .collect();
            let _ = writeln!(
                s,
                "      <{tag} message=\"{}\" type=\"{ty}\">{}</{tag}>",
                xml(&one_line(&r.reason)),
                xml_text(&format!("{}\n{}", r.reason, steps.join("\n")))
            );
        }
    }
    let _ = writeln!(
        s,
        "      <system-out>{}</system-out>",
        xml_text(&format!(
            "rule: {}\nsymbols: {}",
            c.summary,
            c.symbols.join(" ")
        ))
    );
    s.push_str("    </testcase>\n");
}

/// Text as an XML attribute value: markup characters escaped, line breaks and tabs kept as
/// character references (a reader would fold them into spaces otherwise).
fn xml(text: &str) -> String {
    escape(text, true)
}

/// Text as XML character data: as an attribute value, but line breaks written as they are.
fn xml_text(text: &str) -> String {
    escape(text, false)
}

/// The five markup characters escaped, and the control characters XML 1.0 cannot carry at all
/// shown as `\u{..}`.
fn escape(text: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' if !attribute => out.push(ch),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || matches!(c, '\u{FFFE}' | '\u{FFFF}') => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{xml, xml_text};

    #[test]
    fn xml_text_escapes_markup_and_keeps_what_xml_cannot_carry_readable() {
        assert_eq!(xml("a<b & \"c\"'>"), "a&lt;b &amp; &quot;c&quot;&apos;&gt;");
        assert_eq!(xml("one\ntwo\tthree"), "one&#10;two&#9;three");
        assert_eq!(xml_text("one\ntwo\tthree"), "one\ntwo\tthree");
        assert_eq!(xml("bell\u{7}"), "bell\\u{7}");
        assert_eq!(xml("✗ step"), "✗ step");
    }
}
