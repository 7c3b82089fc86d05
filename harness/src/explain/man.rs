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
    /// The `.SS` subsection the entry is in, if any.
    pub sub: Option<String>,
    /// How deep in `.RS` blocks its tag stands: the entries of a list inside an entry's body
    /// are deeper than that entry (proc(5)'s pagemap bits under /proc/pid/pagemap).
    pub depth: usize,
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

/// The release a page's `.TH` line names: `Linux man-pages 6.03`.
pub fn release(text: &str) -> Option<String> {
    let th = text.lines().find(|l| l.starts_with(".TH "))?;
    let quoted: Vec<&str> = th.split('"').skip(1).step_by(2).collect();
    quoted.last().map(|s| s.to_string())
}

/// The `.SS` heading a section's paragraph stands for, if it is one.
pub fn heading(p: &Spans) -> Option<&str> {
    match p.as_slice() {
        [(Font::Bold, name), (Font::Roman, rest)] if rest.is_empty() => Some(name),
        _ => None,
    }
}

pub fn plain(spans: &Spans) -> String {
    spans.iter().map(|(_, t)| t.as_str()).collect()
}

/// Parses man(7) roff into sections with paragraphs and tagged entries.
///
/// A `.TP` item's body runs until the next `.TP`, `.PP` (or `.P`/`.LP`), `.SS` or `.SH` at its own
/// indentation: man(7) ends a tagged paragraph there. `.IP` continues it, and text inside a
/// `.RS`/`.RE` block opened in the item belongs to the item (items nested there are entries of
/// their own; after their `.RE` the outer item continues).
pub fn parse(text: &str) -> Vec<Section> {
    let mut p = Parser::default();
    for raw in text.lines() {
        if raw.starts_with(".\\\"") || raw.starts_with("'\\\"") {
            continue;
        }
        p.line(strip_comment(raw));
    }
    p.flush();
    p.sections
}

#[derive(Default)]
struct Parser {
    sections: Vec<Section>,
    para: Spans,
    /// The next text line is a `.TP` tag.
    want_tag: bool,
    literal: bool,
    /// `.RS` depth.
    depth: usize,
    /// Open items, innermost last: the `.RS` depth each was tagged at and its index in the
    /// section's entries.
    open: Vec<(usize, usize)>,
    /// The current `.SS` heading.
    sub: Option<String>,
}

impl Parser {
    /// Ends the paragraph being collected: into the innermost open item, or the section.
    fn flush(&mut self) {
        if self.para.iter().all(|(_, t)| t.trim().is_empty()) {
            self.para.clear();
            return;
        }
        let p = std::mem::take(&mut self.para);
        if let Some(s) = self.sections.last_mut() {
            match self.open.last() {
                Some(&(_, i)) => s.entries[i].body.push(p),
                None => s.paragraphs.push(p),
            }
        }
    }

    /// Closes the items tagged at `depth` or deeper.
    fn close_from(&mut self, depth: usize) {
        while self.open.last().is_some_and(|&(d, _)| d >= depth) {
            self.open.pop();
        }
    }

    /// The text just collected was a `.TP` tag: it becomes a new entry.
    fn start_entry(&mut self) {
        let tag = trim(std::mem::take(&mut self.para));
        self.want_tag = false;
        self.close_from(self.depth);
        if let Some(s) = self.sections.last_mut() {
            s.entries.push(Entry {
                tag,
                body: Vec::new(),
                sub: self.sub.clone(),
                depth: self.depth,
            });
            self.open.push((self.depth, s.entries.len() - 1));
        }
    }

    fn line(&mut self, line: &str) {
        if let Some(req) = line.strip_prefix('.').or_else(|| line.strip_prefix('\'')) {
            let (name, args) = req.split_once(' ').unwrap_or((req, ""));
            self.request(name, args.trim());
            return;
        }
        if self.literal {
            self.para.extend(inline(line, Font::Roman));
            self.para.push((Font::Roman, "\n".into()));
            return;
        }
        space_before(&mut self.para);
        self.para.extend(inline(line, Font::Roman));
        if self.want_tag {
            self.start_entry();
        }
    }

