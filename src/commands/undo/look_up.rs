//! Finding a row's organization before `undo` deletes it. A row in doubt (`unconfirmed`, or
//! `failed` after an attempt that may have created it) is looked up by its org_id when it
//! has one, then by its key as a rerun looks it up: its own id, else its name (when exactly
//! one organization has it). An organization that is not the row's (another name, or a
//! template) is never taken for it: the results file was edited, and the row is looked up by
//! its key instead, with a warning naming the line. Anything else is left alone, with the
//! reason.

use std::collections::HashMap;
use std::ops::ControlFlow;

use super::delete::{Calls, Fated, Fates, Targets};
use super::{Fate, ToUndo};
use crate::api::{ApiClient, GaveUp, Organization, RetryPolicy};
use crate::fan_out::fan_out;
use crate::record::{ResultRow, ResultsFile};
use crate::stop::Stop;

/// What a look-up found for a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Found {
    /// The row's organization: its id.
    Organization(String),
    /// None that is the row's: why.
    Nothing(String),
    /// The look-up failed: why.
    Failed(String),
    /// Ctrl-C came first.
    NotAttempted,
}

/// A row's look-up: what it found, and the warning to print when the org_id the results file
/// gives it is another organization's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LookedUp {
    /// What it found.
    pub found: Found,
    /// The org_id the results file gives the row is not the row's organization: why.
    pub not_its_own: Option<String>,
}

impl From<Found> for LookedUp {
    fn from(found: Found) -> LookedUp {
        LookedUp {
            found,
            not_its_own: None,
        }
    }
}

/// The organization of each row to delete: each `created` row's org_id, and what the
/// look-ups found for the rows in doubt (the rows found nothing for, or whose look-up
/// failed, get their fate in `fates`). An organization another look-up found first is that
/// row's; one a `created` row's org_id names is the row whose look-up found it as its own. Each org_id found not to be its row's is warned of on
/// stderr.
pub(super) async fn find_targets(
    calls: &Calls,
    results_file: &ResultsFile,
    todo: &ToUndo,
    fates: &mut Fates,
) -> Targets {
    let rows = &results_file.rows;
    let mut targets: Targets = (todo.created.iter())
        .map(|&i| (i, rows[i].org_id.clone().unwrap_or_default()))
        .collect();
    let mut found = look_up(calls, rows, &todo.in_doubt).await;
    found.sort_by_key(|(index, _)| *index);
    let mut owner: HashMap<String, usize> =
        targets.iter().map(|(i, id)| (id.clone(), *i)).collect();
    for (index, looked_up) in found {
        if let Some(why) = &looked_up.not_its_own {
            warn_not_its_own(results_file, index, why);
        }
        match looked_up.found {
            // Another row's org_id names it, but the look-up found it as this row's (by its
            // name or id): that cell was edited, and the other row's own is looked up when it
            // is read before its delete.
            Found::Organization(id)
                if owner
                    .get(&id)
                    .is_some_and(|o| todo.created.binary_search(o).is_ok()) =>
            {
                owner.insert(id.clone(), index);
                targets.insert(index, id);
            }
            Found::Organization(id) => match owner.get(&id) {
                Some(other) => {
                    fates.insert(
                        index,
                        Fated::new(Fate::NotFound, taken(&id, rows[*other].line)),
                    );
                }
                None => {
                    owner.insert(id.clone(), index);
                    targets.insert(index, id);
                }
            },
            Found::Nothing(why) => {
                fates.insert(index, Fated::new(Fate::NotFound, why));
            }
            Found::Failed(why) => {
                fates.insert(index, Fated::new(Fate::Failed, why));
            }
            Found::NotAttempted => {}
        }
    }
    targets
}

/// Why a row's organization is not taken: `id`, what was found for it, is line `line`'s.
pub(super) fn taken(id: &str, line: u64) -> String {
    format!("the organization found, {id:?}, is line {line}'s; left to it")
}

/// Prints that row `index`'s org_id is not its own, `why`.
pub(super) fn warn_not_its_own(results_file: &ResultsFile, index: usize, why: &str) {
    eprintln!("{}", not_its_own_warning(results_file, index, why));
}

/// The warning that row `index`'s org_id is not its own, `why`.
pub(super) fn not_its_own_warning(results_file: &ResultsFile, index: usize, why: &str) -> String {
    format!(
        "warning: {}: line {}: {why}",
        results_file.path.display(),
        results_file.rows[index].line
    )
}

/// Looks up the organization of each of `rows` (indices into `all`), `calls.concurrency` at a
/// time, as [`look_up_row`] does. Rows not looked up because `stop` came first are
/// [`Found::NotAttempted`].
async fn look_up(calls: &Calls, all: &[ResultRow], rows: &[usize]) -> Vec<(usize, LookedUp)> {
    let mut found = Vec::with_capacity(rows.len());
    let fanned = fan_out(
        calls.concurrency,
        &calls.stop,
        rows.iter().copied(),
        |index| {
            let (client, stop, policy) = (calls.client.clone(), calls.stop.clone(), calls.policy);
            let row = all[index].clone();
            async move { (index, look_up_row(&client, policy, &stop, &row).await) }
        },
        |one| {
            found.push(one);
            ControlFlow::Continue(())
        },
    )
    .await;
    found.extend(
        rows[fanned.started..]
            .iter()
            .map(|&index| (index, Found::NotAttempted.into())),
    );
    found
}

