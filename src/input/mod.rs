//! Reading customer CSV files: the dialect (delimiter, encoding, byte-order mark), records
//! with the line where each starts, and (in [`mapping`] and [`checks`]) how a row becomes an
//! organization request; [`snapshot`]: the input pinned for the length of a run;
//! [`encoding`]: the encoding settled before the first row is read; [`workbook`]: a sheet of
//! a workbook read as a CSV file; [`batches`]: rows read on a thread of their own, a batch at a
//! time.

pub mod batches;
pub mod checks;
pub mod encoding;
mod encoding_refusals;
pub mod formulas;
pub mod mapping;
pub mod quote;
mod readings;
mod rows;
pub mod snapshot;
mod swallowed;
pub mod untemplated;
mod utf16;
pub mod workbook;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use csv::StringRecord;
use encoding_rs::Encoding;
use encoding_rs_io::DecodeReaderBytesBuilder;

pub use encoding::Settled;
pub use mapping::{Keys, Mapping, MappingFile, MappingSpec, Problem, ProblemKind};
pub use rows::{RawRow, Rows, lay_out, rows, trim_fields};
pub use snapshot::InputSnapshot;
pub use untemplated::{RowTemplates, Untemplated};

use crate::Error;

/// A CSV reader over a file, decoded to UTF-8.
pub type CsvReader = csv::Reader<Box<dyn Read + Send>>;

/// How a CSV file is written.
#[derive(Debug, Clone, Copy, Default)]
pub struct Dialect {
    /// The field separator; `None` finds it from the header line (`,`, `;`, tab or `|`).
    pub delimiter: Option<u8>,
    /// The file's encoding when it is not UTF-8; UTF-16 with a byte-order mark is recognised
    /// without it.
    pub encoding: Option<&'static Encoding>,
    /// The sheet of a workbook to read (`--sheet`); `None` reads the first. A name given once
    /// per command and kept for the process, so that the dialect stays `Copy`.
    pub sheet: Option<&'static str>,
}

impl Dialect {
    /// The dialect of the files this tool writes: UTF-8 with the delimiter of the input they
    /// came from, found again when read.
    pub const RESULTS: Dialect = Dialect {
        delimiter: None,
        encoding: None,
        sheet: None,
    };

    /// The dialect named by `--delimiter` and `--encoding` values.
    ///
    /// # Errors
    /// A message when the delimiter is not one byte or the encoding is unknown.
    pub fn parse(delimiter: Option<&str>, encoding: Option<&str>) -> Result<Dialect, String> {
        let delimiter = match delimiter {
            None => None,
            Some("tab" | "\\t" | "\t") => Some(b'\t'),
            Some(d) if d.len() == 1 && d.is_ascii() => Some(d.as_bytes()[0]),
            Some(d) => {
                return Err(format!(
                    "--delimiter {d:?} must be one character, like ',' ';' '|' or tab"
                ));
            }
        };
        let encoding = match encoding {
            None => None,
            Some(label) => Some(Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
                format!(
                    "--encoding {label:?} is not an encoding this tool knows \
                     (e.g. utf-8, windows-1252, iso-8859-1, utf-16le, shift_jis)"
                )
            })?),
        };
        Ok(Dialect {
            delimiter,
            encoding,
            sheet: None,
        })
    }

    /// This dialect reading the sheet `name` of a workbook (`--sheet`).
    pub fn with_sheet(self, name: Option<&str>) -> Dialect {
        Dialect {
            sheet: name.map(|n| &*Box::leak(n.to_owned().into_boxed_str())),
            ..self
        }
    }
}

/// How the file at `path` is read, settled before its first row is: a workbook's sheet (the
/// first unless the dialect names one), a CSV file's encoding (see [`encoding`]). Every read
/// of the file after this uses the returned dialect.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Input`] for a CSV file whose encoding
/// cannot be told for sure (naming its first bad line and `--encoding`), a workbook that
/// cannot be read or has no sheet of the name given (listing its sheets).
pub fn settle(path: &Path, dialect: &Dialect) -> Result<Settled, Error> {
    if workbook::is_workbook(path) {
        workbook::settle(path, dialect)
    } else {
        encoding::settle(path, dialect)
    }
}

