//! A sheet's rows written as CSV text a row at a time, as they are read: from calamine's cell
//! reader (xlsx, never holding the sheet's cells) or from a range (xls, ods), into a file
//! ([`SheetText`]), never held in memory. Beside the text, the sheet row of each record and the
//! error cells that make a row unusable.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use calamine::Data;

use super::cell::{cell_text, is_blank, problem_of};
use super::{Sheet, SheetText, column_name};
use crate::input::Dialect;

/// A sheet's CSV text, built a row at a time ([`TextBuilder::push`]).
pub(super) struct TextBuilder {
    /// The sheet's name.
    name: String,
    /// The first sheet row that may be the header (`--header-row`).
    from_row: u64,
    /// The field separator.
    delimiter: u8,
    /// The text so far, written to its file.
    out: csv::Writer<BufWriter<File>>,
    /// Where the file is (and the file without the blank columns before the first, if any).
    dir: std::path::PathBuf,
    /// The header's sheet row, once found.
    header_row: Option<u64>,
    /// The header's cells, for messages.
    headers: Vec<String>,
    /// The sheet row of each data record.
    rows: Vec<u32>,
    /// The error cells of a data record, by index.
    problems: HashMap<usize, String>,
    /// Columns up to the last one with a value in any row (formatting alone widens a sheet).
    width: usize,
    /// The first column with a value in any row written.
    first_used: usize,
    /// Whether any row holds a value (above the header row named, too).
    any_value: bool,
    /// Whether the workbook asks to be recalculated when opened: no formula's saved value is
    /// then used ([`problem_of`]).
    recalculated: bool,
}

impl TextBuilder {
    /// The text of the sheet `name`, written in `dialect`, of a workbook that asks to be
    /// `recalculated` when opened, or not, into a file in `dir` ([`SheetText`]).
    ///
    /// # Errors
    /// A message when no file can be made for it.
    pub(super) fn new(
        name: &str,
        dialect: &Dialect,
        recalculated: bool,
        dir: &Path,
    ) -> Result<TextBuilder, String> {
        let delimiter = dialect.delimiter.unwrap_or(b',');
        Ok(TextBuilder {
            name: name.to_string(),
            from_row: dialect.header_row.unwrap_or(1),
            delimiter,
            out: crate::input::csv_writer(text_file(dir)?, delimiter),
            dir: dir.to_path_buf(),
            header_row: None,
            headers: Vec::new(),
            rows: Vec::new(),
            problems: HashMap::new(),
            width: 0,
            first_used: usize::MAX,
            any_value: false,
            recalculated,
        })
    }

    /// Adds the sheet row `number` (1-based), whose cells are `row`, the first in column
    /// `first_col` (0-based), each with its formula (by index in `row`), if it has one. A row
    /// with no value and no formula is skipped, as a CSV file's blank line is.
    ///
    /// # Errors
    /// A message when the header holds an error cell.
    pub(super) fn push<'f>(
        &mut self,
        number: u32,
        first_col: u32,
        row: &[Data],
        formula: &dyn Fn(usize) -> Option<&'f str>,
    ) -> Result<(), String> {
        let used =
            |at: usize| !is_blank(&row[at]) || formula(at).is_some_and(|f| !f.trim().is_empty());
        let Some(last) = (0..row.len()).rev().find(|at| used(*at)) else {
            return Ok(());
        };
        self.any_value = true;
        if u64::from(number) < self.from_row {
            return Ok(());
        }
        let lead = (0..row.len()).find(|at| used(*at)).unwrap_or(0);
        self.first_used = self.first_used.min(first_col as usize + lead);
        self.width = self.width.max(first_col as usize + last + 1);
        let mut errors = Vec::new();
        for (at, cell) in row[..=last].iter().enumerate() {
            if let Some(problem) = problem_of(cell, formula(at), self.recalculated) {
                let col = first_col as usize + at;
                let column = column_name(col as u32);
                errors.push(match self.headers.get(col).filter(|h| !h.is_empty()) {
                    Some(header) => format!("column {column} ({header}) {problem}"),
                    None => format!("column {column} {problem}"),
                });
            }
        }
        let blank = std::iter::repeat_n(Cow::Borrowed(""), first_col as usize);
        let cells = || blank.clone().chain(row[..=last].iter().map(cell_text));
        self.out
            .write_record(cells().map(bytes))
            .map_err(|e| e.to_string())?;
        if self.header_row.is_none() {
            self.header_row = Some(u64::from(number));
            self.headers = cells().map(|c| c.trim().to_string()).collect();
            if !errors.is_empty() {
                return Err(format!(
                    "sheet {:?}, row {number} (header): {}",
                    self.name,
                    errors.join("; ")
                ));
            }
            return Ok(());
        }
        if !errors.is_empty() {
            self.problems.insert(
                self.rows.len(),
                format!("{}; fix the cell in the workbook", errors.join("; ")),
            );
        }
        self.rows.push(number);
        Ok(())
    }

    /// The sheet, `None` when no row from the header row on holds a value; and whether any
    /// row holds one at all.
    ///
    /// # Errors
    /// A message when the text cannot be written.
    pub(super) fn finish(self) -> Result<(Option<Sheet>, bool), String> {
        let Some(header_row) = self.header_row else {
            return Ok((None, self.any_value));
        };
        let mut csv = self.out.into_inner().map_err(|e| e.error().to_string())?;
        csv.flush().map_err(|e| sheet_text_error(&e))?;
        let mut csv = SheetText(Arc::new(
            csv.into_inner().map_err(|e| sheet_text_error(e.error()))?,
        ));
        let mut width = self.width;
        // Columns before the first with a value, in every row: not columns of the file.
        if self.first_used > 0 && self.first_used != usize::MAX {
            csv = strip_columns(&csv, self.first_used, self.delimiter, &self.dir)?;
            width -= self.first_used;
        }
        Ok((
            Some(Sheet {
                name: self.name,
                csv,
                header_row,
                width,
                rows: self.rows,
                problems: self.problems,
            }),
            true,
        ))
    }
}

