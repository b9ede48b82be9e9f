//! Reading a finished run's results file back, for `verify`, `undo` and the end-of-run
//! summary: each row's outcome, the request its input columns make, and its parent row.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use csv::StringRecord;

use crate::Error;
use crate::api::CreateOrganization;
use crate::input::{self, Dialect, Mapping, MappingSpec};
use crate::record::{self, Status, restore};

/// One row of a results file.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The line of the results file where the row starts.
    pub line: u64,
    /// The fields as they are in the file (formula cells still neutralized).
    pub raw: StringRecord,
    /// The row's name, as the mapping makes it (empty when it has none).
    pub name: String,
    /// What became of the row (`None` when the status cell is not one orgimport writes).
    pub status: Option<Status>,
    /// The organization's id, when it exists.
    pub org_id: Option<String>,
    /// The row's error, when it failed.
    pub error: Option<String>,
    /// The create request the row's input columns make (`None` when they make none).
    pub request: Option<CreateOrganization>,
    /// The row of the file that is its parent, if any.
    pub parent_row: Option<usize>,
}

/// A results file, read back.
#[derive(Debug)]
pub struct Ledger {
    /// The file.
    pub path: PathBuf,
    /// Its field separator, for writing it back.
    pub delimiter: u8,
    /// Its header as in the file.
    pub headers: StringRecord,
    /// Its rows, in order.
    pub entries: Vec<Entry>,
}

impl Ledger {
    /// Reads the results file at `path`; `spec` and `default_template` are the mapping and
    /// template the import was given, so that each row's request is made as it was then.
    ///
    /// # Errors
    /// [`Error::Input`] when the file is not an orgimport results file or does not fit the
    /// mapping; [`Error::Io`] when it cannot be read.
    pub fn read(
        path: &Path,
        spec: &MappingSpec,
        default_template: Option<&str>,
    ) -> Result<Ledger, Error> {
        let bad = |message: String| Error::Input {
            path: path.to_path_buf(),
            message,
        };
        let delimiter = input::delimiter_of(path, &Dialect::RESULTS)?;
        let mut reader = input::reader(path, &Dialect::RESULTS)?;
        let headers = input::read_headers(path, &mut reader)?;
        let width = headers.len();
        let restored: StringRecord = headers.iter().map(restore).collect();
        let input_width = width
            - record::result_width(&restored)
                .map_err(|why| bad(format!("{why}; this is not an orgimport results file")))?;
        let input_headers: StringRecord = restored.iter().take(input_width).collect();
        let mapping = Mapping::new(&input_headers, spec).map_err(bad)?;
        let mut entries = Vec::new();
        // Row keys and names, and each row's parent reference, to find parent rows.
        let mut keys: HashMap<String, usize> = HashMap::new();
        let mut names: HashMap<String, usize> = HashMap::new();
        let mut references: Vec<(usize, String, bool)> = Vec::new();
        for row in input::rows(path, &Dialect::RESULTS, reader, width) {
            let row = row?;
            let record: StringRecord = row.record.iter().map(restore).collect();
            let input_part: StringRecord = record.iter().take(input_width).collect();
            let field = |i: usize| {
                Some(record.get(input_width + i).unwrap_or("").to_string())
                    .filter(|s| !s.is_empty())
            };
            let index = entries.len();
            let k = mapping.keys(&input_part);
            if let Some(key) = &k.key {
                keys.entry(key.clone()).or_insert(index);
            }
            if let Some(name) = &k.name {
                names.entry(name.clone()).or_insert(index);
            }
            match (&k.parent, &k.parent_id) {
                (Some(p), _) => references.push((index, p.clone(), true)),
                (None, Some(p)) => references.push((index, p.clone(), false)),
                _ => {}
            }
            entries.push(Entry {
                line: row.line,
                raw: row.record,
                name: k.name.unwrap_or_default(),
                status: field(0).as_deref().and_then(Status::parse),
                org_id: field(1),
                error: field(3),
                request: mapping.to_request(&input_part, default_template).ok(),
                parent_row: None,
            });
        }
        for (child, reference, named) in references {
            let parent = keys
                .get(&format!("id:{reference}"))
                .or_else(|| named.then(|| names.get(&reference)).flatten())
                .copied()
                .filter(|p| *p != child);
            entries[child].parent_row = parent;
        }
        Ok(Ledger {
            path: path.to_path_buf(),
            delimiter,
            headers,
            entries,
        })
    }

    /// The id the parent of row `index` should have: its parent row's organization, else the
    /// `parent_id` the row names; `None` for a top-level row.
    pub fn expected_parent(&self, index: usize) -> Option<String> {
        let entry = &self.entries[index];
        match entry.parent_row {
            Some(p) => self.entries[p].org_id.clone(),
            None => entry.request.as_ref().and_then(|r| r.parent_id.clone()),
        }
    }

    /// How many parent rows row `index` has above it (0 for a row without one).
    pub fn depth(&self, index: usize) -> usize {
        let mut depth = 0;
        let mut at = index;
        while let Some(parent) = self.entries[at].parent_row {
            depth += 1;
            at = parent;
            if depth > self.entries.len() {
                break; // A cycle (the import refused it); stop counting.
            }
        }
        depth
    }
}
