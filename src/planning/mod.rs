//! Before anything is sent: every row is read and checked (in parallel with rayon), duplicate
//! keys and parent references are resolved, and rows that an earlier run finished are set
//! aside. The plan says, for each row in input order, whether to send it (and in which wave:
//! parents before children) or what its outcome already is.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasherDefault;
use std::path::Path;

use rayon::prelude::*;

mod hierarchy;
mod prepare;

use hierarchy::place_children;
pub use prepare::{Prepared, prepare};

use crate::Error;
use crate::input::expected_rows;
use crate::input::quote::quoted;
use crate::input::{self, Dialect, Keys, Mapping, Problem, ProblemKind, RawRow};
use crate::record::{EarlierRuns, Outcome, Status};

/// Rows checked together in one parallel batch.
const BATCH: usize = 8192;
/// Invalid rows quoted in full on the terminal by `import` (all are in the results file).
const EXAMPLES: usize = 10;
/// Lines of rows the results file does not list, named on the terminal.
const UNLISTED_EXAMPLES: usize = 10;

/// What to do with each row.
#[derive(Debug, Default)]
pub struct Plan {
    /// One entry per data row, in input order: `None` to send it, or its known outcome
    /// (invalid, or done by an earlier run).
    pub outcomes: Vec<Option<Outcome>>,
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
    /// The first invalid rows, as `line N: problems`, for the terminal.
    pub invalid_examples: Vec<String>,
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
    keys: Keys,
    problems: Vec<Problem>,
}

/// Checks every row of `path` and decides what to send.
///
/// A row is invalid when its fields break a rule, its key (id, else name) repeats an earlier
/// row's, its `parent` names no row of the file, it is its own ancestor, or its parent row is
/// invalid. A row that an earlier run finished (in `earlier.done`) is not sent. `report` is
/// called once for every invalid row.
///
/// # Errors
/// [`Error::Input`]/[`Error::Io`] when the file cannot be read.
pub fn build(
    path: &Path,
    dialect: &Dialect,
    mapping: &Mapping,
    earlier: &EarlierRuns,
    default_template: Option<&str>,
    report: &mut dyn FnMut(&InvalidRow),
) -> Result<Plan, Error> {
    let mut reader = input::reader(path, dialect)?;
    input::read_headers_in(path, dialect, &mut reader)?;
    let mut rows = input::rows(path, dialect, reader, mapping.width());

    let by_name = mapping.names_parents();
    let mut plan = Plan {
        wave_count: 1,
        ..Plan::default()
    };
    // Key -> first row with it; names -> row, only when rows may name parents by name. Both
    // by fingerprint: 16 bytes a row instead of a string.
    // Sized up front from the file's line count, so that no table or vector is ever copied
    // into one twice its size (a million rows held both at once).
    let expected = expected_rows(path);
    let mut seen: FingerprintMap = HashMap::with_capacity_and_hasher(expected, Default::default());
    let mut names = FingerprintMap::default();
    // Slugged names -> first row with it, for rows keyed by an id (see `name_collision`).
    let mut slugged = FingerprintMap::default();
    if by_name {
        names.reserve(expected);
    }
    plan.outcomes.reserve(expected);
    plan.lines.reserve(expected);
    // (child, reference, whether it came from `parent` rather than `parent_id`).
    let mut references: Vec<(usize, String, bool)> = Vec::new();
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
            .map(|row| check(mapping, row, default_template, earlier))
            .collect();
        for (row, checked) in batch.iter().zip(checked) {
            let index = plan.outcomes.len();
            plan.lines.push(row.line);
            let Checked { keys, mut problems } = checked;
            // Whether the row repeats an earlier row's key: an earlier run's line is about
            // the first row with a key.
            let mut repeat = false;
            if let Some(key) = &keys.key {
                match seen.get(&fingerprint(key)) {
                    Some(first) => {
                        repeat = true;
                        let (what, value) = key.split_once(':').unwrap_or(("key", key));
                        problems.insert(
                            0,
                            Problem::new(
                                ProblemKind::DuplicateKey,
                                None,
                                format!(
                                    "{what} {} is already used by line {}; each \
                                     organization must appear once",
                                    quoted(value),
                                    plan.lines[*first]
                                ),
                            ),
                        );
                    }
                    None => {
                        seen.insert(fingerprint(key), index);
                    }
                }
            }
            if !repeat
                && let Some(problem) =
                    name_collision(mapping, row, &keys, earlier, &plan.lines, &mut slugged)
            {
                problems.insert(0, problem);
            }
            if by_name && let Some(name) = &keys.name {
                names.entry(fingerprint(name)).or_insert(index);
            }
            match (&keys.parent, &keys.parent_id) {
                (Some(_), Some(_)) => problems.push(Problem::new(
                    ProblemKind::MissingParent,
                    None,
                    "both parent and parent_id are set; give one",
                )),
                (Some(parent), None) => references.push((index, parent.clone(), true)),
                (None, Some(parent_id)) => references.push((index, parent_id.clone(), false)),
                (None, None) => {}
            }
            if let Some(key) = keys.key.as_deref().filter(|_| !repeat) {
                if earlier.in_doubt.contains(key) {
                    plan.in_doubt_rows.push(index);
                } else if earlier.had_results && problems.is_empty() && !earlier.lists(key) {
                    if plan.unlisted_lines.len() < UNLISTED_EXAMPLES {
                        plan.unlisted_lines.push(row.line);
                    }
                    plan.unlisted += 1;
                }
            }
            let outcome = if problems.is_empty() {
                keys.key
                    .and_then(|key| earlier.done.get(&key).map(|r| r.outcome.clone()))
            } else {
                Some(invalid(&mut plan, row.line, &problems, report))
            };
            plan.outcomes.push(outcome);
        }
    }

    place_children(&mut plan, &seen, &names, references, report);
    for outcome in &plan.outcomes {
        match outcome {
            None => plan.to_send += 1,
            Some(o) if o.status == Status::Invalid => plan.invalid += 1,
            Some(_) => plan.done_before += 1,
        }
    }
    Ok(plan)
}

