//! The results file and its journal: what happened to every row.
//!
//! While a run goes on, each finished row is appended to `<results>.journal` and flushed, so a
//! crash loses nothing. At the end the results CSV is written whole (input columns, then
//! [`RESULT_COLUMNS`], in input order) to a temporary file that replaces the old one, and the
//! journal is removed. A later run reads both back to skip rows already done.

pub mod journal;
pub mod layout;
pub mod read;
pub mod resume;
pub mod writer;

pub use journal::{Journal, journal_path};
pub use layout::{RESULT_COLUMNS, neutralize, restore, result_width};
pub use resume::{Previous, load_previous};
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
    /// The API refused the row, or never answered after every attempt.
    Failed,
    /// The row breaks a validation rule; it was not sent.
    Invalid,
    /// The run stopped before the row was sent.
    NotSent,
}

impl Status {
    /// Every status, in the order summaries list them.
    pub const ALL: [Status; 6] = [
        Status::Created,
        Status::Exists,
        Status::Updated,
        Status::Failed,
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

/// A row's outcome: one line of [`RESULT_COLUMNS`].
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
