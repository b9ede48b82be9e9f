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
}

impl Outcome {
    /// A row that was never sent for `status` and `error`.
    pub fn unsent(status: Status, error: String) -> Self {
        Outcome {
            status,
            org_id: None,
            http_status: None,
            error: Some(error),
            attempts: 0,
            changes: None,
        }
    }

    /// A row whose request failed with `error` after `attempts`.
    pub fn failed(http_status: Option<u16>, error: RowError, attempts: u32) -> Self {
        Outcome {
            status: Status::Failed,
            org_id: None,
            http_status,
            error: Some(error.to_string()),
            attempts,
            changes: None,
        }
    }
}
