//! The results file and its journal: what happened to every row.
//!
//! While a run goes on, each finished row is appended to `<results>.journal` and flushed, so a
//! crash loses nothing. At the end the results CSV is written whole (input columns, then
//! [`RESULT_COLUMNS`], in input order) to a temporary file that replaces the old one, and the
//! journal is removed. A later run reads both back to skip rows already done.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use csv::StringRecord;

use crate::input::{self, Dialect, Mapping};
use crate::{Error, RowError};

/// The columns the results file adds after the input's own.
pub const RESULT_COLUMNS: [&str; 6] = [
    "status",
    "org_id",
    "http_status",
    "error",
    "attempts",
    "changes",
];
/// The result columns of files written before `changes` was added; they still load.
const OLD_RESULT_COLUMNS: [&str; 5] = ["status", "org_id", "http_status", "error", "attempts"];
const JOURNAL_COLUMNS: [&str; 7] = [
    "key",
    "status",
    "org_id",
    "http_status",
    "attempts",
    "error",
    "changes",
];
/// Journal lines written before `changes` was added have this many fields.
const OLD_JOURNAL_WIDTH: usize = 6;

/// What became of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// This tool created the organization.
    Created,
    /// The organization was there already (same id); nothing was created.
    Exists,
    /// The organization was there already and was updated to match the row
    /// (`--on-existing update`).
    Updated,
    /// The API refused the row, or never answered after every attempt.
    Failed,
    /// The row breaks a validation rule; it was not sent.
    Invalid,
    /// The run stopped before the row was sent.
    NotSent,
}

impl Status {
    /// Every status, in the order summaries list them.
    pub const ALL: [Status; 6] = [
        Status::Created,
        Status::Exists,
        Status::Updated,
        Status::Failed,
        Status::Invalid,
        Status::NotSent,
    ];

    /// The word written in the `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Exists => "exists",
            Status::Updated => "updated",
            Status::Failed => "failed",
            Status::Invalid => "invalid",
            Status::NotSent => "not_sent",
        }
    }

    /// The status a `status` cell names.
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether the row's organization exists, so a rerun must not send it again.
    pub fn is_done(self) -> bool {
        matches!(self, Status::Created | Status::Exists | Status::Updated)
    }
}

/// A row's outcome: one line of [`RESULT_COLUMNS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// What became of the row.
    pub status: Status,
    /// The organization's id, when it exists.
    pub org_id: Option<String>,
    /// The last HTTP status the API answered for the row.
    pub http_status: Option<u16>,
    /// Why the row failed or is invalid.
    pub error: Option<String>,
    /// How many requests were sent for the row (all runs' last).
    pub attempts: u32,
    /// For an updated row, the fields the update changed (`field: old -> new; ...`).
    pub changes: Option<String>,
}

impl Outcome {
    /// A row that was never sent for `status` and `error`.
    pub fn unsent(status: Status, error: String) -> Self {
        Outcome {
            status,
            org_id: None,
            http_status: None,
            error: Some(error),
            attempts: 0,
            changes: None,
        }
    }

    /// A row whose request failed with `error` after `attempts`.
    pub fn failed(http_status: Option<u16>, error: RowError, attempts: u32) -> Self {
        Outcome {
            status: Status::Failed,
            org_id: None,
            http_status,
            error: Some(error.to_string()),
            attempts,
            changes: None,
        }
    }
}

/// A cell as written to the results file: one that a spreadsheet would run as a formula
/// (starting with `=`, `+`, `-`, `@`, tab or CR) gets a leading `'`, and so does one that
/// starts with `'`, so that [`restore`] can undo it exactly.
pub fn neutralize(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\'') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// A results-file cell as it was in the input (undoes [`neutralize`]).
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest)
            if rest
                .chars()
                .next()
                .is_some_and(|c| matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r' | '\'')) =>
        {
            rest
        }
        _ => cell,
    }
}

/// The journal beside `results`.
pub fn journal_path(results: &Path) -> PathBuf {
    let mut name = results.as_os_str().to_owned();
    name.push(".journal");
    PathBuf::from(name)
}

/// The word a journal line carries for a row whose first request is about to be sent.
const PENDING: &str = "pending";

/// What earlier runs left, by row key.
#[derive(Debug, Default)]
pub struct Previous {
    /// Rows whose organization exists (`created` or `exists`): not to be sent again.
    pub done: HashMap<String, Outcome>,
    /// Rows that may have been created without an answer saying so: sent when a run stopped
    /// mid-request, or failed without a definite refusal. They are looked up before sending.
    pub in_doubt: HashSet<String>,
}

