//! What the user watches: an indicatif bar on a terminal, plain log lines otherwise, and the
//! end-of-run summary.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::results::Status;

/// How often plain progress lines are logged when stderr is not a terminal.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// The bar on screen, if any, so that log lines are printed above it instead of through it.
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

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
    /// When sending started, for rates.
    started: Instant,
    /// When a plain line was last logged.
    last_log: Instant,
    /// No output but errors.
    quiet: bool,
}

impl Progress {
    /// Progress over `total` rows to send; a bar only if stderr is a terminal.
    pub fn new(total: u64, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal() && total > 0).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{elapsed_precise} [{wide_bar}] {pos}/{len} rows  {per_sec}  eta {eta}  {msg}",
                )
                .expect("the template is valid")
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
            started: Instant::now(),
            last_log: Instant::now(),
            quiet,
        }
    }

    /// One row finished with `status`.
    pub fn row_done(&mut self, status: Status) {
        self.done += 1;
        if status == Status::Failed {
            self.failed += 1;
        }
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                if status == Status::Failed {
                    bar.set_message(format!("{} failed", self.failed));
                }
            }
            None if !self.quiet && self.last_log.elapsed() >= LOG_EVERY => {
                self.last_log = Instant::now();
                let rate = self.done as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
                eprintln!(
                    "progress: {}/{} rows sent ({:.1}/s), {} failed",
                    self.done, self.total, rate, self.failed
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

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
            *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
    }
}
