//! Workbooks (xlsx, xls, ods): one sheet turned into the text of a CSV
//! file, so that everything that reads CSV reads it unchanged, and beside it the sheet's row
//! number of each record and the error cells (`#N/A`, `#REF!`) that make a row unusable.
//!
//! A workbook is told by its first bytes, not its name: the copy a run reads from
//! ([`super::snapshot`]) has a name of its own. It is parsed once per command, when its
//! [`super::Source`] is settled, which keeps the sheet's CSV text for every later read, in an
//! unnamed temporary file ([`SheetText`]), not in memory. The
//! default sheet is the first visible one; hidden sheets are read only when `--sheet` names
//! them, and the note says they are there. Cells come out as the user typed them: a
//! whole number without `.0`, other numbers as Excel shows them (15 significant digits),
//! dates in ISO 8601 (the date alone when it has no time), booleans as `true`/`false`, empty
//! cells empty. Rows with no value at all are skipped, as blank lines of a CSV are. An xlsx
//! sheet is read from its XML by hand ([`sheet_xml`]), as calamine reads it; one holding what
//! that reader leaves to calamine (a formula among them), and xls and ods files, are read
//! with calamine.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufReader, Seek};
use std::path::Path;
use std::sync::Arc;

use calamine::{Reader, SheetType, SheetVisible, Sheets};

mod cell;
mod ods_text;
mod parts;
mod read_at;
mod recalc;
mod sheet_xml;
#[cfg(test)]
mod sheet_xml_tests;
mod text;
mod xlsx;
mod xml_text;

use super::Dialect;
use crate::Error;
use cell::{has_blank_cell, is_blank};
pub(crate) use read_at::ReadAt;
use text::TextBuilder;

/// A sheet as CSV text, and where each of its records is in the sheet.
#[derive(Debug)]
pub(crate) struct Sheet {
    /// The sheet's name.
    pub name: String,
    /// The sheet's rows as CSV (UTF-8, the dialect's delimiter, `,` by default), from its
    /// header on.
    pub csv: SheetText,
    /// The sheet's row number (1-based, as Excel shows it) of the header.
    pub header_row: u64,
    /// Its columns, up to the last with a value in any row: a record of the text may stop
    /// before, at its own last value.
    pub width: usize,
    /// The sheet's row number of each data record, in order.
    pub rows: Vec<u32>,
    /// Why a data record (by index) cannot be used: its error cells (the messages naming
    /// the row say where it is).
    pub problems: HashMap<usize, String>,
}

/// A sheet's CSV text, written once and read by every later pass, each from its start with
/// [`SheetText::reader`]. It is kept in an unnamed temporary file readable by its owner only
/// (a million rows are a few hundred megabytes, not to be held in memory), beside the file
/// read when its directory takes one (an import reads the run's copy, beside the results
/// file), else in the system's temporary directory; it goes when the last reader is done.
#[derive(Debug, Clone)]
pub(crate) struct SheetText(Arc<File>);

impl SheetText {
    /// A new file for a sheet's text, in `dir` when it takes one, else in the system's
    /// temporary directory.
    fn create(dir: &Path) -> std::io::Result<File> {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        tempfile::tempfile_in(dir).or_else(|_| tempfile::tempfile())
    }

    /// A reader of the text from its start, at an offset of its own: readers do not move
    /// each other.
    pub(crate) fn reader(&self) -> SheetReader {
        ReadAt::new(self.0.clone())
    }
}

/// A reader of a [`SheetText`], from its start.
pub(crate) type SheetReader = ReadAt<Arc<File>>;

/// Whether a file starting with `head` is a workbook: a zip file (xlsx, ods) or an OLE
/// compound file (xls, or an xlsx encrypted with a password). A CSV file never starts with
/// either.
pub(crate) fn is_workbook(head: &[u8]) -> bool {
    is_zip(head) || head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0])
}

/// Whether a file starting with `head` is a zip file (xlsx, ods).
fn is_zip(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04")
}

/// The workbook as calamine reads it, from the file.
type Book = Sheets<Input>;

/// Where calamine reads a workbook from: its file, or (an ods file whose cells hold tabs or
/// line breaks, [`ods_text`]) its bytes rewritten in memory.
enum Input {
    File(BufReader<File>),
    Bytes(std::io::Cursor<Vec<u8>>),
}

