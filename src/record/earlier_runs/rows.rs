//! One row of an earlier run's results file, checked on any thread as it is read (as every
//! reader checks it, [`results_reader::check_row`]): its outcome and key, why it cannot be
//! read, or the other tenant it names.

use std::path::Path;

use crate::fingerprint::{Fingerprint, fingerprint};
use crate::input::{Mapping, RawRow};
use crate::record::layout::Layout;
use crate::record::read_back::Place;
use crate::record::results_reader::{self, Checked};
use crate::record::{Outcome, TenantCheck};

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
    match results_reader::check_row(row, layout, check) {
        Checked::OtherTenant(place, theirs) => ReadRow::OtherTenant(place, theirs),
        Checked::Refused(place, why) => ReadRow::Refused(place, why),
        Checked::Read {
            place,
            cells,
            outcome,
            why,
        } => ReadRow::Read {
            place,
            // The mapping reads the input's columns, which come first.
            key: columns.key(&cells).map(|key| {
                let print = fingerprint(&key);
                (key, print)
            }),
            outcome,
            why,
        },
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
