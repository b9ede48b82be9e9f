//! The end-of-run summary: counts by status, the commonest error kinds with an example row
//! each, time, achieved rate and where the results are; and the same as JSON for scripts
//! (`--summary-json PATH`). The error kinds are counted from the outcomes the run holds, by
//! their [`ErrorKind`](crate::error_kind::ErrorKind).

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use serde_json::{Value, json};

use crate::Error;
use crate::api::throttle::Learned;
use crate::private_file;
use crate::record::{Outcomes, Status};
use crate::stdout;
use std::path::PathBuf;
use std::time::Duration;

/// What an import did, for the summary line and the exit code.
#[derive(Debug)]
pub struct Summary {
    /// Rows in the input (0 when the run stopped before it counted them).
    pub rows: usize,
    /// Whether the run counted the rows: false when a fatal error stopped it before (`rows`
    /// and `counts` then say nothing of the input).
    pub rows_counted: bool,
    /// Rows by final status (this run and earlier ones).
    pub counts: HashMap<Status, u64>,
    /// Rows an earlier run had finished, not sent again.
    pub done_before: usize,
    /// Rows of this run for which a create or update was sent.
    pub sent: u64,
    /// Requests sent in this run to create or update rows, retries and look-ups included.
    pub requests: u64,
    /// The look-ups among them: rows read back to learn whether an earlier attempt, or an
    /// earlier run, created them (not retries: nothing was sent twice).
    pub look_ups: u64,
    /// Tokens fetched in this run.
    pub token_fetches: u64,
    /// The whole run's time.
    pub elapsed: Duration,
    /// The time spent sending.
    pub send_elapsed: Duration,
    /// Where the results are.
    pub results: PathBuf,
    /// The error that stopped the run early, if one did.
    pub fatal: Option<Error>,
    /// Whether Ctrl-C stopped the run early.
    pub interrupted: bool,
    /// Every kind of error, commonest first ([`commonest_kinds`]); the summary lists the
    /// first [`TOP_KINDS`] and counts the rest, the JSON lists them all.
    pub kinds: Vec<KindCount>,
    /// How the input changed during the run, if it did: the run imported it as it was when
    /// it started, so rows as they are now may not be imported yet (a failed run).
    pub input_changed: Option<String>,
    /// How the rate went: 429s answered and where the pace ended.
    pub pace: PaceReport,
}

/// How the rate went in a run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PaceReport {
    /// Requests the tenant answered 429 (each one retried after its `Retry-After`).
    pub refused: u64,
    /// The pace at the end, requests per second, when the run slowed down or found its
    /// rate (`--rate auto`); `None` when it kept the configured rate.
    pub settled: Option<f64>,
    /// What the run learned of the tenant's limiter, if anything.
    pub learned: Option<Learned>,
}

/// The summary JSON's `limiter`: the kind inferred and the figures behind it.
fn limiter_json(learned: Option<Learned>) -> Value {
    match learned {
        None => Value::Null,
        Some(Learned::Window { allowance, window }) => json!({
            "kind": "window",
            "allowance": allowance,
            "window_seconds": round(window.as_secs_f64()),
            "per_second": round(allowance as f64 / window.as_secs_f64()),
        }),
        Some(Learned::Rate(rate)) => json!({"kind": "rate", "per_second": round(rate)}),
        Some(Learned::InFlight(n)) => json!({"kind": "in_flight", "in_flight": n}),
    }
}

impl Summary {
    /// Requests sent again: all of them, less each row's first and the look-ups.
    pub fn retries(&self) -> u64 {
        self.requests
            .saturating_sub(self.look_ups)
            .saturating_sub(self.sent)
    }

    /// The summary of a run that `fatal` stopped before it sent anything, `elapsed` after it
    /// started: no row counted, the results file not written.
    pub fn stopped_before_sending(fatal: Error, results: PathBuf, elapsed: Duration) -> Summary {
        Summary {
            rows: 0,
            rows_counted: false,
            counts: HashMap::new(),
            done_before: 0,
            sent: 0,
            requests: 0,
            look_ups: 0,
            token_fetches: 0,
            elapsed,
            send_elapsed: Duration::ZERO,
            results,
            fatal: Some(fatal),
            interrupted: false,
            kinds: Vec::new(),
            input_changed: None,
            pace: PaceReport::default(),
        }
    }

    /// How many rows ended with `status`.
    pub fn count(&self, status: Status) -> u64 {
        self.counts.get(&status).copied().unwrap_or(0)
    }

