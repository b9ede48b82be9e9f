//! The stop signal every command shares: set by Ctrl-C or a fatal error, it lets the requests
//! in flight finish, starts no new one, and ends any pause between retries at once.

use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::Error;

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
