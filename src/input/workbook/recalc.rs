//! Whether an xlsx workbook asks to be recalculated when it is opened
//! (`<calcPr fullCalcOnLoad="1"/>` in `xl/workbook.xml`), as xlsxwriter saves every file: its
//! formulas' saved values are then placeholders (xlsxwriter saves 0), not what the spreadsheet
//! program shows, and none of them may be imported.

use std::fs::File;
use std::io::{Read, Seek};

/// The most of `xl/workbook.xml` read: its `calcPr` comes after the sheets and defined names.
const MOST: u64 = 64 << 20;

/// Whether the xlsx workbook `file` asks to be recalculated when opened; `false` when it is
/// not a zip file or has no readable `xl/workbook.xml` (calamine says why, if it matters).
/// Only that entry is read.
pub(super) fn full_calc_on_load(file: &File) -> bool {
    let Ok(mut file) = file.try_clone() else {
        return false;
    };
    if file.rewind().is_err() {
        return false;
    }
    let Ok(mut book) = zip::ZipArchive::new(std::io::BufReader::new(file)) else {
        return false;
    };
    let Ok(entry) = book.by_name("xl/workbook.xml") else {
        return false;
    };
    let mut xml = Vec::new();
    if entry.take(MOST).read_to_end(&mut xml).is_err() {
        return false;
    }
    asks_full_calc(&xml)
}

/// Whether the workbook XML `xml` has a `calcPr` element whose `fullCalcOnLoad` is `1` or
/// `true` (with or without a namespace prefix, in either quotes).
fn asks_full_calc(xml: &[u8]) -> bool {
    let finder = memchr::memmem::Finder::new(b"calcPr");
    finder.find_iter(xml).any(|at| {
        let opens = at > 0 && matches!(xml[at - 1], b'<' | b':');
        let rest = &xml[at + b"calcPr".len()..];
        if !opens || !rest.first().is_some_and(|b| b.is_ascii_whitespace()) {
            return false;
        }
        let tag = &rest[..memchr::memchr(b'>', rest).unwrap_or(rest.len())];
        let Some(name) = memchr::memmem::find(tag, b"fullCalcOnLoad") else {
            return false;
        };
        let value: Vec<u8> = tag[name + b"fullCalcOnLoad".len()..]
            .iter()
            .skip_while(|b| b.is_ascii_whitespace() || **b == b'=')
            .skip(1)
            .take_while(|b| **b != b'"' && **b != b'\'')
            .copied()
            .collect();
        value == b"1" || value == b"true"
    })
}

#[cfg(test)]
mod tests {
    use super::asks_full_calc;

    #[test]
    fn full_calc_on_load_is_read_from_calc_pr() {
        assert!(asks_full_calc(
            br#"<workbook><calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>"#
        ));
        assert!(asks_full_calc(b"<x:calcPr fullCalcOnLoad = 'true' />"));
        assert!(!asks_full_calc(br#"<calcPr fullCalcOnLoad="0"/>"#));
        assert!(!asks_full_calc(br#"<calcPr fullCalcOnLoad="false"/>"#));
        assert!(!asks_full_calc(
            br#"<calcPr iterateCount="100" refMode="A1" iterate="false"/>"#
        ));
        assert!(!asks_full_calc(br#"<calcPrX fullCalcOnLoad="1"/>"#));
        assert!(!asks_full_calc(b"<workbook/>"));
    }
}
