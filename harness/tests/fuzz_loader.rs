//! Fuzzes the case loader. Whatever a case file holds, loading it may not panic or overflow the
//! stack, and every rejection is a diagnostic naming the file and a real line and column of it
//! (and the field, once the file is valid TOML). What loads must be usable: every expression
//! evaluates without a panic, every `$name` points at a slot, the steps run in an order that
//! covers each once, and a synthetic run of the case classifies without a panic.
//!
//! The inputs are structure-aware: mostly the real case files under `cases/` (read at test
//! time) with lines deleted, duplicated or swapped, values replaced by random expressions,
//! numbers, strings, flag names and `$names`, words misspelt, TOML snippets inserted (tables,
//! unknown keys, repeated `[[step]]`s, fork children, deep nesting), truncated and corrupted;
//! then cases generated from the step vocabulary; then plain random bytes.
//!
//! `cargo test` tries a few hundred inputs; `MMCHECK_FUZZ_CASES=200000` tries more (`make fuzz`).
//! Each run prints its seed; `MMCHECK_FUZZ_SEED=<64 hex digits>` replays it. Should an input
//! overflow the stack (which kills the process before any report), it is still on disk: the
//! directory is printed first.

use mmcheck::case::expr::{Expr, Scope};
use mmcheck::case::load::{self, Diagnostic};
use mmcheck::case::plan::{Case, Check, Outcome, Step};
use mmcheck::case::schema::CaseFile;
use mmcheck::case::vocab::{self, Kind};
use mmcheck::names::{self, Family};
use mmcheck::outcome::{self, Seen};
use mmcheck::wire::{Obs, Record};
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Inputs `cargo test` tries: about 2 s in a debug build.
const DEFAULT_CASES: u32 = 600;

/// A real case file: its path below `cases/` (`mmap/anon-zeroed`) and its text.
#[derive(Debug)]
struct Seed {
    rel: String,
    text: String,
}

