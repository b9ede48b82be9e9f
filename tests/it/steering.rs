//! An import steered from outside, as the console steers it: paused (no new row is sent, rows
//! in flight finish) and resumed, stopped while paused (results and journal as the CLI leaves
//! them, finished by `orgimport import`), and its progress published while it runs.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use orgimport::commands::import::{run_opened, steps};
use orgimport::record::Status;
use orgimport::report::live::{Phase, RunProgress};
use orgimport::report::summary::Summary;
use orgimport::sandbox::{Faults, RateLimit, SandboxConfig};
use orgimport::send::RunControl;
use orgimport::settings::{ImportSettings, Settings};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::fixture::{Fixture, customers, resolve};
use crate::util::{TestSandbox, start_sandbox};

/// A sandbox whose every reply takes `latency`.
async fn slow_sandbox(latency: Duration) -> TestSandbox {
    start_sandbox(SandboxConfig {
        faults: Faults {
            latency,
            ..Faults::default()
        },
        ..SandboxConfig::default()
    })
    .await
}

/// The import settings of `fixture` against `sandbox`, with `extra` flags.
fn settings(fixture: &Fixture, sandbox: &TestSandbox, extra: &[&str]) -> ImportSettings {
    let Settings::Import(settings) =
        resolve(fixture.args(sandbox, &sandbox.secret(), extra)).expect("settings")
    else {
        panic!("not an import")
    };
    settings
}

/// Opens the import as the console does and runs it in a task, steered by `control`.
async fn start(settings: ImportSettings, control: &RunControl) -> JoinHandle<Summary> {
    let opened = steps::open(&settings).await.expect("opened");
    let control = control.clone();
    tokio::spawn(async move { run_opened(settings, opened, &control).await.expect("ran") })
}

/// Waits (at most 20 s) until the published progress satisfies `ready`.
async fn wait_for(
    progress: &mut watch::Receiver<RunProgress>,
    ready: impl Fn(&RunProgress) -> bool,
) {
    let waited = tokio::time::timeout(Duration::from_secs(20), progress.wait_for(|p| ready(p)));
    waited
        .await
        .expect("in time")
        .expect("the run is still there");
}

#[tokio::test]
async fn a_paused_run_sends_no_new_row_until_it_is_resumed() {
    let sandbox = slow_sandbox(Duration::from_millis(20)).await;
    let fixture = Fixture::new(&customers(200));
    let config = settings(
        &fixture,
        &sandbox,
        &["--rate", "1000", "--concurrency", "4"],
    );
    let control = RunControl::new();
    let mut progress = control.progress();
    let run = start(config, &control).await;

    wait_for(&mut progress, |p| p.phase == Phase::Sending && p.done >= 10).await;
    control.pause();
    // The rows in flight finish; then nothing more is created while paused.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let paused_at = sandbox.sandbox.stats().creates_committed;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        sandbox.sandbox.stats().creates_committed,
        paused_at,
        "a create was sent while paused"
    );
    assert!(
        paused_at < 200,
        "the run finished before the pause: {paused_at}"
    );
    assert!(progress.borrow().paused);
    assert!(!run.is_finished());

    control.resume();
    let summary = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("finished in time")
        .unwrap();
    assert_eq!(summary.count(Status::Created), 200, "{summary}");
    assert_eq!(sandbox.sandbox.stats().creates_committed, 200);
    assert!(sandbox.sandbox.commits_by_name().values().all(|&n| n == 1));
    assert!(!fixture.journal().exists());
}

#[tokio::test]
async fn a_run_stopped_while_paused_leaves_results_the_cli_finishes() {
    let sandbox = slow_sandbox(Duration::from_millis(20)).await;
    let fixture = Fixture::new(&customers(200));
    let config = settings(
        &fixture,
        &sandbox,
        &["--rate", "1000", "--concurrency", "4"],
    );
    let control = RunControl::new();
    let mut progress = control.progress();
    let run = start(config, &control).await;

    wait_for(&mut progress, |p| p.phase == Phase::Sending && p.done >= 10).await;
    control.pause();
    tokio::time::sleep(Duration::from_millis(300)).await;
    control.stop.set();
    let summary = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("a stop while paused ends the run")
        .unwrap();

    assert!(summary.interrupted, "{summary:?}");
    let created = summary.count(Status::Created);
    assert!((10..200).contains(&created), "{summary}");
    assert_eq!(summary.count(Status::NotSent), 200 - created, "{summary}");
    let rows = fixture.results_rows();
    assert_eq!(rows.len(), 200, "every row is in the results file");
    assert!(!fixture.journal().exists(), "the results were written");

    // `orgimport import` finishes what the steered run left, creating nothing twice.
    let rerun = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    assert_eq!(rerun.done_before as u64, created, "{rerun}");
    assert_eq!(rerun.count(Status::Created), 200, "{rerun}");
    assert_eq!(sandbox.sandbox.stats().creates_committed, 200);
    assert!(sandbox.sandbox.commits_by_name().values().all(|&n| n == 1));
}

#[tokio::test]
async fn the_progress_is_published_while_the_run_goes_on_at_most_five_times_a_second() {
    let limit = NonZeroU32::new(50).unwrap();
    let sandbox = start_sandbox(SandboxConfig {
        rate_limit: Some(RateLimit {
            per_second: limit,
            burst: limit,
        }),
        ..SandboxConfig::default()
    })
    .await;
    let fixture = Fixture::new(&customers(150));
    // Above the tenant's limit: some answers are 429.
    let config = settings(&fixture, &sandbox, &["--rate", "200", "--concurrency", "8"]);
    let control = RunControl::new();
    let mut progress = control.progress();
    let run = start(config, &control).await;

    let started = Instant::now();
    let mut seen: Vec<RunProgress> = Vec::new();
    while tokio::time::timeout(Duration::from_secs(20), progress.changed())
        .await
        .expect("a snapshot in time")
        .is_ok()
    {
        let now = progress.borrow_and_update().clone();
        let finished = now.phase == Phase::Finished || now.phase == Phase::Writing;
        seen.push(now);
        if finished {
            break;
        }
    }
    let elapsed = started.elapsed();
    let summary = run.await.unwrap();
    assert_eq!(summary.count(Status::Created), 150, "{summary}");

    let sending: Vec<_> = seen.iter().filter(|p| p.phase == Phase::Sending).collect();
    // The last snapshot of the send may be seen only with the next phase set.
    let last = seen.last().expect("snapshots");
    assert_eq!((last.total, last.done), (150, 150), "{last:?}");
    assert_eq!(last.counts.get("created"), Some(&150), "{last:?}");
    assert_eq!(last.requests, summary.requests, "{last:?}");
    assert_eq!(last.refused, summary.pace.refused, "{last:?}");
    assert!(last.refused > 0, "the tenant answered 429: {last:?}");
    assert!(sending.iter().any(|p| p.per_second > 0.0), "{sending:?}");
    assert!(sending.iter().any(|p| p.reply_ms.is_some()), "{sending:?}");
    let partial = sending
        .iter()
        .filter(|p| p.done > 0 && p.done < 150)
        .count();
    assert!(
        partial >= 2,
        "the progress came as the rows went: {sending:?}"
    );
    // At most five a second (and a few for the phases and the last one).
    let most = (elapsed.as_secs_f64() * 5.0).ceil() as usize + 6;
    assert!(
        seen.len() <= most,
        "{} snapshots in {elapsed:?}",
        seen.len()
    );
}
