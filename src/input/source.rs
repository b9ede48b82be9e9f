//! The input as one value, settled once per command ([`Source::settle`]): whether it is a CSV
//! file or a workbook's sheet, its encoding, delimiter, header (its row, names and line) and
//! how its rows are numbered. Every reader of the input comes from it, so no later read
//! finds any of this out again.
//!
//! The passes over the input, by command (each a new read from the start; a workbook is
//! parsed once, by `settle`, and its sheet kept as CSV text in an unnamed temporary file, so
//! its later passes read that text, not the workbook):
//! - `settle`: one open of the file, for its format (its first bytes); a CSV file's encoding
//!   (a whole read, unless a byte-order mark says UTF-16: UTF-8 is told from other encodings
//!   before a row is read, so a file is never half imported), then its delimiter and header
//!   (read from its start again) and, for a file of 4 MB or more, its line count, to size the
//!   plan (counted in the read for its encoding; a third read, of bytes only, when its
//!   encoding was named or is not UTF-8); a workbook is read once, and its sheet turned into
//!   CSV text (an xlsx sheet from its XML, inflated on another thread; one the reader by hand
//!   leaves to calamine, such as one with a formula, then cell by cell through calamine).
//! - `validate`: `settle`, then the plan (every row checked).
//! - `import`: the run's copy taken (a read of the input, a write of the copy), `settle`
//!   and the plan on the copy (which keeps each valid row's request in a spill file: the
//!   waves read that, not the input), and the results file (every input row written beside
//!   its outcome, not held).
//! - the dry run: `settle`, the plan, and the rows shown (stopping after the first few).
//! - `plan`: `settle`, the plan with each row's request, and the plan file.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use csv::StringRecord;
use encoding_rs::Encoding;
use encoding_rs_io::DecodeReaderBytesBuilder;

use super::lines::{Decoded, skip_lines};
use super::workbook::{self, Sheet};
use super::{CsvReader, Dialect, Mapping, MappingSpec, Rows};
use crate::Error;

/// How the input is read, settled once: every reader of it comes from here.
#[derive(Debug, Clone)]
pub struct Source {
    /// The file read (for an import, the run's copy).
    path: PathBuf,
    /// CSV text in an encoding, or a workbook's sheet.
    format: Format,
    /// The field separator.
    delimiter: u8,
    /// Lines above the header row named by `--header-row`, skipped by every read.
    titles: u64,
    /// The header's names, trimmed.
    headers: StringRecord,
    /// The header's line, or its sheet row.
    header_line: u64,
    /// How many rows the file may hold, to size the plan (0 for a small file).
    expected_rows: usize,
    /// How rows are named in messages.
    numbering: Numbering,
    /// What to tell the user about how the file is read, if anything.
    note: Option<String>,
}

/// What the input is.
#[derive(Debug, Clone)]
enum Format {
    /// A CSV file, in this encoding (`None`: UTF-8, or UTF-16 its byte-order mark names).
    Csv { encoding: Option<&'static Encoding> },
    /// A workbook's sheet, as CSV text.
    Sheet(Arc<Sheet>),
}

/// How messages name the row at a number: a CSV file's line, or a sheet's row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Numbering {
    /// Lines of a text file.
    #[default]
    Lines,
    /// Rows of the sheet of this name.
    SheetRows(String),
}

impl Numbering {
    /// Where row `n` is, first in a message: `line 12`, or `sheet "Customers", row 12`.
    pub fn at(&self, n: u64) -> String {
        match self {
            Numbering::Lines => format!("line {n}"),
            Numbering::SheetRows(sheet) => format!("sheet {sheet:?}, row {n}"),
        }
    }

    /// Row `n` of `file` at the head of a message about that row, as every row message
    /// starts (`validate`'s problems, an import's invalid, failed and unconfirmed rows, the
    /// dry run's, `undo`'s failed deletes): `c.csv:12`, or `book.xlsx: sheet "S", row 12`.
    pub fn place(&self, file: &Path, n: u64) -> String {
        match self {
            Numbering::Lines => format!("{}:{n}", file.display()),
            Numbering::SheetRows(_) => format!("{}: {}", file.display(), self.at(n)),
        }
    }

    /// Row `n` named within a message about the same file: `line 12`, or `row 12`.
    pub fn short(&self, n: u64) -> String {
        match self {
            Numbering::Lines => format!("line {n}"),
            Numbering::SheetRows(_) => format!("row {n}"),
        }
    }
}

/// How large a file must be for its lines to be counted, to size the plan.
const WORTH_COUNTING: u64 = 4 << 20;

/// How much of a file's start the delimiter is found in.
const HEAD: u64 = 64 * 1024;

