//! The checks every row of a results file (and every line of a journal) passes when it is read
//! back, so that a file edited by hand is never read as something it does not say.
//!
//! Each case, and why it is taken so:
//! - A row whose cells hold together is read as it is.
//! - `created` without an org_id (or with one that is not an id): orgimport created the
//!   organization but the file lost which one. It is read as `unconfirmed`: looked up before
//!   anything is sent for it, and recorded `created` if found.
//! - `exists` or `updated` without a valid org_id: the organization was there before, and the
//!   file lost which one. It is read as not done: the next run compares the row with the tenant
//!   again, which finds it `exists` again. Never `created`: `undo` would delete it.
//! - An `http_status` or `attempts` that is not a number: read as empty (a `failed` row is then
//!   in doubt, as one without an answer is).
//! - A status that is not one orgimport writes, or `failed`, `invalid` or `not_sent` with an
//!   org_id (orgimport writes an org_id only for an organization that exists): the row's
//!   organization may be one orgimport created (that `undo` must delete) or one that was there
//!   before (that it must not), and nothing says which. The file is refused, naming the line
//!   and how to fix it, rather than guessed at.
//! - A line cut short or with surplus fields, or not UTF-8: its cells cannot be trusted (a
//!   truncated org_id still looks like an id). Refused the same way.
//! - Two rows recorded with one org_id: one organization is one row's. Refused, naming both.
//!
//! Every row read other than as written is reported on stderr with its line.

use std::fmt;
use std::path::Path;

use super::{Outcome, Status};
use crate::input::field_checks::MAX_ID_CHARS;
use crate::report::plural;

/// Problems listed in full in a refusal or a warning; the rest are counted.
pub(crate) const LISTED: usize = 10;

/// Where a row was read: a line of the results file or of the journal (ordered so: the
/// results file first, then the journal, each by line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Place {
    /// A line of the results file.
    Results(u64),
    /// A line of the journal beside it.
    Journal(u64),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Results(line) => write!(f, "line {line}"),
            Place::Journal(line) => write!(f, "line {line} of the journal"),
        }
    }
}

/// A row's result cells as written (neutralizing undone); empty when absent.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Cells<'a> {
    pub(crate) status: &'a str,
    pub(crate) org_id: &'a str,
    pub(crate) http_status: &'a str,
    pub(crate) error: &'a str,
    pub(crate) attempts: &'a str,
    pub(crate) changes: &'a str,
}

/// What a row's result cells say, once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reading {
    /// They hold together: this outcome.
    Sound(Outcome),
    /// They do not, but still say this much for sure: read as `outcome`; `why` is reported.
    Partly {
        /// What the row is read as.
        outcome: Outcome,
        /// What was wrong and how the row is read.
        why: String,
    },
    /// They cannot be read without guessing whose organization the row's is.
    Unreadable(Unreadable),
}

/// Why a row cannot be read without guessing, and how to fix it in a results file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unreadable {
    /// What is wrong with the row.
    pub(crate) what: String,
    /// How to fix it.
    pub(crate) fix: &'static str,
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; {}", self.what, self.fix)
    }
}

/// Whether `id` can be an organization's id, as `verify` and `undo` put it in a URL path: 1
/// to 255 visible ASCII characters, no `/` or `\`, and not `.` or `..` (which a path takes
/// as a step up). The API does not say which characters its ids use, so no more is asked:
/// an id the server chose must not make a results file unreadable.
pub fn is_org_id(id: &str) -> bool {
    (1..=MAX_ID_CHARS).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'/' && b != b'\\')
        && id != "."
        && id != ".."
}

/// Checks a row's result cells (see the module's docs for each case).
pub(crate) fn read_cells(cells: Cells<'_>) -> Reading {
    let status = match status_of(&cells) {
        Ok(status) => status,
        Err(unreadable) => return Reading::Unreadable(unreadable),
    };
    let mut notes: Vec<String> = Vec::new();
    let text = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let mut outcome = Outcome {
        status,
        org_id: org_id_of(cells.org_id, &mut notes),
        http_status: http_status_of(cells.http_status, &mut notes),
        error: text(cells.error),
        attempts: attempts_of(cells.attempts, &mut notes),
        changes: text(cells.changes),
        kind: None,
    };
    if status.is_done() && outcome.org_id.is_none() {
        let lost = if cells.org_id.is_empty() {
            "without an org_id"
        } else {
            "without a valid org_id"
        };
        notes.retain(|n| !n.starts_with("org_id"));
        if status == Status::Created {
            // Created by orgimport, under an id the file lost: looked up, never taken for
            // one that was there before.
            outcome.status = Status::Unconfirmed;
            notes.push(format!(
                "status created {lost}: read as unconfirmed, so it is looked up before \
                 anything is sent for it"
            ));
        } else {
            notes.push(format!(
                "status {} {lost}: read as not done, so the row is compared with the tenant \
                 again",
                status.as_str()
            ));
        }
    } else if status == Status::Unconfirmed && !cells.org_id.is_empty() && outcome.org_id.is_none()
    {
        notes.push("it is looked up by its own id or name".to_string());
    }
    if notes.is_empty() {
        Reading::Sound(outcome)
    } else {
        Reading::Partly {
            outcome,
            why: notes.join("; "),
        }
    }
}

