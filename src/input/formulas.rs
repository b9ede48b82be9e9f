//! The one rule for cells a spreadsheet would run as formulas: how every file orgimport writes
//! for people (the results file, the plan, the reports, an export) neutralizes them, and how
//! every reader (an input row, a results file read back) restores them, so that a file
//! orgimport wrote is read back as the values it was written from.

use std::borrow::Cow;

/// The characters that make a spreadsheet read a cell as a formula, and the mark itself.
fn needs_mark(c: char) -> bool {
    matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r' | '\'')
}

/// A cell as written to a file people open: one that a spreadsheet would run as a formula
/// (starting with `=`, `+`, `-`, `@`, tab or CR) gets a leading `'`, and so does one that
/// starts with `'`, so that [`restore`] can undo it exactly.
pub fn neutralize(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some(c) if needs_mark(c) => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// A cell as it was before [`neutralize`]: a leading `'` followed by one of the marked
/// characters is dropped; any other cell (`'quoted`, a plain word) is as it is.
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.chars().next().is_some_and(needs_mark) => rest,
        _ => cell,
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
            "\rx",
            "'=x",
            "'quoted",
            "''",
            "'",
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
        // A quote the user typed before a plain word is theirs: kept as it is.
        assert_eq!(restore("'quoted"), "'quoted");
    }
}
