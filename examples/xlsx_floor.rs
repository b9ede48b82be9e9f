//! calamine's time for an xlsx workbook, beside `orgimport validate`'s: its first sheet read
//! with calamine's cell reader alone (every cell's value touched, nothing converted or
//! checked), once for its values and, with `--formulas`, once more for its formulas first.
//! orgimport reads a sheet's XML by hand (`src/input/workbook/sheet_xml.rs`), faster than this,
//! and through calamine only a sheet its reader leaves to calamine (one with a formula).
//!
//! Usage: `cargo run --release --example xlsx_floor -- FILE.xlsx [--formulas]`

use std::time::Instant;

use calamine::{DataRef, Reader, Xlsx, open_workbook};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let path = args
        .next()
        .ok_or("usage: xlsx_floor FILE.xlsx [--formulas]")?;
    let formulas = args.next().is_some_and(|a| a == "--formulas");
    let started = Instant::now();
    let mut book: Xlsx<_> = open_workbook(&path)?;
    let name = book.sheet_names().first().cloned().ok_or("no sheet")?;
    let opened = started.elapsed().as_secs_f64();
    let mut found = 0u64;
    if formulas {
        let mut cells = book.worksheet_cells_reader(&name)?;
        while let Some(cell) = cells.next_formula()? {
            found += u64::from(!cell.get_value().is_empty());
        }
    }
    let formulas_done = started.elapsed().as_secs_f64();
    let (mut cells_read, mut bytes) = (0u64, 0usize);
    let mut cells = book.worksheet_cells_reader(&name)?;
    while let Some(cell) = cells.next_cell()? {
        cells_read += 1;
        bytes += match cell.get_value() {
            DataRef::String(s) => s.len(),
            DataRef::SharedString(s) => s.len(),
            _ => 8,
        };
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{cells_read} cells ({bytes} value bytes) in {secs:.2}s: opened in {opened:.2}s, \
         formulas ({found} found) {:.2}s, values {:.2}s",
        formulas_done - opened,
        secs - formulas_done
    );
    Ok(())
}
