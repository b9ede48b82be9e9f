//! How a row ends without a clear create: refused, timed out then refused, out of attempts,
//! cut by the stop signal, or stopped with the run by refused credentials.

use super::*;

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
    // After a 429 nothing was created: the row is not sent, its error says why it waited.
    let f = Fixture::new(None, 6);
    let mut steps = f.steps(false);
    steps.start();
    let error = pause(steps.sent(Err(status(429, "too_many_requests"))));
    let done = outcome(steps.stopped(error));
    assert_eq!(
        (
            done.status,
            done.http_status,
            done.attempts,
            done.error.unwrap()
        ),
        (
            Status::NotSent,
            None,
            1,
            "not sent: the run stopped while this row waited to be sent again after a \
             refusal (HTTP 429 too_many_requests: m); rerun to send it"
                .into()
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
