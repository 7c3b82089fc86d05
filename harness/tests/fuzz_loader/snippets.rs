//! TOML values, keys and snippets: the pieces inserted into and swapped around case files.

use super::*;

// TOML values, keys and snippets.

/// `s` as a TOML basic string, escaping what must be escaped.
pub(crate) fn basic(s: &str) -> String {
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
pub(crate) fn escaped(s: &str, mask: u64) -> String {
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
    pub(crate) fn text() -> BoxedStrategy<String> = build_text;
}

pub(crate) fn build_text() -> BoxedStrategy<String> {
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
    pub(crate) fn toml_int() -> BoxedStrategy<String> = build_toml_int;
}

pub(crate) fn build_toml_int() -> BoxedStrategy<String> {
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
    pub(crate) fn value() -> BoxedStrategy<String> = build_value;
}

pub(crate) fn build_value() -> BoxedStrategy<String> {
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
    pub(crate) fn key() -> BoxedStrategy<String> = build_key;
}

pub(crate) fn build_key() -> BoxedStrategy<String> {
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
    pub(crate) fn snippet() -> BoxedStrategy<String> = build_snippet;
}

pub(crate) fn build_snippet() -> BoxedStrategy<String> {
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
pub(crate) fn nested_forks(n: usize) -> String {
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
