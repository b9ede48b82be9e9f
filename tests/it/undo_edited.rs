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
use crate::util::{TestSandbox, start_sandbox};

/// The rows of the CSV at `path` by name.
fn by_name(path: &std::path::Path) -> HashMap<String, HashMap<String, String>> {
    csv_rows(path)
        .into_iter()
        .map(|row| (row["name"].clone(), row))
        .collect()
}

/// A sandbox and a fixture imported into it: `alpha`, `beta` and `gamma` created, with the
/// org_id of each.
async fn imported() -> (TestSandbox, Fixture, HashMap<String, String>) {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new("name\nalpha\nbeta\ngamma\n");
    fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    let ids = (by_name(&fixture.results()).into_iter())
        .map(|(name, row)| (name, row["org_id"].clone()))
        .collect();
    (sandbox, fixture, ids)
}

/// Runs `undo --yes`, which must end 0: its stderr.
async fn undo(sandbox: &TestSandbox, fixture: &Fixture) -> String {
    let out = run(
        bin_for(sandbox, fixture.dir.path()),
        &["undo", "customers.results.csv", "--yes"],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    stderr
}

/// After an undo: nothing of the tool's is left, the undo report gives the row `name` the
/// result `deleted` and organization `id`, and importing again creates every row again (none
/// `exists`), each organization created once per import.
async fn all_undone_and_created_again(
    sandbox: &TestSandbox,
    fixture: &Fixture,
    name: &str,
    id: &str,
) {
    let left: Vec<String> = (sandbox.sandbox.organizations().into_iter())
        .filter(|o| !o.template)
        .map(|o| o.name)
        .collect();
    assert!(left.is_empty(), "undo removes what import made: {left:?}");
    let report = by_name(&fixture.dir.path().join("customers.undo.csv"));
    let row = &report[name];
    assert_eq!(
        (row["result"].as_str(), row["org_id"].as_str()),
        ("deleted", id)
    );

    let again = fixture.import(sandbox, &["--rate", "1000"]).await.unwrap();
    assert_eq!(again.count(Status::Created), 3, "{again}");
    assert_eq!(again.count(Status::Exists), 0, "{again}");
    assert_eq!(sandbox.sandbox.stats().creates_committed, 6);
}

#[tokio::test]
async fn an_unconfirmed_row_given_another_rows_org_id_is_undone_by_name_and_created_again() {
    let (sandbox, fixture, ids) = imported().await;
    let (alpha, gamma) = (&ids["alpha"], &ids["gamma"]);
    // gamma's line edited to unconfirmed, with alpha's org_id pasted in.
    fixture.edit_results(
        &format!("gamma,created,{gamma},"),
        &format!("gamma,unconfirmed,{alpha},"),
    );

    let stderr = undo(&sandbox, &fixture).await;
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
    all_undone_and_created_again(&sandbox, &fixture, "gamma", gamma).await;
}

#[tokio::test]
async fn a_created_row_edited_to_failed_without_its_org_id_is_looked_up_by_undo_as_by_the_rerun() {
    let (sandbox, fixture, ids) = imported().await;
    let beta = &ids["beta"];
    // The status and the org_id edited away; the 201 still says a create went through, so
    // the rerun would look the row up and record it `created`: undo looks it up too.
    fixture.edit_results(&format!("beta,created,{beta},201,"), "beta,failed,,201,");

    let stderr = undo(&sandbox, &fixture).await;
    assert!(
        stderr.contains(
            "1 rows in doubt looked up (0 unconfirmed, 1 failed after an attempt that may have \
             created it): 1 found and deleted, 0 not found, 0 failed"
        ),
        "{stderr}"
    );
    all_undone_and_created_again(&sandbox, &fixture, "beta", beta).await;
}

#[tokio::test]
async fn undo_says_in_the_results_file_which_organizations_it_deleted_and_which_were_gone() {
    let (sandbox, fixture, ids) = imported().await;
    // beta deleted by someone else before the undo.
    let token = sandbox.token().await;
    let deleted = (sandbox.client.delete(sandbox.org_url(&ids["beta"])))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());

    let stderr = undo(&sandbox, &fixture).await;
    assert!(
        stderr.contains("3 created organizations: 2 deleted, 1 already gone"),
        "{stderr}"
    );
    let rows = by_name(&fixture.results());
    let said = |name: &str| (rows[name]["status"].as_str(), rows[name]["error"].as_str());
    assert_eq!(said("alpha"), ("not_sent", UNDONE));
    assert_eq!(said("beta"), ("not_sent", ALREADY_GONE));
}

#[tokio::test]
async fn org_ids_swapped_between_rows_are_each_undone_as_their_own_rows_and_created_again() {
    let (sandbox, fixture, ids) = imported().await;
    let (alpha, beta, gamma) = (&ids["alpha"], &ids["beta"], &ids["gamma"]);
    // One column sorted on its own in a spreadsheet: each row's org_id is another's, alpha's
    // and beta's swapped, and gamma's (unconfirmed) is alpha's.
    let original = std::fs::read_to_string(fixture.results()).unwrap();
    let edited = original
        .replace(&format!("alpha,created,{alpha},"), "alpha,created,ALPHA,")
        .replace(
            &format!("beta,created,{beta},"),
            &format!("beta,created,{alpha},"),
        )
        .replace("alpha,created,ALPHA,", &format!("alpha,created,{beta},"))
        .replace(
            &format!("gamma,created,{gamma},"),
            &format!("gamma,unconfirmed,{alpha},"),
        );
    std::fs::write(fixture.results(), edited).unwrap();

    let stderr = undo(&sandbox, &fixture).await;
    for line in [2, 3, 4] {
        assert!(
            stderr.contains(&format!("customers.results.csv: line {line}: its org_id")),
            "line {line}: {stderr}"
        );
    }
    let left: Vec<String> = (sandbox.sandbox.organizations().into_iter())
        .filter(|o| !o.template)
        .map(|o| o.name)
        .collect();
    assert!(left.is_empty(), "undo removes what import made: {left:?}");
    let again = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    assert_eq!(again.count(Status::Created), 3, "{again}");
    assert_eq!(again.count(Status::Exists), 0, "{again}");
}
