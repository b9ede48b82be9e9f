//! Exactly once under faults: a chaos run, SIGKILL mid-run and Ctrl-C, each checked against
//! what the sandbox committed. The chaos run and the SIGKILLs are also run against a sandbox
//! that ignores `X-Idempotency-Key`: exactly once must not rest on the server honouring it.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use orgimport::record::Status;
use orgimport::sandbox::{Faults, RateLimit, SandboxConfig};

use crate::fixture::{Fixture, customers, interrupt};
use crate::util::{TestSandbox, start_sandbox, wait_while_running};

/// Checks that every row of the fixture's results is `created` or `exists`, that its org id
/// is the organization the sandbox holds under the row's name, and that the sandbox committed
/// exactly one create per name.
pub(crate) fn assert_exactly_once(fixture: &Fixture, sandbox: &TestSandbox, rows: usize) {
    let results = fixture.results_rows();
    assert_eq!(results.len(), rows, "every row once in the results");
    let commits = sandbox.sandbox.commits_by_name();
    let ids_by_name: HashMap<String, String> = sandbox
        .sandbox
        .organizations()
        .into_iter()
        .filter(|o| !o.template)
        .map(|o| (o.name.clone(), o.id.clone()))
        .collect();
    for row in &results {
        let name = &row["name"];
        assert!(
            row["status"] == "created" || row["status"] == "exists",
            "{name}: {row:?}"
        );
        assert_eq!(commits.get(name), Some(&1), "{name} was committed once");
        assert_eq!(
            Some(&row["org_id"]),
            ids_by_name.get(name),
            "{name}: {row:?}"
        );
    }
    assert_eq!(sandbox.sandbox.stats().creates_committed, rows as u64);
    let journal = fixture.journal();
    assert!(
        !journal.exists(),
        "the journal is removed after a complete run"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chaos_run_creates_every_row_exactly_once() {
    chaos_run(2000, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chaos_run_creates_every_row_exactly_once_when_the_server_ignores_idempotency_keys() {
    let sandbox = chaos_run(800, true).await;
    assert_eq!(sandbox.sandbox.stats().idempotent_replays, 0);
}

/// Imports `rows` customers into a sandbox that fails about a tenth of the creates (half of
/// them after committing), refuses bursts, limits the rate and expires tokens every two
/// seconds, and ignores idempotency keys if `ignore_keys`; a rerun finishes what the first
/// run could not. Every row must be created exactly once.
async fn chaos_run(rows: usize, ignore_keys: bool) -> TestSandbox {
    let sandbox = start_sandbox(SandboxConfig {
        token_lifetime: Duration::from_secs(2),
        rate_limit: Some(RateLimit {
            per_second: NonZeroU32::new(400).unwrap(),
            // Below the 32 workers' first creates, sent at once (--burst 32): the limit is hit
            // however slowly the machine runs the test.
            burst: NonZeroU32::new(10).unwrap(),
        }),
        faults: Faults {
            seed: 42,
            error_rate: 0.05,
            commit_then_fail_rate: 0.05,
            forbidden_burst_rate: 0.01,
            ..Faults::default()
        },
        ignore_idempotency_keys: ignore_keys,
        ..SandboxConfig::default()
    })
    .await;
    let fixture = Fixture::new(&customers(rows));
    let flags = [
        "--rate",
        "600",
        "--concurrency",
        "32",
        "--burst",
        "32",
        "--max-attempts",
        "10",
        "--timeout",
        "5s",
    ];

    let first = import_within(&fixture, &sandbox, &flags, "the first run").await;
    // Whatever the first run could not finish, a rerun does.
    if first.exit_status().code() != 0 {
        let second = import_within(&fixture, &sandbox, &flags, "the rerun").await;
        assert_eq!(second.exit_status().code(), 0, "{second}");
    }
    let stats = sandbox.sandbox.stats();
    // The faults the dice should have drawn for the requests the sandbox saw: a 403 burst for
    // 1 % of the requests past its rate limit, a 5xx before commit for 5 % of the creates it
    // processed, a failed reply for 5 % of those it committed. Counted over both runs (the
    // first may stop early on a run of failures), against the requests seen rather than the
    // rows, it does not depend on how the runs were scheduled; half of it is many deviations
    // below.
    let expected = 0.01 * (stats.api_requests - stats.rate_limited) as f64
        + 0.05 * (stats.create_requests - stats.idempotent_replays) as f64
        + 0.05 * stats.creates_committed as f64;
    assert!(
        stats.faults_injected as f64 >= expected / 2.0 && stats.faults_injected > 0,
        "faults were injected (about {expected:.0} expected): {stats:?}"
    );
    assert!(
        stats.rate_limited > 0,
        "the tenant's limit was hit: {stats:?}"
    );
    assert!(
        stats.tokens_issued > 1,
        "the token was refreshed: {stats:?}"
    );
    assert_exactly_once(&fixture, &sandbox, rows);
    sandbox
}

/// How long one import of a chaos run may take: a few seconds unloaded, minutes on a loaded
/// machine; beyond this it is stuck.
const CHAOS_RUN_LIMIT: Duration = Duration::from_secs(600);

/// `fixture.import(sandbox, flags)`, failing the test with what the sandbox saw if it has not
/// finished within [`CHAOS_RUN_LIMIT`] (`what`: which run it is): a stuck run must fail the
/// suite, not hang it.
async fn import_within(
    fixture: &Fixture,
    sandbox: &TestSandbox,
    flags: &[&str],
    what: &str,
) -> orgimport::report::summary::Summary {
    match tokio::time::timeout(CHAOS_RUN_LIMIT, fixture.import(sandbox, flags)).await {
        Ok(summary) => summary.unwrap(),
        Err(_) => panic!(
            "{what} did not finish within {CHAOS_RUN_LIMIT:?}; the sandbox saw: {:?}",
            sandbox.sandbox.stats()
        ),
    }
}

/// A sandbox with a little latency (and some faults, if `faulty`), in a runtime of its own
/// so that a synchronous test can run the binary beside it.
/// `ignore_keys`: the sandbox ignores `X-Idempotency-Key`.
fn slow_sandbox(runtime: &tokio::runtime::Runtime, faulty: bool, ignore_keys: bool) -> TestSandbox {
    let rate = if faulty { 0.02 } else { 0.0 };
    runtime.block_on(start_sandbox(SandboxConfig {
        faults: Faults {
            seed: 9,
            latency: Duration::from_millis(5),
            latency_jitter: Duration::from_millis(10),
            error_rate: rate,
            commit_then_fail_rate: rate,
            ..Faults::default()
        },
        ignore_idempotency_keys: ignore_keys,
        ..SandboxConfig::default()
    }))
}

#[test]
fn sigkill_mid_run_twice_then_a_rerun_creates_every_row_exactly_once() {
    sigkill_twice_then_rerun(1200, false);
}

#[test]
fn sigkill_mid_run_twice_then_a_rerun_creates_every_row_exactly_once_when_the_server_ignores_idempotency_keys()
 {
    sigkill_twice_then_rerun(800, true);
}

/// Imports `rows` customers into a slow, faulty sandbox (ignoring idempotency keys if
/// `ignore_keys`), kills the import twice mid-run and reruns it: every row must be created
/// exactly once.
fn sigkill_twice_then_rerun(rows: usize, ignore_keys: bool) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sandbox = slow_sandbox(&runtime, true, ignore_keys);
    let fixture = Fixture::new(&customers(rows));
    let flags = [
        "--rate",
        "300",
        "--concurrency",
        "16",
        "--max-attempts",
        "10",
    ];

    for kill_after in [Duration::from_millis(1200), Duration::from_millis(900)] {
        let before = sandbox.sandbox.stats().creates_committed;
        let mut child = fixture.spawn_import(&sandbox, &flags);
        let started = Instant::now();
        // Kill once the run is under way: some creates are committed, it has not finished.
        wait_while_running("the run under way, before the kill", &mut child, || {
            started.elapsed() >= kill_after && sandbox.sandbox.stats().creates_committed != before
        });
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        assert!(
            fixture.journal().exists(),
            "the killed run left its journal"
        );
    }
    let committed_before_rerun = sandbox.sandbox.stats().creates_committed;
    assert!(committed_before_rerun > 0 && committed_before_rerun < rows as u64);

    let out = fixture
        .spawn_import(&sandbox, &flags)
        .wait_with_output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_exactly_once(&fixture, &sandbox, rows);
    drop(runtime);
}

#[test]
fn ctrl_c_finishes_the_rows_in_flight_and_writes_complete_results() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // No faults: every committed create is then a `created` row, which the test checks.
    let sandbox = slow_sandbox(&runtime, false, false);
    let fixture = Fixture::new(&customers(1000));
    let flags = ["--rate", "100", "--concurrency", "8"];

    let mut child = fixture.spawn_import(&sandbox, &flags);
    wait_while_running("50 creates committed", &mut child, || {
        sandbox.sandbox.stats().creates_committed >= 50
    });
    interrupt(&child);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");

    let results = fixture.results_rows();
    assert_eq!(results.len(), 1000, "every row once in the results");
    let mut by_status: HashMap<String, u64> = HashMap::new();
    for row in &results {
        *by_status.entry(row["status"].clone()).or_default() += 1;
    }
    let created = by_status
        .get(Status::Created.as_str())
        .copied()
        .unwrap_or(0);
    assert_eq!(
        created,
        sandbox.sandbox.stats().creates_committed,
        "{by_status:?}"
    );
    assert!(
        by_status
            .get(Status::NotSent.as_str())
            .copied()
            .unwrap_or(0)
            > 0,
        "{by_status:?}"
    );
    assert!(!fixture.journal().exists());

    // Rerunning finishes the job.
    let out = fixture
        .spawn_import(&sandbox, &["--rate", "1000", "--concurrency", "8"])
        .wait_with_output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_exactly_once(&fixture, &sandbox, 1000);
    drop(runtime);
}

#[tokio::test]
async fn an_unknown_template_stops_before_any_create() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(&customers(5));
    let secret = sandbox.secret();
    let mut args = fixture.args(&sandbox, &secret, &[]);
    let template = args.iter().position(|a| a == "--template-id").unwrap() + 1;
    args[template] = "no-such-template".into();

    let error = crate::fixture::import_with(args).await.unwrap_err();

    assert!(
        error
            .to_string()
            .contains("\"no-such-template\" does not exist"),
        "{error}"
    );
    assert_eq!(sandbox.sandbox.stats().create_requests, 0);
}

#[tokio::test]
async fn many_rows_failing_the_same_way_stop_the_run() {
    // Every create fails before commit: the cause is the tenant, not the rows.
    let sandbox = start_sandbox(SandboxConfig {
        faults: Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    let fixture = Fixture::new(&customers(200));

    let summary = fixture
        .import(&sandbox, &["--rate", "1000", "--max-attempts", "1"])
        .await
        .unwrap();

    let fatal = summary.fatal.as_ref().expect("the run stopped").to_string();
    assert!(fatal.contains("the last 20 rows all failed"), "{fatal}");
    assert_eq!(summary.exit_status().code(), 2);
    assert!(summary.count(Status::NotSent) > 0, "{summary}");
    assert!(
        sandbox.sandbox.stats().create_requests < 200,
        "the rest were not sent"
    );
    let results = fixture.results_rows();
    assert_eq!(results.len(), 200);
    let not_sent = results.iter().find(|r| r["status"] == "not_sent").unwrap();
    assert!(not_sent["error"].contains("rerun"), "{not_sent:?}");
}

#[tokio::test]
async fn a_run_whose_every_row_went_out_is_not_stopped_for_the_rest() {
    // Twenty rows, one at a time, every create failing: the twentieth failure leaves no row
    // unsent, so there is no "rest" to save by stopping; each row says what became of it.
    let sandbox = start_sandbox(SandboxConfig {
        faults: Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    let fixture = Fixture::new(&customers(20));
    let summary = fixture
        .import(
            &sandbox,
            &[
                "--rate",
                "1000",
                "--max-attempts",
                "1",
                "--concurrency",
                "1",
            ],
        )
        .await
        .unwrap();
    assert!(summary.fatal.is_none(), "{summary}");
    // A 5xx may have come after the commit: each row is unconfirmed, looked up next run.
    assert_eq!(summary.count(Status::Unconfirmed), 20, "{summary}");
    assert_eq!(summary.exit_status().code(), 1);
}
