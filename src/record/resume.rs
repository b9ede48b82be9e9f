//! What earlier runs left: the results file and the journal of an interrupted run, read back
//! so that a rerun skips rows already done and looks up rows that may have been created.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use csv::StringRecord;

use super::journal::{JOURNAL_COLUMNS, OLD_JOURNAL_WIDTH, PENDING};
use super::*;
use crate::Error;
use crate::input::{self, Dialect, Mapping};

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

pub(crate) fn read_results(
    path: &Path,
    mapping: &Mapping,
    previous: &mut Previous,
) -> Result<(), Error> {
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
    previous.done.reserve(crate::input::expected_rows(path));
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

pub(crate) fn read_journal(path: &Path, previous: &mut Previous) -> Result<(), Error> {
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

pub(crate) fn parse_outcome(
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
        kind: None,
    })
}
