//! A CSV file in UTF-16 without a byte-order mark, told by its zero bytes: every ASCII
//! character (separators and line ends at least) has one, at odd offsets in UTF-16LE and at
//! even ones in BE, and no text in another encoding holds zero bytes.

use std::fs::File;
use std::path::Path;

use encoding_rs::Encoding;

use super::Dialect;
use super::encoding::{CHUNK, Settled, is_unreadable};
use super::snapshot::read_full;
use crate::Error;

/// A file without a byte-order mark whose bytes look like UTF-16 (the zero bytes of ASCII
/// characters: separators and line ends at least, mostly at odd offsets or mostly at even
/// ones, as CJK characters such as U+4E00 have zero bytes of their own): read as UTF-16LE or
/// BE when that reads it whole, else refused, saying so. No text in another encoding holds
/// zero bytes.
pub(super) fn without_bom(
    path: &Path,
    file: &mut File,
    dialect: &Dialect,
) -> Result<Option<Settled>, Error> {
    use std::io::Seek;
    let io = |e| Error::io(path, e);
    let mut head = vec![0u8; 64 << 10];
    file.rewind().map_err(io)?;
    let n = read_full(file, &mut head).map_err(io)?;
    if let Some(name) = utf32_without_bom(&head[..n & !3]) {
        return Err(super::encoding_refusals::utf32(path, name, false));
    }
    let head = &head[..n & !1];
    let (mut even, mut odd) = (0usize, 0usize);
    for pair in head.chunks_exact(2) {
        even += usize::from(pair[0] == 0);
        odd += usize::from(pair[1] == 0);
    }
    let pairs = head.len() / 2;
    let encoding = match (even, odd) {
        (e, o) if o >= 2 && o * 32 >= pairs && e * 2 <= o => encoding_rs::UTF_16LE,
        (e, o) if e >= 2 && e * 32 >= pairs && o * 2 <= e => encoding_rs::UTF_16BE,
        _ => return Ok(None),
    };
    let name = encoding.name();
    if let Some((line, offset, what)) = first_unreadable(path, encoding)? {
        return Err(Error::Input {
            path: path.to_path_buf(),
            message: format!(
                "line {line} (byte offset {offset}): the file looks like {name} text without a \
                 byte-order mark (every other byte is zero), but {name} reads {what} here; \
                 nothing was read or sent. Save the file as UTF-8 (in Excel: CSV UTF-8), or \
                 name its encoding with --encoding"
            ),
        });
    }
    Ok(Some(Settled {
        line_feeds: None,
        dialect: Dialect {
            encoding: Some(encoding),
            ..dialect.clone()
        },
        note: Some(format!(
            "read as {name} (no byte-order mark; detected from its zero bytes; if that is \
             wrong, name the encoding with --encoding)"
        )),
    }))
}

/// The first place where the file at `path`, read as UTF-16 in `encoding`, holds something
/// no text holds (as the encoding module's check for other encodings): its line, byte offset, and what is read there.
fn first_unreadable(
    path: &Path,
    encoding: &'static Encoding,
) -> Result<Option<(u64, u64, String)>, Error> {
    let io = |e| Error::io(path, e);
    let mut file = File::open(path).map_err(io)?;
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let mut buf = vec![0u8; CHUNK];
    let mut text = String::with_capacity(CHUNK * 2);
    let (mut line, mut offset, mut after_cr) = (1u64, 0u64, false);
    loop {
        let n = read_full(&mut file, &mut buf).map_err(io)?;
        let last = n < buf.len();
        let mut input = &buf[..n];
        loop {
            text.clear();
            let (result, read) =
                decoder.decode_to_string_without_replacement(input, &mut text, last);
            for c in text.chars() {
                if is_unreadable(c) {
                    return Ok(Some((
                        line,
                        offset,
                        format!("the character U+{:04X}", c as u32),
                    )));
                }
                match c {
                    '\n' if after_cr => after_cr = false,
                    '\n' => line += 1,
                    '\r' => (line, after_cr) = (line + 1, true),
                    _ => after_cr = false,
                }
                offset += 2 * c.len_utf16() as u64;
            }
            input = &input[read..];
            match result {
                encoding_rs::DecoderResult::InputEmpty => break,
                encoding_rs::DecoderResult::OutputFull => text.reserve(CHUNK * 2),
                encoding_rs::DecoderResult::Malformed(_, _) => {
                    return Ok(Some((
                        line,
                        offset,
                        "a byte pair that is no character".into(),
                    )));
                }
            }
        }
        if last {
            return Ok(None);
        }
    }
}

/// UTF-32 without a byte-order mark, told from `head` (whole 4-byte units): nearly every unit
/// has its three high bytes zero, on one side (text below U+0100 in either byte order).
fn utf32_without_bom(head: &[u8]) -> Option<&'static str> {
    let units = head.len() / 4;
    let (mut le, mut be) = (0usize, 0usize);
    for unit in head.chunks_exact(4) {
        le += usize::from(unit[1] == 0 && unit[2] == 0 && unit[3] == 0 && unit[0] != 0);
        be += usize::from(unit[0] == 0 && unit[1] == 0 && unit[2] == 0 && unit[3] != 0);
    }
    match (le, be) {
        (le, _) if units >= 2 && le * 10 >= units * 9 => Some("UTF-32LE"),
        (_, be) if units >= 2 && be * 10 >= units * 9 => Some("UTF-32BE"),
        _ => None,
    }
}
