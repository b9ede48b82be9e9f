//! Fault injection: seeded dice for each fault (the token endpoint's outages included), the
//! latency layer, and the dropped connection.
//!
//! # Dropping a connection
//! A handler cannot reach the TCP socket, so a "dropped" reply is a response whose body fails
//! on its first poll. hyper (HTTP/1) buffers the status line and headers and polls the body
//! before flushing; the body error makes it abandon the connection without writing a byte.
//! The client sees the connection close before any response (reqwest: a request error, no
//! status), exactly what a crash or network cut after the commit looks like.

use std::io;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::Frame;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::config::Faults;
use super::gate::{TRACE_ID, trace_id};
use super::reply::ApiError;
use super::stats::bump;
use super::{Sandbox, lock};

/// Decides which faults strike, from the configured rates and one seeded RNG.
#[derive(Debug)]
pub(crate) struct Dice {
    /// The configured faults.
    faults: Faults,
    /// The RNG, seeded from `faults.seed`; a std Mutex as it is never held across `.await`.
    rng: Mutex<StdRng>,
}

/// A server error for a request that changed nothing: 500 or 503, as likely.
fn server_error(rng: &mut impl Rng) -> StatusCode {
    if rng.random_bool(0.5) {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

/// How the reply of a committed request fails: a 502 or a dropped connection, as likely.
fn reply_failure(rng: &mut impl Rng) -> AfterCommit {
    if rng.random_bool(0.5) {
        AfterCommit::BadGateway
    } else {
        AfterCommit::DropConnection
    }
}

/// The faults drawn for one update.
#[derive(Debug)]
pub(crate) struct UpdateFaults {
    /// Answer this instead, changing nothing.
    pub(crate) before_commit: Option<StatusCode>,
    /// Commit, then fail the reply this way.
    pub(crate) after_commit: Option<AfterCommit>,
}

/// The faults drawn for one create, all drawn before it is processed.
#[derive(Debug, Default)]
pub(crate) struct CreateFaults {
    /// Answer this 5xx instead of processing the create.
    pub(crate) before_commit: Option<StatusCode>,
    /// If the create commits, hold its reply this long.
    pub(crate) slow_commit: Option<Duration>,
    /// If the create commits, fail this way instead of answering 201.
    pub(crate) after_commit: Option<AfterCommit>,
}

/// How a committed create fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AfterCommit {
    /// Answer 502 `bad_gateway`.
    BadGateway,
    /// Close the connection without a reply.
    DropConnection,
}

impl Dice {
    /// Dice for these faults, seeded from `faults.seed`.
    pub(crate) fn new(faults: Faults) -> Dice {
        let rng = StdRng::seed_from_u64(faults.seed);
        Dice {
            faults,
            rng: Mutex::new(rng),
        }
    }

    /// Whether this `/api` request is rejected as part of a burst (403 `request_forbidden`).
    pub(crate) fn forbidden(&self) -> bool {
        chance(&mut lock(&self.rng), self.faults.forbidden_burst_rate)
    }

    /// The failure of one token request, at `token_error_rate`: the reply to send instead of
    /// a token.
    pub(crate) fn token_outage(&self) -> Option<Response> {
        let mut rng = lock(&self.rng);
        if !chance(&mut rng, self.faults.token_error_rate) {
            return None;
        }
        let (status, error) = match rng.random_range(0..3) {
            0 => (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable"),
            1 => (StatusCode::TOO_MANY_REQUESTS, "slow_down"),
            _ => return Some(dropped_connection()),
        };
        let body = serde_json::json!({
            "error": error,
            "error_description": "sandbox fault: the token endpoint is overloaded",
        });
        Some((status, axum::Json(body)).into_response())
    }

    /// The faults for one update: 500 or 503 before anything is changed, at `error_rate`;
    /// a committed update whose reply fails (502 or a dropped connection), at
    /// `commit_then_fail_rate`.
    pub(crate) fn update(&self) -> UpdateFaults {
        let f = &self.faults;
        let mut rng = lock(&self.rng);
        let rng = &mut *rng;
        UpdateFaults {
            before_commit: chance(rng, f.error_rate).then(|| server_error(rng)),
            after_commit: chance(rng, f.commit_then_fail_rate).then(|| reply_failure(rng)),
        }
    }

    /// The faults for one create.
    pub(crate) fn create(&self) -> CreateFaults {
        let f = &self.faults;
        let mut rng = lock(&self.rng);
        let rng = &mut *rng;
        CreateFaults {
            before_commit: chance(rng, f.error_rate).then(|| server_error(rng)),
            slow_commit: chance(rng, f.slow_commit_rate).then_some(f.slow_commit_delay),
            after_commit: chance(rng, f.commit_then_fail_rate).then(|| reply_failure(rng)),
        }
    }

    /// The delay to add to one reply: `latency` plus up to `latency_jitter`.
    fn latency(&self) -> Duration {
        let f = &self.faults;
        if f.latency_jitter.is_zero() {
            return f.latency;
        }
        let jitter = f.latency_jitter.mul_f64(lock(&self.rng).random::<f64>());
        f.latency.saturating_add(jitter)
    }
}

/// True with probability `rate`; never for 0, NaN or less, always for 1 or more.
fn chance(rng: &mut StdRng, rate: f64) -> bool {
    if rate.is_nan() || rate <= 0.0 {
        false
    } else if rate >= 1.0 {
        true
    } else {
        rng.random::<f64>() < rate
    }
}

/// Middleware: delays every reply by the configured latency (after the handler ran, so a
/// commit is already made when the client's timeout fires). It is also where the concurrency
/// limit is kept, so that a request is in flight until its delayed reply leaves: one more
/// `/api` request than the limit is answered 429 at once.
pub(crate) async fn add_latency(
    State(sandbox): State<Sandbox>,
    req: Request,
    next: Next,
) -> Response {
    let shared = &sandbox.shared;
    let _slot = match &shared.in_flight {
        Some(in_flight) if req.uri().path().starts_with("/api/") => match in_flight.enter() {
            Some(slot) => Some(slot),
            None => {
                bump(&shared.counters.rate_limited);
                bump(&shared.counters.concurrency_limited);
                let mut res = ApiError::TooManyRequests { retry_after: 1 }.into_response();
                res.headers_mut().insert(TRACE_ID, trace_id());
                return res;
            }
        },
        _ => None,
    };
    let res = next.run(req).await;
    let delay = shared.dice.latency();
    if !delay.is_zero() {
        shared.delays.sleep(delay).await;
    }
    res
}

/// A response that makes the server close the connection without replying (see module docs).
pub(crate) fn dropped_connection() -> Response {
    Response::new(Body::new(FailingBody))
}

/// A body whose first poll is an error.
#[derive(Debug)]
struct FailingBody;

impl HttpBody for FailingBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        Poll::Ready(Some(Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "sandbox fault: connection dropped after commit",
        ))))
    }
}
