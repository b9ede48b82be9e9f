//! Updates (`--on-existing update`) sent with `If-Match`: an organization someone else changed
//! since it was read is reported as a conflict, not overwritten; an update that went through
//! unheard, or failed, is never taken for a create.

use super::*;

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
