//! Before anything is sent: every row is read and checked (in parallel with rayon), duplicate
//! keys and parent references are resolved, and rows that an earlier run finished are set
//! aside. The plan says, for each row in input order, whether to send it (and in which wave:
//! parents before children) or what its outcome already is.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use rayon::prelude::*;

mod hierarchy;
mod prepare;
mod requests;
mod rows_read;
mod templates_named;

use hierarchy::place_children;
pub use prepare::{Prepared, prepare};
pub use requests::{PlannedRequest, Requests, RequestsRead, RequestsWriter};
use rows_read::RowsRead;
use templates_named::TemplatesNamed;

use crate::Error;
use crate::fingerprint::{Fingerprint, FingerprintMap, fingerprint, fingerprint_parts, row_number};
use crate::input::quote::quoted;
use crate::input::{self, Mapping, Numbering, Problem, ProblemKind, RawRow, Source};
use crate::input::{RowTemplates, Untemplated};
use crate::record::unchanged::{self, Digest};
use crate::record::{EarlierRuns, Outcome, Outcomes, Status};

/// Invalid rows quoted in full on the terminal by `import` (all are in the results file).
const EXAMPLES: usize = 10;
/// Lines of rows the results file does not list, named on the terminal.
const UNLISTED_EXAMPLES: usize = 10;

/// What to do with each row.
#[derive(Debug, Default)]
pub struct Plan {
    /// One entry per data row, in input order: unsent to send it, or its known outcome
    /// (invalid, or done by an earlier run).
    pub outcomes: Outcomes,
    /// The line where each row starts.
    pub lines: Vec<u64>,
    /// Rows whose parent is another row of the file: child index -> parent index.
    pub parents: HashMap<usize, usize>,
    /// The wave of each row with an in-file parent (its depth below its top ancestor);
    /// other rows are in wave 0. Wave `n` is sent once wave `n - 1` has finished.
    pub waves: HashMap<usize, usize>,
    /// How many waves there are (1 when no row has an in-file parent).
    pub wave_count: usize,
    /// How many rows are to be sent.
    pub to_send: usize,
    /// How many rows an earlier run finished.
    pub done_before: usize,
    /// Rows an earlier run may have created (in doubt), in input order: unless this run
    /// settles them, they are recorded `unconfirmed` ([`Outcome::for_row_in_doubt`]).
    pub in_doubt_rows: Vec<usize>,
    /// Lines of valid rows that the results file of earlier runs does not list, when there
    /// is one (rows added to the input since, or removed from the results file).
    pub unlisted_lines: Vec<u64>,
    /// How many rows that is.
    pub unlisted: usize,
    /// How many rows are invalid.
    pub invalid: usize,
    /// Problems by kind, over all invalid rows.
    pub problem_counts: BTreeMap<ProblemKind, usize>,
    /// The first invalid rows, each its line and its problems (`name: ...; email: ...`), for
    /// the terminal ([`Numbering::place`] names the row).
    pub invalid_examples: Vec<(u64, String)>,
    /// The digest of the rows as the results file writes their input columns, when there is
    /// a results file that could be left as it is ([`EarlierRuns::as_written`]).
    pub input_digest: Digest,
    /// The rows to send that name no template, when no default template was given.
    pub untemplated: Untemplated,
    /// The template each row to send would be sent with (its own, or the default), for the
    /// check that each is a template of the tenant before anything is sent.
    pub row_templates: RowTemplates,
    /// How messages name the rows: by line, or by sheet row.
    pub numbering: Numbering,
    /// The request of each row found valid as it was read, in row order, when planning was
    /// asked to keep them ([`prepare`]): what the import sends, so that it never reads or maps
    /// the input again. A row found invalid later (by its parent) stays in it: `outcomes`
    /// says which are to be sent.
    pub requests: Requests,
}

/// An invalid row as reported while planning.
pub struct InvalidRow<'a> {
    /// The line where the row starts.
    pub line: u64,
    /// Its problems.
    pub problems: &'a [Problem],
}

/// One row after the parallel checks.
struct Checked {
    /// The fingerprint of its key, if it has one.
    key: Option<Fingerprint>,
    /// The fingerprint of its name, if it has one and rows may name their parents by name.
    name: Option<Fingerprint>,
    /// Whether it names a parent (`parent` or `parent_id`).
    refers: bool,
    /// Its entry among the rows earlier runs finished, if it is one.
    done: Option<usize>,
    problems: Vec<Problem>,
    /// The digest of its cells as the results file writes them, when it is needed.
    written: u64,
    /// Its request as JSON, when it is valid and the requests are kept.
    body: Option<Vec<u8>>,
}