fn seeds() -> Vec<Seed> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cases");
    let mut files = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("cases/ is readable") {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(!files.is_empty(), "no case files under {}", root.display());
    files
        .into_iter()
        .map(|f| Seed {
            rel: load::case_id(&root, &f),
            text: std::fs::read_to_string(&f).unwrap(),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Words, numbers and expressions.

const ARCHES: &[&str] = &["x86_64", "aarch64", "riscv64", "s390x", "ppc64le", "i686"];
const IDS: &[&str] = &[
    "m", "f", "p", "q", "h", "i", "r", "d", "x", "n", "m2", "big",
];
const KEYS: &[&str] = &[
    "summary",
    "symbols",
    "refs",
    "requires",
    "timeout",
    "note",
    "survives",
    "step",
    "id",
    "call",
    "args",
    "expect",
    "expect-if",
    "child",
    "repeat",
    "kernel",
    "ok",
    "ret",
    "errno",
    "why",
    "signal",
    "si-code",
    "addr",
    "exit",
    "text",
    "hex",
    "byte",
    "maps",
    "size",
    "blocks",
    "minflt",
    "majflt",
    "resident",
    "equal",
    "vmflags",
    "rss",
    "locked",
    "iterations",
    "start",
    "end",
    "perms",
    "offset",
    "root",
    "caps",
    "caps-dropped",
    "fs",
    "arch",
    "hugepages",
    "exists",
    "file-contains",
    "file-lacks",
    "rlimits",
];
const HEADERS: &[&str] = &[
    "[[step]]",
    "[[step.child]]",
    "[[step.child.child]]",
    "[[step.expect-if]]",
    "[[step.child.expect-if]]",
    "[[step.expect.maps]]",
    "[step]",
    "[step.args]",
    "[step.expect]",
    "[[step.args]]",
    "[requires]",
    "[[requires]]",
    "[requires.rlimits]",
    "[requires.file-contains]",
    "[requires.file-lacks]",
    "[survives]",
    "[args]",
    "[expect]",
    "[[child]]",
    "[\"step\"]",
    "[[ step . child ]]",
];
/// Expressions that once were, or could be, trouble: overflow, division by zero, odd syntax.
const SPECIAL_EXPRS: &[&str] = &[
    "1<<70",
    "1<<64",
    "1<<-1",
    "PAGE<<PAGE",
    "PAGE*PAGE*PAGE*PAGE*PAGE",
    "-PAGE*-PAGE*PAGE*PAGE*PAGE*PAGE",
    "1/0",
    "PAGE%0",
    "PAGE/(PAGE-PAGE)",
    "$m/0",
    "-9223372036854775808",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "0xffffffffffffffff",
    "0x10000000000000000",
    "0o2000000000000000000000",
    "0o",
    "0x",
    "0b101",
    "1e3",
    "1__0",
    "_1",
    "~0",
    "-(-1)",
    "--1",
    "!!!0",
    "!=1",
    "== 1",
    "<1",
    ">=",
    "(",
    ")",
    "()",
    "(1))",
    "((1)",
    "1+",
    "+1",
    "*",
    "$",
    "$$m",
    "$m$m",
    "$1",
    "$ m",
    "PAGE PAGE",
    "PAGE\t+\u{a0}1",
    "PROT_READ||PROT_WRITE",
    "MAP_SHARED&&MAP_PRIVATE",
    "MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED",
    "0x80000000|MAP_SHARED",
    "page",
    "PAGE_SIZE",
    "",
    " ",
    "\u{0}",
    "é",
    "1é",
    "PAGEé",
    "😀+1",
    "\u{202e}1",
];

/// Strategies are built once per thread and cloned (cheaply: they are shared) after that;
/// building them is far slower than drawing a value from them.
macro_rules! cached {
    ($(#[$doc:meta])* fn $name:ident() -> BoxedStrategy<$t:ty> = $build:ident;) => {
        $(#[$doc])*
        fn $name() -> BoxedStrategy<$t> {
            thread_local!(static S: BoxedStrategy<$t> = $build());
            S.with(Clone::clone)
        }
    };
}

fn names_pool() -> Vec<&'static str> {
    static POOL: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    POOL.get_or_init(build_names_pool).clone()
}

fn build_names_pool() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = Vec::new();
    v.extend(names::CONSTANTS.iter().map(|k| k.name));
    v.extend(names::ERRNOS.iter().map(|(n, _)| *n));
    v.extend(names::SIGNALS.iter().map(|(n, _)| *n));
    v.extend(names::SI_CODES.iter().map(|(n, _, _)| *n));
    v.extend(names::SI_CODES_GENERIC.iter().map(|(n, _)| *n));
    v.extend(vocab::CALLS.iter().map(|c| c.name));
    v.extend(
        vocab::CALLS
            .iter()
            .flat_map(|c| c.args.iter().map(|a| a.name)),
    );
    v.extend(mmcheck::case::vocab::mutants());
    v.extend(load::FILESYSTEMS);
    v.extend(ARCHES);
    v.extend(KEYS);
    v.extend([
        "PAGE",
        "CAP_SYS_ADMIN",
        "CAP_IPC_LOCK",
        "page-number",
        "read",
        "write",
    ]);
    v.sort();
    v.dedup();
    v
}

cached! {
    /// A known name, a misspelt one, or a random identifier.
    fn word() -> BoxedStrategy<String> = build_word;
}

fn build_word() -> BoxedStrategy<String> {
    let pool = names_pool();
    prop_oneof![
        4 => select(pool.clone()).prop_map(String::from),
        2 => (select(pool), any::<Index>(), any::<char>(), 0..3u8).prop_map(|(w, at, c, how)| {
            let mut chars: Vec<char> = w.chars().collect();
            let i = at.index(chars.len() + 1);
            match how {
                0 => chars.insert(i, c),
                1 if i < chars.len() => {
                    chars.remove(i);
                }
                _ if i < chars.len() => chars[i] = c,
                _ => chars.push(c),
            }
            chars.into_iter().collect()
        }),
        1 => "[A-Za-z_][A-Za-z0-9_]{0,12}",
        1 => "[A-Z_]{0,40}",
    ]
    .boxed()
}

cached! {
    fn number() -> BoxedStrategy<String> = build_number;
}

fn build_number() -> BoxedStrategy<String> {
    prop_oneof![
        3 => (0u64..100).prop_map(|n| n.to_string()),
        2 => any::<u64>().prop_map(|n| n.to_string()),
        1 => any::<u64>().prop_map(|n| format!("0x{n:x}")),
        1 => any::<u64>().prop_map(|n| format!("0X{n:X}")),
        1 => any::<u64>().prop_map(|n| format!("0o{n:o}")),
        1 => any::<u128>().prop_map(|n| n.to_string()),
        1 => any::<u128>().prop_map(|n| format!("0x{n:x}")),
        1 => (1usize..400).prop_map(|n| "9".repeat(n)),
        1 => (0u64..1_000_000).prop_map(|n| {
            let s = n.to_string();
            s.chars().flat_map(|c| [c, '_']).collect::<String>()
        }),
    ]
    .boxed()
}

cached! {
    /// The text of a value expression, mostly well formed, often not.
    fn expr() -> BoxedStrategy<String> = build_expr;
}

fn build_expr() -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        4 => number(),
        2 => Just("PAGE".to_string()),
        4 => word(),
        3 => select(IDS).prop_map(|n| format!("${n}")),
        1 => word().prop_map(|n| format!("${n}")),
        1 => select(SPECIAL_EXPRS).prop_map(String::from),
    ];
    const OPS: &[&str] = &[
        "|", "&", "<<", "+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "&&", "||",
        ">>", "^", "**",
    ];
    let tree = leaf.prop_recursive(6, 48, 2, |inner| {
        prop_oneof![
            4 => (inner.clone(), select(OPS), inner.clone(), select(&["", " ", "  ", "\t"][..]))
                .prop_map(|(a, op, b, ws)| format!("{a}{ws}{op}{ws}{b}")),
            1 => (select(&["-", "~", "!", "+"][..]), inner.clone()).prop_map(|(u, e)| format!("{u}{e}")),
            1 => inner.prop_map(|e| format!("({e})")),
        ]
    });
    prop_oneof![
        12 => tree,
        2 => select(SPECIAL_EXPRS).prop_map(String::from),
        1 => (1usize..3000).prop_map(|n| format!("{}1{}", "(".repeat(n), ")".repeat(n))),
        1 => (1usize..3000).prop_map(|n| "(".repeat(n)),
        1 => (1usize..3000, select(&["+", "|", "*", "<<", "&&", "=="][..]))
            .prop_map(|(n, op)| format!("{}1", format!("PAGE{op}").repeat(n))),
        1 => (1usize..3000, select(&["-", "~", "!", "- "][..])).prop_map(|(n, u)| format!("{}1", u.repeat(n))),
        1 => (1usize..300).prop_map(|n| format!("{}1{}", "(-(".repeat(n), "))".repeat(n))),
    ]
    .boxed()
}

/// Whitespace, ASCII or not, that a value may start or end with.
const SPACES: &[&str] = &[
    "", " ", "\t", "  ", "\n", "\u{a0}", "\u{3000}", "\u{2003}", "\u{85}", "\u{feff}",
];

cached! {
    /// An expression as a comparison (`>=16`, `!= 0`) or not, padded with whitespace.
    fn padded_expr() -> BoxedStrategy<String> = build_padded_expr;
}

fn build_padded_expr() -> BoxedStrategy<String> {
    (
        prop::collection::vec(select(SPACES), 0..3),
        select(&["", "", ">", ">=", "<", "<=", "!=", "=", "==", "=>"][..]),
        select(SPACES),
        expr(),
        select(SPACES),
    )
        .prop_map(|(lead, op, mid, e, tail)| format!("{}{op}{mid}{e}{tail}", lead.concat()))
        .boxed()
}

// ---------------------------------------------------------------------------------------------
// TOML values, keys and snippets.

/// `s` as a TOML basic string, escaping what must be escaped.
fn basic(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `s` as a basic string with some characters written as escapes, so that the text of the
/// value is longer than the string it stands for.
fn escaped(s: &str, mask: u64) -> String {
    let mut out = String::from("\"");
    for (i, c) in s.chars().enumerate() {
        if c == '"' || c == '\\' || c.is_control() || mask >> (i % 64) & 1 == 1 {
            if (c as u32) < 0x10000 && mask & 1 == 0 {
                out.push_str(&format!("\\u{:04X}", c as u32));
            } else {
                out.push_str(&format!("\\U{:08X}", c as u32));
            }
        } else {
            out.push(c);
        }
    }
    out.push('"');
    out
}

cached! {
    /// Strings a field might hold: names, kernel ranges, paths, hex, vmflags, unicode.
    fn text() -> BoxedStrategy<String> = build_text;
}

fn build_text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => word(),
        2 => any::<String>(),
        1 => select(&[">=5.17", "<6.0", ">=4.17, <6.0", "=6.1", "6.1", ">=", ">=99999999999.1",
            "=6.1.99999999999", ">=1.2.3.4", ",", ">=5.17,", "<0.0", "\u{ff1e}=5.0"][..])
            .prop_map(String::from),
        1 => select(&["+lo -dc", "+", "-lo", "+é", "+l", "lo", "+lo\t-dc  +hg", "+ü1"][..])
            .prop_map(String::from),
        1 => select(&["41 00 ff", "4", "zz", "é1", "0x41", "41\u{a0}42", ""][..]).prop_map(String::from),
        1 => select(&["1101", "", "10x", "1 0", "١"][..]).prop_map(String::from),
        1 => select(&["rw-p", "r--s", "rwxp", "rw-", "rw-pp", "ééé", "---p"][..]).prop_map(String::from),
        1 => select(&["/dev/zero", "/", "", "relative", "/sys/kernel/mm/ksm", "\u{0}"][..]).prop_map(String::from),
        1 => (any::<char>(), 0usize..200).prop_map(|(c, n)| c.to_string().repeat(n)),
    ]
    .boxed()
}

