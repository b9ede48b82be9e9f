//! The packed outcomes: every outcome reads back as set, texts shared where they may be, and
//! rows copied between stores that share a text buffer.

use super::*;
use crate::RowError;

fn examples() -> Vec<Option<Outcome>> {
    let mut updated = Outcome::done(Status::Updated, "org-2".into(), Some(200), 2);
    updated.changes = Some("name: \"a\" -> \"b\"".into());
    let mut empty_texts = Outcome::done(Status::Created, String::new(), None, 0);
    empty_texts.error = Some(String::new());
    vec![
        None,
        Some(Outcome::done(Status::Created, "org-1".into(), Some(201), 1)),
        Some(updated),
        Some(Outcome::failed(
            Some(503),
            RowError::Api {
                status: 503,
                code: "unavailable".into(),
                message: "try later".into(),
                trace_id: None,
            },
            3,
        )),
        Some(Outcome::not_sent("stopped".into())),
        Some(Outcome::not_sent("stopped".into())),
        Some(empty_texts),
        None,
    ]
}

#[test]
fn every_outcome_reads_back_as_it_was_set_and_unsent_rows_stay_unsent() {
    let outcomes: Outcomes = examples().into_iter().collect();
    assert_eq!(outcomes.len(), 8);
    let back: Vec<Option<Outcome>> = (0..8).map(|i| outcomes.get(i)).collect();
    assert_eq!(back, examples());
    assert!(outcomes.is_unsent(0) && outcomes.is_unsent(7) && !outcomes.is_unsent(1));
    assert!(!outcomes.is_unsent(8), "no such row");
    assert_eq!(outcomes.status(2), Some(Status::Updated));
    assert_eq!(outcomes.status(0), None);
    assert_eq!(outcomes.view(1).unwrap().org_id, Some("org-1"));
    // None and an empty text stay apart.
    let view = outcomes.view(6).unwrap();
    assert_eq!(
        (view.org_id, view.error, view.changes),
        (Some(""), Some(""), None)
    );
    // Two rows with the same error alone share its bytes.
    let (a, b) = (outcomes.rows[4], outcomes.rows[5]);
    assert_eq!((a.text, a.extra), (b.text, b.extra));
    assert_eq!(outcomes.extras.len(), 4, "{:?}", outcomes.extras);
    assert_eq!(outcomes.kinds.len(), 2, "one per distinct kind");
}

#[test]
fn a_row_set_again_reads_as_its_last_outcome() {
    let mut outcomes: Outcomes = examples().into_iter().collect();
    let fill = Outcome::not_sent("the run stopped".into());
    outcomes.fill_unsent(&fill);
    assert_eq!(outcomes.get(0), Some(fill.clone()));
    assert_eq!(outcomes.get(7), Some(fill));
    let created = Outcome::done(Status::Created, "org-9".into(), Some(201), 1);
    outcomes.set(3, &created);
    assert_eq!(outcomes.get(3), Some(created));
    assert_eq!(outcomes.get(2), examples()[2]);
}

#[test]
fn rows_copied_from_a_store_that_handed_over_its_texts_read_the_same() {
    let mut earlier: Outcomes = examples().into_iter().collect();
    let mut plan = earlier.hand_over_texts(4);
    assert_eq!(earlier.status(1), Some(Status::Created), "statuses stay");
    for index in [2, 1, 0, 4] {
        plan.push_row_of(&earlier, index);
    }
    plan.push(Some(&Outcome::done(
        Status::Exists,
        "org-5".into(),
        None,
        0,
    )));
    let all = examples();
    assert_eq!(plan.get(0), all[2]);
    assert_eq!(plan.get(1), all[1]);
    assert_eq!(plan.get(2), None);
    assert_eq!(plan.get(3), all[4]);
    assert_eq!(plan.view(4).unwrap().org_id, Some("org-5"));

    // A store that shares no texts with it is copied from, texts and all.
    let other: Outcomes = examples().into_iter().collect();
    plan.push_row_of(&other, 3);
    assert_eq!(plan.get(5), all[3]);
}

#[test]
#[should_panic(expected = "handed over")]
fn a_store_whose_texts_were_handed_over_cannot_be_read() {
    let mut earlier: Outcomes = examples().into_iter().collect();
    let _plan = earlier.hand_over_texts(0);
    let _ = earlier.view(1);
}

#[test]
fn a_row_is_24_bytes() {
    assert_eq!(std::mem::size_of::<Packed>(), 24);
}
