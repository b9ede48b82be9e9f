//! Finding the organization of an `unconfirmed` row before `undo` deletes it: by id (the
//! row's org_id, else its own id) when the name matches, else by name when exactly one
//! organization has it. Anything else is left alone, with the reason.

use std::collections::HashMap;
use std::ops::ControlFlow;

use super::delete::{Calls, Fates, Targets};
use super::{Fate, ToUndo};
use crate::api::{ApiClient, RetryPolicy};
use crate::fan_out::fan_out;
use crate::record::{ResultRow, ResultsFile};
use crate::stop::Stop;

/// What a look-up found for an `unconfirmed` row.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Found {
    /// The row's organization: its id.
    Organization(String),
    /// None that is the row's: why.
    Nothing(String),
    /// The look-up failed: why.
    Failed(String),
    /// Ctrl-C came first.
    NotAttempted,
}

/// The organization of each row to delete: each `created` row's org_id, and what the
/// look-ups found for the `unconfirmed` rows (the rows found nothing for, or whose look-up
/// failed, get their fate in `fates`). An organization another row records (or another
/// look-up found first) is that row's.
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
    let found = look_up(calls, rows, &todo.unconfirmed).await;
    let mut owner: HashMap<String, usize> =
        targets.iter().map(|(i, id)| (id.clone(), *i)).collect();
    for (index, found) in found {
        match found {
            Found::Organization(id) => match owner.get(&id) {
                Some(other) => {
                    let why = format!(
                        "the organization found, {id:?}, is line {}'s; left to it",
                        rows[*other].line
                    );
                    fates.insert(index, (Fate::NotFound, why));
                }
                None => {
                    owner.insert(id.clone(), index);
                    targets.insert(index, id);
                }
            },
            Found::Nothing(why) => {
                fates.insert(index, (Fate::NotFound, why));
            }
            Found::Failed(why) => {
                fates.insert(index, (Fate::Failed, why));
            }
            Found::NotAttempted => {}
        }
    }
    targets
}

/// Looks up the organization of each of `rows` (indices into `all`), `calls.concurrency` at a
/// time: by id when the row has one (its org_id, else its own id), taken only when its name
/// is the row's; else by name, taken when exactly one organization has it. Rows not looked up
/// because `stop` came first are [`Found::NotAttempted`].
async fn look_up(calls: &Calls, all: &[ResultRow], rows: &[usize]) -> Vec<(usize, Found)> {
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
            .map(|&index| (index, Found::NotAttempted)),
    );
    found
}

/// Looks up one `unconfirmed` row's organization, as [`look_up`] says.
async fn look_up_row(
    client: &ApiClient,
    policy: RetryPolicy,
    stop: &Stop,
    row: &ResultRow,
) -> Found {
    let failed = |gave_up: crate::api::GaveUp| {
        if gave_up.interrupted {
            Found::NotAttempted
        } else {
            Found::Failed(format!(
                "could not look for its organization: {}",
                gave_up.into_row_error()
            ))
        }
    };
    if let Some(id) = row.org_id.as_deref().or(row.id.as_deref()) {
        return match policy.call(stop, "a look-up", id, || client.get(id)).await {
            Ok(Some(org)) if row.name.is_empty() || org.name == row.name => {
                Found::Organization(org.id)
            }
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
