//! orgimport: bulk-create SecureAuth Connect organizations from a CSV of customers.
//!
//! The pipeline reads a customer CSV, checks every row into an organization request, sends
//! the creates concurrently through one shared rate limiter and one shared OAuth2 token, and
//! writes a results file that says what happened to every row. Running the same import
//! again resumes it: rows already created are not sent twice.
//!
//! # Layout
//! The tree follows the pipeline: read → plan → compare with the tenant → send → record →
//! report, with thin commands on top and the sandbox beside it.
//! - [`cli`]: the command line as typed (clap only); [`settings`]: the checked settings each
//!   command runs on, resolved once: flags > environment > settings file > defaults;
//!   [`rate`]: a request rate as every one of them writes it.
//! - [`commands`]: one module per subcommand, each a thin function from its settings to an
//!   [`ExitStatus`] ([`exit`]: the one order of precedence of exit codes).
//! - [`input`]: the CSV dialect (delimiter, encoding), the rows and their lines, the copy a
//!   run reads from, the column mapping and the row checks.
//! - [`planning`]: every row checked before sending; duplicates, parent waves and rows done
//!   earlier set aside ([`planning::prepare`]: all an import knows before the network).
//!   [`fingerprint`]: row keys told apart without keeping them, for planning and reruns.
//! - [`tenant`]: the tenant's organizations as they are, a row compared with its match, and
//!   `--on-existing`.
//! - [`send`]: the worker pool, each row's create and the results task; [`stop`]: the stop
//!   signal (Ctrl-C, a fatal error) every command shares; `fan_out`: the one way a command
//!   runs requests side by side, a bounded number at a time.
//! - [`api`]: the shared token, the organization calls, the one retry policy and the one
//!   redactor every server text passes through.
//! - [`record`]: the results file: its layout, the checks when it is read, the tenant it
//!   belongs to, the journal, what earlier runs left, the lock that keeps one run per file,
//!   and the one writer; [`private_file`]: every file orgimport writes is opened there (0600,
//!   never through a link, never a device or a pipe).
//! - [`report`]: the progress display and the end-of-run summary.
//! - [`error`]: a fatal [`Error`] and a row's [`RowError`]; [`error_kind`]: the one
//!   classification of row errors, for the systemic stop and the summary.
//! - [`console`]: the whole import as a local web page (`orgimport console`), on the same
//!   steps as the commands.
//! - [`sandbox`]: an emulator of the System API with fault injection, for rehearsals and tests.

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
pub mod cli;
pub mod commands;
pub mod console;
pub(crate) mod error;
pub(crate) mod error_kind;
pub(crate) mod exit;
mod fan_out;
pub(crate) mod fingerprint;
pub mod input;
pub mod planning;
pub(crate) mod private_file;
pub(crate) mod rate;
pub mod record;
pub mod report;
pub mod sandbox;
pub mod send;
pub mod settings;
pub(crate) mod stdout;
pub(crate) mod stop;
pub(crate) mod tenant;

pub use error::{Error, RowError};

/// The version `--version` prints: the package's, then the commit and its date when the
/// binary was built from a git checkout (`0.1.0 (3723564a9b1c 2026-12-07)`).
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), env!("ORGIMPORT_BUILD_INFO"));
pub use exit::ExitStatus;