/// The row's status, if it is one orgimport writes and agrees with the row's org_id.
fn status_of(cells: &Cells<'_>) -> Result<Status, Unreadable> {
    let Some(status) = Status::parse(cells.status) else {
        let what = if cells.status.is_empty() {
            "the status is empty".to_string()
        } else {
            format!(
                "the status {:?} is not one orgimport writes ({})",
                cells.status,
                Status::ALL.map(Status::as_str).join(", ")
            )
        };
        return Err(Unreadable {
            what,
            fix: FIX_STATUS,
        });
    };
    if !cells.org_id.is_empty()
        && matches!(status, Status::Failed | Status::Invalid | Status::NotSent)
    {
        return Err(Unreadable {
            what: format!(
                "status {} with org_id {:?}: orgimport writes an org_id only for an \
                 organization that exists, so the status was changed",
                status.as_str(),
                cells.org_id
            ),
            fix: FIX_EDITED_STATUS,
        });
    }
    Ok(status)
}

/// The org_id cell, if it holds an organization id (else noted).
fn org_id_of(cell: &str, notes: &mut Vec<String>) -> Option<String> {
    // An id that starts with `-` was written with the mark that keeps it from being a formula.
    match super::restore(cell) {
        "" => None,
        // A spreadsheet's mark for "text": typed before an id, it is not part of it (an id
        // orgimport wrote that starts with a quote comes back marked twice, and restored).
        id if id.starts_with('\'') && is_org_id(&id[1..]) => {
            notes.push(format!(
                "org_id {id:?} read as {:?}: a leading ' marks a spreadsheet cell as text",
                &id[1..]
            ));
            Some(id[1..].to_string())
        }
        // orgimport marks an id that starts like a formula: unmarked, the cell was edited
        // (or a spreadsheet evaluated it), and what it holds is not the id.
        id if cell.starts_with(['=', '+', '@']) => {
            notes.push(format!("org_id {id:?} is not an organization id"));
            None
        }
        id if is_org_id(id) => Some(id.to_string()),
        id => {
            notes.push(format!("org_id {id:?} is not an organization id"));
            None
        }
    }
}

/// The http_status cell, if it holds an HTTP status (else noted).
fn http_status_of(cell: &str, notes: &mut Vec<String>) -> Option<u16> {
    match cell {
        "" => None,
        s => match s.parse::<u16>() {
            Ok(n) if (100..=599).contains(&n) => Some(n),
            _ => {
                notes.push(format!(
                    "http_status {s:?} is not an HTTP status: read as empty"
                ));
                None
            }
        },
    }
}

/// The attempts cell as a number; 0 when empty or not a number (then noted).
fn attempts_of(cell: &str, notes: &mut Vec<String>) -> u32 {
    match cell {
        "" => 0,
        s => s.parse::<u32>().unwrap_or_else(|_| {
            notes.push(format!("attempts {s:?} is not a number: read as 0"));
            0
        }),
    }
}

/// How to fix a row whose status cannot be read.
const FIX_STATUS: &str = "write back the status the row had (created if orgimport created its \
     organization, exists if it was there before), or unconfirmed if you do not know it: the \
     next run then looks the organization up and records it as created if it is found";

/// How to fix a row whose status was changed to one that says nothing exists.
const FIX_EDITED_STATUS: &str = "write back the status the row had (created if orgimport \
     created its organization, exists if it was there before), or unconfirmed if you do not \
     know it: the next run then looks the organization up and records it as created if it is \
     found (to have orgimport create the row again, delete its organization first: orgimport \
     undo)";

/// How to fix a line whose fields cannot be trusted.
const FIX_LINE: &str = "complete it (with status unconfirmed if you do not know it), or delete \
     the line, and the row is then sent as a new one";

/// A row whose fields cannot be trusted (`problem`: the reader's words: a line cut short,
/// surplus fields, not UTF-8).
pub(crate) fn unreadable_line(problem: &str) -> Unreadable {
    Unreadable {
        what: format!(
            "{problem}: the line was cut short or edited, so none of its cells can be trusted"
        ),
        fix: FIX_LINE,
    }
}

