//! The value checks a row's fields must pass before anything is sent: ids, emails, colors,
//! domain names, lengths, characters that show nothing or reorder text (bidi controls), and
//! the slug that can stand in for a missing name.

/// The longest `name` accepted, in characters.
pub(crate) const MAX_NAME_CHARS: usize = 255;
/// The longest id accepted (`id`, `parent_id`, `template_id`), in characters.
pub(crate) const MAX_ID_CHARS: usize = 255;
/// The longest `displayName` and `email`, in characters.
pub(crate) const MAX_SHORT_TEXT_CHARS: usize = 255;
/// The longest `description`, in characters.
pub(crate) const MAX_DESCRIPTION_CHARS: usize = 1024;

/// Ids travel in URL paths: letters, digits, `_`, `.` and `-` only.
///
/// # Errors
/// Why the value is not an id.
pub(crate) fn check_id(value: &str) -> Result<(), String> {
    // No more characters than bytes.
    if value.len() > MAX_ID_CHARS && value.chars().count() > MAX_ID_CHARS {
        return Err(format!("longer than {MAX_ID_CHARS} characters"));
    }
    check_no_bidi_controls(value)?;
    match value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        Some(c) => Err(format!(
            "{c:?} is not allowed (use letters, digits, '_', '.' and '-')"
        )),
        None => Ok(()),
    }
}

/// The Unicode name of a bidirectional embedding, override or isolate character (U+202A to
/// U+202E, U+2066 to U+2069), which make text display in another order than it is stored
/// (`\u{202e}fdp.exe` shows as `exe.pdf`); `None` for any other character.
pub(crate) fn bidi_control_name(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{202a}' => "LEFT-TO-RIGHT EMBEDDING",
        '\u{202b}' => "RIGHT-TO-LEFT EMBEDDING",
        '\u{202c}' => "POP DIRECTIONAL FORMATTING",
        '\u{202d}' => "LEFT-TO-RIGHT OVERRIDE",
        '\u{202e}' => "RIGHT-TO-LEFT OVERRIDE",
        '\u{2066}' => "LEFT-TO-RIGHT ISOLATE",
        '\u{2067}' => "RIGHT-TO-LEFT ISOLATE",
        '\u{2068}' => "FIRST STRONG ISOLATE",
        '\u{2069}' => "POP DIRECTIONAL ISOLATE",
        _ => return None,
    })
}

/// Refuses bidirectional control characters (see [`bidi_control_name`]).
///
/// # Errors
/// The first one, by code point, name and position (`U+202E RIGHT-TO-LEFT OVERRIDE at
/// character 3`).
pub(crate) fn check_no_bidi_controls(value: &str) -> Result<(), String> {
    // Every one of them is encoded in UTF-8 from the byte E2.
    if memchr::memchr(0xE2, value.as_bytes()).is_none() {
        return Ok(());
    }
    match value
        .chars()
        .enumerate()
        .find_map(|(i, c)| Some((i, c, bidi_control_name(c)?)))
    {
        Some((i, c, name)) => Err(format!(
            "U+{:04X} {name} at character {}: bidirectional control characters make text \
             display in another order than it is stored; remove it",
            u32::from(c),
            i + 1
        )),
        None => Ok(()),
    }
}

/// Characters that show nothing: the format characters (Unicode category Cf: soft hyphen,
/// zero-width space, joiners, bidi controls, word joiner, byte-order mark, tags, ...) but
/// the prepended marks that do show, and the other invisible ones (the combining grapheme
/// joiner, variation selectors, Hangul fillers, the braille blank).
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{34f}'
            | '\u{61c}'
            | '\u{115f}'..='\u{1160}'
            | '\u{17b4}'..='\u{17b5}'
            | '\u{180b}'..='\u{180f}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{2800}'
            | '\u{3164}'
            | '\u{fe00}'..='\u{fe0f}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{13430}'..='\u{1343f}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0001}'
            | '\u{e0020}'..='\u{e007f}'
            | '\u{e0100}'..='\u{e01ef}'
    )
}

/// Whether `text` shows nothing once its whitespace, control and invisible characters
/// ([`is_invisible`]) are removed.
pub(crate) fn shows_nothing(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_whitespace() || c.is_control() || is_invisible(c))
}

