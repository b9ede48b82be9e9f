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
    /// Whether a field had spaces around it, trimmed off in `record`.
    pub padded: bool,
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
/// copies the record only when a field has some; whether it had.
pub fn trim_fields(record: &mut ByteRecord) -> bool {
    let padded = |f: &[u8]| {
        f.first().is_some_and(u8::is_ascii_whitespace)
            || f.last().is_some_and(u8::is_ascii_whitespace)
    };
    let padded = record.iter().any(padded);
    if padded {
        record.trim();
    }
    padded
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
            padded: false,
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
        let mut bytes = std::mem::take(&mut row.record).into_byte_record();
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
        *row = RawRow {
            line,
            record,
            problem,
            padded,
        };
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
mod tests {
    use super::*;
    use crate::input::Dialect;

    #[test]
    fn a_byte_order_mark_and_crlf_are_read_as_plain_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bom.csv");
        std::fs::write(
            &path,
            "\u{feff}name,id\r\nacme,\r\n\r\n\"b,\r\ncorp\",x\r\nlast,y\r\n",
        )
        .unwrap();
        let source = Source::as_csv(&path, &Dialect::default()).unwrap();
        let headers = source.headers().clone();
        assert_eq!(headers.iter().collect::<Vec<_>>(), ["name", "id"]);
        let rows: Vec<RawRow> = source.rows(2).unwrap().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 3);
        assert_eq!((rows[0].line, &rows[0].record[0]), (2, "acme"));
        assert_eq!((rows[1].line, &rows[1].record[0]), (4, "b,\r\ncorp"));
        assert_eq!((rows[2].line, &rows[2].record[0]), (6, "last"));
        std::fs::write(&path, "name\n\na\n\"b\nc\"\n\n\nd\n").unwrap();
        let source = Source::as_csv(&path, &Dialect::default()).unwrap();
        let lines: Vec<u64> = source.rows(1).unwrap().map(|r| r.unwrap().line).collect();
        assert_eq!(lines, [3, 4, 8]);
    }

    #[test]
    fn fields_and_the_header_are_trimmed_and_a_row_without_padding_is_left_as_read() {
        let (_dir, source) = csv_source(b" name ,\tid\nacme , x\t\nplain,y\n\" q \",\n");
        let headers = source.headers().clone();
        assert_eq!(headers.iter().collect::<Vec<_>>(), ["name", "id"]);
        let fields: Vec<Vec<String>> = source
            .rows(2)
            .unwrap()
            .map(|r| r.unwrap().record.iter().map(str::to_string).collect())
            .collect();
        assert_eq!(fields, [["acme", "x"], ["plain", "y"], ["q", ""]]);
    }

    #[test]
    fn ragged_and_non_utf8_rows_are_reported_with_their_fields_kept() {
        let (_dir, source) = csv_source(b"name,id\nshort\nlong,a,b,c\nM\xfcller,x\n");
        let rows: Vec<RawRow> = source.rows(2).unwrap().map(Result::unwrap).collect();
        assert!(
            rows[0]
                .problem
                .as_ref()
                .unwrap()
                .contains("has 1 fields but the header has 2")
        );
        assert_eq!(rows[1].fields_in(2), ["long", "a,b,c"]);
        assert!(
            rows[2]
                .problem
                .as_ref()
                .unwrap()
                .contains("field 1 is not UTF-8")
        );
        assert_eq!(&rows[2].record[0], "M\u{fffd}ller");
    }

    /// `content` written to a CSV file of a temporary folder (kept alive by the first half)
    /// and settled as input.
    fn csv_source(content: &[u8]) -> (tempfile::TempDir, Source) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        std::fs::write(&path, content).unwrap();
        let source = Source::as_csv(&path, &Dialect::default()).unwrap();
        (dir, source)
    }

    /// The start line of every row of `content`, or the error that stopped the reading.
    fn lines_of(content: &[u8]) -> Result<Vec<u64>, String> {
        let (_dir, source) = csv_source(content);
        let width = source.headers().len();
        source
            .rows(width)
            .unwrap()
            .map(|row| row.map(|r| r.line).map_err(|e| e.to_string()))
            .collect()
    }

    #[test]
    fn lines_are_counted_alike_for_lf_crlf_cr_and_a_mix() {
        assert_eq!(lines_of(b"name,id\na,1\nb,2\n"), Ok(vec![2, 3]));
        assert_eq!(lines_of(b"name,id\r\na,1\r\nb,2\r\n"), Ok(vec![2, 3]));
        // Old Mac exports end lines with a lone CR.
        assert_eq!(lines_of(b"name,id\ra,1\rb,2\r\rc,3"), Ok(vec![2, 3, 5]));
        assert_eq!(
            lines_of(b"name,id\ra,1\nb,2\r\nc,3\n\rd,\"x\ry\"\re,5\n"),
            Ok(vec![2, 3, 4, 6, 8])
        );
    }

    #[test]
    fn an_unclosed_quote_that_swallows_rows_stops_the_reading_at_its_line() {
        let mut file = String::from("name,description,id\n");
        for i in 2..=1001 {
            match i {
                12 => file.push_str(&format!("\"Acme Holdings,big,id-{i}\n")),
                602 => file.push_str(&format!("Monitors,12\" monitor,id-{i}\n")),
                _ => file.push_str(&format!("Customer {i},plain,id-{i}\n")),
            }
        }
        let error = lines_of(file.as_bytes()).expect_err("the file is refused");
        assert!(error.contains("line 12: the quoted field 1"), "{error}");
        assert!(error.contains("runs on over 590 more lines"), "{error}");
        assert!(error.contains("closing quote"), "{error}");
    }

    #[test]
    fn a_quote_still_open_at_the_end_of_the_file_is_refused_whatever_it_swallowed() {
        // Two rows swallowed in a two-column file: too few to look like rows, still refused.
        let error = lines_of(b"name,description\nAcme,\"unclosed quote\nBeta,ok\nGamma,ok\n")
            .expect_err("the file is refused");
        assert!(
            error.contains("line 2: the quoted field 2 opened on this line is still open"),
            "{error}"
        );
        assert!(error.contains("runs on over 2 more lines"), "{error}");
        // On the last line, with or without a line end; CR line ends; a field after a quote.
        for file in [
            &b"name,description\nAcme,ok\nBeta,\"open"[..],
            b"name,description\rAcme,ok\rBeta,\"open\r",
            b"name,description\nAcme,\"say \"\"hi\"\"\nBeta,ok\n",
        ] {
            let error = lines_of(file).expect_err("the file is refused");
            assert!(
                error.contains("still open at the end of the file"),
                "{error}"
            );
        }
    }

    #[test]
    fn a_header_whose_quote_swallows_the_file_is_refused_at_its_line() {
        let error = lines_of(b"\xEF\xBB\xBF\n\nname,\"description\nAcme,ok\nBeta,ok\n")
            .expect_err("the file is refused");
        assert!(
            error.contains("line 3: the quoted field 2 opened on this line is still open"),
            "{error}"
        );
        // A header alone, closed or with a line break in a quoted name, is no open quote.
        assert_eq!(lines_of(b"\xEF\xBB\xBF\"name\",id\n"), Ok(vec![]));
        assert_eq!(lines_of(b"\"Account\nName\",id\nAcme,1\n"), Ok(vec![3]));
    }

    #[test]
    fn a_quote_left_open_is_named_at_the_line_it_opens_on() {
        // The row starts on line 2; its second field runs over two lines, its third opens on
        // line 3 and is never closed.
        let error = lines_of(b"name,desc,note\nAcme,\"two\nlines\",\"open\nBeta,x,y\n")
            .expect_err("the file is refused");
        assert!(
            error.contains("line 3: the quoted field 3 opened on this line"),
            "{error}"
        );
        assert!(error.contains("missing on line 3"), "{error}");
        let crlf = lines_of(b"name,desc\r\nAcme,\"two\r\nlines\r\nmore\",\"open\r\nBeta,x\r\n")
            .expect_err("the file is refused");
        assert!(crlf.contains("line 4: the quoted field 3"), "{crlf}");
    }

    #[test]
    fn closed_quotes_at_the_end_of_the_file_are_no_open_quote() {
        for (file, lines) in [
            (&b"name,description\nAcme,\"two\nlines\"\n"[..], vec![2]),
            (b"name,description\nAcme,\"two\nlines\"", vec![2]),
            (b"name,description\nAcme,\"say \"\"hi\"\"\"\n\n\n", vec![2]),
            (b"name,description\nAcme,12\" monitor\n", vec![2]),
            (b"name,description\nAcme,\"a\"b\nBeta,\"\"\r\n", vec![2, 3]),
            (b"name,description\n", vec![]),
        ] {
            assert_eq!(
                lines_of(file),
                Ok(lines),
                "{}",
                String::from_utf8_lossy(file)
            );
        }
    }

    #[test]
    fn a_quoted_cell_with_line_breaks_is_no_unclosed_quote() {
        // An address over two lines, commas and all; and a long note in a wide file.
        let ok = b"name,address,id\nacme,\"Street 1, Floor 2\nBerlin, Germany\",x\nb,y,z\n";
        assert_eq!(lines_of(ok), Ok(vec![2, 4]));
        let two = b"name,address\nacme,\"Suite 5\nFloor 2\nBerlin Germany\"\nb,y\n";
        assert_eq!(lines_of(two), Ok(vec![2, 5]));
    }

    /// The problem of each row of `content` (read whole), by line.
    fn problems_of(content: &[u8]) -> Vec<(u64, Option<String>)> {
        let (_dir, source) = csv_source(content);
        let width = source.headers().len();
        source
            .rows(width)
            .unwrap()
            .map(|row| row.map(|r| (r.line, r.problem)).unwrap())
            .collect()
    }

    #[test]
    fn one_row_swallowed_by_a_quote_makes_the_row_invalid_naming_both_lines() {
        let rows = problems_of(
            b"name,city,notes\nalpha-a,Berlin,\"Note about a\nbeta-b,Paris,Note with quote\" \
              end\ngamma-c,Rome,x\ndelta-d,Oslo,y\n",
        );
        assert_eq!(rows.len(), 3);
        let problem = rows[0].1.as_deref().unwrap();
        assert!(
            problem.starts_with("line 3, inside the quoted field 3 opened on line 2, is shaped"),
            "{problem}"
        );
        assert!(
            problem.contains("\"beta-b,Paris,Note with quote end\""),
            "{problem}"
        );
        assert_eq!((rows[1].0, rows[2].0), (4, 5));
        assert!(rows[1].1.is_none() && rows[2].1.is_none());
        // In a field opened on the row's second line (CRLF), the lines are counted from it.
        let rows = problems_of(b"name,a,b\r\nacme,\"x\r\ny\",\"open\r\nbeta,1,2\" z\r\nc,1,2\r\n");
        let problem = rows[0].1.as_deref().unwrap();
        assert!(
            problem.starts_with("line 4, inside the quoted field 3 opened on line 3"),
            "{problem}"
        );
        // A two-column file: a line with one comma in a quoted field is shaped like a row.
        let rows = problems_of(b"name,address\nacme,\"Suite 5, Floor 2\nBerlin, Germany\"\nb,y\n");
        let problem = rows[0].1.as_deref().unwrap();
        assert!(
            problem.starts_with("line 3, inside the quoted field 2"),
            "{problem}"
        );
        assert!(rows[1].1.is_none());
    }
}
