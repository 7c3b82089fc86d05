//! Finds case files, parses and validates them, and compiles them into plans. Every problem in
//! every file is collected, each with its file, line and field, before anything runs.

use super::diag::{file_diag, first_failing_line, with_suggestion};
pub use super::diag::{shown_line, Diagnostic};
use super::plan::*;
use super::schema::CaseFile;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Filesystems a case may ask to run on.
/// `tmpfs-noexec` is a tmpfs mounted `noexec`, for cases about executing what lives there.
pub const FILESYSTEMS: &[&str] = &["tmpfs", "ext4", "xfs", "btrfs", "tmpfs-noexec"];

/// Default seconds a case may run.
pub const DEFAULT_TIMEOUT: u64 = 10;

/// The longest `timeout`, in seconds. Far more than any case needs; a larger one is a typo, and
/// a deadline that far away would not even fit in a clock reading.
pub const MAX_TIMEOUT: u64 = 3600;

/// Loads every `*.toml` under `root`, sorted by id. Returns the cases that compiled and the problems
/// of the ones that did not; callers must refuse to run when the second list is not empty.
pub fn load_dir(root: &Path) -> (Vec<Case>, Vec<Diagnostic>) {
    let mut files = Vec::new();
    let mut diags = Vec::new();
    if let Err(e) = collect(root, &mut files) {
        diags.push(file_diag(
            root,
            format!("cannot read the cases directory: {e}"),
        ));
    }
    if files.is_empty() && diags.is_empty() {
        diags.push(file_diag(root, "no case files (*.toml) here".into()));
    }
    files.sort();
    let mut cases = Vec::new();
    for file in files {
        match load_file(root, &file) {
            Ok(mut c) => cases.append(&mut c),
            Err(mut d) => diags.append(&mut d),
        }
    }
    cases.sort_by(|a, b| a.id.cmp(&b.id));
    (cases, diags)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    Ok(())
}

/// The case id of a file: its path below the root, without `.toml`, with `/` separators.
pub fn case_id(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).unwrap_or(file).with_extension("");
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Loads one file; a case that runs on several filesystems gives one `Case` per filesystem.
pub fn load_file(root: &Path, file: &Path) -> Result<Vec<Case>, Vec<Diagnostic>> {
    load_one(file, &case_id(root, file))
}

/// Loads one file under a known id (a worker reloading the case its runner named).
pub fn load_one(file: &Path, id: &str) -> Result<Vec<Case>, Vec<Diagnostic>> {
    let bytes =
        std::fs::read(file).map_err(|e| vec![file_diag(file, format!("cannot read: {e}"))])?;
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            // Point at the first byte that is not UTF-8; up to it, the lossy text is the file.
            let at = e.utf8_error().valid_up_to();
            let bad = e.as_bytes()[at];
            let text = String::from_utf8_lossy(e.as_bytes());
            let mut cx = Loader {
                file,
                text: &text,
                diags: Vec::new(),
            };
            cx.error(
                at..at,
                "",
                format!("byte 0x{bad:02x} is not UTF-8 text; case files are UTF-8"),
            );
            return Err(cx.diags);
        }
    };
    let id = id.to_string();
    let mut cx = Loader {
        file,
        text: &text,
        diags: Vec::new(),
    };
    if id.contains('@') || id.contains(char::is_whitespace) {
        cx.diags.push(file_diag(
            file,
            format!("case id `{id}` may not contain `@` or spaces (the file name is the id)"),
        ));
    }
    let parsed: CaseFile = match toml::from_str(&text) {
        Ok(p) => p,
        Err(e) => {
            let span = e.span().unwrap_or_else(|| {
                let at = first_failing_line(&text, e.message());
                at..at
            });
            cx.error(span, "", with_suggestion(e.message().trim()));
            return Err(cx.diags);
        }
    };
    let compiled = cx.case(&id, parsed);
    if !cx.diags.is_empty() {
        return Err(cx.diags);
    }
    let (base, fs) = compiled.expect("no diagnostics means the case compiled");
    Ok(if fs.is_empty() {
        vec![base]
    } else {
        fs.into_iter()
            .map(|f| Case {
                id: format!("{}@{f}", base.id),
                fs: Some(f),
                ..base.clone()
            })
            .collect()
    })
}

