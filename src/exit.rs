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
}