/// Checks every row of `source` and decides what to send.
///
/// A row is invalid when its fields break a rule, its key (id, else name) repeats an earlier
/// row's, its `parent` names no row of the file, it is its own ancestor, or its parent row is
/// invalid. A row that an earlier run finished ([`EarlierRuns::done_entry`]) is not sent: its
/// outcome is taken from `earlier`, which can then no longer give it
/// ([`EarlierRuns::outcomes_for_plan`]). `report` is called once for every invalid row.
/// Without a default template, the rows to send that name none are found too
/// ([`Plan::untemplated`]).
///
/// # Errors
/// [`Error::Input`]/[`Error::Io`] when the file cannot be read.
pub fn build(
    source: &Source,
    mapping: &Mapping,
    earlier: &mut EarlierRuns,
    default_template: Option<&str>,
    report: &mut dyn FnMut(&InvalidRow),
) -> Result<Plan, Error> {
    build_keeping(source, mapping, earlier, default_template, None, report)
}

/// As [`build`], keeping the request of each valid row in `keep` ([`Plan::requests`]).
///
/// # Errors
/// As [`build`]; [`Error::Io`] when a request cannot be kept.
fn build_keeping(
    source: &Source,
    mapping: &Mapping,
    earlier: &mut EarlierRuns,
    default_template: Option<&str>,
    keep: Option<RequestsWriter>,
    report: &mut dyn FnMut(&InvalidRow),
) -> Result<Plan, Error> {
    let rows = source.rows(mapping.width())?;
    let by_name = mapping.names_parents();
    let mut plan = Plan {
        wave_count: 1,
        numbering: source.numbering().clone(),
        ..Plan::default()
    };
    let templates = TemplatesNamed::new(default_template);
    // Key -> first row with it ([`FirstRows`]); names -> row, only when rows may name parents
    // by name. By fingerprint: 16 bytes a row instead of a string.
    // Sized up front from the file's line count, so that no table or vector is ever copied
    // into one twice its size (a million rows held both at once).
    let expected = source.expected_rows();
    let names = FingerprintMap::with_capacity(if by_name { expected } else { 0 });
    // Slugged names -> first row with it, for rows keyed by an id (see `name_collision`).
    let slugged = FingerprintMap::default();
    plan.outcomes = earlier.outcomes_for_plan(expected);
    let earlier: &EarlierRuns = earlier;
    let seen = FirstRows::new(earlier, expected);
    plan.lines.reserve(expected);
    // (child, reference, whether it came from `parent` rather than `parent_id`).
    let references: Vec<(usize, String, bool)> = Vec::new();
    let digest = earlier.as_written.is_some();
    let keeping = keep.is_some();
    let mut read = RowsRead {
        keep,
        plan,
        templates,
        names,
        slugged,
        seen,
        references,
        mapping,
        earlier,
        by_name,
        digest,
    };
    // Each batch is checked (on every core) while the one before it is added, here, in file
    // order: the key table and the outcomes are this thread's work, and it is done meanwhile.
    // Not when the requests are kept (an import): a batch's requests are held until it is
    // added, and two batches' would raise the import's peak.
    let overlap = !keeping;
    let mut checked_rows = 0;
    let mut pending: Option<(Vec<RawRow>, Vec<Checked>)> = None;
    let read_all = input::batches::in_owned_batches(rows, |batch| {
        let first = checked_rows;
        checked_rows += batch.len();
        let check = |batch: &[RawRow]| {
            check_batch(mapping, first, batch, default_template, earlier, keeping)
        };
        if !overlap {
            read.add_batch(&batch, check(&batch), report)?;
            return Ok(Some(batch));
        }
        let (checked, added) = std::thread::scope(|scope| {
            let checking = scope.spawn(|| check(&batch));
            let added = pending
                .take()
                .map(|(rows, checked)| read.add_batch(&rows, checked, report).map(|()| rows));
            (checking.join(), added)
        });
        let checked = checked.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let added = added.transpose();
        // After an error, no row is added any more.
        pending = added.is_ok().then_some((batch, checked));
        added
    });
    // The rows read before an error are added before it is returned.
    if let Some((rows, checked)) = pending.take() {
        read.add_batch(&rows, checked, report)?;
    }
    read_all?;
    let RowsRead {
        mut plan,
        templates,
        names,
        seen,
        references,
        keep,
        ..
    } = read;
    plan.requests = keep
        .map(RequestsWriter::finish)
        .transpose()?
        .unwrap_or_default();
    place_children(&mut plan, &seen, &names, references, report);
    plan.count_outcomes();
    templates.settle(&mut plan);
    Ok(plan)
}

