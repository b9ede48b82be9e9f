//! Reruns over HTTP against the sandbox: a rerun of a finished import asks the tenant nothing
//! (no token, no listing, no create) and writes back the same results file; a rerun of a
//! partly finished one sends exactly the rows left (failed, unconfirmed, not sent) and no
//! other.

use std::collections::HashMap;

use orgimport::record::Status;
use orgimport::sandbox::{Organization, SandboxConfig};

use crate::fixture::{Fixture, customers};
use crate::util::start_sandbox;

#[tokio::test]
async fn a_rerun_of_a_finished_import_sends_no_request_and_keeps_the_results_as_they_were() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let mut csv = customers(40);
    // An invalid row stays invalid, and is not sent either.
    csv.push_str(",bad-row,Bad,not an email,,,,Bo\n");
    let fixture = Fixture::new(&csv);
    let first = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    assert_eq!(first.count(Status::Created), 40, "{first}");
    let results = std::fs::read(fixture.results()).unwrap();
    let before = sandbox.sandbox.stats();

    let rerun = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();

    let after = sandbox.sandbox.stats();
    assert_eq!(
        (
            after.api_requests,
            after.token_requests,
            after.create_requests
        ),
        (
            before.api_requests,
            before.token_requests,
            before.create_requests
        ),
        "a finished import's rerun asks the tenant nothing"
    );
    assert_eq!((rerun.sent, rerun.done_before), (0, 40), "{rerun}");
    assert_eq!(rerun.count(Status::Invalid), 1, "{rerun}");
    assert_eq!(
        String::from_utf8(std::fs::read(fixture.results()).unwrap()).unwrap(),
        String::from_utf8(results).unwrap(),
        "every row copied through as it was"
    );
    assert!(!fixture.journal().exists());
}

#[tokio::test]
async fn a_rerun_of_a_partly_finished_import_sends_exactly_the_rows_left() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let names: Vec<String> = (0..24).map(|i| format!("org-{i:02}")).collect();
    let mut input = String::from("name\n");
    for name in &names {
        input.push_str(&format!("{name}\n"));
    }
    let fixture = Fixture::new(&input);
    // What an earlier run left: most rows created (their organizations are in the tenant),
    // and six not: two refused at the first attempt (nothing was created), one unconfirmed
    // whose organization the earlier attempt did create, one unconfirmed that it did not,
    // one failed with a 503 after retries (it may have been created; it was not), and one
    // the run stopped before.
    let left: HashMap<&str, (&str, &str, &str)> = HashMap::from([
        ("org-03", ("failed", "400", "1")),
        ("org-07", ("failed", "409", "1")),
        ("org-11", ("unconfirmed", "", "1")),
        ("org-12", ("unconfirmed", "", "2")),
        ("org-17", ("failed", "503", "3")),
        ("org-20", ("not_sent", "", "0")),
    ]);
    sandbox
        .sandbox
        .insert_organization(Organization::new("found-11", "org-11"));
    let mut results =
        String::from("name,status,org_id,http_status,error,attempts,changes,tenant\n");
    let tenant = sandbox.tenant_mark();
    for name in &names {
        match left.get(name.as_str()) {
            Some((status, http, attempts)) => {
                results.push_str(&format!(
                    "{name},{status},,{http},earlier,{attempts},,{tenant}\n"
                ));
            }
            None => {
                let id = format!("id-{name}");
                sandbox
                    .sandbox
                    .insert_organization(Organization::new(&id, name));
                results.push_str(&format!("{name},created,{id},201,,1,,{tenant}\n"));
            }
        }
    }
    std::fs::write(fixture.results(), &results).unwrap();

    let rerun = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();

    let stats = sandbox.sandbox.stats();
    let mut created: Vec<String> = sandbox
        .sandbox
        .commits_by_name()
        .into_iter()
        .map(|(name, commits)| {
            assert_eq!(commits, 1, "{name}");
            name
        })
        .collect();
    created.sort();
    // org-11 was found by its look-up: recorded created, not sent again.
    assert_eq!(created, ["org-03", "org-07", "org-12", "org-17", "org-20"]);
    assert_eq!(stats.create_requests, 5, "only the rows left were sent");
    // Done before: the 18 the results file says, and org-11, which its look-up found the
    // earlier run had created; the 5 sent make the 24.
    assert_eq!(rerun.done_before, 19, "{rerun}");
    assert_eq!(rerun.sent, 5, "{rerun}");
    assert_eq!(rerun.count(Status::Created), 24, "{rerun}");
    for row in fixture.results_rows() {
        let name = &row["name"];
        assert_eq!(row["status"], "created", "{name}");
        let expected = match name.as_str() {
            "org-11" => "found-11".to_string(),
            n if left.contains_key(n) => continue,
            n => format!("id-{n}"),
        };
        assert_eq!(row["org_id"], expected, "{name}");
    }

    // And now it is finished: the next rerun asks nothing.
    let before = sandbox.sandbox.stats().api_requests;
    let again = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    assert_eq!(again.sent, 0, "{again}");
    assert_eq!(sandbox.sandbox.stats().api_requests, before);
}

