//! A row made into an organization request: every field read from its source, typed and checked,
//! every problem of the row gathered.

use std::borrow::Cow;

use csv::StringRecord;
use serde_json::{Map, Value};

use super::checks::{self, MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, MAX_SHORT_TEXT_CHARS};
use super::*;
use crate::api::CreateOrganization;
use crate::api::types::Metadata;
use crate::input::quote::quoted;

impl Mapping {
    /// Whether `record` is the header again, cell for cell (whatever the case and the
    /// spaces around): a second export pasted under the first.
    fn repeats_the_header(&self, record: &StringRecord) -> bool {
        self.headers.len() >= 2
            && record.len() == self.headers.len()
            && record
                .iter()
                .zip(self.headers.iter())
                .all(|(cell, header)| cell.trim().eq_ignore_ascii_case(header.trim()))
    }

    /// Checks `record` and builds its create request. `default_template` applies to rows
    /// with no template of their own. A `parent` (another row of the file) is not resolved
    /// here: the run sets `parent_id` once that row exists.
    ///
    /// # Errors
    /// Every problem found, each naming the column and the value.
    pub fn to_request(
        &self,
        record: &StringRecord,
        default_template: Option<&str>,
    ) -> Result<CreateOrganization, Vec<Problem>> {
        if self.repeats_the_header(record) {
            return Err(vec![Problem::new(
                ProblemKind::Unreadable,
                None,
                "the row repeats the header (two files pasted together?): it is no customer; \
                 delete it",
            )]);
        }
        let mut problems = Vec::new();
        let label = |name: &str| -> String {
            self.field(name)
                .map(|f| f.label.clone())
                .unwrap_or_else(|| name.to_string())
        };
        let mut problem = |kind: ProblemKind, field: &str, message: String| {
            problems.push(Problem::new(kind, Some(&label(field)), message));
        };
        let too_long = |value: &str, max: usize| value.chars().count() > max;

        let name = self.text("name", record).unwrap_or_default();
        if name.is_empty() {
            let message = match self.field("name").map(|f| &f.source) {
                Some(Source::Slug(i)) => format!(
                    "cannot make a name from {}: it has no letters or digits",
                    quoted(record.get(*i).unwrap_or(""))
                ),
                _ => "is empty; every organization needs a name".into(),
            };
            problem(ProblemKind::MissingName, "name", message);
        } else if too_long(&name, MAX_NAME_CHARS) {
            problem(
                ProblemKind::TooLong,
                "name",
                format!(
                    "is {} characters long; the most is {MAX_NAME_CHARS}",
                    name.chars().count()
                ),
            );
        } else if let Some(why) = name_problem(&name, "every organization needs a name") {
            problem(ProblemKind::BadName, "name", why);
        }

        let mut id_field = |field: &str, what: &str| -> Option<String> {
            let value = self.text(field, record)?;
            match checks::check_id(&value) {
                Ok(()) => Some(value.into_owned()),
                Err(why) => {
                    problem(
                        ProblemKind::BadId,
                        field,
                        format!("{} is not a valid {what}: {why}", quoted(&value)),
                    );
                    None
                }
            }
        };
        let id = id_field("id", "organization id");
        let parent_id = id_field("parent_id", "parent organization id");
        let template_id =
            id_field("template_id", "template id").or_else(|| default_template.map(str::to_string));
        let mut short_text = |field: &str, max: usize| -> Option<String> {
            let value = self.text(field, record)?;
            if too_long(&value, max) {
                problem(
                    ProblemKind::TooLong,
                    field,
                    format!(
                        "is {} characters long; the most is {max}",
                        value.chars().count()
                    ),
                );
            }
            Some(value.into_owned())
        };
        let display_name = short_text("displayName", MAX_SHORT_TEXT_CHARS);
        let description = short_text("description", MAX_DESCRIPTION_CHARS);
        let email = short_text("email", MAX_SHORT_TEXT_CHARS);
        if let Some(display_name) = &display_name
            && let Some(why) = name_problem(display_name, "leave it empty, or give one to show")
        {
            problem(ProblemKind::BadName, "displayName", why);
        }
        if let Some(email) = &email
            && !checks::is_email(email)
        {
            problem(
                ProblemKind::BadEmail,
                "email",
                format!("{} is not an email address", quoted(email)),
            );
        }
        let color = self.text("color", record).map(Cow::into_owned);
        if let Some(color) = &color
            && !checks::is_hex_color(color)
        {
            problem(
                ProblemKind::BadColor,
                "color",
                format!("{} is not a hex color like #1A73E8", quoted(color)),
            );
        }
        let mut domains = Vec::new();
        if let Some(field) = self.field("domains")
            && let Some(list) = self.value(field, record)
        {
            let separators: &[char] = if field.separator == ";" {
                &[';', ',']
            } else {
                &[]
            };
            let items: Vec<&str> = if separators.is_empty() {
                list.split(field.separator.as_str()).collect()
            } else {
                list.split(separators).collect()
            };
            for domain in items.into_iter().map(str::trim).filter(|d| !d.is_empty()) {
                if let Err(why) = checks::check_no_bidi_controls(domain) {
                    problem(
                        ProblemKind::BadDomain,
                        "domains",
                        format!("{} contains {why}", quoted(domain)),
                    );
                } else if checks::is_domain(domain) {
                    domains.push(domain.to_ascii_lowercase());
                } else {
                    problem(
                        ProblemKind::BadDomain,
                        "domains",
                        format!(
                            "{} is not a domain name like example.com{}",
                            quoted(domain),
                            if domain.contains("://") || domain.contains('/') {
                                " (a column of web addresses gives its hosts with \
                                 transform = \"host\" in a mapping file)"
                            } else {
                                ""
                            }
                        ),
                    );
                }
            }
        }
        let mut payload = Map::new();
        for (key, field) in &self.metadata {
            let Some(text) = self.value(field, record) else {
                continue;
            };
            match typed(&text, field) {
                Ok(value) => {
                    payload.insert(key.clone(), value);
                }
                Err(why) => problems.push(Problem::new(
                    ProblemKind::BadMetadata,
                    Some(&field.label),
                    format!("{} {why}", quoted(&text)),
                )),
            }
        }

        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(CreateOrganization {
            id,
            name: name.into_owned(),
            display_name,
            description,
            email,
            color,
            domains,
            parent_id,
            template_id,
            metadata: (!payload.is_empty()).then_some(Metadata {
                payload,
                schema: None,
            }),
        })
    }
}

