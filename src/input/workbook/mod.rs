//! Workbooks (xlsx, xls, ods, read with calamine): one sheet turned into the text of a CSV
//! file, so that everything that reads CSV reads it unchanged, and beside it the sheet's row
//! number of each record and the error cells (`#N/A`, `#REF!`) that make a row unusable.
//!
//! A workbook is told by its first bytes, not its name: the copy a run reads from
//! ([`super::snapshot`]) has a name of its own. Cells come out as the user typed them: a
//! whole number without `.0`, other numbers as Excel shows them (15 significant digits),
//! dates in ISO 8601 (the date alone when it has no time), booleans as `true`/`false`, empty
//! cells empty. Rows with no value at all are skipped, as blank lines of a CSV are.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Cursor, Read};
use std::path::Path;
use std::sync::{Arc, Mutex};

use calamine::Reader;

mod cell;
mod ods_text;

use super::Dialect;
use super::encoding::Settled;
use crate::Error;
use cell::{cell_text, has_blank_cell, is_blank, problem_of};

/// A sheet as CSV text, and where each of its records is in the sheet.
#[derive(Debug)]
pub struct Sheet {
    /// The sheet's name.
    pub name: String,
    /// The sheet's rows as CSV (UTF-8, the dialect's delimiter, `,` by default).
    pub csv: Arc<[u8]>,
    /// The sheet's row number (1-based, as Excel shows it) of the header.
    pub header_row: u64,
    /// The sheet's row number of each data record, in order.
    pub rows: Vec<u32>,
    /// Why a data record (by index) cannot be used: its error cells.
    pub problems: HashMap<usize, String>,
}

/// Whether the file at `path` is a workbook: a zip file (xlsx, ods) or an OLE compound file
/// (xls), by its first bytes. A CSV file never starts with either.
pub fn is_workbook(path: &Path) -> bool {
    let mut head = [0u8; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && (head == *b"PK\x03\x04" || head == [0xD0, 0xCF, 0x11, 0xE0])
}

/// The sheet `dialect` names (the first when it names none), found in the workbook at
/// `path`; a note for stderr saying which sheet is read.
///
/// # Errors
/// [`Error::Input`] when the file is not a workbook calamine reads, or has no sheet of that
/// name (the message lists its sheets); [`Error::Io`] when it cannot be read.
pub(super) fn settle(path: &Path, dialect: &Dialect) -> Result<Settled, Error> {
    let sheet = sheet(path, dialect)?;
    let note = format!(
        "reading sheet {:?}: {} data rows; line numbers below are the sheet's row numbers \
         (row {} is the header)",
        sheet.name,
        sheet.rows.len(),
        sheet.header_row
    );
    let name: &'static str = Box::leak(sheet.name.clone().into_boxed_str());
    Ok(Settled {
        dialect: Dialect {
            sheet: Some(name),
            ..*dialect
        },
        note: Some(note),
    })
}

/// Which bytes and sheet a [`Sheet`] was made from, to reuse it while the file holds the same
/// bytes (its digest, not its metadata: a copy saved again within one tick of a coarse clock
/// keeps its size and time).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Key {
    digest: [u8; 32],
    sheet: Option<&'static str>,
    delimiter: Option<u8>,
}

/// The sheets made last: a command reads its input several times (header, plan, each wave,
/// the results), and a workbook is parsed once for all of them.
static MADE: Mutex<Vec<(Key, Arc<Sheet>)>> = Mutex::new(Vec::new());

/// How many sheets [`MADE`] keeps.
const KEPT: usize = 4;

/// The sheet of the workbook at `path` that `dialect` names, as CSV.
///
/// # Errors
/// As [`settle`].
pub fn sheet(path: &Path, dialect: &Dialect) -> Result<Arc<Sheet>, Error> {
    use sha2::Digest as _;
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let key = Key {
        digest: sha2::Sha256::digest(&bytes).into(),
        sheet: dialect.sheet,
        delimiter: dialect.delimiter,
    };
    let made = MADE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, sheet)) = made.iter().find(|(k, _)| *k == key) {
        return Ok(sheet.clone());
    }
    drop(made);
    let sheet = Arc::new(read_sheet(path, &bytes, dialect)?);
    let mut made = MADE.lock().unwrap_or_else(|e| e.into_inner());
    if made.len() == KEPT {
        made.remove(0);
    }
    made.push((key, sheet.clone()));
    Ok(sheet)
}

