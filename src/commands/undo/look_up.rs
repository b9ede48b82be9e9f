//! Finding the organization of an `unconfirmed` row before `undo` deletes it: by id (the
//! row's org_id, else its own id) when the name matches, else by name when exactly one
//! organization has it. Anything else is left alone, with the reason.

use std::ops::ControlFlow;
use std::sync::Arc;

use crate::api::{ApiClient, RetryPolicy};
use crate::fan_out::fan_out;
use crate::record::ResultRow;
use crate::stop::Stop;

/// What a look-up found for an `unconfirmed` row.
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

/// Looks up the organization of each of `rows` (indices into `all`), `concurrency` at a
/// time: by id when the row has one (its org_id, else its own id), taken only when its name
/// is the row's; else by name, taken when exactly one organization has it. Rows not looked up
/// because `stop` came first are [`Found::NotAttempted`].
pub(super) async fn look_up(
    client: &ApiClient,
    policy: RetryPolicy,
    stop: &Arc<Stop>,
    concurrency: usize,
    all: &[ResultRow],
    rows: &[usize],
) -> Vec<(usize, Found)> {
    let mut found = Vec::with_capacity(rows.len());
    let fanned = fan_out(
        concurrency,
        stop,
        rows.iter().copied(),
        |index| {
            let (client, stop) = (client.clone(), stop.clone());
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
