//! `orgimport plan` and `import --on-existing` against a sandbox seeded over its API with
//! organizations like the rows, unlike them in each field, sharing a name, and a template.

use std::collections::HashMap;

use orgimport::commands::plan::{self, Report};
use orgimport::record::Status;
use orgimport::sandbox::{Faults, Organization, SandboxConfig};
use orgimport::settings::Settings;
use serde_json::{Value, json};

use crate::fixture::{Fixture, csv_rows, interrupt, resolve};
use crate::util::{TestSandbox, start_sandbox, wait_while_running};

/// One row per case; the comment after each names its expected plan.
pub(crate) const CSV: &str = "\
id,name,description,color,domains,email,parent,parent_id,metadata.region
,same,Same desc,#112233,same.example.com,a@same.example.com,,,EMEA
,diff-desc,New desc,#112233,,,,,
,diff-color,,#445566,,,,,
,diff-domains,,,new.example.com,,,,
,diff-meta,,,,,,,APAC
id-row,renamed,,,,,,,
,diff-parent,,,,,,home,
,twin,,,,,,,
,B2B customer template,,,,,,,
,new-parent,,,,,,,
,new-child,,,,,new-parent,,
,bad-mail,,,,nope,,,
,orphan,,,,,,nowhere,
";

/// Seeds the organizations the rows are planned against, over the API.
pub(crate) async fn seed(sandbox: &TestSandbox) {
    let token = sandbox.token().await;
    let orgs = [
        json!({"id": "o-same", "name": "same", "description": "Same desc", "color": "#112233",
               "domains": ["same.example.com"], "metadata": {"payload": {"region": "EMEA"}}}),
        json!({"id": "o-desc", "name": "diff-desc", "description": "Old desc",
               "color": "#112233", "metadata": {"payload": {"tier": "gold"}},
               "authentication_mechanisms": ["password"]}),
        json!({"id": "o-color", "name": "diff-color", "color": "#000000"}),
        json!({"id": "o-domains", "name": "diff-domains", "domains": ["old.example.com"]}),
        json!({"id": "o-meta", "name": "diff-meta", "metadata": {"payload": {"region": "EMEA"}}}),
        json!({"id": "id-row", "name": "old-name"}),
        json!({"id": "home", "name": "home"}),
        json!({"id": "o-parent", "name": "diff-parent"}),
        json!({"id": "twin-1", "name": "twin"}),
        json!({"id": "twin-2", "name": "twin"}),
    ];
    for org in orgs {
        let res = sandbox.create(&token, &org).await.unwrap();
        assert_eq!(res.status(), 201, "{org}");
    }
}

async fn plan(fixture: &Fixture, sandbox: &TestSandbox) -> Report {
    let mut args = fixture.args(sandbox, &sandbox.secret(), &[]);
    args[1] = "plan".into();
    let Settings::Plan(settings) = resolve(args).unwrap() else {
        panic!("not a plan")
    };
    plan::plan(settings.import, settings.out).await.unwrap()
}

/// A CSV file as rows of field maps, by the `name` column.
fn by_name(path: &std::path::Path) -> HashMap<String, HashMap<String, String>> {
    csv_rows(path)
        .into_iter()
        .map(|row| (row["name"].clone(), row))
        .collect()
}

#[tokio::test]
async fn plan_classes_every_row_against_the_tenant_and_sends_no_write() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    seed(&sandbox).await;
    let fixture = Fixture::new(CSV);
    let before = sandbox.sandbox.stats();

    let report = plan(&fixture, &sandbox).await;

    let after = sandbox.sandbox.stats();
    assert_eq!(after.create_requests, before.create_requests, "no create");
    assert_eq!(after.update_requests, 0, "no update");
    assert_eq!(after.organizations, before.organizations);
    assert_eq!(report.rows, 13);
    assert_eq!(report.exit_status().code(), 1);
    assert_eq!(report.existing, 11, "ten seeded and the template");

    let rows = by_name(&fixture.dir.path().join("customers.plan.csv"));
    let expect = |name: &str, action: &str, org_id: &str, changes: &str| {
        let row = &rows[name];
        assert_eq!(
            (
                row["action"].as_str(),
                row["org_id"].as_str(),
                row["changes"].as_str()
            ),
            (action, org_id, changes),
            "{name}: {row:?}"
        );
    };
    expect("same", "exists-identical", "o-same", "");
    expect(
        "diff-desc",
        "exists-different",
        "o-desc",
        r#"description: "Old desc" -> "New desc""#,
    );
    expect(
        "diff-color",
        "exists-different",
        "o-color",
        r##"color: "#000000" -> "#445566""##,
    );
    expect(
        "diff-domains",
        "exists-different",
        "o-domains",
        "domains: [old.example.com] -> [new.example.com]",
    );
    expect(
        "diff-meta",
        "exists-different",
        "o-meta",
        r#"metadata.region: "EMEA" -> "APAC""#,
    );
    expect(
        "renamed",
        "exists-different",
        "id-row",
        r#"name: "old-name" -> "renamed""#,
    );
    expect(
        "diff-parent",
        "exists-different",
        "o-parent",
        r#"parent_id: (none) -> "home""#,
    );
    expect("twin", "conflict", "", "");
    assert!(
        rows["twin"]["reason"].contains("twin-1, twin-2"),
        "{:?}",
        rows["twin"]
    );
    expect("B2B customer template", "create", "", "");
    expect("new-parent", "create", "", "");
    expect("new-child", "create-after-parent", "", "");
    expect("bad-mail", "invalid", "", "");
    expect("orphan", "invalid", "", "");
    assert!(
        rows["orphan"]["reason"].contains("nowhere"),
        "{:?}",
        rows["orphan"]
    );
    assert_eq!(
        rows["same"]["email"], "a@same.example.com",
        "input columns kept"
    );
    sandbox.stop().await;
}

