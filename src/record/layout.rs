//! The results file's layout: the columns orgimport appends after the input's own, in each
//! version of the format it still reads, where each one is in a given file, and the
//! neutralizing of cells that a spreadsheet would run as formulas (its rule is
//! [`crate::input::formulas`], which the input reader restores with).

use csv::StringRecord;

use super::read_back::Cells;
/// The neutralizing of cells lives with the CSV dialect, where the input reader restores them too.
pub use crate::input::formulas::{neutralize, restore};

/// One column orgimport appends after the input's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// What became of the row ([`Status::as_str`](super::Status::as_str)).
    Status,
    /// The organization's id.
    OrgId,
    /// The last HTTP status the API answered.
    HttpStatus,
    /// Why the row failed or is invalid.
    Error,
    /// How many requests were sent for the row.
    Attempts,
    /// For an updated row, the fields the update changed.
    Changes,
    /// The tenant the row's organization is in ([`TenantMark`](super::TenantMark)).
    Tenant,
}

impl Column {
    /// The column's name in the header.
    pub fn name(self) -> &'static str {
        match self {
            Column::Status => "status",
            Column::OrgId => "org_id",
            Column::HttpStatus => "http_status",
            Column::Error => "error",
            Column::Attempts => "attempts",
            Column::Changes => "changes",
            Column::Tenant => "tenant",
        }
    }
}

/// A version of the results file's format: which columns follow the input's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `status,org_id,http_status,error,attempts`: files written before `--on-existing
    /// update` existed.
    V1,
    /// V1 and `changes`.
    V2,
    /// V2 and `tenant`: files that say which tenant they are for.
    V3,
}

impl Version {
    /// The version this build writes.
    pub const CURRENT: Version = Version::V3;

    /// Every version this build reads, newest first (each header also ends like no other).
    pub const ALL: [Version; 3] = [Version::V3, Version::V2, Version::V1];

    /// The columns this version appends, in order.
    pub fn columns(self) -> &'static [Column] {
        const V3: [Column; 7] = [
            Column::Status,
            Column::OrgId,
            Column::HttpStatus,
            Column::Error,
            Column::Attempts,
            Column::Changes,
            Column::Tenant,
        ];
        match self {
            Version::V1 => &V3[..5],
            Version::V2 => &V3[..6],
            Version::V3 => &V3,
        }
    }

    /// Whether its files say which tenant they are for (else they were written by an
    /// earlier version: [`TenantCheck::unmarked`](super::TenantCheck::unmarked)).
    pub fn records_tenant(self) -> bool {
        self.columns().contains(&Column::Tenant)
    }
}

/// Why `headers` is no version's layout: what is wrong with the result columns it has, on
/// line 1, the header.
fn why_not_a_layout(headers: &StringRecord) -> String {
    let expected = RESULT_COLUMNS.join(",");
    let found: Vec<&str> = headers
        .iter()
        .filter(|h| RESULT_COLUMNS.contains(h))
        .collect();
    let missing: Vec<&str> = (RESULT_COLUMNS.iter().copied())
        .filter(|c| !found.contains(c))
        .collect();
    let oldest = Version::ALL
        .iter()
        .map(|v| v.columns().len())
        .min()
        .unwrap_or(RESULT_COLUMNS.len());
    if found.is_empty() {
        return format!("line 1 (the header): its last columns are not {expected}");
    }
    // Every column of some version is there: they are moved, not missing.
    let moved = missing.len() <= RESULT_COLUMNS.len() - oldest
        && RESULT_COLUMNS[..oldest].iter().all(|c| found.contains(c));
    if moved {
        format!(
            "line 1 (the header): the result columns are there but moved: they are {} (not \
             last, or in another order), and orgimport reads them only as it writes them, \
             last and in this order: {expected}; put the columns back so (a spreadsheet's \
             sort or column move does this)",
            found.join(",")
        )
    } else {
        format!(
            "line 1 (the header): the result column(s) {} are missing (it has {}); its last \
             columns must be {expected}",
            missing.join(","),
            found.join(",")
        )
    }
}

