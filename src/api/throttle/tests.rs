//! The controller against a simulated tenant on tokio's paused clock: a strict token bucket
//! answering 429, reached by workers over a fixed round trip.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::time::Instant;

use super::*;
use crate::rate::{Rate, RateSetting};

fn at_most(per_second: u32) -> RateSetting {
    RateSetting::AtMost(Rate::per_second_at_most(
        NonZeroU32::new(per_second).unwrap(),
    ))
}

/// A tenant's token bucket on tokio's clock.
struct Bucket {
    per_second: f64,
    capacity: f64,
    tokens: f64,
    at: Instant,
    /// Send the rate-limit headers.
    headers: bool,
    /// With a 429, `Retry-After` in whole seconds until a token is back (rounded up, as
    /// the header has no fractions).
    retry_after: bool,
}

impl Bucket {
    fn new(per_second: f64, capacity: f64, headers: bool) -> Self {
        Bucket {
            per_second,
            capacity,
            tokens: capacity,
            at: Instant::now(),
            headers,
            retry_after: false,
        }
    }

    /// The same, saying `Retry-After` with each 429.
    fn saying_retry_after(self) -> Self {
        Bucket {
            retry_after: true,
            ..self
        }
    }

    fn take(&mut self) -> (StatusCode, HeaderMap) {
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        self.at = now;
        let status = if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            StatusCode::CREATED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        let mut headers = HeaderMap::new();
        if self.retry_after && status == StatusCode::TOO_MANY_REQUESTS {
            let wait = ((1.0 - self.tokens) / self.per_second).ceil().max(1.0);
            headers.insert(reqwest::header::RETRY_AFTER, HeaderValue::from(wait as u64));
        }
        if self.headers {
            let mut set = |name: &'static str, value: String| {
                headers.insert(
                    HeaderName::from_static(name),
                    HeaderValue::try_from(value).unwrap(),
                );
            };
            set("ratelimit-limit", format!("{}", self.per_second));
            set("ratelimit-remaining", format!("{}", self.tokens.floor()));
            set("ratelimit-policy", format!("{};w=1", self.per_second));
        }
        (status, headers)
    }
}

/// What a simulated run did.
#[derive(Debug)]
struct Run {
    /// 2xx answers per second over the run.
    delivered: f64,
    /// 429s out of all answers.
    refused: f64,
    /// 429s.
    refusals: u64,
    /// The throttle's rate at the end.
    rate: f64,
}

/// `workers` send through `throttle` to `bucket` for `seconds` of tokio's (paused) clock,
/// each request taking `round_trip`.
async fn simulate(
    throttle: Throttle,
    bucket: Bucket,
    workers: usize,
    round_trip: Duration,
    seconds: u64,
) -> Run {
    let throttle = Arc::new(throttle);
    let bucket = Arc::new(Mutex::new(bucket));
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (throttle, bucket) = (throttle.clone(), bucket.clone());
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut refused) = (0u64, 0u64);
            while Instant::now() < end {
                let turn = throttle.ready().await;
                tokio::time::sleep(round_trip / 2).await;
                let (status, headers) = bucket.lock().unwrap().take();
                tokio::time::sleep(round_trip / 2).await;
                throttle.answered(turn, status, &headers);
                if status.is_success() {
                    ok += 1;
                } else {
                    refused += 1;
                }
            }
            (ok, refused)
        }));
    }
    let (mut ok, mut refused) = (0, 0);
    for task in tasks {
        let (o, r) = task.await.unwrap();
        ok += o;
        refused += r;
    }
    Run {
        delivered: ok as f64 / start.elapsed().as_secs_f64(),
        refused: refused as f64 / (ok + refused).max(1) as f64,
        refusals: refused,
        rate: throttle.rate(),
    }
}

const ROUND_TRIP: Duration = Duration::from_millis(2);

