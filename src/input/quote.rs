//! Input text as messages quote it: control characters (C0, DEL, C1), bidi controls and the
//! other invisible characters written as `\u{1b}`, so that no header or cell can put raw bytes
//! on a terminal, or hide inside a message.

use std::borrow::Cow;
use std::fmt::Write as _;

use super::field_checks::is_invisible;

/// `text` in double quotes, as messages quote a value: `"` and `\` escaped, and every
/// character [`escaped`] escapes (`"a\u{0}b"`, `"\u{1b}[31m"`, `"\u{202e}abc"`).
pub(crate) fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => push_escaped(&mut out, c),
        }
    }
    out.push('"');
    out
}

/// `text` with its control characters and invisible ones escaped: tab, line feed and carriage
/// return as `\t`, `\n`, `\r`, the others as `\u{..}` (NUL as `\u{0}`, ESC as `\u{1b}`, a
/// zero-width space as `\u{200b}`). Borrowed when there is nothing to escape.
pub(crate) fn escaped(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

/// Characters that are not shown as themselves: controls, line and paragraph separators, and
/// the invisible ones (format characters, zero-width characters, bidi controls, fillers).
fn needs_escape(c: char) -> bool {
    c.is_control() || is_invisible(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        c if needs_escape(c) => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_invisible_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(quoted("a\0b"), r#""a\u{0}b""#);
        assert_eq!(quoted("\u{1b}[31mred"), r#""\u{1b}[31mred""#);
        assert_eq!(quoted("\u{7f}\u{85}\u{9b}"), r#""\u{7f}\u{85}\u{9b}""#);
        assert_eq!(quoted("\u{202e}cba\u{2066}"), r#""\u{202e}cba\u{2066}""#);
        assert_eq!(
            quoted("\u{200b}\u{feff}\u{ad}"),
            r#""\u{200b}\u{feff}\u{ad}""#
        );
        assert_eq!(quoted("say \"hi\"\\\t\r\n"), r#""say \"hi\"\\\t\r\n""#);
        // What `{:?}` writes for ordinary text, accents and other scripts; a combining accent
        // (text from macOS is often decomposed) is kept, where `{:?}` escapes it.
        for text in ["Müller & Söhne", "東京", "Ελληνική", "a b", "it's"] {
            assert_eq!(quoted(text), format!("{text:?}"));
        }
        assert_eq!(quoted("Mu\u{308}ller"), "\"Mu\u{308}ller\"");
        assert!(matches!(escaped("plain header"), Cow::Borrowed(_)));
        assert_eq!(escaped("na\u{0}me\u{1b}"), "na\\u{0}me\\u{1b}");
        assert_eq!(escaped("a \"b\""), "a \"b\"");
    }
}
