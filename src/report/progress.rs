//! What the user watches: an indicatif bar on a terminal, plain log lines otherwise, and the
//! end-of-run summary.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use std::collections::BTreeMap;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::watch;

use super::live::{self, Counters, Publisher, RunProgress};
use super::requests::RequestCount;
use crate::api::Throttle;
use crate::record::Status;

/// How often plain progress lines are logged when stderr is not a terminal.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// The bar on screen, if any, so that log lines are printed above it instead of through it.
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Makes `bar` the one on screen (or none), so that log lines are printed above it.
pub(super) fn set_active(bar: Option<ProgressBar>) {
    *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = bar;
}

/// Where tracing writes: stderr, with the progress bar (if one is drawn) lifted out of the
/// way while a line is written.
#[derive(Debug, Default)]
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let bar = ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match bar {
            Some(bar) => bar.suspend(|| std::io::stderr().write_all(buf))?,
            None => std::io::stderr().write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Progress of the rows being sent; owned by the results task.
pub struct Progress {
    /// The bar, when stderr is a terminal and output is not quiet.
    bar: Option<ProgressBar>,
    /// Rows to send this run.
    total: u64,
    /// Rows finished this run.
    done: u64,
    /// Failed rows this run.
    failed: u64,
    /// Rows that ended `unconfirmed` (may have been created; looked up on the next run).
    unconfirmed: u64,
    /// Rows whose first request went out this run.
    started: u64,
    /// Requests sent this run, retries included, when the run counts them.
    requests: Option<Arc<RequestCount>>,
    /// The shared pace, when the run shows it.
    pace: Option<Arc<Throttle>>,
    /// When sending started, for rates.
    started_at: Instant,
    /// When a plain line was last logged.
    last_log: Instant,
    /// No output but errors.
    quiet: bool,
    /// Rows finished this run, by status, for the published snapshots.
    by_status: BTreeMap<&'static str, u64>,
    /// Where snapshots of the progress are published, when someone watches.
    live: Option<Publisher>,
}

impl Progress {
    /// Progress over `total` rows to send; a bar only if stderr is a terminal.
    pub fn new(total: u64, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal() && total > 0).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{elapsed_precise} [{wide_bar}] {pos}/{len} rows  {rate}  eta {eta}  {msg}",
                )
                .expect("the template is valid")
                .with_key(
                    "rate",
                    |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{:.1}/s", state.per_sec());
                    },
                )
                .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar.clone());
            bar
        });
        Progress {
            bar,
            total,
            done: 0,
            failed: 0,
            unconfirmed: 0,
            started: 0,
            requests: None,
            pace: None,
            started_at: Instant::now(),
            last_log: Instant::now(),
            quiet,
            by_status: BTreeMap::new(),
            live: None,
        }
    }

    /// Publishes snapshots of the progress to `to` as well ([`Progress::publish`]).
    pub fn publish_to(&mut self, to: Arc<watch::Sender<RunProgress>>) {
        self.live = Some(Publisher::new(to));
        self.publish(true);
    }

    /// Publishes a snapshot, if one is published and the last is old enough (or `force`).
    pub fn publish(&mut self, force: bool) {
        let Some(live) = self.live.as_mut() else {
            return;
        };
        let pace = self.pace.as_ref();
        let counters = Counters {
            total: self.total,
            done: self.done,
            counts: &self.by_status,
            requests: self.requests.as_ref().map_or(0, |r| r.all()),
            refused: pace.map_or(0, |p| p.refused()),
            replies: pace.map_or((0, Duration::ZERO), |p| p.replies()),
            since: self.started_at,
        };
        live.publish(&counters, force);
    }

    /// Shows retries: `requests` counts every request sent, retries included.
    pub fn count_requests(&mut self, requests: Arc<RequestCount>) {
        self.requests = Some(requests);
    }

    /// Shows the pace (once the run slowed down, or found its rate with `--rate auto`).
    pub fn show_pace(&mut self, pace: Arc<Throttle>) {
        self.pace = Some(pace);
    }

    /// Rows to send this run whose first request has not gone out yet.
    pub fn rows_not_started(&self) -> u64 {
        self.total.saturating_sub(self.started)
    }

    /// A row's first request is about to be sent.
    pub fn row_sending(&mut self) {
        self.started += 1;
    }

    /// Requests sent beyond each row's first, look-ups not counted.
    fn retries(&self) -> u64 {
        self.requests
            .as_ref()
            .map(|r| r.retries(self.started))
            .unwrap_or(0)
    }

    /// One row finished with `status`.
    pub fn row_done(&mut self, status: Status) {
        self.done += 1;
        live::count(&mut self.by_status, status);
        match status {
            Status::Failed => self.failed += 1,
            Status::Unconfirmed => self.unconfirmed += 1,
            _ => {}
        }
        let unconfirmed = match self.unconfirmed {
            0 => String::new(),
            n => format!(", {n} unconfirmed"),
        };
        let pace = match self.pace.as_ref().and_then(|p| p.shown()) {
            Some(pace) => format!(", {pace}"),
            None => String::new(),
        };
        let counts = format!(
            "{} failed{unconfirmed}, {} retries{pace}",
            self.failed,
            self.retries()
        );
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                bar.set_message(counts);
            }
            None if !self.quiet && self.last_log.elapsed() >= LOG_EVERY => {
                self.last_log = Instant::now();
                let elapsed = self.started_at.elapsed().as_secs_f64().max(1e-9);
                let rate = self.done as f64 / elapsed;
                let left = self.total.saturating_sub(self.done) as f64 / rate.max(1e-9);
                eprintln!(
                    "progress: {}/{} rows done ({rate:.1}/s, eta {}s), {counts}",
                    self.done,
                    self.total,
                    left.round()
                );
            }
            None => {}
        }
    }

    /// Prints a line above the bar (or plainly).
    pub fn println(&self, line: &str) {
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    /// Removes the bar, and publishes the last snapshot.
    pub fn finish(&mut self) {
        self.publish(true);
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
            *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
    }
}
