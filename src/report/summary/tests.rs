//! The summary's wording and its JSON, for runs that finished, failed and stopped.

use super::*;
use crate::RowError;
use crate::input::{Problem, ProblemKind};
use crate::record::Outcome;

#[test]
fn the_commonest_kinds_come_first_each_with_its_first_row() {
    let bad_email = |line: u64| {
        let problem = Problem::new(ProblemKind::BadEmail, Some("email"), "\"x\" is not");
        Outcome::invalid(format!("line {line}: {problem}"), &problem)
    };
    let unavailable = |status: u16| RowError::Api {
        status,
        code: "unavailable".into(),
        message: "later".into(),
        trace_id: None,
    };
    let outcomes = [
        Outcome::done(Status::Created, "o-1".into(), Some(201), 1),
        Outcome::failed(Some(503), unavailable(503), 6),
        bad_email(4),
        Outcome::failed(Some(500), unavailable(500), 6),
        bad_email(6),
        bad_email(7),
        Outcome::not_sent("the run was interrupted".into()),
    ]
    .into_iter()
    .map(Some)
    .collect::<Outcomes>();
    let kinds = commonest_kinds(&outcomes, &[2, 3, 4, 5, 6, 7, 8]);
    let seen: Vec<(&str, Status, usize, u64)> = kinds
        .iter()
        .map(|k| (k.kind.as_str(), k.status, k.count, k.example_line))
        .collect();
    assert_eq!(
        seen,
        [
            ("email", Status::Invalid, 3, 4),
            ("HTTP 5xx", Status::Failed, 2, 3),
            ("not sent", Status::NotSent, 1, 8),
        ]
    );
    assert_eq!(kinds[0].example, "line 4: email: \"x\" is not");
    assert_eq!(kinds[1].example, "HTTP 503 unavailable: later");
}

#[test]
fn kinds_past_the_listed_ones_are_counted_in_the_summary_and_all_in_the_json() {
    let kinds: Vec<KindCount> = (0..TOP_KINDS as u64 + 2)
        .map(|i| KindCount {
            kind: format!("kind-{i}"),
            status: Status::Invalid,
            count: 10 - i as usize,
            example_line: i + 2,
            example: format!("line {}: problem {i}", i + 2),
        })
        .collect();
    let summary = Summary {
        kinds,
        ..summary_of(7, HashMap::from([(Status::Invalid, 7)]))
    };
    let report = RunReport::new(&summary);
    let text = report.to_string();
    assert!(text.contains("problem 4"), "{text}");
    assert!(!text.contains("problem 5"), "{text}");
    assert!(
        text.contains("and 2 more kind(s) of problem in 9 row(s)"),
        "{text}"
    );
    let json = report.to_json();
    assert_eq!(json["error_kinds"].as_array().unwrap().len(), TOP_KINDS + 2);
    assert_eq!(json["error_kinds"][6]["kind"], "kind-6");
}

fn summary_of(rows: usize, counts: HashMap<Status, u64>) -> Summary {
    Summary {
        rows,
        rows_counted: true,
        counts,
        done_before: 0,
        sent: 3,
        requests: 4,
        look_ups: 0,
        token_fetches: 1,
        elapsed: Duration::from_secs(1),
        send_elapsed: Duration::from_secs(1),
        results: PathBuf::from("r.csv"),
        fatal: None,
        interrupted: false,
        kinds: Vec::new(),
        input_changed: None,
        pace: PaceReport::default(),
    }
}

#[test]
fn unconfirmed_rows_are_counted_shown_and_not_done() {
    let summary = summary_of(
        3,
        HashMap::from([(Status::Created, 2), (Status::Unconfirmed, 1)]),
    );
    assert_eq!(summary.exit_status(), crate::ExitStatus::Failed);
    let report = RunReport::new(&summary);
    let text = report.to_string();
    assert!(
        text.starts_with("3 rows: 2 created, 1 unconfirmed;"),
        "{text}"
    );
    assert!(
        text.contains("1 unconfirmed: an attempt may have created its organization"),
        "{text}"
    );
    let json = report.to_json();
    assert_eq!(json["counts"]["unconfirmed"], 1);
    assert_eq!(json["exit_code"], 1);
}
