//! The rules of the family's man pages, read from the installed pages: each ERRORS entry, each
//! flag or advice entry, each sentence of DESCRIPTION, RETURN VALUE, NOTES and BUGS paragraphs.
//! A rule's text is kept only in memory, to match refs and to quote it to the user.

use crate::explain::man::{self, Entry, Section};
use serde::Serialize;
use std::path::PathBuf;

/// Which part of a page is the family's.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    /// The whole page.
    All,
    /// Only the `.SS` subsections whose headings start with these, and the ERRORS entries
    /// whose text mentions the word, if one is given (fcntl(2)'s file sealing and its seal
    /// errors; userfaultfd(2)'s parts about registered ranges).
    Subsections(&'static [&'static str], Option<&'static str>),
    /// Only these `.TP` entries, each body paragraph a rule (proc(5)'s files).
    Entries(&'static [&'static str]),
}

/// The pages `mmcheck coverage` reads. munmap(2), pkey_mprotect(2), mlock2(2), mlockall(2) and
/// munlock(2) are links to pages listed here.
pub const PAGES: &[(&str, u32, Scope)] = &[
    ("mmap", 2, Scope::All),
    ("mprotect", 2, Scope::All),
    ("msync", 2, Scope::All),
    ("mremap", 2, Scope::All),
    ("madvise", 2, Scope::All),
    ("process_madvise", 2, Scope::All),
    ("mincore", 2, Scope::All),
    ("mlock", 2, Scope::All),
    ("remap_file_pages", 2, Scope::All),
    ("mseal", 2, Scope::All),
    ("memfd_create", 2, Scope::All),
    (
        "fcntl",
        2,
        Scope::Subsections(&["File Sealing"], Some("SEAL")),
    ),
    (
        "proc",
        5,
        Scope::Entries(&[
            "/proc/pid/maps",
            "/proc/pid/smaps",
            "/proc/pid/pagemap",
            "/proc/pid/clear_refs",
        ]),
    ),
    (
        "userfaultfd",
        2,
        Scope::Subsections(
            &[
                "Userfaultfd operation",
                "Userfaultfd write-protect mode",
                "Userfaultfd minor fault mode",
            ],
            None,
        ),
    ),
];

/// Sections whose untagged sentences are rules.
const SENTENCE_SECTIONS: &[&str] = &["DESCRIPTION", "RETURN VALUE", "NOTES", "BUGS"];

/// Sections whose entries are not rules of behaviour.
const SKIPPED_SECTIONS: &[&str] = &[
    "NAME",
    "SYNOPSIS",
    "SEE ALSO",
    "EXAMPLES",
    "EXAMPLE",
    "STANDARDS",
    "CONFORMING TO",
    "VERSIONS",
    "HISTORY",
    "COLOPHON",
    "ATTRIBUTES",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A tagged entry: an errno, a flag, an advice, a /proc file's paragraph.
    Entry,
    /// A sentence of an untagged paragraph.
    Sentence,
}

#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    /// `mmap(2) ERRORS EINVAL #2`, `mmap(2) DESCRIPTION #7`: stable for one man-pages release.
    pub id: String,
    pub page: String,
    pub section: String,
    pub sub: Option<String>,
    /// The entry's tag, as the page prints it.
    pub tag: Option<String>,
    pub kind: Kind,
    /// The rule's words, from the installed page (never stored in the project).
    #[serde(skip)]
    pub text: String,
}

impl Rule {
    /// The symbols a tag names: `MAP_HUGE_2MB, MAP_HUGE_1GB (since Linux 3.8)` names two.
    pub fn tag_symbols(&self) -> Vec<&str> {
        let Some(tag) = &self.tag else {
            return Vec::new();
        };
        tag.split_whitespace()
            .take_while(|w| !w.starts_with('('))
            .map(|w| w.trim_end_matches([',', '.', ';']))
            .filter(|w| !w.is_empty())
            .collect()
    }
}

/// Why a piece of a page yields no rule; counted and shown, never silently dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotARule {
    /// A sentence that ends in a colon: it introduces the list below it.
    Introduction,
    /// "See ..." or "For details, see ...".
    CrossReference,
    /// A literal block: a code example or a listing.
    Listing,
}

impl NotARule {
    pub fn label(self) -> &'static str {
        match self {
            NotARule::Introduction => "introductions to a list",
            NotARule::CrossReference => "pointers to another page",
            NotARule::Listing => "examples or listings",
        }
    }
}

