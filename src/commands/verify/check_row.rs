//! One created row read back and checked: it exists, is not a template, its name, parent and
//! metadata are the row's, and it carries its template's authentication mechanisms and
//! metadata schema.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::Check;
use crate::RowError;
use crate::api::{ApiClient, Organization, RetryPolicy};
use crate::record::{ResultRow, ResultsFile};
use crate::stop::Stop;

/// How verify reads an organization: through the client, retried as `policy` says until
/// `stop` is set.
#[derive(Clone)]
pub(super) struct Reads {
    /// The organizations API.
    pub client: ApiClient,
    /// How each read is retried.
    pub policy: RetryPolicy,
    /// Ctrl-C or a page's Stop: ends a read's pause between retries at once, and starts no
    /// new read.
    pub stop: Arc<Stop>,
}

/// Each template the rows name, by id: read (`None`: it does not exist), or why it could
/// not be.
pub(super) type Templates = HashMap<String, Result<Option<Organization>, RowError>>;

/// The checks of one row, as they are made.
struct Checks<'a> {
    /// The row checked.
    row: &'a ResultRow,
    /// Its organization id.
    org_id: String,
    /// The checks so far.
    made: Vec<Check>,
}

impl Checks<'_> {
    /// Notes that `check` expected `expected` and found `actual`, with its `result`.
    fn add(&mut self, check: &'static str, expected: String, actual: String, result: &'static str) {
        self.made.push(Check {
            line: self.row.line,
            name: self.row.name.clone(),
            org_id: self.org_id.clone(),
            check,
            expected,
            actual,
            result,
        });
    }

    /// Notes `check`: `ok` when what was expected is what is found, else `mismatch`.
    fn compare<T: PartialEq + ToString>(&mut self, check: &'static str, expected: T, actual: T) {
        let result = if expected == actual { "ok" } else { "mismatch" };
        self.add(check, expected.to_string(), actual.to_string(), result);
    }
}

/// Reads row `index`'s organization back and checks it.
pub(super) async fn check_row(
    reads: &Reads,
    results_file: &ResultsFile,
    templates: &Templates,
    index: usize,
) -> Vec<Check> {
    let row = &results_file.rows[index];
    let mut checks = Checks {
        row,
        org_id: row.org_id.clone().unwrap_or_default(),
        made: Vec::new(),
    };
    let Some(org) = exists(reads, &mut checks).await else {
        return checks.made;
    };
    if org.template {
        // No row's organization is a template: the org_id was edited, or pasted.
        checks.add(
            "org_id",
            "the row's organization, not a template".into(),
            format!("the template {:?}", org.name),
            "mismatch",
        );
    }
    let Some(request) = &row.request else {
        checks.add(
            "name",
            "(the row's columns make no request; check --mapping)".into(),
            org.name.clone(),
            "error",
        );
        return checks.made;
    };
    checks.compare("name", request.name.as_str(), org.name.as_str());
    let parent = results_file.expected_parent(index).unwrap_or_default();
    checks.compare(
        "parent",
        parent.as_str(),
        org.parent_id.as_deref().unwrap_or(""),
    );
    let expected_payload = Value::Object(
        (request.metadata.as_ref())
            .map(|m| m.payload.clone())
            .unwrap_or_default(),
    );
    let actual_payload = Value::Object(org.metadata.payload.clone());
    checks.compare("metadata", expected_payload, actual_payload);
    if let Some(template_id) = &request.template_id {
        check_template(&mut checks, &org, template_id, templates.get(template_id));
    }
    checks.made
}

/// Reads the row's organization: `None`, with the check saying why, when it does not exist or
/// cannot be read.
async fn exists(reads: &Reads, checks: &mut Checks<'_>) -> Option<Organization> {
    let org_id = checks.org_id.clone();
    let org = (reads.policy)
        .call(&reads.stop, "a read", &org_id, || reads.client.get(&org_id))
        .await;
    match org {
        Ok(Some(org)) => {
            checks.add("exists", "yes".into(), "yes".into(), "ok");
            Some(org)
        }
        Ok(None) => {
            checks.add("exists", "yes".into(), "no (404)".into(), "mismatch");
            None
        }
        Err(e) => {
            let why = e.into_row_error().to_string();
            checks.add("exists", "yes".into(), why, "error");
            None
        }
    }
}

/// Checks that `org` carries the authentication mechanisms and metadata schema of its
/// template `template_id` (as read: `template`).
fn check_template(
    checks: &mut Checks<'_>,
    org: &Organization,
    template_id: &str,
    template: Option<&Result<Option<Organization>, RowError>>,
) {
    match template {
        Some(Ok(Some(template))) => {
            let mechanisms = |o: &Organization| {
                let mut m = o.authentication_mechanisms.clone().unwrap_or_default();
                m.sort();
                m.join(" ")
            };
            checks.compare(
                "authentication_mechanisms",
                mechanisms(template),
                mechanisms(org),
            );
            let schema = |o: &Organization| {
                (o.metadata.schema.clone())
                    .filter(|s| s.as_object().is_none_or(|o| !o.is_empty()))
                    .unwrap_or(Value::Null)
            };
            checks.compare("metadata_schema", schema(template), schema(org));
        }
        Some(Ok(None)) => checks.add(
            "template",
            format!("template {template_id} exists"),
            "no (404)".into(),
            "error",
        ),
        Some(Err(e)) => checks.add(
            "template",
            format!("template {template_id} readable"),
            e.to_string(),
            "error",
        ),
        None => {}
    }
}
