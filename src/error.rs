//! The two kinds of failure: a fatal [`Error`] that stops the run, and a [`RowError`] that
//! fails one row and lets the others go on.

use std::path::PathBuf;

/// A failure that stops the whole run (exit code 2): bad settings, unreadable input, rejected
/// credentials. Rows that were not sent yet are recorded as `not_sent` in the results.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting is missing or malformed; the message says which flag or variable to fix.
    #[error("{0}")]
    Config(String),
    /// A file could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What the operating system said (in the message, so not also a `source` that
        /// `{:#}` would print a second time).
        error: std::io::Error,
    },
    /// The input file cannot be used at all (no header, no `name` column, ...).
    #[error("{path}: {message}")]
    Input {
        /// The input file.
        path: PathBuf,
        /// What is wrong with it, naming the line or column.
        message: String,
    },
    /// Another orgimport run holds the results file's lock: two runs on one results file
    /// would send rows twice and overwrite each other's results.
    #[error(
        "{}: another orgimport run is using this results file ({holder}); wait for it to \
         finish, then run again",
        results.display()
    )]
    Busy {
        /// The results file.
        results: PathBuf,
        /// The other run, as its lock file says: pid, host and start time.
        holder: String,
    },
    /// The token endpoint refused the client credentials or the scope. Its `error` and
    /// `description` are the endpoint's words, redacted: `api::auth` builds it, from the
    /// redactor's `ServerText` only.
    #[error(
        "the token endpoint {url} refused the credentials: {status} {error}{description} \
         (check the client id, the client secret and --scope)"
    )]
    AuthRejected {
        /// The token URL that answered.
        url: String,
        /// The HTTP status it answered.
        status: u16,
        /// The OAuth2 `error` code, e.g. `invalid_client` or `invalid_scope`.
        error: String,
        /// `: error_description`, or empty.
        description: String,
    },
    /// The token endpoint answered with a redirect, which is not followed (the request carries
    /// the client secret). `message` names the status and the target, redacted.
    #[error("the token endpoint {url} {message}")]
    TokenRedirected {
        /// The token URL.
        url: String,
        /// The redirect, as `api::transport` words it.
        message: String,
    },
    /// The token endpoint could not be reached or answered something that is not a token.
    #[error("cannot get a token from {url}: {message}")]
    Auth {
        /// The token URL.
        url: String,
        /// What went wrong, redacted: `api::auth` builds it from the redactor's `ServerText`.
        message: String,
    },
    /// The default template is unusable, so every row would fail.
    #[error("the template {id:?} {problem}")]
    Template {
        /// The template id given.
        id: String,
        /// What is wrong with it.
        problem: String,
    },
    /// Many rows in a row failed the same way: the cause is not in the rows.
    #[error(
        "the last {count} rows all failed with the same error, so the run stopped rather than \
         fail the rest: {error}"
    )]
    Systemic {
        /// How many rows failed in a row.
        count: usize,
        /// Their error.
        error: String,
    },
    /// The tenant answered one call nothing but 429 for longer than the retry policy waits
    /// (`api::retry::RATE_LIMITED_PATIENCE`): its rate limit lets nothing through.
    #[error(
        "the tenant answered {call} with nothing but 429 Too Many Requests for {minutes} \
         minutes, so the run stopped: its rate limit lets nothing through; rerun later, or with \
         a lower --rate"
    )]
    RateLimited {
        /// The call, e.g. `a create for acme`.
        call: String,
        /// How long it was answered 429, in whole minutes.
        minutes: u64,
    },
    /// The tenant's existing organizations could not be listed.
    #[error("cannot list the tenant's existing organizations: {0}")]
    Listing(String),
    /// The built-in sandbox could not be started.
    #[error("cannot start the sandbox: {0}")]
    Sandbox(std::io::Error),
    /// Rows would create organizations with no template, and `--no-template` does not say
    /// that is meant: refused before anything is sent.
    #[error(
        "{}: {rows} row(s) would create an organization with no template ({lines}); the \
         product doc says to always give one: pass --template-id ID (or set template_id in \
         the profile, or ORGIMPORT_TEMPLATE_ID), or fill the rows' template_id column; to \
         create them without a template on purpose, pass --no-template",
        path.display()
    )]
    NoTemplate {
        /// The input file.
        path: PathBuf,
        /// How many rows.
        rows: usize,
        /// The first of their lines, e.g. `lines 2, 5 and 3 more`.
        lines: String,
    },
}

impl Error {
    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            error: source,
        }
    }
}

