//! The create's steps driven by hand: every path from the first create to the outcome (the
//! first create and resends here; look-ups in `look_ups`, how rows end without a clear create
//! in `endings`, the checks of replies in `replies`).

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

mod endings;
mod look_ups;
mod replies;