/// The names of the columns the results file adds after the input's own, in this version.
pub const RESULT_COLUMNS: [&str; 7] = [
    "status",
    "org_id",
    "http_status",
    "error",
    "attempts",
    "changes",
    "tenant",
];

/// Where the columns of one results file are: the input's first, then its version's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    input_width: usize,
    version: Version,
}

impl Layout {
    /// The layout this build writes after `input_width` input columns.
    pub fn current(input_width: usize) -> Layout {
        Layout {
            input_width,
            version: Version::CURRENT,
        }
    }

    /// The layout of a results file whose header is `headers` (formula marks removed, as
    /// [`restore`] leaves them): the version whose columns it ends with.
    ///
    /// # Errors
    /// Why the file is not a results file, when its last columns are no version's.
    pub fn of(headers: &StringRecord) -> Result<Layout, String> {
        let width = headers.len();
        Version::ALL
            .into_iter()
            .find(|version| {
                let columns = version.columns();
                width >= columns.len()
                    && headers
                        .iter()
                        .skip(width - columns.len())
                        .eq(columns.iter().map(|c| c.name()))
            })
            .map(|version| Layout {
                input_width: width - version.columns().len(),
                version,
            })
            .ok_or_else(|| why_not_a_layout(headers))
    }

    /// The file's format version.
    pub fn version(self) -> Version {
        self.version
    }

    /// How many of the first columns are the input's.
    pub fn input_width(self) -> usize {
        self.input_width
    }

    /// How many columns a row has.
    pub fn width(self) -> usize {
        self.input_width + self.version.columns().len()
    }

    /// The result column at `position` in a row, if it is one.
    pub fn column_at(self, position: usize) -> Option<Column> {
        let at = position.checked_sub(self.input_width)?;
        self.version.columns().get(at).copied()
    }

    /// Where `column` is in a row, if this version has it.
    pub fn position(self, column: Column) -> Option<usize> {
        self.version
            .columns()
            .iter()
            .position(|c| *c == column)
            .map(|i| self.input_width + i)
    }

    /// The cell of `column` in `record` (empty when this version lacks it or the row is
    /// short).
    pub fn cell(self, record: &StringRecord, column: Column) -> &str {
        self.position(column)
            .and_then(|i| record.get(i))
            .unwrap_or("")
    }

    /// Sets the cell of `column` in `fields` (a row laid out in [`Layout::width`] columns) to
    /// `value`; nothing when this version lacks the column.
    pub fn set(self, fields: &mut [String], column: Column, value: &str) {
        if let Some(cell) = self.position(column).and_then(|i| fields.get_mut(i)) {
            value.clone_into(cell);
        }
    }

