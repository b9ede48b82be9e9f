//! The one classification of why rows did not become organizations: each outcome with an
//! error carries its [`ErrorKind`], set where the error arises. The systemic stop counts rows
//! failing in a row by it, and the end-of-run summary groups rows by it; neither reads the
//! error's text.

use std::borrow::Cow;

use crate::RowError;
use crate::error::NoAnswer;
use crate::input::{Problem, ProblemKind};

/// What kind of failure a row's error is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The row breaks a rule and was not sent: the kind of its first problem, and the column
    /// at fault when one is.
    Invalid {
        /// What is wrong.
        problem: ProblemKind,
        /// The column's header, when one column is at fault.
        column: Option<String>,
    },
    /// The API refused the request: its status (not 5xx) and `error_code`.
    Http {
        /// The HTTP status.
        status: u16,
        /// The API's `error_code`.
        code: String,
    },
    /// The API failed (any 5xx): one kind, as an outage answers 500 and 503 alike.
    ServerError,
    /// No answer came, or none that could be read.
    NoAnswer(NoAnswer),
    /// No token could be had.
    Token,
    /// The row's id belongs to an organization that is not the row's.
    Conflict,
    /// More than one organization has the row's name.
    AmbiguousName,
    /// The row's organization exists, and `--on-existing fail` makes that a failure.
    AlreadyExists,
    /// The API answered a create in a way it is not to: another id than the one asked for, or
    /// a replay naming an organization that is not the row's.
    UnexpectedReply,
    /// The run stopped before the row was sent.
    NotSent,
}

impl ErrorKind {
    /// The kind of `error`. A wrapped error (the attempts ran out, an update or a look-up
    /// failed) is of the kind of the error inside.
    pub fn of(error: &RowError) -> ErrorKind {
        match error {
            RowError::Api { status, .. } if *status >= 500 => ErrorKind::ServerError,
            RowError::Api { status, code, .. } => ErrorKind::Http {
                status: *status,
                code: code.clone(),
            },
            RowError::Transport { kind, .. } => ErrorKind::NoAnswer(*kind),
            RowError::Token(_) => ErrorKind::Token,
            RowError::GaveUp { last: inner, .. }
            | RowError::UpdateFailed(inner)
            | RowError::LookUpFailed(inner)
            | RowError::Unconfirmed(inner) => ErrorKind::of(inner),
            RowError::OtherId { .. } | RowError::UnexpectedReply(_) => ErrorKind::UnexpectedReply,
            RowError::Conflict(_) => ErrorKind::Conflict,
            RowError::AmbiguousName(_) => ErrorKind::AmbiguousName,
            RowError::AlreadyExists(_) => ErrorKind::AlreadyExists,
            RowError::NotSent(_) => ErrorKind::NotSent,
        }
    }

    /// The kind of an invalid row whose first problem is `problem`.
    pub fn invalid(problem: &Problem) -> ErrorKind {
        ErrorKind::Invalid {
            problem: problem.kind,
            column: problem.column.clone(),
        }
    }