cached! {
    fn toml_int() -> BoxedStrategy<String> = build_toml_int;
}

fn build_toml_int() -> BoxedStrategy<String> {
    prop_oneof![
        3 => (0i64..100).prop_map(|n| n.to_string()),
        2 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<i64>().prop_map(|n| format!("0x{:x}", n.unsigned_abs())),
        1 => any::<u64>().prop_map(|n| format!("0o{n:o}")),
        1 => any::<u64>().prop_map(|n| format!("0b{n:b}")),
        1 => any::<u128>().prop_map(|n| n.to_string()),
        1 => select(&["+1", "-0", "1_000", "9223372036854775807", "-9223372036854775808",
            "9223372036854775808", "18446744073709551615", "0xffffffffffffffff", "01", "1__0",
            "1.5", "-0.0", "inf", "-inf", "nan", "1e400", "1979-05-27T07:32:00Z", "07:32:00",
            "true", "false", "True", "''", "\"\""][..])
            .prop_map(String::from),
    ]
    .boxed()
}

cached! {
    /// The text of a TOML value: mostly an expression or a string in one of TOML's string forms.
    fn value() -> BoxedStrategy<String> = build_value;
}

fn build_value() -> BoxedStrategy<String> {
    let scalar = prop_oneof![
        6 => expr().prop_map(|e| basic(&e)),
        2 => padded_expr().prop_map(|e| basic(&e)),
        2 => (padded_expr(), any::<u64>()).prop_map(|(e, m)| escaped(&e, m)),
        2 => text().prop_map(|t| basic(&t)),
        1 => expr().prop_map(|e| format!("'{}'", e.replace(['\'', '\n', '\r'], ""))),
        1 => expr().prop_map(|e| format!("\"\"\"\n{}\"\"\"", basic(&e).trim_matches('"'))),
        1 => expr().prop_map(|e| format!("\"\"\"{}\"\"\"", basic(&e).trim_matches('"'))),
        1 => expr().prop_map(|e| format!("\"\"\"\\\n   {}\"\"\"", basic(&e).trim_matches('"'))),
        1 => expr().prop_map(|e| format!("'''\n{}'''", e.replace('\'', ""))),
        1 => (expr(), any::<u64>()).prop_map(|(e, m)| escaped(&e, m)),
        1 => (text(), any::<u64>()).prop_map(|(t, m)| escaped(&t, m)),
        3 => toml_int(),
        1 => any::<bool>().prop_map(|b| b.to_string()),
    ];
    scalar
        .prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                2 => prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(", "))),
                2 => prop::collection::vec((key(), inner), 0..4).prop_map(|v| {
                    let fields: Vec<String> = v.iter().map(|(k, x)| format!("{k} = {x}")).collect();
                    format!("{{ {} }}", fields.join(", "))
                }),
            ]
        })
        .boxed()
}

cached! {
    fn key() -> BoxedStrategy<String> = build_key;
}

fn build_key() -> BoxedStrategy<String> {
    prop_oneof![
        6 => select(KEYS).prop_map(String::from),
        3 => select(vocab::CALLS.iter().flat_map(|c| c.args.iter().map(|a| a.name)).collect::<Vec<_>>())
            .prop_map(String::from),
        2 => word(),
        1 => text().prop_map(|t| basic(&t)),
        1 => (select(KEYS), select(KEYS)).prop_map(|(a, b)| format!("{a}.{b}")),
        1 => "[a-z-]{1,10}",
    ]
    .boxed()
}

cached! {
    /// A few lines of TOML to insert anywhere.
    fn snippet() -> BoxedStrategy<String> = build_snippet;
}

fn build_snippet() -> BoxedStrategy<String> {
    prop_oneof![
        4 => select(HEADERS).prop_map(String::from),
        6 => (key(), value()).prop_map(|(k, v)| format!("{k} = {v}")),
        3 => generated_step().prop_map(|s| render_steps(&[s], "step")),
        1 => (1usize..400).prop_map(|n| "[[step]]\ncall = \"dir\"\n".repeat(n)),
        1 => (1usize..400).prop_map(|n| "[[step.child]]\ncall = \"faults\"\n".repeat(n)),
        1 => (1usize..300).prop_map(nested_forks),
        1 => (1usize..3000).prop_map(|n| format!("x = {}{}", "[".repeat(n), "]".repeat(n))),
        1 => (1usize..3000).prop_map(|n| format!("x = {}1{}", "{a=".repeat(n), "}".repeat(n))),
        1 => (1usize..300).prop_map(|n| format!("[{}]", vec!["a"; n].join("."))),
        1 => any::<String>(),
        1 => select(&["", "# comment", "\u{feff}", "\r", "\r\n", "\\", "=", "[", "]]", "\"",
            "'''", "\"\"\"", "\t", "\u{0}", "a = 1\na = 2", "step = []", "step = 1",
            "summary = \"\"", "symbols = []", "refs = []", "timeout = 0", "repeat = 0",
            "timeout = 18446744073709551615", "hugepages = -1", "exit = 4294967296",
            "exit = -9223372036854775808", "expect = {}", "args = {}", "child = []"][..])
            .prop_map(String::from),
    ]
    .boxed()
}