/// Checks a batch of rows in parallel (rows `first..`): each row's request or problems, and
/// the digest of its cells when an earlier run's results are compared by them
/// (`earlier.as_written`).
fn check_batch(
    mapping: &Mapping,
    first: usize,
    batch: &[RawRow],
    default_template: Option<&str>,
    earlier: &EarlierRuns,
    keeping: bool,
) -> Vec<Checked> {
    let digest = earlier.as_written.is_some();
    batch
        .par_iter()
        .enumerate()
        .map(|(at, row)| {
            let mut checked = check(mapping, first + at, row, default_template, earlier, keeping);
            if digest {
                checked.written = unchanged::input_row_hash(&row.record, mapping.width());
            }
            checked
        })
        .collect()
}

impl Plan {
    /// Counts the rows to send, the invalid ones and those done before, from `outcomes`.
    fn count_outcomes(&mut self) {
        for index in 0..self.outcomes.len() {
            match self.outcomes.status(index) {
                None => self.to_send += 1,
                Some(Status::Invalid) => self.invalid += 1,
                Some(_) => self.done_before += 1,
            }
        }
    }
}

/// How many problems of the rows read before a refusal the refusal lists (`validate` lists
/// every one).
const LISTED_BEFORE_REFUSAL: usize = 100;

/// As [`build`], for the commands that show invalid rows only once the plan is made (`import`,
/// its dry run, `plan`): a file refused part way through (a quote left open) is refused with
/// the problems of the rows read before the refusal listed first, each with its line, then the
/// refusal, so that one run names them all. `validate` is the command that lists every one
/// ([`crate::input::validate_command`]), for the hint when more are found than listed. The
/// request of each valid row is kept in a spill file in `dir` ([`Plan::requests`]).
///
/// # Errors
/// As [`build`]; [`Error::Io`] when `dir` has no room for the requests.
pub fn build_listing_refusal(
    source: &Source,
    mapping: &Mapping,
    earlier: &mut EarlierRuns,
    default_template: Option<&str>,
    dir: &Path,
    validate: &str,
) -> Result<Plan, Error> {
    let keep = RequestsWriter::new(dir)?;
    listing_refusal(
        source,
        mapping,
        earlier,
        default_template,
        Some(keep),
        validate,
    )
}

/// As [`build_listing_refusal`], keeping the request of each valid row in `keep`
/// ([`Plan::requests`]).
///
/// # Errors
/// As [`build_keeping`].
fn listing_refusal(
    source: &Source,
    mapping: &Mapping,
    earlier: &mut EarlierRuns,
    default_template: Option<&str>,
    keep: Option<RequestsWriter>,
    validate: &str,
) -> Result<Plan, Error> {
    let mut listed = Vec::new();
    let mut more = 0usize;
    let numbering = source.numbering().clone();
    let built = build_keeping(
        source,
        mapping,
        earlier,
        default_template,
        keep,
        &mut |row| {
            for problem in row.problems {
                if listed.len() < LISTED_BEFORE_REFUSAL {
                    listed.push(format!("{}: {problem}", numbering.at(row.line)));
                } else {
                    more += 1;
                }
            }
        },
    );
    match built {
        Err(Error::Input { path, message }) if !listed.is_empty() => {
            // The path once, before the first line: the command may name the file otherwise
            // than the snapshot it read.
            let mut text = listed.join("\n");
            if more > 0 {
                text.push_str(&format!(
                    "\nand {more} more problem{} before the refusal below (`{validate}` lists \
                     every one)",
                    if more == 1 { "" } else { "s" }
                ));
            }
            text.push('\n');
            text.push_str(&message);
            Err(Error::Input {
                path,
                message: text,
            })
        }
        other => other,
    }
}

/// Whether the row's name is a slug that an earlier row of the file was given already, for a
/// row keyed by its id (a row keyed by its name repeats a key instead). A slug is a name the
/// user never wrote: `Acme Inc` and `ACME, Inc.` would become two organizations with one
/// name, whatever the source of their ids. A row an earlier run finished is left as it is.
fn name_collision(
    mapping: &Mapping,
    row: &RawRow,
    done: Option<usize>,
    plan: &Plan,
    slugged: &mut FingerprintMap,
) -> Option<Problem> {
    let text = mapping.name_slugged_from(&row.record)?;
    let keys = mapping.row_keys(&row.record);
    let (Some(_), Some(name)) = (&keys.id, &keys.name) else {
        return None;
    };
    let lines = &plan.lines;
    let index = lines.len() - 1;
    let (first, _) = slugged.get_or_insert(fingerprint(name), row_number(index));
    let first = first as usize;
    if first == index || done.is_some() {
        return None;
    }
    Some(Problem::new(
        ProblemKind::DuplicateName,
        None,
        format!(
            "name {} (the slug of {}) is already the name of {}; two organizations \
             would share one name: make the names differ, or map name from another column",
            quoted(name),
            quoted(text),
            plan.numbering.short(lines[first])
        ),
    ))
}

