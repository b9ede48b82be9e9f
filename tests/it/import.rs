//! `orgimport import` against the sandbox over real HTTP: creates, results file, token
//! refresh, rate limits, bad credentials and resume.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::path::Path;
use std::time::Duration;

use orgimport::record::Status;
use orgimport::sandbox::{Organization, RateLimit, SandboxConfig};

use crate::fixture::{Fixture, customers, import_with};
use crate::util::start_sandbox;

#[tokio::test]
async fn every_valid_row_is_created_once_and_every_row_is_in_the_results() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let mut csv = customers(40);
    csv.push_str(",,No name,,,,,Bo\n"); // line 42: invalid, no name
    csv.push_str(",customer-00001,Dup,,,,,Bo\n"); // line 43: repeats line 3's name
    csv.push_str(",bad-mail,Bad,nobody at example,,,,Bo\n"); // line 44
    let fixture = Fixture::new(&csv);

    let summary = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();

    assert_eq!(summary.rows, 43);
    assert_eq!(summary.count(Status::Created), 40, "{summary}");
    assert_eq!(summary.count(Status::Invalid), 3, "{summary}");
    assert_eq!(summary.exit_status().code(), 1);
    let by_name = sandbox.sandbox.commits_by_name();
    for i in 0..40 {
        assert_eq!(
            by_name.get(&format!("customer-{i:05}")),
            Some(&1),
            "customer-{i:05}"
        );
    }
    assert_eq!(sandbox.sandbox.stats().creates_committed, 40);

    let rows = fixture.results_rows();
    assert_eq!(rows.len(), 43, "every input row, once");
    let orgs: HashMap<String, serde_json::Value> = sandbox
        .sandbox
        .organizations()
        .into_iter()
        .map(|o| (o.id.clone(), serde_json::to_value(&o).unwrap()))
        .collect();
    for (i, row) in rows.iter().take(40).enumerate() {
        assert_eq!(row["name"], format!("customer-{i:05}"), "input order kept");
        assert_eq!(row["status"], "created");
        assert_eq!(row["owner"], "Ana", "unknown columns are kept");
        let org = &orgs[&row["org_id"]];
        assert_eq!(org["name"], row["name"]);
        assert_eq!(org["metadata"]["payload"]["region"], "EMEA");
        assert!(
            !org["authentication_mechanisms"]
                .as_array()
                .unwrap()
                .is_empty(),
            "inherited from the template: {org}"
        );
        if i % 4 == 0 {
            assert_eq!(row["org_id"], format!("cust-{i:05}"));
        }
    }
    assert_eq!(rows[40]["status"], "invalid");
    assert!(
        rows[40]["error"].contains("line 42: name: is empty"),
        "{}",
        rows[40]["error"]
    );
    assert!(
        rows[41]["error"].contains("already used by line 3"),
        "{}",
        rows[41]["error"]
    );
    assert!(rows[42]["error"].contains("email"), "{}", rows[42]["error"]);
    assert!(!fixture.journal().exists());
}

#[tokio::test]
async fn a_short_token_lifetime_is_refreshed_without_failing_rows() {
    let sandbox = start_sandbox(SandboxConfig {
        token_lifetime: Duration::from_secs(1),
        ..SandboxConfig::default()
    })
    .await;
    let fixture = Fixture::new(&customers(250));

    // 250 rows at 100/s: about 2.5 s, so the 1 s token expires twice or more.
    let summary = fixture.import(&sandbox, &["--rate", "100"]).await.unwrap();

    let failed: Vec<_> = fixture
        .results_rows()
        .into_iter()
        .filter(|r| r["status"] != "created")
        .collect();
    assert_eq!(summary.count(Status::Created), 250, "{summary} {failed:?}");
    assert!(summary.token_fetches > 1, "{summary:?}");
    assert!(sandbox.sandbox.stats().tokens_issued > 1);
    assert_eq!(sandbox.sandbox.stats().creates_committed, 250);
}

#[tokio::test]
async fn no_429_when_the_tenant_allows_the_configured_rate() {
    let limit = NonZeroU32::new(100).unwrap();
    let sandbox = start_sandbox(SandboxConfig {
        rate_limit: Some(RateLimit {
            per_second: limit,
            burst: limit,
        }),
        ..SandboxConfig::default()
    })
    .await;
    let fixture = Fixture::new(&customers(300));

    let summary = fixture
        .import(&sandbox, &["--rate", "100", "--concurrency", "32"])
        .await
        .unwrap();

    assert_eq!(summary.count(Status::Created), 300, "{summary}");
    assert_eq!(sandbox.sandbox.stats().rate_limited, 0);
    assert_eq!(summary.requests, 300, "no retries were needed");
}

