//! The create's steps driven by hand: every path from the first create to the outcome.

use std::num::NonZeroU32;

use reqwest::StatusCode;

use super::*;
use crate::api::CreateOrganization;
use crate::error::NoAnswer;
use crate::error_kind::ErrorKind;

const KEY: &str = "k-0123456789abcdef0123456789abcdef";

/// A row named `acme`, with `id` if given, sent by a policy of `max_attempts`.
struct Fixture {
    request: CreateOrganization,
    body: Bytes,
    policy: RetryPolicy,
    t0: Instant,
}

impl Fixture {
    fn new(id: Option<&str>, max_attempts: u32) -> Fixture {
        Fixture {
            request: CreateOrganization {
                id: id.map(str::to_string),
                name: "acme".into(),
                ..CreateOrganization::default()
            },
            body: Bytes::from_static(br#"{"name":"acme"}"#),
            policy: RetryPolicy::new(NonZeroU32::new(max_attempts).unwrap()),
            t0: Instant::now(),
        }
    }

    /// The steps of the row; `in_doubt` when an earlier run may have created it.
    fn steps(&self, in_doubt: bool) -> CreateSteps<'_> {
        let row = Row {
            request: &self.request,
            body: &self.body,
            idempotency_key: KEY,
            in_doubt,
        };
        CreateSteps::new(row, self.policy)
    }

    /// `seconds` after the row started.
    fn at(&self, seconds: u64) -> Instant {
        self.t0 + Duration::from_secs(seconds)
    }
}

fn status(status: u16, code: &str) -> CallError {
    CallError::Status {
        status: StatusCode::from_u16(status).unwrap(),
        code: code.into(),
        message: "m".into(),
        trace_id: None,
        retry_after: None,
    }
}

fn dropped() -> CallError {
    CallError::Transport {
        kind: NoAnswer::Failed,
        message: "request failed: connection closed".into(),
    }
}

fn org(id: &str, name: &str) -> Organization {
    Organization {
        id: id.into(),
        name: name.into(),
        ..Organization::default()
    }
}

/// Asserts that `step` sends the row's body with its idempotency key.
fn assert_sends(step: Step<'_>, body: &Bytes) {
    match step {
        Step::Send {
            body: sent,
            idempotency_key,
        } => assert_eq!((sent, idempotency_key), (body, KEY)),
        other => panic!("expected a send, got {other:?}"),
    }
}

fn outcome(step: Step<'_>) -> Outcome {
    match step {
        Step::Done(outcome) => outcome,
        other => panic!("expected the outcome, got {other:?}"),
    }
}

/// (status, org id, http status, attempts) of a finished row.
fn fate(step: Step<'_>) -> (Status, Option<String>, Option<u16>, u32) {
    let o = outcome(step);
    (o.status, o.org_id, o.http_status, o.attempts)
}

fn pause(step: Step<'_>) -> CallError {
    match step {
        Step::Pause(error) => error,
        other => panic!("expected a pause, got {other:?}"),
    }
}

#[test]
fn a_row_created_at_once_is_created() {
    let f = Fixture::new(None, 6);
    let mut steps = f.steps(false);
    assert_sends(steps.start(f.at(0)), &f.body);
    let done = steps.sent(Ok("o-1".into()), f.at(0));
    assert_eq!(
        fate(done),
        (Status::Created, Some("o-1".into()), Some(201), 1)
    );
}

#[test]
fn an_ambiguous_failure_is_resent_within_the_window_with_the_same_key() {
    let f = Fixture::new(None, 6);
    let mut steps = f.steps(false);
    assert_sends(steps.start(f.at(0)), &f.body);
    pause(steps.sent(Err(status(502, "bad_gateway")), f.at(0)));
    assert_sends(steps.waited(f.at(10)), &f.body);
    pause(steps.sent(Err(dropped()), f.at(10)));
    // Still within the window counted from the first ambiguous failure.
    assert_sends(steps.waited(f.at(49)), &f.body);
    let done = steps.sent(Ok("o-1".into()), f.at(49));
    assert_eq!(
        fate(done),
        (Status::Created, Some("o-1".into()), Some(201), 3)
    );
}

