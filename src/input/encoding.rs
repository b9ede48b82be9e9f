//! Which encoding a CSV file is read in, settled once before its first row is read: UTF-8
//! (with or without a byte-order mark) and UTF-16 (with a byte-order mark, or told by its
//! zero bytes: `input::utf16`) are recognised first; a file that is not UTF-8 is given to a
//! detector (chardetng), whose guess is decoded whole when it is a multi-byte encoding, and
//! otherwise weighed with the other single-byte encodings that read the file
//! (`input::readings`): the one reading left is taken, and readings that disagree refuse the
//! file, showing how each reads it. So a file is read in one encoding from its first row to
//! its last, never half imported, and never in a guess others would read otherwise.
//!
//! The rule for a file that is UTF-8 but for a few bytes: when its bytes outside ASCII form
//! valid UTF-8 at least as often as they do not, it is a UTF-8 file that was damaged (or two
//! files pasted together), and reading it in a legacy encoding would turn every correct
//! accented letter into two wrong ones; it is refused at its first bad byte. A legacy file's
//! accented letters are almost never valid UTF-8 (`é` alone is the byte E9, which UTF-8 needs
//! two continuation bytes after), so such a file is detected, not refused. The refusal of a
//! damaged file names its bad bytes to fix, never an encoding (`input::encoding_refusals`).

use std::fs::File;
use std::io::{Read, Seek};
use std::path::Path;

use encoding_rs::Encoding;

use super::Dialect;
use super::encoding_refusals as refusals;
use super::readings::{self, Verdict};
use super::snapshot::read_full;
use crate::Error;

/// How much of a file the detector reads: enough text for any encoding's statistics, and a
/// bound on the time a huge file takes.
const DETECTOR_PREFIX: u64 = 16 << 20;

/// The chunk in which files are read.
pub(super) const CHUNK: usize = 1 << 20;

/// What [`settle`] found: the dialect to read the file in, and what to tell the user.
#[derive(Debug, Clone)]
pub struct Settled {
    /// The dialect every read of the file uses: its encoding fixed when it was detected.
    pub dialect: Dialect,
    /// A line for stderr and the log saying how the file is read, when that is not plain
    /// UTF-8 (a detected or marked encoding, a sheet of a workbook); `None` for UTF-8.
    pub note: Option<String>,
    /// The file's LF bytes, when the whole file was read to settle its encoding (UTF-8): what
    /// sizes the plan, counted in the same read.
    pub line_feeds: Option<usize>,
}

/// The encoding of the CSV file at `path`, open as `file`, as `dialect` names it or as found.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Input`] when it is not UTF-8 and its
/// encoding cannot be told for sure, naming the first line (and byte offset) that cannot be
/// read and the `--encoding` flag.
pub(crate) fn settle(path: &Path, file: &mut File, dialect: &Dialect) -> Result<Settled, Error> {
    let unchanged = |note: Option<String>| Settled {
        dialect: dialect.clone(),
        note,
        line_feeds: None,
    };
    if dialect.encoding.is_some() {
        return Ok(unchanged(None));
    }
    let io = |e| Error::io(path, e);
    let mut head = [0u8; 4];
    file.rewind().map_err(io)?;
    let head_len = read_full(file, &mut head).map_err(io)?;
    let bom = match &head[..head_len] {
        [0xFF, 0xFE, 0, 0] => return Err(refusals::utf32(path, "UTF-32LE", true)),
        [0, 0, 0xFE, 0xFF] => return Err(refusals::utf32(path, "UTF-32BE", true)),
        [0xFF, 0xFE, ..] => {
            return Ok(unchanged(Some("read as UTF-16LE (byte-order mark)".into())));
        }
        [0xFE, 0xFF, ..] => {
            return Ok(unchanged(Some("read as UTF-16BE (byte-order mark)".into())));
        }
        [0xEF, 0xBB, 0xBF, ..] => 3,
        _ => 0,
    };
    if bom == 0
        && let Some(settled) = super::utf16::without_bom(path, file, dialect)?
    {
        return Ok(settled);
    }
    let scan = scan_utf8(path, file, bom)?;
    let Some(first_bad) = scan.first_invalid else {
        return Ok(Settled {
            line_feeds: Some(scan.line_feeds),
            ..unchanged(None)
        });
    };
    if bom == 3 || scan.valid_non_ascii >= scan.invalid {
        return Err(refusals::damaged_utf8(
            path,
            first_bad,
            (scan.valid_non_ascii, scan.invalid),
            bom == 3,
        ));
    }
    detect(path, dialect, first_bad)
}

