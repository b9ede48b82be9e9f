//! The data rows of a CSV file, each with the line where it starts (counted right for LF, CRLF,
//! CR-only and mixed line endings) and what makes it unusable, if anything; a quoted field
//! that took rows into it ([`super::swallowed`]) or a quote still open at the end of the file,
//! refused before anything is sent.

use std::sync::Arc;

use csv::{ByteRecord, StringRecord};

use super::lines::Lines;
use super::workbook::Sheet;
use super::{CsvReader, Numbering, Source, swallowed};
use crate::Error;

/// One data row as read: where it starts, its fields, and whether they can be used at all.
pub struct RawRow {
    /// The line of the file where the record starts.
    pub line: u64,
    /// The fields as read (invalid UTF-8 replaced by U+FFFD).
    pub record: StringRecord,
    /// Why the fields cannot be used (not UTF-8, wrong field count), if so.
    pub problem: Option<String>,
    /// The fields (by index) that had spaces around them, trimmed off in `record`; empty (no
    /// allocation) for a row without any.
    pub padded: Vec<usize>,
}

impl RawRow {
    /// The fields laid out in exactly `width` columns, for the results file: short rows are
    /// padded, and the surplus fields of a long row are kept, joined into the last column.
    pub fn fields_in(&self, width: usize) -> Vec<String> {
        let mut fields: Vec<String> = self.record.iter().map(str::to_string).collect();
        lay_out(&mut fields, width);
        fields
    }
}

/// Lays `fields` out in exactly `width` columns: a short row padded with empty cells, the
/// surplus fields of a long row joined into the last column. The results file and its
/// readers lay rows out this way.
pub fn lay_out(fields: &mut Vec<String>, width: usize) {
    if fields.len() > width && width > 0 {
        let surplus = fields.split_off(width - 1);
        fields.push(surplus.join(","));
    }
    fields.resize(width, String::new());
}

/// Trims the ASCII whitespace around each field of `record`, as csv's `Trim::All` would, but
/// copies the record only when a field has some; the fields that had (empty, allocating
/// nothing, when none had).
pub fn trim_fields(record: &mut ByteRecord) -> Vec<usize> {
    let padded = |f: &[u8]| {
        f.first().is_some_and(u8::is_ascii_whitespace)
            || f.last().is_some_and(u8::is_ascii_whitespace)
    };
    if !record.iter().any(padded) {
        return Vec::new();
    }
    let fields = (record.iter().enumerate())
        .filter(|(_, f)| padded(f))
        .map(|(i, _)| i)
        .collect();
    record.trim();
    fields
}

/// The data rows of a file ([`Source::rows`]), in file order, each checked to have the
/// header's `width` fields, each field trimmed ([`trim_fields`]); blank lines are skipped by
/// the CSV reader. An iterator of new rows, or read one at a time into rows that can be reused
/// ([`Rows::read_into`]): what a file of a million rows reads without a million allocations.
/// An item is an [`Error::Input`] when the file cannot be read any further.
pub struct Rows {
    path: std::path::PathBuf,
    /// The CSV reader; it counts the lines of a CSV file's records from their byte offsets
    /// ([`super::Decoded`]).
    reader: CsvReader,
    width: usize,
    delimiter: u8,
    /// How messages name a row.
    numbering: Numbering,
    /// A workbook's sheet, which says the row of each record, and its error cells.
    sheet: Option<Arc<Sheet>>,
    /// Records read so far.
    index: usize,
    /// The line where the last record read starts.
    last_line: u64,
    /// Whether the end of the file was seen.
    ended: bool,
    /// Whether a quote still open at the end of the file is taken for a last line cut off.
    torn_end: bool,
    /// An empty record left in a row while its own is read into: swapped with each row's,
    /// so that reading a row allocates nothing.
    spare: Option<StringRecord>,
}

