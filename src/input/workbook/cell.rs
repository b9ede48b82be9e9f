//! One workbook cell as text, as the spreadsheet program shows it, and the error it shows
//! if it holds one.

use std::borrow::Cow;
use std::fmt::Write as _;

use calamine::{Data, ExcelDateTime, ExcelDateTimeType, Range};

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
            if !s.starts_with(['#', 'E']) {
                return None;
            }
            let libreoffice = s
                .strip_prefix("Err:")
                .is_some_and(|n| n.len() == 3 && n.bytes().all(|b| b.is_ascii_digit()));
            (SHOWN.contains(&s) || libreoffice).then(|| s.to_string())
        }
        _ => None,
    }
}

/// Whether a sheet has a blank cell, where a formula saved with no value may be: only then
/// are its formulas worth reading (an xlsx sheet's are read in a second pass over it).
pub(super) fn has_blank_cell(range: &Range<Data>) -> bool {
    range.cells().any(|(_, _, cell)| is_blank(cell))
}

/// What makes a cell unusable, worded to follow "column D (email) ": the error it shows
/// ([`error_of`]), or a formula (`formula`, as calamine reads it beside the value) saved with
/// no value. openpyxl, xlwt and odfpy save formulas so, and a spreadsheet program computes
/// them when it opens the file; the file holds nothing to import. A formula whose saved value
/// is empty text reads the same in xlsx and xls files, and is refused alike: an empty field
/// is never guessed. In a workbook that asks to be `recalculated` when opened (xlsxwriter's
/// files, which save 0 as every formula's value), every formula's saved value is refused.
pub(super) fn problem_of(cell: &Data, formula: Option<&str>, recalculated: bool) -> Option<String> {
    let formula = formula.map(str::trim).filter(|f| !f.is_empty());
    if let Some(error) = error_of(cell).filter(|_| !(recalculated && formula.is_some())) {
        return Some(format!("holds the error {error}"));
    }
    let formula = formula?;
    // ods files name the formula's syntax, "of:=2*21"; xlsx and xls files give it bare.
    let shown = formula.strip_prefix("of:").unwrap_or(formula);
    let shown = shown.strip_prefix('=').unwrap_or(shown);
    let fix = "open and save the file in Excel or LibreOffice, which save each formula's value";
    if recalculated {
        return Some(format!(
            "holds the formula ={shown}, whose saved value is not the formula's: the file asks \
             to be recalculated when opened (as xlsxwriter saves files); {fix}"
        ));
    }
    is_blank(cell).then(|| format!("holds the formula ={shown} with no saved value: {fix}"))
}

/// A cell as text, as a spreadsheet program shows it: numbers as [`number_text`], dates and
/// times as [`date_time_text`], [`iso_date_time_text`] and [`iso_duration_text`], booleans
/// as `true`/`false`, text as it is.
pub(super) fn cell_text(cell: &Data) -> Cow<'_, str> {
    match cell {
        Data::Empty => Cow::Borrowed(""),
        Data::String(s) => Cow::Borrowed(s),
        Data::DateTimeIso(s) => iso_date_time_text(s).into(),
        Data::DurationIso(s) => iso_duration_text(s).into(),
        Data::Int(i) => i.to_string().into(),
        Data::Float(f) => number_text(*f).into(),
        Data::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        Data::Error(e) => e.to_string().into(),
        Data::DateTime(dt) => date_time_text(dt).into(),
    }
}

/// Milliseconds in a day.
const DAY_MS: f64 = 86_400_000.0;