/// Reads the sheet `dialect` names from `bytes`, the workbook at `path`.
fn read_sheet(path: &Path, bytes: &[u8], dialect: &Dialect) -> Result<Sheet, Error> {
    let input_err = |message: String| Error::Input {
        path: path.to_path_buf(),
        message,
    };
    let ods = ods_text::with_tabs_and_breaks(bytes);
    let bytes = ods.as_deref().unwrap_or(bytes);
    let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|e| {
        input_err(format!(
            "not a workbook orgimport can read (xlsx, xls or ods): {e}"
        ))
    })?;
    let names = book.sheet_names();
    let name = match dialect.sheet {
        Some(wanted) => names
            .iter()
            .find(|n| n.as_str() == wanted)
            .or_else(|| names.iter().find(|n| n.eq_ignore_ascii_case(wanted)))
            .ok_or_else(|| {
                input_err(format!(
                    "there is no sheet {wanted:?}; the workbook's sheets are {}",
                    names
                        .iter()
                        .map(|n| format!("{n:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?
            .clone(),
        None => names
            .first()
            .ok_or_else(|| input_err("the workbook has no sheet".into()))?
            .clone(),
    };
    let range = book
        .worksheet_range(&name)
        .map_err(|e| input_err(format!("sheet {name:?} cannot be read: {e}")))?;
    // Beside each value, its formula if it has one: a formula saved with no value is an
    // empty value, which must not pass for one.
    let formulas = if has_blank_cell(&range) {
        book.worksheet_formula(&name)
            .map_err(|e| input_err(format!("sheet {name:?} cannot be read: {e}")))?
    } else {
        calamine::Range::default()
    };
    let (first_row, first_col) = range.start().unwrap_or((0, 0));
    let formula_at = |row: u32, col: u32| formulas.get_value((row, col)).map(String::as_str);
    // Columns past the last one with a value anywhere (formatting alone widens a range).
    let width = range
        .rows()
        .filter_map(|row| row.iter().rposition(|c| !is_blank(c)))
        .max()
        .map_or(0, |last| last + 1);
    let mut out = csv::WriterBuilder::new()
        .flexible(true)
        .delimiter(dialect.delimiter.unwrap_or(b','))
        .from_writer(Vec::new());
    let mut header_row = None;
    let mut rows = Vec::new();
    let mut problems = HashMap::new();
    let mut headers: Vec<String> = Vec::new();
    let mut cells: Vec<String> = Vec::with_capacity(width);
    for (index, row) in range.rows().enumerate() {
        let at = first_row + index as u32;
        let formula_in =
            |col: usize| formula_at(at, first_col + col as u32).is_some_and(|f| !f.is_empty());
        if row
            .iter()
            .enumerate()
            .all(|(col, c)| is_blank(c) && !formula_in(col))
        {
            continue;
        }
        let number = at + 1;
        cells.clear();
        let mut errors = Vec::new();
        for (col, cell) in row.iter().take(width).enumerate() {
            let text = cell_text(cell);
            if let Some(problem) = problem_of(cell, formula_at(at, first_col + col as u32)) {
                let column = column_name(first_col + col as u32);
                errors.push(match headers.get(col).filter(|h| !h.is_empty()) {
                    Some(header) => format!("column {column} ({header}) {problem}"),
                    None => format!("column {column} {problem}"),
                });
            }
            cells.push(text);
        }
        out.write_record(&cells)
            .map_err(|e| input_err(e.to_string()))?;
        if header_row.is_none() {
            header_row = Some(u64::from(number));
            headers = cells.iter().map(|c| c.trim().to_string()).collect();
            if !errors.is_empty() {
                return Err(input_err(format!(
                    "sheet {name:?}, row {number} (header): {}",
                    errors.join("; ")
                )));
            }
            continue;
        }
        if !errors.is_empty() {
            problems.insert(
                rows.len(),
                format!(
                    "sheet {name:?}, row {number}: {}; fix the cell in the workbook",
                    errors.join("; ")
                ),
            );
        }
        rows.push(number);
    }
    let csv = out
        .into_inner()
        .map_err(|e| input_err(e.error().to_string()))?;
    Ok(Sheet {
        name,
        csv: csv.into(),
        header_row: header_row.unwrap_or(1),
        rows,
        problems,
    })
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
