//! One organization is one row's: the organizations recorded so far in a run (earlier runs'
//! included), so that an answer naming an organization already recorded for another row is
//! caught, named with both rows, and not recorded a second time.
//!
//! A server (or a gateway in front of it) that answers creates with an organization that is
//! not the row's would otherwise make two rows claim one organization: "19 created" with one
//! organization in the tenant, and an `undo` that deletes one of them.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use super::{Outcome, OutcomeView, Outcomes, Status};
use crate::RowError;
use crate::error_kind::ErrorKind;
use crate::fingerprint::row_number;

/// The organizations recorded for rows, by a hash of their id (the ids themselves are in the
/// outcomes, which the caller holds).
#[derive(Debug, Default)]
pub struct OrgIds {
    /// Hash of an organization id -> the row recorded with it (16 bytes an entry).
    rows: HashMap<u64, u32>,
    /// The line where each row starts, to name rows.
    lines: Vec<u64>,
}

/// The hash of an organization id.
fn hash(id: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    id.hash(&mut hasher);
    hasher.finish()
}

impl OrgIds {
    /// The organizations of the rows already done in `outcomes` (by earlier runs), the rows'
    /// lines being `lines`.
    /// Sized for every row, so that the table is never copied into one twice its size.
    pub fn new(outcomes: &Outcomes, lines: &[u64]) -> OrgIds {
        let mut ids = OrgIds {
            rows: HashMap::with_capacity(outcomes.len()),
            lines: lines.to_vec(),
        };
        for (index, outcome) in outcomes.iter().enumerate() {
            if let Some(id) = outcome.as_ref().and_then(recorded_view_id) {
                ids.rows.entry(hash(id)).or_insert(row_number(index));
            }
        }
        ids
    }

    /// The outcome to record for row `index`: `outcome` itself, unless it names an
    /// organization that `outcomes` (every row's outcome so far) records for another row.
    /// Then the row is not recorded with it: a create's answer (`created`) becomes
    /// `unconfirmed` (the create may have made an organization whose id the answer did not
    /// give: the next run looks it up), and any other (`exists`, `updated`) becomes `failed`
    /// (nothing was created for it). Either way its error names the other row.
    pub fn claim(&mut self, index: usize, outcome: Outcome, outcomes: &Outcomes) -> Outcome {
        let Some(id) = recorded_id(&outcome) else {
            return outcome;
        };
        let other = match self.rows.get(&hash(id)) {
            None => {
                self.rows.insert(hash(id), row_number(index));
                return outcome;
            }
            Some(&other) => other as usize,
        };
        let same =
            other != index && outcomes.view(other).as_ref().and_then(recorded_view_id) == Some(id);
        if !same {
            // Another id with the same hash, or the row itself: nothing to say.
            return outcome;
        }
        let line = |row: usize| self.lines.get(row).copied().unwrap_or_default();
        let error = RowError::Conflict(format!(
            "the API gave organization {id:?} for this row, and line {} is recorded with it; \
             one organization is one row's, so line {} is not{}",
            line(other),
            line(index),
            if outcome.status == Status::Created {
                " (its create may have made another organization: the next run looks it up)"
            } else {
                ""
            }
        ));
        Outcome {
            status: if outcome.status == Status::Created {
                Status::Unconfirmed
            } else {
                Status::Failed
            },
            org_id: None,
            kind: Some(ErrorKind::of(&error)),
            error: Some(error.to_string()),
            changes: None,
            ..outcome
        }
    }
}

/// The organization an outcome records for its row: a done row's.
fn recorded_id(outcome: &Outcome) -> Option<&str> {
    outcome
        .org_id
        .as_deref()
        .filter(|_| outcome.status.is_done())
}

/// [`recorded_id`] of an outcome as stored.
fn recorded_view_id<'a>(outcome: &OutcomeView<'a>) -> Option<&'a str> {
    outcome.org_id.filter(|_| outcome.status.is_done())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_row_answered_with_the_first_rows_organization_is_not_recorded_with_it() {
        let earlier = Outcome::done(Status::Exists, "org-0".into(), None, 0);
        let mut outcomes: Outcomes = [Some(earlier), None, None, None].into_iter().collect();
        let lines = [2, 3, 4, 5];
        let mut ids = OrgIds::new(&outcomes, &lines);

        let first = Outcome::done(Status::Created, "org-1".into(), Some(201), 1);
        let kept = ids.claim(1, first.clone(), &outcomes);
        assert_eq!(kept, first);
        outcomes.set(1, &kept);

        // The same organization for another row's create: unconfirmed, naming both lines.
        let again = ids.claim(
            2,
            Outcome::done(Status::Created, "org-1".into(), Some(201), 1),
            &outcomes,
        );
        assert_eq!(
            (
                again.status,
                again.org_id.as_deref(),
                again.http_status,
                again.attempts
            ),
            (Status::Unconfirmed, None, Some(201), 1)
        );
        let error = again.error.as_deref().unwrap();
        assert!(
            error.starts_with(
                "the API gave organization \"org-1\" for this row, and line 3 is recorded with \
                 it; one organization is one row's, so line 4 is not (its create may have made \
                 another organization: the next run looks it up)"
            ),
            "{error}"
        );
        assert_eq!(again.kind, Some(ErrorKind::Conflict));
        outcomes.set(2, &again);

        // An earlier run's organization found for another row: failed, nothing was created.
        let found = ids.claim(
            3,
            Outcome::done(Status::Exists, "org-0".into(), None, 0),
            &outcomes,
        );
        assert_eq!((found.status, found.org_id), (Status::Failed, None));
        assert!(
            found
                .error
                .unwrap()
                .contains("and line 2 is recorded with it")
        );

        // Its own organization again (an outcome recorded twice) is no conflict, nor is
        // an outcome without one.
        let own = Outcome::done(Status::Created, "org-1".into(), Some(201), 1);
        assert_eq!(ids.claim(1, own.clone(), &outcomes), own);
        let failed = Outcome::not_sent("stopped".into());
        assert_eq!(ids.claim(3, failed.clone(), &outcomes), failed);
    }
}
