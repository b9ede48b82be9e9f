//! Rows that would create an organization with no template: no `template_id` of their own and
//! no default (`--template-id`, `ORGIMPORT_TEMPLATE_ID`, the profile's, the sandbox's). The
//! product doc says to always give one, so `import`, its dry run and `plan` refuse such rows
//! before anything is sent, unless `--no-template` says it is meant; `validate` warns.
//! [`RowTemplates`]: the template ids the rows to send would be sent with, each with its
//! rows' lines, for the check that every one is a template of the tenant before anything
//! is sent.

use std::collections::BTreeMap;
use std::path::Path;

use super::Numbering;
use crate::Error;

/// How many of the rows' lines a message names.
const SHOWN_LINES: usize = 5;

/// The rows to be sent that name no template.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Untemplated {
    /// How many there are.
    pub rows: usize,
    /// The lines of the first few, in file order, for the message.
    pub first_lines: Vec<u64>,
    /// Whether they are lines or a sheet's rows.
    pub numbering: Numbering,
}

impl Untemplated {
    /// Counts the row at `line` as one with no template.
    pub fn add(&mut self, line: u64) {
        self.rows += 1;
        if self.first_lines.len() < SHOWN_LINES {
            self.first_lines.push(line);
        }
    }

    /// `Ok` when no row lacks a template; else the error that refuses `input`'s run.
    ///
    /// # Errors
    /// [`Error::NoTemplate`] naming the rows and both fixes.
    pub fn refuse(self, input: &Path) -> Result<(), Error> {
        if self.rows == 0 {
            return Ok(());
        }
        Err(Error::NoTemplate {
            path: input.to_path_buf(),
            rows: self.rows,
            lines: self.lines(),
        })
    }

    /// `line 2, 5, 9 and 3 more` (or a sheet's `row 2, 5, 9 ...`): the lines for a message.
    pub fn lines(&self) -> String {
        let shown: Vec<String> = self.first_lines.iter().map(u64::to_string).collect();
        let word = match (&self.numbering, shown.len()) {
            (Numbering::Lines, 1) => "line",
            (Numbering::Lines, _) => "lines",
            (Numbering::SheetRows(_), 1) => "row",
            (Numbering::SheetRows(_), _) => "rows",
        };
        let more = self.rows - self.first_lines.len();
        if more > 0 {
            format!("{word} {} and {more} more", shown.join(", "))
        } else {
            format!("{word} {}", shown.join(", "))
        }
    }
}

/// The template ids the rows to be sent would be sent with (their own `template_id`, else the
/// default), each with the rows that name it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowTemplates {
    /// Each id, with its rows (their count and first lines); rows that take the default
    /// template are counted under it.
    pub ids: BTreeMap<String, Untemplated>,
    /// The default template, when one applies (`--template-id`, the profile's, the
    /// sandbox's), even when no row takes it.
    pub default: Option<String>,
}

impl RowTemplates {
    /// No rows yet; `default` for the rows that name no template.
    pub(crate) fn new(default: Option<&str>) -> RowTemplates {
        RowTemplates {
            default: default.map(str::to_string),
            ..RowTemplates::default()
        }
    }

    /// Counts the row at `line` as one sent with the template `id`.
    pub(crate) fn add(&mut self, id: &str, line: u64) {
        match self.ids.get_mut(id) {
            Some(rows) => rows.add(line),
            None => self.ids.entry(id.to_string()).or_default().add(line),
        }
    }

    /// Every id to check, the default first (a typo in `--template-id` is the likelier
    /// mistake), each with its rows when any row takes it.
    pub fn to_check(&self) -> Vec<(&str, Option<&Untemplated>)> {
        let mut ids: Vec<(&str, Option<&Untemplated>)> = Vec::new();
        if let Some(default) = &self.default {
            ids.push((default, self.ids.get(default)));
        }
        for (id, rows) in &self.ids {
            if Some(id) != self.default.as_ref() {
                ids.push((id, Some(rows)));
            }
        }
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_count_the_first_lines_and_both_fixes() {
        let mut none = Untemplated::default();
        assert!(none.clone().refuse(Path::new("c.csv")).is_ok());
        none.add(7);
        assert_eq!(none.lines(), "line 7");
        let mut many = Untemplated::default();
        for line in 2..10 {
            many.add(line);
        }
        let error = many.refuse(Path::new("c.csv")).unwrap_err().to_string();
        assert!(error.starts_with("c.csv: 8 row(s) would create"), "{error}");
        assert!(error.contains("lines 2, 3, 4, 5, 6 and 3 more"), "{error}");
        assert!(error.contains("--template-id"), "{error}");
        assert!(error.contains("template_id column"), "{error}");
        assert!(error.contains("--no-template"), "{error}");
    }
}
