//! Mutations of a real case file: lines deleted, duplicated, swapped; values and words replaced.

use super::*;

// Mutations of a real case file.

#[derive(Debug, Clone)]
pub(crate) enum Edit {
    DeleteLine(Index),
    DuplicateLine(Index, Index),
    SwapLines(Index, Index),
    /// Replaces a value: a quoted string, or what follows a `=`.
    ReplaceValue(Index, String),
    /// Replaces an identifier-like word anywhere, keys and names inside strings alike.
    ReplaceWord(Index, String),
    InsertLine(Index, String),
    InsertText(Index, String),
    Truncate(Index),
    SetByte(Index, u8),
}

cached! {
    pub(crate) fn edit() -> BoxedStrategy<Edit> = build_edit;
}

pub(crate) fn build_edit() -> BoxedStrategy<Edit> {
    prop_oneof![
        2 => any::<Index>().prop_map(Edit::DeleteLine),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::DuplicateLine(a, b)),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        8 => (any::<Index>(), value()).prop_map(|(i, v)| Edit::ReplaceValue(i, v)),
        4 => (any::<Index>(), prop_oneof![3 => word(), 1 => expr(), 1 => text()])
            .prop_map(|(i, w)| Edit::ReplaceWord(i, w)),
        4 => (any::<Index>(), snippet()).prop_map(|(i, s)| Edit::InsertLine(i, s)),
        1 => (any::<Index>(), prop_oneof![any::<String>(), select(&["\"", "'", "{", "}", "[", "]",
            ",", "=", "\n", "\\", "\\u", "\u{feff}", "é", "\u{10ffff}"][..]).prop_map(String::from)])
            .prop_map(|(i, s)| Edit::InsertText(i, s)),
        1 => any::<Index>().prop_map(Edit::Truncate),
        1 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::SetByte(i, b)),
    ]
    .boxed()
}

pub(crate) fn lines(t: &[u8]) -> Vec<Vec<u8>> {
    t.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect()
}

/// Where a string that starts with a quote at `i` ends (after its closing quote).
pub(crate) fn string_end(t: &[u8], i: usize) -> usize {
    let q = t[i];
    if t[i..].starts_with(&[q, q, q]) {
        let from = i + 3;
        return t[from..]
            .windows(3)
            .position(|w| w == [q, q, q])
            .map_or(t.len(), |p| from + p + 3);
    }
    let mut j = i + 1;
    while j < t.len() && t[j] != q && t[j] != b'\n' {
        if q == b'"' && t[j] == b'\\' {
            j += 1;
        }
        j += 1;
    }
    (j + 1).min(t.len())
}

/// Spans of values: quoted strings anywhere, and what follows each `=` (a bare word, a number,
/// an array or an inline table).
pub(crate) fn value_spans(t: &[u8]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < t.len() {
        match t[i] {
            b'"' | b'\'' => {
                let end = string_end(t, i);
                out.push(i..end);
                i = end;
            }
            b'#' => {
                while i < t.len() && t[i] != b'\n' {
                    i += 1;
                }
            }
            b'=' => {
                let mut j = i + 1;
                while j < t.len() && (t[j] == b' ' || t[j] == b'\t') {
                    j += 1;
                }
                match t.get(j) {
                    Some(b'[' | b'{') => {
                        let mut depth = 0usize;
                        let mut k = j;
                        while k < t.len() {
                            match t[k] {
                                b'[' | b'{' => depth += 1,
                                b']' | b'}' => {
                                    depth -= 1;
                                    if depth == 0 {
                                        k += 1;
                                        break;
                                    }
                                }
                                b'"' | b'\'' => {
                                    k = string_end(t, k);
                                    continue;
                                }
                                _ => {}
                            }
                            k += 1;
                        }
                        out.push(j..k.min(t.len()));
                    }
                    Some(b'"' | b'\'') | None => {}
                    Some(_) => {
                        let end = t[j..]
                            .iter()
                            .position(|b| b",}] \t\r\n#".contains(b))
                            .map_or(t.len(), |p| j + p);
                        if end > j {
                            out.push(j..end);
                        }
                    }
                }
                i = j;
            }
            _ => i += 1,
        }
    }
    out
}

/// Spans of identifier-like words, `$names` included.
pub(crate) fn word_spans(t: &[u8]) -> Vec<Range<usize>> {
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'$';
    let mut out = Vec::new();
    let mut i = 0;
    while i < t.len() {
        if is_word(t[i]) {
            let start = i;
            while i < t.len() && is_word(t[i]) {
                i += 1;
            }
            out.push(start..i);
        } else {
            i += 1;
        }
    }
    out
}

pub(crate) fn splice(t: &mut Vec<u8>, span: Range<usize>, with: &[u8]) {
    t.splice(span, with.iter().copied());
}

pub(crate) fn apply(text: &str, edits: &[Edit]) -> Vec<u8> {
    let mut t = text.as_bytes().to_vec();
    for e in edits {
        match e {
            Edit::DeleteLine(i) => {
                let mut l = lines(&t);
                l.remove(i.index(l.len()));
                t = l.join(&b'\n');
            }
            Edit::DuplicateLine(a, b) => {
                let mut l = lines(&t);
                let line = l[a.index(l.len())].clone();
                let at = b.index(l.len() + 1);
                l.insert(at, line);
                t = l.join(&b'\n');
            }
            Edit::SwapLines(a, b) => {
                let mut l = lines(&t);
                let (a, b) = (a.index(l.len()), b.index(l.len()));
                l.swap(a, b);
                t = l.join(&b'\n');
            }
            Edit::ReplaceValue(i, v) => {
                let spans = value_spans(&t);
                if !spans.is_empty() {
                    splice(&mut t, spans[i.index(spans.len())].clone(), v.as_bytes());
                }
            }
            Edit::ReplaceWord(i, w) => {
                let spans = word_spans(&t);
                if !spans.is_empty() {
                    splice(&mut t, spans[i.index(spans.len())].clone(), w.as_bytes());
                }
            }
            Edit::InsertLine(i, s) => {
                let mut l = lines(&t);
                let at = i.index(l.len() + 1);
                l.insert(at, s.as_bytes().to_vec());
                t = l.join(&b'\n');
            }
            Edit::InsertText(i, s) => {
                let at = i.index(t.len() + 1);
                splice(&mut t, at..at, s.as_bytes());
            }
            Edit::Truncate(i) => {
                let at = i.index(t.len() + 1);
                t.truncate(at);
            }
            Edit::SetByte(i, b) => {
                if !t.is_empty() {
                    let at = i.index(t.len());
                    t[at] = *b;
                }
            }
        }
    }
    t
}
