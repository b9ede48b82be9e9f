//! A finished run's results file read back whole, for `verify` and `undo`: each row's
//! outcome, the request its input columns make and its parent row; and written back with
//! rows marked to be sent again. Each row is checked as it is read ([`read_back`]), as a rerun
//! checks it, and a file of another tenant than the command's is refused ([`TenantCheck`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use csv::StringRecord;

use super::csv_out::CsvOut;
use super::layout::{Column, Layout};
use super::read_back::{self, Place};
use super::results_reader::{Checked, Opened, check_row, refuse};
use super::{Status, TenantCheck};
use crate::Error;
use crate::api::CreateOrganization;
use crate::input::{self, Mapping, MappingSpec};

/// One row of a results file.
#[derive(Debug, Clone)]
pub struct ResultRow {
    /// The line of the results file where the row starts.
    pub line: u64,
    /// Its cells as the input had them (neutralizing undone), as many as the row has.
    pub cells: StringRecord,
    /// The row's name, as the mapping makes it (empty when it has none).
    pub name: String,
    /// What became of the row, as read ([`read_back`]: `created` without a valid org_id is read
    /// as `unconfirmed`).
    pub status: Status,
    /// The organization's id, when it exists (a valid id: [`read_back::is_org_id`]).
    pub org_id: Option<String>,
    /// Whether an attempt at the row may have created its organization without an answer
    /// saying so (`unconfirmed`, or `failed` without a definite refusal): a rerun looks such a
    /// row up before sending it, and `undo` looks it up to delete what it finds.
    pub in_doubt: bool,
    /// The row's own id (its `id` column), when it has one.
    pub id: Option<String>,
    /// The row's error, when it failed.
    pub error: Option<String>,
    /// The create request the row's input columns make (`None` when they make none).
    pub request: Option<CreateOrganization>,
    /// The row of the file that is its parent, if any.
    pub parent_row: Option<usize>,
}

/// A results file, read back whole.
#[derive(Debug)]
pub struct ResultsFile {
    /// The file.
    pub path: PathBuf,
    /// Its field separator, for writing it back.
    pub delimiter: u8,
    /// Where its columns are, in the version it was written in.
    pub layout: Layout,
    /// Its header, neutralizing undone.
    pub headers: StringRecord,
    /// Its rows, in order.
    pub rows: Vec<ResultRow>,
    /// Rows read other than as they are written, with why, for stderr.
    pub warnings: Vec<(Place, String)>,
}

/// Refuses a file whose rows cannot all be read (`refused`, plus two rows with one
/// organization), or that records no tenant and `check` does not adopt it.
fn check_whole(
    path: &Path,
    rows: &[ResultRow],
    refused: Vec<(Place, String)>,
    layout: &Layout,
    check: &TenantCheck,
) -> Result<(), Error> {
    let same = read_back::same_organization(rows.iter().filter_map(|row| {
        row.org_id
            .as_deref()
            .filter(|_| row.status.is_done())
            .map(|id| (id, Place::Results(row.line)))
    }));
    refuse(path, refused, same)?;
    if !layout.version().records_tenant() {
        let organizations = rows
            .iter()
            .any(|row| row.status.is_done() || row.status == Status::Unconfirmed);
        check.unmarked(path, organizations)?;
    }
    Ok(())
}

/// Each row's key and name, and each row's parent reference, to find its parent row once all
/// rows are read.
#[derive(Default)]
struct ParentRefs {
    /// The first row of each key.
    keys: HashMap<String, usize>,
    /// The first row of each name.
    names: HashMap<String, usize>,
    /// (child row, the parent it names, whether by `parent`, which may be a name).
    references: Vec<(usize, String, bool)>,
}

impl ParentRefs {
    /// Notes the row `index`, of these keys.
    fn note(&mut self, index: usize, k: &input::mapping::Keys) {
        if let Some(key) = &k.key {
            self.keys.entry(key.clone()).or_insert(index);
        }
        if let Some(name) = &k.name {
            self.names.entry(name.clone()).or_insert(index);
        }
        match (&k.parent, &k.parent_id) {
            (Some(p), _) => self.references.push((index, p.clone(), true)),
            (None, Some(p)) => self.references.push((index, p.clone(), false)),
            _ => {}
        }
    }

    /// Sets each row's parent row, where its parent is a row of the file (never itself).
    fn resolve(self, rows: &mut [ResultRow]) {
        for (child, reference, named) in self.references {
            let parent = self
                .keys
                .get(&format!("id:{reference}"))
                .or_else(|| named.then(|| self.names.get(&reference)).flatten())
                .copied()
                .filter(|p| *p != child);
            rows[child].parent_row = parent;
        }
    }
}

/// The refusal of a results file that does not exist yet while the journal of the import
/// that writes it lies beside it: a first import killed before its end, whose work is in its
/// journal only. `None` when the file exists or no journal says why it does not.
pub fn not_written_yet(path: &Path) -> Option<Error> {
    (!path.exists() && super::journal_path(path).exists()).then(|| Error::Input {
        path: path.to_path_buf(),
        message: "not written yet: the import that writes it was interrupted before it finished \
                  (its journal is beside it); rerun the same import first"
            .into(),
    })
}