#[tokio::test]
async fn a_wrong_secret_stops_before_any_create() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(&customers(5));

    let error = import_with(fixture.args(&sandbox, "not-the-secret", &[]))
        .await
        .unwrap_err();

    assert!(
        matches!(error, orgimport::Error::AuthRejected { status: 401, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("invalid_client"), "{error}");
    assert!(!error.to_string().contains("not-the-secret"));
    assert_eq!(sandbox.sandbox.stats().create_requests, 0);
    assert!(!fixture.results().exists());
}

#[tokio::test]
async fn a_wrong_scope_stops_before_any_create() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(&customers(5));

    let error = fixture
        .import(&sandbox, &["--scope", "view_clients"])
        .await
        .unwrap_err();

    assert!(error.to_string().contains("invalid_scope"), "{error}");
    assert_eq!(sandbox.sandbox.stats().create_requests, 0);
}

#[tokio::test]
async fn basic_client_authentication_works_too() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(&customers(3));

    let summary = fixture
        .import(&sandbox, &["--client-auth", "basic"])
        .await
        .unwrap();

    assert_eq!(summary.count(Status::Created), 3, "{summary}");
}

#[tokio::test]
async fn a_rerun_sends_only_what_is_not_done() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let mut csv = customers(20);
    csv.push_str(",fixed-later,Later,not an email,,,,Bo\n");
    let fixture = Fixture::new(&csv);

    let first = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    assert_eq!(first.count(Status::Created), 20, "{first}");
    let ids_before: Vec<String> = fixture
        .results_rows()
        .iter()
        .map(|r| r["org_id"].clone())
        .collect();

    let second = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    assert_eq!(second.sent, 0, "{second}");
    assert_eq!(second.done_before, 20);
    assert_eq!(
        sandbox.sandbox.stats().create_requests,
        20,
        "nothing new was sent"
    );
    let ids_after: Vec<String> = fixture
        .results_rows()
        .iter()
        .map(|r| r["org_id"].clone())
        .collect();
    assert_eq!(ids_before, ids_after);

    // The user fixes the bad row: only it is sent.
    std::fs::write(
        fixture.input(),
        csv.replace("not an email", "ops@later.example.com"),
    )
    .unwrap();
    let third = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    assert_eq!(third.sent, 1, "{third}");
    assert_eq!(third.exit_status().code(), 0);
    assert_eq!(sandbox.sandbox.stats().create_requests, 21);
    assert_eq!(
        sandbox.sandbox.commits_by_name().get("fixed-later"),
        Some(&1)
    );
}

#[tokio::test]
async fn a_row_created_earlier_stays_created_when_edited_and_formula_cells_round_trip() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let mut csv = customers(5);
    // A cell that the results file neutralizes with a leading quote.
    csv.push_str(",=formula-co,Formula,ops@formula.example.com,,,,=SUM(A1)\n");
    let fixture = Fixture::new(&csv);
    let first = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    assert_eq!(first.count(Status::Created), 6, "{first}");
    let rows = fixture.results_rows();
    assert_eq!(rows[5]["owner"], "'=SUM(A1)");

    // The user breaks a field of a created row: it is not sent again, and the results
    // still name its organization.
    std::fs::write(
        fixture.input(),
        csv.replace("admin@customer2.example.com", "not an email"),
    )
    .unwrap();
    let second = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    assert_eq!((second.sent, second.done_before), (0, 6), "{second}");
    assert_eq!(sandbox.sandbox.stats().create_requests, 6);
    let after = fixture.results_rows();
    assert_eq!(after[2]["status"], "created");
    assert_eq!(after[2]["org_id"], rows[2]["org_id"]);
    assert_eq!(
        after[5]["org_id"], rows[5]["org_id"],
        "found by its restored name"
    );
    assert_eq!(after[5]["owner"], "'=SUM(A1)");
}

#[tokio::test]
async fn an_existing_id_is_adopted_only_when_the_name_matches() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    // Created earlier by hand: one matches its row, one holds the id under another name.
    sandbox
        .sandbox
        .insert_organization(Organization::new("acme-1", "acme"));
    sandbox
        .sandbox
        .insert_organization(Organization::new("other-1", "someone-else"));
    let fixture = Fixture::new("id,name\nacme-1,acme\nother-1,other\n");

    let summary = fixture.import(&sandbox, &[]).await.unwrap();

    let rows = fixture.results_rows();
    assert_eq!(rows[0]["status"], "exists", "{rows:?}");
    assert_eq!(rows[0]["org_id"], "acme-1");
    assert_eq!(rows[1]["status"], "failed");
    assert!(
        rows[1]["error"].contains("someone-else"),
        "{}",
        rows[1]["error"]
    );
    assert_eq!(summary.exit_status().code(), 1);
}