/// One installed page's rules.
#[derive(Debug, Clone, Serialize)]
pub struct PageRules {
    /// `mmap(2)`.
    pub page: String,
    pub path: PathBuf,
    /// The release in the page's `.TH` line: `Linux man-pages 6.03`.
    pub release: Option<String>,
    pub rules: Vec<Rule>,
    pub not_rules: Vec<(NotARule, usize)>,
    /// Only part of the page is the family's (fcntl(2), proc(5), userfaultfd(2)): the rules
    /// of the rest, which a ref may cite without being wrong, and which are not measured.
    #[serde(skip)]
    pub outside: Vec<Rule>,
}

/// The family's pages that are installed, and those that are not.
pub fn read_pages() -> (Vec<PageRules>, Vec<String>) {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for &(name, section, scope) in PAGES {
        let page = format!("{name}({section})");
        match man::source(name, section) {
            Some((path, text)) => {
                let mut p = extract(&page, &text, scope);
                p.path = path;
                found.push(p);
            }
            None => missing.push(page),
        }
    }
    (found, missing)
}

/// The rules of one page's roff text.
pub fn extract(page: &str, text: &str, scope: Scope) -> PageRules {
    let sections = man::parse(text);
    let mut out = PageRules {
        page: page.to_string(),
        path: PathBuf::new(),
        release: man::release(text),
        rules: Vec::new(),
        not_rules: Vec::new(),
        outside: Vec::new(),
    };
    let mut skipped = std::collections::BTreeMap::new();
    for s in &sections {
        if SKIPPED_SECTIONS.contains(&s.name.as_str()) {
            continue;
        }
        match scope {
            Scope::Entries(files) => {
                let mut i = 0;
                while i < s.entries.len() {
                    let e = &s.entries[i];
                    let tag = man::plain(&e.tag);
                    i += 1;
                    if !files
                        .iter()
                        .any(|f| tag.split_whitespace().next() == Some(f))
                    {
                        continue;
                    }
                    // The file's own paragraphs, then the items listed inside its body.
                    let mut parts: Vec<String> = e.body.iter().map(man::plain).collect();
                    while let Some(inner) = s.entries.get(i).filter(|n| n.depth > e.depth) {
                        let body: Vec<String> = inner.body.iter().map(man::plain).collect();
                        parts.push(format!("{}: {}", man::plain(&inner.tag), body.join(" ")));
                        i += 1;
                    }
                    file_paragraphs(&mut out, s, e, &parts, &mut skipped);
                }
            }
            Scope::All | Scope::Subsections(..) => {
                let want = |sub: Option<&str>| match scope {
                    Scope::Subsections(names, _) => {
                        sub.is_some_and(|sub| names.iter().any(|n| sub.starts_with(n)))
                    }
                    _ => true,
                };
                let mention = match scope {
                    Scope::Subsections(_, word) if s.name == "ERRORS" => word,
                    _ => None,
                };
                let want_entry = |e: &Entry| {
                    want(e.sub.as_deref())
                        || mention.is_some_and(|w| e.body.iter().any(|p| man::plain(p).contains(w)))
                };
                entries(&mut out, s, &want_entry);
                if SENTENCE_SECTIONS.contains(&s.name.as_str()) {
                    sentences(&mut out, s, &want, &mut skipped);
                }
            }
        }
    }
    out.not_rules = skipped.into_iter().collect();
    if !matches!(scope, Scope::All) {
        let ours: std::collections::HashSet<&str> =
            out.rules.iter().map(|r| r.id.as_str()).collect();
        let outside: Vec<Rule> = extract(page, text, Scope::All)
            .rules
            .into_iter()
            .filter(|r| !ours.contains(r.id.as_str()))
            .collect();
        out.outside = outside;
    }
    out
}

/// Each entry is one rule; entries with the same tag in a section are numbered.
fn entries(out: &mut PageRules, s: &Section, want: &dyn Fn(&Entry) -> bool) {
    let chosen: Vec<&Entry> = s.entries.iter().filter(|e| want(e)).collect();
    for (i, e) in chosen.iter().enumerate() {
        let tag = man::plain(&e.tag);
        let same = chosen.iter().filter(|o| man::plain(&o.tag) == tag).count();
        let nth = chosen[..i]
            .iter()
            .filter(|o| man::plain(&o.tag) == tag)
            .count()
            + 1;
        let mut id = format!("{} {} {}", out.page, s.name, short_tag(&tag));
        if same > 1 {
            id.push_str(&format!(" #{nth}"));
        }
        out.rules.push(Rule {
            id,
            page: out.page.clone(),
            section: s.name.clone(),
            sub: e.sub.clone(),
            tag: Some(tag),
            kind: Kind::Entry,
            text: e.body.iter().map(man::plain).collect::<Vec<_>>().join(" "),
        });
    }
}