/// The refusals for rows recorded with one organization: `rows` are each row's org_id and
/// where it was read. One organization is one row's.
pub(crate) fn same_organization<'a>(
    rows: impl IntoIterator<Item = (&'a str, Place)>,
) -> Vec<(Place, String)> {
    let rows: Vec<(&str, Place)> = rows.into_iter().collect();
    same_organization_among(rows.len(), |i| Some(rows[i]))
}

/// [`same_organization`] for the `count` rows `row(i)` gives (`None`: a row without an
/// organization). Sorted by a hash of each id, 16 bytes a row, rather than held in a map:
/// a rerun of a million rows checks a million ids.
pub(crate) fn same_organization_among<'a>(
    count: usize,
    row: impl Fn(usize) -> Option<(&'a str, Place)> + Sync,
) -> Vec<(Place, String)> {
    use rayon::prelude::*;
    use std::hash::{DefaultHasher, Hash, Hasher};
    let hash = |id: &str| {
        let mut hasher = DefaultHasher::new();
        id.hash(&mut hasher);
        hasher.finish()
    };
    let mut ids: Vec<(u64, usize)> = (0..count)
        .into_par_iter()
        .filter_map(|i| row(i).map(|(id, _)| (hash(id), i)))
        .collect();
    ids.par_sort_unstable();
    let mut refusals = Vec::new();
    for group in ids.chunk_by(|a, b| a.0 == b.0).filter(|g| g.len() > 1) {
        // Rows with one hash, in the order they were read; mostly one id.
        let mut rows: Vec<(&str, Place)> = group.iter().filter_map(|&(_, i)| row(i)).collect();
        rows.sort_by_key(|(_, place)| *place);
        for (at, &(org_id, place)) in rows.iter().enumerate() {
            if let Some(&(_, earlier)) = rows[..at].iter().find(|(id, _)| *id == org_id) {
                refusals.push((
                    place,
                    format!(
                        "{earlier} and {place} both record organization {org_id:?}, and one \
                         organization is one row's: keep its org_id on the row it belongs to \
                         (orgimport verify shows whose name it has), and on the other write \
                         status unconfirmed and clear org_id: the next run then looks it up"
                    ),
                ));
            }
        }
    }
    refusals
}

/// The text of a refusal: the rows of `file` that cannot be read, each with where it is.
pub(crate) fn refusal(mut problems: Vec<(Place, String)>) -> String {
    problems.sort_by_key(|(place, _)| *place);
    let mut text = format!(
        "{} cannot be read without guessing what became of {}, so nothing was done:",
        plural(problems.len(), "row"),
        if problems.len() == 1 { "it" } else { "them" }
    );
    for (place, why) in problems.iter().take(LISTED) {
        text.push_str(&format!("\n  {place}: {why}"));
    }
    if problems.len() > LISTED {
        text.push_str(&format!("\n  ... and {} more", problems.len() - LISTED));
    }
    text
}