/// A row without an id whose create failed ambiguously and whose pause ended past the
/// replay window: it is to be looked up.
fn looking_up_past_the_window(f: &Fixture) -> CreateSteps<'_> {
    let mut steps = f.steps(false);
    assert_sends(steps.start(f.at(0)), &f.body);
    pause(steps.sent(Err(dropped()), f.at(0)));
    assert!(matches!(steps.waited(f.at(51)), Step::LookUp));
    steps
}

#[test]
fn past_the_window_the_organization_found_by_name_is_the_rows() {
    let f = Fixture::new(None, 6);
    let mut steps = looking_up_past_the_window(&f);
    let done = steps.looked_up(Ok(vec![org("o-9", "acme")]));
    assert_eq!(
        fate(done),
        (Status::Created, Some("o-9".into()), Some(200), 1)
    );
}

#[test]
fn past_the_window_a_row_found_nowhere_is_sent_again() {
    let f = Fixture::new(None, 6);
    let mut steps = looking_up_past_the_window(&f);
    assert_sends(steps.looked_up(Ok(Vec::new())), &f.body);
    // The window starts again with the next ambiguous failure.
    pause(steps.sent(Err(status(503, "unavailable")), f.at(52)));
    assert_sends(steps.waited(f.at(60)), &f.body);
    let done = steps.sent(Ok("o-1".into()), f.at(60));
    assert_eq!(
        fate(done),
        (Status::Created, Some("o-1".into()), Some(201), 3)
    );
}

#[test]
fn past_the_window_two_organizations_of_the_name_fail_the_row() {
    let f = Fixture::new(None, 6);
    let mut steps = looking_up_past_the_window(&f);
    let done = outcome(steps.looked_up(Ok(vec![org("o-1", "acme"), org("o-2", "acme")])));
    assert_eq!(
        (done.status, done.http_status, done.kind),
        (Status::Failed, Some(200), Some(ErrorKind::AmbiguousName))
    );
    assert_eq!(
        done.error.unwrap(),
        "HTTP 200 ambiguous_name: 2 organizations are named \"acme\" (o-1, o-2); not sent \
         again, to create no duplicate: give the row an id, or remove the extra \
         organizations"
    );
}

#[test]
fn a_look_up_that_fails_leaves_the_row_failed_and_unsent() {
    let f = Fixture::new(None, 6);
    let mut steps = looking_up_past_the_window(&f);
    let gave_up = f.policy.give_up(status(503, "unavailable"), 6);
    let done = outcome(steps.looked_up(Err(gave_up)));
    assert_eq!((done.http_status, done.attempts), (Some(503), 1));
    assert_eq!(
        done.error.unwrap(),
        "could not check whether an earlier attempt created it, so it was not sent \
         again: HTTP 503 unavailable: m (gave up after 6 attempts)"
    );
}

#[test]
fn a_row_with_an_id_is_never_looked_up_and_a_409_reads_its_organization() {
    let f = Fixture::new(Some("acme-1"), 6);
    // After an ambiguous attempt, the organization with the row's id and name is the
    // one that attempt created.
    let mut steps = f.steps(false);
    assert_sends(steps.start(f.at(0)), &f.body);
    pause(steps.sent(Err(dropped()), f.at(0)));
    assert_sends(steps.waited(f.at(120)), &f.body);
    let fetch = steps.sent(Err(status(409, "conflict")), f.at(120));
    assert!(matches!(fetch, Step::FetchById("acme-1")), "{fetch:?}");
    let done = steps.fetched(Ok(Some(org("acme-1", "acme"))));
    assert_eq!(
        fate(done),
        (Status::Created, Some("acme-1".into()), Some(409), 2)
    );

    // Without one, it was there before.
    let mut steps = f.steps(false);
    assert_sends(steps.start(f.at(0)), &f.body);
    let fetch = steps.sent(Err(status(409, "conflict")), f.at(0));
    assert!(matches!(fetch, Step::FetchById("acme-1")), "{fetch:?}");
    let done = steps.fetched(Ok(Some(org("acme-1", "acme"))));
    assert_eq!(
        fate(done),
        (Status::Exists, Some("acme-1".into()), Some(409), 1)
    );

    // Under another name, it is not the row's.
    let mut steps = f.steps(false);
    steps.start(f.at(0));
    steps.sent(Err(status(409, "conflict")), f.at(0));
    let done = outcome(steps.fetched(Ok(Some(org("acme-1", "other")))));
    assert_eq!(
        (done.status, done.http_status, done.kind),
        (Status::Failed, Some(409), Some(ErrorKind::Conflict))
    );
    assert_eq!(
        done.error.unwrap(),
        "HTTP 409 conflict: id \"acme-1\" already belongs to an organization named \
         \"other\", not \"acme\""
    );
}