/// The first row of each key, to find repeated keys and the rows parents name. A rerun's rows
/// come in the order of the results file, so the rows an earlier run finished are kept by
/// their entry among the earlier runs' ([`EarlierRuns::done_entry`]), in a table read and
/// written in order; only the others go to a map, read and written at random.
struct FirstRows<'a> {
    earlier: &'a EarlierRuns,
    /// By entry of a row done earlier: its first row, or `u32::MAX`.
    by_entry: Vec<u32>,
    /// The first row of each other key.
    others: FingerprintMap,
}

impl<'a> FirstRows<'a> {
    /// Room for the keys of `rows` rows, those done earlier apart.
    fn new(earlier: &'a EarlierRuns, rows: usize) -> Self {
        FirstRows {
            earlier,
            by_entry: vec![u32::MAX; earlier.entry_count()],
            others: FingerprintMap::with_capacity(rows.saturating_sub(earlier.done_count())),
        }
    }

    /// The first row of the key whose fingerprint is `key`, and whether it is new: a new key
    /// gets `row`. `done` is its entry among the rows done earlier, if it is one.
    fn get_or_insert(&mut self, key: Fingerprint, done: Option<usize>, row: u32) -> (u32, bool) {
        match done {
            Some(entry) if self.by_entry[entry] == u32::MAX => {
                self.by_entry[entry] = row;
                (row, true)
            }
            Some(entry) => (self.by_entry[entry], false),
            None => self.others.get_or_insert(key, row),
        }
    }

    /// The first row of the key whose fingerprint is `key`.
    fn get(&self, key: Fingerprint) -> Option<u32> {
        match self.earlier.done_entry(key) {
            Some(entry) => Some(self.by_entry[entry]).filter(|row| *row != u32::MAX),
            None => self.others.get(key),
        }
    }
}

/// Checks one row, the `index`th of the file, and makes its request's JSON if it is valid and
/// `keeping` the requests (otherwise the row is only checked, none of its cells copied). A row
/// an earlier run finished is not checked again: it stays done (only a repeated key makes it
/// invalid), and a rerun decides quickly that it has nothing to send.
fn check(
    mapping: &Mapping,
    index: usize,
    row: &RawRow,
    default_template: Option<&str>,
    earlier: &EarlierRuns,
    keeping: bool,
) -> Checked {
    if let Some(problem) = &row.problem {
        return Checked {
            key: None,
            name: None,
            refers: false,
            done: None,
            problems: vec![Problem::new(ProblemKind::Unreadable, None, problem.clone())],
            written: 0,
            body: None,
        };
    }
    let keys = mapping.row_keys(&row.record);
    let key = keys
        .key_parts()
        .map(|(kind, value)| fingerprint_parts(&[kind, value]));
    let done = key.and_then(|key| earlier.done_entry_at(index, key));
    let (problems, body) = match done {
        Some(_) => (Vec::new(), None),
        None if keeping => match mapping.to_request(&row.record, default_template) {
            Ok(request) => {
                let body = serde_json::to_vec(&request).expect("a request always serialises");
                (Vec::new(), Some(body))
            }
            Err(problems) => (problems, None),
        },
        None => (mapping.problems(&row.record), None),
    };
    Checked {
        key,
        name: keys
            .name
            .as_deref()
            .filter(|_| mapping.names_parents())
            .map(fingerprint),
        refers: keys.parent.is_some() || keys.parent_id.is_some(),
        done,
        problems,
        written: 0,
        body,
    }
}

/// Records an invalid row: counts, examples, the report, and its outcome. `problems` is
/// never empty.
pub(crate) fn invalid(
    plan: &mut Plan,
    line: u64,
    problems: &[Problem],
    report: &mut dyn FnMut(&InvalidRow),
) -> Outcome {
    for p in problems {
        *plan.problem_counts.entry(p.kind).or_default() += 1;
    }
    let what = problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    let text = format!("{}: {what}", plan.numbering.at(line));
    if plan.invalid_examples.len() < EXAMPLES {
        plan.invalid_examples.push((line, what));
    }
    report(&InvalidRow { line, problems });
    Outcome::invalid(text, &problems[0])
}

#[cfg(test)]
mod tests;