/// `[[step]]` fork, then its child a fork, then its child a fork... `n` deep, never waited for.
fn nested_forks(n: usize) -> String {
    let mut out = String::new();
    for depth in 0..n {
        let path = std::iter::once("step")
            .chain(std::iter::repeat_n("child", depth))
            .collect::<Vec<_>>()
            .join(".");
        out.push_str(&format!("[[{path}]]\nid = \"p{depth}\"\ncall = \"fork\"\n"));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Cases generated from the vocabulary: plausible, so that many of them load.

#[derive(Debug, Clone)]
struct GenStep {
    id: Option<String>,
    call: &'static str,
    args: Vec<(String, String)>,
    expect: Option<String>,
    expect_if: Vec<String>,
    repeat: Option<String>,
    children: Vec<GenStep>,
}

/// An expression for an argument that takes these families: their names, numbers, PAGE, $ids.
fn arg_expr(families: &'static [Family]) -> BoxedStrategy<String> {
    let consts: Vec<&'static str> = names::CONSTANTS
        .iter()
        .filter(|k| families.contains(&k.family))
        .map(|k| k.name)
        .collect();
    let atom = if consts.is_empty() {
        prop_oneof![
            number(),
            Just("PAGE".to_string()),
            select(IDS).prop_map(|n| format!("${n}"))
        ]
        .boxed()
    } else {
        prop_oneof![
            3 => select(consts).prop_map(String::from),
            1 => number(),
            1 => select(IDS).prop_map(|n| format!("${n}")),
        ]
        .boxed()
    };
    prop_oneof![
        6 => prop::collection::vec(atom, 1..4).prop_map(|v| v.join("|")),
        2 => (0u64..8).prop_map(|n| format!("{n}*PAGE")),
        1 => select(IDS).prop_map(|n| format!("${n}+PAGE")),
        1 => expr(),
    ]
    .boxed()
}

fn generated_expect(call: &'static vocab::CallSpec) -> BoxedStrategy<String> {
    let errnos: Vec<&str> = names::ERRNOS.iter().map(|(n, _)| *n).collect();
    let mut fields: Vec<BoxedStrategy<String>> = vec![
        Just("ok = true".to_string()).boxed(),
        select(errnos.clone())
            .prop_map(|e| format!("errno = \"{e}\""))
            .boxed(),
        (select(errnos.clone()), select(errnos))
            .prop_map(|(a, b)| format!("errno = [\"{a}\", \"{b}\"], why = \"because\""))
            .boxed(),
        prop_oneof![
            expr().prop_map(|e| basic(&e)),
            (padded_expr(), any::<u64>()).prop_map(|(e, m)| escaped(&e, m)),
        ]
        .prop_map(|v| format!("ret = {v}"))
        .boxed(),
        (
            select(&["SIGSEGV", "SIGBUS", "SIGKILL", "SIGSEGVV"][..]),
            select(&["SEGV_ACCERR", "SEGV_MAPERR", "BUS_ADRERR", "SI_KERNEL"][..]),
            expr(),
        )
            .prop_map(|(s, c, a)| {
                format!("signal = \"{s}\", si-code = \"{c}\", addr = {}", basic(&a))
            })
            .boxed(),
        any::<i64>().prop_map(|e| format!("exit = {e}")).boxed(),
        (select(KEYS), value())
            .prop_map(|(k, v)| format!("{k} = {v}"))
            .boxed(),
    ];
    for check in call.checks {
        fields.push(
            prop_oneof![
                value(),
                padded_expr().prop_map(|e| basic(&e)),
                (padded_expr(), any::<u64>()).prop_map(|(e, m)| escaped(&e, m)),
            ]
            .prop_map(move |v| format!("{check} = {v}"))
            .boxed(),
        );
    }
    prop::collection::vec(prop::strategy::Union::new(fields), 0..3)
        .prop_map(|v| format!("{{ {} }}", v.join(", ")))
        .boxed()
}

/// One step of each call (no children), drawn uniformly from the vocabulary.
fn build_leaf_step() -> BoxedStrategy<GenStep> {
    let per_call: Vec<BoxedStrategy<GenStep>> = vocab::CALLS
        .iter()
        .map(|call| {
            let args: Vec<BoxedStrategy<Option<(String, String)>>> = call
                .args
                .iter()
                .map(|a| {
                    let v = match a.kind {
                        Kind::Num(f) => arg_expr(f).prop_map(|e| basic(&e)).boxed(),
                        Kind::Text => text().prop_map(|t| basic(&t)).boxed(),
                    };
                    let required = a.default.is_none();
                    let name = a.name;
                    (v, 0..10u8)
                        .prop_map(move |(v, roll)| {
                            (required && roll < 9 || roll < 4).then(|| (name.to_string(), v))
                        })
                        .boxed()
                })
                .collect();
            let is_fork = call.call == vocab::Call::Fork;
            let expect = generated_expect(call);
            (
                prop::option::weighted(if is_fork { 0.95 } else { 0.4 }, select(IDS)),
                args,
                prop::option::of(expect.clone()),
                prop::collection::vec(
                    (
                        select(&[">=5.17", "<6.0", "=6.1", ">=6.1, <6.3"][..]),
                        expect,
                    )
                        .prop_map(|(k, e)| format!("{{ kernel = \"{k}\", {}", &e[2..])),
                    0..2,
                ),
                prop::option::weighted(0.1, toml_int()),
            )
                .prop_map(move |(id, args, expect, expect_if, repeat)| GenStep {
                    id: id.map(String::from),
                    call: call.name,
                    args: args.into_iter().flatten().collect(),
                    expect,
                    expect_if,
                    repeat,
                    children: Vec::new(),
                })
                .boxed()
        })
        .collect();
    prop::strategy::Union::new(per_call).boxed()
}

cached! {
    fn leaf_step() -> BoxedStrategy<GenStep> = build_leaf_step;
}

/// A step; a fork gets child steps, themselves forks with children at most two deep.
fn build_generated_step() -> BoxedStrategy<GenStep> {
    let with_children = |children: BoxedStrategy<Vec<GenStep>>| {
        (leaf_step(), children)
            .prop_map(|(mut s, children)| {
                if s.call == "fork" {
                    s.children = children;
                }
                s
            })
            .boxed()
    };
    let level1 = with_children(prop::collection::vec(leaf_step(), 0..3).boxed());
    with_children(prop::collection::vec(level1, 0..3).boxed())
}

cached! {
    fn generated_step() -> BoxedStrategy<GenStep> = build_generated_step;
}

/// The steps as TOML tables under `path` (`step`, `step.child`, ...). A fork gets its `wait`.
fn render_steps(steps: &[GenStep], path: &str) -> String {
    let mut out = String::new();
    for s in steps {
        out.push_str(&format!("[[{path}]]\n"));
        if let Some(id) = &s.id {
            out.push_str(&format!("id = \"{id}\"\n"));
        }
        out.push_str(&format!("call = \"{}\"\n", s.call));
        if !s.args.is_empty() {
            let args: Vec<String> = s.args.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            out.push_str(&format!("args = {{ {} }}\n", args.join(", ")));
        }
        if let Some(r) = &s.repeat {
            out.push_str(&format!("repeat = {r}\n"));
        }
        if let Some(e) = &s.expect {
            out.push_str(&format!("expect = {e}\n"));
        }
        if !s.expect_if.is_empty() {
            out.push_str(&format!("expect-if = [{}]\n", s.expect_if.join(", ")));
        }
        out.push_str(&render_steps(&s.children, &format!("{path}.child")));
        if let (Some(id), true) = (&s.id, s.call == "fork") {
            out.push_str(&format!(
                "[[{path}]]\ncall = \"wait\"\nargs = {{ pid = \"${id}\" }}\n"
            ));
        }
    }
    out
}

cached! {
    fn generated_case() -> BoxedStrategy<String> = build_generated_case;
}

fn build_generated_case() -> BoxedStrategy<String> {
    let symbols = prop::collection::vec(select(names_pool()), 1..4);
    (
        symbols,
        prop::option::weighted(0.2, (key(), value())),
        prop::collection::vec(generated_step(), 1..6),
    )
        .prop_map(|(symbols, requires, steps)| {
            let mut out = format!(
                "summary = \"generated\"\nsymbols = [{}]\nrefs = [\"mmap(2)\"]\n",
                symbols
                    .iter()
                    .map(|s| basic(s))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            if let Some((k, v)) = requires {
                out.push_str(&format!("requires = {{ {k} = {v} }}\n"));
            }
            out.push_str(&render_steps(&steps, "step"));
            out
        })
        .boxed()
}

// ---------------------------------------------------------------------------------------------
// Mutations of a real case file.

#[derive(Debug, Clone)]
enum Edit {
    DeleteLine(Index),
    DuplicateLine(Index, Index),
    SwapLines(Index, Index),
    /// Replaces a value: a quoted string, or what follows a `=`.
    ReplaceValue(Index, String),
    /// Replaces an identifier-like word anywhere, keys and names inside strings alike.
    ReplaceWord(Index, String),
    InsertLine(Index, String),
    InsertText(Index, String),
    Truncate(Index),
    SetByte(Index, u8),
}

cached! {
    fn edit() -> BoxedStrategy<Edit> = build_edit;
}

fn build_edit() -> BoxedStrategy<Edit> {
    prop_oneof![
        2 => any::<Index>().prop_map(Edit::DeleteLine),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::DuplicateLine(a, b)),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        8 => (any::<Index>(), value()).prop_map(|(i, v)| Edit::ReplaceValue(i, v)),
        4 => (any::<Index>(), prop_oneof![3 => word(), 1 => expr(), 1 => text()])
            .prop_map(|(i, w)| Edit::ReplaceWord(i, w)),
        4 => (any::<Index>(), snippet()).prop_map(|(i, s)| Edit::InsertLine(i, s)),
        1 => (any::<Index>(), prop_oneof![any::<String>(), select(&["\"", "'", "{", "}", "[", "]",
            ",", "=", "\n", "\\", "\\u", "\u{feff}", "é", "\u{10ffff}"][..]).prop_map(String::from)])
            .prop_map(|(i, s)| Edit::InsertText(i, s)),
        1 => any::<Index>().prop_map(Edit::Truncate),
        1 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::SetByte(i, b)),
    ]
    .boxed()
}

fn lines(t: &[u8]) -> Vec<Vec<u8>> {
    t.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect()
}

/// Where a string that starts with a quote at `i` ends (after its closing quote).
fn string_end(t: &[u8], i: usize) -> usize {
    let q = t[i];
    if t[i..].starts_with(&[q, q, q]) {
        let from = i + 3;
        return t[from..]
            .windows(3)
            .position(|w| w == [q, q, q])
            .map_or(t.len(), |p| from + p + 3);
    }
    let mut j = i + 1;
    while j < t.len() && t[j] != q && t[j] != b'\n' {
        if q == b'"' && t[j] == b'\\' {
            j += 1;
        }
        j += 1;
    }
    (j + 1).min(t.len())
}

/// Spans of values: quoted strings anywhere, and what follows each `=` (a bare word, a number,
/// an array or an inline table).
fn value_spans(t: &[u8]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < t.len() {
        match t[i] {
            b'"' | b'\'' => {
                let end = string_end(t, i);
                out.push(i..end);
                i = end;
            }
            b'#' => {
                while i < t.len() && t[i] != b'\n' {
                    i += 1;
                }
            }
            b'=' => {
                let mut j = i + 1;
                while j < t.len() && (t[j] == b' ' || t[j] == b'\t') {
                    j += 1;
                }
                match t.get(j) {
                    Some(b'[' | b'{') => {
                        let mut depth = 0usize;
                        let mut k = j;
                        while k < t.len() {
                            match t[k] {
                                b'[' | b'{' => depth += 1,
                                b']' | b'}' => {
                                    depth -= 1;
                                    if depth == 0 {
                                        k += 1;
                                        break;
                                    }
                                }
                                b'"' | b'\'' => {
                                    k = string_end(t, k);
                                    continue;
                                }
                                _ => {}
                            }
                            k += 1;
                        }
                        out.push(j..k.min(t.len()));
                    }
                    Some(b'"' | b'\'') | None => {}
                    Some(_) => {
                        let end = t[j..]
                            .iter()
                            .position(|b| b",}] \t\r\n#".contains(b))
                            .map_or(t.len(), |p| j + p);
                        if end > j {
                            out.push(j..end);
                        }
                    }
                }
                i = j;
            }
            _ => i += 1,
        }
    }
    out
}

/// Spans of identifier-like words, `$names` included.
fn word_spans(t: &[u8]) -> Vec<Range<usize>> {
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'$';
    let mut out = Vec::new();
    let mut i = 0;
    while i < t.len() {
        if is_word(t[i]) {
            let start = i;
            while i < t.len() && is_word(t[i]) {
                i += 1;
            }
            out.push(start..i);
        } else {
            i += 1;
        }
    }
    out
}

fn splice(t: &mut Vec<u8>, span: Range<usize>, with: &[u8]) {
    t.splice(span, with.iter().copied());
}

fn apply(text: &str, edits: &[Edit]) -> Vec<u8> {
    let mut t = text.as_bytes().to_vec();
    for e in edits {
        match e {
            Edit::DeleteLine(i) => {
                let mut l = lines(&t);
                l.remove(i.index(l.len()));
                t = l.join(&b'\n');
            }
            Edit::DuplicateLine(a, b) => {
                let mut l = lines(&t);
                let line = l[a.index(l.len())].clone();
                let at = b.index(l.len() + 1);
                l.insert(at, line);
                t = l.join(&b'\n');
            }
            Edit::SwapLines(a, b) => {
                let mut l = lines(&t);
                let (a, b) = (a.index(l.len()), b.index(l.len()));
                l.swap(a, b);
                t = l.join(&b'\n');
            }
            Edit::ReplaceValue(i, v) => {
                let spans = value_spans(&t);
                if !spans.is_empty() {
                    splice(&mut t, spans[i.index(spans.len())].clone(), v.as_bytes());
                }
            }
            Edit::ReplaceWord(i, w) => {
                let spans = word_spans(&t);
                if !spans.is_empty() {
                    splice(&mut t, spans[i.index(spans.len())].clone(), w.as_bytes());
                }
            }
            Edit::InsertLine(i, s) => {
                let mut l = lines(&t);
                let at = i.index(l.len() + 1);
                l.insert(at, s.as_bytes().to_vec());
                t = l.join(&b'\n');
            }
            Edit::InsertText(i, s) => {
                let at = i.index(t.len() + 1);
                splice(&mut t, at..at, s.as_bytes());
            }
            Edit::Truncate(i) => {
                let at = i.index(t.len() + 1);
                t.truncate(at);
            }
            Edit::SetByte(i, b) => {
                if !t.is_empty() {
                    let at = i.index(t.len());
                    t[at] = *b;
                }
            }
        }
    }
    t
}

// ---------------------------------------------------------------------------------------------
// Inputs.

#[derive(Debug, Clone)]
enum Input {
    Mutated { seed: Index, edits: Vec<Edit> },
    Generated(String),
    Bytes(Vec<u8>),
    Chars(String),
}

cached! {
    fn input() -> BoxedStrategy<Input> = build_input;
}

fn build_input() -> BoxedStrategy<Input> {
    prop_oneof![
        14 => (any::<Index>(), prop::collection::vec(edit(), 1..5))
            .prop_map(|(seed, edits)| Input::Mutated { seed, edits }),
        4 => generated_case().prop_map(Input::Generated),
        1 => prop::collection::vec(any::<u8>(), 0..600).prop_map(Input::Bytes),
        1 => any::<String>().prop_map(Input::Chars),
    ]
    .boxed()
}

/// The file the input goes to (`<call>/<name>.toml` below the root), and its bytes.
fn materialize(input: &Input, seeds: &[Seed]) -> (String, Vec<u8>) {
    match input {
        Input::Mutated { seed, edits } => {
            let s = &seeds[seed.index(seeds.len())];
            (format!("{}.toml", s.rel), apply(&s.text, edits))
        }
        Input::Generated(t) => ("mmap/generated.toml".into(), t.clone().into_bytes()),
        Input::Bytes(b) => ("mmap/bytes.toml".into(), b.clone()),
        Input::Chars(s) => ("mprotect/chars.toml".into(), s.clone().into_bytes()),
    }
}

// ---------------------------------------------------------------------------------------------
// The properties.

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)*) => {
        if !$cond {
            return Err(TestCaseError::fail(format!($($fmt)*)));
        }
    };
}