/// A /proc file's entry: each paragraph of its body, and each item of a list in it, is a rule.
fn file_paragraphs(
    out: &mut PageRules,
    s: &Section,
    e: &Entry,
    parts: &[String],
    skipped: &mut std::collections::BTreeMap<NotARule, usize>,
) {
    let tag = man::plain(&e.tag);
    let file = short_tag(&tag);
    let mut n = 0;
    for text in parts {
        if text.contains('\n') {
            *skipped.entry(NotARule::Listing).or_default() += 1;
            continue;
        }
        if let Some(why) = not_a_rule(text) {
            *skipped.entry(why).or_default() += 1;
            continue;
        }
        n += 1;
        out.rules.push(Rule {
            id: format!("{} {} {} #{n}", out.page, s.name, file),
            page: out.page.clone(),
            section: s.name.clone(),
            sub: e.sub.clone(),
            tag: Some(tag.clone()),
            kind: Kind::Entry,
            text: text.trim().to_string(),
        });
    }
}

/// The tag without its "(since Linux x.y)".
pub(super) fn short_tag(tag: &str) -> String {
    tag.split(" (")
        .next()
        .unwrap_or(tag)
        .trim()
        .trim_end_matches(',')
        .to_string()
}

fn sentences(
    out: &mut PageRules,
    s: &Section,
    want: &dyn Fn(Option<&str>) -> bool,
    skipped: &mut std::collections::BTreeMap<NotARule, usize>,
) {
    let mut sub: Option<String> = None;
    let mut n = 0;
    for p in &s.paragraphs {
        if let Some(h) = man::heading(p) {
            sub = Some(h.to_string());
            n = 0;
            continue;
        }
        if !want(sub.as_deref()) {
            continue;
        }
        let text = man::plain(p);
        if text.contains('\n') {
            *skipped.entry(NotARule::Listing).or_default() += 1;
            continue;
        }
        for sentence in split_sentences(&text) {
            if let Some(why) = not_a_rule(&sentence) {
                *skipped.entry(why).or_default() += 1;
                continue;
            }
            n += 1;
            let id = match &sub {
                Some(h) => format!("{} {} {h} #{n}", out.page, s.name),
                None => format!("{} {} #{n}", out.page, s.name),
            };
            out.rules.push(Rule {
                id,
                page: out.page.clone(),
                section: s.name.clone(),
                sub: sub.clone(),
                tag: None,
                kind: Kind::Sentence,
                text: sentence,
            });
        }
    }
}

fn not_a_rule(sentence: &str) -> Option<NotARule> {
    let s = sentence.trim();
    if s.ends_with(':') {
        return Some(NotARule::Introduction);
    }
    let lower = s.to_lowercase();
    if lower.starts_with("see ")
        || lower.starts_with("(see ")
        || lower.starts_with("for details, see")
        || lower.starts_with("for further details, see")
        || lower.starts_with("for more details, see")
        || lower.starts_with("for further information, see")
        || lower.starts_with("for an example")
    {
        return Some(NotARule::CrossReference);
    }
    None
}

/// Abbreviations whose period does not end a sentence.
const ABBREVIATIONS: &[&str] = &["e.g", "i.e", "etc", "cf", "vs", "approx", "al", "No"];

