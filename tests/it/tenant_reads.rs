//! What `import --on-existing` and `plan` read of the tenant: a small tenant listed whole, a
//! large one looked up row by row, with the same outcome for every row (the requests counted by
//! the sandbox say which way was taken); nothing read by a rerun with nothing to send; and
//! updates sent with `If-Match`, so that an organization someone else changed since it was
//! read is reported as a conflict, not overwritten.

use std::collections::HashMap;

use orgimport::commands::plan::{self, Report};
use orgimport::report::summary::Summary;
use orgimport::sandbox::{Faults, Organization, SandboxConfig, Stats};
use orgimport::settings::Settings;
use serde_json::json;

use crate::fixture::{Fixture, csv_rows, resolve};
use crate::ops::{bin_for, run, text};
use crate::util::{TestSandbox, start_sandbox};

/// Eight rows: found by name, found by id, two organizations with one name, a template's name
/// (never matched by name), a template's id (a conflict), a name in another case, a new one.
const CSV: &str = "\
id,name,description
,same,Same
,diff,New
id-row,old-name,
,twin,
,B2B customer template,
,fresh,
b2b-customer-template,by-template-id,
,SAME,
";

/// The organizations the rows are matched against.
fn seed(sandbox: &TestSandbox) {
    let org = |id: &str, name: &str, description: &str| Organization {
        description: description.into(),
        ..Organization::new(id, name)
    };
    for o in [
        org("o-same", "same", "Same"),
        org("o-diff", "diff", "Old"),
        org("id-row", "old-name", ""),
        org("twin-1", "twin", ""),
        org("twin-2", "twin", ""),
    ] {
        sandbox.sandbox.insert_organization(o);
    }
}

/// `count` organizations that no row matches, with names no row's name is part of: a tenant
/// of `count` + 6 organizations is listed in `count / 100 + 1` pages.
fn pad(sandbox: &TestSandbox, count: usize) {
    sandbox.sandbox.insert_organizations(
        (0..count).map(|i| Organization::new(format!("pad-{i:06}"), format!("padding {i:06}"))),
    );
}

/// Requests that read the tenant: list pages and name searches, and single reads.
fn reads(stats: &Stats) -> (u64, u64) {
    (stats.list_requests, stats.get_requests)
}

/// The results file as name -> (status, org_id unless created, error).
fn outcomes(fixture: &Fixture) -> HashMap<String, (String, String, String)> {
    fixture
        .results_rows()
        .into_iter()
        .map(|row| {
            let org_id = if row["status"] == "created" {
                String::new()
            } else {
                row["org_id"].clone()
            };
            let outcome = (row["status"].clone(), org_id, row["error"].clone());
            (row["name"].clone(), outcome)
        })
        .collect()
}

async fn plan(fixture: &Fixture, sandbox: &TestSandbox) -> Report {
    let mut args = fixture.args(sandbox, &sandbox.secret(), &[]);
    args[1] = "plan".into();
    let Settings::Plan(settings) = resolve(args).unwrap() else {
        panic!("not a plan")
    };
    plan::plan(settings.import, settings.out).await.unwrap()
}

/// The plan file's action and org_id (unless to be created) by name.
fn actions(fixture: &Fixture) -> HashMap<String, (String, String, String)> {
    csv_rows(&fixture.dir.path().join("customers.plan.csv"))
        .into_iter()
        .map(|row| {
            let plan = (
                row["action"].clone(),
                row["org_id"].clone(),
                row["changes"].clone(),
            );
            (row["name"].clone(), plan)
        })
        .collect()
}

#[tokio::test]
async fn a_small_tenant_is_listed_and_a_large_one_looked_up_with_the_same_outcome_per_row() {
    let small = start_sandbox(SandboxConfig::default()).await;
    seed(&small);
    let large = start_sandbox(SandboxConfig::default()).await;
    seed(&large);
    pad(&large, 500);
    let (in_small, in_large) = (Fixture::new(CSV), Fixture::new(CSV));

    let listed = in_small.import(&small, &["--rate", "1000"]).await.unwrap();
    let looked_up = in_large.import(&large, &["--rate", "1000"]).await.unwrap();

    // Small: one page lists the tenant; the one read is the template check.
    assert_eq!(reads(&small.sandbox.stats()), (1, 1), "{listed}");
    // Large: eight rows to check allow two pages; the tenant has six, so each row is looked
    // up: six names searched, two ids read, beside the template check.
    assert_eq!(reads(&large.sandbox.stats()), (2 + 6, 1 + 2), "{looked_up}");

    let (by_listing, by_look_ups) = (outcomes(&in_small), outcomes(&in_large));
    assert_eq!(by_listing, by_look_ups);
    let status = |name: &str| by_look_ups[name].0.as_str();
    assert_eq!(status("same"), "exists");
    assert_eq!(by_look_ups["same"].1, "o-same");
    assert_eq!(status("diff"), "exists");
    assert_eq!(by_look_ups["old-name"].1, "id-row");
    assert_eq!(status("twin"), "failed");
    assert!(by_look_ups["twin"].2.contains("twin-1, twin-2"));
    assert_eq!(status("B2B customer template"), "created");
    assert_eq!(status("fresh"), "created");
    assert_eq!(status("by-template-id"), "failed");
    assert!(by_look_ups["by-template-id"].2.contains("template"));
    assert_eq!(status("SAME"), "created");
    assert_eq!(listed.count(orgimport::record::Status::Created), 3);
    assert_eq!(looked_up.count(orgimport::record::Status::Created), 3);

    small.stop().await;
    large.stop().await;
}

