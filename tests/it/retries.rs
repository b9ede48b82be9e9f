//! The one retry policy under faults: verify's reads, undo's deletes and the tenant listing
//! pass a sandbox that refuses many requests, Ctrl-C ends the listing at once, and rows
//! waiting to retry after a 429 at Ctrl-C end not sent.

use std::num::NonZeroU32;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use orgimport::record::Status;
use orgimport::sandbox::{Faults, Organization, RateLimit, RateLimitMode, SandboxConfig};

use crate::fixture::{Fixture, csv_rows, customers, interrupt};
use crate::util::{TestSandbox, start_sandbox, wait_while_running};

/// A sandbox that refuses a tenth of all API requests with a 403 `request_forbidden` burst,
/// and answers 429 above 300 requests a second.
async fn refusing_sandbox(seed: u64) -> TestSandbox {
    start_sandbox(SandboxConfig {
        rate_limit: Some(RateLimit {
            per_second: NonZeroU32::new(300).unwrap(),
            burst: NonZeroU32::new(30).unwrap(),
        }),
        faults: Faults {
            seed,
            forbidden_burst_rate: 0.1,
            ..Faults::default()
        },
        ..SandboxConfig::default()
    })
    .await
}

/// Imports `rows` customers into `sandbox`, all created.
async fn imported(sandbox: &TestSandbox, rows: usize) -> Fixture {
    let fixture = Fixture::new(&customers(rows));
    let flags = ["--rate", "250", "--max-attempts", "10"];
    let summary = fixture.import(sandbox, &flags).await.unwrap();
    assert_eq!(summary.count(Status::Created), rows as u64, "{summary}");
    fixture
}