/// Splits a paragraph into sentences: at `.`, `?` or `!` (and a closing parenthesis or quote
/// after it) followed by a space and a capital, a digit or an opening parenthesis, except after
/// an abbreviation.
pub fn split_sentences(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < chars.len() {
        if matches!(chars[i], '.' | '?' | '!') {
            let mut end = i + 1;
            while end < chars.len() && matches!(chars[end], ')' | '"' | '\u{201d}' | '\'') {
                end += 1;
            }
            let next = chars[end..].iter().position(|c| !c.is_whitespace());
            let ends = match next {
                None => true,
                Some(0) => false,
                Some(k) => {
                    let c = chars[end + k];
                    c.is_uppercase() || c == '(' || c == '\u{201c}' || c == '"'
                }
            };
            let word: String = chars[start..i]
                .iter()
                .rev()
                .take_while(|c| !c.is_whitespace() && **c != '(')
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            if ends && chars[i] == '.' && ABBREVIATIONS.iter().any(|a| word.ends_with(a)) {
                i += 1;
                continue;
            }
            if ends {
                let s: String = chars[start..end].iter().collect();
                let s = s.trim().to_string();
                if !s.is_empty() {
                    out.push(s);
                }
                start = end;
                i = end;
                continue;
            }
        }
        i += 1;
    }
    let rest: String = chars[start..].iter().collect();
    if !rest.trim().is_empty() {
        out.push(rest.trim().to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_split_at_ends_not_at_abbreviations_or_versions() {
        assert_eq!(
            split_sentences(
                "The call maps pages (e.g., a file). Since Linux 2.6.24, it rounds down. \
                 (See below.) Then it returns, i.e. succeeds."
            ),
            [
                "The call maps pages (e.g., a file).",
                "Since Linux 2.6.24, it rounds down.",
                "(See below.)",
                "Then it returns, i.e. succeeds."
            ]
        );
        assert_eq!(
            split_sentences("Values are MAP_SHARED. 64 bits wide"),
            ["Values are MAP_SHARED. 64 bits wide"],
            "a digit after the period does not start a sentence"
        );
    }

    const PAGE: &str = r#".TH mmap 2 2023-02-05 "Linux man-pages 6.03"
.SH NAME
mmap \- map
.SH DESCRIPTION
The call maps. It returns the address.
.PP
The flags are:
.TP
.BR MAP_HUGE_2MB ", " MAP_HUGE_1GB " (since Linux 3.8)"
Huge sizes.
.SS munmap()
The call unmaps. See mprotect(2).
.SH ERRORS
.TP
.B EINVAL
Bad addr.
.TP
.B EINVAL
(since Linux 2.6.12) length was 0.
.TP
.B ENOMEM
No memory.
.SH EXAMPLES
.EX
int main(void) { }
.EE
"#;

    #[test]
    fn rules_are_entries_and_sentences_with_stable_ids() {
        let p = extract("mmap(2)", PAGE, Scope::All);
        let ids: Vec<&str> = p.rules.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "mmap(2) DESCRIPTION MAP_HUGE_2MB, MAP_HUGE_1GB",
                "mmap(2) DESCRIPTION #1",
                "mmap(2) DESCRIPTION #2",
                "mmap(2) DESCRIPTION munmap() #1",
                "mmap(2) ERRORS EINVAL #1",
                "mmap(2) ERRORS EINVAL #2",
                "mmap(2) ERRORS ENOMEM",
            ]
        );
        assert_eq!(p.release.as_deref(), Some("Linux man-pages 6.03"));
        assert_eq!(
            p.not_rules,
            [(NotARule::Introduction, 1), (NotARule::CrossReference, 1)]
        );
        assert_eq!(p.rules[0].tag_symbols(), ["MAP_HUGE_2MB", "MAP_HUGE_1GB"]);
        assert_eq!(p.rules[5].text, "(since Linux 2.6.12) length was 0.");
    }

    #[test]
    fn a_file_entry_yields_its_paragraphs_and_the_items_listed_in_it() {
        let page = ".TH proc 5 x \"Linux man-pages 6.03\"\n.SH DESCRIPTION\n.SS Files\n\
                    .TP\n.IR /proc/ pid /pagemap\nOne value a page, as follows:\n.RS\n.TP\n63\n\
                    The page is present.\n.TP\n62\nSwapped.\n.RE\n.IP\nUse maps first.\n\
                    .TP\n.IR /proc/ pid /stat\nNot ours.\n";
        let p = extract("proc(5)", page, Scope::Entries(&["/proc/pid/pagemap"]));
        let rules: Vec<(&str, &str)> = p
            .rules
            .iter()
            .map(|r| (r.id.as_str(), r.text.as_str()))
            .collect();
        assert_eq!(
            rules,
            [
                (
                    "proc(5) DESCRIPTION /proc/pid/pagemap #1",
                    "Use maps first."
                ),
                (
                    "proc(5) DESCRIPTION /proc/pid/pagemap #2",
                    "63: The page is present."
                ),
                ("proc(5) DESCRIPTION /proc/pid/pagemap #3", "62: Swapped."),
            ]
        );
        assert_eq!(p.rules[0].sub.as_deref(), Some("Files"));
        assert_eq!(p.not_rules, [(NotARule::Introduction, 1)]);
    }

    #[test]
    fn a_subsection_scope_keeps_only_its_part() {
        let p = extract("mmap(2)", PAGE, Scope::Subsections(&["munmap()"], None));
        let ids: Vec<&str> = p.rules.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["mmap(2) DESCRIPTION munmap() #1"]);
    }
}