#[test]
fn a_definite_refusal_fails_the_row_without_a_retry() {
    let f = Fixture::new(None, 6);
    let mut steps = f.steps(false);
    steps.start(f.at(0));
    let done = outcome(steps.sent(Err(status(400, "invalid_request")), f.at(0)));
    assert_eq!(
        (done.status, done.http_status, done.attempts),
        (Status::Failed, Some(400), 1)
    );
    assert_eq!(done.error.unwrap(), "HTTP 400 invalid_request: m");
}

#[test]
fn a_row_fails_when_its_attempts_run_out() {
    let f = Fixture::new(None, 3);
    let mut steps = f.steps(false);
    assert_sends(steps.start(f.at(0)), &f.body);
    for second in [0, 1] {
        pause(steps.sent(Err(status(429, "too_many_requests")), f.at(second)));
        assert_sends(steps.waited(f.at(second + 1)), &f.body);
    }
    let done = outcome(steps.sent(Err(status(429, "too_many_requests")), f.at(2)));
    assert_eq!((done.http_status, done.attempts), (Some(429), 3));
    assert_eq!(
        done.error.unwrap(),
        "HTTP 429 too_many_requests: m (gave up after 3 attempts)"
    );
}

#[test]
fn a_pause_cut_by_the_stop_signal_ends_the_row_with_its_error() {
    let f = Fixture::new(None, 6);
    let mut steps = f.steps(false);
    steps.start(f.at(0));
    let error = pause(steps.sent(Err(status(503, "unavailable")), f.at(0)));
    let done = outcome(steps.stopped(error));
    assert_eq!(
        (done.status, done.http_status, done.error.unwrap()),
        (Status::Failed, Some(503), "HTTP 503 unavailable: m".into())
    );
}

#[test]
fn refused_credentials_stop_the_run() {
    let f = Fixture::new(None, 6);
    let mut steps = f.steps(false);
    steps.start(f.at(0));
    let rejected = Error::AuthRejected {
        url: "http://t/token".into(),
        status: 401,
        error: "invalid_client".into(),
        description: String::new(),
    };
    let step = steps.sent(Err(CallError::Auth(rejected)), f.at(0));
    let Step::Fatal(Error::AuthRejected { .. }, outcome) = step else {
        panic!("expected a fatal error, got {step:?}");
    };
    assert_eq!(
        (outcome.status, outcome.kind),
        (Status::Failed, Some(ErrorKind::Token))
    );
}

#[test]
fn an_earlier_runs_row_in_doubt_is_looked_up_before_its_first_create() {
    let f = Fixture::new(None, 6);
    let mut steps = f.steps(true);
    assert!(matches!(steps.start(f.at(0)), Step::LookUp));
    let done = steps.looked_up(Ok(vec![org("o-7", "acme")]));
    assert_eq!(
        fate(done),
        (Status::Created, Some("o-7".into()), Some(200), 0)
    );

    let mut steps = f.steps(true);
    steps.start(f.at(0));
    assert_sends(steps.looked_up(Ok(Vec::new())), &f.body);

    // With an id, the 409 of its create decides, and it is the row's own.
    let f = Fixture::new(Some("acme-1"), 6);
    let mut steps = f.steps(true);
    assert_sends(steps.start(f.at(0)), &f.body);
    steps.sent(Err(status(409, "conflict")), f.at(0));
    let done = steps.fetched(Ok(Some(org("acme-1", "acme"))));
    assert_eq!(
        fate(done),
        (Status::Created, Some("acme-1".into()), Some(409), 1)
    );
}
