//! Before anything is sent: every row is read and checked (in parallel with rayon), duplicate
//! keys are found, and rows that an earlier run finished are set aside. The plan says, for each
//! row in input order, whether to send it or what its outcome already is.

use std::collections::HashMap;
use std::path::Path;

use rayon::prelude::*;

use crate::Error;
use crate::input::{self, Columns, RawRow};
use crate::results::{Outcome, Previous, Status};

/// Rows checked together in one parallel batch.
const BATCH: usize = 8192;

/// What to do with each row.
pub struct Plan {
    /// One entry per data row, in input order: `None` to send it, or its known outcome
    /// (invalid, or done by an earlier run).
    pub outcomes: Vec<Option<Outcome>>,
    /// How many rows are to be sent.
    pub to_send: usize,
    /// How many rows an earlier run finished.
    pub done_before: usize,
    /// How many rows are invalid.
    pub invalid: usize,
    /// The first invalid rows, as `line N: problem`, for the terminal.
    pub invalid_examples: Vec<String>,
}

/// Checks every row of `path` and decides what to send.
///
/// A row is invalid when its fields break a rule or its key (id, else name) repeats an
/// earlier row's. A row that an earlier run finished (in `previous.done`) is not sent.
///
/// # Errors
/// [`Error::Input`]/[`Error::Io`] when the file cannot be read.
pub fn build(
    path: &Path,
    columns: &Columns,
    previous: &Previous,
    default_template: Option<&str>,
) -> Result<Plan, Error> {
    let mut reader = input::reader(path)?;
    input::read_headers(path, &mut reader)?;
    let mut rows = input::rows(path, reader, columns.width());

    let mut plan = Plan {
        outcomes: Vec::new(),
        to_send: 0,
        done_before: 0,
        invalid: 0,
        invalid_examples: Vec::new(),
    };
    // Key -> line of its first row, to name it when a later row repeats the key.
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut batch: Vec<RawRow> = Vec::with_capacity(BATCH);
    loop {
        batch.clear();
        for row in rows.by_ref().take(BATCH) {
            batch.push(row?);
        }
        if batch.is_empty() {
            break;
        }
        let checked: Vec<Checked> = batch
            .par_iter()
            .map(|row| check(columns, row, default_template))
            .collect();
        for (row, (key, result)) in batch.iter().zip(checked) {
            let outcome = decide(row.line, key, result, &mut seen, previous);
            match &outcome {
                None => plan.to_send += 1,
                Some(o) if o.status == Status::Invalid => {
                    plan.invalid += 1;
                    if plan.invalid_examples.len() < 10 {
                        plan.invalid_examples
                            .push(o.error.clone().unwrap_or_default());
                    }
                }
                Some(_) => plan.done_before += 1,
            }
            plan.outcomes.push(outcome);
        }
    }
    Ok(plan)
}

/// A row's key (when it has one) and its problems (when it has any).
type Checked = (Option<String>, Result<(), Vec<String>>);

fn check(columns: &Columns, row: &RawRow, default_template: Option<&str>) -> Checked {
    if let Some(problem) = &row.problem {
        return (None, Err(vec![problem.clone()]));
    }
    let key = columns.key(&row.record);
    let result = columns
        .to_request(&row.record, default_template)
        .map(|_| ());
    (key, result)
}

fn decide(
    line: u64,
    key: Option<String>,
    result: Result<(), Vec<String>>,
    seen: &mut HashMap<String, u64>,
    previous: &Previous,
) -> Option<Outcome> {
    let invalid = |problems: Vec<String>| {
        Some(Outcome::unsent(
            Status::Invalid,
            format!("line {line}: {}", problems.join("; ")),
        ))
    };
    if let Some(key) = &key {
        if let Some(first) = seen.get(key) {
            let (what, value) = key.split_once(':').unwrap_or(("key", key));
            let mut problems = result.err().unwrap_or_default();
            problems.insert(
                0,
                format!("{what} {value:?} is already used by line {first}; each organization must appear once"),
            );
            return invalid(problems);
        }
        seen.insert(key.clone(), line);
    }
    if let Err(problems) = result {
        return invalid(problems);
    }
    let key = key.expect("a valid row has a name, so a key");
    previous.done.get(&key).cloned()
}