/// Every diagnostic names this file, a line of it and a column in that line, and shows that
/// line; once the file is valid TOML, it names the field too. The rendering says `file:line:col`.
fn check_diagnostics(diags: &[Diagnostic], file: &Path, bytes: &[u8]) -> Result<(), TestCaseError> {
    ensure!(!diags.is_empty(), "rejected without a diagnostic");
    let mut out = Vec::new();
    mmcheck::render::diagnostics(&mut out, diags);
    let rendered = String::from_utf8(out).expect("diagnostics render as UTF-8");
    let text = std::str::from_utf8(bytes).ok();
    let valid_toml = text.is_some_and(|t| toml::from_str::<CaseFile>(t).is_ok());
    if let (Some(t), false) = (text, valid_toml) {
        // The TOML error's place, or where TOML would have put it had it said.
        let e = toml::from_str::<CaseFile>(t).unwrap_err();
        let [d] = diags else {
            return Err(TestCaseError::fail(format!(
                "one TOML error, {} diagnostics",
                diags.len()
            )));
        };
        let line_at = |offset: usize| t[..offset.min(t.len())].matches('\n').count() + 1;
        match e.span() {
            Some(span) => ensure!(
                d.line == line_at(span.start),
                "TOML places `{}` on line {}, the diagnostic on {}",
                e.message(),
                line_at(span.start),
                d.line
            ),
            None => {
                // The first line by which the file already fails.
                let through = |line: usize| {
                    let end = t
                        .split_inclusive('\n')
                        .take(line)
                        .map(str::len)
                        .sum::<usize>();
                    t[..end]
                        .parse::<toml::Table>()
                        .is_err_and(|x| x.message() == e.message())
                };
                ensure!(
                    d.line == 1 || (through(d.line) && !through(d.line - 1)),
                    "`{}` has no place in TOML, and the diagnostic says line {}",
                    e.message(),
                    d.line
                );
            }
        }
    }
    let line_count = bytes.iter().filter(|b| **b == b'\n').count() + 1;
    for d in diags {
        ensure!(
            d.file == file,
            "diagnostic names {}: {d:?}",
            d.file.display()
        );
        ensure!(
            d.line >= 1 && d.col >= 1,
            "diagnostic without a place: {d:?}"
        );
        ensure!(
            d.line <= line_count,
            "line {} of {line_count}: {d:?}",
            d.line
        );
        let place = format!("{}:{}:{}", file.display(), d.line, d.col);
        ensure!(rendered.contains(&place), "`{place}` not in:\n{rendered}");
        ensure!(!d.message.trim().is_empty(), "empty message: {d:?}");
        ensure!(
            !d.message
                .chars()
                .chain(d.field.chars())
                .any(char::is_control),
            "a control character would reach the terminal: {d:?}"
        );
        if let Some(t) = text {
            let raw = t.split('\n').nth(d.line - 1).unwrap_or("");
            let line = load::shown_line(raw);
            ensure!(
                d.source_line == line,
                "the diagnostic shows {:?} for line {}, which is {line:?}: {d:?}",
                d.source_line,
                d.line
            );
            ensure!(
                d.col <= raw.chars().count() + 1,
                "column past the end of the line: {d:?}"
            );
        }
        if valid_toml {
            ensure!(!d.field.is_empty(), "diagnostic without a field: {d:?}");
        }
        // An expression's error points at the word it quotes (or at an escape that spells it).
        let quoted = [
            "unknown name `",
            "unexpected `",
            "expected a value, found `",
        ]
        .iter()
        .find_map(|p| d.message.strip_prefix(p))
        .or_else(|| d.message.strip_prefix('`').filter(|m| m.starts_with('$')));
        if let (Some(word), true) = (quoted.and_then(|w| w.chars().next()), valid_toml) {
            // The line shows a control character as U+FFFD, the message as an escape.
            let at = d.source_line.chars().nth(d.col - 1);
            ensure!(
                at == Some(word)
                    || matches!(at, Some('\\' | '"' | '\''))
                    || (word == '\\' && at == Some('\u{fffd}')),
                "the caret is on {at:?}, not on `{word}`: {d:?}"
            );
        }
    }
    Ok(())
}