impl std::io::Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Input::File(r) => r.read(buf),
            Input::Bytes(r) => r.read(buf),
        }
    }
}

impl Seek for Input {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        match self {
            Input::File(r) => r.seek(pos),
            Input::Bytes(r) => r.seek(pos),
        }
    }
}

/// Reads the sheet `dialect` names (the first visible one when it names none) from `file`,
/// the workbook at `path`, which starts with `head`; and a note for stderr saying which sheet is read, and which
/// hidden ones are not.
///
/// # Errors
/// [`Error::Input`] when the file is not a workbook calamine reads (saying so when a password
/// protects it), has no sheet of that name (listing its sheets), or the sheet holds no cell
/// (listing the sheets that do).
pub(super) fn read(
    path: &Path,
    file: &File,
    head: &[u8],
    dialect: &Dialect,
) -> Result<(Arc<Sheet>, String), Error> {
    let input_err = |message: String| Error::Input {
        path: path.to_path_buf(),
        message,
    };
    if is_zip(head)
        && let Some(read) = read_fast(path, file, dialect)
    {
        return read.map_err(input_err);
    }
    let mut book = open(file, is_zip(head)).map_err(input_err)?;
    let sheets = book.sheets_metadata().to_vec();
    let name = choose_sheet(&sheets, dialect.sheet.as_deref()).map_err(input_err)?;
    let chart = sheets
        .iter()
        .any(|s| s.name == name && s.typ == SheetType::ChartSheet);
    let (sheet, has_data) = if chart {
        (None, false)
    } else {
        // An xlsx workbook that asks to be recalculated when opened holds no formula's value.
        let recalculated = matches!(book, Sheets::Xlsx(_)) && recalc::full_calc_on_load(file);
        let dir = path.parent().unwrap_or(Path::new("."));
        read_sheet(&mut book, file, &name, dialect, recalculated, dir).map_err(input_err)?
    };
    let Some(sheet) = sheet else {
        return Err(input_err(match dialect.header_row {
            Some(row) if has_data => format!(
                "sheet {name:?} has no row with a value at or below row {row}: --header-row \
                 names a row past its data"
            ),
            _ => empty_sheet_message(&mut book, &sheets, &name, chart),
        }));
    };
    let note = note(&sheet, &sheets);
    Ok((Arc::new(sheet), note))
}

