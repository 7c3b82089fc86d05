//! What `mmcheck explain` prints: text for a terminal (with bold and underline when it is one),
//! Markdown, or JSON.

use crate::explain::call::CallReport;
use crate::explain::evidence::CaseView;
use crate::explain::man::{Font, Spans};
use crate::explain::{Decoded, Explanation};
use std::cell::Cell;
use std::fmt::Write as _;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Color,
    Markdown,
}

thread_local! {
    /// The width text is wrapped to, in columns: see [`set_width`].
    static WIDTH: Cell<usize> = const { Cell::new(DEFAULT_WIDTH) };
}

/// Without `COLUMNS` and a terminal: the width of a classic terminal.
pub const DEFAULT_WIDTH: usize = 80;
/// Narrower than this, a line holds too few words to read: text wraps at this width anyway.
const MIN_WIDTH: usize = 30;

/// The width to wrap text at for this process's output: `$COLUMNS` when it is a number, else the
/// terminal's width when standard output is one, else 80.
pub fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|c| *c > 0)
        .or_else(|| crate::sys::terminal_columns(1).map(usize::from))
        .unwrap_or(DEFAULT_WIDTH)
}

/// Sets the width this thread's renderings wrap text at (at least 30 columns). Markdown and
/// JSON are never wrapped or cut.
pub fn set_width(columns: usize) {
    WIDTH.with(|w| w.set(columns.max(MIN_WIDTH)));
}

fn width() -> usize {
    WIDTH.with(Cell::get)
}

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

/// Reflows `text` to the width, each line indented by `indent`: line breaks in the text are
/// not kept (the words of a paragraph written over several source lines fill each line), and a
/// word longer than the line stands alone on its own. ANSI escapes count as width 0.
fn wrap(text: &str, indent: usize) -> String {
    wrap_hanging(text, indent, indent)
}

/// [`wrap`], with the first line indented by `first` and the others by `indent`.
fn wrap_hanging(text: &str, first: usize, indent: usize) -> String {
    let mut out = String::new();
    for line in super::fill(text, width().saturating_sub(indent).max(1))
        .iter()
        .enumerate()
    {
        let pad = if line.0 == 0 { first } else { indent };
        let _ = writeln!(out, "{:pad$}{}", "", line.1);
    }
    out
}