    /// The result cells of `record` (restored), for `read_back::read_cells`; empty where this
    /// version lacks a column or the row is short.
    pub(crate) fn cells(self, record: &StringRecord) -> Cells<'_> {
        let cell = |column| self.cell(record, column);
        Cells {
            status: cell(Column::Status),
            org_id: cell(Column::OrgId),
            http_status: cell(Column::HttpStatus),
            error: cell(Column::Error),
            attempts: cell(Column::Attempts),
            changes: cell(Column::Changes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::read_back::{self, Reading};
    use crate::record::{Outcome, Status};

    fn record(cells: &[&str]) -> StringRecord {
        cells.iter().copied().collect()
    }

    #[test]
    fn the_layout_is_found_from_the_header_for_each_version() {
        let names = |v: Version| v.columns().iter().map(|c| c.name()).collect::<Vec<_>>();
        assert_eq!(names(Version::CURRENT), RESULT_COLUMNS);
        assert_eq!(names(Version::V1), RESULT_COLUMNS[..5]);
        assert_eq!(names(Version::V2), RESULT_COLUMNS[..6]);
        // Two input columns, then a version's result columns.
        let header = |results: &[&str]| record(&[&["name", "owner"][..], results].concat());
        let v3 = Layout::of(&header(&RESULT_COLUMNS)).unwrap();
        assert_eq!(
            (v3.version(), v3.input_width(), v3.width()),
            (Version::V3, 2, 9)
        );
        assert_eq!(v3.position(Column::Tenant), Some(8));
        assert_eq!(v3, Layout::current(2));
        assert!(Version::V3.records_tenant());
        assert!(!Version::V2.records_tenant() && !Version::V1.records_tenant());

        // A file written before `tenant`.
        let v2 = Layout::of(&header(&RESULT_COLUMNS[..6])).unwrap();
        assert_eq!(
            (v2.version(), v2.input_width(), v2.width()),
            (Version::V2, 2, 8)
        );
        assert_eq!(v2.position(Column::Status), Some(2));
        assert_eq!(v2.position(Column::Changes), Some(7));
        assert_eq!(v2.position(Column::Tenant), None);

        // A file written before `changes`: the status is right after the input's columns.
        let v1 = Layout::of(&record(&[
            "name",
            "owner",
            "status",
            "org_id",
            "http_status",
            "error",
            "attempts",
        ]))
        .unwrap();
        assert_eq!(
            (v1.version(), v1.input_width(), v1.width()),
            (Version::V1, 2, 7)
        );
        assert_eq!(v1.position(Column::Status), Some(2));
        assert_eq!(v1.position(Column::Error), Some(5));
        assert_eq!(v1.position(Column::Changes), None);

        // An input column named like a result column is the input's.
        let named = Layout::of(&record(&[
            "status",
            "status",
            "org_id",
            "http_status",
            "error",
            "attempts",
            "changes",
        ]))
        .unwrap();
        assert_eq!(named.input_width(), 1);

        for not_ours in [
            &["name", "status"][..],
            &["status", "org_id", "http_status", "error", "changes"],
            &[],
        ] {
            let why = Layout::of(&record(not_ours)).unwrap_err();
            assert!(why.starts_with("line 1 (the header): "), "{why}");
            assert!(
                why.contains("status,org_id,http_status,error,attempts,changes,tenant"),
                "{why}"
            );
        }
        let why = Layout::of(&record(&["name", "status", "attempts", "org_id"][..])).unwrap_err();
        assert!(
            why.contains("the result column(s) http_status,error,changes,tenant are missing"),
            "{why}"
        );
        let moved = [
            "org_id",
            "status",
            "http_status",
            "error",
            "attempts",
            "name",
        ];
        let why = Layout::of(&record(&moved[..])).unwrap_err();
        assert!(
            why.contains("are there but moved: they are org_id,status,http_status,error,attempts"),
            "{why}"
        );
    }

    #[test]
    fn a_row_is_read_and_set_where_its_version_puts_each_column() {
        let v1 = Layout::of(&record(&[
            "name",
            "status",
            "org_id",
            "http_status",
            "error",
            "attempts",
        ]))
        .unwrap();
        let row = record(&["acme", "created", "org-1", "201", "", "2"]);
        assert_eq!(v1.cell(&row, Column::OrgId), "org-1");
        assert_eq!(v1.cell(&row, Column::Changes), "");
        assert_eq!(
            read_back::read_cells(v1.cells(&row)),
            Reading::Sound(Outcome {
                status: Status::Created,
                org_id: Some("org-1".into()),
                http_status: Some(201),
                error: None,
                attempts: 2,
                changes: None,
                kind: None,
            })
        );
        let mut fields: Vec<String> = row.iter().map(str::to_string).collect();
        v1.set(&mut fields, Column::Status, "not_sent");
        v1.set(
            &mut fields,
            Column::Changes,
            "ignored: V1 has no such column",
        );
        assert_eq!(fields, ["acme", "not_sent", "org-1", "201", "", "2"]);

        let v3 = Layout::current(1);
        let row = record(&[
            "acme",
            "updated",
            "org-1",
            "200",
            "",
            "1",
            "name: a -> b",
            "acme at https://x",
        ]);
        assert_eq!(v3.cell(&row, Column::Tenant), "acme at https://x");
        let Reading::Sound(outcome) = read_back::read_cells(v3.cells(&row)) else {
            panic!("{row:?}")
        };
        assert_eq!(outcome.changes.as_deref(), Some("name: a -> b"));
        // A short row reads as empty cells.
        let short_row = record(&["acme", "failed"]);
        let short = v3.cells(&short_row);
        assert_eq!(
            (short.status, short.org_id, short.attempts),
            ("failed", "", "")
        );
    }
}