/// A scope where every `$name` has `value` (or none).
struct Fixed {
    page: u64,
    value: Option<u64>,
}

impl Scope for Fixed {
    fn page(&self) -> u64 {
        self.page
    }
    fn slot(&self, _: usize) -> Option<u64> {
        self.value
    }
}

fn step_exprs(step: &Step) -> Vec<&Expr> {
    let mut out: Vec<&Expr> = step
        .args
        .iter()
        .filter_map(|(_, v)| match v {
            mmcheck::case::plan::ArgValue::Num(e) => Some(e),
            mmcheck::case::plan::ArgValue::Text(_) => None,
        })
        .collect();
    for e in &step.expect {
        match &e.outcome {
            Outcome::Success(Some(c)) => out.push(&c.rhs),
            Outcome::Signal { addr: Some(a), .. } => out.push(a),
            _ => {}
        }
        for c in &e.checks {
            match c {
                Check::EveryByte(x) => out.push(x),
                Check::Size(c)
                | Check::Blocks(c)
                | Check::Minflt(c)
                | Check::Majflt(c)
                | Check::Rss(c)
                | Check::Locked(c)
                | Check::Iterations(c) => out.push(&c.rhs),
                Check::Maps(lines) => {
                    for l in lines {
                        out.push(&l.start);
                        out.push(&l.end);
                        out.extend(&l.offset);
                    }
                }
                Check::Bytes(_) | Check::Resident(_) | Check::Equal(_) | Check::VmFlags(_) => {}
            }
        }
    }
    out
}

