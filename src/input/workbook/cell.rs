//! One workbook cell as text, as the spreadsheet program shows it, and the error it shows
//! if it holds one.

use std::fmt::Write as _;

use calamine::Data;

/// Whether a cell holds nothing.
pub(super) fn is_blank(cell: &Data) -> bool {
    match cell {
        Data::Empty => true,
        Data::String(s) => s.is_empty(),
        _ => false,
    }
}

/// The error a cell shows, if it holds one: an error value, or (as LibreOffice saves a
/// formula's error in an ods file) the text of one, `#N/A` or `Err:502`.
pub(super) fn error_of(cell: &Data) -> Option<String> {
    const SHOWN: [&str; 8] = [
        "#N/A", "#REF!", "#DIV/0!", "#VALUE!", "#NAME?", "#NULL!", "#NUM!", "#DATA!",
    ];
    match cell {
        Data::Error(e) => Some(e.to_string()),
        Data::String(s) => {
            let s = s.trim();
            let libreoffice = s
                .strip_prefix("Err:")
                .is_some_and(|n| n.len() == 3 && n.bytes().all(|b| b.is_ascii_digit()));
            (SHOWN.contains(&s) || libreoffice).then(|| s.to_string())
        }
        _ => None,
    }
}

/// A cell as text, as the user typed it.
pub(super) fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number_text(*f),
        Data::Bool(b) => b.to_string(),
        Data::Error(e) => e.to_string(),
        Data::DateTime(dt) => {
            let (y, mo, d, h, mi, s, ms) = dt.to_ymd_hms_milli();
            let mut text = String::new();
            let time_of_day = (0.0..1.0).contains(&dt.as_f64());
            if dt.is_duration() {
                let hours = (dt.as_f64() * 24.0).trunc();
                let _ = write!(text, "{hours}:{mi:02}:{s:02}");
            } else if time_of_day {
                let _ = write!(text, "{h:02}:{mi:02}:{s:02}");
            } else {
                let _ = write!(text, "{y:04}-{mo:02}-{d:02}");
                if (h, mi, s, ms) != (0, 0, 0, 0) {
                    let _ = write!(text, "T{h:02}:{mi:02}:{s:02}");
                }
            }
            if ms != 0 {
                let _ = write!(text, ".{ms:03}");
            }
            text
        }
    }
}

/// A number as Excel shows it in a cell of general format: a whole number without a
/// decimal point, others to 15 significant digits (so 0.1+0.2 is 0.3).
pub(super) fn number_text(f: f64) -> String {
    if f == f.trunc() && f.abs() < 1e15 {
        return format!("{}", f as i64);
    }
    let rounded: f64 = format!("{f:.14e}").parse().unwrap_or(f);
    format!("{rounded}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{CellErrorType, ExcelDateTime, ExcelDateTimeType};

    #[test]
    fn cells_read_as_typed() {
        assert_eq!(cell_text(&Data::Float(1200.0)), "1200");
        assert_eq!(cell_text(&Data::Float(12.5)), "12.5");
        assert_eq!(cell_text(&Data::Float(0.1 + 0.2)), "0.3");
        assert_eq!(cell_text(&Data::Float(-3.0)), "-3");
        assert_eq!(cell_text(&Data::Float(4915112345678.0)), "4915112345678");
        assert_eq!(cell_text(&Data::Float(1e20)), "100000000000000000000");
        assert_eq!(cell_text(&Data::Int(7)), "7");
        assert_eq!(cell_text(&Data::Bool(true)), "true");
        assert_eq!(cell_text(&Data::Empty), "");
        let date = |v| Data::DateTime(ExcelDateTime::new(v, ExcelDateTimeType::DateTime, false));
        assert_eq!(cell_text(&date(45352.0)), "2024-03-01");
        assert_eq!(cell_text(&date(45352.5)), "2024-03-01T12:00:00");
        assert_eq!(cell_text(&date(0.75)), "18:00:00");
        assert_eq!(
            error_of(&Data::Error(CellErrorType::NA)).as_deref(),
            Some("#N/A")
        );
        assert_eq!(
            error_of(&Data::String("#REF!".into())).as_deref(),
            Some("#REF!")
        );
        assert_eq!(
            error_of(&Data::String("Err:502".into())).as_deref(),
            Some("Err:502")
        );
        assert_eq!(error_of(&Data::String("#1 customer".into())), None);
        assert_eq!(error_of(&Data::String("Err:5020".into())), None);
    }
}
