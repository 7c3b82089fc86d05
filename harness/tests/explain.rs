//! `mmcheck explain` as a user meets it: a sample of every kind of symbol, numbers, `--call`
//! diagnosing mmap's failures by running them, and the coverage of the knowledge base against
//! the installed man pages and the cases.

mod common;

use std::path::Path;
use std::process::Command;

fn mmcheck(args: &[&str]) -> (i32, String, String) {
    common::mmcheck_in("..", args)
}

fn json(args: &[&str]) -> serde_json::Value {
    let mut a = args.to_vec();
    a.extend(["--format", "json"]);
    let (code, out, err) = mmcheck(&a);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).expect("JSON")
}

/// The family's section 2 pages the knowledge base is checked against.
const FAMILY_PAGES: &[&str] = &[
    "mmap",
    "mprotect",
    "msync",
    "mremap",
    "madvise",
    "mincore",
    "mlock",
    "remap_file_pages",
    "memfd_create",
    "process_madvise",
];

fn man_installed() -> bool {
    Path::new("/usr/share/man/man2/mmap.2.gz").exists()
}

#[test]
fn a_flag_has_words_man_text_since_and_cases_with_outcomes() {
    let e = json(&["explain", "MAP_FIXED_NOREPLACE"]);
    assert_eq!(e["kind"], "flag");
    assert_eq!(e["since"], "4.17");
    assert_eq!(e["value"], 0x100000);
    assert_eq!(e["schema_version"], 1);
    assert!(e["summary"].as_str().unwrap().contains("EEXIST"));
    if man_installed() {
        assert_eq!(e["man"][0]["page"], "mmap(2)");
        assert!(e["man"][0]["tag"]
            .as_str()
            .unwrap()
            .contains("MAP_FIXED_NOREPLACE"));
    }
    let cases = e["cases"].as_array().unwrap();
    let eexist = cases
        .iter()
        .find(|c| c["id"] == "mmap/fixed-noreplace-existing-eexist")
        .expect("the EEXIST case is linked");
    let envs: Vec<&str> = eexist["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["env"].as_str().unwrap())
        .collect();
    for env in [
        "linux-6.18-x86_64",
        "linux-6.12-x86_64",
        "linux-6.1-x86_64",
        "gvisor-x86_64",
    ] {
        assert!(envs.contains(&env), "{env} missing from {envs:?}");
    }
}

#[test]
fn an_errno_lists_its_causes_by_call_with_cases() {
    let e = json(&["explain", "EINVAL"]);
    assert_eq!(e["kind"], "errno");
    let causes = e["causes"].as_array().unwrap();
    for call in ["mmap", "mprotect", "madvise", "mremap", "msync", "mlock"] {
        assert!(
            causes.iter().any(|c| c["syscall"] == call),
            "no EINVAL cause of {call}"
        );
    }
    let unaligned = causes
        .iter()
        .find(|c| {
            c["syscall"] == "mprotect"
                && c["cases"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k["id"] == "mprotect/unaligned-addr")
        })
        .expect("mprotect's unaligned-address cause links its case");
    assert!(!unaligned["cause"].as_str().unwrap().is_empty());
}

#[test]
fn a_syscall_has_synopsis_arguments_flags_and_errors() {
    let e = json(&["explain", "mmap"]);
    let t = &e["tables"];
    assert_eq!(t["synopsis"][0], "mmap(addr, len, prot, flags, fd, offset)");
    assert!(t["flags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["name"] == "MAP_SHARED_VALIDATE" && f["value"] == 3));
    assert!(e["causes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["errno"] == "EEXIST"));
    let (code, text, _) = mmcheck(&["explain", "mmap", "--no-pager"]);
    assert_eq!(code, 0);
    assert!(
        text.contains("Synopsis") && text.contains("Flags") && text.contains("Documented causes")
    );
}

#[test]
fn signals_si_codes_advice_and_seals_are_explained() {
    for (symbol, kind) in [
        ("SIGBUS", "signal"),
        ("SEGV_ACCERR", "si-code"),
        ("MADV_DONTNEED", "advice"),
        ("F_SEAL_WRITE", "seal"),
        ("PROT_EXEC", "prot"),
        ("RLIMIT_MEMLOCK", "limit"),
        ("mseal", "syscall"),
    ] {
        let e = json(&["explain", symbol]);
        assert_eq!(e["kind"], kind, "{symbol}");
        assert!(e["summary"].as_str().unwrap().len() > 40, "{symbol}");
        assert!(
            !e["cases"].as_array().unwrap().is_empty(),
            "{symbol} has no case"
        );
    }
    if man_installed() {
        let e = json(&["explain", "SEGV_ACCERR"]);
        assert!(e["man"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["page"] == "sigaction(2)"));
    }
}

/// `mmcheck explain` loads only the evidence the symbol needs, and says what it would say with
/// all of it.
#[test]
fn the_evidence_loaded_for_a_symbol_is_all_it_needs() {
    use mmcheck::explain::{self, evidence::Evidence};
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let all = Evidence::load(Some(&repo));
    for symbol in [
        "MAP_FIXED",
        "ENOMEM",
        "EINVAL",
        "SIGBUS",
        "madvise",
        "map_fixed",
        "MADV_FREE",
        "SEGV_ACCERR",
        "F_SEAL_WRITE",
        "RLIMIT_MEMLOCK",
        "PROT_EXEC",
        "mlock2",
    ] {
        let loaded = explain::explain_at(symbol, Some(&repo)).unwrap();
        let full = explain::explain(symbol, &all).unwrap();
        assert_eq!(
            serde_json::to_value(loaded).unwrap(),
            serde_json::to_value(full).unwrap(),
            "{symbol}"
        );
    }
    assert!(explain::explain_at("MAP_FIXD", Some(&repo)).is_err());
}

#[test]
fn numbers_decode_to_names() {
    let (code, out, _) = mmcheck(&["explain", "--flags", "mmap", "0x100022"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE"),
        "{out}"
    );
    let (_, out, _) = mmcheck(&["explain", "22"]);
    assert!(out.contains("errno: EINVAL"), "{out}");
    let (_, out, _) = mmcheck(&["explain", "0x22"]);
    assert!(out.contains("MAP_PRIVATE|MAP_ANONYMOUS"), "{out}");
    let (_, out, _) = mmcheck(&["explain", "--flags", "mmap", "0x80000002"]);
    assert!(
        out.contains("MAP_PRIVATE|0x80000000"),
        "unknown bits are named as such: {out}"
    );
}

#[test]
fn unknown_symbols_suggest_and_exit_2() {
    let (code, out, err) = mmcheck(&["explain", "MAP_FIXD"]);
    assert_eq!(code, 2);
    assert_eq!(out, "");
    assert!(err.contains("did you mean `MAP_FIXED`"), "{err}");
}

#[test]
fn markdown_and_list() {
    let (code, out, _) = mmcheck(&["explain", "MADV_FREE", "--format", "markdown"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("# MADV_FREE\n"), "{out}");
    assert!(out.contains("## Cases that verify it"));
    let (code, out, _) = mmcheck(&["explain", "--list"]);
    assert_eq!(code, 0);
    assert!(out.lines().count() > 130, "{} symbols", out.lines().count());
    assert!(out.lines().any(|l| l.starts_with("MAP_FIXED ")));
}

/// Runs `--call` and returns (the errno it returned, the errnos of the causes it names as
/// returned).
fn call(text: &str) -> (String, Vec<String>) {
    let r = json(&["explain", "--call", text]);
    let returned = r["errno"].as_str().unwrap_or("").to_string();
    let named = r["matches"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["returned"] == true)
        .map(|m| m["errno"].as_str().unwrap().to_string())
        .collect();
    (returned, named)
}

#[test]
fn call_diagnoses_mmaps_failures_by_running_them() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f");
    std::fs::write(&f, vec![b'x'; 8192]).unwrap();
    let f = f.to_str().unwrap();
    let d = dir.path().to_str().unwrap();
    for (text, errno) in [
        (
            format!("mmap(NULL, 4096, PROT_READ, MAP_SHARED, file:{f}:O_RDONLY, 100)"),
            "EINVAL",
        ),
        (
            format!("mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, file:{f}:O_RDONLY, 0)"),
            "EACCES",
        ),
        (
            "mmap(NULL, 4096, PROT_READ, MAP_SHARED, closed, 0)".to_string(),
            "EBADF",
        ),
        (
            "mmap(NULL, 4096, PROT_READ, MAP_SHARED, pipe, 0)".to_string(),
            "ENODEV",
        ),
        (
            format!("mmap(NULL, 4096, PROT_READ, MAP_SHARED, file:{d}:O_RDONLY, 0)"),
            "ENODEV",
        ),
        (
            "mmap(map, PAGE, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE, -1, 0)"
                .to_string(),
            "EEXIST",
        ),
        (
            "mmap(NULL, 1<<50, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)".to_string(),
            "ENOMEM",
        ),
        (
            "mmap(NULL, 0, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)".to_string(),
            "EINVAL",
        ),
    ] {
        let (returned, named) = call(&text);
        assert_eq!(returned, errno, "{text}");
        assert!(
            named.contains(&errno.to_string()),
            "{text}: named {named:?}"
        );
    }
}

#[test]
fn call_names_every_cause_the_arguments_meet() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f");
    std::fs::write(&f, b"data").unwrap();
    let r = json(&[
        "explain",
        "--call",
        &format!(
            "mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, file:{}:O_RDONLY, 100)",
            f.display()
        ),
    ]);
    assert_eq!(r["errno"], "EINVAL");
    let errnos: Vec<&str> = r["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["errno"].as_str().unwrap())
        .collect();
    assert_eq!(errnos[0], "EINVAL", "the returned cause comes first");
    assert!(
        errnos.contains(&"EACCES"),
        "with the offset fixed, EACCES: {errnos:?}"
    );
    let (code, _, err) = mmcheck(&["explain", "--call", "mmap(1, 2)"]);
    assert_eq!(code, 2);
    assert!(err.contains("takes 6 arguments"), "{err}");
}

/// Every flag and errno tag in the installed mmap-family man pages, and every symbol a case
/// names, has an entry in the knowledge base.
#[test]
fn the_knowledge_base_covers_the_man_pages_and_the_cases() {
    let (_, listed, _) = mmcheck(&["explain", "--list"]);
    let known: std::collections::HashSet<&str> = listed
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let mut missing = Vec::new();
    if man_installed() {
        for page in FAMILY_PAGES {
            let p = mmcheck::explain::man::load(page, 2).expect("installed");
            for s in &p.sections {
                for e in &s.entries {
                    let tag = mmcheck::explain::man::plain(&e.tag);
                    let Some(word) = tag
                        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .find(|w| !w.is_empty())
                    else {
                        continue;
                    };
                    let relevant = s.name == "ERRORS"
                        || [
                            "MAP_", "PROT_", "MS_", "MREMAP_", "MADV_", "MLOCK_", "MCL_", "MFD_",
                        ]
                        .iter()
                        .any(|p| word.starts_with(p));
                    if relevant
                        && word
                            .chars()
                            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                        && !known.contains(word)
                    {
                        missing.push(format!("{page}(2) {}: {word}", s.name));
                    }
                }
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cases");
    let (cases, _) = mmcheck::case::load::load_dir(&root);
    for c in &cases {
        for s in &c.symbols {
            if !known.contains(s.as_str()) {
                missing.push(format!("{} names {s}", c.id));
            }
        }
    }
    missing.sort();
    missing.dedup();
    assert!(
        missing.is_empty(),
        "no explain entry for:\n{}",
        missing.join("\n")
    );
}

#[test]
fn completions_know_the_symbols_and_the_calls_of_flags() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, _) = mmcheck(&["completions", shell]);
        assert_eq!(code, 0);
        for symbol in [
            "MAP_FIXED",
            "MAP_FIXED_NOREPLACE",
            "MADV_GUARD_INSTALL",
            "EINVAL",
        ] {
            assert!(
                out.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .any(|w| w == symbol),
                "{shell} does not complete {symbol}"
            );
        }
        // --flags completes the calls with flags, not file names.
        let flags_line = out
            .lines()
            .skip_while(|l| !l.contains("--flags") && !l.contains("-l flags"))
            .take(20)
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            flags_line.contains("mprotect") && flags_line.contains("memfd_create"),
            "{shell}: {flags_line}"
        );
    }
}

/// Each page `mmcheck manpage` writes has NAME, SYNOPSIS, DESCRIPTION, EXAMPLES and EXIT STATUS;
/// a subcommand's page names itself mmcheck-NAME and shows `mmcheck NAME` in its synopsis; man
/// renders every page without a warning (where man is installed).
#[test]
fn the_man_pages_are_named_right_and_have_examples_and_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = mmcheck(&["manpage", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let mut pages: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    for sub in [
        "run", "explain", "mutants", "matrix", "coverage", "list", "manpage",
    ] {
        assert!(pages.contains(&format!("mmcheck-{sub}.1")), "{pages:?}");
    }
    assert!(pages.contains(&"mmcheck.1".to_string()));
    assert!(!pages.iter().any(|p| p.contains("worker")), "{pages:?}");
    let man = Command::new("man").arg("--version").output().is_ok();
    for page in &pages {
        let path = dir.path().join(page);
        let text = std::fs::read_to_string(&path).unwrap();
        let name = page.trim_end_matches(".1");
        let sections: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix(".SH "))
            .map(|s| s.trim_matches('"'))
            .collect();
        for want in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "EXAMPLES",
            "EXIT STATUS",
            "SEE ALSO",
        ] {
            assert!(sections.contains(&want), "{page}: {sections:?}");
        }
        let th = text.lines().find(|l| l.starts_with(".TH ")).unwrap();
        assert!(th.contains(&name.to_uppercase()), "{page}: {th}");
        let after = |h: &str| {
            text.split(&format!(".SH {h}\n"))
                .nth(1)
                .unwrap_or("")
                .lines()
                .take_while(|l| !l.starts_with(".SH"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let roff_name = name.replace('-', "\\-");
        assert!(
            after("NAME").starts_with(&roff_name),
            "{page}: {}",
            after("NAME")
        );
        let invoked = roff_name.replacen("\\-", " ", 1);
        assert!(
            after("SYNOPSIS").contains(&invoked),
            "{page}: {}",
            after("SYNOPSIS")
        );
        assert!(after("\"EXIT STATUS\"").contains(".B 2"), "{page}");
        if man {
            let out = Command::new("man")
                .args(["--warnings", "-l"])
                .arg(&path)
                .env("MANWIDTH", "80")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{page}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let warnings = String::from_utf8_lossy(&out.stderr);
            assert!(warnings.trim().is_empty(), "{page}: {warnings}");
            let shown = String::from_utf8_lossy(&out.stdout);
            assert!(
                shown.contains("EXIT STATUS") && shown.contains("EXAMPLES"),
                "{page}"
            );
        }
    }
    let explain = std::fs::read_to_string(dir.path().join("mmcheck-explain.1")).unwrap();
    assert!(explain.contains("\\-\\-call") && explain.contains("explain EINVAL"));
}

/// `--format json`: every document has `schema_version`, key/value data as objects and numbers
/// as numbers (docs/explain/README.md), and an error is a JSON object too.
#[test]
fn json_documents_follow_the_schema() {
    let e = json(&["explain", "mmap"]);
    assert_eq!(e["schema_version"], 1);
    for a in e["tables"]["arguments"].as_array().unwrap() {
        assert!(a["name"].is_string() && a["takes"].is_string(), "{a}");
    }
    for f in e["tables"]["flags"].as_array().unwrap() {
        assert!(f["name"].is_string() && f["summary"].is_string(), "{f}");
        assert!(f["value"].is_u64() || f["value"].is_null(), "{f}");
        assert!(f["since"].is_string() || f["since"].is_null(), "{f}");
        assert!(
            !f["summary"].as_str().unwrap().contains('…'),
            "never cut: {f}"
        );
    }
    let e = json(&["explain", "EINVAL"]);
    assert_eq!(e["value"], 22);
    let e = json(&["explain", "SIGBUS"]);
    assert_eq!(e["value"], 7);
    let d = json(&["explain", "--flags", "mmap", "0x22"]);
    assert_eq!(d["schema_version"], 1);
    assert_eq!(d["readings"][0]["names"], "MAP_PRIVATE|MAP_ANONYMOUS");
    assert!(d["readings"][0]["as"].is_string());
    let l = json(&["explain", "--list"]);
    assert!(l["symbols"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["name"] == "MAP_FIXED" && s["kind"] == "flag"));
    let (code, out, err) = mmcheck(&["explain", "MAP_FIXD", "--format", "json"]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean"), "{err}");
    let e: serde_json::Value = serde_json::from_str(&out).expect("the error is JSON");
    assert_eq!(e["schema_version"], 1);
    assert!(e["error"].as_str().unwrap().contains("MAP_FIXD"));
    assert_eq!(e["suggestion"], "MAP_FIXED");
    let (code, out, _) = mmcheck(&["explain", "zz", "--flags", "mmap", "--format", "json"]);
    assert_eq!(code, 2);
    let e: serde_json::Value = serde_json::from_str(&out).expect("the error is JSON");
    assert!(e["error"].is_string() && e["suggestion"].is_null(), "{e}");
}

/// An errno's causes come grouped by call, each call once, in the family's order.
#[test]
fn causes_are_grouped_by_call_once_each() {
    for errno in ["EINVAL", "ENOMEM", "EPERM", "EAGAIN"] {
        let e = json(&["explain", errno]);
        let calls: Vec<&str> = e["causes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["syscall"].as_str().unwrap())
            .collect();
        let mut groups = calls.clone();
        groups.dedup();
        let mut unique = groups.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(groups.len(), unique.len(), "{errno}: {calls:?}");
        let ranks: Vec<_> = groups
            .iter()
            .map(|c| mmcheck::explain::call_rank(c))
            .collect();
        assert!(ranks.windows(2).all(|w| w[0] < w[1]), "{errno}: {groups:?}");
        assert_eq!(groups.first(), Some(&"mmap"), "{errno}");
        let (_, text, _) = mmcheck(&["explain", errno, "--no-pager"]);
        for call in &groups {
            let headings = text
                .lines()
                .filter(|l| l.trim() == *call && l.starts_with("  ") && !l.starts_with("   "))
                .count();
            assert_eq!(headings, 1, "{errno}: {call} heads {headings} groups");
        }
    }
}

/// Text fills the width COLUMNS gives (80 without it and without a terminal), whatever the
/// line breaks of the source; tables wrap their last column instead of cutting it; Markdown
/// is never wrapped or cut.
#[test]
fn text_is_reflowed_to_the_width() {
    let run = |columns: Option<&str>, args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_mmcheck"));
        c.args(args)
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
            .env_remove("COLUMNS");
        if let Some(w) = columns {
            c.env("COLUMNS", w);
        }
        let out = c.output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    for (columns, width) in [(Some("60"), 60), (Some("120"), 120), (None, 80)] {
        for symbol in ["mmap", "ENOMEM", "MAP_FIXED", "SIGBUS"] {
            let text = run(columns, &["explain", symbol, "--no-pager"]);
            let widest = text.lines().map(|l| l.chars().count()).max().unwrap();
            // A line may pass the width only when it is one word (an id, a URL).
            for l in text.lines().filter(|l| l.chars().count() > width) {
                assert_eq!(l.split_whitespace().count(), 1, "{symbol} at {width}: {l}");
            }
            assert!(widest > width - 15, "{symbol} at {width}: widest {widest}");
            assert!(!text.contains('…'), "{symbol}: a cut cell");
        }
    }
    // Filled: no line of the summary (written over several source lines) ends short of the
    // width when the next line's first word would have fitted.
    for columns in [60, 120] {
        let text = run(
            Some(&columns.to_string()),
            &["explain", "ENOMEM", "--no-pager"],
        );
        let summary: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.is_empty())
            .skip(1)
            .take_while(|l| !l.is_empty())
            .collect();
        assert!(summary.len() > 2, "{text}");
        for w in summary.windows(2) {
            let next = w[1].split_whitespace().next().unwrap();
            assert!(
                w[0].chars().count() + 1 + next.chars().count() > columns,
                "ragged at {columns}: {:?} then {:?}",
                w[0],
                w[1]
            );
        }
    }
    let md = run(Some("40"), &["explain", "mmap", "--format", "markdown"]);
    assert!(
        md.lines().any(|l| l.chars().count() > 100),
        "markdown is not wrapped"
    );
    assert!(!md.contains('…'));
}

#[test]
fn without_man_pages_it_still_explains_and_says_how_to_install_them() {
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mmcheck"))
        .args(["explain", "MAP_SHARED", "--format", "json"])
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .env("MMCHECK_MANPATH", empty.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let e: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(e["man"].as_array().unwrap().is_empty());
    assert!(e["man_note"]
        .as_str()
        .unwrap()
        .contains("apt-get install manpages-dev"));
    assert!(
        e["summary"].as_str().unwrap().len() > 40,
        "the project's own words remain"
    );
}

/// Every "since" explain states agrees with the installed man pages: an entry tagged
/// "(since Linux X)" and a call's VERSIONS or NOTES sentence ("available since", "first
/// appeared in", "introduced in" Linux X) give the version explain says, and a call the page
/// dates is never "from the start".
#[test]
fn since_claims_agree_with_the_man_pages() {
    if !man_installed() {
        return;
    }
    use mmcheck::explain::man;
    let kb = mmcheck::explain::kb::get();
    let pages: Vec<man::Page> = FAMILY_PAGES
        .iter()
        .filter_map(|p| man::load(p, 2))
        .collect();
    let mut wrong = Vec::new();
    for s in &kb.symbols {
        for p in &pages {
            for (_, e) in p.entries_for(&s.name) {
                let tag = man::plain(&e.tag);
                if tag.split([' ', ',']).next() != Some(s.name.as_str()) {
                    continue;
                }
                if let (Some(said), Some(page)) = (&s.since, man::since(&e.tag)) {
                    if *said != page {
                        wrong.push(format!(
                            "{}: explain says {said}, {}(2) says {page}",
                            s.name, p.name
                        ));
                    }
                }
            }
        }
        if s.kind != "syscall" {
            continue;
        }
        for p in pages.iter().filter(|p| {
            p.name == s.name || p.name == s.of.first().map(String::as_str).unwrap_or("")
        }) {
            for section in ["VERSIONS", "STANDARDS", "NOTES", "HISTORY"] {
                let Some(sec) = p.section(section) else {
                    continue;
                };
                for para in sec.paragraphs.iter().map(man::plain) {
                    let Some(v) = dated(&para, &s.name) else {
                        continue;
                    };
                    match &s.since {
                        Some(said) if *said == v => {}
                        said => wrong.push(format!(
                            "{}: explain says {}, {}(2) {section} says {v}",
                            s.name,
                            said.as_deref().unwrap_or("from the start"),
                            p.name
                        )),
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "since claims against the man pages:\n{}",
        wrong.join("\n")
    );
}

/// The version a paragraph dates `call` to: "mincore() ... available since Linux 2.3.99pre1",
/// "This call was introduced in Linux 1.3.21".
fn dated(para: &str, call: &str) -> Option<String> {
    let named = format!("{call}()");
    let names_call = para.match_indices(&named).any(|(at, _)| {
        !para[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    }) || para.starts_with("This call")
        || para.starts_with("This system call")
        || para.starts_with("Available since");
    if !names_call {
        return None;
    }
    for lead in [
        "Available since Linux ",
        "available since Linux ",
        "first appeared in Linux ",
        "introduced in Linux ",
        "appeared in Linux ",
    ] {
        if let Some(at) = para.find(lead) {
            let v: String = para[at + lead.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
                .collect();
            return Some(v.trim_end_matches('.').to_string());
        }
    }
    None
}

/// Every symbol a rule of `mmcheck coverage` is tagged with (an errno, a flag, an advice, a seal,
/// an ioctl of the pages it reads) is one explain knows: what coverage names, explain explains.
#[test]
fn explain_knows_every_symbol_coverage_tags_rules_with() {
    if !man_installed() {
        return;
    }
    let (_, listed, _) = mmcheck(&["explain", "--list"]);
    let known: std::collections::HashSet<&str> = listed
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let (pages, _) = mmcheck::coverage::rules::read_pages();
    let mut missing: Vec<String> = pages
        .iter()
        .flat_map(|p| p.rules.iter().map(move |r| (p, r)))
        .flat_map(|(p, r)| r.tag_symbols().into_iter().map(move |s| (p, s)))
        // proc(5)'s files are explained by their names (`/proc/pid/smaps` is smaps).
        .map(|(p, s)| (p, s.strip_prefix("/proc/pid/").unwrap_or(s)))
        // The one exception: the numbers of a numbered list (remap_file_pages(2)'s steps).
        .filter(|(_, s)| !s.chars().all(|c| c.is_ascii_digit()))
        .filter(|(_, s)| !known.contains(s))
        .map(|(p, s)| format!("{}: {s}", p.page))
        .collect();
    missing.sort();
    missing.dedup();
    assert!(
        missing.is_empty(),
        "explain does not know:\n{}",
        missing.join("\n")
    );
}