/// A date or time cell of an xlsx or xls file (a number of days, with a date, time or
/// duration format): a duration as `[HH]:MM:SS` shows it (`30:05:00`, `07:03:41`), a time of
/// day (a value under one day) as `HH:MM:SS`, others as an ISO 8601 date, with `THH:MM:SS`
/// when the time is not midnight. The time is rounded to the millisecond, as the value is
/// saved to a millisecond's precision (10:31:17 is 0.438391203703..., a hair below or above
/// the second), and milliseconds are shown only when there are some: `.250`.
pub(super) fn date_time_text(dt: &ExcelDateTime) -> String {
    let value = dt.as_f64();
    if dt.is_duration() || (0.0..1.0).contains(&value) {
        let ms = (value.abs() * DAY_MS).round() as u64;
        let sign = if value < 0.0 && ms > 0 { "-" } else { "" };
        // A time of day that rounds up to midnight shows as midnight.
        let ms = if dt.is_duration() {
            ms
        } else {
            ms % DAY_MS as u64
        };
        return format!("{sign}{}", clock(ms / 3_600_000, ms % 3_600_000));
    }
    let mut day = value.floor();
    let mut ms = ((value - day) * DAY_MS).round() as u64;
    if ms >= DAY_MS as u64 {
        day += 1.0;
        ms = 0;
    }
    // calamine's own date conversion keeps the workbook's epoch (1900 or 1904), which it
    // does not show but compares: the day is converted with the same one.
    let kind = if dt.is_duration() {
        ExcelDateTimeType::TimeDelta
    } else {
        ExcelDateTimeType::DateTime
    };
    let is_1904 = *dt != ExcelDateTime::new(value, kind, false);
    let (y, mo, d, ..) = ExcelDateTime::new(day, kind, is_1904).to_ymd_hms_milli();
    let mut text = format!("{y:04}-{mo:02}-{d:02}");
    if ms != 0 {
        let _ = write!(text, "T{}", clock(ms / 3_600_000, ms % 3_600_000));
    }
    text
}

/// `HH:MM:SS` of `hours` and `ms` milliseconds past the hour, with `.mmm` when there are
/// milliseconds; hours past 99 take the digits they need.
fn clock(hours: u64, ms: u64) -> String {
    let (minutes, ms) = (ms / 60_000, ms % 60_000);
    let (seconds, ms) = (ms / 1000, ms % 1000);
    let mut text = format!("{hours:02}:{minutes:02}:{seconds:02}");
    if ms != 0 {
        let _ = write!(text, ".{ms:03}");
    }
    text
}

/// A date or date-time of an ods file (`2024-03-01`, `2024-03-01T10:31:17.250000`) as
/// [`date_time_text`] shows one: milliseconds to three digits, and only when there are some;
/// a midnight time dropped. Anything else is kept as it is.
pub(super) fn iso_date_time_text(iso: &str) -> String {
    let Some((date, time)) = iso.split_once('T') else {
        return iso.to_string();
    };
    let (clock_part, fraction) = time.split_once('.').unwrap_or((time, ""));
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if clock_part.len() != 8 || !digits_only(fraction) {
        return iso.to_string();
    }
    let ms: String = fraction.chars().chain("000".chars()).take(3).collect();
    let mut text = date.to_string();
    if clock_part != "00:00:00" || ms != "000" {
        let _ = write!(text, "T{clock_part}");
        if ms != "000" {
            let _ = write!(text, ".{ms}");
        }
    }
    text
}

/// A time or duration of an ods file, an ISO 8601 duration (`PT10H31M17S`, `PT30H05M00S`,
/// `P1DT2H`, `-PT0H30M`), as `HH:MM:SS` the way xlsx cells show it (hours past 24 kept, as
/// a duration's `[HH]:MM:SS` shows them); anything else is kept as it is.
pub(super) fn iso_duration_text(iso: &str) -> String {
    let (sign, rest) = match iso.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", iso),
    };
    let parse = || -> Option<u64> {
        let rest = rest.strip_prefix('P')?;
        let (days, time) = rest.split_once('T').unwrap_or((rest, ""));
        let days = match days {
            "" => 0,
            d => d.strip_suffix('D')?.parse::<u64>().ok()?,
        };
        let mut ms = days * DAY_MS as u64;
        let mut number = String::new();
        for c in time.chars() {
            let unit = match c {
                'H' => 3_600_000.0,
                'M' => 60_000.0,
                'S' => 1000.0,
                _ => {
                    number.push(c);
                    continue;
                }
            };
            let n: f64 = number.parse().ok()?;
            ms += (n * unit).round() as u64;
            number.clear();
        }
        number.is_empty().then_some(ms)
    };
    match parse() {
        Some(ms) => format!("{sign}{}", clock(ms / 3_600_000, ms % 3_600_000)),
        None => iso.to_string(),
    }
}