/// A loaded case is usable: its plan is consistent, its expressions evaluate, and a run in which
/// every step succeeds (or fails) classifies.
fn check_case(case: &Case) -> Result<(), TestCaseError> {
    let plan = &case.plan;
    ensure!(!plan.steps.is_empty(), "{}: a case without steps", case.id);
    for (i, step) in plan.steps.iter().enumerate() {
        ensure!(
            step.index == i,
            "{}: step {i} has index {}",
            case.id,
            step.index
        );
        ensure!(step.line >= 1, "{}: {} has no line", case.id, step.label);
        ensure!(
            step.slot.is_none_or(|s| s < plan.slots.len()),
            "{}: {} names slot {:?} of {}",
            case.id,
            step.label,
            step.slot,
            plan.slots.len()
        );
        ensure!(
            step.repeat
                .is_none_or(|(n, s)| n >= 1 && s < plan.slots.len()),
            "{}: {} repeats {:?}",
            case.id,
            step.label,
            step.repeat
        );
        ensure!(
            step.expect.last().is_some_and(|e| e.kernel.is_none()),
            "{}: {} has no default contract",
            case.id,
            step.label
        );
        for kernel in [
            None,
            Some((0, 0, 0)),
            Some((6, 1, 0)),
            Some((u32::MAX, 0, 0)),
        ] {
            let _ = mmcheck::render::contract(step.contract(kernel));
        }
        for e in step_exprs(step) {
            let mut refs = Vec::new();
            e.refs(&mut refs);
            ensure!(
                refs.iter().all(|r| *r < plan.slots.len()),
                "{}: {} reads slots {refs:?} of {}",
                case.id,
                step.label,
                plan.slots.len()
            );
            for page in [4096, 65536, 1] {
                for value in [
                    None,
                    Some(0),
                    Some(1),
                    Some(u64::MAX),
                    Some(0x7f12_3456_7000),
                ] {
                    let _ = e.eval(&Fixed { page, value });
                }
            }
        }
    }
    ensure!(
        Instant::now().checked_add(case.timeout).is_some(),
        "{}: a timeout of {:?} overflows a deadline",
        case.id,
        case.timeout
    );
    let order = outcome::execution_order(case);
    let mut sorted = order.clone();
    sorted.sort_unstable();
    ensure!(
        sorted == (0..plan.steps.len()).collect::<Vec<_>>(),
        "{}: the steps run as {order:?}",
        case.id
    );
    let _ = mmcheck::mutant::applicable(case);
    for obs in [
        Obs::Ok {
            value: 0x7f12_3456_7000,
            data: None,
        },
        Obs::Ok {
            value: u64::MAX,
            data: None,
        },
        Obs::Err { errno: 22 },
        Obs::Fault {
            signo: 11,
            code: 2,
            addr: 0x7f12_3456_7000,
        },
    ] {
        let mut records: Vec<Result<Record, String>> = order
            .iter()
            .map(|&i| {
                Ok(Record::Step {
                    step: i,
                    obs: obs.clone(),
                    iterations: plan.steps[i].repeat.map(|_| 1),
                })
            })
            .collect();
        records.push(Ok(Record::Done));
        let seen = Seen {
            records,
            ended: None,
            timed_out: false,
            stderr: String::new(),
            millis: 1,
        };
        let _ = outcome::classify(case, seen, Some((6, 1, 0)), 4096);
    }
    Ok(())
}

