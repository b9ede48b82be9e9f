//! The results file and its journal: what happened to every row. This module is the only
//! code that knows the results file's format.
//!
//! The results file is the input's columns, then orgimport's ([`layout`]: their names and
//! positions in each version it reads, and the neutralizing of cells a spreadsheet would run
//! as formulas). While a run goes on, each finished row is appended to `<results>.journal`
//! and flushed ([`journal`]), so a crash loses nothing. At the end the results file is written
//! whole, in input order, and the journal is removed ([`writer`], through [`csv_out`], the one
//! CSV writer of every file people open). A later run reads both back to skip rows already
//! done ([`earlier_runs`]); `verify` and `undo` read the results file whole and `undo` writes
//! it back ([`results_file`]). One run at a time holds a results file ([`lock`]).

pub mod csv_out;
pub mod earlier_runs;
pub mod journal;
pub mod layout;
pub mod lock;
pub mod results_file;
pub mod writer;

pub use csv_out::{CsvOut, copy_input};
pub use earlier_runs::EarlierRuns;
pub use journal::{Journal, journal_path};
pub use layout::{Column, Layout, RESULT_COLUMNS, Version, neutralize, restore};
pub use lock::{ResultsLock, lock_path};
pub use results_file::{ResultRow, ResultsFile};
pub use writer::write;

use crate::RowError;
use crate::error_kind::ErrorKind;
use crate::input::Problem;

/// What became of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// This tool created the organization.
    Created,
    /// The organization was there already (same id); nothing was created.
    Exists,
    /// The organization was there already and was updated to match the row
    /// (`--on-existing update`).
    Updated,
    /// The API refused the row, and no attempt at it may have created the organization.
    Failed,
    /// An attempt may have created the organization, but no answer confirmed it and the row
    /// ended in an error: the next run looks for it before sending it again.
    Unconfirmed,
    /// The row breaks a validation rule; it was not sent.
    Invalid,
    /// The run stopped before the row was sent.
    NotSent,
}

impl Status {
    /// Every status, in the order summaries list them.
    pub const ALL: [Status; 7] = [
        Status::Created,
        Status::Exists,
        Status::Updated,
        Status::Failed,
        Status::Unconfirmed,
        Status::Invalid,
        Status::NotSent,
    ];

    /// The word written in the `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Exists => "exists",
            Status::Updated => "updated",
            Status::Failed => "failed",
            Status::Unconfirmed => "unconfirmed",
            Status::Invalid => "invalid",
            Status::NotSent => "not_sent",
        }
    }

    /// The status a `status` cell names.
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether the row's organization exists, so a rerun must not send it again.
    pub fn is_done(self) -> bool {
        matches!(self, Status::Created | Status::Exists | Status::Updated)
    }
}

/// A row's outcome: its cells in the result columns ([`Column`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// What became of the row.
    pub status: Status,
    /// The organization's id, when it exists.
    pub org_id: Option<String>,
    /// The last HTTP status the API answered for the row.
    pub http_status: Option<u16>,
    /// Why the row failed or is invalid.
    pub error: Option<String>,
    /// How many requests were sent for the row (all runs' last).
    pub attempts: u32,
    /// For an updated row, the fields the update changed (`field: old -> new; ...`).
    pub changes: Option<String>,
    /// The kind of `error`, for the systemic stop and the summary. Not in the results file:
    /// `None` for an outcome read back from an earlier run (those are all done), and for one
    /// without an error.
    pub kind: Option<ErrorKind>,
}

impl Outcome {
    /// A row whose organization exists (`status` is done): `org_id`, after `attempts`
    /// requests, the last answered `http_status`.
    pub fn done(status: Status, org_id: String, http_status: Option<u16>, attempts: u32) -> Self {
        Outcome {
            status,
            org_id: Some(org_id),
            http_status,
            error: None,
            attempts,
            changes: None,
            kind: None,
        }
    }

    /// A row that the run stopped before sending, for `why`.
    pub fn not_sent(why: String) -> Self {
        let error = RowError::NotSent(why);
        Outcome {
            status: Status::NotSent,
            org_id: None,
            http_status: None,
            kind: Some(ErrorKind::of(&error)),
            error: Some(error.to_string()),
            attempts: 0,
            changes: None,
        }
    }

    /// A row that breaks a rule, with `error` naming every problem, the first of which is
    /// `first`.
    pub fn invalid(error: String, first: &Problem) -> Self {
        Outcome {
            status: Status::Invalid,
            org_id: None,
            http_status: None,
            error: Some(error),
            attempts: 0,
            changes: None,
            kind: Some(ErrorKind::invalid(first)),
        }
    }

    /// A row whose request failed with `error` after `attempts` (0: refused without one).
    pub fn failed(http_status: Option<u16>, error: RowError, attempts: u32) -> Self {
        Outcome {
            status: Status::Failed,
            org_id: None,
            http_status,
            kind: Some(ErrorKind::of(&error)),
            error: Some(error.to_string()),
            attempts,
            changes: None,
        }
    }
}