#[tokio::test(start_paused = true)]
async fn auto_finds_an_unpublished_limit_and_holds_it() {
    for limit in [10.0, 60.0, 500.0] {
        let throttle = Throttle::new(RateSetting::Auto, RateSetting::DEFAULT_BURST);
        let run = simulate(
            throttle,
            Bucket::new(limit, 10.0, false),
            16,
            ROUND_TRIP,
            30,
        )
        .await;
        assert!(
            run.delivered >= 0.9 * limit && run.refused <= 0.03,
            "limit {limit}/s: {run:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_small_bucket_refuses_slow_start_and_its_first_cut_and_nothing_more() {
    // Auth0's smallest tier: burst 5, a token every 400 ms, `Retry-After` with each 429.
    // 30 s is about 80 requests, where a third 429 is over 3 %: slow start's first refusal
    // and the next one, measured from it, are all it may take.
    for limit in [2.5] {
        let throttle = Throttle::new(RateSetting::Auto, RateSetting::DEFAULT_BURST);
        let bucket = Bucket::new(limit, 5.0, false).saying_retry_after();
        let run = simulate(throttle, bucket, 32, ROUND_TRIP, 30).await;
        assert!(
            run.delivered >= 0.9 * limit && run.refusals <= 2,
            "limit {limit}/s: {run:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn auto_with_the_headers_stays_at_the_published_limit() {
    for limit in [10.0, 60.0, 500.0] {
        let throttle = Throttle::new(RateSetting::Auto, RateSetting::DEFAULT_BURST);
        let run = simulate(throttle, Bucket::new(limit, 10.0, true), 16, ROUND_TRIP, 20).await;
        assert!(
            run.delivered >= 0.9 * limit && run.refused <= 0.01,
            "limit {limit}/s: {run:?}"
        );
        assert!(run.rate <= limit, "no probing above a known limit: {run:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn four_times_the_limit_settles_under_it() {
    let throttle = Throttle::new(at_most(400), RateSetting::DEFAULT_BURST);
    let run = simulate(
        throttle,
        Bucket::new(100.0, 10.0, false),
        16,
        ROUND_TRIP,
        20,
    )
    .await;
    assert!(
        run.delivered >= 90.0 && run.refused <= 0.03,
        "400/s against 100/s: {run:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_limit_itself_is_kept_without_a_refusal() {
    let throttle = Throttle::new(at_most(100), RateSetting::DEFAULT_BURST);
    let run = simulate(
        throttle,
        Bucket::new(100.0, 10.0, false),
        16,
        ROUND_TRIP,
        10,
    )
    .await;
    assert_eq!(run.refused, 0.0, "{run:?}");
    assert!(run.delivered >= 99.0, "{run:?}");
}

#[tokio::test(start_paused = true)]
async fn a_latency_bound_run_does_not_raise_the_rate() {
    // Two workers, 100 ms round trips: 20/s at most, whatever the rate allows.
    let throttle = Throttle::new(RateSetting::Auto, RateSetting::DEFAULT_BURST);
    let run = simulate(
        throttle,
        Bucket::new(1000.0, 10.0, false),
        2,
        Duration::from_millis(100),
        10,
    )
    .await;
    // Growth stops within a few steps of what the run achieves, far from the ceiling.
    assert!(run.rate < 3.0 * run.delivered, "{run:?}");
}

#[tokio::test(start_paused = true)]
async fn answers_to_requests_sent_before_a_cut_do_not_cut_again() {
    let throttle = Throttle::new(at_most(100), RateSetting::DEFAULT_BURST);
    let none = HeaderMap::new();
    let early: Vec<Turn> = futures_tickets(&throttle, 5).await;
    for turn in early {
        throttle.answered(turn, StatusCode::TOO_MANY_REQUESTS, &none);
    }
    assert_eq!(throttle.cuts(), 1, "five 429s of one round trip count once");
    assert_eq!(throttle.refused(), 5);
    assert!((throttle.rate() - 50.0).abs() < 1e-9, "{}", throttle.rate());
    // A request sent after the cut and refused cuts again.
    let later = throttle.ready().await;
    throttle.answered(later, StatusCode::TOO_MANY_REQUESTS, &none);
    assert_eq!(throttle.cuts(), 2);
}

#[tokio::test(start_paused = true)]
async fn spacing_follows_the_rate() {
    let throttle = Throttle::new(at_most(100), RateSetting::DEFAULT_BURST);
    let start = Instant::now();
    futures_tickets(&throttle, 11).await;
    let took = start.elapsed();
    assert!(
        (Duration::from_millis(99)..=Duration::from_millis(101)).contains(&took),
        "11 requests at 100/s take 100 ms: {took:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_published_limit_caps_a_higher_rate_at_once() {
    let throttle = Throttle::new(at_most(400), RateSetting::DEFAULT_BURST);
    let turn = throttle.ready().await;
    let mut headers = HeaderMap::new();
    headers.insert("x-ratelimit-limit", HeaderValue::from_static("100"));
    throttle.answered(turn, StatusCode::CREATED, &headers);
    assert_eq!(throttle.rate(), 100.0);
}

/// `n` turns taken one after the other.
async fn futures_tickets(throttle: &Throttle, n: usize) -> Vec<Turn> {
    let mut tickets = Vec::new();
    for _ in 0..n {
        tickets.push(throttle.ready().await);
    }
    tickets
}
