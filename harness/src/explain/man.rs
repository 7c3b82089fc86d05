//! Reads the installed man pages (man(7) roff, as Debian's manpages-dev ships them) at run time:
//! sections, `.TP` entries with their tags, font macros and escapes. Nothing of their text is
//! stored in the project; `explain` quotes it to the user from the machine's own copy.

use std::io::Read;
use std::path::{Path, PathBuf};

/// A run of text in one font.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Font {
    Roman,
    Bold,
    Italic,
}

pub type Spans = Vec<(Font, String)>;

/// A tagged paragraph (`.TP`): the tag line and the text under it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub tag: Spans,
    pub body: Vec<Spans>,
}

/// A section (`.SH NAME`), its subsections flattened in order.
#[derive(Debug, Clone, Default)]
pub struct Section {
    pub name: String,
    /// Untagged paragraphs, in order.
    pub paragraphs: Vec<Spans>,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone)]
pub struct Page {
    pub name: String,
    pub path: PathBuf,
    pub sections: Vec<Section>,
}

/// Where the man pages are.
pub fn man_dir() -> PathBuf {
    std::env::var_os("MMCHECK_MANPATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/man"))
}

/// Loads `name(section)`, following `.so` links (munlock(2) is mlock(2)). `None` when not installed.
pub fn load(name: &str, section: u32) -> Option<Page> {
    let (path, text) = source(name, section)?;
    Some(Page {
        name: name.to_string(),
        sections: parse(&text),
        path,
    })
}

/// The file `name(section)` is in, after `.so` links, and its roff text.
pub fn source(name: &str, section: u32) -> Option<(PathBuf, String)> {
    let mut path = man_dir().join(format!("man{section}/{name}.{section}.gz"));
    for _ in 0..4 {
        let text = read(&path)?;
        if let Some(target) = text.lines().find_map(|l| l.strip_prefix(".so ")) {
            path = man_dir().join(target.trim()).with_extension(format!(
                "{}.gz",
                Path::new(target.trim())
                    .extension()
                    .and_then(|e| e.to_str())
                    .unwrap_or("2")
            ));
            continue;
        }
        return Some((path, text));
    }
    None
}

fn read(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    if path.extension().is_some_and(|e| e == "gz") {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut s)
            .ok()?;
        Some(s)
    } else {
        String::from_utf8(bytes).ok()
    }
}

impl Page {
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// Entries anywhere whose tag starts with `symbol` as a whole word.
    pub fn entries_for<'a>(
        &'a self,
        symbol: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a Entry)> + 'a {
        self.sections.iter().flat_map(move |s| {
            s.entries
                .iter()
                .filter(move |e| tag_names(&e.tag, symbol))
                .map(move |e| (s.name.as_str(), e))
        })
    }
}

/// Whether a tag names `symbol`: `MAP_FIXED`, `MAP_FIXED_NOREPLACE (since Linux 4.17)`,
/// `MADV_FREE (since Linux 4.5)`, `EINVAL`, but not `MAP_FIXED_NOREPLACE` for `MAP_FIXED`.
fn tag_names(tag: &Spans, symbol: &str) -> bool {
    let text = plain(tag);
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .take(3)
        .any(|w| w == symbol)
}