/// A cell's text as bytes, borrowed where it is.
fn bytes(cell: Cow<'_, str>) -> Cow<'_, [u8]> {
    match cell {
        Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
        Cow::Owned(s) => Cow::Owned(s.into_bytes()),
    }
}

/// A new file for a sheet's text in `dir` ([`SheetText`]), written through a buffer.
fn text_file(dir: &Path) -> Result<BufWriter<File>, String> {
    let file = SheetText::create(dir).map_err(|e| sheet_text_error(&e))?;
    Ok(BufWriter::with_capacity(256 * 1024, file))
}

/// What a sheet's text file that cannot be made or written says.
fn sheet_text_error(e: &std::io::Error) -> String {
    format!("the sheet's text cannot be written to a temporary file: {e}")
}

/// The CSV text `csv` without the first `n` fields of each record, in a new file in `dir`.
fn strip_columns(
    csv: &SheetText,
    n: usize,
    delimiter: u8,
    dir: &Path,
) -> Result<SheetText, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(csv.reader());
    let mut out = crate::input::csv_writer(text_file(dir)?, delimiter);
    let mut record = csv::ByteRecord::new();
    while reader
        .read_byte_record(&mut record)
        .map_err(|e| e.to_string())?
    {
        out.write_record(record.iter().skip(n))
            .map_err(|e| e.to_string())?;
    }
    let mut file = out.into_inner().map_err(|e| e.error().to_string())?;
    file.flush().map_err(|e| sheet_text_error(&e))?;
    let file = file.into_inner().map_err(|e| sheet_text_error(e.error()))?;
    Ok(SheetText(Arc::new(file)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Data {
        Data::String(s.into())
    }

    /// A builder of the text of the sheet `S`, its file in the system's temporary directory.
    fn builder(dialect: &Dialect) -> TextBuilder {
        TextBuilder::new("S", dialect, false, &std::env::temp_dir()).unwrap()
    }

    /// All of a sheet's text, read as every pass reads it.
    fn all_of(text: &SheetText) -> String {
        let mut all = String::new();
        std::io::Read::read_to_string(&mut text.reader(), &mut all).unwrap();
        all
    }

    #[test]
    fn rows_stop_at_their_last_value_and_blank_columns_before_the_first_are_dropped() {
        let mut sheet = builder(&Dialect::default());
        // From column C: a blank row, the header, a short row, a row with an error cell.
        sheet
            .push(1, 2, &[Data::Empty, Data::Empty], &|_| None)
            .unwrap();
        sheet
            .push(2, 2, &[text("name"), text("note"), Data::Empty], &|_| None)
            .unwrap();
        sheet.push(3, 2, &[text("a")], &|_| None).unwrap();
        sheet
            .push(
                4,
                1,
                &[Data::Empty, text("b"), text("#N/A"), text("x")],
                &|_| None,
            )
            .unwrap();
        let (sheet, any) = sheet.finish().unwrap();
        let sheet = sheet.unwrap();
        assert!(any);
        assert_eq!(all_of(&sheet.csv), "name,note\na\nb,#N/A,x\n");
        // Each read starts from the start, whatever another has read.
        let mut first = sheet.csv.reader();
        std::io::Read::read_exact(&mut first, &mut [0u8; 4]).unwrap();
        assert_eq!(all_of(&sheet.csv), "name,note\na\nb,#N/A,x\n");
        assert_eq!((sheet.header_row, sheet.width), (2, 3));
        assert_eq!(sheet.rows, [3, 4]);
        assert_eq!(
            sheet.problems[&1],
            "column D (note) holds the error #N/A; fix the cell in the workbook"
        );
    }

    #[test]
    fn a_header_row_past_every_value_finds_no_sheet_but_says_there_are_values() {
        let mut sheet = builder(&Dialect::default().with_header_row(Some(5)));
        sheet.push(1, 0, &[text("name")], &|_| None).unwrap();
        let (sheet, any) = sheet.finish().unwrap();
        assert!(sheet.is_none() && any);
    }
}