impl Source {
    /// How the file at `path` is read, settled before its first row is: a workbook's sheet
    /// (the first visible one unless `dialect` names one), or a CSV file's encoding (see
    /// [`super::encoding`]) and delimiter; then its header, read once.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; [`Error::Input`] for a CSV file whose
    /// encoding cannot be told for sure (naming its first bad line and `--encoding`), a
    /// workbook that cannot be read or has no sheet of the name given (listing its sheets), or
    /// a header that cannot be read (an empty file, no column named, not UTF-8).
    pub fn settle(path: &Path, dialect: &Dialect) -> Result<Source, Error> {
        let io = |e| Error::io(path, e);
        let mut file = File::open(path).map_err(io)?;
        let mut head = [0u8; 4];
        let read = super::snapshot::read_full(&mut file, &mut head).map_err(io)?;
        if workbook::is_workbook(&head[..read]) {
            let (sheet, note) = workbook::read(path, &file, &head[..read], dialect)?;
            drop(file);
            return Source::of_sheet(path, dialect, sheet, note);
        }
        let settled = super::encoding::settle(path, &mut file, dialect)?;
        let encoding = settled.dialect.encoding;
        Source::of_csv(
            path,
            file,
            dialect,
            encoding,
            settled.note,
            settled.line_feeds,
        )
    }

    /// A file orgimport wrote (a results file, its journal): UTF-8 with or without a
    /// byte-order mark, its delimiter found from its header.
    ///
    /// # Errors
    /// As [`Source::settle`].
    pub fn written(path: &Path) -> Result<Source, Error> {
        Source::as_csv(path, &Dialect::RESULTS)
    }

