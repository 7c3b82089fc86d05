//! What `mmcheck explain` prints: text for a terminal (with bold and underline when it is one),
//! Markdown, or JSON.

use crate::explain::call::CallReport;
use crate::explain::evidence::CaseView;
use crate::explain::man::{Font, Spans};
use crate::explain::{Decoded, Explanation};
use std::fmt::Write as _;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Color,
    Markdown,
}

const WIDTH: usize = 96;

fn bold(s: &str, st: Style) -> String {
    match st {
        Style::Color => format!("\x1b[1m{s}\x1b[0m"),
        Style::Markdown => format!("**{s}**"),
        Style::Plain => s.to_string(),
    }
}

fn spans(sp: &Spans, st: Style) -> String {
    sp.iter()
        .map(|(f, t)| match (f, st) {
            (Font::Bold, Style::Color) => format!("\x1b[1m{t}\x1b[0m"),
            (Font::Italic, Style::Color) => format!("\x1b[4m{t}\x1b[0m"),
            (Font::Bold, Style::Markdown) if !t.trim().is_empty() => format!("**{}**", t.trim()),
            (Font::Italic, Style::Markdown) if !t.trim().is_empty() => format!("*{}*", t.trim()),
            _ => t.clone(),
        })
        .collect()
}

/// Word-wraps `text` at WIDTH, each line indented by `indent`. ANSI escapes count as width 0.
fn wrap(text: &str, indent: usize) -> String {
    let mut out = String::new();
    for para in text.split('\n') {
        let mut line = String::new();
        let mut visible = 0;
        for word in para.split_whitespace() {
            let w = visible_len(word);
            if visible > 0 && indent + visible + 1 + w > WIDTH {
                let _ = writeln!(out, "{:indent$}{line}", "");
                line.clear();
                visible = 0;
            }
            if visible > 0 {
                line.push(' ');
                visible += 1;
            }
            line.push_str(word);
            visible += w;
        }
        let _ = writeln!(out, "{:indent$}{line}", "");
    }
    out
}

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