/// What makes `value` unusable as a name or display name, if anything: a control character,
/// nothing to show once its invisible characters are removed (a zero-width space, a
/// byte-order mark, joiners), or a bidi control. `needed` says what to do about an empty one.
fn name_problem(value: &str, needed: &str) -> Option<String> {
    if value.chars().any(char::is_control) {
        Some(format!("{} contains a control character", quoted(value)))
    } else if checks::shows_nothing(value) {
        Some(format!(
            "{} is empty once its invisible characters (zero-width spaces, joiners, format \
             characters) are removed; {needed}",
            quoted(value)
        ))
    } else {
        checks::check_no_bidi_controls(value)
            .err()
            .map(|why| format!("{} contains {why}", quoted(value)))
    }
}

/// A metadata cell as the JSON value of its type.
fn typed(text: &str, field: &Field) -> Result<Value, String> {
    match field.kind {
        MetaType::String => Ok(Value::String(text.to_string())),
        MetaType::Number => text
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| {
                text.parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .ok_or(())
            })
            .map_err(|_| "is not a number".to_string()),
        MetaType::Bool => match text.to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "1" => Ok(Value::Bool(true)),
            "false" | "no" | "n" | "0" => Ok(Value::Bool(false)),
            _ => Err("is not true or false".into()),
        },
        MetaType::List => Ok(Value::Array(
            text.split(field.separator.as_str())
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_string()))
                .collect(),
        )),
        MetaType::Json => serde_json::from_str(text).map_err(|e| format!("is not JSON: {e}")),
    }
}
