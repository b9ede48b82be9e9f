//! A header cell that looks like the column a mapping names but is not it: a no-break space
//! where a space is meant, a zero-width space or a byte-order mark inside it (spreadsheets and
//! web pages put them there unseen). Messages name the cell, show the character escaped, and
//! say how to fix it, rather than say `no column "Account Name"` beside a header that seems
//! to list "Account Name".

use csv::StringRecord;

use crate::input::field_checks::is_invisible;
use crate::input::quote::{escaped, quoted};

/// Whether `c` looks like a plain space or like nothing, without being a plain space.
fn is_lookalike(c: char) -> bool {
    (c.is_whitespace() && c != ' ' && !c.is_ascii()) || is_invisible(c)
}

/// `text` as it looks on screen: invisible characters dropped, spaces of every kind plain.
fn as_seen(text: &str) -> String {
    text.chars()
        .filter(|c| !is_invisible(*c))
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// A header cell for a message: quoted, with its control, invisible and look-alike space
/// characters escaped (`"Account\u{a0}Name"`).
pub(super) fn shown(header: &str) -> String {
    let mut out = String::with_capacity(header.len() + 8);
    for c in header.chars() {
        if is_lookalike(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push_str(&escaped(&c.to_string()));
        }
    }
    out
}

/// What to call `c` in a message.
fn name(c: char) -> String {
    let what = match c {
        '\u{a0}' => "a no-break space",
        '\u{202f}' => "a narrow no-break space",
        '\u{200b}' => "a zero-width space",
        '\u{feff}' => "a byte-order mark",
        '\u{ad}' => "a soft hyphen",
        c if c.is_whitespace() => "a space of another kind",
        _ => "an invisible character",
    };
    format!("{what} (U+{:04X})", u32::from(c))
}

/// Why no column of `headers` is `wanted` although one looks just like it: the column, its
/// cell escaped, the characters that make it differ, and the fix. `None` when none looks like
/// it.
pub(super) fn explain(headers: &StringRecord, wanted: &str) -> Option<String> {
    let seen = as_seen(wanted);
    let (index, header) = headers
        .iter()
        .enumerate()
        .find(|(_, h)| h.chars().any(is_lookalike) && as_seen(h).eq_ignore_ascii_case(&seen))?;
    let mut odd: Vec<String> = Vec::new();
    for c in header.trim().chars().filter(|c| is_lookalike(*c)) {
        let named = name(c);
        if !odd.contains(&named) {
            odd.push(named);
        }
    }
    Some(format!(
        "column {} of the header, \"{}\", looks like {} but is not: it holds {}. Retype that \
         header cell in the file (plain spaces and letters), then run again",
        index + 1,
        shown(header),
        quoted(wanted.trim()),
        odd.join(" and "),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_with_a_no_break_space_or_an_invisible_character_is_explained() {
        let headers = StringRecord::from(vec!["id", "Account\u{a0}Name", "e\u{200b}mail"]);
        let why = explain(&headers, "Account Name").unwrap();
        assert!(
            why.starts_with("column 2 of the header, \"Account\\u{a0}Name\""),
            "{why}"
        );
        assert!(why.contains("a no-break space (U+00A0)"), "{why}");
        let why = explain(&headers, "email").unwrap();
        assert!(why.contains("\"e\\u{200b}mail\""), "{why}");
        assert!(why.contains("a zero-width space (U+200B)"), "{why}");
        assert_eq!(explain(&headers, "Account"), None);
        assert_eq!(
            explain(&StringRecord::from(vec!["Account Name"]), "Account Name"),
            None
        );
        assert_eq!(shown("a\u{feff}b c"), "a\\u{feff}b c");
    }
}
