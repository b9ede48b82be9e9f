//! The exit status of every command, and the one order in which its causes win: a fatal error
//! over an interruption over rows that went wrong over success. A script that reads a 130
//! knows the work is not finished, whatever else went wrong on the way.

use std::process::ExitCode;

/// How a command ended, as its exit code says to scripts. The variants are declared in their
/// order of precedence, lowest first, so that the most severe of two is their `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ExitStatus {
    /// 0: every row ended as it should (for `plan`: an import would change nothing).
    Success,
    /// 1: some rows did not: failed, invalid, not sent, mismatched in `verify`, not deleted
    /// by `undo`; for `plan`, an import would change something; for `token`, a scope or the
    /// template is missing.
    Failed,
    /// 130: Ctrl-C stopped the command before it finished; what was done is written down.
    Interrupted,
    /// 2: a fatal error stopped the command: bad settings, unreadable input, rejected
    /// credentials.
    Fatal,
}

impl ExitStatus {
    /// The process exit code.
    pub const fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failed => 1,
            ExitStatus::Fatal => 2,
            ExitStatus::Interrupted => 130,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(status.code())
    }
}

/// What happened to a command, as far as its exit status goes; [`Ending::status`] weighs it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Ending {
    /// A fatal error stopped it.
    pub fatal: bool,
    /// Ctrl-C stopped it.
    pub interrupted: bool,
    /// Some rows went wrong (or, for `plan`, would change).
    pub failed: bool,
}

impl Ending {
    /// The exit status: the most severe of what happened, success when nothing did.
    pub(crate) fn status(self) -> ExitStatus {
        [
            (self.fatal, ExitStatus::Fatal),
            (self.interrupted, ExitStatus::Interrupted),
            (self.failed, ExitStatus::Failed),
        ]
        .into_iter()
        .filter(|(happened, _)| *happened)
        .map(|(_, status)| status)
        .max()
        .unwrap_or(ExitStatus::Success)
    }
}

/// A command's report of work that a fatal error can stop midway (import's summary, verify's
/// and undo's reports): printed whatever happened, with the fatal error kept in it (for the
/// summary JSON and the console) until [`conclude`] takes it to `main`.
pub(crate) trait Concluded: std::fmt::Display {
    /// What the work came to, a fatal error aside: interrupted, rows that went wrong.
    fn work(&self) -> Ending;

    /// The fatal error that stopped the work, if one did.
    fn fatal(&self) -> Option<&crate::Error>;

    /// The exit status the report says: [`ExitStatus::Fatal`] when [`Self::fatal`] is set,
    /// else what [`Self::work`] came to.
    fn exit_status(&self) -> ExitStatus {
        Ending {
            fatal: self.fatal().is_some(),
            ..self.work()
        }
        .status()
    }
}

/// How a command that works through rows (`verify`, `undo`) ended before its last row, if it
/// did: what its report says of it, and what its exit status weighs.
#[derive(Debug, Default)]
pub(crate) struct Cut {
    /// Ctrl-C (or a page's Stop) came before every row was done.
    pub interrupted: bool,
    /// The error that stopped it early: the tenant answered nothing but 429 for longer than
    /// the retry policy waits.
    pub stopped: Option<crate::Error>,
}

impl Cut {
    /// The ending of work that `failed` (or not), cut as this says (its fatal error is
    /// [`Concluded::fatal`]'s).
    pub(crate) fn ending(&self, failed: bool) -> Ending {
        Ending {
            fatal: false,
            interrupted: self.interrupted,
            failed,
        }
    }

    /// The end of a report's summary: how it was cut, and that a rerun does `the_rest`
    /// ("delete the rest"); nothing when it was not.
    pub(crate) fn say(&self, f: &mut std::fmt::Formatter<'_>, the_rest: &str) -> std::fmt::Result {
        if self.stopped.is_some() {
            write!(f, "; stopped early by an error (rerun to {the_rest})")
        } else if self.interrupted {
            write!(f, " (interrupted: rerun to {the_rest})")
        } else {
            Ok(())
        }
    }
}

/// The one way a fatal error reaches the exit status. An error found before a command did
/// anything goes to `main` by `?`; one that stopped its work midway ([`Concluded::fatal`],
/// set through [`crate::stop::Stop::fatal`]) is turned here into the same error (`the run
/// stopped: ...`), once the report is printed. `main` prints it and exits 2; a command never
/// returns [`ExitStatus::Fatal`] itself.
///
/// # Errors
/// The fatal error that stopped the work.
pub(crate) fn conclude(report: &impl Concluded) -> anyhow::Result<ExitStatus> {
    match report.fatal() {
        Some(fatal) => Err(anyhow::anyhow!("the run stopped: {fatal}")),
        None => Ok(report.exit_status()),
    }
}

/// The report with the fatal error that stopped its work after it, as one line, for a page
/// (the command line prints the error on its own line, through [`conclude`]).
pub(crate) fn with_fatal(report: &impl Concluded) -> String {
    match report.fatal() {
        Some(fatal) => format!("{report}; stopped: {fatal}"),
        None => report.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_codes_are_the_documented_ones() {
        assert_eq!(ExitStatus::Success.code(), 0);
        assert_eq!(ExitStatus::Failed.code(), 1);
        assert_eq!(ExitStatus::Fatal.code(), 2);
        assert_eq!(ExitStatus::Interrupted.code(), 130);
    }

    #[test]
    fn fatal_beats_interrupted_beats_failed_beats_success() {
        let all = Ending {
            fatal: true,
            interrupted: true,
            failed: true,
        };
        assert_eq!(all.status(), ExitStatus::Fatal);
        let unfinished = Ending {
            fatal: false,
            ..all
        };
        assert_eq!(unfinished.status(), ExitStatus::Interrupted);
        let fatal_with_failures = Ending {
            interrupted: false,
            ..all
        };
        assert_eq!(fatal_with_failures.status(), ExitStatus::Fatal);
        let failed = Ending {
            failed: true,
            ..Ending::default()
        };
        assert_eq!(failed.status(), ExitStatus::Failed);
        assert_eq!(Ending::default().status(), ExitStatus::Success);
    }

    /// A report for [`conclude`]: `failed` rows, and the fatal error that stopped it.
    struct Report(bool, Option<crate::Error>);

    impl std::fmt::Display for Report {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "2 rows")
        }
    }

    impl Concluded for Report {
        fn work(&self) -> Ending {
            Ending {
                failed: self.0,
                ..Ending::default()
            }
        }
        fn fatal(&self) -> Option<&crate::Error> {
            self.1.as_ref()
        }
    }

    #[test]
    fn a_fatal_error_that_stopped_the_work_goes_to_main_as_an_error_never_as_a_status() {
        let stopped = Report(true, Some(crate::Error::Config("no more".into())));
        let error = conclude(&stopped).expect_err("main prints it and exits 2");
        assert_eq!(format!("{error:#}"), "the run stopped: no more");
        assert_eq!(with_fatal(&stopped), "2 rows; stopped: no more");
        assert_eq!(conclude(&Report(true, None)).unwrap(), ExitStatus::Failed);
        assert_eq!(with_fatal(&Report(false, None)), "2 rows");
    }
}
