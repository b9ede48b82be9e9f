//! One row of an earlier run's results file, checked on any thread as it is read: its
//! outcome and key, why it cannot be read, or the other tenant it names.

use std::path::Path;

use csv::StringRecord;

use crate::fingerprint::{Fingerprint, fingerprint};
use crate::input::{Mapping, RawRow};
use crate::record::layout::{Column, Layout};
use crate::record::read_back::{self, Place, Reading};
use crate::record::{Outcome, TenantCheck, restore};

/// One row of the results file, checked (on any thread).
pub(super) enum ReadRow {
    /// It names another tenant than the run's (the cell as it reads): the file is refused.
    OtherTenant(Place, String),
    /// Its line cannot be read: refused.
    Refused(Place, String),
    /// Its outcome and key (`None`: it has neither id nor name), and why it was read other
    /// than as written.
    Read {
        place: Place,
        key: Option<(String, Fingerprint)>,
        outcome: Outcome,
        why: Option<String>,
    },
}

/// A row of the results file, checked: its outcome and key, or why it cannot be read, or
/// the other tenant it names when `check` does not accept it.
pub(super) fn read_row(
    row: &RawRow,
    layout: Layout,
    columns: &Mapping,
    check: &TenantCheck,
) -> ReadRow {
    let place = Place::Results(row.line);
    if let Some(problem) = &row.problem {
        return ReadRow::Refused(place, read_back::unreadable_line(problem).to_string());
    }
    if layout.version().records_tenant() {
        let tenant = restore(layout.cell(&row.record, Column::Tenant));
        if !check.accepts(tenant) {
            return ReadRow::OtherTenant(place, tenant.to_string());
        }
    }
    // Only a row with a cell that was neutralized is copied to restore it. The mapping reads
    // the input's columns, which come first.
    let restored: StringRecord;
    let record = if row.record.iter().any(|c| c.starts_with('\'')) {
        restored = row.record.iter().map(restore).collect();
        &restored
    } else {
        &row.record
    };
    let (outcome, why) = match read_back::read_cells(layout.cells(record)) {
        Reading::Sound(outcome) => (outcome, None),
        Reading::Partly { outcome, why } => (outcome, Some(why)),
        Reading::Unreadable(why) => return ReadRow::Refused(place, why.to_string()),
    };
    ReadRow::Read {
        place,
        key: columns.key(record).map(|key| {
            let print = fingerprint(&key);
            (key, print)
        }),
        outcome,
        why,
    }
}

/// Whether the file at `path` starts with UTF-8's byte-order mark, as every results file this
/// build writes does (Excel reads it as UTF-8 by it).
pub(super) fn starts_with_bom(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 3];
    std::fs::File::open(path).is_ok_and(|mut file| file.read_exact(&mut head).is_ok())
        && head == [0xEF, 0xBB, 0xBF]
}