/// Whether the row's name is a slug that an earlier row of the file was given already, for a
/// row keyed by its id (a row keyed by its name repeats a key instead). A slug is a name the
/// user never wrote: `Acme Inc` and `ACME, Inc.` would become two organizations with one
/// name, whatever the source of their ids. A row an earlier run finished is left as it is.
fn name_collision(
    mapping: &Mapping,
    row: &RawRow,
    keys: &Keys,
    earlier: &EarlierRuns,
    lines: &[u64],
    slugged: &mut FingerprintMap,
) -> Option<Problem> {
    let (Some(key), Some(_), Some(name)) = (&keys.key, &keys.id, &keys.name) else {
        return None;
    };
    let text = mapping.name_slugged_from(&row.record)?;
    let index = lines.len() - 1;
    let first = *slugged.entry(fingerprint(name)).or_insert(index);
    if first == index || earlier.done.contains_key(key) {
        return None;
    }
    Some(Problem::new(
        ProblemKind::DuplicateName,
        None,
        format!(
            "name {} (the slug of {}) is already the name of line {}; two organizations \
             would share one name: make the names differ, or map name from another column",
            quoted(name),
            quoted(text),
            lines[first]
        ),
    ))
}

/// Checks one row. A row an earlier run finished is not checked again: it stays done (only a
/// repeated key makes it invalid), and a rerun decides quickly that it has nothing to send.
fn check(
    mapping: &Mapping,
    row: &RawRow,
    default_template: Option<&str>,
    earlier: &EarlierRuns,
) -> Checked {
    if let Some(problem) = &row.problem {
        return Checked {
            keys: Keys::default(),
            problems: vec![Problem::new(ProblemKind::Unreadable, None, problem.clone())],
        };
    }
    let keys = mapping.keys(&row.record);
    let done = keys
        .key
        .as_ref()
        .is_some_and(|key| earlier.done.contains_key(key));
    let problems = if done {
        Vec::new()
    } else {
        mapping
            .to_request(&row.record, default_template)
            .err()
            .unwrap_or_default()
    };
    Checked { keys, problems }
}

/// A 128-bit fingerprint of a key, to tell keys apart without keeping them: two SipHash
/// digests with different prefixes. Two of a million keys share one with odds near 1e-27.
/// Two `u64`s rather than a `u128`, whose 16-byte alignment would pad each map entry.
type Fingerprint = (u64, u64);

/// Rows by the fingerprint of their key. A fingerprint is a hash already, so the map takes
/// its first half as it is rather than hashing it again.
type FingerprintMap = HashMap<Fingerprint, usize, BuildHasherDefault<FirstHalf>>;

/// The [`Hasher`](std::hash::Hasher) of a [`FingerprintMap`]: the last `u64` written.
#[derive(Default)]
struct FirstHalf(u64);

impl std::hash::Hasher for FirstHalf {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64`s are hashed here; anything else is folded in all the same.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        if self.0 == 0 {
            self.0 = n;
        }
    }
}

fn fingerprint(key: &str) -> Fingerprint {
    use std::hash::Hasher;
    let half = |salt: u8| {
        let mut hasher = std::hash::DefaultHasher::new();
        hasher.write_u8(salt);
        hasher.write(key.as_bytes());
        hasher.finish()
    };
    (half(0), half(1))
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
    let text = format!(
        "line {line}: {}",
        problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    );
    if plan.invalid_examples.len() < EXAMPLES {
        plan.invalid_examples.push(text.clone());
    }
    report(&InvalidRow { line, problems });
    Outcome::invalid(text, &problems[0])
}

#[cfg(test)]
mod tests;