impl Iterator for Rows {
    type Item = Result<RawRow, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut row = RawRow::default();
        self.read_into(&mut row).map(|read| read.map(|()| row))
    }
}

impl Default for RawRow {
    fn default() -> Self {
        RawRow {
            line: 0,
            record: StringRecord::new(),
            problem: None,
            padded: Vec::new(),
        }
    }
}

impl Rows {
    /// The data rows of `reader`, a reader of `source` (its `sheet`, if it is one) past its
    /// header, which has `width` columns.
    pub(super) fn new(
        source: &Source,
        sheet: Option<Arc<Sheet>>,
        reader: CsvReader,
        width: usize,
    ) -> Rows {
        Rows {
            path: source.path().to_path_buf(),
            reader,
            width,
            delimiter: source.delimiter(),
            numbering: source.numbering().clone(),
            sheet,
            index: 0,
            last_line: 0,
            ended: false,
            torn_end: false,
            spare: None,
        }
    }

    /// These rows, of a file orgimport appends to (the journal), whose last line a crash may
    /// have cut off inside a quoted cell: that line is read as it is, and its reader decides
    /// what it says, rather than the file be refused for a quote left open.
    pub fn allowing_torn_end(self) -> Rows {
        Rows {
            torn_end: true,
            ..self
        }
    }

    /// Reads the next row into `row`, reusing its room: `None` at the end of the file, else
    /// whether it could be read ([`Rows`] says how).
    pub fn read_into(&mut self, row: &mut RawRow) -> Option<Result<(), Error>> {
        let placeholder = self.spare.take().unwrap_or_default();
        let mut bytes = std::mem::replace(&mut row.record, placeholder).into_byte_record();
        match self.reader.read_byte_record(&mut bytes) {
            Ok(false) => self.at_end(),
            Ok(true) => Some(self.take(bytes, row)),
            Err(e) => {
                let position = e.position().cloned();
                let counted = position.as_ref().and_then(|p| self.line_at(p.byte()));
                let line = counted.unwrap_or_else(|| position.map_or(1, |p| p.line()));
                Some(Err(Error::Input {
                    path: self.path.clone(),
                    message: format!("{}: {e}", self.numbering.at(line)),
                }))
            }
        }
    }

    /// The line where the record at byte `offset` starts, for a CSV file.
    fn line_at(&mut self, offset: u64) -> Option<u64> {
        self.reader.get_mut().line_at(offset)
    }

    /// At the end of the file: a quote still open refuses it, once.
    fn at_end(&mut self) -> Option<Result<(), Error>> {
        if self.ended || self.torn_end {
            return None;
        }
        self.ended = true;
        // The csv crate ends a quoted field at the end of the file as if it were closed; the
        // line counter stands at the start of the last record (or of the header, when it
        // swallowed the whole file), so its rest is read.
        if self.index == 0 {
            self.last_line = self.line_at(0)?;
        }
        let tail = self.reader.get_mut().rest()?;
        let tail = tail.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(tail);
        let (field, breaks, before) = quote_left_open(tail, self.delimiter)?;
        let line = self.last_line + before;
        Some(Err(Error::Input {
            path: self.path.clone(),
            message: format!(
                "line {line}: the quoted field {} opened on this line is still open at the end \
                 of the file{}: a closing quote (\") is probably missing on line {line}. Fix \
                 the quote and run again",
                field + 1,
                match breaks {
                    0 => String::new(),
                    1 => " (it runs on over 1 more line)".to_string(),
                    n => format!(" (it runs on over {n} more lines)"),
                }
            ),
        }))
    }

