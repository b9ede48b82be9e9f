//! A row against the organization it matches: which fields differ (`field: old -> new`), and
//! the update that makes the organization what the row says.
//!
//! Only what the row gives is compared: a field the row leaves empty, or a metadata key it
//! does not have, is neither a difference nor changed by an update. Compared are `name`,
//! `description`, `color` (case aside), `domains` (order and case aside), `parent_id` and each
//! `metadata.<key>` the row has. `displayName`, `email` and `template_id` are not: the API
//! keeps no such fields on an organization.

use std::fmt;

use serde_json::Value;

use crate::api::{CreateOrganization, Organization, UpdateOrganization};

/// One field that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The field, e.g. `description` or `metadata.region`.
    pub field: String,
    /// Its value now.
    pub old: String,
    /// Its value in the row.
    pub new: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} -> {}", self.field, self.old, self.new)
    }
}

/// The changes as one cell: `field: old -> new; field: old -> new`.
pub(crate) fn to_text(changes: &[Change]) -> String {
    changes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The fields where `org` differs from what `row` gives.
pub(crate) fn changes(org: &Organization, row: &CreateOrganization) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut differ = |field: &str, old: String, new: String| {
        changes.push(Change {
            field: field.to_string(),
            old,
            new,
        });
    };
    if org.name != row.name {
        differ("name", text(&org.name), text(&row.name));
    }
    if let Some(description) = &row.description
        && org.description != *description
    {
        differ("description", text(&org.description), text(description));
    }
    if let Some(color) = &row.color
        && !org.color.eq_ignore_ascii_case(color)
    {
        differ("color", text(&org.color), text(color));
    }
    if !row.domains.is_empty() && normalized(&org.domains) != normalized(&row.domains) {
        differ("domains", list(&org.domains), list(&row.domains));
    }
    if let Some(parent) = &row.parent_id
        && org.parent_id.as_ref() != Some(parent)
    {
        differ(
            "parent_id",
            org.parent_id.as_deref().map_or_else(none, text),
            text(parent),
        );
    }
    if let Some(metadata) = &row.metadata {
        for (key, value) in &metadata.payload {
            let old = org.metadata.payload.get(key);
            if old != Some(value) {
                differ(
                    &format!("metadata.{key}"),
                    old.map_or_else(none, json),
                    json(value),
                );
            }
        }
    }
    changes
}

/// The body of the update that makes `org` what `row` says: `org` as it is, with the fields
/// the row gives put in (metadata keys merged), so that nothing else changes.
pub(crate) fn updated(org: &Organization, row: &CreateOrganization) -> UpdateOrganization {
    let mut metadata = org.metadata.clone();
    if let Some(given) = &row.metadata {
        for (key, value) in &given.payload {
            metadata.payload.insert(key.clone(), value.clone());
        }
    }
    UpdateOrganization {
        id: org.id.clone(),
        name: row.name.clone(),
        description: row
            .description
            .clone()
            .unwrap_or_else(|| org.description.clone()),
        color: row.color.clone().unwrap_or_else(|| org.color.clone()),
        domains: if row.domains.is_empty() {
            org.domains.clone()
        } else {
            row.domains.clone()
        },
        parent_id: row.parent_id.clone().or_else(|| org.parent_id.clone()),
        metadata,
        authentication_mechanisms: org.authentication_mechanisms.clone(),
        deactivated: org.deactivated,
        template: org.template,
    }
}

fn normalized(domains: &[String]) -> Vec<String> {
    let mut d: Vec<String> = domains.iter().map(|d| d.to_lowercase()).collect();
    d.sort_unstable();
    d.dedup();
    d
}

fn text(s: &str) -> String {
    if s.is_empty() {
        none()
    } else {
        format!("{s:?}")
    }
}

fn none() -> String {
    "(none)".to_string()
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        none()
    } else {
        format!("[{}]", items.join(", "))
    }
}

fn json(value: &Value) -> String {
    value.to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::api::types::Metadata;

    #[test]
    fn only_given_fields_are_compared_and_updated() {
        let mut org = Organization {
            id: "a".into(),
            name: "Acme".into(),
            description: "old".into(),
            color: "#AABBCC".into(),
            domains: vec!["b.com".into(), "a.com".into()],
            authentication_mechanisms: Some(vec!["password".into()]),
            ..Organization::default()
        };
        org.metadata.payload.insert("region".into(), json!("EMEA"));
        org.metadata.payload.insert("tier".into(), json!("gold"));
        let mut row = CreateOrganization {
            name: "Acme".into(),
            color: Some("#aabbcc".into()),
            domains: vec!["A.com".into(), "b.com".into()],
            ..CreateOrganization::default()
        };
        assert_eq!(changes(&org, &row), vec![]);

        row.description = Some("new".into());
        let mut payload = serde_json::Map::new();
        payload.insert("region".into(), json!("APAC"));
        row.metadata = Some(Metadata {
            payload,
            schema: None,
        });
        assert_eq!(
            to_text(&changes(&org, &row)),
            r#"description: "old" -> "new"; metadata.region: "EMEA" -> "APAC""#
        );
        let body = updated(&org, &row);
        assert_eq!(body.description, "new");
        assert_eq!(body.metadata.payload["region"], json!("APAC"));
        assert_eq!(body.metadata.payload["tier"], json!("gold"), "kept");
        assert_eq!(
            body.authentication_mechanisms,
            org.authentication_mechanisms
        );
        assert_eq!(body.domains, row.domains);
    }
}
