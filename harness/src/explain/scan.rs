//! Which case files explain needs to compile for a symbol, told from their text alone.

/// Whether a case file may have `symbol` (letters, digits and `_`) in its `symbols`, from its
/// text: errs only towards yes. Each of `symbols` is a whole TOML string, so the symbol must be
/// written between quotes, or after the line break that opens a multi-line string. A string
/// holds its text as written but for escapes and line continuations: an escape gives a letter,
/// digit or `_` only as `\u`, `\U` or `\x`, and a line-ending backslash in a multi-line string
/// joins the lines, dropping the backslash and the blank space after it, so the text is also
/// searched with every such join made.
pub fn may_name(text: &str, symbol: &str) -> bool {
    if quoted(text, symbol) {
        return true;
    }
    if !text.contains('\\') {
        return false;
    }
    if ["\\u", "\\U", "\\x"].iter().any(|e| text.contains(e)) {
        return true;
    }
    let blank = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n');
    let mut joined = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\\') {
        joined.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let gap = &after[..after.len() - after.trim_start_matches(blank).len()];
        if gap.contains('\n') {
            rest = &after[gap.len()..];
        } else {
            joined.push('\\');
            rest = after;
        }
    }
    joined.push_str(rest);
    quoted(&joined, symbol)
}

/// Whether `text` has `symbol` as the whole of a string: after a quote or a line break, before
/// a quote.
fn quoted(text: &str, symbol: &str) -> bool {
    let bytes = text.as_bytes();
    text.match_indices(symbol).any(|(at, _)| {
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(at + symbol.len());
        matches!(before, Some(b'"' | b'\'' | b'\n')) && matches!(after, Some(b'"' | b'\''))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_test_never_misses_a_symbol() {
        let symbols = r#"symbols = ["mmap", 'MAP_FIXED']"#;
        assert!(may_name(symbols, "MAP_FIXED"));
        assert!(may_name(symbols, "mmap"));
        assert!(!may_name(symbols, "MAP_SHARED"));
        // Named in arguments, in prose, or as part of a longer name: not one of `symbols`.
        for text in [
            r#"symbols = ["MAP_FIXED_NOREPLACE"]"#,
            r#"symbols = ["XMAP_FIXED"]"#,
            r#"args = { flags = "MAP_PRIVATE|MAP_FIXED" }"#,
            r#"note = "MAP_FIXED replaces""#,
            "note = \"\"\"\nMAP_FIXED\nreplaces\"\"\"",
        ] {
            assert!(!may_name(text, "MAP_FIXED"), "{text}");
        }
        // Spelled with escapes, split by line continuations (with CRLF and blank lines, before,
        // inside and after the symbol), or after the line break that opens a multi-line string.
        for text in [
            r#"symbols = ["MAP_\u0046IXED"]"#,
            r#"symbols = ["MAP_\U00000046IXED"]"#,
            "symbols = [\"\"\"\nMAP_FIXED\"\"\"]",
            "symbols = ['''\r\nMAP_FIXED''']",
            "symbols = [\"\"\"MAP_\\\n   FIXED\"\"\"]",
            "symbols = [\"\"\"MAP_\\  \r\n\r\n\tFIXED\"\"\"]",
            "symbols = [\"\"\"\\\n  MAP_FIXED\\\n  \"\"\"]",
            "note = \"\"\"a \\\\ b\"\"\"\nsymbols = [\"\"\"\nMAP_\\\n\n  FIX\\\n  ED\"\"\"]",
        ] {
            assert!(may_name(text, "MAP_FIXED"), "{text}");
            let parsed: toml::Table = toml::from_str(text).unwrap();
            assert_eq!(parsed["symbols"][0].as_str(), Some("MAP_FIXED"), "{text}");
        }
        // TOML 1.1's \x, which this toml may not read.
        assert!(may_name(r#"symbols = ["MAP_\x46IXED"]"#, "MAP_FIXED"));
        // Other escapes and backslashes give no letter.
        for text in [
            "note = \"a \\\"quote\\\" \\\\ and\\t\"\nsymbols = [\"MAP_\\\\FIXED\"]",
            "note = \"\"\"MAP_\\ FIXED\"\"\"",
        ] {
            assert!(!may_name(text, "MAP_FIXED"), "{text}");
        }
    }
}
