//! Statuses that tell the truth across runs, over HTTP against the sandbox: an `unconfirmed`
//! row is looked up (by the next import and by `undo`) and recorded `created` when found,
//! never `exists`; a row in doubt stays in doubt until a run settles it; a hand-edited results
//! file is refused or read for what it still says; one organization is never recorded for two
//! rows.

use std::collections::HashMap;

use orgimport::commands::undo::{NOT_FOUND, UNDONE};
use orgimport::record::Status;
use orgimport::sandbox::{Organization, SandboxConfig};

use crate::fixture::{Fixture, csv_rows};
use crate::ops::{bin_for, run, text};
use crate::util::{TestSandbox, start_sandbox};

/// The results file's rows by name.
fn by_name(fixture: &Fixture) -> HashMap<String, HashMap<String, String>> {
    fixture
        .results_rows()
        .into_iter()
        .map(|row| (row["name"].clone(), row))
        .collect()
}

/// Writes a results file of a run against `sandbox` for `input` (a header of `id,name` and
/// its rows), each row followed by its result cells.
fn write_results(fixture: &Fixture, sandbox: &TestSandbox, rows: &[(&str, &str, &str)]) {
    let mut text =
        String::from("id,name,status,org_id,http_status,error,attempts,changes,tenant\n");
    let tenant = sandbox.tenant_mark();
    for (id_name, status, org_id) in rows {
        text.push_str(&format!(
            "{id_name},{status},{org_id},,\"timed out\",1,,{tenant}\n"
        ));
    }
    std::fs::write(fixture.results(), text).unwrap();
}

#[tokio::test]
async fn an_unconfirmed_row_whose_organization_exists_is_recorded_created_with_no_create() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    // What an earlier attempt left: it created both, and no answer said so.
    sandbox
        .sandbox
        .insert_organization(Organization::new("made-earlier", "acme"));
    sandbox
        .sandbox
        .insert_organization(Organization::new("cust-7", "gamma"));
    let fixture = Fixture::new("id,name\n,acme\ncust-7,gamma\n,beta\n");
    write_results(
        &fixture,
        &sandbox,
        &[
            (",acme", "unconfirmed", ""),
            ("cust-7,gamma", "unconfirmed", ""),
            (",beta", "unconfirmed", ""),
        ],
    );

    let summary = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    assert_eq!(summary.count(Status::Created), 3, "{summary}");
    assert_eq!(summary.count(Status::Exists), 0, "{summary}");
    assert_eq!(summary.exit_status().code(), 0);
    let rows = by_name(&fixture);
    // Found: `created` with the id found, never `exists` (which undo would leave behind).
    assert_eq!(
        (
            rows["acme"]["status"].as_str(),
            rows["acme"]["org_id"].as_str()
        ),
        ("created", "made-earlier")
    );
    assert_eq!(
        (
            rows["gamma"]["status"].as_str(),
            rows["gamma"]["org_id"].as_str()
        ),
        ("created", "cust-7")
    );
    // Not found: created now, once.
    assert_eq!(rows["beta"]["status"], "created");
    let stats = sandbox.sandbox.stats();
    assert_eq!(stats.creates_committed, 1, "only beta is created");
    let commits = sandbox.sandbox.commits_by_name();
    assert_eq!(
        commits.get("acme"),
        None,
        "acme's create was not sent again"
    );
    assert_eq!(commits.get("gamma"), None);
}

