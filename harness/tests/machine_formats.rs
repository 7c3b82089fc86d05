//! KTAP and JUnit XML as CI systems read them: the JUnit of a live run and the files `mmcheck
//! report` writes for every environment validate against the Jenkins xUnit plugin's junit-10.xsd
//! (`ci/junit/junit-10.xsd`, with xmllint), every KTAP file follows the kernel's KTAP rules, and
//! two reports of the same results are the same bytes.

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Validates `files` against ci/junit/junit-10.xsd with xmllint (Debian's libxml2-utils). Where
/// xmllint is missing, says on the terminal that the files were NOT validated (written past the
/// test harness's capture, so that it shows in a passing run) and returns false; with
/// MMCHECK_REQUIRE_XMLLINT=1 (.ci/run and ci/github-workflow.yml, after `make setup` installed
/// it) a missing xmllint fails instead.
fn validate_with_xmllint(files: &[PathBuf]) -> bool {
    if Command::new("xmllint").arg("--version").output().is_err() {
        let msg = format!(
            "NOT RUN: JUnit validation against ci/junit/junit-10.xsd: xmllint is not installed \
             (Debian: apt-get install libxml2-utils, or make setup); {} files not validated",
            files.len()
        );
        assert!(
            std::env::var_os("MMCHECK_REQUIRE_XMLLINT").is_none_or(|v| v != "1"),
            "MMCHECK_REQUIRE_XMLLINT=1: {msg}"
        );
        let _ = writeln!(std::io::stderr(), "{msg}");
        return false;
    }
    let out = Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(repo().join("ci/junit/junit-10.xsd"))
        .args(files)
        .output()
        .expect("xmllint runs");
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "xmllint:\n{errors}");
    for f in files {
        assert!(
            errors.contains(&format!("{} validates", f.display())),
            "{}: {errors}",
            f.display()
        );
    }
    true
}

#[test]
fn junit_of_a_live_run_validates_against_the_xsd() {
    let dir = tempfile::tempdir().unwrap();
    // Every verdict (pass, fail, broken, skip) from the fixtures, and a few real cases.
    let runs = [
        ("tests/fixtures", vec!["run", "--cases", "verdicts"], 1),
        (
            "tests/fixtures",
            vec!["run", "mprotect/unaligned", "--cases", "../../../cases"],
            0,
        ),
    ];
    let mut files = Vec::new();
    for (i, (cwd, args, want)) in runs.into_iter().enumerate() {
        let mut args = args;
        args.extend(["--format", "junit"]);
        let (code, out, err) = common::mmcheck_in(cwd, &args);
        assert_eq!(code, want, "{args:?}: {err}");
        assert!(out.contains("<testcase "), "{out}");
        let path = dir.path().join(format!("run{i}.xml"));
        std::fs::write(&path, out).unwrap();
        files.push(path);
    }
    validate_with_xmllint(&files);
}

fn report(out: &Path) {
    let (code, stdout, err) = common::mmcheck_in(
        "tests/fixtures",
        &[
            "report",
            "--out",
            out.to_str().unwrap(),
            "--cases",
            "../../../cases",
        ],
    );
    assert_eq!(code, 0, "{stdout}{err}");
}

/// The files of one folder of a report, by name.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    found.sort();
    found
}

#[test]
fn report_writes_valid_deterministic_ktap_and_junit_for_every_environment() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    report(a.path());
    report(b.path());
    let envs: Vec<String> = std::fs::read_dir(repo().join("snapshots"))
        .unwrap()
        .flatten()
        .filter(|d| d.path().join("results.json").exists())
        .map(|d| d.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(envs.len() >= 10, "{envs:?}");
    for (dir, ext) in [("ktap", "ktap"), ("junit", "xml")] {
        let first = files(&a.path().join(dir));
        assert_eq!(
            first,
            files(&b.path().join(dir)),
            "two reports of the same results differ in {dir}/"
        );
        let mut names: Vec<&str> = first.iter().map(|(n, _)| n.as_str()).collect();
        names.sort();
        let mut want: Vec<String> = envs.iter().map(|e| format!("{e}.{ext}")).collect();
        want.sort();
        assert_eq!(names, want, "one {dir} file per environment");
    }
    // Each KTAP file follows the kernel's rules and has every case of its environment.
    let mut classes = std::collections::BTreeSet::new();
    for env in &envs {
        let doc = mmcheck::results::ResultsDoc::parse(
            &std::fs::read_to_string(repo().join("snapshots").join(env).join("results.json"))
                .unwrap(),
        )
        .unwrap();
        let ktap =
            std::fs::read_to_string(a.path().join("ktap").join(format!("{env}.ktap"))).unwrap();
        assert_eq!(common::check_ktap(&ktap), doc.cases.len(), "{env}");
        let xml =
            std::fs::read_to_string(a.path().join("junit").join(format!("{env}.xml"))).unwrap();
        assert!(
            !xml.contains(" time=\""),
            "{env}: a committed document has no timings"
        );
        let junit = quick_junit::Report::deserialize_from_str(&xml).expect("JUnit XML");
        assert_eq!(junit.tests, doc.cases.len(), "{env}");
        assert_eq!(junit.failures, doc.totals.failed, "{env}");
        assert_eq!(junit.errors, doc.totals.broken, "{env}");
        // Merged with the other environments' files, no case collides with another.
        for suite in &junit.test_suites {
            for case in &suite.test_cases {
                let class = case.classname.as_deref().unwrap_or_default();
                assert!(class.starts_with(&format!("{env}.")), "{class}");
                assert!(
                    classes.insert((class.to_string(), case.name.as_str().to_string())),
                    "{class} {} twice",
                    case.name.as_str()
                );
            }
        }
    }
    let xml: Vec<PathBuf> = envs
        .iter()
        .map(|e| a.path().join("junit").join(format!("{e}.xml")))
        .collect();
    validate_with_xmllint(&xml);
}
