//! The end-of-run summary: counts by status, the commonest error kinds with an example row
//! each, time, achieved rate and where the results are; and the same as JSON for scripts
//! (`--summary-json PATH`). The error kinds are read back from the results file.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use serde_json::{Value, json};

use crate::Error;
use crate::input::{self, Dialect};
use crate::record::{RESULT_COLUMNS, Status, restore};
use std::path::PathBuf;
use std::time::Duration;

/// What an import did, for the summary line and the exit code.
#[derive(Debug)]
pub struct Summary {
    /// Rows in the input.
    pub rows: usize,
    /// Rows by final status (this run and earlier ones).
    pub counts: HashMap<Status, u64>,
    /// Rows an earlier run had finished, not sent again.
    pub done_before: usize,
    /// Rows of this run for which a create or update was sent.
    pub sent: u64,
    /// Create requests sent in this run, retries included.
    pub requests: u64,
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
}

impl Summary {
    /// How many rows ended with `status`.
    pub fn count(&self, status: Status) -> u64 {
        self.counts.get(&status).copied().unwrap_or(0)
    }

    /// Success when every row exists now; failed when some failed or are invalid; fatal
    /// after a fatal error; interrupted after Ctrl-C ([`crate::exit::Ending`] weighs them).
    pub fn exit_status(&self) -> crate::ExitStatus {
        let done: u64 = Status::ALL
            .iter()
            .filter(|s| s.is_done())
            .map(|s| self.count(*s))
            .sum();
        crate::exit::Ending {
            fatal: self.fatal.is_some(),
            interrupted: self.interrupted,
            failed: done != self.rows as u64,
        }
        .status()
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
        write!(f, "{} rows: {}", self.rows, counts.join(", "),)?;
        if self.done_before > 0 {
            write!(
                f,
                " ({} done by an earlier run, not sent)",
                self.done_before
            )?;
        }
        write!(
            f,
            "; {} sent in {:.1}s ({rate:.1} rows/s, {} requests); results: {}",
            self.sent,
            self.elapsed.as_secs_f64(),
            self.requests,
            self.results.display()
        )
    }
}

/// Error kinds listed at most.
const TOP_KINDS: usize = 5;

/// One kind of error and how often it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorKind {
    /// The error up to its first `:` (`HTTP 5xx` for every server error).
    pub kind: String,
    /// The status of the rows with it (`failed`, `invalid` or `not_sent`).
    pub status: Status,
    /// How many rows.
    pub count: usize,
    /// The line (in the results file) of the first row with it.
    pub example_line: u64,
    /// That row's whole error.
    pub example: String,
}

/// The whole end-of-run report.
#[derive(Debug)]
pub struct RunReport<'a> {
    /// What the run counted.
    pub summary: &'a Summary,
    /// The commonest error kinds, commonest first.
    pub kinds: Vec<ErrorKind>,
}

impl<'a> RunReport<'a> {
    /// The report for `summary`, its error kinds read from the results file (none when it
    /// cannot be read: the summary still stands).
    pub fn new(summary: &'a Summary) -> RunReport<'a> {
        RunReport {
            summary,
            kinds: error_kinds(&summary.results).unwrap_or_default(),
        }
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
            "counts": counts,
            "done_before": s.done_before,
            "sent": s.sent,
            "requests": s.requests,
            "retries": s.requests.saturating_sub(s.sent),
            "token_fetches": s.token_fetches,
            "elapsed_seconds": round(s.elapsed.as_secs_f64()),
            "send_seconds": round(s.send_elapsed.as_secs_f64()),
            "rows_per_second": round(rate(s)),
            "results": s.results.display().to_string(),
            "exit_code": s.exit_status().code(),
            "interrupted": s.interrupted,
            "fatal": s.fatal.as_ref().map(ToString::to_string),
            "error_kinds": self.kinds.iter().map(|k| json!({
                "kind": k.kind,
                "status": k.status.as_str(),
                "count": k.count,
                "example_line": k.example_line,
                "example": k.example,
            })).collect::<Vec<_>>(),
        })
    }

    /// Writes the JSON to `path`.
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be written.
    pub fn write_json(&self, path: &Path) -> Result<(), Error> {
        let text = serde_json::to_string_pretty(&self.to_json()).expect("JSON always serialises");
        std::fs::write(path, text + "\n").map_err(|e| Error::io(path, e))
    }
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
            "  time: {:.1}s in all, {:.1}s sending; {} rows sent at {:.1}/s, {} requests \
             ({} retries), {} token fetch(es)",
            s.elapsed.as_secs_f64(),
            s.send_elapsed.as_secs_f64(),
            s.sent,
            rate(s),
            s.requests,
            s.requests.saturating_sub(s.sent),
            s.token_fetches
        )?;
        if !self.kinds.is_empty() {
            writeln!(f, "  commonest problems:")?;
            for k in &self.kinds {
                let example = if k.example.starts_with("line ") {
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
        }
        write!(f, "  results: {}", s.results.display())
    }
}

