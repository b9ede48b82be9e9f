//! Whether the results file already says what a run would write in it: then a rerun that
//! changed nothing leaves the file as it is, rather than write a million rows again (and wait
//! for the disk to take them) that would come out the same.
//!
//! Both sides are told apart by a digest of their cells, row by row in order: the file as
//! read back by [`EarlierRuns`](super::EarlierRuns), and the input and the outcomes as
//! [`write`](super::write) would write them ([`each_input_cell`], [`each_outcome_cell`], then
//! [`neutralize`]). Only a file in the format this build writes, with its byte-order mark and
//! the input's delimiter, can be left as it is.

use std::borrow::Cow;
use std::hash::{BuildHasher, Hasher};

use foldhash::quality::{FixedState, FoldHasher};
use rayon::prelude::*;

use csv::StringRecord;

use super::csv_out::each_input_cell;
use super::write_results::each_outcome_cell;
use super::{Outcomes, RESULT_COLUMNS, TenantMark, neutralize};

/// The hasher of both sides. Both are hashed in one process, so any seed does; foldhash
/// rather than std's SipHash, which took a third of the time of a rerun that writes nothing.
fn hasher() -> FoldHasher<'static> {
    FixedState::with_seed(0x6f72_6769_6d70_6f72).build_hasher()
}

/// The digest of one row's cells.
pub(crate) struct RowHash(FoldHasher<'static>);

impl Default for RowHash {
    fn default() -> Self {
        RowHash(hasher())
    }
}

impl RowHash {
    /// Adds the next cell.
    pub(crate) fn cell(&mut self, cell: &str) {
        self.0.write(cell.as_bytes());
        // Never in UTF-8 text: "ab","c" and "a","bc" differ.
        self.0.write_u8(0xFF);
    }

    /// The digest of the cells added.
    pub(crate) fn finish(&self) -> u64 {
        self.0.finish()
    }
}

/// The digest of `cells`, taken as they are.
pub(crate) fn row_hash<'a>(cells: impl IntoIterator<Item = &'a str>) -> u64 {
    let mut hash = RowHash::default();
    cells.into_iter().for_each(|cell| hash.cell(cell));
    hash.finish()
}

/// The digest of an input row of `record`, as the results file writes its `width` input
/// columns.
pub(crate) fn input_row_hash(record: &StringRecord, width: usize) -> u64 {
    let mut hash = RowHash::default();
    let fields = record.iter().map(Cow::Borrowed);
    let _ = each_input_cell(fields, record.len(), width, |cell| {
        hash.cell(&neutralize(cell));
        Ok::<_, std::convert::Infallible>(())
    });
    hash.finish()
}

/// The digest of the header the results file writes after an input with `headers`.
pub(crate) fn header_hash(headers: &StringRecord) -> u64 {
    let mut hash = RowHash::default();
    for cell in headers.iter().chain(RESULT_COLUMNS) {
        hash.cell(&neutralize(cell));
    }
    hash.finish()
}

/// A digest of rows, in order, and how many there are.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Digest {
    rows: u64,
    value: u64,
}

impl Digest {
    /// Adds the next row, whose digest is `row`.
    pub fn add(&mut self, row: u64) {
        let mut hasher = hasher();
        hasher.write_u64(self.value);
        hasher.write_u64(row);
        self.value = hasher.finish();
        self.rows += 1;
    }
}

/// What a results file in this build's format says, as read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsWritten {
    /// Its delimiter.
    pub delimiter: u8,
    /// The digest of its header.
    pub header: u64,
    /// The digest of its rows' input columns.
    pub input: Digest,
    /// The digest of its rows' result columns.
    pub outcomes: Digest,
}

impl AsWritten {
    /// Whether the file lists the input whose header is `headers`, and whose rows, as the
    /// results file writes them, have the digest `input`, with the delimiter `delimiter`.
    pub fn lists(&self, headers: &StringRecord, delimiter: u8, input: Digest) -> bool {
        self.delimiter == delimiter && self.input == input && self.header == header_hash(headers)
    }

    /// Whether the file's result columns say `outcomes`, every row's outcome in input order,
    /// for `tenant`.
    pub fn says(&self, outcomes: &Outcomes, tenant: &TenantMark) -> bool {
        if self.outcomes.rows != outcomes.len() as u64 {
            return false;
        }
        // Rows hashed on every core, a chunk at a time, and added in order.
        const CHUNK: usize = 1 << 16;
        let mut digest = Digest::default();
        for start in (0..outcomes.len()).step_by(CHUNK) {
            let end = (start + CHUNK).min(outcomes.len());
            let hashes: Vec<Option<u64>> = (start..end)
                .into_par_iter()
                .map_init(String::new, |number, index| {
                    let mut hash = RowHash::default();
                    let _ = each_outcome_cell(outcomes.view(index)?, tenant, number, |cell| {
                        hash.cell(&neutralize(cell));
                        Ok::<_, std::convert::Infallible>(())
                    });
                    Some(hash.finish())
                })
                .collect();
            for hash in hashes {
                let Some(hash) = hash else {
                    return false;
                };
                digest.add(hash);
            }
        }
        digest == self.outcomes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Dialect, MappingSpec, Source};
    use crate::record::{EarlierRuns, Outcome, Status, TenantCheck, write};