#[tokio::test]
async fn plan_reads_the_tenant_as_import_does() {
    let small = start_sandbox(SandboxConfig::default()).await;
    seed(&small);
    let large = start_sandbox(SandboxConfig::default()).await;
    seed(&large);
    pad(&large, 500);
    let (in_small, in_large) = (Fixture::new(CSV), Fixture::new(CSV));

    let listed = plan(&in_small, &small).await;
    let looked_up = plan(&in_large, &large).await;

    assert_eq!(listed.look_ups, 0, "{listed}");
    assert_eq!(listed.existing, 6, "{listed}");
    // Six names, and two ids (a row's, and the template, which another row names as its
    // id): two pages, then eight look-ups.
    assert_eq!(looked_up.look_ups, 8, "{looked_up}");
    assert_eq!(reads(&large.sandbox.stats()), (2 + 6, 2), "{looked_up}");
    assert_eq!(actions(&in_small), actions(&in_large));
    let actions = actions(&in_large);
    assert_eq!(actions["same"].0, "exists-identical");
    assert_eq!(actions["diff"].0, "exists-different");
    assert_eq!(actions["diff"].2, r#"description: "Old" -> "New""#);
    assert_eq!(actions["old-name"].1, "id-row");
    assert_eq!(actions["twin"].0, "conflict");
    assert_eq!(actions["by-template-id"].0, "conflict");
    assert_eq!(actions["fresh"].0, "create");
    assert_eq!(listed.counts, looked_up.counts);
    small.stop().await;
    large.stop().await;
}

/// Fifty rows: twenty found by name, ten by id, twenty new.
fn fifty_rows() -> String {
    let mut csv = String::from("id,name\n");
    for i in 0..20 {
        csv.push_str(&format!(",padding {:06}\n", i * 249)); // found by name
    }
    for i in 0..10 {
        let n = i * 7 + 1;
        csv.push_str(&format!("pad-{n:06},padding {n:06}\n")); // found by id
    }
    for i in 0..20 {
        csv.push_str(&format!(",new {i}\n"));
    }
    csv
}

#[tokio::test]
async fn fifty_rows_into_a_large_tenant_take_64_reads_whatever_its_size() {
    // Beyond the budget of 13 pages the reads do not grow with the tenant: 100,000
    // organizations take the same 64 (measured by hand; a debug sandbox searches slowly).
    for size in [5_000, 20_000] {
        let sandbox = start_sandbox(SandboxConfig::default()).await;
        pad(&sandbox, size);
        let fixture = Fixture::new(&fifty_rows());

        let summary = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();

        let stats = sandbox.sandbox.stats();
        // 13 pages, 40 searches, 10 reads and the template check, where listing is
        // size / 100 + 1 pages.
        assert_eq!(reads(&stats), (13 + 40, 10 + 1), "{size}: {summary}");
        let status = orgimport::record::Status::Exists;
        assert_eq!(summary.count(status), 30, "{size}: {summary}");
        let status = orgimport::record::Status::Created;
        assert_eq!(summary.count(status), 20, "{size}: {summary}");

        // A rerun with nothing left to send reads nothing from the tenant.
        let again = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
        let after = sandbox.sandbox.stats();
        assert_eq!(reads(&after), reads(&stats), "{size}: {again}");
        assert_eq!(after.create_requests, stats.create_requests, "{again}");
        assert_eq!(again.done_before, 50, "{again}");
        sandbox.stop().await;
    }
}

/// Organizations `alpha` (o-a), `beta` (o-b) and `gamma` (o-c), each described "Old", and
/// rows giving each a new description, `gamma` by id.
const UPDATES: &str = "id,name,description\n,alpha,New\n,beta,New\no-c,gamma,New\n";

fn seed_updates(sandbox: &TestSandbox) {
    for (id, name) in [("o-a", "alpha"), ("o-b", "beta"), ("o-c", "gamma")] {
        sandbox.sandbox.insert_organization(Organization {
            description: "Old".into(),
            ..Organization::new(id, name)
        });
    }
}

/// A sandbox of `config` holding alpha, beta and gamma (and `padding` other organizations),
/// into which [`UPDATES`] was imported with `--on-existing update`; and the run's summary.
async fn import_updates(config: SandboxConfig, padding: usize) -> (TestSandbox, Fixture, Summary) {
    let sandbox = start_sandbox(config).await;
    seed_updates(&sandbox);
    pad(&sandbox, padding);
    let fixture = Fixture::new(UPDATES);
    let summary = fixture
        .import(&sandbox, &["--on-existing", "update", "--rate", "1000"])
        .await
        .unwrap();
    (sandbox, fixture, summary)
}

#[tokio::test]
async fn an_update_never_overwrites_a_change_made_since_the_organization_was_read() {
    // Listed (small tenant) and looked up (padded): someone edits alpha and gamma in the
    // console between the import's read and its update.
    for padding in [0, 500] {
        let config = SandboxConfig {
            edit_before_update: vec!["o-a".into(), "o-c".into()],
            ..SandboxConfig::default()
        };
        let (sandbox, fixture, summary) = import_updates(config, padding).await;

        let rows = rows_by_name(&fixture);
        for (name, id) in [("alpha", "o-a"), ("gamma", "o-c")] {
            let row = &rows[name];
            assert_eq!(row["status"], "failed", "{padding}: {row:?}");
            assert_eq!(row["http_status"], "412", "{padding}: {row:?}");
            assert!(
                row["error"].contains(&format!("{id:?}"))
                    && row["error"].contains("changed")
                    && row["error"].contains("since it was read"),
                "{padding}: {row:?}"
            );
            let org = sandbox.sandbox.organization(id).unwrap();
            assert_eq!(
                org.description, "Old (edited by someone else)",
                "{padding}: the other change is kept"
            );
        }
        assert_eq!(
            rows["beta"]["status"], "updated",
            "{padding}: the run goes on"
        );
        assert_eq!(
            sandbox.sandbox.organization("o-b").unwrap().description,
            "New"
        );
        let stats = sandbox.sandbox.stats();
        assert_eq!(stats.precondition_failed, 2, "{padding}: {summary}");
        assert_eq!(
            stats.update_requests, 3,
            "{padding}: a conflict is not retried"
        );
        assert_eq!(stats.updates_committed, 1, "{padding}");
        assert_eq!(summary.exit_status().code(), 1, "{padding}");
        sandbox.stop().await;
    }
}

/// The import's results file as name -> row.
fn rows_by_name(fixture: &Fixture) -> HashMap<String, HashMap<String, String>> {
    fixture
        .results_rows()
        .into_iter()
        .map(|row| (row["name"].clone(), row))
        .collect()
}

#[tokio::test]
async fn an_update_planned_from_the_listing_is_not_sent_when_the_organization_changed_since() {
    // A small tenant is listed (list pages carry no ETag): someone edits alpha once the page
    // is served, before the import reads it again to update it.
    let config = SandboxConfig {
        edit_after_listing: vec!["o-a".into()],
        ..SandboxConfig::default()
    };
    let (sandbox, fixture, summary) = import_updates(config, 0).await;

    let rows = rows_by_name(&fixture);
    let alpha = &rows["alpha"];
    assert_eq!(alpha["status"], "failed", "{alpha:?}");
    assert!(
        alpha["error"].contains("\"o-a\"") && alpha["error"].contains("changed since it was read"),
        "{alpha:?}"
    );
    assert!(
        !alpha["changes"].is_empty(),
        "the update it would have made: {alpha:?}"
    );
    assert_eq!(
        sandbox.sandbox.organization("o-a").unwrap().description,
        "Old (edited by someone else)",
        "the other change is kept"
    );
    for name in ["beta", "gamma"] {
        assert_eq!(rows[name]["status"], "updated", "{:?}", rows[name]);
    }
    let stats = sandbox.sandbox.stats();
    assert!(stats.list_requests > 0, "the tenant was listed: {summary}");
    assert_eq!(
        stats.update_requests, 2,
        "no update sent for alpha: {summary}"
    );
    assert_eq!(stats.precondition_failed, 0);
}

#[tokio::test]
async fn an_update_that_went_through_unheard_is_updated_when_its_resend_meets_412() {
    // Every update is committed and its reply lost (a 502 or a dropped connection): the resend
    // carries the ETag read before the first, and is refused with 412; the organization then
    // says what the row says, so the row is updated, not a conflict.
    let config = SandboxConfig {
        faults: Faults {
            commit_then_fail_rate: 1.0,
            ..Faults::default()
        },
        ..SandboxConfig::default()
    };
    let (sandbox, fixture, summary) = import_updates(config, 0).await;

    let rows = rows_by_name(&fixture);
    for (name, id) in [("alpha", "o-a"), ("beta", "o-b"), ("gamma", "o-c")] {
        let row = &rows[name];
        assert_eq!(row["status"], "updated", "{row:?}");
        assert_eq!(row["attempts"], "2", "{row:?}");
        assert_eq!(sandbox.sandbox.organization(id).unwrap().description, "New");
    }
    let stats = sandbox.sandbox.stats();
    assert_eq!(stats.updates_committed, 3, "{summary}");
    assert_eq!(
        stats.precondition_failed, 3,
        "each resend met 412: {summary}"
    );
    assert_eq!(summary.exit_status().code(), 0, "{summary}");
}

#[tokio::test]
async fn an_update_that_failed_is_never_taken_for_a_create_by_the_rerun_or_undo() {
    // Every update answered 500: each row fails after two attempts. The organizations were
    // there before, so neither the rerun nor undo may take them for ones this tool created.
    let sandbox = start_sandbox(SandboxConfig {
        faults: Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    seed_updates(&sandbox);
    let fixture = Fixture::new(UPDATES);
    let flags = [
        "--on-existing",
        "update",
        "--rate",
        "1000",
        "--max-attempts",
        "2",
    ];
    for run_number in 1..=2 {
        fixture.import(&sandbox, &flags).await.unwrap();
        for row in fixture.results_rows() {
            assert_eq!(row["status"], "failed", "run {run_number}: {row:?}");
            assert_eq!(row["attempts"], "2", "run {run_number}: {row:?}");
            assert!(
                row["changes"].contains("description"),
                "run {run_number}: a failed update names what it would have changed: {row:?}"
            );
        }
    }
    let stats = sandbox.sandbox.stats();
    assert_eq!(
        stats.update_requests, 12,
        "the rerun tried each update again"
    );
    assert_eq!(stats.creates_committed, 0);

    let out = run(
        bin_for(&sandbox, fixture.dir.path()),
        &["undo", "customers.results.csv", "--yes"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for id in ["o-a", "o-b", "o-c"] {
        assert!(
            sandbox.sandbox.organization(id).is_some(),
            "undo left {id}, which was there before"
        );
    }
    sandbox.stop().await;
}

#[tokio::test]
async fn a_server_without_etags_still_gets_the_update() {
    let config = SandboxConfig {
        no_etags: true,
        ..SandboxConfig::default()
    };
    let (sandbox, _fixture, summary) = import_updates(config, 0).await;

    assert_eq!(
        summary.count(orgimport::record::Status::Updated),
        3,
        "{summary}"
    );
    for id in ["o-a", "o-b", "o-c"] {
        assert_eq!(sandbox.sandbox.organization(id).unwrap().description, "New");
    }
    sandbox.stop().await;
}

#[tokio::test]
async fn the_sandbox_versions_organizations_and_honours_if_match() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    sandbox
        .sandbox
        .insert_organization(Organization::new("o-1", "one"));
    let token = sandbox.token().await;
    let get = || async {
        let res = sandbox
            .client
            .get(sandbox.org_url("o-1"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.headers()["etag"].to_str().unwrap().to_string()
    };
    let put = |if_match: Option<String>, description: &'static str| {
        let mut req = sandbox
            .client
            .put(sandbox.org_url("o-1"))
            .bearer_auth(&token)
            .json(&json!({"id": "o-1", "name": "one", "description": description}));
        if let Some(tag) = if_match {
            req = req.header("if-match", tag);
        }
        req.send()
    };
    let first = get().await;
    assert!(first.starts_with('"') && first.ends_with('"'), "{first}");

    let res = put(Some(first.clone()), "two").await.unwrap();
    assert_eq!(res.status(), 200);
    let second = res.headers()["etag"].to_str().unwrap().to_string();
    assert_ne!(second, first, "a new version on every update");
    assert_eq!(get().await, second);

    for stale in [first.clone(), format!("W/{second}"), "\"nope\"".into()] {
        let res = put(Some(stale.clone()), "three").await.unwrap();
        assert_eq!(res.status(), 412, "{stale}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error_code"], "precondition_failed", "{stale}");
    }
    let org = sandbox.sandbox.organization("o-1").unwrap();
    assert_eq!(org.description, "two", "a refused update changes nothing");

    for tag in [Some(format!("\"x\", {second}")), Some("*".into()), None] {
        let res = put(tag.clone(), "four").await.unwrap();
        assert_eq!(res.status(), 200, "{tag:?}");
    }
    let created = sandbox
        .create(&token, &json!({"id": "o-2", "name": "two"}))
        .await
        .unwrap();
    assert!(
        created.headers().contains_key("etag"),
        "a create's reply names its version"
    );
    assert_eq!(sandbox.sandbox.stats().precondition_failed, 3);
    sandbox.stop().await;
}
