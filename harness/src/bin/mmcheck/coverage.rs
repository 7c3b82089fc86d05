//! `mmcheck coverage`: the family's man pages against the cases' refs and the markers file.

use crate::cli::CoverageFormat;
use crate::exit::{bad_input, Exit};
use crate::paths::{cases_and_repo, load_or_report};
use mmcheck::coverage::{self, markers};
use mmcheck::render;
use std::io::Write;
use std::path::PathBuf;

/// Where the markers of untestable rules live, beside the generated docs/coverage.md.
pub const MARKERS: &str = "docs/coverage/untestable.toml";

pub fn coverage(
    pages: Vec<String>,
    format: CoverageFormat,
    all: bool,
    min: Option<f64>,
    cases: Option<PathBuf>,
) -> Exit {
    if let Some(m) = min.filter(|m| !(0.0..=100.0).contains(m)) {
        return bad_input(format!("--min takes a percentage from 0 to 100, not {m}"));
    }
    let (cases_dir, repo) = cases_and_repo(cases);
    let loaded = match load_or_report(&cases_dir) {
        Ok(c) => c,
        Err(exit) => return exit,
    };
    let markers = match markers::load(&repo.join(MARKERS)) {
        Ok(m) => m,
        Err(e) => return bad_input(e),
    };
    let mut measured = coverage::measure(&loaded, &markers);
    if measured.pages.is_empty() {
        return bad_input(
            "none of the family's man pages is installed here (apt-get install manpages-dev), \
             so there are no rules to measure",
        );
    }
    if !pages.is_empty() {
        let known: Vec<String> = measured.pages.iter().map(|p| p.page.clone()).collect();
        let mut keep = Vec::new();
        for want in &pages {
            let hit = known
                .iter()
                .find(|k| *k == want || k.split('(').next() == Some(want.as_str()));
            match hit {
                Some(k) => keep.push(k.clone()),
                None => {
                    return bad_input(format!(
                        "'{want}' is not a page of the family; expected one of: {}",
                        known.join(", ")
                    ))
                }
            }
        }
        measured.pages.retain(|p| keep.contains(&p.page));
        measured.rules.retain(|r| keep.contains(&r.rule.page));
    }
    let text = match format {
        CoverageFormat::Text => render::coverage::text(&measured, all),
        CoverageFormat::Markdown => render::coverage::markdown(&measured),
        CoverageFormat::Json => render::coverage::json(&measured),
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    let t = measured.total();
    Exit::failed_if(min.is_some_and(|m| t.done_percent() < m))
}
