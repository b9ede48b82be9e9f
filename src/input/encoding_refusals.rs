//! The messages that refuse a CSV file whose encoding cannot be told: a file several
//! encodings read as text, each its own way (the line where they disagree, as each reads
//! it), and a UTF-8 file with bytes that are not (the line, with those bytes written `\xNN`).
//! Every encoding they name was tried on the whole file.

use std::fs::File;
use std::path::Path;

use super::encoding::{LineReader, is_unreadable, line_of};
use super::quote::quoted;
use super::readings::{self, Place};
use super::snapshot::read_full;
use crate::Error;

/// How a byte read as `text` is named in a message: a character, or `\xNN` (undefined).
pub(super) fn describe(text: &str) -> String {
    match text.chars().next() {
        _ if text.starts_with("\\x") => "nothing: it defines no character for it".into(),
        Some(c) if is_unreadable(c) => format!("the control character U+{:04X}", c as u32),
        _ => format!("{}, which makes that word no word", quoted(text)),
    }
}

/// The byte at `offset` of the file at `path`.
pub(super) fn read_byte(path: &Path, offset: u64) -> Result<u8, Error> {
    use std::io::{Seek, SeekFrom};
    let io = |e| Error::io(path, e);
    let mut file = File::open(path).map_err(io)?;
    file.seek(SeekFrom::Start(offset)).map_err(io)?;
    let mut byte = [0u8];
    read_full(&mut file, &mut byte).map_err(io)?;
    Ok(byte[0])
}

/// The refusal of a UTF-32 file, told by its byte-order mark (`marked`) or by three zero bytes
/// in every four: no spreadsheet program saves a CSV so, and reading it as UTF-16 or a legacy
/// encoding would make NULs of most of its bytes.
pub(super) fn utf32(path: &Path, name: &str, marked: bool) -> Error {
    let told = if marked {
        format!("starts with the byte-order mark of {name}")
    } else {
        format!("is {name} (no byte-order mark; three zero bytes in every four)")
    };
    Error::Input {
        path: path.to_path_buf(),
        message: format!(
            "line 1: the file {told}, which is not read; \
             nothing was read or sent. Save it as UTF-8 (in Excel: CSV UTF-8), or convert it, \
             e.g. iconv -f {name} -t UTF-8"
        ),
    }
}

/// The refusal of a file that several encodings read as text, each its own way: the line where
/// they first disagree, as each reads it, and `--encoding`.
pub(super) fn ambiguous(
    path: &Path,
    readings: &[readings::Reading],
    place: Place,
    line: &[u8],
) -> Error {
    let width = readings
        .iter()
        .map(|r| r.encoding.name().len())
        .max()
        .unwrap_or(0);
    let shown: Vec<String> = readings
        .iter()
        .map(|r| {
            let name = r.encoding.name();
            format!(
                "  {name:width$}  {}",
                quoted(&excerpt(&r.read(line), line, place, path))
            )
        })
        .collect();
    let names: Vec<&str> = readings.iter().map(|r| r.encoding.name()).collect();
    Error::Input {
        path: path.to_path_buf(),
        message: format!(
            "line {} (byte offset {}): not UTF-8 text, and its encoding cannot be told for sure: \
             {} each read the whole file as text, but not alike; line {} reads:\n{}\nnothing \
             was read or sent. Name the file's encoding with --encoding (e.g. --encoding {}), \
             or save it as UTF-8 (in Excel: CSV UTF-8)",
            place.line,
            place.offset,
            join_or(&names),
            place.line,
            shown.join("\n"),
            names[0]
        ),
    }
}

/// `text` (a line read from `line`'s bytes) cut to about 100 characters around the byte at
/// `place`, for a message.
fn excerpt(text: &str, line: &[u8], place: Place, path: &Path) -> String {
    const AROUND: usize = 50;
    let start = line_start(path, place).unwrap_or(place.offset);
    // Single-byte readings: one character for each byte, but `\xNN` for undefined ones.
    let at = (place.offset - start) as usize;
    let chars: Vec<char> = text.chars().collect();
    if chars.len() != line.len() || chars.len() <= 2 * AROUND {
        return text.to_string();
    }
    let from = at.saturating_sub(AROUND);
    let to = (at + AROUND).min(chars.len());
    format!(
        "{}{}{}",
        if from > 0 { "..." } else { "" },
        chars[from..to].iter().collect::<String>(),
        if to < chars.len() { "..." } else { "" }
    )
}

/// The byte offset where the line holding `place` starts.
fn line_start(path: &Path, place: Place) -> Result<u64, Error> {
    let mut lines = LineReader::open(path)?;
    let mut number = 0;
    while let Some((start, _)) = lines.next_line()? {
        number += 1;
        if number == place.line {
            return Ok(start);
        }
    }
    Ok(place.offset)
}

/// `a`, `a or b`, `a, b or c`.
fn join_or(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The refusal of a file that is UTF-8 but for some bytes (`valid_non_ascii` characters
/// outside ASCII are UTF-8, `invalid` sequences are not): where the first one is, the line
/// around it, and the fix (the bytes, since no one encoding reads the file right).
pub(super) fn damaged_utf8(
    path: &Path,
    first_bad: u64,
    (valid_non_ascii, invalid): (u64, u64),
    marked: bool,
) -> Error {
    let line = line_of(path, first_bad).unwrap_or(1);
    let shown = line_text(path, line)
        .map(|text| format!(", in {text}"))
        .unwrap_or_default();
    Error::Input {
        path: path.to_path_buf(),
        message: format!(
            "line {line} (byte offset {first_bad}): not UTF-8 text{shown}, though the file {} \
             UTF-8 ({} of its characters outside ASCII are): it is damaged, or mixes two \
             encodings, so no one --encoding reads it right ({}); nothing was read or sent. Fix \
             the bytes: retype the character at line {line} (and any other written \\xNN), or \
             save the file again as UTF-8 (in Excel: CSV UTF-8)",
            if marked { "says it is" } else { "is otherwise" },
            valid_non_ascii,
            match invalid {
                1 => "this is its one byte that is not UTF-8".to_string(),
                n => format!("{n} bytes or sequences are not UTF-8, this is the first"),
            }
        ),
    }
}

/// Line `number` of the file at `path`, as UTF-8 with each byte that is not written `\xNN`,
/// quoted and cut to 120 characters; `None` when it cannot be read.
fn line_text(path: &Path, number: u64) -> Option<String> {
    let mut lines = LineReader::open(path).ok()?;
    let mut at = 0;
    while let Some((_, bytes)) = lines.next_line().ok()? {
        at += 1;
        if at < number {
            continue;
        }
        let mut text = String::new();
        for chunk in bytes.utf8_chunks() {
            text.push_str(chunk.valid());
            for b in chunk.invalid() {
                text.push_str(&format!("\\x{b:02X}"));
            }
        }
        let cut: String = text.chars().take(120).collect();
        let more = if cut.len() < text.len() { "..." } else { "" };
        return Some(format!("{}{more}", quoted(&cut).replace("\\\\x", "\\x")));
    }
    None
}
