//! `mmcheck coverage` as a user meets it, and the committed docs/coverage.md and markers file
//! kept true. What depends on the installed man pages runs only where the release the doc was
//! generated from is installed (Debian 12's manpages-dev, which `make setup` installs); elsewhere
//! it says so and checks nothing it cannot.

mod common;

use std::path::Path;

fn mmcheck(args: &[&str]) -> (i32, String, String) {
    common::mmcheck_in("..", args)
}

fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// The release docs/coverage.md was generated from, when that release is installed here.
fn same_release_installed() -> Option<String> {
    let doc = std::fs::read_to_string(repo("docs/coverage.md")).expect("docs/coverage.md");
    let (code, out, err) = mmcheck(&["coverage", "--format", "json"]);
    if code == 2 && err.contains("manpages-dev") {
        eprintln!(
            "skipped: the family's man pages are not installed (apt-get install manpages-dev)"
        );
        return None;
    }
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let release = json["release"].as_str().unwrap_or_default().to_string();
    if !doc.contains(&format!("from {release} (")) {
        eprintln!(
            "skipped: docs/coverage.md was generated from another man-pages release than {release}"
        );
        return None;
    }
    Some(release)
}

#[test]
fn the_committed_coverage_page_is_current() {
    if same_release_installed().is_none() {
        return;
    }
    let (code, out, err) = mmcheck(&["coverage", "--format", "markdown"]);
    assert_eq!(code, 0, "{err}");
    let doc = std::fs::read_to_string(repo("docs/coverage.md")).unwrap();
    assert!(
        out == doc,
        "docs/coverage.md is out of date: run `make coverage` and commit it"
    );
}

#[test]
fn every_marker_names_a_rule_and_every_marked_rule_says_why() {
    let Some(release) = same_release_installed() else {
        return;
    };
    let (_, out, _) = mmcheck(&["coverage", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let markers = std::fs::read_to_string(repo("docs/coverage/untestable.toml")).unwrap();
    assert!(
        markers.contains(&format!("man-pages = \"{release}\"")),
        "the markers file names the release it was written for"
    );
    let stale = json["stale_markers"].as_array().unwrap();
    assert!(stale.is_empty(), "markers that name no rule: {stale:#?}");
    for r in json["rules"].as_array().unwrap() {
        match r["status"].as_str().unwrap() {
            "covered" => assert!(!r["cases"].as_array().unwrap().is_empty(), "{r}"),
            "untestable" => assert!(!r["why"].as_str().unwrap_or_default().is_empty(), "{r}"),
            "uncovered" => assert!(r["cases"].as_array().unwrap().is_empty(), "{r}"),
            other => panic!("unknown status {other}"),
        }
    }
}

#[test]
fn the_text_quotes_the_rules_and_the_table_adds_up() {
    if same_release_installed().is_none() {
        return;
    }
    let (code, out, err) = mmcheck(&["coverage", "mmap", "--all"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("page "), "{out}");
    // The ERRORS entry for a zero length, quoted from the page and traced to its case.
    let at = out
        .find("mmap(2) ERRORS EINVAL")
        .expect("mmap(2)'s EINVAL entries are rules");
    assert!(out[at..].contains("length was 0"), "{}", &out[at..]);
    let (_, json, _) = mmcheck(&["coverage", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let t = &json["total"];
    let n = |k: &str| t[k].as_u64().unwrap();
    assert_eq!(n("rules"), n("covered") + n("untestable") + n("uncovered"));
    assert_eq!(
        n("rules") as usize,
        json["rules"].as_array().unwrap().len(),
        "one rule object per rule"
    );
}

#[test]
fn bad_arguments_say_what_was_expected() {
    let (code, _, err) = mmcheck(&["coverage", "mmapp"]);
    if err.contains("manpages-dev") {
        return;
    }
    assert_eq!(code, 2);
    assert!(
        err.contains("'mmapp' is not a page of the family; expected one of: mmap(2)"),
        "{err}"
    );
    let (code, _, err) = mmcheck(&["coverage", "--min", "101"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--min takes a percentage from 0 to 100"),
        "{err}"
    );
    // A bar above the measure fails the run with status 1; one at or below it passes.
    let (_, json, _) = mmcheck(&["coverage", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let done = json["total_done_percent"].as_f64().unwrap();
    let floor = format!("{}", done.floor());
    assert_eq!(mmcheck(&["coverage", "--min", &floor]).0, 0);
    if done < 100.0 {
        let above = format!("{}", (done + 0.01).min(100.0));
        assert_eq!(mmcheck(&["coverage", "--min", &above]).0, 1);
    }
}