/// The largest whole number below which every whole number is held exactly as a number
/// (2^53): 4111111111111111 and 1234567890123457 among them.
const EXACT: f64 = 9_007_199_254_740_992.0;

/// A number as a spreadsheet shows it in a cell of general format: a whole number held
/// exactly (below 2^53, 16 digits and some) in all its digits and without a decimal point,
/// others to 15 significant digits (so 0.1+0.2 is 0.3, and a whole number too large to be
/// held exactly shows as Excel shows it, 12345678901234567 as 12345678901234600).
pub(super) fn number_text(f: f64) -> String {
    if f == f.trunc() && f.abs() < EXACT {
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

    fn date(value: f64) -> Data {
        Data::DateTime(ExcelDateTime::new(
            value,
            ExcelDateTimeType::DateTime,
            false,
        ))
    }

    fn duration(value: f64) -> Data {
        Data::DateTime(ExcelDateTime::new(
            value,
            ExcelDateTimeType::TimeDelta,
            false,
        ))
    }

    /// The values below are as openpyxl, xlsxwriter, xlwt and LibreOffice save them
    /// (tests/fixtures/workbooks): a hair below or above the second.
    #[test]
    fn dates_and_times_show_to_the_second_and_milliseconds_only_when_there_are_some() {
        assert_eq!(cell_text(&date(45352.4383912037)), "2024-03-01T10:31:17");
        assert_eq!(cell_text(&date(36525.99998842592)), "1999-12-31T23:59:59");
        assert_eq!(cell_text(&date(36525.9999884259)), "1999-12-31T23:59:59");
        assert_eq!(
            cell_text(&date(45352.43839409723)),
            "2024-03-01T10:31:17.250"
        );
        assert_eq!(cell_text(&date(45352.99999999999)), "2024-03-02");
        assert_eq!(cell_text(&date(0.4383912037037037)), "10:31:17");
        assert_eq!(cell_text(&date(0.438391203703704)), "10:31:17");
        assert_eq!(cell_text(&date(0.999988425925926)), "23:59:59");
        assert_eq!(cell_text(&date(0.0)), "00:00:00");
        assert_eq!(cell_text(&duration(1.253472222222222)), "30:05:00");
        assert_eq!(cell_text(&duration(1.25347222222222)), "30:05:00");
        assert_eq!(cell_text(&duration(0.294224537037037)), "07:03:41");
        assert_eq!(cell_text(&duration(5.0)), "120:00:00");
        assert_eq!(cell_text(&duration(-0.5)), "-12:00:00");
        // A workbook counting days from 1904 (Excel for Mac's old default).
        let mac = Data::DateTime(ExcelDateTime::new(
            43890.4383912037,
            ExcelDateTimeType::DateTime,
            true,
        ));
        assert_eq!(cell_text(&mac), "2024-03-01T10:31:17");
    }

    #[test]
    fn ods_dates_and_times_show_as_xlsx_ones_do() {
        let iso = |s: &str| cell_text(&Data::DateTimeIso(s.into())).into_owned();
        assert_eq!(iso("2024-03-01"), "2024-03-01");
        assert_eq!(iso("2024-03-01T10:31:17"), "2024-03-01T10:31:17");
        assert_eq!(iso("2024-03-01T10:31:17.250000"), "2024-03-01T10:31:17.250");
        assert_eq!(iso("2024-03-01T10:31:17.25"), "2024-03-01T10:31:17.250");
        assert_eq!(iso("2024-03-01T10:31:17.000"), "2024-03-01T10:31:17");
        assert_eq!(iso("2024-03-01T00:00:00"), "2024-03-01");
        assert_eq!(iso("2024-03-01T10:31:17Z"), "2024-03-01T10:31:17Z");
        let time = |s: &str| cell_text(&Data::DurationIso(s.into())).into_owned();
        assert_eq!(time("PT10H31M17S"), "10:31:17");
        assert_eq!(time("PT30H05M00S"), "30:05:00");
        assert_eq!(time("PT07H03M41S"), "07:03:41");
        assert_eq!(time("PT10H31M17.25S"), "10:31:17.250");
        assert_eq!(time("P1DT2H"), "26:00:00");
        assert_eq!(time("-PT0H30M"), "-00:30:00");
        assert_eq!(time("PT"), "00:00:00");
        assert_eq!(time("10:31"), "10:31");
        assert_eq!(time("PT5X"), "PT5X");
    }

    #[test]
    fn whole_numbers_held_exactly_show_all_their_digits() {
        assert_eq!(number_text(4111111111111111.0), "4111111111111111");
        assert_eq!(number_text(1234567890123457.0), "1234567890123457");
        assert_eq!(number_text(-1234567890123457.0), "-1234567890123457");
        assert_eq!(number_text(9007199254740991.0), "9007199254740991");
        assert_eq!(number_text(999999999999999.0), "999999999999999");
        // Past 2^53 a number no longer holds every whole number: shown as Excel shows it.
        assert_eq!(number_text(12345678901234567.0), "12345678901234600");
        assert_eq!(number_text(1234.5678), "1234.5678");
        assert_eq!(number_text(-42.25), "-42.25");
    }

    #[test]
    fn formulas_are_read_only_for_a_sheet_with_a_blank_cell() {
        let mut full = Range::new((0, 0), (1, 1));
        for (row, col) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            full.set_value((row, col), Data::Float(1.0));
        }
        assert!(!has_blank_cell(&full));
        full.set_value((1, 1), Data::String(String::new()));
        assert!(has_blank_cell(&full));
        let mut sparse = Range::new((0, 0), (1, 1));
        sparse.set_value((0, 0), Data::Float(1.0));
        assert!(has_blank_cell(&sparse));
    }

    #[test]
    fn a_formula_saved_with_no_value_is_a_problem_and_one_with_a_value_is_not() {
        let unsaved = problem_of(&Data::Empty, Some("of:=2*21"), false).unwrap();
        assert!(
            unsaved.starts_with("holds the formula =2*21 with no saved value"),
            "{unsaved}"
        );
        assert!(
            unsaved.contains("open and save the file in Excel or LibreOffice"),
            "{unsaved}"
        );
        let unsaved = problem_of(&Data::String(String::new()), Some("2*21"), false).unwrap();
        assert!(unsaved.starts_with("holds the formula =2*21 "), "{unsaved}");
        assert_eq!(problem_of(&Data::Float(5.0), Some("2+3"), false), None);
        assert_eq!(
            problem_of(&Data::String("total".into()), Some("A1"), false),
            None
        );
        assert_eq!(problem_of(&Data::Empty, None, false), None);
        assert_eq!(problem_of(&Data::Empty, Some(""), false), None);
        assert_eq!(
            problem_of(&Data::Error(CellErrorType::Div0), Some("1/0"), false).as_deref(),
            Some("holds the error #DIV/0!")
        );
    }

    #[test]
    fn in_a_workbook_recalculated_when_opened_every_formula_value_is_a_problem() {
        for cell in [
            Data::Float(0.0),
            Data::Error(CellErrorType::Div0),
            Data::Empty,
        ] {
            let problem = problem_of(&cell, Some("1+1"), true).unwrap();
            assert!(problem.starts_with("holds the formula =1+1, "), "{problem}");
            assert!(
                problem.contains("open and save the file in Excel or LibreOffice"),
                "{problem}"
            );
        }
        assert_eq!(problem_of(&Data::Float(2.0), None, true), None);
        assert_eq!(
            problem_of(&Data::Error(CellErrorType::NA), None, true).as_deref(),
            Some("holds the error #N/A")
        );
    }
}