/// `HTTP 5xx` for any server error, else the error (less a leading `line N: `) up to its
/// first `:` or its first 40 characters.
fn kind_of(error: &str, http_status: &str) -> String {
    if http_status.starts_with('5') && http_status.len() == 3 {
        return "HTTP 5xx".into();
    }
    let text = match error.strip_prefix("line ").and_then(|r| r.split_once(": ")) {
        Some((n, rest)) if n.chars().all(|c| c.is_ascii_digit()) => rest,
        _ => error,
    };
    let head = generic(text.split([':', ';']).next().unwrap_or(text).trim());
    match head.char_indices().nth(40) {
        Some((cut, _)) => format!("{}...", &head[..cut]),
        None => head.to_string(),
    }
}

/// `text` with its quoted values and line numbers left out, so that messages naming different
/// rows (`name "a" is already used by line 4`) fall into one kind.
fn generic(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' if quoted => quoted = false,
            '"' => {
                quoted = true;
                out.push('…');
            }
            _ if quoted => {}
            '0'..='9' if out.ends_with("line N") => {}
            '0'..='9' if out.ends_with("line ") => out.push('N'),
            _ => out.push(c),
        }
    }
    out
}

/// The commonest error kinds in the results file at `path`.
fn error_kinds(path: &Path) -> Result<Vec<ErrorKind>, Error> {
    let mut reader = input::reader(path, &Dialect::RESULTS)?;
    let headers = input::read_headers(path, &mut reader)?;
    let width = headers.len();
    if width < RESULT_COLUMNS.len() {
        return Ok(Vec::new());
    }
    let base = width - RESULT_COLUMNS.len();
    let mut kinds: HashMap<(String, Status), ErrorKind> = HashMap::new();
    for row in input::rows(path, &Dialect::RESULTS, reader, width) {
        let row = row?;
        let cell = |i: usize| restore(row.record.get(base + i).unwrap_or("")).to_string();
        let Some(status) = Status::parse(&cell(0)) else {
            continue;
        };
        let error = cell(3);
        if status.is_done() || error.is_empty() {
            continue;
        }
        let kind = kind_of(&error, &cell(2));
        kinds
            .entry((kind.clone(), status))
            .or_insert_with(|| ErrorKind {
                kind,
                status,
                count: 0,
                example_line: row.line,
                example: error.clone(),
            })
            .count += 1;
    }
    let mut kinds: Vec<ErrorKind> = kinds.into_values().collect();
    kinds.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.example_line.cmp(&b.example_line))
    });
    kinds.truncate(TOP_KINDS);
    Ok(kinds)
}

#[cfg(test)]
mod tests {
    use super::kind_of;

    #[test]
    fn error_kinds_drop_line_numbers_and_details() {
        assert_eq!(kind_of("line 27: name: is empty", ""), "name");
        assert_eq!(
            kind_of("HTTP 503 unavailable: try later", "503"),
            "HTTP 5xx"
        );
        assert_eq!(
            kind_of("HTTP 409 conflict: id taken", "409"),
            "HTTP 409 conflict"
        );
        assert_eq!(
            kind_of(
                "line 232: name \"x-42\" is already used by line 44; each must appear once",
                ""
            ),
            kind_of(
                "name \"other\" is already used by line 7; each must appear once",
                ""
            )
        );
    }
}