#[tokio::test]
async fn a_row_in_doubt_that_a_run_does_not_settle_stays_unconfirmed_never_exists() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture =
        Fixture::new("name,email\nacme,ops@acme.example.com\nbeta,ops@beta.example.com\n");
    // A run killed after sending acme: its journal says acme was being sent, and the
    // sandbox has it.
    sandbox
        .sandbox
        .insert_organization(Organization::new("made-by-the-killed-run", "acme"));
    std::fs::write(
        fixture.journal(),
        format!("{}name:acme,pending,,,,,\n", sandbox.journal_header()),
    )
    .unwrap();

    // The next run has acme invalid (edited meanwhile): it is not sent, and not looked up.
    std::fs::write(
        fixture.input(),
        "name,email\nacme,not an email\nbeta,ops@beta.example.com\n",
    )
    .unwrap();
    let second = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    assert_eq!(second.count(Status::Unconfirmed), 1, "{second}");
    assert_eq!(second.exit_status().code(), 1);
    let rows = by_name(&fixture);
    assert_eq!(rows["acme"]["status"], "unconfirmed", "{:?}", rows["acme"]);
    assert!(
        rows["acme"]["error"].contains("email"),
        "{:?}",
        rows["acme"]
    );
    assert!(
        rows["acme"]["error"].contains("may have created"),
        "{:?}",
        rows["acme"]
    );

    // Fixed: looked up and recorded `created`, not compared with the tenant and called
    // `exists`.
    std::fs::write(
        fixture.input(),
        "name,email\nacme,ops@acme.example.com\nbeta,ops@beta.example.com\n",
    )
    .unwrap();
    let third = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    assert_eq!(third.exit_status().code(), 0, "{third}");
    let rows = by_name(&fixture);
    assert_eq!(
        (
            rows["acme"]["status"].as_str(),
            rows["acme"]["org_id"].as_str()
        ),
        ("created", "made-by-the-killed-run")
    );
    assert_eq!(sandbox.sandbox.stats().creates_committed, 1, "beta only");
}

#[tokio::test]
async fn a_created_row_edited_to_failed_is_neither_created_again_nor_called_exists() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new("name\nalpha\nbeta\ngamma\n");
    fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    let before = by_name(&fixture);
    let original = std::fs::read_to_string(fixture.results()).unwrap();
    let beta_id = before["beta"]["org_id"].clone();

    // Only the status changed: the org_id says an organization exists, and nothing says
    // whether orgimport created it. The file is refused, with the line and the fix.
    let edited = original.replace("beta,created,", "beta,failed,");
    assert_ne!(edited, original);
    std::fs::write(fixture.results(), &edited).unwrap();
    let err = fixture
        .import(&sandbox, &["--rate", "1000"])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("line 3: status failed with org_id {beta_id:?}")),
        "{err}"
    );
    assert!(err.contains("unconfirmed if you do not know it"), "{err}");
    assert_eq!(std::fs::read_to_string(fixture.results()).unwrap(), edited);
    // Undo refuses it the same way: it must not guess what to delete.
    let out = run(
        bin_for(&sandbox, fixture.dir.path()),
        &["undo", "customers.results.csv", "--yes"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("line 3: status failed"));
    assert_eq!(sandbox.sandbox.stats().organizations, 3);

    // The status and the org_id both edited away: the 201 still says an attempt may have
    // created it, so it is looked up, and recorded `created` under its own id.
    let cleared = original.replace(&format!("beta,created,{beta_id},"), "beta,failed,,");
    assert_ne!(cleared, original);
    std::fs::write(fixture.results(), &cleared).unwrap();
    let summary = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    assert_eq!(summary.count(Status::Created), 3, "{summary}");
    let after = by_name(&fixture);
    assert_eq!(
        (
            after["beta"]["status"].as_str(),
            after["beta"]["org_id"].as_str()
        ),
        ("created", beta_id.as_str())
    );
    assert_eq!(sandbox.sandbox.stats().creates_committed, 3, "none twice");
}