    /// Success when every row's organization exists now; failed when some failed, are
    /// unconfirmed (not known to exist), invalid or not sent, or the input changed during the
    /// run; fatal after a fatal error; interrupted after Ctrl-C ([`crate::exit::Ending`] weighs
    /// them).
    pub fn exit_status(&self) -> crate::ExitStatus {
        crate::exit::Concluded::exit_status(self)
    }

    /// What the run came to, a fatal error aside.
    fn work(&self) -> crate::exit::Ending {
        let done: u64 = Status::ALL
            .iter()
            .filter(|s| s.is_done())
            .map(|s| self.count(*s))
            .sum();
        crate::exit::Ending {
            fatal: false,
            interrupted: self.interrupted,
            failed: done != self.rows as u64 || self.input_changed.is_some(),
        }
    }
}

impl crate::exit::Concluded for Summary {
    fn work(&self) -> crate::exit::Ending {
        Summary::work(self)
    }

    fn fatal(&self) -> Option<&Error> {
        self.fatal.as_ref()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counts: Vec<String> = Status::ALL
            .iter()
            .filter(|s| self.count(**s) > 0 || matches!(s, Status::Created))
            .map(|s| format!("{} {}", self.count(*s), s.as_str()))
            .collect();
        let rate = self.sent as f64 / self.send_elapsed.as_secs_f64().max(1e-9);
        write!(
            f,
            "{}: {}",
            crate::report::plural(self.rows, "row"),
            counts.join(", ")
        )?;
        if self.done_before > 0 {
            write!(
                f,
                " ({} done by an earlier run, not sent)",
                self.done_before
            )?;
        }
        write!(
            f,
            "; {} sent in {:.1}s ({rate:.1} rows/s, {}); results: {}",
            self.sent,
            self.elapsed.as_secs_f64(),
            crate::report::plural(self.requests as usize, "request"),
            self.results.display()
        )
    }
}

/// Error kinds the printed summary lists; it counts the others in one line.
pub const TOP_KINDS: usize = 5;

/// One kind of error and how often it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindCount {
    /// The kind's name ([`ErrorKind::label`](crate::error_kind::ErrorKind::label)).
    pub kind: String,
    /// The status of the rows with it (`failed`, `unconfirmed`, `invalid` or `not_sent`).
    pub status: Status,
    /// How many rows.
    pub count: usize,
    /// The line (in the input, as in the results file) of the first row with it.
    pub example_line: u64,
    /// That row's whole error.
    pub example: String,
}

/// Every kind of error among `outcomes` (rows whose organization does not exist), commonest
/// first, each with its first row; `lines` has the line of each row. Kinds of the same name
/// and status count as one.
pub fn commonest_kinds(outcomes: &Outcomes, lines: &[u64]) -> Vec<KindCount> {
    let mut kinds: HashMap<(String, Status), KindCount> = HashMap::new();
    for (outcome, line) in outcomes.iter().zip(lines) {
        let Some(outcome) = outcome else { continue };
        let (Some(kind), Some(error)) = (outcome.kind, outcome.error) else {
            continue;
        };
        if outcome.status.is_done() {
            continue;
        }
        let label = kind.label().into_owned();
        kinds
            .entry((label.clone(), outcome.status))
            .or_insert_with(|| KindCount {
                kind: label,
                status: outcome.status,
                count: 0,
                example_line: *line,
                example: error.to_string(),
            })
            .count += 1;
    }
    let mut kinds: Vec<KindCount> = kinds.into_values().collect();
    kinds.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.example_line.cmp(&b.example_line))
    });
    kinds
}

/// The whole end-of-run report.
#[derive(Debug)]
pub struct RunReport<'a> {
    /// What the run counted, its commonest error kinds included.
    pub summary: &'a Summary,
}

