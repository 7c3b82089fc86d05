//! Bad input gets a clear error: every malformed case names its file, line and field, every error
//! is listed before anything runs, and the exit code is 2. The messages are insta snapshots.

mod common;

use std::path::Path;

fn mmcheck(args: &[&str]) -> (i32, String, String) {
    common::mmcheck_in("tests/fixtures/bad-input", args)
}

/// Runs `mmcheck run --cases DIR`, checks that nothing ran and the exit code is 2, and returns
/// what it printed on stderr.
fn rejected(dir: &str) -> String {
    let (code, stdout, stderr) = mmcheck(&["run", "--cases", dir]);
    assert_eq!(code, 2, "exit code for {dir}; stderr:\n{stderr}");
    assert_eq!(stdout, "", "nothing may run when a case is malformed");
    stderr
}

#[test]
fn malformed_toml_names_the_line() {
    insta::assert_snapshot!(rejected("malformed"));
}

#[test]
fn unknown_field_is_an_error() {
    insta::assert_snapshot!(rejected("unknown-field"));
}

#[test]
fn unknown_flag_suggests_the_nearest() {
    insta::assert_snapshot!(rejected("unknown-flag"));
}

#[test]
fn flag_of_the_wrong_family_is_named() {
    insta::assert_snapshot!(rejected("wrong-family"));
}

#[test]
fn unknown_errno_suggests_the_nearest() {
    insta::assert_snapshot!(rejected("unknown-errno"));
}

#[test]
fn duplicate_id_is_an_error() {
    insta::assert_snapshot!(rejected("duplicate-id"));
}

#[test]
fn undefined_mapping_is_an_error() {
    insta::assert_snapshot!(rejected("undefined-mapping"));
}

#[test]
fn unknown_call_suggests_the_nearest() {
    insta::assert_snapshot!(rejected("unknown-call"));
}

#[test]
fn times_compare_only_with_an_earlier_stat() {
    insta::assert_snapshot!(rejected("time-not-from-stat"));
}

#[test]
fn every_error_of_every_file_is_listed_before_anything_runs() {
    let stderr = rejected("many");
    for file in [
        "many/mmap/broken-syntax.toml:7:",
        "many/mmap/misspelt-prot.toml:7:",
        "many/munmap/same-id-twice.toml:11:",
    ] {
        assert!(stderr.contains(file), "{file} missing in:\n{stderr}");
    }
    assert!(stderr.ends_with("3 problems in the case files; nothing was run.\n"));
}

#[test]
fn list_refuses_bad_cases_too() {
    let (code, _, stderr) = mmcheck(&["list", "--cases", "unknown-flag"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("did you mean `PROT_WRITE`?"));
}

#[test]
fn bad_command_line_arguments_say_what_was_expected() {
    let (code, _, stderr) = mmcheck(&["run", "--format", "xml"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("invalid value 'xml'"), "{stderr}");
    assert!(
        stderr.contains("[possible values: table, json, ktap, junit]"),
        "{stderr}"
    );
    let (code, _, stderr) = mmcheck(&["run", "-j", "0"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("invalid value '0'"), "{stderr}");
    let (code, _, stderr) = mmcheck(&["run", "--cases", "no-such-dir"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("cannot read the cases directory"),
        "{stderr}"
    );
}

#[test]
fn a_filter_that_selects_nothing_is_an_error() {
    let clean = tempfile::tempdir().unwrap();
    std::fs::create_dir(clean.path().join("mmap")).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad-input/many/mmap/good.toml"),
        clean.path().join("mmap/good.toml"),
    )
    .unwrap();
    let (code, stdout, stderr) = mmcheck(&[
        "run",
        "nothing-matches-this",
        "--cases",
        clean.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert_eq!(stdout, "");
    assert!(
        stderr.contains("no case id contains `nothing-matches-this` (1 cases in"),
        "{stderr}"
    );
}
