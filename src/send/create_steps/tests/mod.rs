//! The create's steps driven by hand: every path from the first create to the outcome (the
//! checks of replies in `replies`).

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

fn timed_out() -> CallError {
    CallError::Transport {
        kind: NoAnswer::TimedOut,
        message: "timed out: operation timed out".into(),
    }
}

fn org(id: &str, name: &str) -> Organization {
    Organization {
        id: id.into(),
        name: name.into(),
        ..Organization::default()
    }
}

/// A 201 for the organization `id` named `acme`, a fresh one or a replay.
fn created(id: &str, replayed: bool) -> Result<CreateReply, CallError> {
    Ok(CreateReply {
        organization: org(id, "acme"),
        replayed,
    })
}

/// Asserts that `step` sends the row's body with the idempotency key `key`.
fn assert_sends_with(step: Step<'_>, body: &Bytes, key: &str) {
    match step {
        Step::Send {
            body: sent,
            idempotency_key,
        } => assert_eq!((sent, &*idempotency_key), (body, key)),
        other => panic!("expected a send, got {other:?}"),
    }
}

/// Asserts that `step` sends the row's body with its own idempotency key.
fn assert_sends(step: Step<'_>, body: &Bytes) {
    assert_sends_with(step, body, KEY);
}

fn assert_looks_up(step: Step<'_>, how: LookUp<'_>) {
    match step {
        Step::LookUp(asked) => assert_eq!(asked, how),
        other => panic!("expected a look-up, got {other:?}"),
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

fn gave_up(f: &Fixture) -> GaveUp {
    f.policy.give_up(
        status(503, "unavailable"),
        &crate::api::Tries::failed_times(6),
    )
}

#[test]
fn a_row_created_at_once_is_created() {
    let f = Fixture::new(None, 6);
    let mut steps = f.steps(false);
    assert_sends(steps.start(), &f.body);
    let done = steps.sent(created("o-1", false));
    assert_eq!(
        fate(done),
        (Status::Created, Some("o-1".into()), Some(201), 1)
    );
}

#[test]
fn a_failure_that_created_nothing_is_resent_without_a_look_up() {
    let f = Fixture::new(None, 6);
    let mut steps = f.steps(false);
    assert_sends(steps.start(), &f.body);
    pause(steps.sent(Err(status(429, "too_many_requests"))));
    assert_sends(steps.waited(), &f.body);
    pause(steps.sent(Err(status(403, "request_forbidden"))));
    assert_sends(steps.waited(), &f.body);
    let done = steps.sent(created("o-1", false));
    assert_eq!(
        fate(done),
        (Status::Created, Some("o-1".into()), Some(201), 3)
    );
}

#[test]
fn every_resend_after_an_ambiguous_failure_is_looked_up_first_and_keeps_the_key() {
    let f = Fixture::new(None, 6);
    let mut steps = f.steps(false);
    assert_sends(steps.start(), &f.body);
    pause(steps.sent(Err(status(502, "bad_gateway"))));
    // However soon: the decision reads no clock, so no wait can make it stale.
    assert_looks_up(steps.waited(), LookUp::ByName("acme"));
    assert_sends(steps.looked_up(Ok(Vec::new())), &f.body);
    // A failure that created nothing does not end the doubt: the first create may still
    // commit at the server.
    pause(steps.sent(Err(status(429, "too_many_requests"))));
    assert_looks_up(steps.waited(), LookUp::ByName("acme"));
    assert_sends(steps.looked_up(Ok(Vec::new())), &f.body);
    pause(steps.sent(Err(dropped())));
    assert_looks_up(steps.waited(), LookUp::ByName("acme"));
    assert_sends(steps.looked_up(Ok(Vec::new())), &f.body);
    let done = steps.sent(created("o-1", false));
    assert_eq!(
        fate(done),
        (Status::Created, Some("o-1".into()), Some(201), 4)
    );
}

/// A row without an id whose create failed ambiguously, its pause over: it is to be looked
/// up by name.
fn looking_up_after_an_ambiguous_failure(f: &Fixture) -> CreateSteps<'_> {
    let mut steps = f.steps(false);
    assert_sends(steps.start(), &f.body);
    pause(steps.sent(Err(timed_out())));
    assert_looks_up(steps.waited(), LookUp::ByName("acme"));
    steps
}

#[test]
fn the_organization_found_by_name_after_an_ambiguous_failure_is_the_rows() {
    let f = Fixture::new(None, 6);
    let mut steps = looking_up_after_an_ambiguous_failure(&f);
    let done = steps.looked_up(Ok(vec![org("o-9", "acme")]));
    assert_eq!(
        fate(done),
        (Status::Created, Some("o-9".into()), Some(200), 1)
    );
}

#[test]
fn two_organizations_of_the_name_after_an_ambiguous_failure_leave_the_row_unconfirmed() {
    let f = Fixture::new(None, 6);
    let mut steps = looking_up_after_an_ambiguous_failure(&f);
    let done = outcome(steps.looked_up(Ok(vec![org("o-1", "acme"), org("o-2", "acme")])));
    assert_eq!(
        (done.status, done.http_status, done.kind),
        (
            Status::Unconfirmed,
            Some(200),
            Some(ErrorKind::AmbiguousName)
        )
    );
    assert_eq!(
        done.error.unwrap(),
        "may have been created, but no answer confirmed it; the next run looks for it before \
         sending it again (last error: HTTP 200 ambiguous_name: 2 organizations are named \
         \"acme\" (o-1, o-2); not sent again, to create no duplicate: give the row an id, or \
         remove the extra organizations)"
    );
}

#[test]
fn a_look_up_that_fails_leaves_the_row_unconfirmed_and_unsent() {
    let f = Fixture::new(None, 6);
    let mut steps = looking_up_after_an_ambiguous_failure(&f);
    let done = outcome(steps.looked_up(Err(gave_up(&f))));
    assert_eq!(
        (done.status, done.http_status, done.attempts),
        (Status::Unconfirmed, Some(503), 1)
    );
    assert_eq!(done.kind, Some(ErrorKind::ServerError));
    assert_eq!(
        done.error.unwrap(),
        "may have been created, but no answer confirmed it; the next run looks for it before \
         sending it again (last error: could not check whether an earlier attempt created it, \
         so it was not sent again: HTTP 503 unavailable: m (gave up after 6 attempts))"
    );
}

#[test]
fn a_row_with_an_id_is_looked_up_by_id_after_an_ambiguous_failure() {
    let f = Fixture::new(Some("acme-1"), 6);
    // Found: the ambiguous create made it.
    let mut steps = f.steps(false);
    assert_sends(steps.start(), &f.body);
    pause(steps.sent(Err(dropped())));
    assert_looks_up(steps.waited(), LookUp::ById("acme-1"));
    let done = steps.looked_up(Ok(vec![org("acme-1", "acme")]));
    assert_eq!(
        fate(done),
        (Status::Created, Some("acme-1".into()), Some(200), 1)
    );

    // Not found: sent again; a 409 then reads the organization, which is the row's.
    let mut steps = f.steps(false);
    steps.start();
    pause(steps.sent(Err(status(500, "internal"))));
    assert_looks_up(steps.waited(), LookUp::ById("acme-1"));
    assert_sends(steps.looked_up(Ok(Vec::new())), &f.body);
    let fetch = steps.sent(Err(status(409, "conflict")));
    assert!(matches!(fetch, Step::FetchById("acme-1")), "{fetch:?}");
    let done = steps.fetched(Ok(Some(org("acme-1", "acme"))));
    assert_eq!(
        fate(done),
        (Status::Created, Some("acme-1".into()), Some(409), 2)
    );

    // Found under another name: the id is someone else's, and the row's create may still
    // have gone through elsewhere (a server that picks its own ids).
    let mut steps = f.steps(false);
    steps.start();
    pause(steps.sent(Err(dropped())));
    steps.waited();
    let done = outcome(steps.looked_up(Ok(vec![org("acme-1", "other")])));
    assert_eq!(
        (done.status, done.kind),
        (Status::Unconfirmed, Some(ErrorKind::Conflict))
    );
    assert!(done.error.unwrap().ends_with(
        "(last error: id \"acme-1\" belongs to an organization named \"other\", not \
             \"acme\"; not sent again)"
    ));
}

#[test]
fn a_409_without_an_ambiguous_failure_reads_an_organization_that_existed() {
    let f = Fixture::new(Some("acme-1"), 6);
    let mut steps = f.steps(false);
    assert_sends(steps.start(), &f.body);
    let fetch = steps.sent(Err(status(409, "conflict")));
    assert!(matches!(fetch, Step::FetchById("acme-1")), "{fetch:?}");
    let done = steps.fetched(Ok(Some(org("acme-1", "acme"))));
    assert_eq!(
        fate(done),
        (Status::Exists, Some("acme-1".into()), Some(409), 1)
    );

    // Under another name, it is not the row's.
    let mut steps = f.steps(false);
    steps.start();
    steps.sent(Err(status(409, "conflict")));
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
    steps.start();
    let done = outcome(steps.sent(Err(status(400, "invalid_request"))));
    assert_eq!(
        (done.status, done.http_status, done.attempts),
        (Status::Failed, Some(400), 1)
    );
    assert_eq!(done.error.unwrap(), "HTTP 400 invalid_request: m");
}

#[test]
fn a_timeout_then_a_refusal_leaves_the_row_unconfirmed() {
    let f = Fixture::new(None, 6);
    let mut steps = looking_up_after_an_ambiguous_failure(&f);
    assert_sends(steps.looked_up(Ok(Vec::new())), &f.body);
    let done = outcome(steps.sent(Err(status(403, "forbidden"))));
    assert_eq!(
        (done.status, done.http_status, done.attempts),
        (Status::Unconfirmed, Some(403), 2)
    );
    assert_eq!(
        done.kind,
        Some(ErrorKind::Http {
            status: 403,
            code: "forbidden".into()
        })
    );
    assert_eq!(
        done.error.unwrap(),
        "may have been created, but no answer confirmed it; the next run looks for it before \
         sending it again (last error: HTTP 403 forbidden: m)"
    );
}

#[test]
fn a_row_whose_attempts_run_out_fails_unless_one_may_have_created_it() {
    // Only refusals: nothing was created. The 429s among them use up no attempt.
    let f = Fixture::new(None, 3);
    let mut steps = f.steps(false);
    assert_sends(steps.start(), &f.body);
    for _ in 0..2 {
        for _ in 0..10 {
            pause(steps.sent(Err(status(429, "too_many_requests"))));
            assert_sends(steps.waited(), &f.body);
        }
        pause(steps.sent(Err(status(403, "request_forbidden"))));
        assert_sends(steps.waited(), &f.body);
    }
    let done = outcome(steps.sent(Err(status(403, "request_forbidden"))));
    assert_eq!(
        (done.status, done.http_status, done.attempts),
        (Status::Failed, Some(403), 23)
    );
    assert_eq!(done.error.unwrap(), "HTTP 403 request_forbidden: m");

    // A timeout among them: it may have.
    let mut steps = f.steps(false);
    steps.start();
    pause(steps.sent(Err(timed_out())));
    assert_looks_up(steps.waited(), LookUp::ByName("acme"));
    assert_sends(steps.looked_up(Ok(Vec::new())), &f.body);
    pause(steps.sent(Err(status(403, "request_forbidden"))));
    assert_looks_up(steps.waited(), LookUp::ByName("acme"));
    assert_sends(steps.looked_up(Ok(Vec::new())), &f.body);
    let done = outcome(steps.sent(Err(status(403, "request_forbidden"))));
    assert_eq!(
        (done.status, done.http_status, done.attempts),
        (Status::Unconfirmed, Some(403), 3)
    );
    assert!(
        done.error
            .unwrap()
            .ends_with("(last error: HTTP 403 request_forbidden: m)")
    );

    // A single attempt that timed out.
    let f = Fixture::new(None, 1);
    let mut steps = f.steps(false);
    steps.start();
    let done = outcome(steps.sent(Err(timed_out())));
    assert_eq!(
        (done.status, done.kind),
        (
            Status::Unconfirmed,
            Some(ErrorKind::NoAnswer(NoAnswer::TimedOut))
        )
    );
}

#[test]
fn a_pause_cut_by_the_stop_signal_ends_the_row_with_its_error() {
    let f = Fixture::new(None, 6);
    let mut steps = f.steps(false);
    steps.start();
    let error = pause(steps.sent(Err(status(429, "too_many_requests"))));
    let done = outcome(steps.stopped(error));
    assert_eq!(
        (done.status, done.http_status, done.error.unwrap()),
        (
            Status::Failed,
            Some(429),
            "HTTP 429 too_many_requests: m".into()
        )
    );

    // After a 503, the create may have gone through.
    let mut steps = f.steps(false);
    steps.start();
    let error = pause(steps.sent(Err(status(503, "unavailable"))));
    let done = outcome(steps.stopped(error));
    assert_eq!(
        (done.status, done.http_status),
        (Status::Unconfirmed, Some(503))
    );
}

#[test]
fn refused_credentials_stop_the_run() {
    let rejected = || Error::AuthRejected {
        url: "http://t/token".into(),
        status: 401,
        error: "invalid_client".into(),
        description: String::new(),
    };
    let f = Fixture::new(None, 6);
    let mut steps = f.steps(false);
    steps.start();
    let step = steps.sent(Err(CallError::Auth(rejected())));
    let Step::Fatal(Error::AuthRejected { .. }, outcome) = step else {
        panic!("expected a fatal error, got {step:?}");
    };
    assert_eq!(
        (outcome.status, outcome.kind),
        (Status::Failed, Some(ErrorKind::Token))
    );

    // After a create that may have gone through, the row stays in doubt.
    let mut steps = looking_up_after_an_ambiguous_failure(&f);
    steps.looked_up(Ok(Vec::new()));
    let step = steps.sent(Err(CallError::Auth(rejected())));
    let Step::Fatal(_, outcome) = step else {
        panic!("expected a fatal error, got {step:?}");
    };
    assert_eq!(
        (outcome.status, outcome.kind),
        (Status::Unconfirmed, Some(ErrorKind::Token))
    );
}

#[test]
fn an_earlier_runs_row_in_doubt_is_looked_up_before_its_first_create() {
    let f = Fixture::new(None, 6);
    let mut steps = f.steps(true);
    assert_looks_up(steps.start(), LookUp::ByName("acme"));
    let done = steps.looked_up(Ok(vec![org("o-7", "acme")]));
    assert_eq!(
        fate(done),
        (Status::Created, Some("o-7".into()), Some(200), 0)
    );

    // Found nowhere, the earlier run's create did not go through: a refusal now fails the
    // row.
    let mut steps = f.steps(true);
    steps.start();
    assert_sends(steps.looked_up(Ok(Vec::new())), &f.body);
    let done = outcome(steps.sent(Err(status(400, "invalid_request"))));
    assert_eq!(done.status, Status::Failed);

    // A look-up that fails leaves it in doubt.
    let mut steps = f.steps(true);
    steps.start();
    let done = outcome(steps.looked_up(Err(gave_up(&f))));
    assert_eq!((done.status, done.attempts), (Status::Unconfirmed, 0));

    // With an id, by id.
    let f = Fixture::new(Some("acme-1"), 6);
    let mut steps = f.steps(true);
    assert_looks_up(steps.start(), LookUp::ById("acme-1"));
    let done = steps.looked_up(Ok(vec![org("acme-1", "acme")]));
    assert_eq!(
        fate(done),
        (Status::Created, Some("acme-1".into()), Some(200), 0)
    );
}

mod replies;
