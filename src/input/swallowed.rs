//! A quoted field that took rows of the file into it: a line break followed by a line shaped
//! like a row (as many separators as the header) before the quote closes, as when a quote
//! left open is closed by a stray quote rows later. One such line makes the row invalid,
//! naming both lines; many refuse the file, past which nothing is read. A line break inside a
//! quoted field is otherwise fine (an address, a note).

use csv::ByteRecord;

use super::quote::quoted;

/// Checks the record `bytes` read from the file (with `width` columns separated by
/// `delimiter`), which starts on line `line`: the row's problem when one line of a quoted
/// field is shaped like a row.
///
/// # Errors
/// The message refusing the file when a quoted field holds many such lines.
pub(super) fn check(
    bytes: &ByteRecord,
    delimiter: u8,
    width: usize,
    line: u64,
) -> Result<Option<String>, String> {
    let Some(s) = swallowed_rows(bytes, delimiter, width) else {
        return Ok(None);
    };
    let (field, opened) = (s.field + 1, line + s.opened);
    if s.row_like >= many(width) {
        return Err(format!(
            "line {opened}: the quoted field {field} opened on this line runs on over {} more \
             lines, and {} of them look like rows of their own: a closing quote (\") is \
             probably missing on line {opened}. Nothing was read past it; fix the quote and run \
             again",
            s.breaks, s.row_like
        ));
    }
    let inside = line + s.first;
    Ok(Some(format!(
        "line {inside}, inside the quoted field {field} opened on line {opened}, is shaped like \
         a row of its own ({} separator{}, as many as the header has): {}; a closing quote (\") \
         is probably missing on line {opened}, and the row on line {inside} was taken into this \
         one. Fix the quote and run again (if line {inside} does belong in the field, write it \
         with fewer separators)",
        width - 1,
        if width == 2 { "" } else { "s" },
        quoted(&String::from_utf8_lossy(&s.text))
    )))
}

/// A quoted field holding lines shaped like rows of the file: [`swallowed_rows`] says which.
#[derive(Debug, PartialEq)]
struct Swallowed {
    /// The field's index.
    field: usize,
    /// How many lines after the record's first the field opens on.
    opened: u64,
    /// How many lines of text the field holds after its first.
    breaks: usize,
    /// How many of them hold as many separators as the header.
    row_like: usize,
    /// How many lines after the record's first the first of those is.
    first: u64,
    /// That line, cut to 120 bytes.
    text: Vec<u8>,
}

/// The first quoted field of `record` that holds a line break followed by a line with as many
/// separators as the header (`width - 1`), before the quote closes: a quote left open, or
/// closed by a stray quote further on, that took the rows after it into the field. A line
/// break inside a quoted field is otherwise fine (an address, a note).
fn swallowed_rows(record: &ByteRecord, delimiter: u8, width: usize) -> Option<Swallowed> {
    if width < 2 || memchr::memchr2(b'\n', b'\r', record.as_slice()).is_none() {
        return None;
    }
    // Lines begun before the field at hand (only quoted fields hold line breaks).
    let mut before = 0u64;
    let mut first = None;
    for (index, field) in record.iter().enumerate() {
        let lines = field_lines(field);
        let last = lines.last().map_or(0, |(at, _)| *at);
        // Separators on the physical line where the quote closed, after the field: one before
        // each field that follows, up to one that breaks its line again.
        let after = {
            let mut n = 0;
            for next in record.iter().skip(index + 1) {
                n += 1;
                if memchr::memchr2(b'\n', b'\r', next).is_some() {
                    break;
                }
            }
            n
        };
        let mut found: Option<Swallowed> = None;
        for &(at, line) in lines.iter().skip(1).filter(|(_, l)| !l.is_empty()) {
            let s = found.get_or_insert(Swallowed {
                field: index,
                opened: before,
                breaks: 0,
                row_like: 0,
                first: 0,
                text: Vec::new(),
            });
            s.breaks += 1;
            let separators = memchr::memchr_iter(delimiter, line).count();
            // The line the quote closed on holds a quote of its own, and with what follows the
            // field it has a row's separators: the quote that closed the field was the
            // opening quote of a field of the row it took in (`b,"mid",n2`).
            let closed_on_a_row = at == last
                && memchr::memchr(b'"', line).is_some()
                && separators + after >= width - 1;
            if separators >= width - 1 || closed_on_a_row {
                if s.row_like == 0 {
                    s.first = before + at;
                    s.text = line[..line.len().min(120)].to_vec();
                }
                s.row_like += 1;
            }
        }
        if let Some(s) = found.filter(|s| s.row_like > 0) {
            // A field that swallowed many rows wins over one that swallowed one.
            if s.row_like >= many(width) {
                return Some(s);
            }
            first.get_or_insert(s);
        }
        before += last;
    }
    first
}

/// How many lines shaped like rows a quoted field holds when it is a quote left open, past
/// which nothing is read: two lines of a two-column file may be an address with a comma in
/// each, so three there.
fn many(width: usize) -> usize {
    if width == 2 { 3 } else { 2 }
}

/// The lines of `field`, each with how many lines after the field's first it is; a line ends
/// at LF, CR or CRLF, as the rows' line counter counts them.
fn field_lines(field: &[u8]) -> Vec<(u64, &[u8])> {
    let mut lines = Vec::new();
    let (mut start, mut number, mut at) = (0, 0u64, 0);
    while at < field.len() {
        match field[at] {
            b'\r' | b'\n' => {
                lines.push((number, &field[start..at]));
                at += if field[at..].starts_with(b"\r\n") {
                    2
                } else {
                    1
                };
                number += 1;
                start = at;
            }
            _ => at += 1,
        }
    }
    lines.push((number, &field[start..]));
    lines
}
