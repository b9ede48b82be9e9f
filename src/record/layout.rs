//! The results file's layout: the columns orgimport appends after the input's own, in this
//! version and the earlier ones it still reads, and the neutralizing of cells that a
//! spreadsheet would run as formulas.

use std::borrow::Cow;

use csv::StringRecord;

/// The columns the results file adds after the input's own.
pub const RESULT_COLUMNS: [&str; 6] = [
    "status",
    "org_id",
    "http_status",
    "error",
    "attempts",
    "changes",
];
/// The result columns of files written before `changes` was added; they still load.
pub(crate) const OLD_RESULT_COLUMNS: [&str; 5] =
    ["status", "org_id", "http_status", "error", "attempts"];

/// A cell as written to the results file: one that a spreadsheet would run as a formula
/// (starting with `=`, `+`, `-`, `@`, tab or CR) gets a leading `'`, and so does one that
/// starts with `'`, so that [`restore`] can undo it exactly.
pub fn neutralize(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\'') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// A results-file cell as it was in the input (undoes [`neutralize`]).
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest)
            if rest
                .chars()
                .next()
                .is_some_and(|c| matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r' | '\'')) =>
        {
            rest
        }
        _ => cell,
    }
}

/// How many of a results file's last columns are orgimport's (`headers` with formula marks
/// removed): this version's [`RESULT_COLUMNS`] or the earlier ones without `changes`.
///
/// # Errors
/// Why the file is not a results file, when its last columns are neither.
pub fn result_width(headers: &StringRecord) -> Result<usize, String> {
    let width = headers.len();
    let ends_with = |columns: &[&str]| {
        width >= columns.len()
            && headers
                .iter()
                .skip(width - columns.len())
                .eq(columns.iter().copied())
    };
    if ends_with(&RESULT_COLUMNS) {
        Ok(RESULT_COLUMNS.len())
    } else if ends_with(&OLD_RESULT_COLUMNS) {
        Ok(OLD_RESULT_COLUMNS.len())
    } else {
        Err(format!(
            "its last columns are not {}",
            RESULT_COLUMNS.join(",")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralized_and_restored_exactly() {
        for cell in [
            "=HYPERLINK(\"x\")",
            "+1 555",
            "-5",
            "@SUM(A1)",
            "\tx",
            "'=x",
            "'quoted",
            "plain",
            "",
        ] {
            let written = neutralize(cell);
            assert!(
                !written.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{written:?}"
            );
            assert_eq!(restore(&written), cell, "{cell:?}");
        }
        assert_eq!(neutralize("plain"), "plain");
        assert_eq!(neutralize("=1+2"), "'=1+2");
    }
}
