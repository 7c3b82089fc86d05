//! `mmcheck run` as a user meets it: the table, the summary line, the exit code, and the JSON
//! document, on a fixture directory with one case of each verdict and on the real suite.

mod common;

use std::path::Path;
use std::process::Command;

fn mmcheck(args: &[&str]) -> (i32, String, String) {
    common::mmcheck_in("tests/fixtures", args)
}

fn row<'a>(table: &'a str, id: &str) -> &'a str {
    table
        .lines()
        .find(|l| l.starts_with(id))
        .unwrap_or_else(|| panic!("no row for {id} in:\n{table}"))
}

#[test]
fn the_table_keeps_the_four_verdicts_apart() {
    let (code, out, _) = mmcheck(&["run", "--cases", "verdicts"]);
    assert_eq!(code, 1, "a failure makes the exit code 1:\n{out}");
    assert!(row(&out, "mprotect/holds").ends_with("pass"));
    assert!(row(&out, "mprotect/deviates").ends_with("FAIL"));
    assert!(row(&out, "mprotect/harness-breaks").ends_with("BROKEN"));
    assert!(row(&out, "mprotect/needs-the-future").ends_with("skip"));
    assert!(
        out.contains("expected errno = EINVAL, observed = 0"),
        "the deviation says what differs:\n{out}"
    );
    assert!(out.contains("needs kernel >=99.0; this is "), "{out}");
    assert!(
        out.contains("ENOENT"),
        "the breakage names its errno:\n{out}"
    );
    assert!(
        out.lines().any(|l| l == "1 passed, 2 failed, 1 skipped"),
        "summary line:\n{out}"
    );
    assert!(out.contains("1 of the failures are harness breakages (BROKEN)"));
}

