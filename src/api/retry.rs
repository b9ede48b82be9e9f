//! The one retry policy every API call follows: creates, updates, list pages, look-ups, the
//! template check, verify's reads and undo's deletes.
//!
//! - Which errors may pass: those [`CallError::is_retryable`] names (429, 5xx, the 403
//!   `request_forbidden` bursts, transport errors, token-endpoint outages).
//! - How long to wait: backon's exponential backoff with jitter ([`Backoff`]), never shorter
//!   than what the server asked for in `Retry-After`.
//! - How often: at most [`RetryPolicy::max_attempts`] requests per call, retries included.
//! - When to stop: the [`Stop`] signal (Ctrl-C, a fatal error) ends any wait at once, and no
//!   attempt starts once it is set.

use std::future::Future;
use std::num::NonZeroU32;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

use super::CallError;
use crate::RowError;
use crate::stop::Stop;

/// The first retry waits about this long; later ones wait longer.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// No retry waits longer than this (unless the server's `Retry-After` says so).
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// How every API call is retried: see the module docs. Cheap to copy into each task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Requests per call at most, retries included (`--max-attempts`).
    max_attempts: NonZeroU32,
}

impl Default for RetryPolicy {
    /// The policy of commands without `--max-attempts` (verify, undo): import's default.
    fn default() -> Self {
        RetryPolicy::new(NonZeroU32::new(6).expect("6 is not zero"))
    }
}

/// Why a call ended without success.
#[derive(Debug)]
pub struct GaveUp {
    /// The last attempt's error.
    pub error: CallError,
    /// Requests sent for the call.
    pub attempts: u32,
    /// Whether every attempt the policy allows was used.
    pub ran_out: bool,
    /// Whether the stop signal ended the call while its error might still have passed.
    pub interrupted: bool,
}

impl GaveUp {
    /// The HTTP status of the last answer, if one came.
    pub fn status(&self) -> Option<u16> {
        self.error.status()
    }

    /// The error as written into a row: when the attempts ran out on an error that might
    /// have passed, the message says so.
    pub fn into_row_error(self) -> RowError {
        let status = self.error.status();
        let last = self.error.into_row_error();
        if self.ran_out && status.is_none_or(|s| s >= 429) {
            RowError::GaveUp {
                last: Box::new(last),
                attempts: self.attempts,
            }
        } else {
            last
        }
    }
}

impl RetryPolicy {
    /// A policy of at most `max_attempts` requests per call.
    pub fn new(max_attempts: NonZeroU32) -> Self {
        RetryPolicy { max_attempts }
    }

    /// Requests per call at most, retries included.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts.get()
    }

    /// Whether a call whose attempt number `attempts` failed with `error` is tried again:
    /// only an error that may pass, while attempts remain. The stop signal is not asked.
    pub fn may_retry(&self, error: &CallError, attempts: u32) -> bool {
        error.is_retryable() && attempts < self.max_attempts()
    }

    /// The end of a call whose attempt number `attempts` failed with `error`, not retried.
    pub fn give_up(&self, error: CallError, attempts: u32) -> GaveUp {
        GaveUp {
            error,
            attempts,
            ran_out: attempts >= self.max_attempts(),
            interrupted: false,
        }
    }

    /// The pause after `error` before the next attempt of `what` (e.g. "a create", for the
    /// log) for the row or organization `name`: `true` once it is over, `false` when the stop
    /// signal is set, before or during it.
    pub async fn pause(
        &self,
        backoff: &mut Backoff,
        error: &CallError,
        stop: &Stop,
        what: &str,
        name: &str,
    ) -> bool {
        if stop.is_set() {
            return false;
        }
        let wait = backoff.after(error);
        tracing::info!(
            name,
            ?wait,
            "retrying {what} after: {}",
            error.clone_row_error()
        );
        tokio::select! {
            _ = tokio::time::sleep(wait) => true,
            _ = stop.wait() => false,
        }
    }

    /// After attempt number `attempts` of a call failed with `error`: `Ok` once it is time
    /// to try again, after the pause.
    ///
    /// # Errors
    /// [`GaveUp`] when the call must end instead: the error cannot pass, the attempts ran
    /// out, or the stop signal is set (also while waiting).
    pub async fn after(
        &self,
        backoff: &mut Backoff,
        error: CallError,
        attempts: u32,
        stop: &Stop,
        what: &str,
        name: &str,
    ) -> Result<(), GaveUp> {
        if !self.may_retry(&error, attempts) {
            return Err(self.give_up(error, attempts));
        }
        if self.pause(backoff, &error, stop, what, name).await {
            Ok(())
        } else {
            Err(GaveUp {
                interrupted: true,
                ..self.give_up(error, attempts)
            })
        }
    }

    /// Sends `send()` until it succeeds or the policy gives up; with the number of requests
    /// it took.
    ///
    /// # Errors
    /// [`GaveUp`], as [`RetryPolicy::after`] says.
    pub async fn call_counted<T, F, Fut>(
        &self,
        stop: &Stop,
        what: &str,
        name: &str,
        mut send: F,
    ) -> Result<(T, u32), GaveUp>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, CallError>>,
    {
        let mut backoff = Backoff::default();
        let mut attempts = 0;
        loop {
            attempts += 1;
            match send().await {
                Ok(value) => return Ok((value, attempts)),
                Err(error) => {
                    self.after(&mut backoff, error, attempts, stop, what, name)
                        .await?;
                }
            }
        }
    }

    /// [`RetryPolicy::call_counted`] without the count.
    ///
    /// # Errors
    /// [`GaveUp`], as [`RetryPolicy::after`] says.
    pub async fn call<T, F, Fut>(
        &self,
        stop: &Stop,
        what: &str,
        name: &str,
        send: F,
    ) -> Result<T, GaveUp>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, CallError>>,
    {
        self.call_counted(stop, what, name, send)
            .await
            .map(|(value, _)| value)
    }
}