/// A man page paragraph: filled text is reflowed; a literal block (`.nf`, `.EX`: code, a table
/// of values) keeps its lines as the page sets them.
fn man_paragraph(text: &str, indent: usize) -> String {
    if !text.contains('\n') {
        return wrap(text, indent);
    }
    let mut out = String::new();
    for line in text.trim_matches('\n').lines() {
        let _ = writeln!(out, "{:indent$}{}", "", line.trim_end());
    }
    out
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
    if let Some(v) = e.value {
        facts.push(format!("value {}", number(&e.kind, v)));
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
        s.push_str(&wrap_hanging(
            &format!("{}  ({})", bold(&e.symbol, st), facts.join(", ")),
            0,
            2,
        ));
        s.push('\n');
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
                    .map(|a| vec![a.name.clone(), a.takes.clone()])
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
                    .map(|f| {
                        vec![
                            f.name.clone(),
                            f.value.map(|v| format!("{v:#x}")).unwrap_or_default(),
                            f.since.clone().unwrap_or_default(),
                            f.summary.clone(),
                        ]
                    })
                    .collect(),
                st,
            );
        }
    }

    heading(&mut s, "From the installed man pages", st);
    if e.man.is_empty() {
        s.push_str(&wrap(
            &format!("({})", e.man_note.as_deref().unwrap_or("no entry")),
            2,
        ));
        s.push('\n');
    }
    for m in &e.man {
        let tag = spans(&m.tag, st);
        if md {
            let _ = writeln!(s, "> {} — {}, {}\n>", tag.trim(), m.page, m.section);
            for p in &m.body {
                let text = spans(p, st);
                let text = text.trim();
                if text.contains('\n') {
                    // A literal block: its lines as the page sets them.
                    for l in text.lines() {
                        let _ = writeln!(s, ">     {}", l.trim_end());
                    }
                    let _ = writeln!(s, ">");
                } else {
                    let _ = writeln!(s, "> {text}\n>");
                }
            }
            s.push('\n');
        } else {
            s.push_str(&wrap_hanging(
                &format!("{}  [{}, {}]", tag.trim(), m.page, m.section),
                2,
                6,
            ));
            for p in &m.body {
                s.push_str(&man_paragraph(spans(p, st).trim(), 6));
            }
            s.push('\n');
        }
    }

    if !e.related.is_empty() {
        heading(&mut s, "Related", st);
        s.push_str(&wrap(&e.related.join(", "), 2));
        s.push('\n');
    }

    if !e.causes.is_empty() {
        heading(
            &mut s,
            "Documented causes, with the cases that provoke them",
            st,
        );
        // The causes come grouped by call, in the order explain sorts them (crate::explain::
        // call_rank): each call heads one group.
        let mut by_call: Vec<&str> = Vec::new();
        for c in &e.causes {
            if !by_call.contains(&c.syscall.as_str()) {
                by_call.push(&c.syscall);
            }
        }
        for call in by_call {
            if md {
                let _ = writeln!(s, "### {call}\n");
            } else {
                let _ = writeln!(s, "  {}", bold(call, st));
            }
            for c in e.causes.iter().filter(|c| c.syscall == call) {
                if md {
                    let _ = writeln!(s, "- **{}**: {}", c.errno, one_line(&c.cause));
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
        s.push_str(&wrap(&format!("({note})"), 2));
        s.push('\n');
    } else if e.cases.is_empty() {
        let _ = writeln!(s, "  (no case names it in its symbols)\n");
    }
    for c in &e.cases {
        if md {
            let _ = writeln!(
                s,
                "- `{}`: {}  \n  {}",
                c.id,
                one_line(&c.summary),
                outcomes(c)
            );
        } else {
            let _ = writeln!(s, "  {}", bold(&c.id, st));
            s.push_str(&wrap(&c.summary, 6));
            s.push_str(&wrap(&outcomes(c), 6));
        }
    }
    s
}

/// A symbol's value as its kind is written: errnos, signals and si_codes in decimal, flags in hex.
fn number(kind: &str, v: i64) -> String {
    match kind {
        "errno" | "signal" | "si-code" => v.to_string(),
        _ => format!("{v:#x}"),
    }
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

/// A table: Markdown's own, or columns for the terminal where the last column's text wraps in
/// what the width leaves it (the other columns hold names and numbers). No cell is ever cut.
fn table(s: &mut String, head: &[&str], rows: Vec<Vec<String>>, st: Style) {
    if st == Style::Markdown {
        let cell = |c: &str| one_line(c).replace('|', "\\|");
        let _ = writeln!(s, "| {} |", head.join(" | "));
        let _ = writeln!(s, "|{}", "---|".repeat(head.len()));
        for r in rows {
            let cells: Vec<String> = r.iter().map(|c| cell(c)).collect();
            let _ = writeln!(s, "| {} |", cells.join(" | "));
        }
        s.push('\n');
        return;
    }
    let widths: Vec<usize> = (0..head.len() - 1)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([head[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    // Two spaces of indent, two between columns.
    let left: usize = 2 + widths.iter().map(|w| w + 2).sum::<usize>();
    let room = width().saturating_sub(left);
    // Too narrow a column to read: the last cell goes under its row instead, wrapped from
    // column 6.
    let under = room < 24;
    let (left, room) = if under {
        (6, width().saturating_sub(6))
    } else {
        (left, room)
    };
    let line = |cells: &[String]| {
        let mut l = String::from("  ");
        let last = cells.last().map(String::as_str).unwrap_or("");
        for (i, c) in cells[..cells.len() - 1].iter().enumerate() {
            let _ = write!(l, "{:w$}  ", c, w = widths[i]);
        }
        let mut lines = super::fill(last, room).into_iter();
        if !under {
            l.push_str(&lines.next().unwrap_or_default());
        }
        let mut out = l.trim_end().to_string();
        for more in lines {
            let _ = write!(out, "\n{:left$}{more}", "");
        }
        out
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

/// Text on one line: its words joined by single spaces.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
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

/// The version of explain's JSON documents (docs/explain/README.md, "JSON output"): raised when
/// a field changes meaning or goes away, not when one is added.
pub const SCHEMA_VERSION: u32 = 1;

/// A JSON document of explain: `schema_version`, then the fields of what it holds.
#[derive(serde::Serialize)]
pub struct Doc<'a, T: serde::Serialize> {
    pub schema_version: u32,
    #[serde(flatten)]
    pub body: &'a T,
}

impl<'a, T: serde::Serialize> Doc<'a, T> {
    pub fn new(body: &'a T) -> Doc<'a, T> {
        Doc {
            schema_version: SCHEMA_VERSION,
            body,
        }
    }
}

/// `explain --list --format json`: `{"schema_version", "symbols": [{"name", "kind"}]}`.
pub fn list_doc(symbols: &[(&str, &str)]) -> serde_json::Value {
    serde_json::json!({
        "schema_version": SCHEMA_VERSION,
        "symbols": symbols
            .iter()
            .map(|(name, kind)| serde_json::json!({"name": name, "kind": kind}))
            .collect::<Vec<_>>(),
    })
}

/// An error as JSON: `{"schema_version", "error": the message, "suggestion": the nearest known
/// symbol or null, "suggestions": all the near ones}`.
pub fn error_doc(e: &crate::explain::ExplainError) -> serde_json::Value {
    let near: &[String] = match e {
        crate::explain::ExplainError::Unknown { near, .. } => near,
        _ => &[],
    };
    serde_json::json!({
        "schema_version": SCHEMA_VERSION,
        "error": e.to_string(),
        "suggestion": near.first(),
        "suggestions": near,
    })
}