/// Reads what earlier runs left: the results file, then the journal of an interrupted run
/// (later entries win).
///
/// # Errors
/// [`Error::Input`] when the file at `results` is not an orgimport results file, so that
/// nothing of the user's is overwritten by mistake.
pub fn load_previous(results: &Path, mapping: &Mapping) -> Result<Previous, Error> {
    let mut previous = Previous::default();
    if results.exists() {
        read_results(results, mapping, &mut previous)?;
    }
    let journal = journal_path(results);
    if journal.exists() {
        read_journal(&journal, &mut previous)?;
    }
    Ok(previous)
}

impl Previous {
    /// Takes the row `key`'s latest outcome (`None`: left pending), replacing what an earlier
    /// line said of it.
    fn learn(&mut self, key: String, outcome: Option<Outcome>) {
        // A definite refusal (4xx but 429) created nothing; anything else may have.
        let in_doubt = match &outcome {
            Some(o) if o.status.is_done() => false,
            Some(o) if o.status == Status::Failed => o.http_status.is_none_or(|s| s >= 429),
            Some(_) => false,
            None => true,
        };
        if !self.in_doubt.is_empty() && !in_doubt {
            self.in_doubt.remove(&key);
        }
        match outcome {
            Some(o) if o.status.is_done() => {
                self.done.insert(key, o);
            }
            _ => {
                if !self.done.is_empty() {
                    self.done.remove(&key);
                }
                if in_doubt {
                    self.in_doubt.insert(key);
                }
            }
        }
    }
}

/// How many of a results file's last columns are orgimport's (`headers` with formula marks
/// removed): this version's [`RESULT_COLUMNS`] or the earlier ones without `changes`.
///
/// # Errors
/// Why the file is not a results file, when its last columns are neither.
pub fn result_width(headers: &StringRecord) -> Result<usize, String> {
    let width = headers.len();
    let ends_with = |columns: &[&str]| {
        width >= columns.len()
            && headers
                .iter()
                .skip(width - columns.len())
                .eq(columns.iter().copied())
    };
    if ends_with(&RESULT_COLUMNS) {
        Ok(RESULT_COLUMNS.len())
    } else if ends_with(&OLD_RESULT_COLUMNS) {
        Ok(OLD_RESULT_COLUMNS.len())
    } else {
        Err(format!(
            "its last columns are not {}",
            RESULT_COLUMNS.join(",")
        ))
    }
}

fn read_results(path: &Path, mapping: &Mapping, previous: &mut Previous) -> Result<(), Error> {
    let not_ours = |why: String| Error::Input {
        path: path.to_path_buf(),
        message: format!(
            "{why}; this is not an orgimport results file, so it is left alone \
             (move it away or choose another --out)"
        ),
    };
    let mut reader = input::reader(path, &Dialect::RESULTS)?;
    let headers: StringRecord = input::read_headers(path, &mut reader)?
        .iter()
        .map(restore)
        .collect();
    let width = headers.len();
    let input_width = width - result_width(&headers).map_err(not_ours)?;
    let input_headers: StringRecord = headers.iter().take(input_width).collect();
    let columns = if input_headers == mapping.headers {
        mapping.clone()
    } else {
        mapping.for_headers(&input_headers).map_err(not_ours)?
    };
    previous.done.reserve(crate::plan::expected_rows(path));
    for row in input::rows(path, &Dialect::RESULTS, reader, width) {
        let row = row?;
        if row.problem.is_some() {
            continue;
        }
        // Only a row with a cell that was neutralized is copied to restore it. The mapping
        // reads the input's columns, which come first.
        let restored: StringRecord;
        let record = if row.record.iter().any(|c| c.starts_with('\'')) {
            restored = row.record.iter().map(restore).collect();
            &restored
        } else {
            &row.record
        };
        let field = |i: usize| record.get(input_width + i).unwrap_or("");
        // Only rows that were sent say anything; an invalid row may repeat a sent row's key.
        if !matches!(
            Status::parse(field(0)),
            Some(Status::Created | Status::Exists | Status::Updated | Status::Failed)
        ) {
            continue;
        }
        let Some(key) = columns.key(record) else {
            continue;
        };
        if let Some(mut outcome) = parse_outcome(field(0), field(1), field(2), field(3), field(4)) {
            outcome.changes = Some(field(5)).filter(|c| !c.is_empty()).map(str::to_string);
            previous.learn(key, Some(outcome));
        }
    }
    Ok(())
}

