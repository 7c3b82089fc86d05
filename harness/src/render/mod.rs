//! Every byte a user reads: observations in symbols, diagnostics with their source line, the run
//! table, the summary, JSON. Nothing else in the crate prints.

use crate::case::load::Diagnostic;
use crate::case::plan::Case;
use crate::env::HostEnv;
use crate::mutant::MutantVerdict;
use crate::outcome::{CaseRun, Status, StepRun};
use crate::results::ResultsDoc;
pub use crate::results::Totals;
use std::fmt::Write as _;
use std::io::Write;

// How observations read is decided below, in `outcome::symbols`; render lays the words out.
pub use crate::outcome::symbols::{
    address, bytes, contract, end_address, maps, maps_line, obs, placed_address, raw_fault,
    residency, signal, signal_name, smaps,
};

/// Prints loader diagnostics, each with its line of source, then how many there were.
pub fn diagnostics(out: &mut dyn Write, diags: &[Diagnostic]) {
    for d in diags {
        let _ = writeln!(out, "error: {}", d.message);
        if d.line == 0 {
            let _ = writeln!(out, "  --> {}", d.file.display());
        } else {
            let _ = writeln!(out, "  --> {}:{}:{}", d.file.display(), d.line, d.col);
            let width = d.line.to_string().len();
            if !d.field.is_empty() {
                let _ = writeln!(out, "{:width$} = in {}", "", d.field);
            }
            let _ = writeln!(out, "{:width$} |", "");
            let _ = writeln!(out, "{} | {}", d.line, d.source_line);
            let pad: String = d
                .source_line
                .chars()
                .take(d.col.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let _ = writeln!(out, "{:width$} | {pad}^", "");
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(
        out,
        "{} problem{} in the case files; nothing was run.",
        diags.len(),
        if diags.len() == 1 { "" } else { "s" }
    );
}

fn verdict(s: Status) -> &'static str {
    match s {
        Status::Pass => "pass",
        Status::Fail => "FAIL",
        Status::Broken => "BROKEN",
        Status::Skip => "skip",
    }
}

fn clip(s: &str, n: usize) -> String {
    let first = s.lines().next().unwrap_or("");
    if first.chars().count() <= n {
        first.to_string()
    } else {
        let mut t: String = first.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

/// The step a table row shows: the one that decided the verdict, else, for a pass of calls that
/// only had to succeed, the last step whose contract the case wrote, else the last step.
fn shown_step(r: &CaseRun) -> Option<&StepRun> {
    r.decisive()
        .map(|i| &r.steps[i])
        .or_else(|| r.steps.iter().rev().find(|s| s.explicit))
        .or_else(|| r.steps.last())
}

/// The run table: case, expected, observed, verdict; reasons under failed rows.
pub fn table(out: &mut dyn Write, runs: &[CaseRun]) {
    let id_w = runs.iter().map(|r| r.id.len()).max().unwrap_or(4).max(4);
    let _ = writeln!(
        out,
        "{:id_w$}  {:32}  {:40}  verdict",
        "case", "expected", "observed"
    );
    for r in runs {
        let (expected, observed) = match (r.status, shown_step(r)) {
            (Status::Skip, _) => (String::new(), String::new()),
            (_, Some(s)) => (s.expected.clone(), s.observed.clone()),
            (_, None) => (String::new(), r.reason.clone()),
        };
        let _ = writeln!(
            out,
            "{:id_w$}  {:32}  {:40}  {}",
            r.id,
            clip(&expected, 32),
            clip(&observed, 40),
            verdict(r.status)
        );
        if r.status != Status::Pass {
            for line in r.reason.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
}

/// One line per cause for the cases the machine's setup kept from running: "160 cases not
/// compared here: mkfs.xfs, mkfs.btrfs missing (apt-get install xfsprogs btrfs-progs)". Missing
/// tools share a line, so that one command installs them all.
pub fn not_compared(out: &mut dyn Write, runs: &[CaseRun]) {
    for line in not_compared_lines(runs) {
        let _ = writeln!(out, "{line}");
    }
}

pub fn not_compared_lines(runs: &[CaseRun]) -> Vec<String> {
    use crate::outcome::Setup;
    let mut tools: Vec<(&str, &str)> = Vec::new();
    let mut tool_cases = 0;
    let mut others: Vec<(String, usize)> = Vec::new();
    for setup in runs
        .iter()
        .filter(|r| r.not_compared())
        .filter_map(|r| r.setup.as_ref())
    {
        match setup {
            Setup::Tool { tool, package } => {
                tool_cases += 1;
                if !tools.iter().any(|(t, _)| t == tool) {
                    tools.push((tool, package));
                }
            }
            Setup::Other { cause, fix } => {
                let text = match fix {
                    Some(fix) => format!("{cause} ({fix})"),
                    None => cause.clone(),
                };
                match others.iter_mut().find(|(t, _)| *t == text) {
                    Some((_, n)) => *n += 1,
                    None => others.push((text, 1)),
                }
            }
        }
    }
    // In a fixed order: the cases finish in any order.
    tools.sort();
    others.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let cases = |n: usize| format!("{n} case{}", if n == 1 { "" } else { "s" });
    let mut lines = Vec::new();
    if tool_cases > 0 {
        let names: Vec<&str> = tools.iter().map(|(t, _)| *t).collect();
        let mut packages: Vec<&str> = tools.iter().map(|(_, p)| *p).collect();
        packages.dedup();
        lines.push(format!(
            "{} not compared here: {} missing (apt-get install {})",
            cases(tool_cases),
            names.join(", "),
            packages.join(" ")
        ));
    }
    for (text, n) in others {
        lines.push(format!("{} not compared here: {text}", cases(n)));
    }
    lines
}

/// `N passed, N failed, N skipped`, with broken counted among the failed and named before it.
pub fn summary(out: &mut dyn Write, t: Totals, seconds: f64) {
    if t.broken > 0 {
        let _ = writeln!(
            out,
            "{} of the failures are harness breakages (BROKEN), not kernel deviations.",
            t.broken
        );
    }
    let _ = writeln!(out, "finished in {seconds:.2} s");
    let _ = writeln!(
        out,
        "{} passed, {} failed, {} skipped",
        t.passed,
        t.failed + t.broken,
        t.skipped
    );
}

/// The results document, as JSON.
pub fn json(out: &mut dyn Write, doc: &ResultsDoc) {
    let _ = serde_json::to_writer_pretty(&mut *out, &doc);
    let _ = writeln!(out);
}

/// The message a failed libtest trial shows: the reason, then every step.
pub fn failure(run: &CaseRun, case: &Case) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}: {}", verdict(run.status), run.reason);
    let _ = writeln!(s, "rule: {}", case.summary);
    let _ = writeln!(s, "file: {}", case.path.display());
    for step in &run.steps {
        let mark = if step.mismatch.is_some() { "✗" } else { " " };
        let _ = writeln!(
            s,
            "  {mark} {:24} line {:3}  expected {:28} observed {}",
            format!("{} {}", step.label, step.call),
            step.line,
            step.expected,
            step.observed
        );
    }
    s
}

/// One line: what the mutant did to the case.
pub fn describe(v: &MutantVerdict) -> String {
    match (v.status, &v.accepted) {
        (Status::Pass, None) => format!(
            "SURVIVED: `{}` passes even when the kernel ignores {}",
            v.id, v.mutant
        ),
        (Status::Pass, Some(why)) => format!("survived, as the case explains: {why}"),
        (Status::Skip, _) => format!("skipped: {}", v.reason),
        (_, _) => format!("caught: {}", clip(&v.reason, 100)),
    }
}

/// The mutants table and its summary line.
pub fn mutants(out: &mut dyn Write, verdicts: &[MutantVerdict]) {
    let id_w = verdicts
        .iter()
        .map(|v| v.id.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = writeln!(out, "{:id_w$}  {:18}  result", "case", "kernel ignores");
    for v in verdicts {
        let _ = writeln!(out, "{:id_w$}  {:18}  {}", v.id, v.mutant, describe(v));
    }
    let survived = verdicts
        .iter()
        .filter(|v| v.is_unexplained_survivor())
        .count();
    let caught = verdicts
        .iter()
        .filter(|v| matches!(v.status, Status::Fail | Status::Broken))
        .count();
    let _ = writeln!(
        out,
        "{caught} mutants caught, {survived} survived, {} explained, {} skipped",
        verdicts
            .iter()
            .filter(|v| v.status == Status::Pass && v.accepted.is_some())
            .count(),
        verdicts.iter().filter(|v| v.status == Status::Skip).count()
    );
}

/// A matrix status line: `[linux-6.1] 120/235`.
pub fn matrix_status(out: &mut dyn Write, env: &str, status: &str) {
    let _ = writeln!(out, "[{env}] {status}");
}

/// The matrix summary: per environment its verdict counts and snapshot changes, and where the
/// environments differ.
pub fn matrix_summary(out: &mut dyn Write, outcomes: &[crate::matrix::EnvOutcome], bless: bool) {
    use crate::snapshot::Compared;
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:12} {:22} {:>7}  {:>6} {:>6} {:>6} {:>6}  snapshots",
        "environment", "key", "seconds", "pass", "fail", "broken", "skip"
    );
    for o in outcomes {
        match &o.result {
            Err(e) => {
                let _ = writeln!(
                    out,
                    "{:12} {:22} {:7.1}  could not run:",
                    o.name, "-", o.seconds
                );
                for line in e.to_string().lines() {
                    let _ = writeln!(out, "    {line}");
                }
            }
            Ok(r) => {
                let t = Totals::of(&r.runs);
                let changed: Vec<&str> = r
                    .snapshots
                    .iter()
                    .filter(|(_, c)| matches!(c, Compared::Changed { .. }))
                    .map(|(g, _)| g.as_str())
                    .collect();
                let new = r
                    .snapshots
                    .iter()
                    .filter(|(_, c)| *c == Compared::New)
                    .count();
                let accepted = r
                    .snapshots
                    .iter()
                    .filter(|(_, c)| *c == Compared::Accepted)
                    .count();
                let state = if !changed.is_empty() && o.unstable.is_some() {
                    format!("changed (unstable, not failing): {}", changed.join(", "))
                } else if !changed.is_empty() {
                    format!("CHANGED: {}", changed.join(", "))
                } else if new > 0 {
                    format!("{new} new, pending review")
                } else if accepted > 0 {
                    format!("{accepted} written")
                } else {
                    "unchanged".into()
                };
                let _ = writeln!(
                    out,
                    "{:12} {:22} {:7.1}  {:6} {:6} {:6} {:6}  {state}",
                    o.name,
                    o.key.as_deref().unwrap_or("-"),
                    o.seconds,
                    t.passed,
                    t.failed,
                    t.broken,
                    t.skipped
                );
                if let (Some(why), false) = (&o.unstable, changed.is_empty()) {
                    let _ = writeln!(out, "    unstable: {why}");
                }
                for line in not_compared_lines(&r.runs) {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
    }
    if let Some((differing, of)) = crate::matrix::differing_verdicts(outcomes) {
        let _ = writeln!(
            out,
            "{differing} of {of} cases have different verdicts in environments that ran them \
             (mmcheck report shows them side by side)."
        );
    }
    let any_changed = outcomes.iter().any(|o| {
        o.unstable.is_none()
            && o.result.as_ref().is_ok_and(|r| {
                r.snapshots
                    .iter()
                    .any(|(_, c)| matches!(c, Compared::Changed { .. }))
            })
    });
    if any_changed && !bless {
        let _ = writeln!(
            out,
            "Snapshots changed: the new ones are beside the old as .snap.new. Review them with \
             `cargo insta review`, or accept them all with `make matrix BLESS=1`."
        );
    }
}

/// One progress line, for machines reading a run from afar (a VM's serial console).
pub fn progress(out: &mut dyn Write, done: usize, total: usize, id: &str) {
    let _ = writeln!(out, "mmcheck: progress {done}/{total} {id}");
}

/// Prints text, through a pager (`$PAGER`, else `less -FRX`) when asked and one is there.
pub fn page(text: &str, pager: bool) {
    if pager {
        let cmd = std::env::var("PAGER").unwrap_or_else(|_| "less -FRX".into());
        let mut parts = cmd.split_whitespace();
        if let Some(prog) = parts.next() {
            if let Ok(mut child) = std::process::Command::new(prog)
                .args(parts)
                .stdin(std::process::Stdio::piped())
                .spawn()
            {
                if let Some(mut stdin) = child.stdin.take() {
                    let _ = stdin.write_all(text.as_bytes());
                }
                let _ = child.wait();
                return;
            }
        }
    }
    let _ = std::io::stdout().write_all(text.as_bytes());
}

/// A plain error line for the command line.
pub fn error(out: &mut dyn Write, message: &str) {
    let _ = writeln!(out, "error: {message}");
}

/// Which scratch roots of a killed janitor preparing the run removed.
pub fn swept(host: &HostEnv) {
    for root in &host.swept {
        note(&format!(
            "removed {}, left by a scratch janitor that was killed",
            root.display()
        ));
    }
}

/// Something the user should know that is not an error, on stderr.
pub fn note(message: &str) {
    let _ = writeln!(std::io::stderr(), "mmcheck: {message}");
}

/// The words of `text` filled into lines of at most `width` visible columns (at least one line).
fn fill(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut visible = 0;
    for word in text.split_whitespace() {
        let w = visible_len(word);
        if visible > 0 && visible + 1 + w > width {
            lines.push(std::mem::take(&mut line));
            visible = 0;
        }
        if visible > 0 {
            line.push(' ');
            visible += 1;
        }
        line.push_str(word);
        visible += w;
    }
    lines.push(line);
    lines
}

/// The columns `s` takes on a terminal: its characters, ANSI escapes (`\x1b[...m`) counting 0.
fn visible_len(s: &str) -> usize {
    let mut n = 0;
    let mut esc = false;
    for c in s.chars() {
        match (esc, c) {
            (false, '\x1b') => esc = true,
            (true, 'm') => esc = false,
            (true, _) => {}
            (false, _) => n += 1,
        }
    }
    n
}

pub mod coverage;
pub mod explain;
pub mod formats;
pub mod report;
pub mod report_html;
pub mod stability;

pub use stability::stability;
