//! The one retry policy every API call follows: creates, updates, list pages, look-ups, the
//! template check, verify's reads, undo's deletes and the token fetch before a command's first
//! request ([`RetryPolicy::token`]).
//!
//! - Which errors may pass: those [`CallError::is_retryable`] names (429, the 5xx that
//!   [`status_may_pass`] allows, the 403 `request_forbidden` bursts, transport errors,
//!   token-endpoint outages). A server that answers 501 Not Implemented (or 405, or any
//!   other 4xx) will answer the same to every retry, so it gets none.
//! - How long to wait: backon's exponential backoff with jitter ([`Backoff`]), never shorter
//!   than what the server asked for in `Retry-After`; after a 429, what it asked for (else a
//!   second), as the whole run slows down instead.
//! - How often: at most [`RetryPolicy::max_attempts`] requests per call that are not answered
//!   429, retries included ([`Tries`]). A 429 counts none: the tenant's rate limit only makes
//!   the call wait (and the whole run slow down, [`super::Throttle`]). What bounds a call the
//!   tenant answers 429 forever is time: after [`RATE_LIMITED_PATIENCE`] of nothing but 429s it
//!   gives up, and the run stops ([`GaveUp::stops_the_run`]): a count of 429s would bound
//!   nothing useful, as a tenant asking for an hour's `Retry-After` answers two an hour and one
//!   asking for none answers hundreds.
//! - When to stop: the [`Stop`] signal (Ctrl-C, a fatal error) ends any wait at once, and no
//!   attempt starts once it is set.

use std::future::Future;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use tokio::time::Instant;

use super::CallError;
use super::auth::{Token, TokenSource};
use crate::stop::Stop;
use crate::{Error, RowError};

/// The first retry waits about this long; later ones wait longer.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// No retry waits longer than this (unless the server's `Retry-After` says so).
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// The pause after a 429 without `Retry-After`.
const RATE_LIMITED_WAIT: Duration = Duration::from_secs(1);
/// How long a call may be answered nothing but 429 before it gives up and the run stops:
/// longer than a per-hour limit's window and the longest `Retry-After` honoured (an hour), with
/// room for the retry after it, so that a per-hour limit only makes a run slower.
pub(crate) const RATE_LIMITED_PATIENCE: Duration = Duration::from_secs(90 * 60);

/// How every API call is retried: see the module docs. Cheap to copy into each task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Requests per call at most that are not answered 429, retries included
    /// (`--max-attempts`).
    max_attempts: NonZeroU32,
}

impl Default for RetryPolicy {
    /// The policy of commands without `--max-attempts` (verify, undo): import's default.
    fn default() -> Self {
        RetryPolicy::new(NonZeroU32::new(6).expect("6 is not zero"))
    }
}

/// The requests of one call so far, as the policy counts them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tries {
    /// Requests sent, 429s included.
    sent: u32,
    /// Failed requests that count against `--max-attempts`: all but those answered 429.
    counted: u32,
    /// When the call's latest unbroken series of 429 answers began.
    rate_limited_since: Option<Instant>,
}

impl Tries {
    /// `failed` requests, none of them answered 429.
    pub fn failed_times(failed: u32) -> Tries {
        Tries {
            sent: failed,
            counted: failed,
            rate_limited_since: None,
        }
    }

    /// One more request was sent, and answered `reply`.
    pub fn record<T>(&mut self, reply: &Result<T, CallError>) {
        self.sent += 1;
        match reply {
            Err(error) if is_rate_limit(error) => {
                self.rate_limited_since.get_or_insert_with(Instant::now);
            }
            Err(_) => {
                self.counted += 1;
                self.rate_limited_since = None;
            }
            Ok(_) => self.rate_limited_since = None,
        }
    }

    /// Requests sent so far, 429s included.
    pub fn sent(&self) -> u32 {
        self.sent
    }

    /// How long the call has been answered nothing but 429 (zero unless its last answer was).
    fn rate_limited_for(&self) -> Duration {
        self.rate_limited_since
            .map_or(Duration::ZERO, |since| since.elapsed())
    }
}

/// Whether a server error `status` (5xx) may pass if the request is sent again: an outage or
/// an overloaded gateway (500, 502, 503, 504, and the 5xx no standard names) may; a server
/// that says it cannot do this at all will say so again: 501 Not Implemented, 505 HTTP Version
/// Not Supported, 506 Variant Also Negotiates, 508 Loop Detected, 510 Not Extended and 511
/// Network Authentication Required.
pub(crate) fn status_may_pass(status: u16) -> bool {
    (500..600).contains(&status) && !matches!(status, 501 | 505 | 506 | 508 | 510 | 511)
}

/// A 429: the tenant's rate limit, which only makes a call wait.
fn is_rate_limit(error: &CallError) -> bool {
    error.status() == Some(429)
}

/// Why a call ended without success.
#[derive(Debug)]
pub struct GaveUp {
    /// The last attempt's error.
    pub error: CallError,
    /// Requests sent for the call, 429s included.
    pub attempts: u32,
    /// Whether every attempt the policy allows was used (or, for 429s, all its patience).
    pub ran_out: bool,
    /// Whether the stop signal ended the call while its error might still have passed.
    pub interrupted: bool,
    /// How long the tenant had answered nothing but 429 when the call gave up on it, after
    /// [`RATE_LIMITED_PATIENCE`]; `None` when it gave up for another reason.
    pub rate_limited_for: Option<Duration>,
}

impl GaveUp {
    /// The HTTP status of the last answer, if one came.
    pub fn status(&self) -> Option<u16> {
        self.error.status()
    }