#[test]
fn the_sample_import_runs_with_the_built_in_sandbox_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/customers.csv");
    let input = dir.path().join("customers.csv");
    std::fs::copy(samples, &input).unwrap();
    let run = || {
        assert_cmd::Command::cargo_bin("orgimport")
            .unwrap()
            .args([
                "import",
                input.to_str().unwrap(),
                "--sandbox",
                "--rate",
                "1000",
            ])
            .env_remove("ORGIMPORT_CLIENT_SECRET")
            .output()
            .unwrap()
    };

    let first = run();
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert_eq!(
        first.status.code(),
        Some(1),
        "6 rows are invalid on purpose: {stderr}"
    );
    assert!(stderr.contains("300 rows: 294 created"), "{stderr}");
    assert!(
        stderr.contains("customers.csv:27: name: is empty"),
        "{stderr}"
    );
    // A rehearsal's results are its own: the import into the tenant starts afresh.
    let results = dir.path().join("customers.sandbox.results.csv");
    assert!(!dir.path().join("customers.results.csv").exists());
    let mut reader = csv::Reader::from_path(&results).unwrap();
    assert_eq!(reader.records().count(), 300);

    let second = run();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("0 sent"),
        "a rerun sends nothing new: {stderr}"
    );
    assert!(stderr.contains("294 done by an earlier run"), "{stderr}");
}

#[test]
fn the_binary_exits_2_on_bad_credentials_and_never_prints_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("c.csv");
    std::fs::write(&input, "name\nacme\n").unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sandbox = rt.block_on(start_sandbox(SandboxConfig::default()));
    let secret = "Sup3r-S3cret-Value";
    let out = assert_cmd::Command::cargo_bin("orgimport")
        .unwrap()
        .args([
            "import",
            input.to_str().unwrap(),
            "--base-url",
            &sandbox.base_url,
            "-vv",
        ])
        .args([
            "--tenant",
            &sandbox.sandbox.config().tenant,
            "--client-id",
            "someone",
            "--template-id",
            &sandbox.sandbox.config().template_id,
        ])
        .env("ORGIMPORT_CLIENT_SECRET", secret)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("invalid_client"), "{stderr}");
    assert!(!stderr.contains(secret) && !String::from_utf8_lossy(&out.stdout).contains(secret));
    assert_eq!(
        rt.block_on(async { sandbox.sandbox.stats().create_requests }),
        0
    );
}

#[tokio::test]
async fn a_results_file_naming_rows_of_another_input_is_kept_before_it_is_replaced() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new("name\nalpha\nbeta\n");
    fixture.import(&sandbox, &[]).await.unwrap();

    // The same results file, for an input without those rows.
    std::fs::write(fixture.input(), "name\ngamma\n").unwrap();
    fixture.import(&sandbox, &[]).await.unwrap();

    let copies: Vec<_> = std::fs::read_dir(fixture.dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".bak"))
        .collect();
    assert_eq!(copies.len(), 1, "{copies:?}");
    let kept = std::fs::read_to_string(&copies[0]).unwrap();
    assert!(kept.contains("alpha") && kept.contains("beta"), "{kept}");
    let now = fixture.results_rows();
    assert_eq!(now.len(), 1);
    assert_eq!(now[0]["name"], "gamma");
}

#[test]
fn a_closed_stderr_does_not_stop_the_import() {
    // `orgimport import ... 2>&1 | head -1`: the reader goes away after one line.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("customers.csv");
    std::fs::write(&input, customers(40)).unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("orgimport"))
        .args([
            "import",
            input.to_str().unwrap(),
            "--sandbox",
            "--rate",
            "1000",
        ])
        .args(["-v"]) // log lines too, which go through tracing
        .env_remove("ORGIMPORT_CLIENT_SECRET")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let status = child.wait().unwrap();

    assert_eq!(status.code(), Some(0), "every row is created, not a panic");
    let results =
        std::fs::read_to_string(dir.path().join("customers.sandbox.results.csv")).unwrap();
    assert_eq!(results.lines().count(), 41, "{results}");
    assert_eq!(results.matches(",created,").count(), 40, "{results}");
}