#[tokio::test]
async fn undo_looks_up_unconfirmed_rows_and_deletes_the_organizations_that_exist() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    sandbox.sandbox.insert_organizations([
        // Made by attempts no answer confirmed: by name, by the row's id, by a known id.
        Organization::new("u-1", "alpha"),
        Organization::new("cust-b", "beta"),
        Organization::new("known-d", "delta"),
        // Not the tool's: there before (`exists`), and an id another name holds.
        Organization::new("pre", "existing"),
        Organization::new("cust-e", "someone-else"),
    ]);
    let fixture = Fixture::new(
        "id,name\n,alpha\ncust-b,beta\n,gamma\n,delta\npre,existing\ncust-e,epsilon\n",
    );
    write_results(
        &fixture,
        &sandbox,
        &[
            (",alpha", "unconfirmed", ""),
            ("cust-b,beta", "unconfirmed", ""),
            (",gamma", "unconfirmed", ""),
            (",delta", "unconfirmed", "known-d"),
            ("pre,existing", "exists", "pre"),
            ("cust-e,epsilon", "unconfirmed", ""),
        ],
    );
    let dir = fixture.dir.path();
    // Verify cannot check them: it says so, and does not call the results verified.
    let out = run(bin_for(&sandbox, dir), &["verify", "customers.results.csv"]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("; 5 unconfirmed rows not checked"),
        "{stderr}"
    );
    let verify_report = csv_rows(&dir.join("customers.verify.csv"));
    assert_eq!(verify_report.len(), 5, "{verify_report:?}");
    assert!(
        verify_report
            .iter()
            .all(|r| r["check"] == "status" && r["actual"].starts_with("unconfirmed")),
        "{verify_report:?}"
    );

    let out = run(
        bin_for(&sandbox, dir),
        &["undo", "customers.results.csv", "--yes"],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(
            "5 unconfirmed rows looked up: 3 found and deleted, 2 not found, 0 failed; 1 that \
             existed before the run left alone"
        ),
        "{stderr}"
    );
    let mut left: Vec<String> = sandbox
        .sandbox
        .organizations()
        .into_iter()
        .filter(|o| !o.template)
        .map(|o| o.id)
        .collect();
    left.sort();
    assert_eq!(left, ["cust-e", "pre"]);

    let report: HashMap<String, HashMap<String, String>> =
        csv_rows(&dir.join("customers.undo.csv"))
            .into_iter()
            .map(|r| (r["name"].clone(), r))
            .collect();
    let fate = |name: &str| {
        (
            report[name]["result"].as_str(),
            report[name]["org_id"].as_str(),
        )
    };
    assert_eq!(fate("alpha"), ("deleted", "u-1"));
    assert_eq!(fate("beta"), ("deleted", "cust-b"));
    assert_eq!(fate("delta"), ("deleted", "known-d"));
    assert_eq!(fate("gamma").0, "not_found");
    assert_eq!(fate("epsilon").0, "not_found");
    assert!(
        report["epsilon"]["error"].contains("not this row's"),
        "{report:?}"
    );
    assert!(!report.contains_key("existing"));

    // Every row whose organization is gone is to be sent again; `exists` stays.
    let rows = by_name(&fixture);
    for name in ["alpha", "beta", "delta"] {
        assert_eq!(rows[name]["status"], "not_sent", "{name}");
        assert_eq!(rows[name]["error"], UNDONE, "{name}");
    }
    assert_eq!(rows["gamma"]["error"], NOT_FOUND);
    assert_eq!(rows["existing"]["status"], "exists");

    // Importing again creates them, and says so.
    let again = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    let rows = by_name(&fixture);
    for name in ["alpha", "beta", "gamma", "delta"] {
        assert_eq!(rows[name]["status"], "created", "{name}: {again}");
    }
}

#[tokio::test]
async fn a_child_is_never_given_a_parent_id_the_run_refused_as_another_rows() {
    // Every create is answered with one organization: `other`, sent first, is recorded with it;
    // `top` gets the same answer, which is another row's organization, so `top` is unconfirmed
    // and its child must not be sent under that organization.
    let sandbox = start_sandbox(SandboxConfig {
        same_id_for_every_create: true,
        ..SandboxConfig::default()
    })
    .await;
    let fixture = Fixture::new("name,parent\nother,\ntop,\nchild,top\n");

    let summary = fixture
        .import(&sandbox, &["--rate", "1000", "--concurrency", "1"])
        .await
        .unwrap();

    let rows = by_name(&fixture);
    assert_eq!(rows["other"]["status"], "created", "{rows:?}");
    assert_eq!(rows["top"]["status"], "unconfirmed", "{rows:?}");
    let child = &rows["child"];
    assert_eq!(child["status"], "not_sent", "{child:?}");
    assert!(
        child["error"].contains("its parent, line 3, was not created"),
        "{child:?}"
    );
    assert_eq!(sandbox.sandbox.stats().create_requests, 2, "{summary}");
}