fn read_journal(path: &Path, previous: &mut Previous) -> Result<(), Error> {
    let mut reader = input::reader(path, &Dialect::RESULTS)?;
    input::read_headers(path, &mut reader)?;
    for row in input::rows(path, &Dialect::RESULTS, reader, JOURNAL_COLUMNS.len()) {
        // A torn last line (a crash mid-write) is simply not counted. Lines of an older
        // version, without `changes`, are read as they are.
        let row = row?;
        let r = row.record;
        let old_line = r.len() == OLD_JOURNAL_WIDTH;
        if (row.problem.is_some() && !old_line) || r.len() < OLD_JOURNAL_WIDTH {
            continue;
        }
        if &r[1] == PENDING {
            previous.learn(r[0].to_string(), None);
        } else if let Some(mut outcome) = parse_outcome(&r[1], &r[2], &r[3], &r[5], &r[4]) {
            outcome.changes = r.get(6).filter(|c| !c.is_empty()).map(str::to_string);
            previous.learn(r[0].to_string(), Some(outcome));
        }
    }
    Ok(())
}

fn parse_outcome(
    status: &str,
    org_id: &str,
    http_status: &str,
    error: &str,
    attempts: &str,
) -> Option<Outcome> {
    let text = |s: &str| (!s.is_empty()).then(|| s.to_string());
    Some(Outcome {
        status: Status::parse(status)?,
        org_id: text(org_id),
        http_status: http_status.parse().ok(),
        error: text(error),
        attempts: attempts.parse().unwrap_or(0),
        changes: None,
    })
}

/// The append-only journal of rows finished in this run, flushed as they finish.
pub struct Journal {
    path: PathBuf,
    writer: csv::Writer<BufWriter<File>>,
}

impl Journal {
    /// Opens (or continues) the journal beside `results`.
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be created.
    pub fn open(results: &Path) -> Result<Journal, Error> {
        let path = journal_path(results);
        let fresh = !path.exists()
            || std::fs::metadata(&path)
                .map(|m| m.len() == 0)
                .unwrap_or(true);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        let mut writer = input::writer(BufWriter::new(file), b',');
        if fresh {
            writer
                .write_record(JOURNAL_COLUMNS)
                .map_err(|e| Error::io(&path, e.into()))?;
        }
        Ok(Journal { path, writer })
    }

    /// Appends one finished row (buffered until [`Journal::flush`]).
    ///
    /// # Errors
    /// [`Error::Io`] when the disk refuses it.
    pub fn append(&mut self, key: &str, outcome: &Outcome) -> Result<(), Error> {
        let http = outcome
            .http_status
            .map(|s| s.to_string())
            .unwrap_or_default();
        let attempts = outcome.attempts.to_string();
        self.writer
            .write_record([
                key,
                outcome.status.as_str(),
                outcome.org_id.as_deref().unwrap_or(""),
                &http,
                &attempts,
                outcome.error.as_deref().unwrap_or(""),
                outcome.changes.as_deref().unwrap_or(""),
            ])
            .map_err(|e| Error::io(&self.path, e.into()))
    }

    /// Appends that the first request for the row `key` is about to be sent, so that a rerun
    /// after a crash knows to look for its organization before sending it again.
    ///
    /// # Errors
    /// [`Error::Io`] when the disk refuses it.
    pub fn append_pending(&mut self, key: &str) -> Result<(), Error> {
        self.writer
            .write_record([key, PENDING, "", "", "", "", ""])
            .map_err(|e| Error::io(&self.path, e.into()))
    }

    /// Pushes what was appended to the operating system, so it survives the process.
    ///
    /// # Errors
    /// [`Error::Io`] when the disk refuses it.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.writer.flush().map_err(|e| Error::io(&self.path, e))
    }

    /// Removes the journal once the results file holds everything.
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be removed.
    pub fn remove(self) -> Result<(), Error> {
        drop(self.writer);
        std::fs::remove_file(&self.path).map_err(|e| Error::io(&self.path, e))
    }
}

