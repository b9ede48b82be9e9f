//! Why one API call did not succeed ([`CallError`]), and what that means for the caller:
//! whether trying again may pass, whether the server may have acted, and the row's error.

use std::time::Duration;

use reqwest::StatusCode;

use crate::api::hold::WITHHELD;
use crate::api::redact::ServerText;
use crate::error::NoAnswer;
use crate::{Error, RowError};

/// Why one API call did not succeed.
#[derive(Debug)]
pub enum CallError {
    /// The API answered with an error status.
    Status {
        /// The HTTP status.
        status: StatusCode,
        /// The API's `error_code`, redacted.
        code: ServerText,
        /// The API's `error` text (or the body's start), redacted.
        message: ServerText,
        /// The `X-Trace-ID` header, redacted.
        trace_id: Option<ServerText>,
        /// The `Retry-After` header, in seconds.
        retry_after: Option<Duration>,
    },
    /// No complete answer (timeout, refused or dropped connection), or one that is not the
    /// API's JSON: a create may or may not have reached the server.
    Transport {
        /// What went wrong, by kind.
        kind: NoAnswer,
        /// What went wrong, with its causes, redacted.
        message: ServerText,
    },
    /// No token could be had.
    Auth(Error),
    /// More organizations match a name than a look-up pages through; the text says how many.
    TooManyMatches(String),
    /// The run stopped while the request of a row not in flight waited for its turn or for
    /// the run's resume: it was not sent ([`Hold`]).
    Withheld,
}

impl CallError {
    /// Whether trying again later may succeed: 429, 403 `request_forbidden`, a 5xx that
    /// [`crate::api::retry::status_may_pass`] (not 501), transport errors and token-endpoint
    /// outages. Rejected credentials, too many matches and other statuses are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            CallError::Status { status, code, .. } => {
                *status == StatusCode::TOO_MANY_REQUESTS
                    || crate::api::retry::status_may_pass(status.as_u16())
                    || (*status == StatusCode::FORBIDDEN && code.as_str() == "request_forbidden")
            }
            // A redirect not followed, an id that is no id or a reply too large is answered the
            // same again.
            CallError::Transport { kind, .. } => !matches!(
                kind,
                NoAnswer::Redirected | NoAnswer::NotAnId | NoAnswer::TooLarge
            ),
            CallError::Auth(e) => !matches!(
                e,
                Error::AuthRejected { .. } | Error::TokenRedirected { .. }
            ),
            CallError::TooManyMatches(_) | CallError::Withheld => false,
        }
    }

    /// Whether the server may have acted on the request although no success came back: not
    /// when it said it cannot do such a request at all (501 and the like).
    pub fn is_ambiguous(&self) -> bool {
        match self {
            CallError::Status { status, .. } => crate::api::retry::status_may_pass(status.as_u16()),
            CallError::Transport { .. } => true,
            CallError::Auth(_) | CallError::TooManyMatches(_) | CallError::Withheld => false,
        }
    }

    /// The wait the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            CallError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The HTTP status, if an answer came.
    pub fn status(&self) -> Option<u16> {
        match self {
            CallError::Status { status, .. } => Some(status.as_u16()),
            _ => None,
        }
    }

    /// The error as written into a row of the results.
    pub fn into_row_error(self) -> RowError {
        self.clone_row_error()
    }

    /// [`CallError::into_row_error`] without giving up the error.
    pub fn clone_row_error(&self) -> RowError {
        match self {
            CallError::Status {
                status,
                code,
                message,
                trace_id,
                ..
            } => RowError::Api {
                status: status.as_u16(),
                code: code.to_string(),
                message: message.to_string(),
                trace_id: trace_id.as_ref().map(ServerText::to_string),
            },
            CallError::Transport { kind, message } => RowError::Transport {
                kind: *kind,
                message: message.to_string(),
            },
            CallError::Auth(e) => RowError::Token(e.to_string()),
            CallError::TooManyMatches(m) => RowError::AmbiguousName(m.clone()),
            CallError::Withheld => RowError::NotSent(WITHHELD.into()),
        }
    }
}
