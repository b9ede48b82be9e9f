//! `undo` and the rerun of a results file edited by hand, over HTTP against the sandbox: a
//! row whose org_id names another organization is looked up by its key (its id, else its
//! name) as a rerun looks it up, the other organization left alone; undo and the rerun read
//! a row that may have created its organization alike; each row undone says what became of
//! its organization.

use std::collections::HashMap;

use orgimport::commands::undo::{ALREADY_GONE, UNDONE};
use orgimport::record::Status;
use orgimport::sandbox::SandboxConfig;

use crate::fixture::{Fixture, csv_rows};
use crate::ops::{bin_for, run, text};
use crate::util::start_sandbox;

/// The rows of the CSV at `path` by name.
fn by_name(path: &std::path::Path) -> HashMap<String, HashMap<String, String>> {
    csv_rows(path)
        .into_iter()
        .map(|row| (row["name"].clone(), row))
        .collect()
}

#[tokio::test]
async fn an_unconfirmed_row_given_another_rows_org_id_is_undone_by_name_and_created_again() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new("name\nalpha\nbeta\ngamma\n");
    fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    let rows = by_name(&fixture.results());
    let (alpha, gamma) = (
        rows["alpha"]["org_id"].clone(),
        rows["gamma"]["org_id"].clone(),
    );
    // gamma's line edited to unconfirmed, with alpha's org_id pasted in.
    let original = std::fs::read_to_string(fixture.results()).unwrap();
    let edited = original.replace(
        &format!("gamma,created,{gamma},"),
        &format!("gamma,unconfirmed,{alpha},"),
    );
    assert_ne!(edited, original);
    std::fs::write(fixture.results(), &edited).unwrap();

    let dir = fixture.dir.path();
    let out = run(
        bin_for(&sandbox, dir),
        &["undo", "customers.results.csv", "--yes"],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "customers.results.csv: line 4: its org_id {alpha:?} is not this row's \
             organization (named \"alpha\", not \"gamma\""
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 unconfirmed rows looked up: 1 found and deleted, 0 not found"),
        "{stderr}"
    );
    // gamma's own organization is gone with the others: nothing of the tool's is left.
    let left: Vec<String> = (sandbox.sandbox.organizations().into_iter())
        .filter(|o| !o.template)
        .map(|o| o.name)
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let report = by_name(&dir.join("customers.undo.csv"));
    assert_eq!(
        (
            report["gamma"]["result"].as_str(),
            report["gamma"]["org_id"].as_str()
        ),
        ("deleted", gamma.as_str())
    );

    // The rerun creates every row again, none recorded `exists`.
    let again = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    assert_eq!(again.count(Status::Created), 3, "{again}");
    assert_eq!(again.count(Status::Exists), 0, "{again}");
    assert_eq!(sandbox.sandbox.stats().creates_committed, 6);
}

#[tokio::test]
async fn a_created_row_edited_to_failed_without_its_org_id_is_looked_up_by_undo_as_by_the_rerun() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new("name\nalpha\nbeta\ngamma\n");
    fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    let beta = by_name(&fixture.results())["beta"]["org_id"].clone();
    // The status and the org_id edited away; the 201 still says a create went through, so
    // the rerun would look the row up and record it `created`: undo looks it up too.
    let original = std::fs::read_to_string(fixture.results()).unwrap();
    let edited = original.replace(&format!("beta,created,{beta},201,"), "beta,failed,,201,");
    assert_ne!(edited, original);
    std::fs::write(fixture.results(), &edited).unwrap();

    let dir = fixture.dir.path();
    let out = run(
        bin_for(&sandbox, dir),
        &["undo", "customers.results.csv", "--yes"],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(
            "1 rows in doubt looked up (0 unconfirmed, 1 failed after an attempt that may have \
             created it): 1 found and deleted, 0 not found, 0 failed"
        ),
        "{stderr}"
    );
    let left: Vec<String> = (sandbox.sandbox.organizations().into_iter())
        .filter(|o| !o.template)
        .map(|o| o.name)
        .collect();
    assert!(left.is_empty(), "undo removes what import made: {left:?}");
    let report = by_name(&dir.join("customers.undo.csv"));
    assert_eq!(
        (
            report["beta"]["result"].as_str(),
            report["beta"]["org_id"].as_str()
        ),
        ("deleted", beta.as_str())
    );

    // Every organization created exactly once per import: the rerun creates the three again.
    let again = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    assert_eq!(again.count(Status::Created), 3, "{again}");
    assert_eq!(sandbox.sandbox.stats().creates_committed, 6);
}

#[tokio::test]
async fn undo_says_in_the_results_file_which_organizations_it_deleted_and_which_were_gone() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new("name\nalpha\nbeta\n");
    fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    let beta = by_name(&fixture.results())["beta"]["org_id"].clone();
    // beta deleted by someone else before the undo.
    let token = sandbox.token().await;
    let deleted = (sandbox.client.delete(sandbox.org_url(&beta)))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());

    let out = run(
        bin_for(&sandbox, fixture.dir.path()),
        &["undo", "customers.results.csv", "--yes"],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("2 created organizations: 1 deleted, 1 already gone"),
        "{stderr}"
    );
    let rows = by_name(&fixture.results());
    assert_eq!(
        (
            rows["alpha"]["status"].as_str(),
            rows["alpha"]["error"].as_str()
        ),
        ("not_sent", UNDONE)
    );
    assert_eq!(
        (
            rows["beta"]["status"].as_str(),
            rows["beta"]["error"].as_str()
        ),
        ("not_sent", ALREADY_GONE)
    );
}