#[tokio::test]
async fn update_changes_only_what_differs_and_records_it() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    seed(&sandbox).await;
    let fixture = Fixture::new(CSV);

    let summary = fixture
        .import(&sandbox, &["--on-existing", "update", "--rate", "1000"])
        .await
        .unwrap();

    let stats = sandbox.sandbox.stats();
    assert_eq!(stats.update_requests, 6, "one PUT per different row");
    assert_eq!(summary.count(Status::Updated), 6, "{summary}");
    // Six updates, three creates and `orphan`'s refused create; not `twin`, a conflict.
    assert_eq!(summary.sent, 6 + 3 + 1, "{summary}");
    // The template's namesake, the new parent and its child.
    assert_eq!(stats.creates_committed, 10 + 3);
    let rows = by_name(&fixture.results());
    let status = |name: &str| rows[name]["status"].clone();
    assert_eq!(status("same"), "exists");
    assert_eq!(rows["same"]["org_id"], "o-same");
    assert_eq!(status("diff-desc"), "updated");
    assert_eq!(
        rows["diff-desc"]["changes"],
        r#"description: "Old desc" -> "New desc""#
    );
    assert_eq!(status("twin"), "failed");
    assert!(
        rows["twin"]["error"].contains("twin-1"),
        "{:?}",
        rows["twin"]
    );
    assert_eq!(status("B2B customer template"), "created");
    assert_eq!(status("new-child"), "created");

    let org = |id: &str| serde_json::to_value(sandbox.sandbox.organization(id).unwrap()).unwrap();
    let desc = org("o-desc");
    assert_eq!(desc["description"], "New desc");
    assert_eq!(desc["color"], "#112233", "unchanged");
    assert_eq!(desc["metadata"]["payload"], json!({"tier": "gold"}), "kept");
    assert_eq!(
        desc["authentication_mechanisms"],
        json!(["password"]),
        "kept"
    );
    assert_eq!(org("o-color")["color"], "#445566");
    assert_eq!(org("o-domains")["domains"], json!(["new.example.com"]));
    assert_eq!(org("o-meta")["metadata"]["payload"]["region"], "APAC");
    assert_eq!(org("id-row")["name"], "renamed");
    assert_eq!(org("o-parent")["parent_id"], "home");
    assert_eq!(org("twin-1")["name"], "twin", "a conflict is not touched");
    let template = sandbox
        .sandbox
        .organization("b2b-customer-template")
        .unwrap();
    assert!(template.template, "the template is not matched by name");
    let child = &rows["new-child"];
    let parent = &rows["new-parent"];
    assert_eq!(
        org(&child["org_id"])["parent_id"],
        Value::String(parent["org_id"].clone())
    );

    // Updated rows are done: a rerun sends nothing, and a new plan sees them identical.
    let again = fixture
        .import(&sandbox, &["--on-existing", "update", "--rate", "1000"])
        .await
        .unwrap();
    assert_eq!(sandbox.sandbox.stats().update_requests, 6, "{again}");
    assert_eq!(
        by_name(&fixture.results())["diff-desc"]["status"],
        "updated"
    );
    let report = plan(&fixture, &sandbox).await;
    assert_eq!(report.count(plan::Action::ExistsDifferent), 0, "{report}");
    sandbox.stop().await;
}

#[tokio::test]
async fn fail_fails_existing_rows_and_skip_records_them_as_exists() {
    let csv = "id,name,description\n,same,Other desc\nid-row,old-name,\n,fresh,\n";
    for (mode, expected) in [("fail", "failed"), ("skip", "exists")] {
        let sandbox = start_sandbox(SandboxConfig::default()).await;
        seed(&sandbox).await;
        let fixture = Fixture::new(csv);
        let summary = fixture
            .import(&sandbox, &["--on-existing", mode, "--rate", "1000"])
            .await
            .unwrap();
        assert_eq!(
            summary.sent, 1,
            "{mode}: only `fresh` counts as sent: {summary}"
        );
        let rows = by_name(&fixture.results());
        assert_eq!(rows["same"]["status"], expected, "{mode}: {rows:?}");
        assert_eq!(rows["old-name"]["status"], expected, "{mode}");
        assert_eq!(rows["fresh"]["status"], "created", "{mode}");
        if mode == "fail" {
            assert!(
                rows["same"]["error"].contains("o-same"),
                "{:?}",
                rows["same"]
            );
        } else {
            assert_eq!(rows["same"]["org_id"], "o-same");
        }
        let stats = sandbox.sandbox.stats();
        assert_eq!(stats.update_requests, 0, "{mode}");
        assert_eq!(
            stats.creates_committed,
            10 + 1,
            "{mode}: only `fresh` is created"
        );
        sandbox.stop().await;
    }
}