/// The kernel version a tag states: `(since Linux 4.17)` gives `4.17`.
pub fn since(tag: &Spans) -> Option<String> {
    let text = plain(tag);
    let at = text.find("since Linux ")? + "since Linux ".len();
    let v: String = text[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let v = v.trim_end_matches('.').to_string();
    (!v.is_empty()).then_some(v)
}

pub fn plain(spans: &Spans) -> String {
    spans.iter().map(|(_, t)| t.as_str()).collect()
}

/// Parses man(7) roff into sections with paragraphs and tagged entries.
pub fn parse(text: &str) -> Vec<Section> {
    let mut sections: Vec<Section> = Vec::new();
    let mut para: Spans = Vec::new();
    // 0: normal text, 1: next line is a .TP tag, 2: collecting an entry's body
    let mut want_tag = false;
    let mut in_entry = false;
    let mut literal = false;

    fn flush(sections: &mut [Section], para: &mut Spans, in_entry: bool) {
        if para.iter().all(|(_, t)| t.trim().is_empty()) {
            para.clear();
            return;
        }
        let p = std::mem::take(para);
        if let Some(s) = sections.last_mut() {
            match (in_entry, s.entries.last_mut()) {
                (true, Some(e)) => e.body.push(p),
                _ => s.paragraphs.push(p),
            }
        }
    }

    for raw in text.lines() {
        let line = strip_comment(raw);
        if raw.starts_with(".\\\"") || raw.starts_with("'\\\"") {
            continue;
        }
        if let Some(req) = line.strip_prefix('.').or_else(|| line.strip_prefix('\'')) {
            let (name, args) = req.split_once(' ').unwrap_or((req, ""));
            let args = args.trim();
            match name {
                "SH" => {
                    flush(&mut sections, &mut para, in_entry);
                    sections.push(Section {
                        name: unquote(args).to_string(),
                        ..Default::default()
                    });
                    in_entry = false;
                    want_tag = false;
                }
                "SS" => {
                    flush(&mut sections, &mut para, in_entry);
                    in_entry = false;
                    let mut heading = vec![(Font::Bold, unquote(args).to_string())];
                    heading.push((Font::Roman, String::new()));
                    if let Some(s) = sections.last_mut() {
                        s.paragraphs.push(heading);
                    }
                }
                "TP" => {
                    flush(&mut sections, &mut para, in_entry);
                    want_tag = true;
                }
                "PP" | "P" | "LP" | "sp" | "br" => {
                    flush(&mut sections, &mut para, in_entry);
                }
                "IP" => {
                    flush(&mut sections, &mut para, in_entry);
                    if !args.is_empty() {
                        para.extend(inline(
                            unquote(args.split(' ').next().unwrap_or("")),
                            Font::Roman,
                        ));
                        para.push((Font::Roman, " ".into()));
                    }
                }
                "RS" | "RE" | "in" | "ad" | "na" | "hy" | "nh" | "ft" | "TH" | "ne" | "PD"
                | "UR" | "UE" | "ME" | "MT" | "ti" | "ce" | "TS" | "TE" | "T{" | "T}" => {}
                "nf" | "EX" => {
                    flush(&mut sections, &mut para, in_entry);
                    literal = true;
                }
                "fi" | "EE" => {
                    flush(&mut sections, &mut para, in_entry);
                    literal = false;
                }
                "B" | "I" | "SM" | "SB" => {
                    let font = if name == "I" {
                        Font::Italic
                    } else {
                        Font::Bold
                    };
                    push_words(&mut para, &macro_args(args), &[font]);
                    if want_tag {
                        start_entry(&mut sections, &mut para, &mut want_tag, &mut in_entry);
                    }
                }
                "BR" | "RB" | "IR" | "RI" | "BI" | "IB" => {
                    let fonts: Vec<Font> = name
                        .chars()
                        .map(|c| match c {
                            'B' => Font::Bold,
                            'I' => Font::Italic,
                            _ => Font::Roman,
                        })
                        .collect();
                    push_alternating(&mut para, &macro_args(args), &fonts);
                    if want_tag {
                        start_entry(&mut sections, &mut para, &mut want_tag, &mut in_entry);
                    }
                }
                _ => {}
            }
            continue;
        }
        if literal {
            para.extend(inline(line, Font::Roman));
            para.push((Font::Roman, "\n".into()));
            continue;
        }
        if !para.is_empty()
            && !para
                .last()
                .is_some_and(|(_, t)| t.ends_with(' ') || t.ends_with('\n'))
        {
            para.push((Font::Roman, " ".into()));
        }
        para.extend(inline(line, Font::Roman));
        if want_tag {
            start_entry(&mut sections, &mut para, &mut want_tag, &mut in_entry);
        }
    }
    flush(&mut sections, &mut para, in_entry);
    sections
}

/// The line just read was a `.TP` tag: it becomes a new entry.
fn start_entry(
    sections: &mut [Section],
    para: &mut Spans,
    want_tag: &mut bool,
    in_entry: &mut bool,
) {
    let tag = std::mem::take(para);
    if let Some(s) = sections.last_mut() {
        s.entries.push(Entry {
            tag: trim(tag),
            body: Vec::new(),
        });
    }
    *want_tag = false;
    *in_entry = true;
}

fn trim(mut spans: Spans) -> Spans {
    while spans.last().is_some_and(|(_, t)| t.trim().is_empty()) {
        spans.pop();
    }
    spans
}

fn strip_comment(line: &str) -> &str {
    match line.find("\\\"") {
        Some(i) if !line[..i].ends_with('\\') => &line[..i],
        _ => line,
    }
}

fn unquote(s: &str) -> &str {
    s.trim().trim_matches('"')
}

/// Splits macro arguments, honouring double quotes.
fn macro_args(args: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in args.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn push_words(para: &mut Spans, words: &[String], fonts: &[Font]) {
    space_before(para);
    let text = words.join(" ");
    para.extend(inline(&text, fonts[0]));
}

fn push_alternating(para: &mut Spans, words: &[String], fonts: &[Font]) {
    space_before(para);
    for (i, w) in words.iter().enumerate() {
        para.extend(inline(w, fonts[i % fonts.len()]));
    }
}

fn space_before(para: &mut Spans) {
    if !para.is_empty()
        && !para
            .last()
            .is_some_and(|(_, t)| t.ends_with(' ') || t.ends_with('\n'))
    {
        para.push((Font::Roman, " ".into()));
    }
}

/// Renders escapes and inline font changes (`\fB...\fR`).
fn inline(text: &str, base: Font) -> Spans {
    let mut out: Spans = Vec::new();
    let mut font = base;
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            cur.push(c);
            continue;
        }
        match chars.next() {
            Some('f') => {
                let f = match chars.next() {
                    Some('[') => {
                        let name: String = chars.by_ref().take_while(|c| *c != ']').collect();
                        name.chars().next().unwrap_or('R')
                    }
                    Some(x) => x,
                    None => 'R',
                };
                if !cur.is_empty() {
                    out.push((font, std::mem::take(&mut cur)));
                }
                font = match f {
                    'B' => Font::Bold,
                    'I' => Font::Italic,
                    _ => base,
                };
            }
            Some('-') => cur.push('-'),
            Some('e') | Some('\\') => cur.push('\\'),
            Some('&') | Some('%') | Some(':') | Some('c') => {}
            Some(' ') | Some('~') => cur.push(' '),
            Some('(') => {
                let name: String = chars.by_ref().take(2).collect();
                cur.push_str(glyph(&name));
            }
            Some('[') => {
                let name: String = chars.by_ref().take_while(|c| *c != ']').collect();
                cur.push_str(glyph(&name));
            }
            // Strings like \*(lq: only quotes appear in these pages.
            Some('*') if chars.peek() == Some(&'(') => {
                chars.next();
                let name: String = chars.by_ref().take(2).collect();
                cur.push_str(glyph(&name));
            }
            Some('*') => {}
            Some(other) => cur.push(other),
            None => {}
        }
    }
    if !cur.is_empty() {
        out.push((font, cur));
    }
    out
}

