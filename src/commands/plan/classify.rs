//! Each valid row's action against the tenant as read: create (after its parent, if that is
//! created first), exists as it is or with changes, in conflict, or invalid.

use super::{Action, RowPlan};
use crate::api::{CreateOrganization, Organization};
use crate::planning::Plan;
use crate::record::Status;
use crate::tenant::diff::{self, Change};
use crate::tenant::existing::{Existing, Match};
use crate::tenant::templates;

/// Gives every row its action, parents before their children.
pub(super) fn classify(
    plan: &Plan,
    requests: Vec<Option<CreateOrganization>>,
    existing: &Existing,
) -> Vec<RowPlan> {
    let mut order: Vec<usize> = (0..plan.outcomes.len()).collect();
    order.sort_by_key(|i| plan.waves.get(i).copied().unwrap_or(0));
    let mut requests = requests;
    let mut rows: Vec<Option<RowPlan>> = vec![None; plan.outcomes.len()];
    for index in order {
        let row = match (
            plan.outcomes.view(index),
            requests.get_mut(index).and_then(Option::take),
        ) {
            (Some(outcome), _) if outcome.status == Status::Invalid => RowPlan::because(
                Action::Invalid,
                outcome
                    .error
                    .map_or_else(|| "invalid".to_string(), str::to_string),
            ),
            (_, Some(request)) => {
                let parent = plan.parents.get(&index).map(|&p| {
                    let parent = rows[p].as_ref().expect("parents are classified first");
                    (plan.lines[p], parent)
                });
                classify_row(request, parent, existing)
            }
            _ => RowPlan::because(Action::Invalid, "the row cannot be read".into()),
        };
        rows[index] = Some(row);
    }
    rows.into_iter()
        .map(|r| r.expect("every row is classified"))
        .collect()
}

/// One valid row's action; `parent` is the line and plan of its parent row, if another row
/// of the file is its parent.
fn classify_row(
    mut request: CreateOrganization,
    parent: Option<(u64, &RowPlan)>,
    existing: &Existing,
) -> RowPlan {
    // The line of a parent row that would be created first.
    let mut new_parent = None;
    match parent {
        Some((line, p)) => match p.action {
            Action::ExistsIdentical | Action::ExistsDifferent => {
                request.parent_id = p.org_id.clone();
            }
            Action::Create | Action::CreateAfterParent => new_parent = Some(line),
            Action::Conflict | Action::Invalid => {
                return RowPlan::because(
                    Action::Conflict,
                    format!(
                        "its parent, line {line}, is {}; resolve that first",
                        p.action.as_str()
                    ),
                );
            }
        },
        None => {
            if let Some(parent_id) = &request.parent_id
                && existing.get(parent_id).is_none()
            {
                return RowPlan::because(
                    Action::Invalid,
                    format!(
                        "parent_id {parent_id:?} is neither a row of this file nor an \
                         organization of the tenant"
                    ),
                );
            }
        }
    }
    match existing.find(request.id.as_deref(), &request.name) {
        Match::Conflict(why) => RowPlan::because(Action::Conflict, why.to_string()),
        Match::Found(org) => found(org, &request, new_parent),
        Match::New => {
            if let Some(template) = &request.template_id
                && let Some(problem) = templates::problem(existing.get(template))
            {
                return RowPlan::because(
                    Action::Invalid,
                    format!("template_id {template:?} {problem}"),
                );
            }
            let mut row = match new_parent {
                Some(line) => RowPlan::because(
                    Action::CreateAfterParent,
                    format!("its parent, line {line}, is created first"),
                ),
                None => RowPlan::new(Action::Create),
            };
            row.org_id = request.id;
            row
        }
    }
}

/// The plan of a row that matches the tenant's `org`: identical, or the fields that differ
/// (a parent to be created first is a change of `parent_id`, to the row on `new_parent`).
fn found(org: &Organization, request: &CreateOrganization, new_parent: Option<u64>) -> RowPlan {
    let mut changes = diff::changes(org, request);
    if let Some(line) = new_parent {
        changes.push(Change {
            field: "parent_id".into(),
            old: org
                .parent_id
                .as_deref()
                .map_or_else(|| "(none)".into(), |p| format!("{p:?}")),
            new: format!("(the organization of line {line}, to be created)"),
        });
    }
    RowPlan {
        action: if changes.is_empty() {
            Action::ExistsIdentical
        } else {
            Action::ExistsDifferent
        },
        org_id: Some(org.id.clone()),
        changes,
        reason: None,
    }
}
