//! The review's data: every problem of every row as `validate` finds it (its own code,
//! [`crate::commands::validate::check`]), each placed on its cell, the rows' cells kept for
//! the rows with problems only, and the hierarchy the file describes. Also the corrected copy
//! a cell's edit is written to: the input as CSV with every edit in it, which is the file the
//! plan and the run then read (the CLI reads it the same way).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::Error;
use crate::commands::validate;
use crate::input::formulas::neutralize;
use crate::input::quote::escaped;
use crate::input::{Dialect, MappingSpec, ProblemKind, Source};

/// What the review found in one file.
pub(crate) struct Review {
    /// The file checked: the upload, or its corrected copy once a cell was edited.
    pub(crate) input: PathBuf,
    /// The header.
    pub(crate) headers: Vec<String>,
    /// Data rows.
    pub(crate) rows: usize,
    /// The rows with problems, in file order.
    pub(crate) bad: Vec<BadRow>,
    /// Problems by kind.
    pub(crate) by_kind: BTreeMap<ProblemKind, usize>,
    /// How messages name rows (`line 12` or `row 12`).
    pub(crate) numbering: crate::input::Numbering,
    /// Every row's line (or sheet row), by index.
    pub(crate) lines: Vec<u64>,
    /// Every row's name (or id), for the hierarchy.
    pub(crate) names: Vec<String>,
    /// Rows whose parent is another row: child -> parent.
    pub(crate) parents: HashMap<usize, usize>,
}

/// A row with problems.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct BadRow {
    /// Its index among the data rows (stable across corrected copies).
    pub(crate) index: usize,
    /// Its line (or sheet row) in the file checked.
    pub(crate) line: u64,
    /// Its problems.
    pub(crate) problems: Vec<CellProblem>,
    /// Its cells, in the header's order.
    pub(crate) cells: Vec<String>,
}

/// One problem, on its cell when one column is at fault.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CellProblem {
    /// Its kind, as `validate`'s summary names it (`bad email`).
    pub(crate) kind: String,
    /// The column's header as `validate` names it, if one column is at fault.
    pub(crate) column: Option<String>,
    /// The column's position, when the column is one of the file's.
    pub(crate) cell: Option<usize>,
    /// What is wrong, as `validate` says it.
    pub(crate) message: String,
}

/// Checks the file at `input` as `validate` does, with `spec` and `template`.
///
/// # Errors
/// As `validate`: the file or the mapping cannot be used at all.
pub(crate) fn check(
    input: &Path,
    dialect: &Dialect,
    spec: &MappingSpec,
    template: Option<&str>,
) -> Result<Review, Error> {
    let source = Source::settle(input, dialect)?;
    let mapping = source.mapping(spec)?;
    let headers: Vec<String> = source.headers().iter().map(str::to_string).collect();
    let escaped_headers: Vec<String> = headers.iter().map(|h| escaped(h).into_owned()).collect();
    let mut reported: Vec<(u64, Vec<CellProblem>)> = Vec::new();
    let plan = validate::check(&source, &mapping, template, &mut |row| {
        let problems = row
            .problems
            .iter()
            .map(|p| CellProblem {
                kind: p.kind.label().to_string(),
                cell: p
                    .column
                    .as_ref()
                    .and_then(|c| escaped_headers.iter().position(|h| h == c)),
                column: p.column.clone(),
                message: p.message.clone(),
            })
            .collect();
        reported.push((row.line, problems));
    })?;
    let index_of: HashMap<u64, usize> = plan
        .lines
        .iter()
        .enumerate()
        .map(|(i, line)| (*line, i))
        .collect();
    let mut by_index: BTreeMap<usize, BadRow> = BTreeMap::new();
    for (line, problems) in reported {
        let index = index_of.get(&line).copied().unwrap_or_default();
        by_index
            .entry(index)
            .or_insert_with(|| BadRow {
                index,
                line,
                problems: Vec::new(),
                cells: Vec::new(),
            })
            .problems
            .extend(problems);
    }
    let mut names = Vec::with_capacity(plan.lines.len());
    for (i, row) in source.rows(mapping.width())?.enumerate() {
        let row = row?;
        let keys = mapping.keys(&row.record);
        names.push(keys.name.or(keys.id).unwrap_or_default());
        if let Some(bad) = by_index.get_mut(&i) {
            bad.cells = row.fields_in(headers.len());
        }
    }
    Ok(Review {
        input: input.to_path_buf(),
        headers,
        rows: plan.outcomes.len(),
        bad: by_index.into_values().collect(),
        by_kind: plan.problem_counts.clone(),
        numbering: plan.numbering.clone(),
        names,
        lines: plan.lines.clone(),
        parents: plan.parents.clone(),
    })
}

/// Writes the corrected copy of `source`'s rows to `out` (UTF-8 CSV, its delimiter, the
/// header then every row as read), with `edits` (row index -> column -> value) in it. A
/// value a spreadsheet would run as a formula is written as orgimport's own files write it
/// (`'=...`), which the CLI reads back as typed.
///
/// # Errors
/// The input cannot be read again, or the copy cannot be written.
pub(crate) fn write_corrected(
    source: &Source,
    edits: &HashMap<usize, HashMap<usize, String>>,
    out: &Path,
) -> Result<(), Error> {
    let width = source.headers().len();
    let mut writer = crate::input::csv_writer(Vec::new(), source.delimiter());
    let io = |e: csv::Error| Error::io(out, std::io::Error::other(e));
    writer.write_record(source.headers()).map_err(io)?;
    for (i, row) in source.rows(width)?.enumerate() {
        let row = row?;
        let mut fields: Vec<String> = row.record.iter().map(str::to_string).collect();
        if let Some(edits) = edits.get(&i) {
            for (column, value) in edits {
                if fields.len() <= *column {
                    fields.resize(*column + 1, String::new());
                }
                fields[*column] = neutralize(value).into_owned();
            }
        }
        writer.write_record(&fields).map_err(io)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| Error::io(out, std::io::Error::other(e.to_string())))?;
    crate::private_file::write(out, &bytes).map_err(|e| Error::io(out, e))
}

/// The corrected copy's path for `input`: `<stem>.corrected.csv` beside it.
pub(crate) fn corrected_path(input: &Path) -> PathBuf {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "customers".into());
    let stem = stem.strip_suffix(".corrected").unwrap_or(&stem).to_string();
    input.with_file_name(format!("{stem}.corrected.csv"))
}