/// Reports on stderr the rows of the file at `path` read other than as written (`warnings`:
/// where each is and why), the first [`LISTED`] in full.
pub(crate) fn warn(path: &Path, warnings: &[(Place, String)]) {
    for (place, why) in warnings.iter().take(LISTED) {
        eprintln!("warning: {}: {place}: {why}", path.display());
    }
    if warnings.len() > LISTED {
        eprintln!(
            "warning: {}: {} more read other than as written",
            path.display(),
            plural(warnings.len() - LISTED, "row")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(status: &str, org_id: &str, http_status: &str, attempts: &str) -> Reading {
        read_cells(Cells {
            status,
            org_id,
            http_status,
            error: "",
            attempts,
            changes: "",
        })
    }

    fn outcome(reading: &Reading) -> &Outcome {
        match reading {
            Reading::Sound(o) | Reading::Partly { outcome: o, .. } => o,
            Reading::Unreadable(why) => panic!("unreadable: {why}"),
        }
    }

    fn why(reading: &Reading) -> String {
        match reading {
            Reading::Partly { why, .. } => why.clone(),
            Reading::Unreadable(why) => why.to_string(),
            Reading::Sound(o) => panic!("sound: {o:?}"),
        }
    }

    #[test]
    fn cells_that_hold_together_are_read_as_they_are() {
        for status in Status::ALL {
            let org_id = if status.is_done() { "org-1" } else { "" };
            let reading = read(status.as_str(), org_id, "201", "2");
            let Reading::Sound(o) = &reading else {
                panic!("{status:?}: {reading:?}")
            };
            assert_eq!(
                (o.status, o.org_id.as_deref(), o.http_status, o.attempts),
                (status, (!org_id.is_empty()).then_some(org_id), Some(201), 2)
            );
        }
        // Ids of any shape a server may choose are ids.
        for id in [
            "6ff27514b882136f5bd7ca390a412ee9",
            "cust-1",
            "a:b",
            "A_b.c~d",
            "x%2F",
        ] {
            assert!(is_org_id(id), "{id}");
        }
        // An unconfirmed row may know the id it asked for.
        assert!(matches!(
            read("unconfirmed", "org-1", "", "1"),
            Reading::Sound(_)
        ));
    }

    #[test]
    fn a_status_that_is_not_one_is_refused_never_guessed() {
        for status in ["crated", "", "CREATED", "done", "created "] {
            let reading = read(status, "org-1", "201", "1");
            let Reading::Unreadable(why) = &reading else {
                panic!("{status:?}: {reading:?}")
            };
            assert!(
                why.fix.contains("or unconfirmed if you do not know it"),
                "{why}"
            );
        }
        assert!(why(&read("", "", "", "")).starts_with("the status is empty"));
    }

    #[test]
    fn a_status_that_says_nothing_exists_but_names_an_organization_is_refused() {
        for status in ["failed", "invalid", "not_sent"] {
            let reading = read(status, "org-1", "201", "1");
            let why = why(&reading);
            assert!(matches!(reading, Reading::Unreadable(_)), "{status}");
            assert!(why.contains("with org_id \"org-1\""), "{why}");
            assert!(why.contains("orgimport undo"), "{why}");
        }
    }

    #[test]
    fn created_without_a_valid_id_is_in_doubt_and_exists_without_one_is_not_done() {
        for org_id in [
            "",
            "../x",
            "..",
            ".",
            "a b",
            "org/1",
            "a\\b",
            "caf\u{e9}",
            "=x",
            "+x",
            "@x",
        ] {
            let reading = read("created", org_id, "201", "1");
            assert!(matches!(reading, Reading::Partly { .. }), "{org_id:?}");
            let o = outcome(&reading);
            assert_eq!((o.status, o.org_id.as_deref()), (Status::Unconfirmed, None));
            assert!(why(&reading).contains("read as unconfirmed"), "{reading:?}");
            // One note, not two.
            assert!(
                !why(&reading).contains("is not an organization id"),
                "{reading:?}"
            );

            for status in [Status::Exists, Status::Updated] {
                let reading = read(status.as_str(), org_id, "200", "1");
                let o = outcome(&reading);
                assert_eq!(
                    (o.status, o.org_id.as_deref()),
                    (status, None),
                    "{org_id:?}"
                );
                assert!(why(&reading).contains("read as not done"), "{reading:?}");
            }
        }
        let reading = read("unconfirmed", "a b", "", "1");
        assert_eq!(outcome(&reading).org_id, None);
        assert!(why(&reading).contains("looked up by its own id or name"));
    }

    #[test]
    fn a_quote_typed_before_an_org_id_is_a_spreadsheets_text_mark_not_part_of_the_id() {
        let reading = read("created", "'cust-413951", "201", "1");
        let o = outcome(&reading);
        assert_eq!(
            (o.status, o.org_id.as_deref()),
            (Status::Created, Some("cust-413951"))
        );
        assert!(
            why(&reading).contains("read as \"cust-413951\""),
            "{reading:?}"
        );
        // An id the server chose starting with `-` is written marked, and read back as it is.
        let reading = read("created", "'-x1", "201", "1");
        assert_eq!(outcome(&reading).org_id.as_deref(), Some("-x1"));
    }

    #[test]
    fn numbers_that_are_not_numbers_are_read_as_empty_and_reported() {
        let reading = read("failed", "", "4o9", "x");
        let o = outcome(&reading);
        assert_eq!((o.http_status, o.attempts), (None, 0));
        let why = why(&reading);
        assert!(why.contains("http_status \"4o9\""), "{why}");
        assert!(why.contains("attempts \"x\""), "{why}");
        assert_eq!(outcome(&read("failed", "", "99", "")).http_status, None);
    }

    #[test]
    fn two_rows_with_one_organization_are_named_together() {
        let refusals = same_organization([
            ("org-1", Place::Results(2)),
            ("org-2", Place::Results(3)),
            ("org-1", Place::Journal(7)),
        ]);
        assert_eq!(refusals.len(), 1);
        assert_eq!(refusals[0].0, Place::Journal(7));
        assert!(
            refusals[0]
                .1
                .starts_with("line 2 and line 7 of the journal both record organization \"org-1\""),
            "{}",
            refusals[0].1
        );
        let text = refusal(refusals);
        assert!(text.starts_with("1 row cannot be read"), "{text}");
    }
}
