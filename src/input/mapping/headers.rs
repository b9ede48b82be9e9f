//! How a header is read: `metadata.<key>` and `metadata.<key>:json` columns, `{Column}`
//! formats, and the header's columns as a message lists them.

use csv::StringRecord;

use super::{Piece, lookalike};
use crate::input::quote::quoted;

/// The end of a `metadata.<key>` header whose cells are JSON (`metadata.tags:json` holds
/// `["a","b"]`): what an export writes for values that are not plain text.
const JSON_SUFFIX: &str = ":json";

/// The key of a `metadata.<key>:json` header's `<key>:json`, without its [`JSON_SUFFIX`]
/// (any case); `None` for a plain key.
pub(super) fn json_key(key: &str) -> Option<&str> {
    let at = key.len().checked_sub(JSON_SUFFIX.len())?;
    (key.is_char_boundary(at) && key[at..].eq_ignore_ascii_case(JSON_SUFFIX)).then(|| &key[..at])
}

/// How a column must be written for the default mapping to read it back as metadata `key`:
/// its header, and whether its cells must be JSON. `metadata.<key>` holds text;
/// `metadata.<key>:json` holds JSON, asked for by `json` and needed for a key that itself ends
/// in `:json` (which a plain header would read as the typed column of another key).
pub(crate) fn metadata_column(key: &str, json: bool) -> (String, bool) {
    if json || json_key(key).is_some() {
        (format!("metadata.{key}{JSON_SUFFIX}"), true)
    } else {
        (format!("metadata.{key}"), false)
    }
}

/// The header's columns for a message, each escaped (a header may hold any byte).
pub(super) fn header_list(headers: &StringRecord) -> String {
    headers
        .iter()
        .map(lookalike::shown)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Splits `text` into literal text and `{Column}` placeholders (`{{` and `}}` are braces).
pub(super) fn parse_format(
    text: &str,
    find: &dyn Fn(&str) -> Result<usize, String>,
) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                literal.push('}');
            }
            '{' => {
                let mut column = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => column.push(c),
                        None => {
                            return Err(format!("format {} has an unclosed '{{'", quoted(text)));
                        }
                    }
                }
                if !literal.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut literal)));
                }
                pieces.push(Piece::Column(find(&column)?));
            }
            '}' => {
                return Err(format!("format {} has a '}}' without a '{{'", quoted(text)));
            }
            c => literal.push(c),
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Text(literal));
    }
    Ok(pieces)
}
