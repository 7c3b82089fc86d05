//! Diagnostics: a problem in a case file with its file, line, column and field, and how the
//! loader finds the place of a problem and shows its line on a terminal.

use super::load::Loader;
use crate::names;
use std::ops::Range as Span;
use std::path::{Path, PathBuf};

/// A problem in a case file, pointing at the line it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    /// Where in the case: `step 2 (mprotect) args.prot`.
    pub field: String,
    pub message: String,
    /// The text of the line, for the snippet.
    pub source_line: String,
}

pub(super) fn file_diag(file: &Path, message: String) -> Diagnostic {
    Diagnostic {
        file: file.to_path_buf(),
        line: 0,
        col: 0,
        field: String::new(),
        message,
        source_line: String::new(),
    }
}

impl Loader<'_> {
    pub(super) fn error(&mut self, span: Span<usize>, field: &str, message: String) {
        let offset = char_floor(self.text, span.start);
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = self.text[line_start..offset].chars().count() + 1;
        let source_line = shown_line(self.text[line_start..].split('\n').next().unwrap_or(""));
        self.diags.push(Diagnostic {
            file: self.file.to_path_buf(),
            line,
            col,
            field: printable(field),
            message: printable(&message),
            source_line,
        });
    }

    pub(super) fn line_of(&self, span: &Span<usize>) -> usize {
        self.text[..char_floor(self.text, span.start)]
            .matches('\n')
            .count()
            + 1
    }
}

/// Where byte `at` of a string's value is in its TOML source `raw` (quotes included). They differ
/// by the quotes, by escapes (`\t`, `\u00e9`), by the newline that may open a multi-line string
/// and by a line-ending backslash, which swallows the whitespace after it.
pub(super) fn offset_in_string(raw: &str, at: usize) -> usize {
    let (quote, literal) = match raw {
        r if r.starts_with("\"\"\"") => ("\"\"\"", false),
        r if r.starts_with("'''") => ("'''", true),
        r if r.starts_with('"') => ("\"", false),
        r if r.starts_with('\'') => ("'", true),
        _ => return 0,
    };
    let mut i = quote.len();
    if quote.len() == 3 {
        i += ["\n", "\r\n"]
            .iter()
            .find(|nl| raw[i..].starts_with(*nl))
            .map_or(0, |nl| nl.len());
    }
    let mut decoded = 0;
    // Past the end, or inside a character only after an escape TOML would have refused.
    while let Some(c) = raw.get(i..).and_then(|rest| rest.chars().next()) {
        let rest = &raw[i..];
        let (source_len, value_len) = match rest.strip_prefix('\\') {
            Some(escape) if !literal => {
                let hex = |digits: usize| {
                    escape
                        .get(1..1 + digits)
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                        .and_then(char::from_u32)
                        .map_or(1, char::len_utf8)
                };
                match escape.chars().next() {
                    Some('x') => (4, hex(2)),
                    Some('u') => (6, hex(4)),
                    Some('U') => (10, hex(8)),
                    Some(' ' | '\t' | '\r' | '\n') => {
                        let kept = escape.trim_start_matches([' ', '\t', '\r', '\n']).len();
                        (1 + escape.len() - kept, 0)
                    }
                    Some(other) => (1 + other.len_utf8(), 1),
                    None => (1, 0),
                }
            }
            _ => (c.len_utf8(), c.len_utf8()),
        };
        // Stop at the byte, but not before a line-ending backslash, which stands for nothing.
        if decoded >= at && value_len > 0 {
            break;
        }
        i += source_len;
        decoded += value_len;
    }
    char_floor(raw, i)
}

/// A line of a case file as a diagnostic shows it on a terminal: without its carriage return,
/// and with control characters (an escape would garble the message) as U+FFFD.
pub fn shown_line(raw: &str) -> String {
    raw.strip_suffix('\r')
        .unwrap_or(raw)
        .chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

/// `s` with its control characters escaped (`\u{1b}`): messages and fields quote what the case
/// says, and they are printed on a terminal.
fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// `offset` within `text`, moved back to the start of the character it falls in.
pub(super) fn char_floor(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// Where a TOML error that comes without a place (a key of more than 80 parts, say) is: the start
/// of the first line by which the file, read up to there, fails the same way. The start of the
/// file when no prefix does.
pub(super) fn first_failing_line(text: &str, message: &str) -> usize {
    let starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let end_of = |line: usize| starts.get(line + 1).copied().unwrap_or(text.len());
    let fails = |line: usize| {
        text[..end_of(line)]
            .parse::<toml::Table>()
            .is_err_and(|e| e.message() == message)
    };
    let (mut lo, mut hi) = (0, starts.len() - 1);
    if !fails(hi) {
        return 0;
    }
    while lo < hi {
        let mid = (lo + hi) / 2;
        if fails(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    starts[hi]
}

/// Adds the nearest field to serde's "unknown field `expct`, expected one of `id`, ..." message.
pub(super) fn with_suggestion(message: &str) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message.to_string();
    };
    let Some((field, expected)) = rest.split_once('`') else {
        return message.to_string();
    };
    let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    match names::nearest(field, known.iter().copied()).first() {
        Some(best) => format!(
            "unknown field `{field}`; did you mean `{best}`? (known: {})",
            known.join(", ")
        ),
        None => message.to_string(),
    }
}

pub(super) fn unknown(what: &str, name: &str, near: &[&str]) -> String {
    match near.first() {
        Some(n) => format!("unknown {what} `{name}`; did you mean `{n}`?"),
        None => format!("unknown {what} `{name}`"),
    }
}
