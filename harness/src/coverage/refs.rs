//! A case's ref, `mmap(2) ERRORS EINVAL: length was 0`, and the rules it names.
//!
//! The part before the colon is a path: the page, then (each optional, in this order) the
//! section, the `.SS` subsection and an entry's tag. The words after the colon pick one rule
//! among those the path leaves: they occur in the rule's text (case and spacing aside).

use super::rules::{PageRules, Rule};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ref {
    /// `mmap`, as written (may be a link such as `munmap`).
    pub name: String,
    pub section: String,
    pub path: String,
    pub quote: Option<String>,
    /// `#N` after the path: the rule's number among those of its place, for the rare rule whose
    /// words are those of another (memfd_create(2)'s NOTES say one sentence twice). Numbers
    /// hold for one man-pages release; words are preferred wherever they suffice.
    pub nth: Option<usize>,
}

/// `None` when the text does not start with `name(section)`: a kernel document such as
/// `mseal.rst SYSCALL`, which no man page holds.
pub fn parse(text: &str) -> Option<Ref> {
    let open = text.find('(')?;
    let close = open + text[open..].find(')')?;
    let name = &text[..open];
    let section = &text[open + 1..close];
    if name.is_empty()
        || name.contains(char::is_whitespace)
        || section.is_empty()
        || !section.chars().next().is_some_and(|c| c.is_ascii_digit())
    {
        return None;
    }
    let rest = text[close + 1..].trim();
    let (path, quote) = match rest.split_once(": ") {
        Some((p, q)) => (p.trim(), Some(q.trim().to_string())),
        None => match rest.strip_suffix(':') {
            Some(p) => (p.trim(), None),
            None => (rest, None),
        },
    };
    let (path, nth) = match path.rsplit_once(" #") {
        Some((p, n)) if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) => {
            (p.trim(), n.parse().ok())
        }
        _ => (path, None),
    };
    Some(Ref {
        name: name.to_string(),
        section: section.to_string(),
        path: path.to_string(),
        quote: quote.filter(|q| !q.is_empty()),
        nth,
    })
}

/// The rules of `page` that `r` names.
pub fn matches<'a>(r: &Ref, page: &'a PageRules) -> Vec<&'a Rule> {
    matches_any(r, &page.rules)
}

/// The rules of a list that `r` names.
pub fn matches_any<'a>(r: &Ref, rules: &'a [Rule]) -> Vec<&'a Rule> {
    let quote = r.quote.as_deref().map(normalize);
    rules
        .iter()
        .filter(|rule| path_names(&r.path, rule))
        .filter(|rule| r.nth.is_none_or(|n| rule.id.ends_with(&format!(" #{n}"))))
        .filter(|rule| {
            quote
                .as_deref()
                .is_none_or(|q| normalize(&rule.text).contains(q))
        })
        .collect()
}

/// Whether `path` names `rule`: section, subsection and tag, each optional, in order.
fn path_names(path: &str, rule: &Rule) -> bool {
    let mut rest = path.trim();
    if let Some(r) = strip_words(rest, &rule.section) {
        rest = r;
    }
    if let Some(sub) = rule.sub.as_deref() {
        if let Some(r) = strip_words(rest, sub).or_else(|| strip_sub_item(rest, sub)) {
            rest = r;
        }
    }
    if rest.is_empty() {
        return true;
    }
    let symbols = rule.tag_symbols();
    let full = rule.tag.as_deref().map(super::rules::short_tag);
    symbols.contains(&rest) || full.as_deref() == Some(rest)
}

/// `text` without `prefix` and the spaces after it, when it starts with `prefix` as whole words.
fn strip_words<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = text.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with(' ')).then(|| rest.trim_start())
}

/// `text` without its first word when that word is one of the items a heading lists:
/// `munlock()` in `mlock(), mlock2(), and munlock()`.
fn strip_sub_item<'a>(text: &'a str, heading: &str) -> Option<&'a str> {
    let (word, rest) = text.split_once(' ').unwrap_or((text, ""));
    heading
        .split([',', ' '])
        .any(|item| !item.is_empty() && item != "and" && item == word)
        .then(|| rest.trim_start())
}