impl<'a> RunReport<'a> {
    /// The report for `summary`.
    pub fn new(summary: &'a Summary) -> RunReport<'a> {
        RunReport { summary }
    }

    /// The report as JSON.
    pub fn to_json(&self) -> Value {
        let s = self.summary;
        let counts: serde_json::Map<String, Value> = Status::ALL
            .iter()
            .map(|st| (st.as_str().to_string(), json!(s.count(*st))))
            .collect();
        json!({
            "rows": s.rows,
            "rows_counted": s.rows_counted,
            "counts": counts,
            "done_before": s.done_before,
            "sent": s.sent,
            "requests": s.requests,
            "retries": s.retries(),
            "look_ups": s.look_ups,
            "token_fetches": s.token_fetches,
            "elapsed_seconds": round(s.elapsed.as_secs_f64()),
            "send_seconds": round(s.send_elapsed.as_secs_f64()),
            "rows_per_second": round(rate(s)),
            "results": s.results.display().to_string(),
            "exit_code": s.exit_status().code(),
            "interrupted": s.interrupted,
            "fatal": s.fatal.as_ref().map(ToString::to_string),
            "input_changed": s.input_changed,
            "rate_limited": s.pace.refused,
            "settled_rate": s.pace.settled.map(round),
            "limiter": limiter_json(s.pace.learned),
            "error_kinds": s.kinds.iter().map(|k| json!({
                "kind": k.kind,
                "status": k.status.as_str(),
                "count": k.count,
                "example_line": k.example_line,
                "example": k.example,
            })).collect::<Vec<_>>(),
        })
    }

    /// Writes the JSON to `path` (0600 when new, never through a link: [`private_file`]), or
    /// to standard output when `path` is `-`.
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be written.
    pub fn write_json(&self, path: &Path) -> Result<(), Error> {
        write_json(path, &self.to_json())
    }
}

/// Writes `json` to `path` (0600 when new, never through a link: [`private_file`]), or to
/// standard output when `path` is `-`.
///
/// # Errors
/// [`Error::Io`] when it cannot be written.
pub fn write_json(path: &Path, json: &Value) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(json).expect("JSON always serialises");
    let bytes = (text + "\n").into_bytes();
    if stdout::is_stdout(path) {
        return stdout::write_all(&bytes).map_err(|e| Error::io(stdout::shown(path), e));
    }
    private_file::write(path, &bytes).map_err(|e| Error::io(path, e))
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn rate(s: &Summary) -> f64 {
    s.sent as f64 / s.send_elapsed.as_secs_f64().max(1e-9)
}

impl fmt::Display for RunReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.summary;
        writeln!(f, "{s}")?;
        writeln!(
            f,
            "  time: {:.1}s in all, {:.1}s sending; {} sent at {:.1}/s, {} ({} retries{}), {} \
             token {}",
            s.elapsed.as_secs_f64(),
            s.send_elapsed.as_secs_f64(),
            crate::report::plural(s.sent as usize, "row"),
            rate(s),
            crate::report::plural(s.requests as usize, "request"),
            s.retries(),
            match s.look_ups {
                0 => String::new(),
                n => format!(", {n} look-ups of rows an earlier attempt may have created"),
            },
            s.token_fetches,
            if s.token_fetches == 1 {
                "fetch"
            } else {
                "fetches"
            }
        )?;
        if s.pace.refused > 0 || s.pace.settled.is_some() {
            let mut settled = s
                .pace
                .settled
                .map_or(String::new(), |r| format!("; the pace settled at {r:.1}/s"));
            if let Some(learned) = s.pace.learned {
                settled.push_str(&format!(" ({learned})"));
            }
            writeln!(
                f,
                "  rate: {} request(s) answered 429 by the tenant's rate limit{settled}",
                s.pace.refused
            )?;
        }
        if !s.kinds.is_empty() {
            writeln!(f, "  commonest problems:")?;
            for k in s.kinds.iter().take(TOP_KINDS) {
                let example = if k.example.starts_with("line ") || k.example.starts_with("sheet ") {
                    k.example.clone()
                } else {
                    format!("line {}: {}", k.example_line, k.example)
                };
                writeln!(
                    f,
                    "    {:>5} {} ({}), e.g. {example}",
                    k.count,
                    k.status.as_str(),
                    k.kind,
                )?;
            }
            if let Some(rest) = s.kinds.get(TOP_KINDS..).filter(|r| !r.is_empty()) {
                let rows: usize = rest.iter().map(|k| k.count).sum();
                writeln!(
                    f,
                    "    and {} more kind(s) of problem in {rows} row(s): see the results file",
                    rest.len()
                )?;
            }
        }
        let unconfirmed = s.count(Status::Unconfirmed);
        if unconfirmed > 0 {
            writeln!(
                f,
                "  {unconfirmed} unconfirmed: an attempt may have created {}, but no answer said \
                 so; the next run looks {} up before sending again (and undo looks {} up too)",
                if unconfirmed == 1 {
                    "its organization"
                } else {
                    "their organizations"
                },
                if unconfirmed == 1 { "it" } else { "them" },
                if unconfirmed == 1 { "it" } else { "them" },
            )?;
        }
        write!(f, "  results: {}", s.results.display())
    }
}

#[cfg(test)]
mod tests;
