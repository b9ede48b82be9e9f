//! The one outline every reader of a results file follows (a rerun's [`earlier_runs`], the
//! whole-file [`results_file`] of `verify`, `undo`, `export` and the console, and the tenant
//! mark's first-row look): open the file as orgimport wrote it, know its columns from its
//! header ([`Layout`]), then take each row through the same checks in the same order: a line
//! that cannot be read is refused, a row of another tenant refuses the file, and its result
//! cells are read as [`read_back`] says. The refusals are gathered and given together, with
//! two rows recording one organization among them.
//!
//! [`earlier_runs`]: super::earlier_runs
//! [`results_file`]: super::results_file

use std::borrow::Cow;
use std::path::Path;

use csv::StringRecord;

use super::layout::{Column, Layout};
use super::read_back::{self, Place, Reading};
use super::{Outcome, TenantCheck, restore};
use crate::Error;
use crate::input::{RawRow, Rows, Source};

/// A results file opened, its header read.
pub(crate) struct Opened {
    /// The file, as orgimport writes it.
    pub source: Source,
    /// Its header, neutralizing undone.
    pub headers: StringRecord,
    /// Where its columns are, in the version it was written in.
    pub layout: Layout,
}

impl Opened {
    /// Opens the results file at `path` and reads its header; `not_ours` words the refusal of
    /// a file whose header is not a results file's (from why it is not).
    ///
    /// # Errors
    /// [`Error::Input`] when the header is not a results file's, [`Error::Io`] when the file
    /// cannot be read.
    pub(crate) fn open(
        path: &Path,
        not_ours: impl FnOnce(String) -> String,
    ) -> Result<Self, Error> {
        let source = Source::written(path)?;
        let headers: StringRecord = source.headers().iter().map(restore).collect();
        let layout = Layout::of(&headers).map_err(|why| Error::Input {
            path: path.to_path_buf(),
            message: not_ours(why),
        })?;
        Ok(Opened {
            source,
            headers,
            layout,
        })
    }

    /// The header of the input's columns, which come first.
    pub(crate) fn input_headers(&self) -> StringRecord {
        self.headers
            .iter()
            .take(self.layout.input_width())
            .collect()
    }

    /// The rows, in order, each laid out in the file's width.
    ///
    /// # Errors
    /// As [`Source::rows`].
    pub(crate) fn rows(&self) -> Result<Rows, Error> {
        self.source.rows(self.layout.width())
    }
}

/// One row of a results file, taken through the checks every reader makes.
pub(crate) enum Checked<'r> {
    /// It names another tenant than the command's (the cell as it reads): the file is refused.
    OtherTenant(Place, String),
    /// It cannot be read without guessing: why (the file is refused with it).
    Refused(Place, String),
    /// Read: its cells (neutralizing undone), the outcome they say, and why it was read other
    /// than as written, if it was.
    Read {
        /// Where it is.
        place: Place,
        /// Its cells, copied only when one was neutralized.
        cells: Cow<'r, StringRecord>,
        /// What became of the row.
        outcome: Outcome,
        /// Why it was read other than as written (for a warning).
        why: Option<String>,
    },
}

/// Takes `row`, of a file laid out as `layout`, through the checks in their order: a line that
/// cannot be read, then the tenant it names (which `check` must accept), then its result
/// cells ([`read_back::read_cells`]).
pub(crate) fn check_row<'r>(row: &'r RawRow, layout: Layout, check: &TenantCheck) -> Checked<'r> {
    let place = Place::Results(row.line);
    if let Some(problem) = &row.problem {
        return Checked::Refused(place, read_back::unreadable_line(problem).to_string());
    }
    if layout.version().records_tenant() {
        let tenant = restore(layout.cell(&row.record, Column::Tenant));
        if !check.accepts(tenant) {
            return Checked::OtherTenant(place, tenant.to_string());
        }
    }
    // Only a row with a cell that was neutralized is copied to restore it.
    let cells = if row.record.iter().any(|c| c.starts_with('\'')) {
        Cow::Owned(row.record.iter().map(restore).collect())
    } else {
        Cow::Borrowed(&row.record)
    };
    let (outcome, mut why) = match read_back::read_cells(layout.cells(&cells)) {
        Reading::Sound(outcome) => (outcome, None),
        Reading::Partly { outcome, why } => (outcome, Some(why)),
        Reading::Unreadable(why) => return Checked::Refused(place, why.to_string()),
    };
    if let Some(padded) = padded_result_cells(row, layout) {
        why = Some(match why {
            Some(why) => format!("{padded}; {why}"),
            None => padded,
        });
    }
    Checked::Read {
        place,
        cells,
        outcome,
        why,
    }
}

/// What a row's result cells with spaces around them (which orgimport never writes: the file
/// was edited) were read as, trimmed; `None` when it has none.
fn padded_result_cells(row: &RawRow, layout: Layout) -> Option<String> {
    let padded: Vec<String> = (row.padded.iter())
        .filter_map(|&i| {
            let column = layout.column_at(i)?;
            let read = row.record.get(i).unwrap_or("");
            Some(format!(
                "the {} cell (column {}) had spaces around it, trimmed off: read as {read:?}",
                column.name(),
                i + 1
            ))
        })
        .collect();
    (!padded.is_empty()).then(|| padded.join("; "))
}

/// Refuses the file at `path` when any row was refused: `refused`, and `same` (the rows that
/// record one organization, [`read_back::same_organization`]), all in one message.
///
/// # Errors
/// [`Error::Input`] naming each row and how to fix it.
pub(crate) fn refuse(
    path: &Path,
    mut refused: Vec<(Place, String)>,
    same: Vec<(Place, String)>,
) -> Result<(), Error> {
    refused.extend(same);
    if refused.is_empty() {
        return Ok(());
    }
    Err(Error::Input {
        path: path.to_path_buf(),
        message: read_back::refusal(refused),
    })
}