/// Lower case, one space between words, typographic quotes and dashes as plain ones.
pub fn normalize(text: &str) -> String {
    let text: String = text
        .chars()
        .map(|c| match c {
            '\u{2018}' | '\u{2019}' => '\'',
            '\u{201c}' | '\u{201d}' => '"',
            '\u{2013}' | '\u{2014}' => '-',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::super::rules::{extract, Scope};
    use super::*;

    #[test]
    fn refs_parse_into_page_path_and_quote() {
        assert_eq!(
            parse("mmap(2) ERRORS EINVAL: length was 0"),
            Some(Ref {
                name: "mmap".into(),
                section: "2".into(),
                path: "ERRORS EINVAL".into(),
                quote: Some("length was 0".into()),
                nth: None,
            })
        );
        assert_eq!(parse("mseal.rst SYSCALL Return values"), None);
        assert_eq!(parse("stat(3type) st_blocks").unwrap().section, "3type");
        assert_eq!(parse("zero(4)").unwrap().path, "");
    }

    const PAGE: &str = r#".TH mmap 2 2023-02-05 "Linux man-pages 6.03"
.SH DESCRIPTION
The call maps. It returns the address.
.TP
.B MAP_FIXED
Exactly there.
.TP
.BR MAP_HUGE_2MB ", " MAP_HUGE_1GB " (since Linux 3.8)"
Huge sizes.
.SS munmap()
The call unmaps.
.SS mlock(), mlock2(), and munlock()
Locks.
.SH ERRORS
.TP
.B EINVAL
Bad addr.
.TP
.B EINVAL
(since Linux 2.6.12) length was 0.
"#;

    fn ids(r: &str) -> Vec<String> {
        let page = extract("mmap(2)", PAGE, Scope::All);
        matches(&parse(r).unwrap(), &page)
            .into_iter()
            .map(|r| r.id.clone())
            .collect()
    }

    #[test]
    fn a_ref_names_the_rules_its_path_and_words_leave() {
        assert_eq!(ids("mmap(2) ERRORS EINVAL").len(), 2, "two EINVAL entries");
        assert_eq!(
            ids("mmap(2) ERRORS EINVAL: LENGTH  was 0"),
            ["mmap(2) ERRORS EINVAL #2"]
        );
        assert_eq!(ids("mmap(2) MAP_FIXED"), ["mmap(2) DESCRIPTION MAP_FIXED"]);
        assert_eq!(
            ids("mmap(2) DESCRIPTION MAP_HUGE_1GB"),
            ["mmap(2) DESCRIPTION MAP_HUGE_2MB, MAP_HUGE_1GB"]
        );
        assert_eq!(
            ids("mmap(2) DESCRIPTION munmap()"),
            ["mmap(2) DESCRIPTION munmap() #1"]
        );
        assert_eq!(
            ids("mmap(2) DESCRIPTION: returns the address"),
            ["mmap(2) DESCRIPTION #2"]
        );
        assert_eq!(ids("mmap(2) DESCRIPTION").len(), 6, "a whole section");
        assert_eq!(
            ids("mmap(2) ERRORS EINVAL #2"),
            ["mmap(2) ERRORS EINVAL #2"]
        );
        assert_eq!(
            ids("mmap(2) DESCRIPTION #1: The call maps"),
            ["mmap(2) DESCRIPTION #1"]
        );
        assert!(ids("mmap(2) DESCRIPTION #2: The call maps").is_empty());
        assert_eq!(
            ids("mmap(2) DESCRIPTION munlock()"),
            ["mmap(2) DESCRIPTION mlock(), mlock2(), and munlock() #1"]
        );
        assert!(ids("mmap(2) ERRORS ENOMEM").is_empty());
        assert!(ids("mmap(2) NOTES").is_empty());
    }
}