    /// The fatal error that ends the run when this call of `what` (e.g. "a create") for
    /// `name` gave up: the token endpoint refused the credentials (or redirected), which
    /// every other call would meet too; or the tenant answered nothing but 429 for
    /// [`RATE_LIMITED_PATIENCE`]: its limit lets nothing through, and every other call would
    /// wait as long. `None` for any other end.
    pub fn stops_the_run(&self, what: &str, name: &str) -> Option<Error> {
        match &self.error {
            CallError::Auth(Error::AuthRejected {
                url,
                status,
                error,
                description,
            }) => {
                return Some(Error::AuthRejected {
                    url: url.clone(),
                    status: *status,
                    error: error.clone(),
                    description: description.clone(),
                });
            }
            CallError::Auth(Error::TokenRedirected { url, message }) => {
                return Some(Error::TokenRedirected {
                    url: url.clone(),
                    message: message.clone(),
                });
            }
            _ => {}
        }
        self.rate_limited_for.map(|waited| Error::RateLimited {
            call: format!("{what} for {name}"),
            minutes: waited.as_secs() / 60,
        })
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
    /// A policy of at most `max_attempts` requests per call not answered 429.
    pub fn new(max_attempts: NonZeroU32) -> Self {
        RetryPolicy { max_attempts }
    }

    /// Requests per call at most that are not answered 429, retries included.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts.get()
    }

    /// Whether a call whose latest request (counted in `tries`) failed with `error` is tried
    /// again: only an error that may pass; a 429 while the tenant has answered nothing else
    /// for less than [`RATE_LIMITED_PATIENCE`], any other while attempts remain. The stop
    /// signal is not asked.
    pub fn may_retry(&self, error: &CallError, tries: &Tries) -> bool {
        if !error.is_retryable() {
            false
        } else if is_rate_limit(error) {
            tries.rate_limited_for() < RATE_LIMITED_PATIENCE
        } else {
            tries.counted < self.max_attempts()
        }
    }

    /// The end of a call whose latest request (counted in `tries`) failed with `error`, not
    /// retried.
    pub fn give_up(&self, error: CallError, tries: &Tries) -> GaveUp {
        let rate_limited_for = (is_rate_limit(&error)
            && tries.rate_limited_for() >= RATE_LIMITED_PATIENCE)
            .then(|| tries.rate_limited_for());
        GaveUp {
            error,
            attempts: tries.sent,
            ran_out: tries.counted >= self.max_attempts() || rate_limited_for.is_some(),
            interrupted: false,
            rate_limited_for,
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

    /// After the latest request of a call (counted in `tries`) failed with `error`: `Ok` once
    /// it is time to try again, after the pause. A call that gave up after
    /// [`RATE_LIMITED_PATIENCE`] of 429s sets `stop` with [`GaveUp::stops_the_run`]'s error.
    ///
    /// # Errors
    /// [`GaveUp`] when the call must end instead: the error cannot pass, the attempts (or the
    /// patience with 429s) ran out, or the stop signal is set (also while waiting).
    pub async fn after(
        &self,
        backoff: &mut Backoff,
        error: CallError,
        tries: &Tries,
        stop: &Stop,
        what: &str,
        name: &str,
    ) -> Result<(), GaveUp> {
        if !self.may_retry(&error, tries) {
            let gave_up = self.give_up(error, tries);
            if let Some(fatal) = gave_up.stops_the_run(what, name) {
                stop.fatal(fatal);
            }
            return Err(gave_up);
        }
        if self.pause(backoff, &error, stop, what, name).await {
            Ok(())
        } else {
            Err(GaveUp {
                interrupted: true,
                ..self.give_up(error, tries)
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
        let mut tries = Tries::default();
        loop {
            let reply = send().await;
            tries.record(&reply);
            match reply {
                Ok(value) => return Ok((value, tries.sent())),
                Err(error) => {
                    self.after(&mut backoff, error, &tries, stop, what, name)
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

    /// A token from `tokens`, its fetch retried like any call: what a command asks for before
    /// its first request, so that one blip of the token endpoint (a 5xx, a 429, a timeout, a
    /// dropped connection) does not end the run before it starts.
    ///
    /// # Errors
    /// [`Error::AuthRejected`] at once (wrong credentials or scope); [`Error::Auth`] once the
    /// policy gives up, saying after how many attempts, or when `stop` is set.
    pub async fn token(&self, tokens: &TokenSource, stop: &Stop) -> Result<Arc<Token>, Error> {
        let fetched = self
            .call(stop, "the token fetch", "the token endpoint", || async {
                tokens.token().await.map_err(CallError::Auth)
            })
            .await;
        fetched.map_err(|gave_up| {
            let attempts = gave_up.attempts;
            match gave_up.error {
                CallError::Auth(Error::Auth { url, message }) if attempts > 1 => Error::Auth {
                    url,
                    message: format!("{message} (gave up after {attempts} attempts)"),
                },
                CallError::Auth(error) => error,
                other => Error::Auth {
                    url: "the token endpoint".into(),
                    message: other.into_row_error().to_string(),
                },
            }
        })
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
    /// The pause before the next attempt, after `error`. After a 429 it is the server's
    /// `Retry-After` (else [`RATE_LIMITED_WAIT`]), and the backoff does not grow: the whole run
    /// has slowed down already ([`super::Throttle`]), so a call that waited its turn is not
    /// made to wait longer and longer on top of it.
    pub fn after(&mut self, error: &CallError) -> Duration {
        if is_rate_limit(error) {
            return error.retry_after().unwrap_or(RATE_LIMITED_WAIT);
        }
        let wait = self.0.next().unwrap_or(MAX_BACKOFF);
        error.retry_after().map_or(wait, |server| server.max(wait))
    }
}

#[cfg(test)]
mod tests;