/// The encoding of a file that is not UTF-8 (`first_bad` its first byte that is not), if one
/// reads it as text for sure.
fn detect(path: &Path, dialect: &Dialect, first_bad: u64) -> Result<Settled, Error> {
    let (guess, confident) = guess(path)?;
    let name = guess.name();
    if !guess.is_single_byte() {
        // A multi-byte encoding (Shift_JIS, GBK, ...) that reads every byte of the file: text
        // in another one seldom forms its byte sequences.
        if let Some((offset, what)) = first_unreadable(path, guess)? {
            return Err(unreadable_at(
                path,
                offset,
                format!(
                    "not UTF-8 text, and not {name} either, the encoding it looks most like \
                     ({name} reads {what} here)"
                ),
            ));
        }
        return Ok(detected(dialect, guess));
    }
    let survey = readings::Survey::of(path)?;
    match readings::decide(&survey, guess, confident) {
        Verdict::One(encoding) => Ok(detected(dialect, encoding)),
        Verdict::Ambiguous(readings, place, line) => {
            Err(refusals::ambiguous(path, &readings, place, &line))
        }
        Verdict::Unreadable => {
            let reading = readings::Reading::new(guess);
            let offset = match reading.fails(&survey) {
                Some(place) => place.offset,
                None => first_bad,
            };
            let at = refusals::read_byte(path, offset).unwrap_or(0);
            Err(unreadable_at(
                path,
                offset,
                format!(
                    "not UTF-8 text, and no encoding reads it as text for sure: {name}, the \
                     one it looks most like, reads the byte {at:02X} here as {}",
                    refusals::describe(reading.read(&[at]).as_str())
                ),
            ))
        }
    }
}

/// `dialect` with `encoding`, detected, and the line saying so.
fn detected(dialect: &Dialect, encoding: &'static Encoding) -> Settled {
    Settled {
        dialect: Dialect {
            encoding: Some(encoding),
            ..dialect.clone()
        },
        line_feeds: None,
        note: Some(format!(
            "not UTF-8: read as {} (detected; if that is wrong, name the encoding with \
             --encoding)",
            encoding.name()
        )),
    }
}

/// The refusal of a file no encoding reads for sure, at byte `offset` (and its line), for
/// the reason `why`.
fn unreadable_at(path: &Path, offset: u64, why: String) -> Error {
    let line = line_of(path, offset).unwrap_or(1);
    Error::Input {
        path: path.to_path_buf(),
        message: format!(
            "line {line} (byte offset {offset}): {why}; nothing was read or sent. Save the \
             file as UTF-8 (in Excel: CSV UTF-8), or name its encoding with --encoding"
        ),
    }
}

/// What a pass over a file as UTF-8 found.
#[derive(Debug, Default)]
struct Utf8Scan {
    /// The byte offset of the first byte that is not UTF-8.
    first_invalid: Option<u64>,
    /// How many sequences are not UTF-8.
    invalid: u64,
    /// How many characters outside ASCII are valid UTF-8.
    valid_non_ascii: u64,
    /// How many LF bytes the file holds.
    line_feeds: usize,
}

/// Reads the file at `path`, open as `file`, from byte `skip` on, as UTF-8.
fn scan_utf8(path: &Path, file: &mut File, skip: usize) -> Result<Utf8Scan, Error> {
    let io = |e| Error::io(path, e);
    file.rewind().map_err(io)?;
    let mut buf = vec![0u8; CHUNK];
    let mut scan = Utf8Scan::default();
    // Bytes of a character cut by the chunk's end, carried to the next chunk.
    let mut carried = 0usize;
    let mut offset = 0u64; // of buf[0] in the file
    let mut skip = skip;
    loop {
        let n = read_full(file, &mut buf[carried..]).map_err(io)?;
        let end = carried + n;
        scan.line_feeds += memchr::memchr_iter(b'\n', &buf[carried..end]).count();
        let last = n == 0 || end < buf.len();
        let mut at = skip.min(end);
        skip -= at;
        while at < end {
            match std::str::from_utf8(&buf[at..end]) {
                Ok(text) => {
                    scan.valid_non_ascii += count_non_ascii(text);
                    at = end;
                }
                Err(e) => {
                    let valid = &buf[at..at + e.valid_up_to()];
                    // Safe to count as text: `valid_up_to` says it is.
                    scan.valid_non_ascii +=
                        count_non_ascii(std::str::from_utf8(valid).unwrap_or_default());
                    at += e.valid_up_to();
                    match e.error_len() {
                        Some(bad) => {
                            scan.first_invalid.get_or_insert(offset + at as u64);
                            scan.invalid += 1;
                            at += bad;
                        }
                        None if !last => break,
                        None => {
                            scan.first_invalid.get_or_insert(offset + at as u64);
                            scan.invalid += 1;
                            at = end;
                        }
                    }
                }
            }
        }
        if last && at >= end {
            return Ok(scan);
        }
        buf.copy_within(at..end, 0);
        carried = end - at;
        offset += at as u64;
    }
}

/// How many characters of `text` are outside ASCII.
fn count_non_ascii(text: &str) -> u64 {
    if text.is_ascii() {
        return 0;
    }
    text.chars().filter(|c| !c.is_ascii()).count() as u64
}

