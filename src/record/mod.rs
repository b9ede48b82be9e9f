//! The results file and its journal: what happened to every row. This module is the only
//! code that knows the results file's format.
//!
//! The results file is the input's columns, then orgimport's ([`layout`]: their names and
//! positions in each version it reads, and the neutralizing of cells a spreadsheet would run
//! as formulas). While a run goes on, each finished row is appended to `<results>.journal`
//! and flushed ([`journal`]), so a crash loses nothing. At the end the results file is written
//! whole, in input order, and the journal is removed ([`write_results`], through [`csv_out`], the one
//! CSV writer of every file people open). A later run reads both back to skip rows already
//! done ([`earlier_runs`]); `verify` and `undo` read the results file whole and `undo` writes
//! it back ([`results_file`]). One run at a time holds a results file ([`lock`]). Every reader
//! follows one outline ([`results_reader`]) and checks each row as it reads it ([`read_back`]): a hand-edited file is reported or refused, never
//! read as something it does not say, and a file of another tenant is not read at all
//! ([`tenant_mark`]: every row names the tenant it was written for). While a run goes on,
//! [`org_ids`] makes sure no
//! organization is recorded for two rows. Every row's outcome is kept packed ([`outcomes`]), so
//! that a million rows, and a rerun of them, fit in little memory. A rerun that would write the
//! results file as it is leaves it alone ([`unchanged`]). Before a command sends anything, each
//! file it will write is checked to be writable where the user named it ([`writable`]).
//!
//! What each status means is in [`Status`]; `created` and `exists` are about the tool's first
//! attempt at the row, whichever run made it.

pub(crate) mod csv_out;
pub(crate) mod earlier_runs;
pub(crate) mod journal;
pub(crate) mod layout;
pub(crate) mod lock;
pub(crate) mod org_ids;
pub(crate) mod outcomes;
pub(crate) mod read_back;
pub(crate) mod results_file;
pub(crate) mod results_reader;
pub(crate) mod tenant_mark;
pub(crate) mod unchanged;
pub(crate) mod writable;
pub(crate) mod write_results;

pub use csv_out::{CsvOut, copy_input};
pub use earlier_runs::{EarlierRuns, Recorded};
pub use journal::{Journal, journal_path};
pub use layout::{Column, Layout, RESULT_COLUMNS, Version, neutralize, restore};
pub use lock::{ResultsLock, lock_path};
pub use org_ids::OrgIds;
pub use outcomes::{OutcomeView, Outcomes};
pub use read_back::{Place, is_org_id};
pub use results_file::{ResultRow, ResultsFile};
pub use tenant_mark::{TenantCheck, TenantMark};
pub use writable::{Writing, check_regular, check_report, check_writable};
pub use write_results::write;

use crate::RowError;
use crate::error_kind::ErrorKind;
use crate::input::Problem;

/// What became of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// This tool created the organization, in this run or an earlier one (a row an earlier
    /// attempt may have created, found by a later run, is `created`, never `exists`).
    Created,
    /// The organization was there before the tool's first attempt at the row; nothing was
    /// created.
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

/// What the error of a row that an earlier run may have created says when this run did not
/// settle it.
const STILL_IN_DOUBT: &str = "an earlier attempt at this row may have created its \
     organization: it is looked up before it is sent again";

/// Records [`Outcome::for_row_in_doubt`] for each of `rows` (rows an earlier run may have
/// created) in `outcomes`, every row's outcome in input order.
pub fn keep_in_doubt(outcomes: &mut Outcomes, rows: &[usize]) {
    for &row in rows {
        if let Some(outcome) = outcomes.get(row) {
            outcomes.set(row, &outcome.for_row_in_doubt());
        }
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

    /// The outcome to record for a row that an earlier run may have created (it was in doubt
    /// when this run began): this one when it settles that (the organization was found or
    /// created, or a create was sent and answered that nothing was: `failed` after at least
    /// one create), else `unconfirmed` with this one's error and why, so that the next run
    /// looks the row up again rather than take its organization for one that was there
    /// before. An invalid row, one whose parent was not created, one the run stopped before,
    /// and one whose look-up failed are all still in doubt.
    pub fn for_row_in_doubt(self) -> Outcome {
        let settled = match self.status {
            Status::Created | Status::Exists | Status::Updated => self.org_id.is_some(),
            Status::Failed => self.attempts > 0,
            Status::Unconfirmed => true,
            Status::Invalid | Status::NotSent => false,
        };
        if settled {
            return self;
        }
        let error = match &self.error {
            Some(error) => format!("{error}; {STILL_IN_DOUBT}"),
            None => STILL_IN_DOUBT.to_string(),
        };
        Outcome {
            status: Status::Unconfirmed,
            org_id: None,
            error: Some(error),
            ..self
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_in_doubt_is_unconfirmed_unless_this_run_settled_it() {
        let created = Outcome::done(Status::Created, "org-1".into(), Some(200), 0);
        let refused_create = Outcome::failed(
            Some(400),
            RowError::Api {
                status: 400,
                code: "bad_request".into(),
                message: "no".into(),
                trace_id: None,
            },
            1,
        );
        let look_up_failed = Outcome::failed(
            Some(403),
            RowError::LookUpFailed(Box::new(RowError::Token("refused".into()))),
            0,
        );
        for settled in [created, refused_create] {
            assert_eq!(settled.clone().for_row_in_doubt(), settled);
        }
        let not_sent = Outcome::not_sent("its parent, line 2, was not created".into());
        for unsettled in [look_up_failed, not_sent] {
            let kind = unsettled.kind.clone();
            let error = unsettled.error.clone().unwrap();
            let now = unsettled.for_row_in_doubt();
            assert_eq!(
                (now.status, now.org_id, now.kind),
                (Status::Unconfirmed, None, kind)
            );
            let text = now.error.unwrap();
            assert!(text.starts_with(&error), "{text}");
            assert!(text.ends_with(STILL_IN_DOUBT), "{text}");
        }
        let mut outcomes: Outcomes = [
            Some(Outcome::not_sent("stopped".into())),
            Some(Outcome::not_sent("stopped".into())),
        ]
        .into_iter()
        .collect();
        keep_in_doubt(&mut outcomes, &[1, 7]);
        assert_eq!(
            (outcomes.status(0), outcomes.status(1)),
            (Some(Status::NotSent), Some(Status::Unconfirmed))
        );
    }
}