    fn request(&mut self, name: &str, args: &str) {
        match name {
            "SH" => {
                self.flush();
                self.sections.push(Section {
                    name: unquote(args).to_string(),
                    ..Default::default()
                });
                self.open.clear();
                self.depth = 0;
                self.want_tag = false;
                self.sub = None;
            }
            "SS" => {
                self.flush();
                self.open.clear();
                self.depth = 0;
                self.sub = Some(unquote(args).to_string());
                let heading = vec![
                    (Font::Bold, unquote(args).to_string()),
                    (Font::Roman, String::new()),
                ];
                if let Some(s) = self.sections.last_mut() {
                    s.paragraphs.push(heading);
                }
            }
            "TP" => {
                self.flush();
                self.want_tag = true;
            }
            "PP" | "P" | "LP" => {
                self.flush();
                self.close_from(self.depth);
            }
            "sp" | "br" => self.flush(),
            "RS" => {
                self.flush();
                self.depth += 1;
            }
            "RE" => {
                self.flush();
                self.depth = self.depth.saturating_sub(1);
                // Items opened inside the block end with it.
                self.close_from(self.depth + 1);
            }
            "IP" => {
                self.flush();
                if !args.is_empty() {
                    self.para.extend(inline(
                        unquote(args.split(' ').next().unwrap_or("")),
                        Font::Roman,
                    ));
                    self.para.push((Font::Roman, " ".into()));
                }
            }
            "in" | "ad" | "na" | "hy" | "nh" | "ft" | "TH" | "ne" | "PD" | "UR" | "UE" | "ME"
            | "MT" | "ti" | "ce" | "TS" | "TE" | "T{" | "T}" => {}
            "nf" | "EX" => {
                self.flush();
                self.literal = true;
            }
            "fi" | "EE" => {
                self.flush();
                self.literal = false;
            }
            "B" | "I" | "SM" | "SB" => {
                let font = if name == "I" {
                    Font::Italic
                } else {
                    Font::Bold
                };
                push_words(&mut self.para, &macro_args(args), &[font]);
                if self.want_tag {
                    self.start_entry();
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
                push_alternating(&mut self.para, &macro_args(args), &fonts);
                if self.want_tag {
                    self.start_entry();
                }
            }
            _ => {}
        }
    }
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
    fn items_end_at_pp_and_nest_in_rs() {
        let s = parse(
            ".SH DESCRIPTION\n.TP\n.B A\nfirst.\n.IP\nstill A.\n.RS\n.TP\n.B INNER\ninner.\n.RE\n\
             back in A.\n.PP\nplain paragraph.\n.TP\n.B B\nbody of B.\n.SS Sub\nafter.\n",
        );
        let d = &s[0];
        let bodies: Vec<(String, Vec<String>)> = d
            .entries
            .iter()
            .map(|e| (plain(&e.tag), e.body.iter().map(plain).collect()))
            .collect();
        assert_eq!(
            bodies,
            [
                (
                    "A".into(),
                    vec!["first.".into(), "still A.".into(), "back in A.".into()]
                ),
                ("INNER".into(), vec!["inner.".into()]),
                ("B".into(), vec!["body of B.".into()]),
            ]
        );
        let paras: Vec<String> = d.paragraphs.iter().map(plain).collect();
        assert_eq!(paras, ["plain paragraph.", "Sub", "after."]);
    }

    /// The three quotes that used to run on into the next paragraph: each item ends with its
    /// own text (man-pages 6.03; skipped where the pages are not installed).
    #[test]
    fn installed_items_end_where_their_paragraph_does() {
        let ends = |page: &str, section: u32, symbol: &str, bad: &str| {
            let Some(page) = load(page, section) else {
                return;
            };
            let (_, e) = page.entries_for(symbol).next().expect(symbol);
            let text: Vec<String> = e.body.iter().map(plain).collect();
            assert!(
                !text.join(" ").contains(bad),
                "{symbol} runs on into the next paragraph: {text:?}"
            );
        };
        ends("mmap", 2, "ETXTBSY", "Use of a mapped region");
        ends("mmap", 2, "MAP_UNINITIALIZED", "Of the above flags");
        ends("sigaction", 2, "SEGV_PKUERR", "for a SIGBUS signal");
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