fn outcomes(c: &CaseView) -> String {
    if c.outcomes.is_empty() {
        return (c.unrun.as_deref())
            .unwrap_or("no environment has results for it yet")
            .into();
    }
    c.outcomes
        .iter()
        .map(|o| match &o.note() {
            Some(d) => format!("{}: {} ({d})", o.env, o.status),
            None => format!("{}: {}", o.env, o.status),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The whole explanation of a symbol.
pub fn explanation(e: &Explanation, st: Style) -> String {
    let mut s = String::new();
    let md = st == Style::Markdown;
    let mut facts = vec![e.kind.clone()];
    if !e.of.is_empty() {
        facts.push(format!("of {}", e.of.join(", ")));
    }
    if let Some(v) = &e.value {
        facts.push(format!("value {v}"));
    }
    facts.push(match &e.since {
        Some(v) => format!("since Linux {v}"),
        // Not "from the start": for most of the original set no version is recorded, and a
        // guess would be a wrong fact.
        None => "first version not recorded".into(),
    });
    if md {
        let _ = writeln!(s, "# {}\n\n*{}*\n", e.symbol, facts.join(" · "));
        let _ = writeln!(
            s,
            "{}\n",
            e.summary.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    } else {
        let _ = writeln!(s, "{}  ({})\n", bold(&e.symbol, st), facts.join(", "));
        s.push_str(&wrap(
            &e.summary.split_whitespace().collect::<Vec<_>>().join(" "),
            2,
        ));
        s.push('\n');
    }

    if let Some(t) = &e.tables {
        if !t.synopsis.is_empty() {
            heading(&mut s, "Synopsis", st);
            for l in &t.synopsis {
                let _ = writeln!(s, "{}{l}", if md { "    " } else { "  " });
            }
            s.push('\n');
        }
        if !t.arguments.is_empty() {
            heading(&mut s, "Arguments (as case files name them)", st);
            table(
                &mut s,
                &["argument", "takes"],
                t.arguments
                    .iter()
                    .map(|(a, b)| vec![a.clone(), b.clone()])
                    .collect(),
                st,
            );
        }
        if !t.flags.is_empty() {
            heading(&mut s, "Flags", st);
            table(
                &mut s,
                &["flag", "value", "since", "what it does"],
                t.flags
                    .iter()
                    .map(|(a, b, c, d)| vec![a.clone(), b.clone(), c.clone(), d.clone()])
                    .collect(),
                st,
            );
        }
    }

    heading(&mut s, "From the installed man pages", st);
    if e.man.is_empty() {
        let _ = writeln!(s, "  ({})\n", e.man_note.as_deref().unwrap_or("no entry"));
    }
    for m in &e.man {
        let tag = spans(&m.tag, st);
        if md {
            let _ = writeln!(s, "> {} — {}, {}\n>", tag.trim(), m.page, m.section);
            for p in &m.body {
                let _ = writeln!(s, "> {}\n>", spans(p, st).trim());
            }
            s.push('\n');
        } else {
            let _ = writeln!(s, "  {}  [{}, {}]", tag.trim(), m.page, m.section);
            for p in &m.body {
                s.push_str(&wrap(spans(p, st).trim(), 6));
            }
            s.push('\n');
        }
    }

    if !e.related.is_empty() {
        heading(&mut s, "Related", st);
        let _ = writeln!(s, "  {}\n", e.related.join(", "));
    }

    if !e.causes.is_empty() {
        heading(
            &mut s,
            "Documented causes, with the cases that provoke them",
            st,
        );
        let mut by_call: Vec<&str> = e.causes.iter().map(|c| c.syscall.as_str()).collect();
        by_call.dedup();
        for call in by_call {
            if md {
                let _ = writeln!(s, "### {call}\n");
            } else {
                let _ = writeln!(s, "  {}", bold(call, st));
            }
            for c in e.causes.iter().filter(|c| c.syscall == call) {
                if md {
                    let _ = writeln!(s, "- **{}**: {}", c.errno, c.cause.trim());
                } else {
                    s.push_str(&wrap(&format!("{}: {}", c.errno, c.cause.trim()), 4));
                }
                if c.cases.is_empty() {
                    let _ = writeln!(
                        s,
                        "{}no case provokes it",
                        if md { "  - " } else { "      " }
                    );
                }
                for cv in &c.cases {
                    let line = format!("{} — {}", cv.id, outcomes(cv));
                    if md {
                        let _ = writeln!(s, "  - `{}` — {}", cv.id, outcomes(cv));
                    } else {
                        s.push_str(&wrap(&line, 6));
                    }
                }
            }
            s.push('\n');
        }
    }

    heading(
        &mut s,
        "Cases that verify it, and what each environment did",
        st,
    );
    if let Some(note) = &e.evidence_note {
        let _ = writeln!(s, "  ({note})\n");
    } else if e.cases.is_empty() {
        let _ = writeln!(s, "  (no case names it in its symbols)\n");
    }
    for c in &e.cases {
        if md {
            let _ = writeln!(s, "- `{}`: {}  \n  {}", c.id, c.summary, outcomes(c));
        } else {
            let _ = writeln!(s, "  {}", bold(&c.id, st));
            s.push_str(&wrap(&c.summary, 6));
            s.push_str(&wrap(&outcomes(c), 6));
        }
    }
    s
}

fn heading(s: &mut String, h: &str, st: Style) {
    match st {
        Style::Markdown => {
            let _ = writeln!(s, "## {h}\n");
        }
        _ => {
            let _ = writeln!(s, "{}", bold(h, st));
        }
    }
}

fn table(s: &mut String, head: &[&str], rows: Vec<Vec<String>>, st: Style) {
    if st == Style::Markdown {
        let _ = writeln!(s, "| {} |", head.join(" | "));
        let _ = writeln!(s, "|{}", "---|".repeat(head.len()));
        for r in rows {
            let _ = writeln!(s, "| {} |", r.join(" | ").replace('\n', " "));
        }
        s.push('\n');
        return;
    }
    let widths: Vec<usize> = (0..head.len() - 1)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([head[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        let mut l = String::from("  ");
        for (i, c) in cells.iter().enumerate() {
            if i + 1 < cells.len() {
                let _ = write!(l, "{:w$}  ", c, w = widths[i]);
            } else {
                l.push_str(c);
            }
        }
        l
    };
    let _ = writeln!(
        s,
        "{}",
        line(&head.iter().map(|h| h.to_string()).collect::<Vec<_>>())
    );
    for r in rows {
        let _ = writeln!(s, "{}", line(&r));
    }
    s.push('\n');
}

pub fn decoded(d: &Decoded, st: Style) -> String {
    let mut s = String::new();
    for (what, names) in &d.readings {
        match st {
            Style::Markdown => {
                let _ = writeln!(s, "- `{}` as {what}: `{names}`", d.input);
            }
            _ => {
                let _ = writeln!(s, "{} as {what}: {}", d.input, bold(names, st));
            }
        }
    }
    s
}

pub fn call_report(r: &CallReport, st: Style) -> String {
    if st == Style::Markdown {
        return call_report_markdown(r);
    }
    let mut s = String::new();
    let _ = writeln!(s, "{}", bold(&r.call, st));
    let _ = writeln!(s, "  returned: {}\n", bold(&r.result, st));
    heading(&mut s, &format!("Diagnosis: {}", r.diagnosis.grade), st);
    if let (Some(e), Some(c)) = (&r.diagnosis.errno, &r.diagnosis.cause) {
        // A cause the list below starts with is not said twice.
        if r.matches.first().is_none_or(|m| flat(&m.cause) != flat(c)) {
            s.push_str(&wrap(&format!("{e}: {}", flat(c)), 2));
        }
    }
    s.push_str(&wrap(&format!("({})", r.diagnosis.why), 2));
    s.push('\n');
    let facts: Vec<_> = r.facts.iter().filter(|f| f.used).collect();
    if !facts.is_empty() {
        heading(&mut s, "Facts", st);
        for f in facts {
            s.push_str(&item(&f.text));
        }
        s.push('\n');
    }
    if !r.matches.is_empty() {
        heading(&mut s, "Documented causes these arguments meet", st);
        for m in &r.matches {
            s.push_str(&item(&format!(
                "{} ({}): {}",
                m.errno,
                call_mark(m),
                flat(&m.cause)
            )));
            if !m.cases.is_empty() {
                s.push_str(&wrap(&format!("cases: {}", m.cases.join(", ")), 6));
            }
        }
        s.push('\n');
    }
    if !r.unchecked.is_empty() {
        heading(&mut s, &call_unchecked_heading(r), st);
        for m in &r.unchecked {
            s.push_str(&item(&format!("{}: {}", m.errno, flat(&m.cause))));
        }
        s.push('\n');
    }
    if r.matches.is_empty() && r.unchecked.is_empty() && r.errno.is_some() {
        let _ = writeln!(
            s,
            "No documented cause of {} matches these arguments.",
            call_name(r)
        );
    }
    s
}

/// `  - text`, wrapped, its continuation lines under the text.
fn item(text: &str) -> String {
    let mut s = wrap(text, 4);
    s.replace_range(..4, "  - ");
    s
}

/// A cause as one paragraph: the knowledge base's line breaks are the source's, not the text's.
fn flat(t: &str) -> String {
    t.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn call_name(r: &CallReport) -> &str {
    r.call.split('(').next().unwrap_or("")
}

fn call_mark(m: &crate::explain::call::CauseMatch) -> &'static str {
    if m.returned {
        "returned"
    } else {
        "would also apply"
    }
}

fn call_unchecked_heading(r: &CallReport) -> String {
    format!(
        "Documented causes of {} that explain cannot check",
        r.errno.as_deref().unwrap_or("this errno")
    )
}

/// `--call` as Markdown: a heading per part, lists, one line per cause.
fn call_report_markdown(r: &CallReport) -> String {
    let one_line = flat;
    let mut s = String::new();
    let _ = writeln!(s, "# `{}`\n", r.call);
    let _ = writeln!(s, "- **returned**: {}", r.result);
    let _ = writeln!(
        s,
        "- **diagnosis**: {} ({})",
        r.diagnosis.grade, r.diagnosis.why
    );
    if let (Some(e), Some(c)) = (&r.diagnosis.errno, &r.diagnosis.cause) {
        let _ = writeln!(s, "- **cause**: {e}: {}", one_line(c));
    }
    s.push('\n');
    let facts: Vec<_> = r.facts.iter().filter(|f| f.used).collect();
    if !facts.is_empty() {
        let _ = writeln!(s, "## Facts\n");
        for f in facts {
            let _ = writeln!(s, "- {} (`${}` = {})", f.text, f.name, f.value);
        }
        s.push('\n');
    }
    if !r.matches.is_empty() {
        let _ = writeln!(s, "## Documented causes these arguments meet\n");
        for m in &r.matches {
            let _ = writeln!(
                s,
                "- **{}** ({}): {}",
                m.errno,
                call_mark(m),
                one_line(&m.cause)
            );
            if !m.cases.is_empty() {
                let ids: Vec<String> = m.cases.iter().map(|c| format!("`{c}`")).collect();
                let _ = writeln!(s, "  - cases: {}", ids.join(", "));
            }
        }
        s.push('\n');
    }
    if !r.unchecked.is_empty() {
        let _ = writeln!(s, "## {}\n", call_unchecked_heading(r));
        for m in &r.unchecked {
            let _ = writeln!(s, "- **{}**: {}", m.errno, one_line(&m.cause));
        }
        s.push('\n');
    }
    if r.matches.is_empty() && r.unchecked.is_empty() && r.errno.is_some() {
        let _ = writeln!(
            s,
            "No documented cause of {} matches these arguments.",
            call_name(r)
        );
    }
    s
}

/// `explain --list`: every symbol with its kind.
pub fn list(symbols: &[(&str, &str)], st: Style) -> String {
    let mut s = String::new();
    for (name, kind) in symbols {
        match st {
            Style::Markdown => {
                let _ = writeln!(s, "- `{name}` ({kind})");
            }
            _ => {
                let _ = writeln!(s, "{name:28} {kind}");
            }
        }
    }
    s
}