struct Stats {
    tried: AtomicUsize,
    loaded: AtomicUsize,
    rejected: AtomicUsize,
}

fn check_input(
    input: &Input,
    seeds: &[Seed],
    root: &Path,
    stats: &Stats,
) -> Result<(), TestCaseError> {
    stats.tried.fetch_add(1, Ordering::Relaxed);
    let (rel, bytes) = materialize(input, seeds);
    let file = root.join(&rel);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, &bytes).unwrap();
    let (cases, diags) = load::load_dir(root);
    std::fs::remove_file(&file).unwrap();
    if diags.is_empty() {
        stats.loaded.fetch_add(1, Ordering::Relaxed);
        ensure!(!cases.is_empty(), "nothing loaded and nothing rejected");
        for case in &cases {
            check_case(case)?;
        }
    } else {
        stats.rejected.fetch_add(1, Ordering::Relaxed);
        ensure!(cases.is_empty(), "a rejected file gave cases too");
        check_diagnostics(&diags, &file, &bytes)?;
    }
    Ok(())
}

fn seed_bytes() -> [u8; 32] {
    let mut seed = [0u8; 32];
    match std::env::var("MMCHECK_FUZZ_SEED") {
        Ok(hex) => {
            assert_eq!(hex.len(), 64, "MMCHECK_FUZZ_SEED is 64 hex digits");
            for (i, b) in seed.iter_mut().enumerate() {
                *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex digits");
            }
        }
        Err(_) => {
            // No rand dependency of our own: time and the process id are random enough here.
            use std::hash::{BuildHasher, Hasher};
            for chunk in seed.chunks_mut(8) {
                let mut h = std::collections::hash_map::RandomState::new().build_hasher();
                h.write_u128(
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_nanos(),
                );
                h.write_u32(std::process::id());
                chunk.copy_from_slice(&h.finish().to_le_bytes());
            }
        }
    }
    seed
}

/// The cases as written are where the mutations start: each loads and is usable.
#[test]
fn every_real_case_is_usable() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cases");
    let (cases, diags) = load::load_dir(&root);
    assert!(diags.is_empty(), "{diags:#?}");
    for case in &cases {
        if let Err(e) = check_case(case) {
            panic!("{e}");
        }
    }
}

/// mmcheck loads cases on a main thread, whose stack is 8 MiB; libtest's threads have 2 MiB, too
/// little for a debug build to deserialize the deepest nesting of steps TOML allows (forks in
/// forks, 79 deep).
const MAIN_THREAD_STACK: usize = 8 << 20;

#[test]
fn loader_survives_mutated_cases() {
    std::thread::Builder::new()
        .name("fuzz_loader".into())
        .stack_size(MAIN_THREAD_STACK)
        .spawn(fuzz)
        .unwrap()
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
}

fn fuzz() {
    let cases: u32 = std::env::var("MMCHECK_FUZZ_CASES")
        .ok()
        .map(|n| n.parse().expect("MMCHECK_FUZZ_CASES is a number"))
        .unwrap_or(DEFAULT_CASES);
    let seeds = seeds();
    let seed = seed_bytes();
    let seed_hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
    let dir = tempfile::Builder::new()
        .prefix("fuzz_loader-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let root = dir.path().join("cases");
    eprintln!(
        "fuzz_loader: {cases} inputs from {} case files, MMCHECK_FUZZ_SEED={seed_hex}, files in {}",
        seeds.len(),
        root.display()
    );
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2000,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
    let stats = Stats {
        tried: AtomicUsize::new(0),
        loaded: AtomicUsize::new(0),
        rejected: AtomicUsize::new(0),
    };
    let started = Instant::now();
    let result = runner.run(&input(), |input| check_input(&input, &seeds, &root, &stats));
    eprintln!(
        "fuzz_loader: {} inputs tried ({} loaded, {} rejected) in {:.1} s",
        stats.tried.load(Ordering::Relaxed),
        stats.loaded.load(Ordering::Relaxed),
        stats.rejected.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
    if let Err(e) = result {
        let shown = match &e {
            proptest::test_runner::TestError::Fail(why, input) => {
                let (rel, bytes) = materialize(input, &seeds);
                format!("{why}\ninput ({rel}):\n{}", String::from_utf8_lossy(&bytes))
            }
            other => other.to_string(),
        };
        panic!("the loader fails on an input (replay with MMCHECK_FUZZ_SEED={seed_hex}): {shown}");
    }
}
