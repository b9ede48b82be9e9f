//! A create's reply checked: a replay confirmed or found stale, an organization under another
//! id than the row asked for, 429s that only wait until the tenant has answered nothing else
//! for too long.

use super::*;

#[test]
fn a_replay_is_confirmed_before_the_row_is_recorded() {
    let f = Fixture::new(None, 6);
    let mut steps = f.steps(false);
    assert_sends(steps.start(), &f.body);
    let confirm = steps.sent(created("o-1", true));
    assert!(
        matches!(&confirm, Step::ConfirmReplay(id) if id == "o-1"),
        "{confirm:?}"
    );
    let done = steps.confirmed(Ok(Some(org("o-1", "acme"))));
    assert_eq!(
        fate(done),
        (Status::Created, Some("o-1".into()), Some(201), 1)
    );
}

#[test]
fn a_replay_of_a_deleted_organization_creates_the_row_again_under_a_derived_key() {
    let f = Fixture::new(None, 6);
    let mut steps = f.steps(false);
    steps.start();
    steps.sent(created("o-1", true));
    let second_key = key_after_stale_replay(KEY, "o-1");
    assert_sends_with(steps.confirmed(Ok(None)), &f.body, &second_key);
    let done = steps.sent(created("o-2", false));
    assert_eq!(
        fate(done),
        (Status::Created, Some("o-2".into()), Some(201), 2)
    );

    // Replayed again under the new key (deleted again since): the next key follows from it.
    let mut steps = f.steps(false);
    steps.start();
    steps.sent(created("o-1", true));
    steps.confirmed(Ok(None));
    steps.sent(created("o-2", true));
    let third_key = key_after_stale_replay(&second_key, "o-2");
    assert_sends_with(steps.confirmed(Ok(None)), &f.body, &third_key);
    // One stale replay too many: nothing of the row's exists, nothing more is sent.
    steps.sent(created("o-3", true));
    let done = outcome(steps.confirmed(Ok(None)));
    assert_eq!(
        (done.status, done.kind, done.attempts),
        (Status::Failed, Some(ErrorKind::UnexpectedReply), 3)
    );
    assert_eq!(
        done.error.unwrap(),
        "the API answered 3 creates with replays of organizations that no longer exist (the \
         last \"o-3\"); not sent again"
    );
}

#[test]
fn a_replay_after_an_ambiguous_failure_that_proves_stale_is_looked_up_before_the_new_key() {
    let f = Fixture::new(None, 6);
    let mut steps = looking_up_after_an_ambiguous_failure(&f);
    assert_sends(steps.looked_up(Ok(Vec::new())), &f.body);
    steps.sent(created("o-1", true));
    assert_looks_up(steps.confirmed(Ok(None)), LookUp::ByName("acme"));
    let new_key = key_after_stale_replay(KEY, "o-1");
    assert_sends_with(steps.looked_up(Ok(Vec::new())), &f.body, &new_key);
}

#[test]
fn a_replay_naming_another_organization_or_unreadable_leaves_the_row_unconfirmed() {
    let f = Fixture::new(None, 6);
    let mut steps = f.steps(false);
    steps.start();
    steps.sent(created("o-1", true));
    let done = outcome(steps.confirmed(Ok(Some(org("o-1", "other")))));
    assert_eq!(
        (done.status, done.kind),
        (Status::Unconfirmed, Some(ErrorKind::UnexpectedReply))
    );
    assert!(done.error.unwrap().ends_with(
        "(last error: the API answered with a replay of an earlier create of \
             organization \"o-1\", but that organization is named \"other\", not \"acme\"; \
             not sent again)"
    ));

    let mut steps = f.steps(false);
    steps.start();
    steps.sent(created("o-1", true));
    let done = outcome(steps.confirmed(Err(gave_up(&f))));
    assert_eq!(
        (done.status, done.http_status),
        (Status::Unconfirmed, Some(503))
    );
}

#[test]
fn an_organization_under_another_id_than_asked_is_created_with_both_ids_named() {
    let f = Fixture::new(Some("acme-1"), 6);
    let other_id = |step: Step<'_>| {
        let done = outcome(step);
        assert_eq!(
            (done.status, done.org_id.as_deref(), done.kind),
            (
                Status::Created,
                Some("x-9"),
                Some(ErrorKind::UnexpectedReply)
            )
        );
        done.error.unwrap()
    };
    // A fresh 201.
    let mut steps = f.steps(false);
    steps.start();
    assert_eq!(
        other_id(steps.sent(created("x-9", false))),
        "the API created the organization under id \"x-9\", not under the id \"acme-1\" the \
         row asked for"
    );
    // A replay, confirmed.
    let mut steps = f.steps(false);
    steps.start();
    steps.sent(created("x-9", true));
    other_id(steps.confirmed(Ok(Some(org("x-9", "acme")))));
}

#[tokio::test(start_paused = true)]
async fn a_row_answered_nothing_but_429_for_the_whole_patience_stops_the_run() {
    let f = Fixture::new(None, 1);
    let mut steps = f.steps(false);
    steps.start();
    for _ in 0..20 {
        pause(steps.sent(Err(status(429, "too_many_requests"))));
        assert_sends(steps.waited(), &f.body);
        tokio::time::advance(crate::api::retry::RATE_LIMITED_PATIENCE / 20).await;
    }
    match steps.sent(Err(status(429, "too_many_requests"))) {
        Step::Fatal(Error::RateLimited { call, minutes }, outcome) => {
            assert_eq!((call.as_str(), minutes), ("a create for acme", 90));
            assert_eq!(
                (outcome.status, outcome.http_status, outcome.attempts),
                (Status::Failed, Some(429), 21)
            );
        }
        other => panic!("expected the run to stop, got {other:?}"),
    }
}