/// The xlsx sheet `dialect` names, read by [`sheet_xml`] from `file` (the workbook at `path`),
/// and its note; `None` when calamine is to read it: the sheet holds what only calamine reads,
/// or it holds no row to read (calamine then says why, naming the sheets that have some).
fn read_fast(
    path: &Path,
    file: &File,
    dialect: &Dialect,
) -> Option<Result<(Arc<Sheet>, String), String>> {
    let mut book = sheet_xml::Workbook::open(file)?;
    let sheets = book.sheets();
    let name = choose_sheet(&sheets, dialect.sheet.as_deref()).ok()?;
    if sheets
        .iter()
        .any(|s| s.name == name && s.typ != SheetType::WorkSheet)
    {
        return None;
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    // Whether the workbook asks to be recalculated when opened matters only to a formula's
    // value, and a sheet with a formula is left to calamine.
    match book.read_sheet(&name, dialect, false, dir).ok()? {
        Ok((Some(sheet), _)) => {
            let note = note(&sheet, &sheets);
            Some(Ok((Arc::new(sheet), note)))
        }
        Ok((None, _)) => None,
        Err(e) => Some(Err(e)),
    }
}

/// The note for stderr on the sheet read from a workbook of `sheets`: which, how many rows,
/// and the hidden sheets not read.
fn note(sheet: &Sheet, sheets: &[calamine::Sheet]) -> String {
    let mut note = format!(
        "reading sheet {:?}: {} data rows; rows below are named by the sheet's row numbers \
         (row {} is the header)",
        sheet.name,
        sheet.rows.len(),
        sheet.header_row
    );
    let unread: Vec<&String> = sheets
        .iter()
        .filter(|s| s.visible != SheetVisible::Visible && s.name != sheet.name)
        .map(|s| &s.name)
        .collect();
    if !unread.is_empty() {
        let _ = write!(
            note,
            "; hidden sheet{} not read: {} (name one with --sheet to read it)",
            if unread.len() == 1 { "" } else { "s" },
            listed(unread.into_iter())
        );
    }
    note
}

/// The name of the sheet to read: `wanted` (its case aside where no sheet has it exactly), or
/// the first visible sheet.
///
/// # Errors
/// A message saying there is no such sheet, or no visible one, listing the sheets.
fn choose_sheet(sheets: &[calamine::Sheet], wanted: Option<&str>) -> Result<String, String> {
    let names = || sheets.iter().map(|s| &s.name);
    match wanted {
        Some(wanted) => names()
            .find(|n| *n == wanted)
            .or_else(|| names().find(|n| n.eq_ignore_ascii_case(wanted)))
            .cloned()
            .ok_or_else(|| {
                format!(
                    "there is no sheet {wanted:?}; the workbook's sheets are {}",
                    listed(names())
                )
            }),
        None => sheets
            .iter()
            .find(|s| s.visible == SheetVisible::Visible)
            .map(|s| s.name.clone())
            .ok_or_else(|| {
                if sheets.is_empty() {
                    "the workbook has no sheet".into()
                } else {
                    format!(
                        "the workbook has no visible sheet; name the one to read with --sheet \
                         (its sheets are {}, all hidden)",
                        listed(names())
                    )
                }
            }),
    }
}

/// Sheet names as a list for a message: `"A", "B"`.
fn listed<'a>(names: impl Iterator<Item = &'a String>) -> String {
    names
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The names of the visible sheets of the workbook at `path` (the ones a user chooses
/// among; a hidden one is read only when named), in the workbook's order; empty when the
/// file is not a workbook.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Input`] when it is a workbook
/// calamine cannot read.
pub(crate) fn visible_sheets(path: &Path) -> Result<Vec<String>, Error> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut head = [0u8; 4];
    let read = super::snapshot::read_full(&mut file, &mut head).map_err(|e| Error::io(path, e))?;
    if !is_workbook(&head[..read]) {
        return Ok(Vec::new());
    }
    let book = open(&file, is_zip(&head[..read])).map_err(|message| Error::Input {
        path: path.to_path_buf(),
        message,
    })?;
    Ok(book
        .sheets_metadata()
        .iter()
        .filter(|s| s.visible == SheetVisible::Visible)
        .map(|s| s.name.clone())
        .collect())
}

/// The sheet `name` of `book` (the workbook `file`) as CSV text ([`TextBuilder`], in a file in
/// `dir`), and whether it holds a value: an xlsx sheet read cell by cell, without holding its
/// cells ([`xlsx::read_sheet`]); others (xls, ods), and an xlsx sheet with a blank cell, through
/// a range.
fn read_sheet(
    book: &mut Book,
    file: &File,
    name: &str,
    dialect: &Dialect,
    recalculated: bool,
    dir: &Path,
) -> Result<(Option<Sheet>, bool), String> {
    let unreadable = |e: &dyn std::fmt::Display| format!("sheet {name:?} cannot be read: {e}");
    if let Sheets::Xlsx(xlsx) = book
        && let Some(read) = xlsx::read_sheet(xlsx, file, name, dialect, recalculated, dir)?
    {
        return Ok(read);
    }
    let mut text = TextBuilder::new(name, dialect, recalculated, dir)?;
    let range = book.worksheet_range(name).map_err(|e| unreadable(&e))?;
    // Beside each value, its formula if it has one: a formula saved with no value is an
    // empty value, which must not pass for one.
    let formulas = if has_blank_cell(&range) {
        book.worksheet_formula(name).map_err(|e| unreadable(&e))?
    } else {
        calamine::Range::default()
    };
    let (first_row, first_col) = range.start().unwrap_or((0, 0));
    for (index, row) in range.rows().enumerate() {
        let at = first_row + index as u32;
        let formula = |col: usize| {
            formulas
                .get_value((at, first_col + col as u32))
                .map(String::as_str)
        };
        text.push(at + 1, first_col, row, &formula)?;
    }
    text.finish()
}

/// What a workbook protected by a password is told.
const ENCRYPTED: &str = "the workbook is protected by a password (encrypted), and orgimport \
    cannot read an encrypted workbook; open it in Excel or LibreOffice, remove the password (in \
    Excel: File > Info > Protect Workbook > Encrypt with Password, and clear it) or save an \
    unprotected copy, and import that";

/// Opens the workbook `file` (a zip file when `zip`, else an OLE compound file) in the format
/// its content says, reading it from the file as calamine needs it, never whole into memory;
/// or says why it cannot be read.
fn open(file: &File, zip: bool) -> Result<Book, String> {
    use calamine::{Ods, Xls, XlsError, Xlsb, Xlsx, XlsxError};
    // Each try reads from the start, through its own handle on the one open file.
    let from_start = || -> Result<Input, String> {
        let mut file = file.try_clone().map_err(|e| e.to_string())?;
        file.rewind().map_err(|e| e.to_string())?;
        Ok(Input::File(BufReader::new(file)))
    };
    let unreadable = |e: &dyn std::fmt::Display| {
        format!("not a workbook orgimport can read (xlsx, xls or ods): {e}")
    };
    if zip {
        let xlsx_error = match Xlsx::new(from_start()?) {
            Ok(book) => return Ok(Sheets::Xlsx(book)),
            Err(e) => e,
        };
        // An ods file is read from memory, its cells' tabs and line breaks written as
        // characters first when it has any.
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut from_start()?, &mut bytes).map_err(|e| e.to_string())?;
        let bytes = ods_text::with_tabs_and_breaks(&bytes).unwrap_or(bytes);
        if let Ok(book) = Ods::new(Input::Bytes(std::io::Cursor::new(bytes))) {
            return Ok(Sheets::Ods(book));
        }
        if let Ok(book) = Xlsb::new(from_start()?) {
            return Ok(Sheets::Xlsb(book));
        }
        return Err(unreadable(&xlsx_error));
    }
    // An OLE file is an xls workbook, or an xlsx encrypted with a password, which the xlsx
    // reader alone recognises.
    match Xls::new(from_start()?) {
        Ok(book) => Ok(Sheets::Xls(book)),
        Err(XlsError::Password) => Err(ENCRYPTED.into()),
        Err(e) => match Xlsx::new(from_start()?) {
            Err(XlsxError::Password) => Err(ENCRYPTED.into()),
            Ok(book) => Ok(Sheets::Xlsx(book)),
            Err(_) => Err(unreadable(&e)),
        },
    }
}