/// The file's bytes as UTF-8 (transcoded from the dialect's encoding, or from UTF-16 when a
/// byte-order mark says so; otherwise passed through), without a byte-order mark.
pub(crate) fn open_decoded(path: &Path, dialect: &Dialect) -> Result<Box<dyn Read + Send>, Error> {
    if workbook::is_workbook(path) {
        let sheet = workbook::sheet(path, dialect)?;
        return Ok(Box::new(std::io::Cursor::new(sheet.csv.clone())));
    }
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    // A file of no encoding named, the common case, is read as it is (no decoder and no
    // buffer of its own in between: a million-row file is copied twice less per pass), past
    // a UTF-8 BOM; one named UTF-8 goes through the decoder, which reads a bad byte as U+FFFD.
    if dialect.encoding.is_none() {
        use std::io::{Seek, SeekFrom};
        let mut head = [0u8; 3];
        let read = read_up_to(&mut file, &mut head).map_err(|e| Error::io(path, e))?;
        let head = &head[..read];
        if !(head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF])) {
            let start = if head == [0xEF, 0xBB, 0xBF] { 3 } else { 0 };
            file.seek(SeekFrom::Start(start))
                .map_err(|e| Error::io(path, e))?;
            return Ok(Box::new(file));
        }
        file.rewind().map_err(|e| Error::io(path, e))?;
    }
    let decoder = DecodeReaderBytesBuilder::new()
        .encoding(dialect.encoding)
        .bom_sniffing(true)
        .strip_bom(true)
        .utf8_passthru(true)
        .build(file);
    Ok(Box::new(BufReader::with_capacity(256 * 1024, decoder)))
}

/// Reads into `buf` until it is full or the file ends; how many bytes were read.
fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut read = 0;
    while read < buf.len() {
        match file.read(&mut buf[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(read)
}

/// The separator the header line uses most, outside quotes; `,` when it has none.
fn sniff_delimiter(path: &Path, dialect: &Dialect) -> Result<u8, Error> {
    let mut head = Vec::with_capacity(64 * 1024);
    open_decoded(path, dialect)?
        .take(64 * 1024)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(path, e))?;
    let mut counts = [0usize; 4];
    const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];
    let mut quoted = false;
    for &b in &head {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            _ if !quoted => {
                if let Some(i) = CANDIDATES.iter().position(|c| *c == b) {
                    counts[i] += 1;
                }
            }
            _ => {}
        }
    }
    let best = (0..4)
        .max_by_key(|i| (counts[*i], std::cmp::Reverse(*i)))
        .unwrap_or(0);
    Ok(if counts[best] == 0 {
        b','
    } else {
        CANDIDATES[best]
    })
}

/// The delimiter `path` is read with: the dialect's, or the one its header line uses.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read.
pub fn delimiter_of(path: &Path, dialect: &Dialect) -> Result<u8, Error> {
    match dialect.delimiter {
        Some(d) => Ok(d),
        None if workbook::is_workbook(path) => Ok(b','),
        None => sniff_delimiter(path, dialect),
    }
}

/// Opens `path` as CSV in `dialect`: a header row, `"` quoting, fields trimmed, a byte-order
/// mark skipped, rows of any length (checked by [`rows`]). The header is trimmed here; each
/// record by whoever reads it ([`rows`], [`trim_fields`]), and only when it needs it: csv's own
/// trim copies every record into a new one.
///
/// # Errors
/// [`Error::Io`] when the file cannot be opened.
pub fn reader(path: &Path, dialect: &Dialect) -> Result<CsvReader, Error> {
    let delimiter = delimiter_of(path, dialect)?;
    Ok(csv::ReaderBuilder::new()
        .buffer_capacity(256 * 1024)
        .flexible(true)
        .trim(csv::Trim::Headers)
        .delimiter(delimiter)
        .from_reader(open_decoded(path, dialect)?))
}

