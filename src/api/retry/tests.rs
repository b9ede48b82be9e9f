//! The retry policy's rules, each tried on its own: which errors pass, how long a call
//! waits, what a 429 uses up, and when a call or the whole run stops.

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

/// `n` requests, each answered `error`.
fn tries(n: u32, error: impl Fn() -> CallError) -> Tries {
    let mut tries = Tries::default();
    for _ in 0..n {
        tries.record(&Err::<(), _>(error()));
    }
    tries
}

#[test]
fn only_errors_that_may_pass_are_retried_while_attempts_remain() {
    let policy = policy(3);
    for error in [
        status(500, "internal", None),
        status(503, "unavailable", None),
        status(403, "request_forbidden", None),
        CallError::Transport {
            kind: crate::error::NoAnswer::TimedOut,
            message: "timed out".into(),
        },
    ] {
        assert!(
            policy.may_retry(&error, &Tries::failed_times(2)),
            "{error:?}"
        );
        assert!(
            !policy.may_retry(&error, &Tries::failed_times(3)),
            "{error:?}"
        );
    }
    for error in [
        status(400, "invalid_request", None),
        status(403, "forbidden", None),
        status(404, "not_found", None),
        status(409, "conflict", None),
    ] {
        assert!(
            !policy.may_retry(&error, &Tries::failed_times(1)),
            "{error:?}"
        );
    }
}

#[test]
fn a_429_uses_up_no_attempt() {
    let policy = policy(2);
    let too_many = || status(429, "too_many_requests", None);
    let mut tries = tries(50, too_many);
    assert!(
        policy.may_retry(&too_many(), &tries),
        "fifty 429s, no attempt used"
    );
    tries.record(&Err::<(), _>(status(503, "unavailable", None)));
    assert!(policy.may_retry(&status(503, "unavailable", None), &tries));
    tries.record(&Err::<(), _>(too_many()));
    assert!(policy.may_retry(&too_many(), &tries), "429s still wait");
    tries.record(&Err::<(), _>(status(503, "unavailable", None)));
    assert!(
        !policy.may_retry(&status(503, "unavailable", None), &tries),
        "the second 503 is the second attempt"
    );
    let gave_up = policy.give_up(status(503, "unavailable", None), &tries);
    assert_eq!((gave_up.attempts, gave_up.ran_out), (53, true));
    assert!(gave_up.stops_the_run("a create", "x").is_none());
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
    let ran_out = policy(3).give_up(status(503, "unavailable", None), &Tries::failed_times(3));
    assert!(ran_out.ran_out && !ran_out.interrupted);
    assert_eq!(
        ran_out.into_row_error().to_string(),
        "HTTP 503 unavailable: m (gave up after 3 attempts)"
    );
    let refused = policy(3).give_up(
        status(400, "invalid_request", None),
        &Tries::failed_times(1),
    );
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
async fn a_call_answered_429_waits_however_long_it_takes_up_to_the_patience() {
    // A per-hour limit: 429s with an hour's Retry-After, then the window opens. Two
    // attempts allowed, five requests needed: nothing is used up, the call only waits.
    let (stop, sent) = (Stop::new(), AtomicU32::new(0));
    let hour = Some(Duration::from_secs(3600));
    let answer = policy(2)
        .call_counted(&stop, "a create", "x", || async {
            match sent.fetch_add(1, Ordering::Relaxed) {
                0 => Err(status(429, "too_many_requests", None)),
                1 | 2 => Err(status(429, "too_many_requests", hour)),
                3 => Err(status(503, "unavailable", None)),
                _ => Ok("created"),
            }
        })
        .await
        .unwrap();
    assert_eq!(answer, ("created", 5));
    assert!(!stop.is_set());
}

#[tokio::test(start_paused = true)]
async fn a_tenant_that_answers_429_forever_stops_the_run_after_the_patience() {
    let (stop, started) = (Stop::new(), Instant::now());
    let gave_up = policy(2)
        .call(&stop, "a list page", "the tenant", || async {
            Err::<(), _>(status(429, "too_many_requests", None))
        })
        .await
        .unwrap_err();
    let waited = started.elapsed();
    assert!(
        waited >= RATE_LIMITED_PATIENCE && waited < RATE_LIMITED_PATIENCE + MAX_BACKOFF * 2,
        "{waited:?}"
    );
    assert!(gave_up.ran_out && gave_up.attempts > 100, "{gave_up:?}");
    assert!(gave_up.rate_limited_for >= Some(RATE_LIMITED_PATIENCE));
    assert!(stop.is_set(), "the run stops");
    let fatal = stop.take_fatal().unwrap().to_string();
    assert!(
        fatal.starts_with(
            "the tenant answered a list page for the tenant with nothing but 429 Too Many \
             Requests for 90 minutes"
        ),
        "{fatal}"
    );
    assert!(gave_up.into_row_error().to_string().ends_with("attempts)"),);
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

#[tokio::test]
async fn rejected_credentials_stop_the_run_from_any_call_not_just_a_create() {
    // verify's reads and undo's deletes go through the policy: the first call that meets
    // rejected credentials sets the stop with that error, so the rest are not tried.
    let stop = Stop::new();
    let calls = AtomicU32::new(0);
    let result: Result<(), GaveUp> = policy(6)
        .call(&stop, "a delete", "org-1", || {
            calls.fetch_add(1, Ordering::Relaxed);
            async {
                Err(CallError::Auth(Error::AuthRejected {
                    url: "https://t/token".into(),
                    status: 401,
                    error: "invalid_client".into(),
                    description: String::new(),
                }))
            }
        })
        .await;
    assert!(result.is_err());
    assert_eq!(calls.load(Ordering::Relaxed), 1, "not retried");
    assert!(stop.is_set());
    assert!(
        matches!(
            stop.take_fatal(),
            Some(Error::AuthRejected { status: 401, .. })
        ),
        "the run stops with the refusal"
    );
}