/// The binary in `dir`, pointed at `sandbox` by environment variables, run off the runtime's
/// thread so that the in-process sandbox can answer it.
async fn run(sandbox: &TestSandbox, dir: &Path, args: &[&str]) -> Output {
    let c = sandbox.sandbox.config();
    let mut cmd = Command::cargo_bin("orgimport").unwrap();
    cmd.env_clear()
        .current_dir(dir)
        .env("ORGIMPORT_BASE_URL", &sandbox.base_url)
        .env("ORGIMPORT_TENANT", &c.tenant)
        .env("ORGIMPORT_CLIENT_ID", &c.client_id)
        .env("ORGIMPORT_CLIENT_SECRET", sandbox.secret())
        .env("ORGIMPORT_TEMPLATE_ID", &c.template_id)
        .args(args);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_reads_every_row_through_refusals() {
    let sandbox = refusing_sandbox(5).await;
    let fixture = imported(&sandbox, 300).await;
    let dir = fixture.dir.path();
    let before = sandbox.sandbox.stats();

    let args = [
        "verify",
        "customers.results.csv",
        "--rate",
        "400",
        "--concurrency",
        "16",
    ];
    let out = run(&sandbox, dir, &args).await;

    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let refused = sandbox.sandbox.stats().faults_injected - before.faults_injected;
    assert!(refused > 0, "some reads were refused");
    let report = csv_rows(&dir.join("customers.verify.csv"));
    assert_eq!(report.len(), 300 * 6, "six checks for each of 300 rows");
    let bad: Vec<_> = report.iter().filter(|r| r["result"] != "ok").collect();
    assert!(bad.is_empty(), "{bad:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_deletes_every_row_through_refusals() {
    let sandbox = refusing_sandbox(6).await;
    let fixture = imported(&sandbox, 300).await;
    let dir = fixture.dir.path();
    let before = sandbox.sandbox.stats();

    let args = ["undo", "customers.results.csv", "--yes", "--rate", "400"];
    let out = run(
        &sandbox,
        dir,
        &[&args[..], &["--concurrency", "16"]].concat(),
    )
    .await;

    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let refused = sandbox.sandbox.stats().faults_injected - before.faults_injected;
    assert!(refused > 0, "some deletes were refused");
    let report = csv_rows(&dir.join("customers.undo.csv"));
    assert_eq!(report.len(), 300);
    let failed: Vec<_> = report.iter().filter(|r| r["result"] != "deleted").collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(sandbox.sandbox.stats().organizations, 0);
}

#[tokio::test]
async fn an_import_checks_the_template_and_lists_every_page_through_refusals() {
    // With this seed the template check is refused twice, then the listing's last page.
    let sandbox = start_sandbox(SandboxConfig {
        faults: Faults {
            forbidden_burst_rate: 0.3,
            seed: 2,
            ..Faults::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    sandbox.sandbox.insert_organizations(
        (0..250).map(|i| Organization::new(format!("bulk-{i:03}"), format!("bulk {i:03}"))),
    );
    let fixture = Fixture::new("name\nbulk 000\nbulk 249\nfresh\n");

    let summary = fixture
        .import(&sandbox, &["--max-attempts", "20"])
        .await
        .unwrap();

    assert_eq!(summary.exit_status().code(), 0, "{summary}");
    let stats = sandbox.sandbox.stats();
    assert!(
        stats.faults_injected >= 3,
        "the seed refuses requests: {stats:?}"
    );
    // Had a page been missed, its organization's row would have been created again.
    assert_eq!(stats.creates_committed, 1, "{stats:?}");
    let rows = fixture.results_rows();
    let status: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r["name"].as_str(), r["status"].as_str()))
        .collect();
    assert_eq!(
        status,
        [
            ("bulk 000", "exists"),
            ("bulk 249", "exists"),
            ("fresh", "created")
        ]
    );
    assert_eq!(rows[1]["org_id"], "bulk-249");
}

#[test]
fn ctrl_c_while_the_tenant_is_listed_ends_the_run_and_sends_nothing() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // Fifty-one pages, each answered after 30 ms: the listing takes a second and a half.
    let sandbox = runtime.block_on(start_sandbox(SandboxConfig {
        faults: Faults {
            latency: Duration::from_millis(30),
            ..Faults::default()
        },
        ..SandboxConfig::default()
    }));
    sandbox.sandbox.insert_organizations(
        (0..5000).map(|i| Organization::new(format!("old-{i:04}"), format!("old {i:04}"))),
    );
    let fixture = Fixture::new(&customers(50));

    let mut child = fixture.spawn_import(&sandbox, &["--rate", "1000"]);
    // The template check comes first; a third request is a page of the listing.
    wait_while_running("a page of the listing requested", &mut child, || {
        sandbox.sandbox.stats().api_requests >= 3
    });
    interrupt(&child);
    let out = child.wait_with_output().unwrap();

    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let stats = sandbox.sandbox.stats();
    assert_eq!(stats.create_requests, 0, "{stats:?}");
    assert!(
        stats.api_requests < 52,
        "the listing stopped early: {stats:?}"
    );
    let rows = fixture.results_rows();
    assert_eq!(rows.len(), 50);
    assert!(rows.iter().all(|r| r["status"] == "not_sent"), "{rows:?}");
    assert!(!fixture.journal().exists());
    drop(runtime);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_request_of_every_kind_fails_once_and_every_command_still_ends_well() {
    // The first request of each kind is answered 503, nothing done: the token request, the
    // template check, a list page (a small tenant is listed), a look-up by name (a large one
    // is searched), a read, a create, an update and a delete. Each is tried again and every
    // command ends well, with nothing done twice.
    let sandbox = start_sandbox(SandboxConfig {
        faults: Faults {
            fail_once_at: NonZeroU32::new(1),
            ..Faults::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    sandbox.sandbox.insert_organization(Organization {
        description: "Old".into(),
        ..Organization::new("o-a", "alpha")
    });
    let flags = ["--on-existing", "update"];
    let small = Fixture::new("id,name,description\n,alpha,New\n,beta,New\n");
    let summary = small.import(&sandbox, &flags).await.unwrap();
    assert_eq!(summary.exit_status().code(), 0, "{summary}");
    assert_eq!(
        (
            summary.count(Status::Updated),
            summary.count(Status::Created)
        ),
        (1, 1),
        "{summary}"
    );
    sandbox.sandbox.insert_organizations(
        (0..500).map(|i| Organization::new(format!("pad-{i:03}"), format!("padding {i:03}"))),
    );
    let large = Fixture::new("id,name,description\n,alpha,Newer\n,gamma,New\n");
    let summary = large.import(&sandbox, &flags).await.unwrap();
    assert_eq!(summary.exit_status().code(), 0, "{summary}");
    assert_eq!(
        (
            summary.count(Status::Updated),
            summary.count(Status::Created)
        ),
        (1, 1),
        "{summary}"
    );
    let dir = large.dir.path();
    for args in [
        &["verify", "customers.results.csv"][..],
        &["undo", "customers.results.csv", "--yes"][..],
    ] {
        let out = run(&sandbox, dir, args).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
    let stats = sandbox.sandbox.stats();
    assert_eq!(
        stats.failed_once,
        [
            "token",
            "template",
            "list_page",
            "look_up",
            "read",
            "create",
            "update",
            "delete"
        ],
        "{stats:?}"
    );
    assert_eq!(stats.faults_injected, 8, "each once: {stats:?}");
    // beta and gamma created once each, gamma undone; alpha updated twice, never deleted.
    assert_eq!(stats.creates_committed, 2, "{stats:?}");
    assert_eq!(stats.updates_committed, 2, "{stats:?}");
    assert_eq!(stats.organizations, 502, "{stats:?}");
    assert!(sandbox.sandbox.organization("o-a").is_some());
    assert_eq!(
        sandbox.sandbox.organization("o-a").unwrap().description,
        "Newer"
    );
}

#[test]
fn ctrl_c_while_rows_wait_to_retry_after_a_429_leaves_them_not_sent() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // Ten requests per 10 s window, one more blocks the rest of it and the next: sent at
    // fifty a second, the rows after the tenth are refused and wait seconds to be sent again.
    let sandbox = runtime.block_on(start_sandbox(SandboxConfig {
        rate_limit: Some(RateLimit {
            per_second: NonZeroU32::new(1).unwrap(),
            burst: NonZeroU32::new(1).unwrap(),
        }),
        rate_limit_mode: RateLimitMode::BlockingWindow,
        rate_limit_window: Duration::from_secs(10),
        ..SandboxConfig::default()
    }));
    let fixture = Fixture::new(&customers(40));

    let mut child = fixture.spawn_import(&sandbox, &["--rate", "50", "--max-attempts", "50"]);
    wait_while_running("rows refused", &mut child, || {
        sandbox.sandbox.stats().rate_limited >= 1
    });
    // The refused rows' answers are read and their waits begun.
    std::thread::sleep(Duration::from_millis(500));
    interrupt(&child);
    let out = child.wait_with_output().unwrap();

    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let rows = fixture.results_rows();
    assert_eq!(rows.len(), 40);
    let created = rows.iter().filter(|r| r["status"] == "created").count() as u64;
    assert_eq!(
        created,
        sandbox.sandbox.stats().creates_committed,
        "{rows:?}"
    );
    // Every row not created was refused or never sent: none was created, none failed.
    assert!(
        rows.iter()
            .all(|r| r["status"] == "created" || r["status"] == "not_sent"),
        "{rows:?}"
    );
    let refused = rows
        .iter()
        .filter(|r| r["status"] == "not_sent" && r["error"].contains("429"))
        .count();
    assert!(refused > 0, "some rows waited after a 429: {rows:?}");
    drop(runtime);
}