/// Why one row did not become an organization. It is written into the row's `error` column
/// (as its `Display`, the same text every version wrote); it never contains the client secret
/// or a token. `ErrorKind::of` (module `error_kind`) classifies it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowError {
    /// The API answered with an error status.
    #[error("HTTP {status} {code}: {message}{}", trace_suffix(.trace_id))]
    Api {
        /// The HTTP status.
        status: u16,
        /// The API's `error_code` (or a short reason when the body had none).
        code: String,
        /// The API's `error` text.
        message: String,
        /// The reply's `X-Trace-ID`, for the tenant's support team.
        trace_id: Option<String>,
    },
    /// No answer came (timeout, refused or dropped connection), or none that could be read.
    #[error("{message}")]
    Transport {
        /// What went wrong, by kind.
        kind: NoAnswer,
        /// What went wrong, with its causes (starting with `kind`'s words).
        message: String,
    },
    /// No token could be had from the token endpoint.
    #[error("{0}")]
    Token(String),
    /// Every attempt the retry policy allows failed; `last` is the last one's error.
    #[error("{last} (gave up after {attempts} attempts)")]
    GaveUp {
        /// The last attempt's error.
        last: Box<RowError>,
        /// How many requests were sent.
        attempts: u32,
    },
    /// `--on-existing update` could not update the row's organization.
    #[error("the update failed: {0}")]
    UpdateFailed(Box<RowError>),
    /// An earlier attempt may have created the row's organization, and looking for it failed,
    /// so the row was not sent again.
    #[error("could not check whether an earlier attempt created it, so it was not sent again: {0}")]
    LookUpFailed(Box<RowError>),
    /// An attempt may have created the row's organization (a create of it got no answer, or
    /// an ambiguous one), but no answer confirmed it, and the row ended with this error (its
    /// status is `unconfirmed`, never `failed`).
    #[error(
        "may have been created, but no answer confirmed it; the next run looks for it before \
         sending it again (last error: {0})"
    )]
    Unconfirmed(Box<RowError>),
    /// The API created the row's organization, but under another id than the row asked for.
    #[error(
        "the API created the organization under id {got:?}, not under the id {asked:?} the row \
         asked for"
    )]
    OtherId {
        /// The id the row asked for.
        asked: String,
        /// The id the API gave the organization.
        got: String,
    },
    /// A reply the API is not to give: a replayed create naming an organization that is not
    /// the row's, or replays of organizations that no longer exist, again and again. The text
    /// is the whole message.
    #[error("{0}")]
    UnexpectedReply(String),
    /// The row's id belongs to an organization that is not the row's (another name, or a
    /// template). The text is the whole message.
    #[error("{0}")]
    Conflict(String),
    /// More than one organization has the row's name, so none can be taken for it. The text
    /// is the whole message.
    #[error("{0}")]
    AmbiguousName(String),
    /// The row's organization exists and `--on-existing fail` says so is a failure.
    #[error("{0}")]
    AlreadyExists(String),
    /// The run stopped (Ctrl-C or a fatal error) before this row was sent.
    #[error("not sent: {0}")]
    NotSent(String),
}

/// Why no answer came to a request, or none that could be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoAnswer {
    /// The request or its reply took longer than `--timeout`.
    TimedOut,
    /// No connection could be made.
    NoConnection,
    /// The reply stopped before its end.
    CutOff,
    /// The request failed some other way (a dropped connection, a protocol error).
    Failed,
    /// A reply came, but not the JSON the API answers.
    Unreadable,
    /// A reply came naming an organization by an id that is no id (`..`, `/`, a control
    /// character...): nothing is recorded or requested under it.
    NotAnId,
    /// A reply came that is longer than any the API gives: not read whole.
    TooLarge,
    /// A redirect came, and was not followed (to another origin, or one that would not resend
    /// the request as it was): what the request did there is not known.
    Redirected,
}

impl NoAnswer {
    /// The words its messages start with.
    pub fn as_str(self) -> &'static str {
        match self {
            NoAnswer::TimedOut => "timed out",
            NoAnswer::NoConnection => "could not connect",
            NoAnswer::CutOff => "the reply was cut off",
            NoAnswer::Failed => "request failed",
            NoAnswer::Unreadable => "the API's reply could not be read",
            NoAnswer::NotAnId => "the API's reply names no valid id",
            NoAnswer::TooLarge => "the reply was too large",
            NoAnswer::Redirected => "redirected",
        }
    }
}

fn trace_suffix(trace_id: &Option<String>) -> String {
    trace_id
        .as_ref()
        .map(|t| format!(" (trace id {t})"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_errors_read_as_earlier_versions_wrote_them() {
        let api = RowError::Api {
            status: 503,
            code: "unavailable".into(),
            message: "try later".into(),
            trace_id: Some("t-1".into()),
        };
        let gave_up = RowError::GaveUp {
            last: Box::new(api.clone()),
            attempts: 6,
        };
        assert_eq!(
            gave_up.to_string(),
            "HTTP 503 unavailable: try later (trace id t-1) (gave up after 6 attempts)"
        );
        assert_eq!(
            RowError::UpdateFailed(Box::new(api.clone())).to_string(),
            "the update failed: HTTP 503 unavailable: try later (trace id t-1)"
        );
        let timeout = RowError::Transport {
            kind: NoAnswer::TimedOut,
            message: "timed out: operation timed out".into(),
        };
        assert_eq!(
            RowError::LookUpFailed(Box::new(timeout)).to_string(),
            "could not check whether an earlier attempt created it, so it was not sent again: \
             timed out: operation timed out"
        );
        assert_eq!(
            RowError::NotSent("rerun".into()).to_string(),
            "not sent: rerun"
        );
    }
}