    /// Its name in the summary: the column of an invalid row (else its problem), `HTTP 409
    /// conflict`, `HTTP 5xx`, `timed out`, ...
    pub fn label(&self) -> Cow<'_, str> {
        match self {
            ErrorKind::Invalid {
                column: Some(column),
                ..
            } => Cow::Borrowed(column),
            ErrorKind::Invalid { problem, .. } => Cow::Borrowed(problem.label()),
            ErrorKind::Http { status, code } => Cow::Owned(format!("HTTP {status} {code}")),
            ErrorKind::ServerError => Cow::Borrowed("HTTP 5xx"),
            ErrorKind::NoAnswer(why) => Cow::Borrowed(why.as_str()),
            ErrorKind::Token => Cow::Borrowed("cannot get a token"),
            ErrorKind::Conflict => Cow::Borrowed("HTTP 409 conflict"),
            ErrorKind::AmbiguousName => Cow::Borrowed("ambiguous name"),
            ErrorKind::AlreadyExists => Cow::Borrowed("already exists"),
            ErrorKind::UnexpectedReply => Cow::Borrowed("unexpected reply"),
            ErrorKind::NotSent => Cow::Borrowed("not sent"),
        }
    }

    /// Whether many rows failing with it one after another point at a cause outside the rows
    /// (an outage, a missing permission), so that the run had better stop. A conflict, an
    /// ambiguous name or an existing organization is about each row's own organization.
    pub fn may_be_systemic(&self) -> bool {
        match self {
            ErrorKind::Http { .. }
            | ErrorKind::ServerError
            | ErrorKind::NoAnswer(_)
            | ErrorKind::Token => true,
            ErrorKind::Invalid { .. }
            | ErrorKind::Conflict
            | ErrorKind::AmbiguousName
            | ErrorKind::AlreadyExists
            | ErrorKind::UnexpectedReply
            | ErrorKind::NotSent => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: &str, message: &str) -> RowError {
        RowError::Api {
            status,
            code: code.into(),
            message: message.into(),
            trace_id: Some("t-1".into()),
        }
    }

    #[test]
    fn error_kinds_leave_out_rows_and_details() {
        let empty_name = Problem::new(ProblemKind::MissingName, Some("name"), "is empty");
        assert_eq!(ErrorKind::invalid(&empty_name).label(), "name");
        assert_eq!(
            ErrorKind::of(&api(503, "unavailable", "try later")).label(),
            "HTTP 5xx"
        );
        assert_eq!(
            ErrorKind::of(&api(500, "internal", "oops")),
            ErrorKind::of(&api(503, "unavailable", "try later"))
        );
        assert_eq!(
            ErrorKind::of(&api(409, "conflict", "id taken")).label(),
            "HTTP 409 conflict"
        );
        let duplicate = |line: u64, name: &str| {
            let message = format!("name {name:?} is already used by line {line}");
            ErrorKind::invalid(&Problem::new(ProblemKind::DuplicateKey, None, message))
        };
        assert_eq!(duplicate(44, "x-42"), duplicate(7, "other"));
        assert_eq!(duplicate(44, "x-42").label(), "duplicate key");
    }

    #[test]
    fn a_wrapped_error_is_of_the_kind_inside() {
        let timeout = RowError::Transport {
            kind: NoAnswer::TimedOut,
            message: "timed out: operation timed out".into(),
        };
        let gave_up = RowError::GaveUp {
            last: Box::new(timeout.clone()),
            attempts: 6,
        };
        assert_eq!(
            ErrorKind::of(&gave_up),
            ErrorKind::NoAnswer(NoAnswer::TimedOut)
        );
        assert_eq!(ErrorKind::of(&gave_up).label(), "timed out");
        let look_up = RowError::LookUpFailed(Box::new(api(502, "bad_gateway", "")));
        assert_eq!(ErrorKind::of(&look_up), ErrorKind::ServerError);
        let update = RowError::UpdateFailed(Box::new(api(400, "invalid_request", "")));
        assert_eq!(
            ErrorKind::of(&update),
            ErrorKind::Http {
                status: 400,
                code: "invalid_request".into()
            }
        );
    }

    #[test]
    fn only_failures_from_outside_the_rows_may_be_systemic() {
        assert!(ErrorKind::of(&api(403, "forbidden", "no")).may_be_systemic());
        assert!(ErrorKind::ServerError.may_be_systemic());
        assert!(ErrorKind::NoAnswer(NoAnswer::NoConnection).may_be_systemic());
        assert!(ErrorKind::Token.may_be_systemic());
        for about_the_row in [
            ErrorKind::Conflict,
            ErrorKind::AmbiguousName,
            ErrorKind::AlreadyExists,
            ErrorKind::NotSent,
        ] {
            assert!(!about_the_row.may_be_systemic(), "{about_the_row:?}");
        }
    }
}