impl ResultsFile {
    /// Reads the results file at `path`, in any version; `spec` and `default_template` are
    /// the mapping and template the import was given, so that each row's request is made as
    /// it was then. The file must be of the tenant `check` accepts.
    ///
    /// # Errors
    /// [`Error::Input`] when the file was written for another tenant, or by an earlier version
    /// that records none and `check` does not adopt it ([`TenantCheck`]), before anything is
    /// sent;
    /// [`Error::Input`] when the file is not an orgimport results file or does not fit the
    /// mapping, or when one of its rows cannot be read without guessing what became of it (a
    /// status that is not one, a line cut short, two rows with one organization; the message
    /// names each line and how to fix it); [`Error::Io`] when it cannot be read.
    pub fn read(
        path: &Path,
        spec: &MappingSpec,
        default_template: Option<&str>,
        check: &TenantCheck,
    ) -> Result<ResultsFile, Error> {
        if let Some(refusal) = not_written_yet(path) {
            return Err(refusal);
        }
        super::check_regular(path, "the results file")?;
        let opened = Opened::open(path, |why| {
            format!("{why}; this is not an orgimport results file")
        })?;
        let layout = opened.layout;
        let mapping =
            Mapping::new(&opened.input_headers(), spec).map_err(|message| Error::Input {
                path: path.to_path_buf(),
                message,
            })?;
        let mut rows = Vec::new();
        let mut parents = ParentRefs::default();
        let mut warnings: Vec<(Place, String)> = Vec::new();
        let mut refused: Vec<(Place, String)> = Vec::new();
        for row in opened.rows()? {
            let row = row?;
            let (cells, outcome) = match check_row(&row, layout, check) {
                Checked::OtherTenant(place, theirs) => {
                    return Err(check.other_tenant(path, &place.to_string(), &theirs));
                }
                Checked::Refused(place, why) => {
                    refused.push((place, why));
                    continue;
                }
                Checked::Read {
                    place,
                    cells,
                    outcome,
                    why,
                } => {
                    warnings.extend(why.map(|why| (place, why)));
                    (cells.into_owned(), outcome)
                }
            };
            let input_part: StringRecord = cells.iter().take(layout.input_width()).collect();
            let index = rows.len();
            let k = mapping.keys(&input_part);
            parents.note(index, &k);
            rows.push(ResultRow {
                line: row.line,
                name: k.name.unwrap_or_default(),
                status: outcome.status,
                in_doubt: super::earlier_runs::may_have_created(&outcome),
                org_id: outcome.org_id,
                id: k.id,
                error: outcome.error,
                request: mapping.to_request(&input_part, default_template).ok(),
                parent_row: None,
                cells,
            });
        }
        check_whole(path, &rows, refused, &layout, check)?;
        parents.resolve(&mut rows);
        Ok(ResultsFile {
            path: path.to_path_buf(),
            delimiter: opened.source.delimiter(),
            layout,
            headers: opened.headers,
            rows,
            warnings,
        })
    }

    /// The id the parent of row `index` should have: its parent row's organization, else the
    /// `parent_id` the row names; `None` for a top-level row.
    pub fn expected_parent(&self, index: usize) -> Option<String> {
        let row = &self.rows[index];
        match row.parent_row {
            Some(p) => self.rows[p].org_id.clone(),
            None => row.request.as_ref().and_then(|r| r.parent_id.clone()),
        }
    }

    /// How many parent rows row `index` has above it (0 for a row without one).
    pub fn depth(&self, index: usize) -> usize {
        let mut depth = 0;
        let mut at = index;
        while let Some(parent) = self.rows[at].parent_row {
            depth += 1;
            at = parent;
            if depth > self.rows.len() {
                break; // A cycle (the import refused it); stop counting.
            }
        }
        depth
    }

    /// Writes the file again, in its own version and delimiter, with the rows for which
    /// `sent_again` gives a reason marked to be sent by the next import: status `not_sent`,
    /// no `org_id` nor `http_status`, `error` set to the reason. Every other cell stays as it
    /// was. Written beside the file and renamed over it.
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be written.
    pub fn mark_not_sent<'a>(
        &self,
        sent_again: impl Fn(usize) -> Option<&'a str>,
    ) -> Result<(), Error> {
        let layout = self.layout;
        let width = layout.width();
        let mut out = CsvOut::replace(&self.path, self.delimiter)?;
        out.row(&self.headers)?;
        let mut fields: Vec<String> = Vec::with_capacity(width);
        for (index, row) in self.rows.iter().enumerate() {
            fields.clear();
            fields.extend(row.cells.iter().map(str::to_string));
            input::lay_out(&mut fields, width);
            if let Some(why) = sent_again(index) {
                layout.set(&mut fields, Column::Status, Status::NotSent.as_str());
                layout.set(&mut fields, Column::OrgId, "");
                layout.set(&mut fields, Column::HttpStatus, "");
                layout.set(&mut fields, Column::Error, why);
            }
            out.row(&fields)?;
        }
        out.finish()
    }
}