    /// The file at `path` read as CSV in `dialect` as it is: its encoding the one named (or
    /// UTF-8), not detected.
    ///
    /// # Errors
    /// As [`Source::settle`].
    pub fn as_csv(path: &Path, dialect: &Dialect) -> Result<Source, Error> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        Source::of_csv(path, file, dialect, dialect.encoding, None, None)
    }

    /// A CSV source over `file` (at `path`), in `encoding`; its lines counted to size the
    /// plan when it is large enough to matter, unless `line_feeds` gives them already (the
    /// read that settled its encoding counted them).
    fn of_csv(
        path: &Path,
        mut file: File,
        dialect: &Dialect,
        encoding: Option<&'static Encoding>,
        note: Option<String>,
        line_feeds: Option<usize>,
    ) -> Result<Source, Error> {
        let io = |e| Error::io(path, e);
        file.rewind().map_err(io)?;
        let len = file.metadata().map_or(0, |m| m.len());
        let worth_counting = len >= WORTH_COUNTING;
        // The same open file, to count lines once the header is read.
        let mut count_from = (worth_counting && line_feeds.is_none())
            .then(|| file.try_clone())
            .transpose()
            .map_err(io)?;
        let titles = dialect.header_row.map_or(0, |row| row.saturating_sub(1));
        let text = skip_lines(decode(path, file, encoding)?, titles).map_err(io)?;
        let mut head = Vec::with_capacity(HEAD as usize);
        let mut text = text;
        (&mut text).take(HEAD).read_to_end(&mut head).map_err(io)?;
        let delimiter = dialect.delimiter.unwrap_or_else(|| sniff_delimiter(&head));
        let text: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(head).chain(text));
        let mut reader = csv_reader(Decoded::new(text, true, titles + 1), delimiter);
        let mut source = Source {
            path: path.to_path_buf(),
            format: Format::Csv { encoding },
            delimiter,
            titles,
            headers: StringRecord::new(),
            header_line: titles + 1,
            expected_rows: 0,
            numbering: Numbering::Lines,
            note,
        };
        (source.headers, source.header_line) = source.header_of(&mut reader)?;
        drop(reader);
        if let Some(file) = &mut count_from {
            source.expected_rows = count_lines(file);
        } else if worth_counting {
            source.expected_rows = line_feeds.unwrap_or(0);
        }
        Ok(source)
    }

    /// A source over `sheet`, read from the workbook at `path`.
    fn of_sheet(
        path: &Path,
        dialect: &Dialect,
        sheet: Arc<Sheet>,
        note: String,
    ) -> Result<Source, Error> {
        let mut source = Source {
            path: path.to_path_buf(),
            delimiter: dialect.delimiter.unwrap_or(b','),
            titles: 0,
            headers: StringRecord::new(),
            header_line: sheet.header_row,
            expected_rows: sheet.rows.len(),
            numbering: Numbering::SheetRows(sheet.name.clone()),
            format: Format::Sheet(sheet),
            note: Some(note),
        };
        let mut reader = source.open(false)?;
        (source.headers, source.header_line) = source.header_of(&mut reader)?;
        // The header spans every column with a value in any row, as its rows do.
        if let Format::Sheet(sheet) = &source.format {
            for _ in source.headers.len()..sheet.width {
                source.headers.push_field("");
            }
        }
        Ok(source)
    }

    /// Prints how the file is read (if there is something to say) on stderr and in the log,
    /// naming it as `shown` (the input as the user named it, for a run's copy).
    pub fn announce(&self, shown: &Path) {
        if let Some(note) = &self.note {
            eprintln!("{}: {note}", shown.display());
            tracing::info!(input = %shown.display(), "{note}");
        }
    }

    /// What [`Source::announce`] says, if anything.
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// The file read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The field separator: the one the results file is written with too.
    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// The encoding a CSV file is read in, by its WHATWG name (`UTF-8` when none was named
    /// or detected: UTF-8, or UTF-16 its byte-order mark names); `None` for a workbook.
    pub fn encoding_name(&self) -> Option<&'static str> {
        match &self.format {
            Format::Csv { encoding } => Some(encoding.map_or("UTF-8", |e| e.name())),
            Format::Sheet(_) => None,
        }
    }

    /// The sheet read, for a workbook.
    pub fn sheet_name(&self) -> Option<&str> {
        match &self.format {
            Format::Csv { .. } => None,
            Format::Sheet(sheet) => Some(&sheet.name),
        }
    }

    /// The header's names, trimmed.
    pub fn headers(&self) -> &StringRecord {
        &self.headers
    }

    /// The header's line (or sheet row).
    pub fn header_line(&self) -> u64 {
        self.header_line
    }

    /// How messages name rows.
    pub fn numbering(&self) -> &Numbering {
        &self.numbering
    }

    /// How many rows the file may hold, for sizing the plan: its line count when it is large
    /// enough to matter (a row may span lines, so this errs on the high side), else 0.
    pub fn expected_rows(&self) -> usize {
        self.expected_rows
    }

    /// The mapping of this input: its header's columns found as `spec` says.
    ///
    /// # Errors
    /// [`Error::Input`] naming the header's line when the mapping does not fit it.
    pub fn mapping(&self, spec: &MappingSpec) -> Result<Mapping, Error> {
        Mapping::new(&self.headers, spec).map_err(|message| {
            let hint = if self.headers.iter().filter(|h| !h.is_empty()).count() <= 1 {
                " (if the header is further down, below a title, name its row with \
                 --header-row N)"
            } else {
                ""
            };
            self.input_error(format!(
                "{} (header): {message}{hint}",
                self.numbering.at(self.header_line)
            ))
        })
    }

    /// The data rows, in order, each of `width` fields, with its line and what makes it
    /// unusable ([`Rows`]): a read of the file from its start.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be opened, [`Error::Input`] when its header cannot
    /// be read again.
    pub fn rows(&self, width: usize) -> Result<Rows, Error> {
        let mut reader = self.open(true)?;
        reader
            .byte_headers()
            .map_err(|e| self.input_error(format!("{}: {e}", self.numbering.at(1))))?;
        let sheet = match &self.format {
            Format::Sheet(sheet) => Some(sheet.clone()),
            Format::Csv { .. } => None,
        };
        Ok(Rows::new(self, sheet, reader, width))
    }

    /// The data records as the CSV reader reads them, past the header, without their lines:
    /// for copying the input's cells (the results file, the plan file).
    ///
    /// # Errors
    /// As [`Source::rows`].
    pub fn records(&self) -> Result<CsvReader, Error> {
        let mut reader = self.open(false)?;
        reader
            .byte_headers()
            .map_err(|e| self.input_error(format!("{}: {e}", self.numbering.at(1))))?;
        Ok(reader)
    }

    /// An [`Error::Input`] about this input.
    pub(crate) fn input_error(&self, message: String) -> Error {
        Error::Input {
            path: self.path.clone(),
            message,
        }
    }

    /// A CSV reader over the text from the header on, counting lines when `count`.
    fn open(&self, count: bool) -> Result<CsvReader, Error> {
        let text: Box<dyn Read + Send> = match &self.format {
            Format::Sheet(sheet) => Box::new(sheet.csv.reader()),
            Format::Csv { encoding } => {
                let file = File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
                skip_lines(decode(&self.path, file, *encoding)?, self.titles)
                    .map_err(|e| Error::io(&self.path, e))?
            }
        };
        let count = count && matches!(self.format, Format::Csv { .. });
        Ok(csv_reader(
            Decoded::new(text, count, self.titles + 1),
            self.delimiter,
        ))
    }

    /// The header row of `reader` and its line.
    fn header_of(&self, reader: &mut CsvReader) -> Result<(StringRecord, u64), Error> {
        let at = |line: u64| self.numbering.at(line);
        let headers = reader
            .byte_headers()
            .map_err(|e| self.input_error(format!("{} (header): {e}", at(self.titles + 1))))?
            .clone();
        if headers.is_empty() {
            return Err(self.input_error(match &self.format {
                Format::Sheet(sheet) => workbook::empty_sheet(sheet),
                Format::Csv { .. } if self.titles > 0 => format!(
                    "the file has no line {} or after it that is not blank: --header-row names \
                     a line past its end",
                    self.titles + 1
                ),
                Format::Csv { .. } => "the file is empty: it needs a header row".into(),
            }));
        }
        let line = match &self.format {
            Format::Sheet(sheet) => sheet.header_row,
            Format::Csv { .. } => headers
                .position()
                .and_then(|p| reader.get_mut().line_at(p.byte()))
                .unwrap_or(self.titles + 1),
        };
        if headers.iter().all(|h| h.is_empty()) {
            return Err(self.input_error(format!(
                "{} (header): the header names no column; the file's first line that is \
                 not blank must name its columns, e.g. name,id,email",
                at(line)
            )));
        }
        let headers = StringRecord::from_byte_record(headers).map_err(|_| {
            self.input_error(format!(
                "{} (header): not UTF-8 text; save the file as UTF-8 (in Excel: CSV \
                 UTF-8), or name its encoding with --encoding",
                at(line)
            ))
        })?;
        Ok((headers, line))
    }
}

