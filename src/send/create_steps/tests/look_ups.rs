//! Look-ups: after an ambiguous failure (by name or by id), after a 409, and before the first
//! create of a row an earlier run left in doubt.

use super::*;

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
