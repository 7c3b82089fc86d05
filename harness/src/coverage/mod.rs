//! `mmcheck coverage`: which rules of the family's installed man pages a case proves, which are
//! marked untestable (docs/coverage/untestable.toml, each with why), and which nothing covers.
//! The measure is data; `render::coverage` words it.

pub mod markers;
pub mod refs;
pub mod rules;

use crate::case::plan::Case;
use crate::explain::man;
use markers::{Marker, Markers};
use rules::{NotARule, PageRules, Rule};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Covered,
    Untestable,
    Uncovered,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleCoverage {
    #[serde(flatten)]
    pub rule: Rule,
    pub status: Status,
    /// Case files (ids without a filesystem) whose refs name this rule alone.
    pub cases: Vec<String>,
    /// Why no case can check it, from the markers file.
    pub why: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PageCoverage {
    pub page: String,
    pub rules: usize,
    pub covered: usize,
    pub untestable: usize,
    pub uncovered: usize,
    /// Pieces that state no rule, by why.
    pub not_rules: Vec<(NotARule, usize)>,
}

impl PageCoverage {
    /// Covered or marked untestable, in percent.
    pub fn done_percent(&self) -> f64 {
        percent(self.covered + self.untestable, self.rules)
    }
}

/// A ref of a case that does not name exactly one rule of the family's pages.
#[derive(Debug, Clone, Serialize)]
pub struct RefProblem {
    pub case: String,
    pub r#ref: String,
    /// How many rules it names (0: none, as written; more: too broad to cover any).
    pub names: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    /// The man-pages release read (`Linux man-pages 6.03`).
    pub release: Option<String>,
    /// The release the markers were written against.
    pub markers_release: String,
    pub markers_file: PathBuf,
    pub pages: Vec<PageCoverage>,
    /// Family pages not installed here.
    pub missing_pages: Vec<String>,
    pub rules: Vec<RuleCoverage>,
    pub broad_refs: Vec<RefProblem>,
    pub dangling_refs: Vec<RefProblem>,
    /// Markers that name no rule.
    pub stale_markers: Vec<StaleMarker>,
    pub case_files: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct StaleMarker {
    pub r#ref: String,
    pub line: usize,
}

impl Coverage {
    pub fn total(&self) -> PageCoverage {
        let mut t = PageCoverage {
            page: "total".into(),
            rules: 0,
            covered: 0,
            untestable: 0,
            uncovered: 0,
            not_rules: Vec::new(),
        };
        let mut not: BTreeMap<NotARule, usize> = BTreeMap::new();
        for p in &self.pages {
            t.rules += p.rules;
            t.covered += p.covered;
            t.untestable += p.untestable;
            t.uncovered += p.uncovered;
            for (k, n) in &p.not_rules {
                *not.entry(*k).or_default() += n;
            }
        }
        t.not_rules = not.into_iter().collect();
        t
    }

    /// The rules of one status, in page order.
    pub fn rules_with(&self, status: Status) -> impl Iterator<Item = &RuleCoverage> {
        self.rules.iter().filter(move |r| r.status == status)
    }

    /// Whether the markers were written against the man pages read: when not, markers that
    /// name nothing are expected and not an error.
    pub fn same_release(&self) -> bool {
        self.release.as_deref() == Some(self.markers_release.as_str())
    }
}

pub fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        100.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// Reads the installed pages and measures `cases` and `markers` against them.
pub fn measure(cases: &[Case], markers: &Markers) -> Coverage {
    let (pages, missing) = rules::read_pages();
    measure_pages(&pages, missing, cases, markers)
}

/// The measure over pages already read (tests give their own).
pub fn measure_pages(
    pages: &[PageRules],
    missing_pages: Vec<String>,
    cases: &[Case],
    markers: &Markers,
) -> Coverage {
    let mut resolver = Resolver::new(pages);
    let mut covered: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut broad = Vec::new();
    let mut dangling = Vec::new();
    let mut seen_files = std::collections::BTreeSet::new();
    for case in cases {
        if !seen_files.insert(case.file_id.as_str()) {
            continue;
        }
        for text in &case.refs {
            let Some(r) = refs::parse(text) else { continue };
            let Some(page) = resolver.page(&r) else {
                continue;
            };
            let names = refs::matches(&r, page);
            match names.as_slice() {
                [one] => covered
                    .entry(one.id.as_str())
                    .or_default()
                    .push(case.file_id.clone()),
                _ => {
                    let problem = RefProblem {
                        case: case.file_id.clone(),
                        r#ref: text.clone(),
                        names: names.len(),
                    };
                    if names.is_empty() {
                        // A ref to the rest of a page only partly the family's (proc(5)'s
                        // max_map_count) is outside what is measured, not wrong.
                        if refs::matches_any(&r, &page.outside).is_empty() {
                            dangling.push(problem)
                        }
                    } else {
                        broad.push(problem)
                    }
                }
            }
        }
    }
    let mut why: BTreeMap<&str, &Marker> = BTreeMap::new();
    let mut stale = Vec::new();
    for m in &markers.markers {
        let named = refs::parse(&m.r#ref)
            .and_then(|r| resolver.page(&r).map(|p| refs::matches(&r, p)))
            .unwrap_or_default();
        if named.is_empty() {
            stale.push(StaleMarker {
                r#ref: m.r#ref.clone(),
                line: m.line,
            });
        }
        for rule in named {
            why.entry(rule.id.as_str()).or_insert(m);
        }
    }
    let mut out_rules = Vec::new();
    let mut out_pages = Vec::new();
    for p in pages {
        let mut pc = PageCoverage {
            page: p.page.clone(),
            rules: p.rules.len(),
            covered: 0,
            untestable: 0,
            uncovered: 0,
            not_rules: p.not_rules.clone(),
        };
        for rule in &p.rules {
            let cases = covered.get(rule.id.as_str()).cloned().unwrap_or_default();
            let marker = why.get(rule.id.as_str());
            let status = if !cases.is_empty() {
                pc.covered += 1;
                Status::Covered
            } else if marker.is_some() {
                pc.untestable += 1;
                Status::Untestable
            } else {
                pc.uncovered += 1;
                Status::Uncovered
            };
            out_rules.push(RuleCoverage {
                rule: rule.clone(),
                status,
                cases,
                why: marker.map(|m| m.why.clone()),
            });
        }
        out_pages.push(pc);
    }
    Coverage {
        release: pages.iter().find_map(|p| p.release.clone()),
        markers_release: markers.man_pages.clone(),
        markers_file: markers.path.clone(),
        pages: out_pages,
        missing_pages,
        rules: out_rules,
        broad_refs: broad,
        dangling_refs: dangling,
        stale_markers: stale,
        case_files: seen_files.len(),
    }
}

/// Finds the family page a ref cites, through links: `munmap(2)` is mmap(2).
struct Resolver<'a> {
    pages: &'a [PageRules],
    cache: BTreeMap<String, Option<usize>>,
}

impl<'a> Resolver<'a> {
    fn new(pages: &'a [PageRules]) -> Self {
        Resolver {
            pages,
            cache: BTreeMap::new(),
        }
    }

    fn page(&mut self, r: &refs::Ref) -> Option<&'a PageRules> {
        let key = format!("{}({})", r.name, r.section);
        let pages = self.pages;
        let at = *self.cache.entry(key.clone()).or_insert_with(|| {
            if let Some(i) = pages.iter().position(|p| p.page == key) {
                return Some(i);
            }
            let section: u32 = r.section.parse().ok()?;
            let (path, _) = man::source(&r.name, section)?;
            pages.iter().position(|p| p.path == path)
        });
        at.map(|i| &pages[i])
    }
}

#[cfg(test)]
mod tests {
    use super::rules::{extract, Scope};
    use super::*;
    use crate::case::load;

    const PAGE: &str = r#".TH mmap 2 2023-02-05 "Linux man-pages 6.03"
.SH DESCRIPTION
The call maps. It returns the address.
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
"#;

    fn case(id: &str, refs: &[&str]) -> Case {
        let text = format!(
            "summary = \"s\"\nsymbols = [\"mmap\"]\nrefs = {refs:?}\n\n[[step]]\ncall = \"mmap\"\n\
             args = {{ len = \"PAGE\", prot = \"PROT_READ\", flags = \"MAP_PRIVATE|MAP_ANONYMOUS\" }}\n"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(format!("{id}.toml"));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, text).unwrap();
        load::load_file(dir.path(), &file).unwrap().remove(0)
    }

    #[test]
    fn rules_are_covered_marked_or_uncovered_and_bad_refs_are_named() {
        let mut page = extract("mmap(2)", PAGE, Scope::All);
        page.path = PathBuf::from("/nowhere/mmap.2.gz");
        let cases = [
            case(
                "mmap/a",
                &["mmap(2) ERRORS EINVAL: length was 0", "fork(2) DESCRIPTION"],
            ),
            case("mmap/b", &["mmap(2) ERRORS EINVAL", "mmap(2) NOTES"]),
            case("mmap/c", &["mmap(2) DESCRIPTION: returns the address"]),
        ];
        let markers = Markers {
            path: PathBuf::from("untestable.toml"),
            man_pages: "Linux man-pages 6.03".into(),
            markers: vec![
                Marker {
                    r#ref: "mmap(2) ERRORS ENOMEM".into(),
                    why: "needs a machine without memory".into(),
                    line: 3,
                },
                Marker {
                    r#ref: "mmap(2) ERRORS EPERM".into(),
                    why: "gone".into(),
                    line: 7,
                },
            ],
        };
        let c = measure_pages(&[page], Vec::new(), &cases, &markers);
        let status: Vec<(&str, Status)> = c
            .rules
            .iter()
            .map(|r| (r.rule.id.as_str(), r.status))
            .collect();
        assert_eq!(
            status,
            [
                ("mmap(2) DESCRIPTION #1", Status::Uncovered),
                ("mmap(2) DESCRIPTION #2", Status::Covered),
                ("mmap(2) ERRORS EINVAL #1", Status::Uncovered),
                ("mmap(2) ERRORS EINVAL #2", Status::Covered),
                ("mmap(2) ERRORS ENOMEM", Status::Untestable),
            ]
        );
        assert_eq!(c.rules[3].cases, ["mmap/a"]);
        assert_eq!(c.broad_refs.len(), 1);
        assert_eq!(c.broad_refs[0].r#ref, "mmap(2) ERRORS EINVAL");
        assert_eq!(c.broad_refs[0].names, 2);
        assert_eq!(c.dangling_refs.len(), 1);
        assert_eq!(c.dangling_refs[0].r#ref, "mmap(2) NOTES");
        assert_eq!(c.stale_markers.len(), 1);
        assert_eq!(c.stale_markers[0].line, 7);
        let t = c.total();
        assert_eq!(
            (t.rules, t.covered, t.untestable, t.uncovered),
            (5, 2, 1, 2)
        );
        assert!(c.same_release());
    }
}