fn glyph(name: &str) -> &'static str {
    match name {
        "em" => "—",
        "en" => "–",
        "lq" | "Lq" => "\u{201c}",
        "rq" | "Rq" => "\u{201d}",
        "aq" => "'",
        "dq" => "\"",
        "bu" => "•",
        "ti" | "ap" => "~",
        "mu" => "×",
        "<=" => "≤",
        ">=" => "≥",
        "->" => "→",
        "co" => "©",
        "hy" | "mi" => "-",
        "ha" => "^",
        "rs" => "\\",
        "cq" => "'",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#".TH MMAP 2
.SH NAME
mmap \- map files
.SH DESCRIPTION
The
.BR mmap ()
call creates a mapping.
.TP
.BR MAP_FIXED_NOREPLACE " (since Linux 4.17)"
.\" commit a4ff8e8620d3
This flag is like
.B MAP_FIXED
but never clobbers \fIanything\fP.
.TP
.B MAP_FIXED
Place the mapping exactly \(em no hint.
.SH ERRORS
.TP
.B EINVAL
We don't like
.IR addr ,
or
.I length
was 0.
.TP
.B EINVAL
(since Linux 2.6.12)
.I length
was 0.
"#;

    #[test]
    fn entries_and_fonts() {
        let s = parse(PAGE);
        let desc = s.iter().find(|s| s.name == "DESCRIPTION").unwrap();
        assert_eq!(
            plain(&desc.paragraphs[0]),
            "The mmap() call creates a mapping."
        );
        assert_eq!(desc.entries.len(), 2);
        assert_eq!(
            plain(&desc.entries[0].tag),
            "MAP_FIXED_NOREPLACE (since Linux 4.17)"
        );
        assert_eq!(since(&desc.entries[0].tag).as_deref(), Some("4.17"));
        assert_eq!(
            plain(&desc.entries[0].body[0]),
            "This flag is like MAP_FIXED but never clobbers anything."
        );
        assert!(desc.entries[0].body[0].contains(&(Font::Italic, "anything".into())));
        assert_eq!(
            plain(&desc.entries[1].body[0]),
            "Place the mapping exactly — no hint."
        );
        let errors = s.iter().find(|s| s.name == "ERRORS").unwrap();
        assert_eq!(errors.entries.len(), 2);
        assert_eq!(
            plain(&errors.entries[0].body[0]),
            "We don't like addr, or length was 0."
        );
    }

    #[test]
    fn whole_word_tags() {
        let page = Page {
            name: "mmap".into(),
            path: PathBuf::new(),
            sections: parse(PAGE),
        };
        assert_eq!(page.entries_for("MAP_FIXED").count(), 1);
        assert_eq!(page.entries_for("MAP_FIXED_NOREPLACE").count(), 1);
        assert_eq!(page.entries_for("EINVAL").count(), 2);
    }

    #[test]
    fn installed_pages_parse_when_present() {
        let Some(page) = load("mmap", 2) else { return };
        let errors = page.section("ERRORS").expect("mmap(2) has ERRORS");
        assert!(errors.entries.len() >= 10);
        assert!(page.entries_for("MAP_SHARED_VALIDATE").count() >= 1);
        let Some(munlock) = load("munlock", 2) else {
            return;
        };
        assert!(
            munlock.entries_for("MLOCK_ONFAULT").count() >= 1,
            "munlock(2) is mlock(2)"
        );
    }
}