/// Why the sheet `name` cannot be read for having no cell, and the sheets that have some.
fn empty_sheet_message(
    book: &mut Book,
    sheets: &[calamine::Sheet],
    name: &str,
    chart: bool,
) -> String {
    let mut with_data = Vec::new();
    let mut all = Vec::new();
    for sheet in sheets {
        let mut shown = format!("{:?}", sheet.name);
        let has_data = sheet.typ != SheetType::ChartSheet
            && sheet.name != name
            && book
                .worksheet_range(&sheet.name)
                .is_ok_and(|range| range.rows().any(|row| !row.iter().all(is_blank)));
        match (sheet.typ, sheet.visible) {
            (SheetType::ChartSheet, _) => shown.push_str(" (a chart)"),
            (_, SheetVisible::Visible) if has_data => shown.push_str(" (has data)"),
            (_, SheetVisible::Visible) => shown.push_str(" (empty)"),
            (_, _) if has_data => shown.push_str(" (hidden, has data)"),
            (_, _) => shown.push_str(" (hidden, empty)"),
        }
        if has_data {
            with_data.push(format!("--sheet {:?}", sheet.name));
        }
        all.push(shown);
    }
    let what = if chart {
        "is a chart, which holds no cells"
    } else {
        "is empty: it holds no cell with a value"
    };
    let fix = if with_data.is_empty() {
        "no sheet holds data; is this the right file?".to_string()
    } else {
        format!("name the sheet to read, e.g. {}", with_data[0])
    };
    format!(
        "sheet {name:?} {what}; the workbook's sheets are {}; {fix}",
        all.join(", ")
    )
}

/// The message for a sheet whose header cannot be found: it has no row with a value.
pub(super) fn empty_sheet(sheet: &Sheet) -> String {
    format!(
        "sheet {:?} is empty: it holds no cell with a value",
        sheet.name
    )
}

/// A column's letters, from its 0-based index: A, B, ..., Z, AA, AB, ...
fn column_name(index: u32) -> String {
    let mut n = index + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(b'A' + rem as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_named_as_excel_names_them() {
        assert_eq!(column_name(0), "A");
        assert_eq!(column_name(25), "Z");
        assert_eq!(column_name(26), "AA");
        assert_eq!(column_name(701), "ZZ");
        assert_eq!(column_name(702), "AAA");
    }
}