pub(super) struct Loader<'a> {
    pub(super) file: &'a Path,
    pub(super) text: &'a str,
    pub(super) diags: Vec<Diagnostic>,
}

/// Names visible at a point of the plan, and bookkeeping shared by all lists.
pub(super) struct Names {
    pub(super) visible: Vec<(String, usize)>,
    pub(super) all: HashSet<String>,
    pub(super) forks: HashSet<usize>,
}

/// Compiles the text of one case file, for unit tests that need a `Case` (the file lives only
/// as long as the call: nothing in such a test re-reads it).
#[cfg(test)]
pub(crate) fn case_from_toml(text: &str) -> Case {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("t.toml");
    std::fs::write(&file, text).expect("the case file is written");
    load_one(&file, "t")
        .unwrap_or_else(|d| panic!("the test case does not compile: {d:?}"))
        .remove(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Vec<Case>, Vec<Diagnostic>> {
        load_bytes(text.as_bytes())
    }

    fn load_bytes(bytes: &[u8]) -> Result<Vec<Case>, Vec<Diagnostic>> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mmap").join("t.toml");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, bytes).unwrap();
        load_file(dir.path(), &file)
    }

    fn errors(text: &str) -> Vec<String> {
        errors_of_bytes(text.as_bytes())
    }

    fn errors_of_bytes(bytes: &[u8]) -> Vec<String> {
        load_bytes(bytes)
            .expect_err("the case should not load")
            .into_iter()
            .map(|d| format!("{}:{} {}: {}", d.line, d.col, d.field, d.message))
            .collect()
    }

    const HEAD: &str = "summary = \"s\"\nsymbols = [\"mmap\"]\nrefs = [\"mmap(2)\"]\n";

    #[test]
    fn a_good_case_compiles() {
        let cases = load(&format!(
            "{HEAD}[[step]]\nid = \"m\"\ncall = \"mmap\"\nargs = {{ len = \"2*PAGE\", prot = \"PROT_READ\", flags = \"MAP_PRIVATE|MAP_ANONYMOUS\" }}\n\
             [[step]]\ncall = \"mprotect\"\nargs = {{ addr = \"$m+1\", len = \"PAGE\", prot = \"PROT_NONE\" }}\nexpect = {{ errno = \"EINVAL\" }}\n"
        ))
        .unwrap();
        assert_eq!(cases.len(), 1);
        let c = &cases[0];
        assert_eq!(c.id, "mmap/t");
        assert_eq!(c.plan.steps.len(), 2);
        assert_eq!(c.plan.steps[1].line, 9);
        assert!(matches!(c.plan.steps[1].expect[0].outcome, Outcome::Errno(ref v) if v == &[22]));
        assert_eq!(c.plan.steps[1].expect[0].text, "errno = \"EINVAL\"");
    }

    #[test]
    fn filesystems_make_variants() {
        let cases = load(&format!(
            "{HEAD}requires = {{ fs = [\"tmpfs\", \"ext4\"] }}\n[[step]]\ncall = \"dir\"\n"
        ))
        .unwrap();
        let ids: Vec<_> = cases.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["mmap/t@tmpfs", "mmap/t@ext4"]);
    }

    #[test]
    fn unknown_flag_suggests() {
        assert_eq!(
            errors(&format!(
                "{HEAD}[[step]]\ncall = \"mmap\"\nargs = {{ len = 1, prot = \"PROT_RAED\", flags = \"MAP_PRIVATE\" }}\n"
            )),
            ["6:27 step 1 (mmap) args.prot: unknown name `PROT_RAED`; did you mean `PROT_READ`?"]
        );
    }

    #[test]
    fn every_error_is_reported() {
        let errs = errors(&format!(
            "{HEAD}[[step]]\ncall = \"mmapp\"\n[[step]]\ncall = \"munmap\"\nargs = {{ addr = \"$nope\", length = 1 }}\nexpect = {{ errno = \"EINVAL2\" }}\n"
        ));
        assert_eq!(errs.len(), 5, "{errs:#?}");
        assert!(errs[0].contains("unknown call `mmapp`; did you mean `mmap`?"));
        assert!(errs
            .iter()
            .any(|e| e.contains("takes no argument `length`; did you mean `len`?")));
        assert!(errs.iter().any(|e| e.contains("`$nope` is not defined")));
        assert!(errs
            .iter()
            .any(|e| e.contains("unknown errno `EINVAL2`; did you mean `EINVAL`?")));
    }

    #[test]
    fn duplicate_ids_and_missing_waits() {
        let errs = errors(&format!(
            "{HEAD}[[step]]\nid = \"a\"\ncall = \"dir\"\n[[step]]\nid = \"a\"\ncall = \"dir\"\n\
             [[step]]\nid = \"p\"\ncall = \"fork\"\n[[step.child]]\ncall = \"dir\"\n"
        ));
        assert!(
            errs.iter()
                .any(|e| e.starts_with("8:6 step 2 (dir) id: duplicate id `a`")),
            "{errs:#?}"
        );
        assert!(
            errs.iter().any(|e| e.contains("has no `wait`")),
            "{errs:#?}"
        );
    }

    #[test]
    fn toml_errors_keep_their_place() {
        let errs = errors(&format!(
            "{HEAD}[[step]]\ncall = \"dir\"\nexpct = {{ ok = true }}\n"
        ));
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0].starts_with("6:1 : unknown field `expct`; did you mean `expect`?"),
            "{errs:#?}"
        );
    }

    #[test]
    fn checks_must_fit_the_call() {
        let errs = errors(&format!(
            "{HEAD}[[step]]\ncall = \"dir\"\nexpect = {{ text = \"x\" }}\n"
        ));
        assert!(
            errs[0].contains("`dir` does not observe `text`"),
            "{errs:#?}"
        );
    }

    // What tests/fuzz_loader/ found: each was a panic, a stack overflow or a diagnostic
    // without its place.

    #[test]
    fn a_file_that_is_not_utf8_names_the_byte() {
        let mut bytes = HEAD.as_bytes().to_vec();
        bytes.extend(b"note = \"caf\xe9\"\n");
        let errs = errors_of_bytes(&bytes);
        assert_eq!(
            errs,
            ["4:12 : byte 0xe9 is not UTF-8 text; case files are UTF-8"]
        );
    }

    #[test]
    fn a_toml_error_without_a_place_gets_its_line() {
        // TOML refuses keys of more than 80 parts, and does not say where.
        let key = vec!["a"; 100].join(".");
        let errs = errors(&format!("{HEAD}\n[{key}]\nx = 1\n"));
        assert_eq!(errs, ["5:1 : recursion limit"], "{errs:#?}");
    }

    #[test]
    fn the_line_shown_has_no_carriage_return_or_control_characters() {
        let diags = load(&format!("{HEAD}timeout = 0\r\nnote = \"a\u{1b}[31m\"\r\n"))
            .expect_err("the case should not load");
        assert_eq!(diags[0].source_line, "note = \"a\u{fffd}[31m\"");
        assert_eq!((diags[0].line, diags[0].col), (5, 10));
        let diags = load(&format!(
            "{HEAD}timeout = 0\r\n[[step]]\r\ncall = \"dir\"\r\n"
        ))
        .expect_err("the case should not load");
        assert_eq!(diags[0].source_line, "timeout = 0");
        // A message quoting the case escapes what it quotes.
        let errs = errors(&format!(
            "{HEAD}[[step]]\ncall = \"let\"\nid = \"x\"\nargs = {{ value = \"1+\\u001b[2J\" }}\n"
        ));
        assert_eq!(
            errs,
            ["7:21 step 1 (let) args.value: expected a value, found `\\u{1b}[2J`"]
        );
    }

    #[test]
    fn hex_that_is_not_ascii_is_an_error() {
        for (hex, bad) in [
            ("é1", "é1"),
            ("41 +f", "+f"),
            ("\u{feff}==(1)", "\u{feff}="),
        ] {
            let errs = errors(&format!(
                "{HEAD}[[step]]\nid = \"f\"\ncall = \"file\"\nargs = {{ size = 1 }}\n\
                 [[step]]\ncall = \"read\"\nargs = {{ fd = \"$f\", len = 1 }}\nexpect = {{ hex = \"{hex}\" }}\n"
            ));
            assert_eq!(errs.len(), 1, "{errs:#?}");
            assert!(
                errs[0].ends_with(&format!("`{bad}` is not a hex byte")),
                "{errs:#?}"
            );
        }
    }

    #[test]
    fn expression_errors_point_into_escaped_and_multiline_strings() {
        let step = |args: &str, expect: &str| {
            format!(
                "{HEAD}[[step]]\ncall = \"mmap\"\nargs = {{ {args} }}\nexpect = {{ {expect} }}\n"
            )
        };
        let ok_args = "len = 1, prot = 0, flags = 0";
        // An escape before the error makes the value shorter than its source.
        let errs = errors(&step(
            r#"len = "\u0031\u0031+ PAGE_", prot = 0, flags = 0"#,
            "ok = true",
        ));
        assert_eq!(errs.len(), 1, "{errs:#?}");
        assert!(errs[0].starts_with("6:31 "), "{errs:#?}");
        // Unicode whitespace before a comparison, after an escape: this one panicked.
        let errs = errors(&step(ok_args, "ret = \"\\t\u{3000}é\""));
        assert!(errs[0].starts_with("7:22 "), "{errs:#?}");
        assert!(
            errs[0].ends_with("expected a value, found `é`"),
            "{errs:#?}"
        );
        // A multi-line string with a line-ending backslash: the error is on the next line.
        let errs = errors(&step(
            "len = 1, prot = \"\"\"\nPROT_READ|\\\n    PROT_RAED\"\"\", flags = 0",
            "ok = true",
        ));
        assert!(
            errs[0].starts_with("8:5 step 1 (mmap) args.prot: unknown name `PROT_RAED`"),
            "{errs:#?}"
        );
        // A literal string is its source.
        let errs = errors(&step("len = 'PAGE+é', prot = 0, flags = 0", "ok = true"));
        assert!(errs[0].starts_with("6:22 "), "{errs:#?}");
    }

    #[test]
    fn a_deeply_nested_expression_is_an_error_not_a_stack_overflow() {
        let deep = format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000));
        let errs = errors(&format!(
            "{HEAD}[[step]]\ncall = \"let\"\nid = \"x\"\nargs = {{ value = \"{deep}\" }}\n"
        ));
        assert_eq!(errs.len(), 1);
        assert!(errs[0].contains("nests more than 64"), "{errs:#?}");
        let long = format!("1{}", "+1".repeat(10_000));
        let errs = errors(&format!(
            "{HEAD}[[step]]\ncall = \"let\"\nid = \"x\"\nargs = {{ value = \"{long}\" }}\n"
        ));
        assert!(errs[0].contains("more than 256 operators"), "{errs:#?}");
    }

    #[test]
    fn timeouts_and_exit_statuses_are_in_range() {
        let errs = errors(&format!(
            "{HEAD}timeout = 18446744073709551615\n[[step]]\ncall = \"dir\"\n"
        ));
        assert_eq!(
            errs,
            ["4:11 timeout: `timeout` is in seconds, from 1 to 3600"]
        );
        let errs = errors(&format!(
            "{HEAD}[[step]]\nid = \"p\"\ncall = \"fork\"\n[[step.child]]\ncall = \"dir\"\n\
             [[step]]\ncall = \"wait\"\nargs = {{ pid = \"$p\" }}\nexpect = {{ exit = 256 }}\n"
        ));
        assert_eq!(errs.len(), 1, "{errs:#?}");
        assert!(
            errs[0].ends_with("`exit = 256` can never be seen: an exit status is 0 to 255"),
            "{errs:#?}"
        );
    }

    #[test]
    fn a_fork_without_wait_is_reported_at_the_fork() {
        let errs = errors(&format!(
            "{HEAD}[[step]]\ncall = \"dir\"\n[[step]]\nid = \"p\"\ncall = \"fork\"\n[[step.child]]\ncall = \"dir\"\n"
        ));
        assert_eq!(
            errs,
            ["8:8 step 2: the fork at step 2 has no `wait` later in the same list"]
        );
    }
}
