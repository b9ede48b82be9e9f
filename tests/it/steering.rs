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

/// A run of 200 rows (20 ms a reply, 4 workers) paused once it has sent 10.
struct Paused {
    sandbox: TestSandbox,
    fixture: Fixture,
    control: RunControl,
    progress: watch::Receiver<RunProgress>,
    run: JoinHandle<Summary>,
}

/// Starts the run of [`Paused`] and pauses it once it has sent 10 rows.
async fn paused_mid_run() -> Paused {
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
    Paused {
        sandbox,
        fixture,
        control,
        progress,
        run,
    }
}

#[tokio::test]
async fn a_paused_run_sends_no_new_row_until_it_is_resumed() {
    let Paused {
        sandbox,
        fixture,
        control,
        progress,
        run,
    } = paused_mid_run().await;
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

/// At a low rate, the rows the workers took wait for their turn at the rate limiter, not on
/// the network: a pause holds them, and a stop ends them unsent without waiting the turns out.
#[tokio::test]
async fn a_pause_holds_the_rows_waiting_for_their_turn_at_a_low_rate() {
    let sandbox = slow_sandbox(Duration::from_millis(10)).await;
    let fixture = Fixture::new(&customers(60));
    let config = settings(&fixture, &sandbox, &["--rate", "10", "--concurrency", "8"]);
    let control = RunControl::new();
    let mut progress = control.progress();
    let run = start(config, &control).await;

    wait_for(&mut progress, |p| p.phase == Phase::Sending && p.done >= 5).await;
    control.pause();
    assert!(progress.borrow().paused, "the pause is acknowledged");
    // Only a request that had left may still arrive (a reply takes 10 ms).
    tokio::time::sleep(Duration::from_millis(150)).await;
    let paused_at = sandbox.sandbox.stats().create_requests;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let later = sandbox.sandbox.stats().create_requests;
    assert_eq!(
        later,
        paused_at,
        "{} creates were sent while paused",
        later - paused_at
    );

    // A stop while paused (and the turns booked for the held rows) ends the run at once.
    let stopped = Instant::now();
    control.stop.set();
    let summary = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("ended")
        .unwrap();
    assert!(
        stopped.elapsed() < Duration::from_millis(800),
        "the stop waited {:?}",
        stopped.elapsed()
    );
    assert_eq!(sandbox.sandbox.stats().create_requests, paused_at);
    let created = summary.count(Status::Created);
    assert_eq!(created, paused_at, "{summary}");
    assert_eq!(summary.count(Status::NotSent), 60 - created, "{summary}");

    // `orgimport import` finishes the run, creating nothing twice.
    let rerun = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    assert_eq!(rerun.count(Status::Created), 60, "{rerun}");
    assert!(sandbox.sandbox.commits_by_name().values().all(|&n| n == 1));
}

/// A stop while the rows wait for their turn at a very low rate ends the run without waiting
/// the turns out, and sends none of them.
#[tokio::test]
async fn a_stop_does_not_wait_out_the_turns_of_rows_not_sent() {
    let sandbox = slow_sandbox(Duration::from_millis(10)).await;
    let fixture = Fixture::new(&customers(20));
    let config = settings(&fixture, &sandbox, &["--rate", "1", "--concurrency", "6"]);
    let control = RunControl::new();
    let mut progress = control.progress();
    let run = start(config, &control).await;

    wait_for(&mut progress, |p| p.phase == Phase::Sending && p.done >= 1).await;
    let stopped = Instant::now();
    let before = sandbox.sandbox.stats().create_requests;
    control.stop.set();
    let summary = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("ended")
        .unwrap();
    assert!(
        stopped.elapsed() < Duration::from_millis(900),
        "the stop waited {:?} for the turns",
        stopped.elapsed()
    );
    // A request in the air when the stop came may still arrive; no other.
    assert!(
        sandbox.sandbox.stats().create_requests <= before + 1,
        "{summary}"
    );
    assert!(summary.interrupted, "{summary:?}");
    let created = summary.count(Status::Created);
    assert_eq!(summary.count(Status::NotSent), 20 - created, "{summary}");
}

#[tokio::test]
async fn a_run_stopped_while_paused_leaves_results_the_cli_finishes() {
    let Paused {
        sandbox,
        fixture,
        control,
        progress: _progress,
        run,
    } = paused_mid_run().await;
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
