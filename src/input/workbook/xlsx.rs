//! An xlsx sheet that [`super::sheet_xml`] leaves to calamine read cell by cell with
//! calamine's cell reader, never holding its cells, into
//! CSV text ([`TextBuilder`]); its formulas read too when the workbook asks to be
//! recalculated when opened and holds any.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use calamine::{Data, Xlsx};

use super::cell::is_blank;
use super::text::TextBuilder;
use super::{Input, recalc};
use crate::input::Dialect;

/// What a sheet's text is: as [`super::read_sheet`] says.
type Read = (Option<super::Sheet>, bool);

/// The sheet `name` of the xlsx workbook `xlsx` (read from `file`) as CSV text in `dir`, and
/// whether it holds a value; `None` when it has a blank cell, which may be a formula saved with
/// no value: such a sheet is read through a range, beside its formulas. A workbook that asks to
/// be `recalculated` when opened has its formulas read first when it holds any (each formula
/// cell is refused): whether it does is looked for in its XML on another thread while the
/// values are read ([`recalc::holds_formula`]), since most hold none and calamine takes as
/// long to read a sheet's formulas as its values.
///
/// # Errors
/// A message when the sheet cannot be read, or its header holds an error cell.
pub(super) fn read_sheet(
    xlsx: &mut Xlsx<Input>,
    file: &File,
    name: &str,
    dialect: &Dialect,
    recalculated: bool,
    dir: &Path,
) -> Result<Option<Read>, String> {
    let mut formulas: HashMap<(u32, u32), String> = HashMap::new();
    if recalculated {
        let (holds, text) = std::thread::scope(|scope| {
            let holds = scope.spawn(|| recalc::holds_formula(file));
            let text = values(xlsx, name, dialect, true, dir, &formulas);
            (holds.join().unwrap_or(true), text)
        });
        if !holds && let Some(text) = text? {
            return text.finish().map(Some);
        }
        let unreadable = |e: &dyn std::fmt::Display| format!("sheet {name:?} cannot be read: {e}");
        let mut cells = xlsx
            .worksheet_cells_reader(name)
            .map_err(|e| unreadable(&e))?;
        while let Some(cell) = cells.next_formula().map_err(|e| unreadable(&e))? {
            if !cell.get_value().trim().is_empty() {
                formulas.insert(cell.get_position(), cell.get_value().clone());
            }
        }
    }
    match values(xlsx, name, dialect, recalculated, dir, &formulas)? {
        Some(text) => text.finish().map(Some),
        None => Ok(None),
    }
}

/// The values of the sheet `name` as CSV text, each beside its formula in `formulas`, if it has
/// one; `None` at the first blank cell, unless the workbook is `recalculated` when opened.
fn values(
    xlsx: &mut Xlsx<Input>,
    name: &str,
    dialect: &Dialect,
    recalculated: bool,
    dir: &Path,
    formulas: &HashMap<(u32, u32), String>,
) -> Result<Option<TextBuilder>, String> {
    let unreadable = |e: &dyn std::fmt::Display| format!("sheet {name:?} cannot be read: {e}");
    let mut text = TextBuilder::new(name, dialect, recalculated, dir)?;
    let mut cells = xlsx
        .worksheet_cells_reader(name)
        .map_err(|e| unreadable(&e))?;
    let mut row: Vec<Data> = Vec::new();
    let mut at = None;
    let formula_in = |r: u32| move |c: usize| formulas.get(&(r, c as u32)).map(String::as_str);
    while let Some(cell) = cells.next_cell().map_err(|e| unreadable(&e))? {
        let (r, c) = cell.get_position();
        if at != Some(r) {
            if let Some(number) = at {
                text.push(number + 1, 0, &row, &formula_in(number))?;
            }
            row.clear();
            at = Some(r);
        }
        let c = c as usize;
        if row.len() <= c {
            row.resize(c + 1, Data::Empty);
        }
        row[c] = Data::from(cell.get_value().clone());
        if is_blank(&row[c]) && !recalculated {
            return Ok(None);
        }
    }
    if let Some(number) = at {
        text.push(number + 1, 0, &row, &formula_in(number))?;
    }
    Ok(Some(text))
}