/// A CSV reader of `text`: a header row, `"` quoting, rows of any length (checked by
/// [`Rows`]), the header trimmed; each record is trimmed by whoever reads it, and only when
/// it needs it (csv's own trim copies every record into a new one).
fn csv_reader(text: Decoded, delimiter: u8) -> CsvReader {
    csv::ReaderBuilder::new()
        .buffer_capacity(256 * 1024)
        .flexible(true)
        .trim(csv::Trim::Headers)
        .delimiter(delimiter)
        .from_reader(text)
}

/// The text of `file` as UTF-8 (transcoded from `encoding`, or from UTF-16 when a byte-order
/// mark says so; otherwise passed through), without a byte-order mark.
fn decode(
    path: &Path,
    mut file: File,
    encoding: Option<&'static Encoding>,
) -> Result<Box<dyn Read + Send>, Error> {
    let io = |e| Error::io(path, e);
    // A file of no encoding named, the common case, is read as it is (no decoder and no
    // buffer of its own in between: a million-row file is copied twice less per pass), past
    // a UTF-8 BOM; one named UTF-8 goes through the decoder, which reads a bad byte as U+FFFD.
    if encoding.is_none() {
        let mut head = [0u8; 3];
        let read = super::snapshot::read_full(&mut file, &mut head).map_err(io)?;
        let head = &head[..read];
        if !(head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF])) {
            let start = if head == [0xEF, 0xBB, 0xBF] { 3 } else { 0 };
            file.seek(SeekFrom::Start(start)).map_err(io)?;
            return Ok(Box::new(file));
        }
        file.rewind().map_err(io)?;
    }
    let decoder = DecodeReaderBytesBuilder::new()
        .encoding(encoding)
        .bom_sniffing(true)
        .strip_bom(true)
        .utf8_passthru(true)
        .build(file);
    Ok(Box::new(BufReader::with_capacity(256 * 1024, decoder)))
}

/// The separator the header line of `head` uses most, outside quotes; `,` when it has none.
fn sniff_delimiter(head: &[u8]) -> u8 {
    const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];
    let mut counts = [0usize; 4];
    let mut quoted = false;
    // Blank lines before the header are skipped, as the CSV reader skips them.
    let start = head
        .iter()
        .position(|b| !matches!(b, b'\n' | b'\r'))
        .unwrap_or(head.len());
    for &b in &head[start..] {
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
    if counts[best] == 0 {
        b','
    } else {
        CANDIDATES[best]
    }
}

/// The LF bytes of `file`, from its start: its line count, near enough to size the plan.
fn count_lines(file: &mut File) -> usize {
    if file.rewind().is_err() {
        return 0;
    }
    let mut buf = vec![0u8; 1 << 20];
    let mut lines = 0usize;
    while let Ok(n @ 1..) = file.read(&mut buf) {
        lines += memchr::memchr_iter(b'\n', &buf[..n]).count();
    }
    lines
}
