//! What goes into the pace controller and what comes out: a request's turn ([`Ticket`]), its
//! answer ([`Outcome`], [`Signal`]), a cut to log ([`SlowDown`]), and what it learned of the
//! tenant's limiter ([`Learned`]), as the progress line says it.

use std::time::Duration;

use tokio::time::Instant;

/// A request's turn: at what rate it went, handed back with its answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ticket {
    /// When it may go.
    pub(crate) turn: Instant,
    /// The rate it was paced at.
    pub(super) rate: f64,
    /// The cuts made before it was paced: an answer to it says nothing about later rates.
    pub(super) cuts: u64,
    /// The holds made before it was paced: a turn handed out before a hold is taken again.
    pub(super) holds: u64,
    /// Requests in flight when it left, itself included (0: not counted).
    pub(crate) in_flight: u32,
}

/// What an answer was, as far as the pace is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A 2xx: it got through.
    Delivered,
    /// A 429.
    Refused,
    /// Anything else (a 5xx, a 4xx): not a rate signal.
    Other,
}

impl Outcome {
    /// The outcome of an answer with `status`.
    pub(crate) fn of(status: reqwest::StatusCode) -> Outcome {
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            Outcome::Refused
        } else if status.is_success() {
            Outcome::Delivered
        } else {
            Outcome::Other
        }
    }
}

/// Why the run slows down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// A 429.
    Refused,
    /// A reply's `Remaining` was 0.
    UsedUp,
    /// A published limit below the rate.
    Published,
    /// A 429 that held the run past a window's end: a fixed window, learned from it.
    Blocked,
}

/// A slow-down the controller made, for the caller to say.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SlowDown {
    /// Why.
    pub(crate) signal: Signal,
    /// The rate from now on.
    pub(crate) rate: f64,
}

/// What the controller learned of the tenant's limiter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Learned {
    /// Fixed windows: `allowance` requests per `window`.
    Window {
        /// Requests per window.
        allowance: u64,
        /// The window.
        window: Duration,
    },
    /// A rate (a token bucket, or a limit found from refusals): requests per second.
    Rate(f64),
    /// An in-flight limit: requests at once.
    InFlight(u32),
}

/// How the progress line says it: "limit ≈ 300 per 10 s window", "limit ≈ 2.5/s".
impl std::fmt::Display for Learned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Learned::Window { allowance, window } => write!(
                f,
                "limit ≈ {allowance} per {} s window",
                window.as_secs_f64()
            ),
            Learned::Rate(rate) => write!(f, "limit ≈ {rate:.1}/s"),
            Learned::InFlight(n) => write!(f, "in-flight limit ≈ {n}"),
        }
    }
}