/// Writes the results file: every row of `input` in order, its fields as read, then its
/// outcome, in UTF-8 with a byte-order mark and the input's delimiter. Written beside
/// `results` first and renamed over it, so a crash leaves either the old file or the new one.
///
/// # Errors
/// [`Error::Io`]/[`Error::Input`] when reading the input again or writing fails, or when the
/// input no longer has as many rows as `outcomes` (it was changed during the run).
pub fn write(
    input_path: &Path,
    dialect: &Dialect,
    results: &Path,
    outcomes: &[Outcome],
) -> Result<(), Error> {
    let mut reader = input::reader(input_path, dialect)?;
    let headers = input::read_headers(input_path, &mut reader)?;
    let width = headers.len();
    // The input's delimiter: a file from a spreadsheet set to ';' opens back in it as well.
    let delimiter = input::delimiter_of(input_path, dialect)?;
    let tmp = {
        let mut name = results.as_os_str().to_owned();
        name.push(".tmp");
        PathBuf::from(name)
    };
    let io = |e: std::io::Error| Error::io(&tmp, e);
    let file = File::create(&tmp).map_err(io)?;
    let mut buffered = BufWriter::with_capacity(256 * 1024, file);
    // A byte-order mark, so that Excel reads the file as UTF-8.
    buffered.write_all("\u{feff}".as_bytes()).map_err(io)?;
    let mut writer = input::writer(buffered, delimiter);
    let mut header: Vec<Cow<str>> = headers.iter().map(neutralize).collect();
    header.extend(RESULT_COLUMNS.map(Cow::Borrowed));
    writer
        .write_record(header.iter().map(|h| h.as_bytes()))
        .map_err(|e| io(e.into()))?;

    let mut count = 0usize;
    let mut number = String::new();
    let write_error = |e: csv::Error| io(e.into());
    // The input's records as bytes, without the line numbers `input::rows` counts: each
    // cell is written as it was read (text that is not UTF-8 as U+FFFD, as everywhere).
    let mut record = csv::ByteRecord::new();
    loop {
        let more = reader
            .read_byte_record(&mut record)
            .map_err(|e| Error::Input {
                path: input_path.to_path_buf(),
                message: e.to_string(),
            })?;
        if !more {
            break;
        }
        let Some(outcome) = outcomes.get(count) else {
            count += 1;
            break;
        };
        count += 1;
        // Laid out in exactly `width` columns: surplus fields joined into the last one,
        // missing ones empty (as `RawRow::fields_in`).
        let ragged = record.len() > width && width > 0;
        let plain = if ragged { width - 1 } else { record.len() };
        for field in record.iter().take(plain) {
            let text = String::from_utf8_lossy(field);
            writer
                .write_field(neutralize(&text).as_bytes())
                .map_err(write_error)?;
        }
        if ragged {
            let surplus: Vec<Cow<str>> = record
                .iter()
                .skip(plain)
                .map(String::from_utf8_lossy)
                .collect();
            writer
                .write_field(neutralize(&surplus.join(",")).as_bytes())
                .map_err(write_error)?;
        }
        for _ in record.len()..width {
            writer.write_field("").map_err(write_error)?;
        }
        writer
            .write_field(outcome.status.as_str())
            .map_err(write_error)?;
        writer
            .write_field(outcome.org_id.as_deref().unwrap_or_default())
            .map_err(write_error)?;
        number.clear();
        if let Some(status) = outcome.http_status {
            let _ = write!(number, "{status}");
        }
        writer.write_field(&number).map_err(write_error)?;
        writer
            .write_field(neutralize(outcome.error.as_deref().unwrap_or_default()).as_bytes())
            .map_err(write_error)?;
        number.clear();
        let _ = write!(number, "{}", outcome.attempts);
        writer.write_field(&number).map_err(write_error)?;
        // The last field ends the record.
        writer
            .write_record([neutralize(outcome.changes.as_deref().unwrap_or_default()).as_bytes()])
            .map_err(write_error)?;
    }
    if count != outcomes.len() {
        return Err(Error::Input {
            path: input_path.to_path_buf(),
            message: format!(
                "the file changed during the run (it had {} rows, now {count}); \
                 the outcomes are kept in {}",
                outcomes.len(),
                journal_path(results).display()
            ),
        });
    }
    writer
        .into_inner()
        .map_err(|e| io(std::io::Error::other(e.to_string())))?
        .into_inner()
        .map_err(|e| io(e.into_error()))?
        .sync_all()
        .map_err(io)?;
    std::fs::rename(&tmp, results).map_err(|e| Error::io(results, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralized_and_restored_exactly() {
        for cell in [
            "=HYPERLINK(\"x\")",
            "+1 555",
            "-5",
            "@SUM(A1)",
            "\tx",
            "'=x",
            "'quoted",
            "plain",
            "",
        ] {
            let written = neutralize(cell);
            assert!(
                !written.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{written:?}"
            );
            assert_eq!(restore(&written), cell, "{cell:?}");
        }
        assert_eq!(neutralize("plain"), "plain");
        assert_eq!(neutralize("=1+2"), "'=1+2");
    }
}
