//! Words, numbers and expressions: the values the fuzzer writes into case files.

use super::*;

// Words, numbers and expressions.

pub(crate) const ARCHES: &[&str] = &[
    "x86_64", "aarch64", "riscv64", "s390x", "ppc64le", "i686", "um",
];
pub(crate) const IDS: &[&str] = &[
    "m", "f", "p", "q", "h", "i", "r", "d", "x", "n", "m2", "big",
];
pub(crate) const KEYS: &[&str] = &[
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
    "anon-huge",
    "kernel-page-size",
    "mmu-page-size",
    "pkey",
    "iterations",
    "pagemap",
    "event",
    "fault-flags",
    "seals",
    "mtime",
    "ctime",
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
    "pkeys",
    "exists",
    "file-contains",
    "file-lacks",
    "rlimits",
    "soft-dirty",
];
pub(crate) const HEADERS: &[&str] = &[
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
pub(crate) const SPECIAL_EXPRS: &[&str] = &[
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

pub(crate) fn names_pool() -> Vec<&'static str> {
    static POOL: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    POOL.get_or_init(build_names_pool).clone()
}

pub(crate) fn build_names_pool() -> Vec<&'static str> {
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
    pub(crate) fn word() -> BoxedStrategy<String> = build_word;
}

pub(crate) fn build_word() -> BoxedStrategy<String> {
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
    pub(crate) fn number() -> BoxedStrategy<String> = build_number;
}

pub(crate) fn build_number() -> BoxedStrategy<String> {
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
    pub(crate) fn expr() -> BoxedStrategy<String> = build_expr;
}

pub(crate) fn build_expr() -> BoxedStrategy<String> {
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
pub(crate) const SPACES: &[&str] = &[
    "", " ", "\t", "  ", "\n", "\u{a0}", "\u{3000}", "\u{2003}", "\u{85}", "\u{feff}",
];

cached! {
    /// An expression as a comparison (`>=16`, `!= 0`) or not, padded with whitespace.
    pub(crate) fn padded_expr() -> BoxedStrategy<String> = build_padded_expr;
}

pub(crate) fn build_padded_expr() -> BoxedStrategy<String> {
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