    fn tenant() -> TenantMark {
        TenantMark::sandbox()
    }

    /// Writes `input`'s results with `outcomes` and reads them back: what the file says, and
    /// whether it lists the input and says the outcomes.
    fn round_trip(input: &str, outcomes: &Outcomes) -> (Option<AsWritten>, bool) {
        let dir = tempfile::tempdir().unwrap();
        let input_path = dir.path().join("in.csv");
        std::fs::write(&input_path, input).unwrap();
        let results = dir.path().join("in.results.csv");
        let source = Source::as_csv(&input_path, &Dialect::default()).unwrap();
        write(&source, &results, outcomes, &tenant()).unwrap();
        let mapping = source.mapping(&MappingSpec::default()).unwrap();
        let check = TenantCheck::import(Some(tenant()), false);
        let earlier = EarlierRuns::load(&results, &mapping, &check).unwrap();
        let Some(written) = earlier.as_written else {
            return (None, false);
        };
        let mut input_digest = Digest::default();
        for row in source.rows(mapping.width()).unwrap() {
            input_digest.add(input_row_hash(&row.unwrap().record, mapping.width()));
        }
        let delimiter = source.delimiter();
        let same = written.lists(&mapping.headers, delimiter, input_digest)
            && written.says(outcomes, &tenant());
        (Some(written), same)
    }

    fn outcomes(ids: &[&str]) -> Outcomes {
        ids.iter()
            .map(|id| Some(Outcome::done(Status::Created, (*id).into(), Some(201), 1)))
            .collect()
    }

    #[test]
    fn a_file_written_for_an_input_says_that_input_and_its_outcomes() {
        // Formulas neutralized, a ragged row, quotes and line breaks in cells.
        let input = "name;note\n=acme;\"a;b\"\nbeta;\"two\nlines\"\n'gamma\nlong;x;y\n";
        let ids = ["org-1", "org-2", "org-3", "org-4"];
        let (written, same) = round_trip(input, &outcomes(&ids));
        assert!(written.is_some());
        assert!(same);
    }

    #[test]
    fn any_other_cell_row_or_delimiter_is_told_apart() {
        let input = "name,note\nacme,x\nbeta,y\n";
        let (Some(written), true) = round_trip(input, &outcomes(&["org-1", "org-2"])) else {
            panic!("the file says what was written");
        };
        let headers: StringRecord = ["name", "note"].into_iter().collect();
        let rows = |cells: &[[&str; 2]]| {
            let mut digest = Digest::default();
            for row in cells {
                let record: StringRecord = row.iter().copied().collect();
                digest.add(input_row_hash(&record, 2));
            }
            digest
        };
        assert!(written.lists(&headers, b',', rows(&[["acme", "x"], ["beta", "y"]])));
        for other in [
            rows(&[["acme", "x"], ["beta", "z"]]),
            rows(&[["acme", "x"]]),
            rows(&[["acme", "x"], ["beta", "y"], ["gamma", ""]]),
            rows(&[["acmex", ""], ["beta", "y"]]),
        ] {
            assert!(!written.lists(&headers, b',', other));
        }
        let good = rows(&[["acme", "x"], ["beta", "y"]]);
        assert!(!written.lists(&headers, b';', good));
        let renamed: StringRecord = ["name", "notes"].into_iter().collect();
        assert!(!written.lists(&renamed, b',', good));
        assert!(written.says(&outcomes(&["org-1", "org-2"]), &tenant()));
        assert!(!written.says(&outcomes(&["org-1", "org-3"]), &tenant()));
        assert!(!written.says(&outcomes(&["org-1"]), &tenant()));
        let other = TenantMark::tenant(&url::Url::parse("http://127.0.0.1:1").unwrap(), "demo");
        assert!(!written.says(&outcomes(&["org-1", "org-2"]), &other));
        let mut attempts = outcomes(&["org-1", "org-2"]);
        attempts.set(
            1,
            &Outcome::done(Status::Created, "org-2".into(), Some(201), 2),
        );
        assert!(!written.says(&attempts, &tenant()));
    }
}