#[tokio::test]
async fn a_server_answering_every_create_with_one_organization_gets_it_recorded_once() {
    let sandbox = start_sandbox(SandboxConfig {
        same_id_for_every_create: true,
        ..SandboxConfig::default()
    })
    .await;
    let mut csv = String::from("name\n");
    for i in 0..19 {
        csv.push_str(&format!("customer-{i:02}\n"));
    }
    let fixture = Fixture::new(&csv);
    let summary = fixture
        .import(&sandbox, &["--rate", "1000", "--concurrency", "4"])
        .await
        .unwrap();
    assert_eq!(summary.count(Status::Created), 1, "{summary}");
    assert_eq!(summary.count(Status::Unconfirmed), 18, "{summary}");
    assert_eq!(summary.exit_status().code(), 1);
    assert_eq!(sandbox.sandbox.stats().creates_committed, 1);

    let rows = fixture.results_rows();
    let created: Vec<usize> = (0..rows.len())
        .filter(|&i| rows[i]["status"] == "created")
        .collect();
    let [first] = created[..] else {
        panic!("{rows:?}")
    };
    let the_id = &rows[first]["org_id"];
    let first_line = first + 2;
    for (i, row) in rows.iter().enumerate().filter(|(i, _)| *i != first) {
        assert_eq!(row["status"], "unconfirmed", "{row:?}");
        assert_eq!(
            row["org_id"], "",
            "not recorded with another row's organization"
        );
        let error = &row["error"];
        assert!(
            error.contains(&format!(
                "the API gave organization {the_id:?} for this row, and line {first_line} is \
                 recorded with it"
            )) && error.contains(&format!("so line {} is not", i + 2)),
            "{error}"
        );
    }

    // An earlier version's results file that records one organization for two rows is
    // refused when read back, naming both rows.
    let results = std::fs::read_to_string(fixture.results()).unwrap();
    let second = (first + 1) % rows.len();
    let name = &rows[second]["name"];
    let edited = results.replace(
        &format!("{name},unconfirmed,,"),
        &format!("{name},created,{the_id},"),
    );
    assert_ne!(edited, results);
    std::fs::write(fixture.results(), edited).unwrap();
    let err = fixture.import(&sandbox, &[]).await.unwrap_err().to_string();
    let (a, b) = (first_line.min(second + 2), first_line.max(second + 2));
    assert!(
        err.contains(&format!(
            "line {a} and line {b} both record organization {the_id:?}"
        )),
        "{err}"
    );
}

#[tokio::test]
async fn undo_after_a_killed_run_waits_for_its_rerun_and_then_leaves_nothing_behind() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    sandbox
        .sandbox
        .insert_organization(Organization::new("pre", "existing"));
    let fixture = Fixture::new("name\nalpha\nbeta\nexisting\n");
    fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    // A rerun for a longer input, killed after sending delta: its create went through, and
    // only the journal knows it was sent.
    std::fs::write(fixture.input(), "name\nalpha\nbeta\nexisting\ndelta\n").unwrap();
    sandbox
        .sandbox
        .insert_organization(Organization::new("by-the-killed-run", "delta"));
    std::fs::write(
        fixture.journal(),
        format!("{}name:delta,pending,,,,,\n", sandbox.journal_header()),
    )
    .unwrap();

    let dir = fixture.dir.path();
    let undo = ["undo", "customers.results.csv", "--yes"];
    let out = run(bin_for(&sandbox, dir), &undo).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("rerun the same import first"), "{stderr}");
    assert_eq!(sandbox.sandbox.stats().organizations, 4, "nothing deleted");

    let rerun = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    assert_eq!(rerun.count(Status::Created), 3, "{rerun}");
    assert_eq!(by_name(&fixture)["delta"]["org_id"], "by-the-killed-run");
    let out = run(bin_for(&sandbox, dir), &undo).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let left: Vec<String> = sandbox
        .sandbox
        .organizations()
        .into_iter()
        .filter(|o| !o.template)
        .map(|o| o.id)
        .collect();
    assert_eq!(left, ["pre"], "only what was there before");
}

#[tokio::test]
async fn undo_reads_a_looked_up_organization_once_before_deleting_it() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    sandbox.sandbox.insert_organizations([
        Organization::new("cust-a", "alpha"),
        Organization::new("cust-b", "beta"),
    ]);
    let fixture = Fixture::new("id,name\ncust-a,alpha\ncust-b,beta\n");
    write_results(
        &fixture,
        &sandbox,
        &[
            ("cust-a,alpha", "unconfirmed", ""),
            ("cust-b,beta", "unconfirmed", ""),
        ],
    );
    let before = sandbox.sandbox.stats();
    let out = run(
        bin_for(&sandbox, fixture.dir.path()),
        &["undo", "customers.results.csv", "--yes"],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("2 found and deleted"), "{stderr}");
    let after = sandbox.sandbox.stats();
    // One read each, its look-up's, then the delete.
    assert_eq!(after.get_requests - before.get_requests, 2, "{after:?}");
    assert_eq!(
        sandbox.sandbox.organizations().len(),
        1,
        "the template only"
    );
}