/// The results file's inode: a new one when the file was written again (beside it, then
/// renamed over it).
#[cfg(unix)]
fn inode(path: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).unwrap().ino()
}

#[cfg(unix)]
#[tokio::test]
async fn a_rerun_that_changes_nothing_leaves_the_results_file_as_it_is() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let mut csv = customers(12);
    csv.push_str(",bad-row,Bad,not an email,,,,Bo\n");
    let fixture = Fixture::new(&csv);
    fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    let (before, written) = (
        std::fs::read(fixture.results()).unwrap(),
        inode(&fixture.results()),
    );

    let rerun = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();

    assert_eq!((rerun.sent, rerun.done_before), (0, 12), "{rerun}");
    assert_eq!(std::fs::read(fixture.results()).unwrap(), before);
    assert_eq!(inode(&fixture.results()), written, "not written again");
}

/// A hand edit of a results file: what it is, and the file's text after it.
#[cfg(unix)]
type Edit = (&'static str, fn(&str) -> String);

#[cfg(unix)]
#[tokio::test]
async fn a_results_file_that_says_anything_else_than_the_rerun_would_write_is_written_again() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let mut csv = customers(12);
    csv.push_str(",bad-row,Bad,not an email,,,,Bo\n");
    let fixture = Fixture::new(&csv);
    fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    let written = std::fs::read_to_string(fixture.results()).unwrap();
    assert!(written.contains("line 14: "), "{written}");
    let edits: [Edit; 6] = [
        ("an error edited", |t| {
            t.replacen("line 14: ", "line 13: ", 1)
        }),
        ("an input cell edited", |t| {
            t.replacen("Kunde 3, GmbH", "Kunde 3, AG", 1)
        }),
        // A row done earlier keeps the outcome the file gives it; an invalid row is checked
        // again, and its outcome written as it is now.
        ("an invalid row's attempts", |t| {
            t.replacen("address\",0,", "address\",5,", 1)
        }),
        ("no byte-order mark", |t| {
            t.trim_start_matches('\u{feff}').to_string()
        }),
        ("spaces around a cell", |t| {
            t.replacen(",created,", ", created ,", 1)
        }),
        ("the last row gone", |t| {
            let body = t.trim_end_matches('\n');
            format!("{}\n", &body[..body.rfind('\n').unwrap()])
        }),
    ];
    for (edit, apply) in edits {
        let edited = apply(&written);
        assert_ne!(edited, written, "{edit}");
        std::fs::write(fixture.results(), &edited).unwrap();
        let before = inode(&fixture.results());
        let requests = sandbox.sandbox.stats().api_requests;

        fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();

        assert_eq!(
            std::fs::read_to_string(fixture.results()).unwrap(),
            written,
            "{edit}: the file says again what the run did"
        );
        assert_ne!(inode(&fixture.results()), before, "{edit}");
        assert_eq!(sandbox.sandbox.stats().api_requests, requests, "{edit}");
    }

    // The input edited: a row done earlier is not sent again, and the results file shows it
    // as it is now.
    let input = std::fs::read_to_string(fixture.input()).unwrap();
    std::fs::write(
        fixture.input(),
        input.replacen("Kunde 5, GmbH", "Kunde 5, SE", 1),
    )
    .unwrap();
    let rerun = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    assert_eq!(rerun.sent, 0, "{rerun}");
    assert_eq!(
        std::fs::read_to_string(fixture.results()).unwrap(),
        written.replacen("Kunde 5, GmbH", "Kunde 5, SE", 1)
    );
}