/// The detector's guess for the file at `path` (from its first [`DETECTOR_PREFIX`] bytes),
/// and whether it scored above another candidate.
fn guess(path: &Path) -> Result<(&'static Encoding, bool), Error> {
    let io = |e| Error::io(path, e);
    let mut file = File::open(path).map_err(io)?.take(DETECTOR_PREFIX);
    let mut detector = chardetng::EncodingDetector::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        detector.feed(&buf[..n], n == 0);
        if n == 0 {
            break;
        }
    }
    Ok(detector.guess_assess(None, false))
}

/// The first place where the file at `path`, read in `encoding`, holds something no text
/// holds: a byte sequence the encoding does not define, a control character (other than tab
/// and line ends), or a private-use character. Its byte offset and what it reads there.
fn first_unreadable(
    path: &Path,
    encoding: &'static Encoding,
) -> Result<Option<(u64, String)>, Error> {
    let mut lines = LineReader::open(path)?;
    let mut text = String::new();
    while let Some((offset, line)) = lines.next_line()? {
        let mut decoder = encoding.new_decoder_without_bom_handling();
        text.clear();
        text.reserve(
            decoder
                .max_utf8_buffer_length_without_replacement(line.len())
                .unwrap_or(line.len() * 3 + 16),
        );
        let (result, read) = decoder.decode_to_string_without_replacement(line, &mut text, true);
        if let encoding_rs::DecoderResult::Malformed(bad, after) = result {
            let at = read - usize::from(bad) - usize::from(after);
            return Ok(Some((
                offset + at as u64,
                format!(
                    "{:02X?}, a byte sequence it does not define",
                    &line[at..at + usize::from(bad)]
                ),
            )));
        }
        if let Some((at, c)) = text.char_indices().find(|(_, c)| is_unreadable(*c)) {
            // The bytes before it, encoded back: every encoding the detector names round-trips.
            let before = encoding.encode(&text[..at]).0.len();
            return Ok(Some((
                offset + before as u64,
                format!("the control or private-use character U+{:04X}", c as u32),
            )));
        }
    }
    Ok(None)
}

/// Whether `c` has no place in a customer file: a control character other than tab and line
/// ends, or a private-use character (where decoders put bytes they have no character for).
pub(super) fn is_unreadable(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        || matches!(c, '\u{E000}'..='\u{F8FF}' | '\u{FFFD}')
}

/// Reads a file line by line as bytes, each line with the byte offset where it starts; a
/// line ends at LF, CR or CRLF, as [`super::rows`] counts lines. Right for every encoding the
/// detector names: in all of them, the bytes of LF and CR are never part of a character.
pub(super) struct LineReader {
    /// The file, for messages.
    path: std::path::PathBuf,
    /// The file.
    file: File,
    /// Bytes read; those before `pos` were handed out.
    buf: Vec<u8>,
    /// The first byte of `buf` not handed out yet.
    pos: usize,
    /// Where `buf[0]` is in the file.
    offset: u64,
    /// The file's end was reached.
    done: bool,
}

impl LineReader {
    pub(super) fn open(path: &Path) -> Result<LineReader, Error> {
        Ok(LineReader {
            path: path.to_path_buf(),
            file: File::open(path).map_err(|e| Error::io(path, e))?,
            buf: Vec::new(),
            pos: 0,
            offset: 0,
            done: false,
        })
    }

    /// The next line (without its end) and its offset; `None` at the file's end.
    pub(super) fn next_line(&mut self) -> Result<Option<(u64, &[u8])>, Error> {
        loop {
            let rest = &self.buf[self.pos..];
            let found = rest.iter().position(|b| matches!(b, b'\n' | b'\r'));
            let (end, next) = match found {
                Some(end) if rest[end] == b'\r' && end + 1 == rest.len() && !self.done => {
                    // A CR at the chunk's end: an LF may follow it.
                    self.fill()?;
                    continue;
                }
                Some(end) => (end, end + 1 + usize::from(rest[end..].starts_with(b"\r\n"))),
                None if self.done && rest.is_empty() => return Ok(None),
                None if self.done => (rest.len(), rest.len()),
                None => {
                    self.fill()?;
                    continue;
                }
            };
            let start = self.pos;
            self.pos += next;
            return Ok(Some((
                self.offset + start as u64,
                &self.buf[start..start + end],
            )));
        }
    }

    /// Reads the next chunk, dropping the bytes handed out.
    fn fill(&mut self) -> Result<(), Error> {
        self.buf.drain(..self.pos);
        self.offset += self.pos as u64;
        self.pos = 0;
        let have = self.buf.len();
        self.buf.resize(have + CHUNK, 0);
        let n = read_full(&mut self.file, &mut self.buf[have..])
            .map_err(|e| Error::io(&self.path, e))?;
        self.buf.truncate(have + n);
        self.done = n < CHUNK;
        Ok(())
    }
}

/// The line of the file at `path` that holds byte `offset`.
pub(super) fn line_of(path: &Path, offset: u64) -> Result<u64, Error> {
    let mut lines = LineReader::open(path)?;
    let mut number = 0;
    while let Some((start, _)) = lines.next_line()? {
        if start > offset {
            break;
        }
        number += 1;
    }
    Ok(number.max(1))
}

#[cfg(test)]
mod tests;
