//! The compatibility report's index.html: one self-contained page (no network, no external
//! assets). Its markup, style and script are the files under `report_html/`, kept apart so they
//! can be edited and linted as what they are; the report's data is embedded as JSON and the
//! script renders it. `make e2e` drives the page in headless Chromium (ci/e2e).

use crate::report::Report;

const PAGE: &str = include_str!("report_html/page.html");
const STYLE: &str = include_str!("report_html/style.css");
const SCRIPT: &str = include_str!("report_html/app.js");

/// The page with `report` embedded. `</` in the data is escaped so that no string in it can
/// close the script element that holds it.
pub fn html(report: &Report) -> String {
    let data = serde_json::to_string(report)
        .expect("serializes")
        .replace("</", "<\\/");
    PAGE.replace("/*STYLE*/", STYLE)
        .replace("/*SCRIPT*/", SCRIPT)
        .replace("/*DATA*/", &data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_self_contained_and_has_its_legend() {
        let page = html(&crate::report::build(&[], &[]));
        for remote in ["http://", "https://", "//cdn", "@import"] {
            assert!(!page.contains(remote), "the page refers to {remote}");
        }
        for tag in ["<link", "<img", "<iframe", "<script src"] {
            assert!(!page.contains(tag), "the page loads {tag}");
        }
        for part in ["/*STYLE*/", "/*SCRIPT*/", "/*DATA*/"] {
            assert!(!page.contains(part), "{part} was not filled in");
        }
        assert!(page.contains(r#"id="legend""#), "the legend");
        for status in ["pass", "fail", "broken", "skip", "untested"] {
            assert!(
                page.contains(&format!(r#"class="swatch {status}""#)),
                "{status}"
            );
        }
    }

    #[test]
    fn no_string_in_the_data_can_close_its_script_element() {
        let mut report = crate::report::build(&[], &[]);
        report
            .explain
            .insert("X".into(), "</script><script>alert(1)</script>".into());
        let page = html(&report);
        assert_eq!(
            page.matches("</script>").count(),
            2,
            "the data's and the app's"
        );
    }
}