    /// Makes the record read, `bytes`, into `row`.
    fn take(&mut self, mut bytes: ByteRecord, row: &mut RawRow) -> Result<(), Error> {
        let width = self.width;
        // A sheet's record stops at its last value: the cells after it are empty.
        if self.sheet.is_some() {
            for _ in bytes.len()..width {
                bytes.push_field(b"");
            }
        }
        let padded = trim_fields(&mut bytes);
        let position = bytes.position();
        let index = self.index;
        let counted = position.and_then(|p| self.line_at(p.byte()));
        let line = match (&self.sheet, counted) {
            (Some(sheet), _) => sheet.rows.get(index).map_or(0, |row| u64::from(*row)),
            (None, Some(line)) => line,
            (None, None) => position.map(|p| p.line()).unwrap_or(0),
        };
        let sheet_problem = self
            .sheet
            .as_ref()
            .and_then(|s| s.problems.get(&index).cloned());
        self.index += 1;
        self.last_line = line;
        // A sheet has no quotes to leave open: a cell of many lines is one cell.
        let swallowed_one = match &self.sheet {
            None => swallowed::check(&bytes, self.delimiter, width, line).map_err(|message| {
                Error::Input {
                    path: self.path.clone(),
                    message,
                }
            })?,
            Some(_) => None,
        };
        let (record, mut problem) = match StringRecord::from_byte_record(bytes) {
            Ok(record) => (record, None),
            Err(e) => {
                let field = e.utf8_error().field();
                let bytes = e.into_byte_record();
                let lossy: StringRecord =
                    bytes.iter().map(|f| String::from_utf8_lossy(f)).collect();
                (
                    lossy,
                    Some(format!(
                        "field {} is not UTF-8 text (save the file as UTF-8, or name its \
                         encoding with --encoding)",
                        field + 1
                    )),
                )
            }
        };
        if record.len() != width {
            problem = Some(format!(
                "the row has {} fields but the header has {width}{}",
                record.len(),
                if record.len() < width {
                    " (a missing field, or an unterminated quote?)"
                } else {
                    " (an unquoted comma?)"
                }
            ));
        }
        if swallowed_one.is_some() {
            problem = swallowed_one;
        }
        if sheet_problem.is_some() {
            problem = sheet_problem;
        }
        self.spare = Some(std::mem::replace(&mut row.record, record));
        row.line = line;
        row.problem = problem;
        row.padded = padded;
        Ok(())
    }
}

/// Whether the last record of a file, `tail`, ends inside a quoted field, read as the csv
/// crate reads it (a quote opens a quoted field only at its start, `""` inside it is a quote,
/// a field goes on unquoted after its closing quote): `Some((field, line breaks, lines
/// before))`, the index of the field, how many lines begin inside it, and how many lines of
/// `tail` come before the one it opens on.
fn quote_left_open(tail: &[u8], delimiter: u8) -> Option<(usize, usize, u64)> {
    #[derive(PartialEq)]
    enum State {
        Start,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut state = State::Start;
    let mut field = 0;
    // Lines begun inside the quoted field, and whether a line break was just read in it.
    let mut breaks = 0;
    let mut after_break = false;
    // Lines of `tail` read, counted as the line counter counts them, and where the quote
    // left open opened.
    let mut lines = Lines {
        line: 0,
        after_cr: false,
    };
    let mut opened = 0;
    for &b in tail {
        lines.count(&[b]);
        state = match state {
            State::Quoted if b == b'\n' || b == b'\r' => {
                after_break = true;
                State::Quoted
            }
            State::Quoted => {
                breaks += usize::from(std::mem::take(&mut after_break));
                if b == b'"' {
                    State::QuoteInQuoted
                } else {
                    State::Quoted
                }
            }
            State::QuoteInQuoted if b == b'"' => State::Quoted,
            State::Start if b == b'"' => {
                (breaks, after_break, opened) = (0, false, lines.line);
                State::Quoted
            }
            _ if b == delimiter => {
                field += 1;
                State::Start
            }
            _ if b == b'\n' || b == b'\r' => {
                // The record ended before the end of the file (a blank line follows).
                field = 0;
                State::Start
            }
            _ => State::Unquoted,
        };
    }
    (state == State::Quoted).then_some((field, breaks, opened))
}

#[cfg(test)]
mod tests;
