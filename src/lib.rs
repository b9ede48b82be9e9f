//! orgimport: bulk-create SecureAuth Connect organizations from a CSV of customers.
//!
//! The pipeline reads a customer CSV, checks every row into an organization request, sends
//! the creates concurrently through one shared rate limiter and one shared OAuth2 token, and
//! writes a results file that says what happened to every row. Running the same import
//! again resumes it: rows already created are not sent twice.
//!
//! # Layout
//! - [`cli`]: the command line as typed (clap); [`config`]: the checked settings the core uses.
//! - [`input`]: the CSV dialect (delimiter, encoding), the column mapping and the row checks.
//! - [`plan`]: every row checked before sending; duplicates and rows done earlier set aside.
//! - [`api`]: the shared token ([`api::auth`]) and the organization calls ([`api::client`]).
//! - [`run`]: the pipeline: limiter, concurrency cap, retries, outcomes to one task.
//! - [`results`]: the journal and the results file; what a rerun skips.
//! - [`progress`]: the progress bar or log lines.
//! - [`validate`]: `orgimport validate`, every problem of every row without sending anything.
//! - [`tenant_plan`]: `orgimport plan`, what an import would do to each row, against the
//!   tenant's organizations as they are ([`existing`]), field by field ([`diff`]).
//! - [`on_existing`]: `import --on-existing`, for rows whose organization exists.
//! - [`session`]: the sandbox, HTTP client, token and limiter that `import` and `plan` share.
//! - [`sandbox`]: an emulator of the System API with fault injection, for rehearsals and tests.
//! - [`summary`]: the end-of-run summary and `--summary-json`; [`dryrun`]: `import --dry-run`.
//! - [`ledger`]: a results file read back; [`verify`] and [`undo`] check or delete what a
//!   run created, over a [`session`]; [`token`]: `orgimport token`.
//! - [`profile`]: the settings file and its profiles; `orgimport config`.
//! - [`app`]: the edge that runs a parsed command line and picks the exit code.

// The printing macros, shadowed crate-wide by versions that never panic. std's panic when the
// stream is closed (`orgimport import c.csv 2>&1 | head -1`), which would abort an import
// mid-run without its results file; output nobody reads is simply dropped.
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}
macro_rules! eprint {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($arg)*);
    }};
}
macro_rules! println {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}
macro_rules! print {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod diff;
pub mod dryrun;
pub mod error;
pub mod existing;
pub mod input;
pub mod ledger;
pub mod on_existing;
pub mod plan;
pub mod profile;
pub mod progress;
pub mod results;
pub mod run;
pub mod sandbox;
pub mod session;
pub mod summary;
pub mod tenant_plan;
pub mod token;
pub mod undo;
pub mod validate;
pub mod verify;

pub use error::{Error, RowError};
