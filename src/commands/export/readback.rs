//! The export read back as `orgimport import` reads it, with no flags: the same mapping, the
//! same row checks (duplicates and parents included), the same comparison `plan` makes, and
//! the fields `plan` does not compare because the row leaves them empty. What would not come
//! back as the organization is named, so that a copy or a backup is never silently partial.

use std::path::Path;

use crate::Error;
use crate::api::{CreateOrganization, Organization};
use crate::input::{Dialect, MappingSpec, Source};
use crate::planning;
use crate::record::EarlierRuns;
use crate::tenant::diff;

/// For each organization of `orgs` (written to `path` in that order, one row each) that the
/// import would not create as it is: `id "x": what differs`.
///
/// # Errors
/// [`Error::Input`]/[`Error::Io`] when the file cannot be read back.
pub(super) fn differences(path: &Path, orgs: &[Organization]) -> Result<Vec<String>, Error> {
    let source = Source::settle(path, &Dialect::default())?;
    let mapping = source.mapping(&MappingSpec::default())?;
    let plan = planning::build(
        &source,
        &mapping,
        &mut EarlierRuns::default(),
        None,
        &mut |_| {},
    )?;
    let mut found = Vec::new();
    let mut rows = 0;
    for ((index, row), org) in source.rows(mapping.width())?.enumerate().zip(orgs) {
        let row = row?;
        rows += 1;
        let refused = plan.outcomes.view(index);
        if let Some(outcome) = refused {
            let why = outcome.error.unwrap_or("invalid");
            found.push(format!(
                "id {:?}: the import refuses its row: {why}",
                org.id
            ));
            continue;
        }
        match mapping.to_request(&row.record, None) {
            Ok(request) => {
                let differ = differences_of(org, &request);
                if !differ.is_empty() {
                    found.push(format!("id {:?}: {}", org.id, differ.join("; ")));
                }
            }
            Err(problems) => {
                let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
                found.push(format!("id {:?}: {}", org.id, problems.join("; ")));
            }
        }
    }
    if rows != orgs.len() {
        found.push(format!(
            "the file reads back as {rows} row(s), not {}",
            orgs.len()
        ));
    }
    Ok(found)
}

/// What the import would create from `request` that `org` is not: `plan`'s comparison, and
/// each field `org` has that the row leaves empty (which `plan` does not compare).
fn differences_of(org: &Organization, request: &CreateOrganization) -> Vec<String> {
    let mut differ: Vec<String> = diff::changes(org, request)
        .iter()
        .map(ToString::to_string)
        .collect();
    if request.id.as_deref() != Some(org.id.as_str()) {
        differ.push(format!("id: {:?} -> {:?}", org.id, request.id));
    }
    let mut lost = |field: &str, has: bool, given: bool| {
        if has && !given {
            differ.push(format!("{field}: would be left empty"));
        }
    };
    lost(
        "description",
        !org.description.is_empty(),
        request.description.is_some(),
    );
    lost("color", !org.color.is_empty(), request.color.is_some());
    lost(
        "domains",
        !org.domains.is_empty(),
        !request.domains.is_empty(),
    );
    lost(
        "parent_id",
        org.parent_id.is_some(),
        request.parent_id.is_some(),
    );
    let payload = request.metadata.as_ref().map(|m| &m.payload);
    for key in org.metadata.payload.keys() {
        let given = payload.is_some_and(|p| p.contains_key(key));
        lost(&format!("metadata key {key:?}"), true, given);
    }
    differ
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::Metadata;
    use serde_json::json;

    #[test]
    fn fields_the_row_leaves_empty_are_differences_too() {
        let org = Organization {
            id: "a".into(),
            name: "Acme".into(),
            description: "Things".into(),
            domains: vec!["acme.com".into()],
            metadata: Metadata {
                payload: json!({"region": "EMEA"}).as_object().unwrap().clone(),
                schema: None,
            },
            ..Organization::default()
        };
        let same = CreateOrganization {
            id: Some("a".into()),
            name: "Acme".into(),
            description: Some("Things".into()),
            domains: vec!["acme.com".into()],
            metadata: Some(Metadata {
                payload: json!({"region": "EMEA"}).as_object().unwrap().clone(),
                schema: None,
            }),
            ..CreateOrganization::default()
        };
        assert!(differences_of(&org, &same).is_empty());
        let bare = CreateOrganization {
            id: Some("a".into()),
            name: "Acme ".into(),
            ..CreateOrganization::default()
        };
        let differ = differences_of(&org, &bare).join("; ");
        assert!(differ.contains("name: "), "{differ}");
        assert!(
            differ.contains("description: would be left empty"),
            "{differ}"
        );
        assert!(differ.contains("domains: would be left empty"), "{differ}");
        assert!(differ.contains("metadata key \"region\""), "{differ}");
    }
}