/// The pauses between the attempts of one call.
#[derive(Debug)]
pub struct Backoff(ExponentialBackoff);

impl Default for Backoff {
    fn default() -> Self {
        Backoff(
            ExponentialBuilder::default()
                .with_min_delay(FIRST_BACKOFF)
                .with_max_delay(MAX_BACKOFF)
                .with_jitter()
                .without_max_times()
                .build(),
        )
    }
}

impl Backoff {
    /// The pause before the next attempt, after `error`.
    pub fn after(&mut self, error: &CallError) -> Duration {
        let wait = self.0.next().unwrap_or(MAX_BACKOFF);
        error.retry_after().map_or(wait, |server| server.max(wait))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use reqwest::StatusCode;

    use super::*;

    fn status(status: u16, code: &str, retry_after: Option<Duration>) -> CallError {
        CallError::Status {
            status: StatusCode::from_u16(status).unwrap(),
            code: code.into(),
            message: "m".into(),
            trace_id: None,
            retry_after,
        }
    }

    fn policy(max_attempts: u32) -> RetryPolicy {
        RetryPolicy::new(NonZeroU32::new(max_attempts).unwrap())
    }

    #[test]
    fn only_errors_that_may_pass_are_retried_while_attempts_remain() {
        let policy = policy(3);
        for error in [
            status(429, "too_many_requests", None),
            status(500, "internal", None),
            status(503, "unavailable", None),
            status(403, "request_forbidden", None),
            CallError::Transport {
                kind: crate::error::NoAnswer::TimedOut,
                message: "timed out".into(),
            },
        ] {
            assert!(policy.may_retry(&error, 2), "{error:?}");
            assert!(!policy.may_retry(&error, 3), "{error:?}");
        }
        for error in [
            status(400, "invalid_request", None),
            status(403, "forbidden", None),
            status(404, "not_found", None),
            status(409, "conflict", None),
        ] {
            assert!(!policy.may_retry(&error, 1), "{error:?}");
        }
    }

    #[test]
    fn the_pause_is_never_shorter_than_retry_after() {
        let mut backoff = Backoff::default();
        let asked = Duration::from_secs(7);
        for _ in 0..5 {
            assert!(backoff.after(&status(429, "too_many_requests", Some(asked))) >= asked);
        }
    }

    #[test]
    fn a_call_that_ran_out_says_so_and_a_refusal_does_not() {
        let ran_out = policy(3).give_up(status(503, "unavailable", None), 3);
        assert!(ran_out.ran_out && !ran_out.interrupted);
        assert_eq!(
            ran_out.into_row_error().to_string(),
            "HTTP 503 unavailable: m (gave up after 3 attempts)"
        );
        let refused = policy(3).give_up(status(400, "invalid_request", None), 1);
        assert_eq!(
            refused.into_row_error().to_string(),
            "HTTP 400 invalid_request: m"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_is_sent_again_until_it_passes() {
        let sent = AtomicU32::new(0);
        let answer = policy(5)
            .call_counted(&Stop::new(), "a read", "x", || async {
                match sent.fetch_add(1, Ordering::Relaxed) {
                    0 => Err(status(403, "request_forbidden", None)),
                    1 => Err(CallError::Transport {
                        kind: crate::error::NoAnswer::TimedOut,
                        message: "timed out".into(),
                    }),
                    _ => Ok("done"),
                }
            })
            .await
            .unwrap();
        assert_eq!(answer, ("done", 3));
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_ends_after_its_last_attempt() {
        let gave_up = policy(4)
            .call(&Stop::new(), "a read", "x", || async {
                Err::<(), _>(status(502, "bad_gateway", None))
            })
            .await
            .unwrap_err();
        assert_eq!((gave_up.attempts, gave_up.ran_out), (4, true));
    }

    #[tokio::test(start_paused = true)]
    async fn the_stop_signal_ends_a_pause_at_once() {
        let stop = Stop::new();
        let error = status(429, "too_many_requests", Some(Duration::from_secs(600)));
        // The paused clock would run the ten minutes out if nothing else happened first.
        let (policy, mut backoff) = (policy(5), Backoff::default());
        let (paused, ()) = tokio::join!(
            policy.pause(&mut backoff, &error, &stop, "a read", "x"),
            async { stop.set() },
        );
        assert!(!paused);

        // Once set, no call goes further than its first attempt.
        let sent = AtomicU32::new(0);
        let gave_up = policy
            .call(&stop, "a read", "x", || async {
                sent.fetch_add(1, Ordering::Relaxed);
                Err::<(), _>(status(503, "unavailable", None))
            })
            .await
            .unwrap_err();
        assert_eq!(sent.load(Ordering::Relaxed), 1);
        assert!(gave_up.interrupted && !gave_up.ran_out);
    }
}
