//! How long to wait before trying a request again: backon's exponential backoff with
//! jitter, never shorter than what the server asked for in `Retry-After`. Creates, updates
//! and list pages all pause the same way.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

use super::CallError;

/// The first retry waits about this long; later ones wait longer.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// No retry waits longer than this (unless the server's `Retry-After` says so).
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The pauses between the attempts of one request.
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