/// Whether `org` may be the organization of `row`: not a template, and named as the row (a
/// row without a name takes any name).
pub(super) fn is_the_rows(org: &Organization, row: &ResultRow) -> bool {
    !org.template && (row.name.is_empty() || org.name == row.name)
}

/// Why organization `org`, which the results file gives `row` as its org_id, is not the
/// row's, and how the row is looked up instead.
pub(super) fn not_its_own(org: &Organization, row: &ResultRow) -> String {
    let what = if org.template {
        "the template".to_string()
    } else {
        format!("named {:?}", org.name)
    };
    let instead = looked_up_by(row);
    format!(
        "its org_id {:?} is not this row's organization ({what}, not {:?}; was the results \
         file edited?): that organization is left alone, and the row's own is looked up \
         {instead}",
        org.id, row.name
    )
}

/// How `row`'s own organization is looked up ([`by_key`]): "by its id …" or "by its name …".
pub(super) fn looked_up_by(row: &ResultRow) -> String {
    match row.id.as_deref() {
        Some(id) => format!("by its id {id:?}"),
        None => format!("by its name {:?}", row.name),
    }
}

/// Looks up one row's organization: by its org_id when it has one (other than its own id),
/// taken only when it is the row's ([`is_the_rows`]); else, or when that organization is
/// another's or gone, by [`by_key`].
async fn look_up_row(
    client: &ApiClient,
    policy: RetryPolicy,
    stop: &Stop,
    row: &ResultRow,
) -> LookedUp {
    let org_id = row
        .org_id
        .as_deref()
        .filter(|id| Some(*id) != row.id.as_deref());
    let mut not_its_own_why = None;
    if let Some(id) = org_id {
        match policy.call(stop, "a look-up", id, || client.get(id)).await {
            Ok(Some(org)) if is_the_rows(&org, row) => {
                return Found::Organization(org.id).into();
            }
            Ok(Some(org)) => not_its_own_why = Some(not_its_own(&org, row)),
            Ok(None) => {}
            Err(gave_up) => return failed(gave_up).into(),
        }
    }
    let found = match by_key(client, policy, stop, row).await {
        Found::Nothing(why) => match (org_id, &not_its_own_why) {
            (Some(id), None) => Found::Nothing(format!("no organization has id {id:?}; {why}")),
            (Some(id), Some(_)) => Found::Nothing(format!(
                "its org_id {id:?} is another organization's (left alone); {why}"
            )),
            _ => Found::Nothing(why),
        },
        found => found,
    };
    LookedUp {
        found,
        not_its_own: not_its_own_why,
    }
}

/// A look-up that failed for good, or that Ctrl-C cut.
fn failed(gave_up: GaveUp) -> Found {
    if gave_up.interrupted {
        Found::NotAttempted
    } else {
        Found::Failed(format!(
            "could not look for its organization: {}",
            gave_up.into_row_error()
        ))
    }
}

/// Looks up `row`'s organization by its key, as a rerun looks up a row in doubt: by the
/// row's own id (the organization with it, when it is the row's), else by its name, taken
/// when exactly one organization has it.
pub(super) async fn by_key(
    client: &ApiClient,
    policy: RetryPolicy,
    stop: &Stop,
    row: &ResultRow,
) -> Found {
    if let Some(id) = row.id.as_deref() {
        return match policy.call(stop, "a look-up", id, || client.get(id)).await {
            Ok(Some(org)) if is_the_rows(&org, row) => Found::Organization(org.id),
            Ok(Some(org)) => Found::Nothing(format!(
                "organization {id:?} is named {:?}, not {:?}: not this row's, left alone",
                org.name, row.name
            )),
            Ok(None) => Found::Nothing(format!("no organization has id {id:?}")),
            Err(gave_up) => failed(gave_up),
        };
    }
    if row.name.is_empty() {
        return Found::Nothing("the row has neither id nor name to look it up by".into());
    }
    let name = row.name.as_str();
    match policy
        .call(stop, "a look-up", name, || client.find_by_name(name))
        .await
    {
        Ok(found) => match found.as_slice() {
            [] => Found::Nothing(format!("no organization is named {name:?}")),
            [one] => Found::Organization(one.id.clone()),
            many => Found::Failed(format!(
                "{} organizations are named {name:?} ({}): none deleted, as any of them may \
                 have been there before; delete the one orgimport created by hand",
                many.len(),
                many.iter()
                    .map(|o| o.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        },
        Err(gave_up) => failed(gave_up),
    }
}
