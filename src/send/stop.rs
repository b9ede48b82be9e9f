//! The stop signal every command shares: set by Ctrl-C or a fatal error, it lets the requests
//! in flight finish and starts no new one; and the one pause between a request's attempts.

use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::api::{Backoff, CallError};
use crate::{Error, RowError};

/// The stop signal: set by Ctrl-C or a fatal error; no new request is started once it is
/// set, and the requests in flight finish.
pub struct Stop {
    /// `true` once sending must stop; a watch channel so that waiting cannot miss it.
    stopped: watch::Sender<bool>,
    /// The fatal error that stopped the run, if any (the first one wins). A std mutex: it is
    /// never held across an await.
    fatal: Mutex<Option<Error>>,
}

impl Default for Stop {
    fn default() -> Self {
        Stop {
            stopped: watch::channel(false).0,
            fatal: Mutex::new(None),
        }
    }
}

impl Stop {
    /// A signal not yet set.
    pub fn new() -> Self {
        Stop::default()
    }

    /// Whether the signal is set.
    pub fn is_set(&self) -> bool {
        *self.stopped.borrow()
    }

    /// Sets the signal.
    pub fn set(&self) {
        self.stopped.send_replace(true);
    }

    /// Completes once the signal is set.
    pub async fn wait(&self) {
        let mut rx = self.stopped.subscribe();
        let _ = rx.wait_for(|stopped| *stopped).await;
    }

    /// Sets the signal for `error`, which [`Stop::take_fatal`] then returns.
    pub fn fatal(&self, error: Error) {
        let mut fatal = self.fatal.lock().unwrap_or_else(|e| e.into_inner());
        if fatal.is_none() {
            *fatal = Some(error);
        }
        drop(fatal);
        self.set();
    }

    /// The fatal error that set the signal, if one did.
    pub fn take_fatal(&self) -> Option<Error> {
        self.fatal.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// After a failed attempt of one row's request (`what`, e.g. "a create", for the log):
    /// `Ok` once it is time to try again, after the backoff; the row's status and error when
    /// it must give up instead (the error cannot pass, the attempts ran out, or the signal is
    /// set, also while waiting).
    pub async fn retry_after(
        &self,
        backoff: &mut Backoff,
        error: CallError,
        attempts: u32,
        max_attempts: u32,
        what: &str,
        name: &str,
    ) -> Result<(), (Option<u16>, RowError)> {
        let status = error.status();
        if !error.is_retryable() || attempts >= max_attempts || self.is_set() {
            return Err((status, error.into_final_row_error(attempts, max_attempts)));
        }
        let wait = backoff.after(&error);
        tracing::info!(
            name,
            attempt = attempts,
            ?wait,
            "retrying {what} after: {}",
            error.clone_row_error()
        );
        tokio::select! {
            _ = tokio::time::sleep(wait) => Ok(()),
            _ = self.wait() => Err((status, error.into_row_error())),
        }
    }

    /// The first Ctrl-C prints `first` and sets the signal; a second prints `again` (if
    /// any) and ends the process at once with exit code 130.
    pub fn on_ctrl_c(self: &Arc<Self>, first: &'static str, again: Option<&'static str>) {
        let stop = self.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("{first}");
                stop.set();
            }
            if tokio::signal::ctrl_c().await.is_ok() {
                if let Some(again) = again {
                    eprintln!("{again}");
                }
                std::process::exit(crate::ExitStatus::Interrupted.code().into());
            }
        });
    }
}
