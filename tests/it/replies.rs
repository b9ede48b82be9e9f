//! A create's reply is a claim to check, and an unanswered create is a create that may have
//! happened: a replay naming an organization since deleted, a 201 under another id than the
//! one asked for, timeouts on creates that committed, each against the sandbox over HTTP.

use std::collections::HashMap;
use std::time::Duration;

use orgimport::record::Status;
use orgimport::sandbox::{Faults, SandboxConfig};

use crate::faults::assert_exactly_once;
use crate::fixture::{Fixture, customers};
use crate::ops::{bin_for, run, text};
use crate::util::{TestSandbox, start_sandbox};

/// The sandbox's organizations (not templates) by name: their ids.
fn ids_by_name(sandbox: &TestSandbox) -> HashMap<String, String> {
    sandbox
        .sandbox
        .organizations()
        .into_iter()
        .filter(|o| !o.template)
        .map(|o| (o.name, o.id))
        .collect()
}

/// Runs `undo --yes` on the fixture's results: every organization it lists is deleted.
async fn undo(sandbox: &TestSandbox, fixture: &Fixture) {
    let dir = fixture.dir.path();
    let out = run(
        bin_for(sandbox, dir),
        &["undo", "customers.results.csv", "--yes"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_undone_and_run_again_at_once_creates_every_row_again() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(&customers(12));
    let first = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    assert_eq!(first.count(Status::Created), 12, "{first}");
    let first_ids = ids_by_name(&sandbox);
    undo(&sandbox, &fixture).await;
    assert_eq!(sandbox.sandbox.stats().organizations, 0);

    // Within the server's replay memory: every row's first create is replayed, naming an
    // organization that no longer exists.
    let again = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();

    assert_eq!(again.exit_status().code(), 0, "{again}");
    let stats = sandbox.sandbox.stats();
    assert_eq!(stats.idempotent_replays, 12, "{stats:?}");
    assert_eq!(stats.organizations, 12, "{stats:?}");
    let ids = ids_by_name(&sandbox);
    let commits = sandbox.sandbox.commits_by_name();
    for row in fixture.results_rows() {
        let name = &row["name"];
        assert_eq!(row["status"], "created", "{row:?}");
        assert_eq!(Some(&row["org_id"]), ids.get(name), "{row:?}");
        assert_eq!(commits[name], 2, "{name}: once by each import");
        if row["id"].is_empty() {
            assert_ne!(ids[name], first_ids[name], "{name}: a new organization");
        } else {
            assert_eq!(row["org_id"], row["id"], "{row:?}");
        }
    }

    // And the rerun after that has nothing left to do.
    let rerun = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    assert_eq!(rerun.sent, 0, "{rerun}");
    assert_eq!(sandbox.sandbox.stats().creates_committed, 24);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_201_under_another_id_names_both_ids_and_stays_undoable() {
    let sandbox = start_sandbox(SandboxConfig {
        assign_own_ids: true,
        ..SandboxConfig::default()
    })
    .await;
    // Rows 0 and 4 ask for the ids cust-00000 and cust-00004.
    let fixture = Fixture::new(&customers(8));

    let summary = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();

    assert_eq!(summary.count(Status::Created), 8, "{summary}");
    let ids = ids_by_name(&sandbox);
    for row in fixture.results_rows() {
        let (asked, got) = (&row["id"], &row["org_id"]);
        assert_eq!(row["status"], "created", "{row:?}");
        assert_eq!(Some(got), ids.get(&row["name"]), "{row:?}");
        if asked.is_empty() {
            assert_eq!(row["error"], "", "{row:?}");
        } else {
            assert_ne!(got, asked);
            assert_eq!(
                row["error"],
                format!(
                    "the API created the organization under id {got:?}, not under the id \
                     {asked:?} the row asked for"
                ),
            );
        }
    }
    undo(&sandbox, &fixture).await;
    assert_eq!(
        sandbox.sandbox.stats().organizations,
        0,
        "undo deleted them"
    );
}

#[tokio::test]
async fn creates_that_committed_but_timed_out_end_unconfirmed_never_failed() {
    // Every create commits, then holds its reply past the client's timeout.
    let sandbox = start_sandbox(SandboxConfig {
        faults: Faults {
            slow_commit_rate: 1.0,
            slow_commit_delay: Duration::from_millis(800),
            ..Faults::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    let fixture = Fixture::new(&customers(3));

    let summary = fixture
        .import(&sandbox, &["--timeout", "200ms", "--max-attempts", "1"])
        .await
        .unwrap();

    assert_eq!(summary.count(Status::Unconfirmed), 3, "{summary}");
    assert_eq!(summary.exit_status().code(), 1);
    let commits = sandbox.sandbox.commits_by_name();
    for row in fixture.results_rows() {
        assert_eq!(row["status"], "unconfirmed", "{row:?}");
        assert!(
            row["error"].starts_with("may have been created, but no answer confirmed it; the next run looks for it before sending it again (last error: timed out"),
            "{row:?}"
        );
        assert_eq!(commits[&row["name"]], 1, "it was created: {row:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_commits_behind_a_tight_limiter_are_created_once_when_keys_are_ignored() {
    // A third of the creates commit and answer after the client gave up on them; the client's
    // limiter holds each retry back; the server ignores idempotency keys, so only a look-up
    // before each resend keeps the rows single.
    let sandbox = start_sandbox(SandboxConfig {
        ignore_idempotency_keys: true,
        faults: Faults {
            seed: 3,
            slow_commit_rate: 0.3,
            slow_commit_delay: Duration::from_millis(600),
            ..Faults::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    let fixture = Fixture::new(&customers(60));
    let flags = [
        "--timeout",
        "300ms",
        "--rate",
        "40",
        "--concurrency",
        "32",
        "--max-attempts",
        "10",
    ];

    let summary = fixture.import(&sandbox, &flags).await.unwrap();

    assert_eq!(summary.exit_status().code(), 0, "{summary}");
    let stats = sandbox.sandbox.stats();
    assert!(stats.faults_injected > 5, "{stats:?}");
    assert_exactly_once(&fixture, &sandbox, 60);
}