/// A CSV writer separating fields with `delimiter`.
pub fn writer<W: std::io::Write>(w: W, delimiter: u8) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .flexible(true)
        .delimiter(delimiter)
        .from_writer(w)
}

/// The mapping of the file at `path`: its header read in `dialect`, its columns found as
/// `spec` says.
///
/// # Errors
/// [`Error::Io`] or [`Error::Input`] when the header cannot be read, [`Error::Input`] naming
/// the header's line when the mapping does not fit it.
pub fn mapping_for(path: &Path, dialect: &Dialect, spec: &MappingSpec) -> Result<Mapping, Error> {
    let mut reader = reader(path, dialect)?;
    let (headers, line) = headers_of(path, Some(dialect), &mut reader)?;
    Mapping::new(&headers, spec).map_err(|message| Error::Input {
        path: path.to_path_buf(),
        message: format!("line {line} (header): {message}"),
    })
}

/// Reads the header row of `reader` as text.
///
/// # Errors
/// [`Error::Input`] when the file is empty, its header names no column or is not UTF-8.
pub fn read_headers(path: &Path, reader: &mut CsvReader) -> Result<StringRecord, Error> {
    headers_of(path, None, reader).map(|(headers, _)| headers)
}

/// As [`read_headers`], for a file read in `dialect`: its errors name the header's line
/// when blank lines come before it.
///
/// # Errors
/// As [`read_headers`].
pub fn read_headers_in(
    path: &Path,
    dialect: &Dialect,
    reader: &mut CsvReader,
) -> Result<StringRecord, Error> {
    headers_of(path, Some(dialect), reader).map(|(headers, _)| headers)
}

/// The header row of `reader` and its line (counted when the dialect is known, else 1).
fn headers_of(
    path: &Path,
    dialect: Option<&Dialect>,
    reader: &mut CsvReader,
) -> Result<(StringRecord, u64), Error> {
    let input_err = |message: String| Error::Input {
        path: path.to_path_buf(),
        message,
    };
    let headers = reader
        .byte_headers()
        .map_err(|e| input_err(format!("line 1 (header): {e}")))?
        .clone();
    if headers.is_empty() {
        return Err(input_err("the file is empty: it needs a header row".into()));
    }
    let line = match (dialect, headers.position()) {
        (Some(dialect), _) if workbook::is_workbook(path) => {
            workbook::sheet(path, dialect).map_or(1, |sheet| sheet.header_row)
        }
        (Some(dialect), Some(position)) => rows::line_at(path, dialect, position.byte()),
        _ => 1,
    };
    if headers.iter().all(|h| h.is_empty()) {
        return Err(input_err(format!(
            "line {line} (header): the header names no column; the file's first line that is \
             not blank must name its columns, e.g. name,id,email"
        )));
    }
    let headers = StringRecord::from_byte_record(headers).map_err(|_| {
        input_err(format!(
            "line {line} (header): not UTF-8 text; save the file as UTF-8 (in Excel: CSV \
             UTF-8), or name its encoding with --encoding"
        ))
    })?;
    Ok((headers, line))
}