/// A plain `local@domain.tld` address, without spaces.
pub(crate) fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !local
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '@')
        && is_domain(domain)
}

/// `#RGB` or `#RRGGBB`.
pub(crate) fn is_hex_color(value: &str) -> bool {
    value
        .strip_prefix('#')
        .is_some_and(|hex| matches!(hex.len(), 3 | 6) && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A DNS name of two or more labels (internationalised names in their `xn--` form).
pub(crate) fn is_domain(value: &str) -> bool {
    if value.len() > 253 {
        return false;
    }
    // Label by label, over the bytes: a label of ASCII letters, digits and `-` only, so any
    // byte of a character outside ASCII fails it.
    let (mut labels, mut last): (usize, &[u8]) = (0, b"");
    for label in value.as_bytes().split(|b| *b == b'.') {
        let fits = !label.is_empty()
            && label.len() <= 63
            && label[0] != b'-'
            && label[label.len() - 1] != b'-'
            && label
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-');
        if !fits {
            return false;
        }
        labels += 1;
        last = label;
    }
    labels >= 2 && last.iter().any(u8::is_ascii_alphabetic)
}

/// A URL-safe name made from `text`: accents and other scripts folded to ASCII, lowercase,
/// runs of anything else turned into one `-`. The same text always gives the same slug.
pub(crate) fn slug(text: &str) -> String {
    let ascii = deunicode::deunicode(text).to_lowercase();
    let mut slug = String::with_capacity(ascii.len());
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    while slug.ends_with('-') {
        slug.pop();
    }
    slug
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_checks() {
        assert!(is_email("a.b+c@example.co.uk"));
        assert!(!is_email("a@b"));
        assert!(!is_email("a b@example.com"));
        assert!(is_hex_color("#1a73E8") && is_hex_color("#fff"));
        assert!(!is_hex_color("#12345G") && !is_hex_color("1A73E8"));
        assert!(is_domain("xn--mller-kva.de"));
        assert!(!is_domain("-bad.com") && !is_domain("localhost") && !is_domain("1.2.3.4"));
        assert!(check_id("cust-001_a.b").is_ok());
        assert!(check_id("cust 1").is_err() && check_id("a/b").is_err());
    }

    /// Domain names told as a list of labels is told them.
    #[test]
    fn domain_names_are_told_label_by_label() {
        let by_list = |value: &str| {
            let labels: Vec<&str> = value.split('.').collect();
            value.len() <= 253
                && labels.len() >= 2
                && labels.iter().all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && !l.starts_with('-')
                        && !l.ends_with('-')
                        && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                })
                && labels
                    .last()
                    .is_some_and(|tld| tld.chars().any(|c| c.is_ascii_alphabetic()))
        };
        let long_label = format!("{}.com", "a".repeat(64));
        let long_name = format!("{}com", "abcdefghi.".repeat(26));
        for value in [
            "example.com",
            "a.b.c.de",
            "customer1.example.com",
            "xn--mller-kva.de",
            "",
            ".",
            "a.",
            ".com",
            "a..com",
            "-a.com",
            "a-.com",
            "a.-com",
            "1.2.3.4",
            "a.b1",
            "a.1b",
            "münchen.de",
            "a_b.com",
            "a b.com",
            "localhost",
            &long_label,
            &long_name,
            "a.b.c.d.e.f.g.h.i.j.k.l",
        ] {
            assert_eq!(is_domain(value), by_list(value), "{value:?}");
        }
    }

    #[test]
    fn slugs_fold_unicode_and_are_stable() {
        assert_eq!(slug("Müller Maschinenbau GmbH"), "muller-maschinenbau-gmbh");
        assert_eq!(
            slug("  Société Générale d'Équipements "),
            "societe-generale-d-equipements"
        );
        assert_eq!(
            slug("São Paulo Logística Ltda."),
            "sao-paulo-logistica-ltda"
        );
        assert_eq!(slug("東京"), slug("東京"));
        assert!(!slug("東京").is_empty());
        assert_eq!(slug("***"), "");
    }
}
