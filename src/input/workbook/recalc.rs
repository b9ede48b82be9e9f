//! Whether an xlsx workbook asks to be recalculated when it is opened
//! (`<calcPr fullCalcOnLoad="1"/>` in `xl/workbook.xml`), as xlsxwriter saves every file: its
//! formulas' saved values are then placeholders (xlsxwriter saves 0), not what the spreadsheet
//! program shows, and none of them may be imported. Whether the workbook holds a formula at
//! all ([`holds_formula`]) is told from its XML, far faster than calamine reads the formulas.

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

/// Whether the xlsx workbook `file` may hold a formula: a formula element (`<f>`, `<f ...>`,
/// `<x:f>`) in any of its parts, each inflated and searched as it is read, never held. `true`
/// when it cannot tell (a part that cannot be read), and for text that only looks like one
/// (`:f ` in a note): then the formulas are read, as they would be without this look.
///
/// It reads `file` through offsets of its own, so that calamine may read the same open file
/// meanwhile. Elsewhere than on Unix a read at an offset moves the position calamine's handle
/// shares, so it is always `true` there: the formulas are read, as before this look.
pub(super) fn holds_formula(file: &File) -> bool {
    #[cfg(unix)]
    return scan_for_formula(file);
    #[cfg(not(unix))]
    {
        let _ = file;
        true
    }
}

/// [`holds_formula`], on Unix.
#[cfg(unix)]
fn scan_for_formula(file: &File) -> bool {
    let Ok(file) = file.try_clone() else {
        return true;
    };
    let at_offsets = AtOffsets { file, at: 0 };
    let Ok(mut book) = zip::ZipArchive::new(std::io::BufReader::new(at_offsets)) else {
        return true;
    };
    let mut buf = vec![0u8; 1 << 20];
    for index in 0..book.len() {
        let Ok(mut part) = book.by_index(index) else {
            return true;
        };
        // The last bytes of the chunk before, for an element cut between two chunks.
        let mut kept = 0;
        loop {
            let read = match part.read(&mut buf[kept..]) {
                Ok(0) => break,
                Ok(read) => read,
                Err(_) => return true,
            };
            let end = kept + read;
            if formula_element(&buf[..end]) {
                return true;
            }
            kept = end.min(2);
            buf.copy_within(end - kept..end, 0);
        }
    }
    false
}

#[cfg_attr(not(unix), allow(dead_code))]
/// Whether `xml` holds the start of a formula element, `<f` or `:f` followed by `>`, `/` or
/// white space, other than at its very end.
fn formula_element(xml: &[u8]) -> bool {
    [&b"<f"[..], &b":f"[..]].iter().any(|start| {
        memchr::memmem::find_iter(xml, start).any(|at| {
            xml.get(at + 2)
                .is_some_and(|b| matches!(b, b'>' | b'/' | b' ' | b'\t' | b'\r' | b'\n'))
        })
    })
}

/// A file read at offsets of its own, not the open file's: a clone of it reads elsewhere
/// meanwhile.
#[cfg(unix)]
struct AtOffsets {
    file: File,
    at: u64,
}

#[cfg(unix)]
impl Read for AtOffsets {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = std::os::unix::fs::FileExt::read_at(&self.file, buf, self.at)?;
        self.at += read as u64;
        Ok(read)
    }
}

#[cfg(unix)]
impl Seek for AtOffsets {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        use std::io::SeekFrom;
        let len = self.file.metadata()?.len();
        let to = match pos {
            SeekFrom::Start(to) => Some(to),
            SeekFrom::End(by) => len.checked_add_signed(by),
            SeekFrom::Current(by) => self.at.checked_add_signed(by),
        };
        self.at = to.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start")
        })?;
        Ok(self.at)
    }
}

#[cfg(test)]
mod tests {
    use super::{asks_full_calc, formula_element};

    #[test]
    fn formula_elements_are_told_from_other_elements_starting_with_f() {
        assert!(formula_element(br#"<c r="A1"><f>1+1</f><v>2</v></c>"#));
        assert!(formula_element(
            br#"<c><f t="shared" ref="A1:A9" si="0"/></c>"#
        ));
        assert!(formula_element(b"<x:c><x:f>A1</x:f></x:c>"));
        assert!(!formula_element(
            br#"<font><family val="2"/></font><fill/><fgColor/>"#
        ));
        assert!(!formula_element(
            br#"<c t="inlineStr"><is><t>a &lt;f&gt; b</t></is></c>"#
        ));
        // Cut at the end: the next chunk starts with what was kept of this one.
        assert!(!formula_element(b"<c><f"));
    }

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