#[tokio::test]
async fn a_results_file_without_a_changes_column_still_resumes() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new("name\nalpha\nbeta\n");
    std::fs::write(
        fixture.results(),
        "name,status,org_id,http_status,error,attempts\nalpha,created,a-1,201,,1\nbeta,failed,,400,HTTP 400 bad,1\n",
    )
    .unwrap();
    // It records no tenant: taken as this one's when the run is told so.
    let args = ["--rate", "1000", "--adopt-results"];
    let summary = fixture.import(&sandbox, &args).await.unwrap();
    assert_eq!(summary.done_before, 1, "{summary}");
    assert_eq!(
        sandbox.sandbox.stats().creates_committed,
        1,
        "only beta is sent"
    );
    let rows = by_name(&fixture.results());
    assert_eq!(rows["alpha"]["org_id"], "a-1");
    assert_eq!(rows["beta"]["status"], "created");
    assert!(rows["alpha"].contains_key("changes"));
    assert_eq!(
        rows["alpha"]["tenant"],
        sandbox.tenant_mark(),
        "now recorded"
    );
    sandbox.stop().await;
}

#[tokio::test]
async fn plan_pages_through_a_tenant_and_retries_refused_pages() {
    let config = SandboxConfig {
        faults: Faults {
            forbidden_burst_rate: 0.3,
            seed: 11,
            ..Faults::default()
        },
        ..SandboxConfig::default()
    };
    let sandbox = start_sandbox(config).await;
    sandbox.sandbox.insert_organizations(
        (0..250).map(|i| Organization::new(format!("bulk-{i:03}"), format!("bulk {i:03}"))),
    );
    // Twelve things to read (eleven rows and the template): listing the 251 organizations
    // (three pages) costs less than looking them up, so the tenant is listed.
    let fixture = Fixture::new(
        "name\nbulk 000\nbulk 249\nfresh\nfresh 1\nfresh 2\nfresh 3\nfresh 4\nfresh 5\nfresh 6\nfresh 7\nfresh 8\n",
    );
    let mut args = fixture.args(&sandbox, &sandbox.secret(), &["--max-attempts", "20"]);
    args[1] = "plan".into();
    let Settings::Plan(settings) = resolve(args).unwrap() else {
        panic!("not a plan")
    };
    let out = fixture.dir.path().join("elsewhere.csv");
    let report = plan::plan(settings.import, out.clone()).await.unwrap();

    assert_eq!(report.existing, 251, "{report}");
    let refused = sandbox.sandbox.stats().faults_injected;
    assert!(refused > 0, "the seed refuses some pages");
    assert_eq!(report.list_requests, 3 + refused, "{report}");
    let rows = by_name(&out);
    assert_eq!(rows["bulk 000"]["action"], "exists-identical");
    assert_eq!(rows["bulk 249"]["action"], "exists-identical");
    assert_eq!(rows["bulk 249"]["org_id"], "bulk-249");
    assert_eq!(rows["fresh"]["action"], "create");
    assert_eq!(report.exit_status().code(), 1);
    sandbox.stop().await;
}

#[test]
fn ctrl_c_stops_update_retries_and_writes_complete_results() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // Every update is refused with a 500 or 503, so each row keeps retrying.
    let sandbox = runtime.block_on(start_sandbox(SandboxConfig {
        faults: Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
        ..SandboxConfig::default()
    }));
    for i in 0..3 {
        sandbox.sandbox.insert_organization(Organization {
            description: "Old".into(),
            ..Organization::new(format!("o-{i}"), format!("org-{i}"))
        });
    }
    let fixture = Fixture::new("name,description\norg-0,New\norg-1,New\norg-2,New\n");
    let flags = ["--on-existing", "update", "--max-attempts", "12"];
    let mut child = fixture.spawn_import(&sandbox, &flags);
    wait_while_running("6 update requests", &mut child, || {
        sandbox.sandbox.stats().update_requests >= 6
    });
    interrupt(&child);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);

    // Without the stop, 12 attempts with backoff would take minutes and end in exit 1.
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let rows = fixture.results_rows();
    assert_eq!(rows.len(), 3, "{rows:?}");
    for row in &rows {
        assert_eq!(row["status"], "failed", "{row:?}");
        assert!(
            ["500", "503"].contains(&row["http_status"].as_str()),
            "{row:?}"
        );
    }
    assert_eq!(sandbox.sandbox.stats().updates_committed, 0);
    assert!(!fixture.journal().exists());
    drop(runtime);
}