/// How many rows a file of this size may hold, for sizing the plan: its line count when it
/// is large enough to matter (a row may span lines, so this errs on the high side), else 0.
pub fn expected_rows(path: &Path) -> usize {
    use std::io::Read;
    const WORTH_COUNTING: u64 = 4 << 20;
    let Ok(mut file) = std::fs::File::open(path) else {
        return 0;
    };
    if file.metadata().map_or(0, |m| m.len()) < WORTH_COUNTING {
        return 0;
    }
    let mut buf = vec![0u8; 1 << 20];
    let mut lines = 0usize;
    while let Ok(n @ 1..) = file.read(&mut buf) {
        lines += memchr::memchr_iter(b'\n', &buf[..n]).count();
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows of `content` read in `dialect`.
    fn read(content: &[u8], dialect: Dialect) -> (Vec<String>, Vec<RawRow>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        std::fs::write(&path, content).unwrap();
        let mut r = reader(&path, &dialect).unwrap();
        let headers = read_headers(&path, &mut r).unwrap();
        let width = headers.len();
        let rows = rows(&path, &dialect, r, width)
            .map(Result::unwrap)
            .collect();
        (headers.iter().map(str::to_string).collect(), rows)
    }

    #[test]
    fn a_file_said_to_be_utf_8_reads_a_bad_byte_as_a_replacement_character() {
        let content = b"name,note\nCaf\xe9,x\nbeta,y\n";
        let utf8 = Dialect {
            encoding: Some(encoding_rs::UTF_8),
            ..Dialect::default()
        };
        let (_, rows) = read(content, utf8);
        assert_eq!(&rows[0].record[0], "Caf\u{fffd}");
        assert!(rows.iter().all(|row| row.problem.is_none()));
        // Named no encoding, the byte is kept, and the row says it is not UTF-8.
        let (_, rows) = read(content, Dialect::default());
        assert!(rows[0].problem.as_deref().unwrap().contains("not UTF-8"));
    }

    #[test]
    fn the_delimiter_is_found_from_the_header() {
        for (content, expected) in [
            (&b"name;domains\nacme;a.com,b.com\n"[..], "a.com,b.com"),
            (b"name\tdomains\nacme\ta.com;b.com\n", "a.com;b.com"),
            (b"\"name;x\",domains\nacme,a.com;b.com\n", "a.com;b.com"),
            (b"name|domains\nacme|a.com\n", "a.com"),
        ] {
            let (headers, rows) = read(content, Dialect::default());
            assert_eq!(headers.len(), 2, "{headers:?}");
            assert_eq!(&rows[0].record[1], expected);
        }
        let (headers, _) = read(b"a;b,c\n1;2,3\n", Dialect::parse(Some(","), None).unwrap());
        assert_eq!(headers, ["a;b", "c"]);
    }

    #[test]
    fn header_errors_name_the_headers_line_after_blank_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        let error = |content: &[u8]| {
            std::fs::write(&path, content).unwrap();
            mapping_for(&path, &Dialect::default(), &MappingSpec::default())
                .map(|_| ())
                .unwrap_err()
                .to_string()
        };
        let e = error(b"\r\n\n\rAccount\nacme\n");
        assert!(
            e.contains("line 4 (header): there is no `name` column"),
            "{e}"
        );
        let e = error(b"\n\n,,\nacme\n");
        assert!(
            e.contains("line 3 (header): the header names no column"),
            "{e}"
        );
        let e = error(b"\nna\xffme\nacme\n");
        assert!(e.contains("line 2 (header): not UTF-8 text"), "{e}");
        let e = error(b"\r\n\n");
        assert!(e.contains("the file is empty"), "{e}");
    }

    #[test]
    fn other_encodings_are_decoded_when_named_or_marked() {
        let dialect = Dialect::parse(None, Some("windows-1252")).unwrap();
        let (_, rows) = read(b"name\nM\xfcller\n", dialect);
        assert_eq!(&rows[0].record[0], "Müller");
        assert!(rows[0].problem.is_none());
        // Excel's "Unicode text": UTF-16LE with a byte-order mark, tab-separated.
        let text: Vec<u8> = "\u{feff}name\tid\r\nSão Paulo\tx\r\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let (headers, rows) = read(&text, Dialect::default());
        assert_eq!(headers, ["name", "id"]);
        assert_eq!((&rows[0].record[0], rows[0].line), ("São Paulo", 2));
        assert!(Dialect::parse(None, Some("klingon")).is_err());
        assert!(Dialect::parse(Some(";;"), None).is_err());
    }
}