#[test]
fn json_has_the_environment_and_every_step() {
    let (code, out, _) = mmcheck(&["run", "--cases", "verdicts", "--format", "json"]);
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");
    let env = &doc["env"];
    for key in ["release", "machine", "platform"] {
        assert!(
            env[key].as_str().is_some_and(|s| !s.is_empty()),
            "env.{key}"
        );
    }
    let cases = doc["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    let by_id = |id: &str| cases.iter().find(|c| c["id"] == id).unwrap();
    let dev = by_id("mprotect/deviates");
    assert_eq!(dev["status"], "fail");
    assert_eq!(dev["symbols"], serde_json::json!(["mprotect", "EINVAL"]));
    assert!(dev["summary"].as_str().unwrap().starts_with("a contract"));
    let steps = dev["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0]["observed"], "= $m");
    assert_eq!(steps[1]["expected"], "errno = EINVAL");
    assert_eq!(steps[1]["must_fail"], true);
    assert_eq!(steps[1]["obs"]["ok"]["value"], 0);
    assert!(steps[1]["mismatch"].as_str().is_some());
    // The step that decided the verdict is recorded, not left to each reader to work out.
    assert_eq!(dev["decisive"], 1);
    assert_eq!(by_id("mprotect/holds")["status"], "pass");
    assert_eq!(by_id("mprotect/holds")["steps"][1]["observed"], "EINVAL");
    assert_eq!(by_id("mprotect/harness-breaks")["status"], "broken");
    let skip = by_id("mprotect/needs-the-future");
    assert_eq!(skip["status"], "skip");
    assert!(skip["reason"].as_str().unwrap().contains(">=99.0"));
    assert_eq!(doc["totals"]["broken"], 1);
    // It is the library's results document, as the matrix and the report read it.
    let typed = mmcheck::results::ResultsDoc::parse(&out).expect("a results document");
    assert_eq!(typed.cases.len(), 4);
    assert_eq!(typed.totals.broken, 1);
}

#[test]
fn the_filter_selects_by_id_and_the_suite_passes_here() {
    let (code, out, err) = mmcheck(&["run", "mprotect/", "-j", "2", "--cases", "../../../cases"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.lines().skip(1).all(|l| !l.starts_with("mmap/")),
        "{out}"
    );
    assert!(out.contains("mprotect/unaligned-addr"));
}

#[test]
fn list_shows_ids_and_rules() {
    let (code, out, _) = mmcheck(&["list", "holds", "--cases", "verdicts"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "mprotect/holds\tmprotect of an unaligned address fails with EINVAL\n"
    );
}

/// KTAP as the kernel's tools/testing/selftests read it, checked line by line against the format
/// rules of Documentation/dev-tools/ktap.rst and kselftest.h.
#[test]
fn ktap_follows_the_kernels_format_and_exit_codes() {
    let (code, out, _) = mmcheck(&["run", "--cases", "verdicts", "--format", "ktap"]);
    assert_eq!(code, 1, "KSFT_FAIL when a case failed");
    assert_eq!(common::check_ktap(&out), 4);
    let lines: Vec<&str> = out.lines().collect();
    assert!(out.contains("ok 4 mprotect/needs-the-future # SKIP needs kernel >=99.0"));
    assert!(out.contains("not ok 1 mprotect/deviates"));
    assert!(out.contains("# step 2 (mprotect, line 11): expected errno = EINVAL, observed = 0"));
    assert_eq!(
        lines.last().unwrap(),
        &"# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:1"
    );
    // Everything skipped is KSFT_SKIP (4); all passing is KSFT_PASS (0).
    let (code, _, _) = mmcheck(&[
        "run",
        "needs-the-future",
        "--cases",
        "verdicts",
        "--format",
        "ktap",
    ]);
    assert_eq!(code, 4);
    let (code, _, _) = mmcheck(&["run", "holds", "--cases", "verdicts", "--format", "ktap"]);
    assert_eq!(code, 0);
}

#[test]
fn junit_parses_with_a_suite_per_call_and_the_verdicts_kept_apart() {
    let (code, out, _) = mmcheck(&["run", "--cases", "verdicts", "--format", "junit"]);
    assert_eq!(code, 1);
    let report = quick_junit::Report::deserialize_from_str(&out).expect("valid JUnit XML");
    assert_eq!(report.tests, 4);
    assert_eq!(report.failures, 1);
    assert_eq!(report.errors, 1);
    let suite = &report.test_suites[0];
    // The environment leads the suite's name and every classname, so that files of several
    // environments merged together keep their cases apart.
    let env = suite
        .properties
        .iter()
        .find(|p| p.name.as_str() == "env")
        .map(|p| p.value.to_string())
        .expect("the env property");
    assert_eq!(suite.name.as_str(), format!("{env}.mprotect"));
    assert!(suite
        .test_cases
        .iter()
        .all(|c| c.classname.as_deref() == Some(format!("{env}.mprotect").as_str())));
    assert!(suite
        .properties
        .iter()
        .any(|p| p.name.as_str() == "env" && p.value.as_str().starts_with("linux-")));
    let case = |id: &str| {
        suite
            .test_cases
            .iter()
            .find(|c| c.name.as_str() == id)
            .unwrap()
    };
    match &case("mprotect/deviates").status {
        quick_junit::TestCaseStatus::NonSuccess {
            kind,
            message,
            description,
            ..
        } => {
            assert_eq!(*kind, quick_junit::NonSuccessKind::Failure);
            assert!(message
                .as_ref()
                .unwrap()
                .as_str()
                .contains("expected errno = EINVAL, observed = 0"));
            assert!(description
                .as_ref()
                .unwrap()
                .as_str()
                .contains("✗ step 2 mprotect"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        &case("mprotect/harness-breaks").status,
        quick_junit::TestCaseStatus::NonSuccess {
            kind: quick_junit::NonSuccessKind::Error,
            ..
        }
    ));
    match &case("mprotect/needs-the-future").status {
        quick_junit::TestCaseStatus::Skipped { message, .. } => {
            assert!(message.as_ref().unwrap().as_str().contains(">=99.0"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn report_writes_markdown_html_and_json_from_the_committed_snapshots() {
    let out = tempfile::tempdir().unwrap();
    let (code, stdout, err) = mmcheck(&[
        "report",
        "--out",
        out.path().to_str().unwrap(),
        "--cases",
        "../../../cases",
    ]);
    assert_eq!(code, 0, "{err}");
    let committed = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../snapshots"))
        .unwrap()
        .filter(|d| d.as_ref().unwrap().path().join("results.json").exists())
        .count();
    assert!(committed >= 10, "{committed} committed environments");
    assert!(
        stdout.contains(&format!("{committed} environments")),
        "{stdout}"
    );
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert!(md.starts_with("# mmcheck compatibility report"));
    for section in [
        "## Environments",
        "## Since when, per call",
        "## Differences by cause",
        "## Skip reasons",
    ] {
        assert!(md.contains(section), "{section}");
    }
    // mseal: since 6.12 in the matrix, documented 6.10; gated on 6.1, ENOSYS under gVisor.
    let mseal = md
        .lines()
        .find(|l| l.starts_with("| mseal | "))
        .expect("mseal's row");
    assert!(mseal.starts_with("| mseal | 6.12 | 6.10 | ✓ |"), "{mseal}");
    assert!(
        mseal.contains("needs kernel >=6.10") && mseal.contains("ENOSYS"),
        "{mseal}"
    );
    // Every environment says its runtime, architecture and page size.
    assert!(
        md.contains("| environment | platform | runtime | kernel release | architecture | page |")
    );
    assert!(
        md.contains("| linux-6.1-ppc64le-64k | linux | (the kernel) | 6.1.0-56-powerpc64le | ppc64le | 64 KiB |"),
        "{md}"
    );
    assert!(
        md.contains("| linux-6.1 x86_64 4K |"),
        "x86_64 columns say their page size"
    );
    // Causes, with their counts per environment; the bulk of the cases stays out.
    assert!(md.contains("| gVisor: mincore reports every page resident | behaviour differs |"));
    assert!(md.contains("mseal needs kernel >=6.10 (documented since 6.10)"));
    assert!(md.lines().count() < 2000, "{} lines", md.lines().count());
    let html = std::fs::read_to_string(out.path().join("index.html")).unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "self-contained"
    );
    assert!(html.contains("id=\"filter\"") && html.contains("differences only"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(json["envs"].as_array().unwrap().len(), committed);
    assert_eq!(json["envs"][0]["machine"], "x86_64", "x86_64 first");
    let case = json["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "mmap/fixed-noreplace-existing-eexist")
        .unwrap();
    assert_eq!(case["results"]["linux-6.1-x86_64"]["status"], "pass");
    assert!(case["differs"].as_bool().unwrap());
    assert_eq!(json["schema_version"], 2);
    assert!(case["since"]["absent"].is_object() && case["expected"].is_string());
    let causes = json["causes"].as_array().unwrap();
    assert!(causes.iter().all(|g| g["id"].is_string()
        && g["kind"].is_string()
        && g["call"].is_string()
        && g["line"].is_string()
        && g["cases"].is_array()
        && g["per_env"].is_object()));
    let seal = json["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "mseal")
        .unwrap();
    assert_eq!(seal["since"]["matrix"], "6.12");
    assert_eq!(seal["since"]["documented"], "6.10");
    assert_eq!(seal["since"]["absent"]["gvisor-x86_64"], "ENOSYS");
    assert!(json["envs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["kernel_only"] == (e["platform"] == "linux")));
    let (code, _, err) = mmcheck(&["report", "--out", "/tmp/x", "--cases", "verdicts"]);
    assert_eq!(code, 2, "no snapshots next to these cases");
    assert!(err.contains("make matrix"), "{err}");
}

#[test]
fn an_environment_that_cannot_start_names_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let envs = dir.path().join("environments.toml");
    std::fs::write(
        &envs,
        r#"
[[env]]
name  = "nowhere"
about = "an environment whose tool is not installed"
needs = [{ command = "mmcheck-no-such-tool", package = "mmcheck-no-such-package" }]
run   = "mmcheck-no-such-tool"
"#,
    )
    .unwrap();
    let (code, out, _) = mmcheck(&[
        "matrix",
        "--envs",
        envs.to_str().unwrap(),
        "--cases",
        "verdicts",
    ]);
    assert_eq!(code, 1);
    assert!(out.contains("nowhere"), "{out}");
    assert!(
        out.contains("needs `mmcheck-no-such-tool`, which is not installed (apt-get install mmcheck-no-such-package)"),
        "{out}"
    );
    std::fs::write(&envs, "[[env]]\nname = \"x\"\n").unwrap();
    let (code, _, err) = mmcheck(&[
        "matrix",
        "--envs",
        envs.to_str().unwrap(),
        "--cases",
        "verdicts",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("environments.toml:"),
        "the file and line are named: {err}"
    );
}

#[test]
fn descriptors_the_runner_inherits_do_not_reach_a_case() {
    // A shell, make or a CI agent may start the runner with descriptors open. Each case child
    // must still start with 0, 1 and 2 only, or every case counting against RLIMIT_NOFILE
    // (and every descriptor number a snapshot records) would depend on who started it.
    let script = "exec 3</dev/null 4</dev/null 7</dev/null 9</dev/null; \
                  exec \"$0\" run memfd/emfile-rlimit-nofile mmap/anon-ignores-fd \
                  --format json --cases ../../../cases";
    let out = Command::new("sh")
        .args(["-c", script, env!("CARGO_BIN_EXE_mmcheck")])
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"))
        .output()
        .expect("sh runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let cases = doc["cases"].as_array().expect("cases");
    let observed = |id: &str| {
        let case = cases.iter().find(|c| c["id"] == id).expect(id);
        assert_eq!(case["status"], "pass", "{case}");
        case["steps"][0]["observed"].as_str().unwrap().to_string()
    };
    assert_eq!(
        observed("memfd/emfile-rlimit-nofile"),
        "EMFILE (iteration 14)"
    );
    assert_eq!(observed("mmap/anon-ignores-fd"), "= 3");
}
