//! A row made into an organization request: every field read from its source, typed and checked,
//! every problem of the row gathered.

use std::borrow::Cow;

use csv::StringRecord;
use serde_json::{Map, Value};

use super::field_checks::{self, MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, MAX_SHORT_TEXT_CHARS};
use super::*;
use crate::api::CreateOrganization;
use crate::api::types::Metadata;
use crate::input::quote::quoted;
use transform::without_password;

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
        let built = self.read_row(record, default_template, true)?;
        Ok(built.expect("a valid row's request is built when asked for"))
    }

    /// The problems [`Mapping::to_request`] finds in `record`, found by the same checks,
    /// without building its request (no cell is copied): what planning asks of a row whose
    /// request is not kept.
    pub fn problems(&self, record: &StringRecord) -> Vec<Problem> {
        self.read_row(record, None, false).err().unwrap_or_default()
    }

    /// Checks `record`, and builds its request when `build`.
    fn read_row(
        &self,
        record: &StringRecord,
        default_template: Option<&str>,
        build: bool,
    ) -> Result<Option<CreateOrganization>, Vec<Problem>> {
        if self.repeats_the_header(record) {
            return Err(vec![Problem::new(
                ProblemKind::Unreadable,
                None,
                "the row repeats the header (two files pasted together?): it is no customer; \
                 delete it",
            )]);
        }
        let mut row = RowCheck {
            mapping: self,
            record,
            problems: Vec::new(),
            build,
        };
        let name = row.name();
        let id = row.id_field(at::ID, "organization id");
        let parent_id = row.id_field(at::PARENT_ID, "parent organization id");
        let template_id = row.id_field(at::TEMPLATE_ID, "template id");
        // Lengths first, then what each holds: the order the row's problems are listed in.
        let display_name = row.short_text(at::DISPLAY_NAME, MAX_SHORT_TEXT_CHARS);
        let description = row.short_text(at::DESCRIPTION, MAX_DESCRIPTION_CHARS);
        let email = row.short_text(at::EMAIL, MAX_SHORT_TEXT_CHARS);
        if let Some(display_name) = &display_name
            && let Some(why) = name_problem(display_name, "leave it empty, or give one to show")
        {
            row.problem(ProblemKind::BadName, at::DISPLAY_NAME, why);
        }
        if let Some(email) = &email {
            row.email(email);
        }
        let color = row.color();
        let domains = row.domains();
        let metadata = row.metadata();
        if !row.problems.is_empty() {
            return Err(row.problems);
        }
        if !build {
            return Ok(None);
        }
        let owned = |text: Option<Cow<'_, str>>| text.map(Cow::into_owned);
        Ok(Some(CreateOrganization {
            id: owned(id),
            name: name.into_owned(),
            display_name: owned(display_name),
            description: owned(description),
            email: owned(email),
            color: owned(color),
            domains,
            parent_id: owned(parent_id),
            template_id: owned(template_id).or_else(|| default_template.map(str::to_string)),
            metadata: (!metadata.is_empty()).then_some(Metadata {
                payload: metadata,
                schema: None,
            }),
        }))
    }
}

/// One row being checked against its mapping: each field read and checked in turn, every
/// problem gathered; the values that make its request kept only when it is `build`.
struct RowCheck<'a> {
    /// The mapping the row is read with.
    mapping: &'a Mapping,
    /// The row's cells.
    record: &'a StringRecord,
    /// The problems found so far.
    problems: Vec<Problem>,
    /// Whether the request is built: the lists and maps only it needs are made then.
    build: bool,
}

impl<'a> RowCheck<'a> {
    /// Records a problem of the field at `field` ([`at`]; shown by its column's label).
    fn problem(&mut self, kind: ProblemKind, field: usize, message: String) {
        let label = self
            .mapping
            .field(field)
            .map_or_else(|| FIELDS[field].to_string(), |f| f.label.clone());
        self.problems
            .push(Problem::new(kind, Some(&label), message));
    }

    /// The field at `field` ([`at`]), as text, if the row gives it.
    fn text(&self, field: usize) -> Option<Cow<'a, str>> {
        self.mapping.text(field, self.record)
    }

    /// The row's name: present, not too long, and something that shows.
    fn name(&mut self) -> Cow<'a, str> {
        let name = self.text(at::NAME).unwrap_or_default();
        if name.is_empty() {
            let message = match self.mapping.field(at::NAME).map(|f| &f.source) {
                Some(Source::Slug(i)) => format!(
                    "cannot make a name from {}: it has no letters or digits",
                    quoted(self.record.get(*i).unwrap_or(""))
                ),
                _ => "is empty; every organization needs a name".into(),
            };
            self.problem(ProblemKind::MissingName, at::NAME, message);
        } else if too_long(&name, MAX_NAME_CHARS) {
            let message = format!(
                "is {} characters long; the most is {MAX_NAME_CHARS}",
                name.chars().count()
            );
            self.problem(ProblemKind::TooLong, at::NAME, message);
        } else if let Some(why) = name_problem(&name, "every organization needs a name") {
            self.problem(ProblemKind::BadName, at::NAME, why);
        }
        name
    }

    /// An id field (`what` says which kind of id, for the message), if given and valid.
    fn id_field(&mut self, field: usize, what: &str) -> Option<Cow<'a, str>> {
        let value = self.text(field)?;
        match field_checks::check_id(&value) {
            Ok(()) => Some(value),
            Err(why) => {
                let message = format!("{} is not a valid {what}: {why}", quoted(&value));
                self.problem(ProblemKind::BadId, field, message);
                None
            }
        }
    }

    /// A text field of at most `max` characters, if given (kept when too long, to be
    /// reported with the row).
    fn short_text(&mut self, field: usize, max: usize) -> Option<Cow<'a, str>> {
        let value = self.text(field)?;
        if too_long(&value, max) {
            let message = format!(
                "is {} characters long; the most is {max}",
                value.chars().count()
            );
            self.problem(ProblemKind::TooLong, field, message);
        }
        Some(value)
    }

    /// Checks that `email` is an address.
    fn email(&mut self, email: &str) {
        if !field_checks::is_email(email) {
            let message = format!("{} is not an email address", quoted(email));
            self.problem(ProblemKind::BadEmail, at::EMAIL, message);
        }
    }

    /// The color, if given: a hex color.
    fn color(&mut self) -> Option<Cow<'a, str>> {
        let color = self.text(at::COLOR)?;
        if !field_checks::is_hex_color(&color) {
            let message = format!("{} is not a hex color like #1A73E8", quoted(&color));
            self.problem(ProblemKind::BadColor, at::COLOR, message);
        }
        Some(color)
    }

    /// The domains, split at the column's separator (`;` takes `,` too), each transformed,
    /// checked and lowercased (listed only when the request is built). An item its transform
    /// finds no host in is a problem quoting the cell as written (a password in it masked),
    /// never an empty list sent in silence.
    fn domains(&mut self) -> Vec<String> {
        let mut domains = Vec::new();
        let Some(field) = self.mapping.field(at::DOMAINS) else {
            return domains;
        };
        let list = self.mapping.untransformed(field, self.record);
        for (cell, domain) in field.items(&list) {
            if cell.is_empty() {
                continue;
            }
            let Some(domain) = domain else {
                let message = format!(
                    "{} has no host to take (transform = \"host\" reads a web address like \
                     https://www.example.com/about); write the address in full, or clear the \
                     cell",
                    quoted(&without_password(cell))
                );
                self.problem(ProblemKind::BadDomain, at::DOMAINS, message);
                continue;
            };
            // The cell as written when the transform changed it, so that the user finds it.
            let from = || {
                if domain == cell {
                    String::new()
                } else {
                    format!(" (the host of {})", quoted(&without_password(cell)))
                }
            };
            if let Err(why) = field_checks::check_no_bidi_controls(&domain) {
                let message = format!("{}{} contains {why}", quoted(&domain), from());
                self.problem(ProblemKind::BadDomain, at::DOMAINS, message);
            } else if field_checks::is_domain(&domain) {
                if self.build {
                    domains.push(domain.to_ascii_lowercase());
                }
            } else {
                let hint = if domain.contains("://") || domain.contains('/') {
                    " (a column of web addresses gives its hosts with transform = \"host\" in \
                     a mapping file)"
                        .to_string()
                } else {
                    punycode_hint(&domain)
                };
                let message = format!(
                    "{}{} is not a domain name like example.com{hint}",
                    quoted(&domain),
                    from()
                );
                self.problem(ProblemKind::BadDomain, at::DOMAINS, message);
            }
        }
        domains
    }

    /// The metadata the row gives, each value typed as its column says (the map is made only
    /// when the request is built; every value is checked either way).
    fn metadata(&mut self) -> Map<String, Value> {
        let mut payload = Map::new();
        for (key, field) in &self.mapping.metadata {
            let Some(text) = self.mapping.value(field, self.record) else {
                continue;
            };
            let typed = if self.build || !always_typed(field) {
                typed(&text, field)
            } else {
                Ok(Value::Null)
            };
            match typed {
                Ok(value) if self.build => {
                    payload.insert(key.clone(), value);
                }
                Ok(_) => {}
                Err(why) => self.problems.push(Problem::new(
                    ProblemKind::BadMetadata,
                    Some(&field.label),
                    format!("{} {why}", quoted(&text)),
                )),
            }
        }
        payload
    }
}

/// For an international domain name (`münchen.de`), a hint naming its punycode form, which
/// is accepted (`xn--mnchen-3ya.de`); empty for anything else.
fn punycode_hint(domain: &str) -> String {
    match url::Host::parse(domain) {
        Ok(url::Host::Domain(ascii)) if !domain.is_ascii() && field_checks::is_domain(&ascii) => {
            format!(" (write an international name in its punycode form: {ascii})")
        }
        _ => String::new(),
    }
}

/// Whether `value` has more than `max` characters (it has no more characters than bytes).
fn too_long(value: &str, max: usize) -> bool {
    value.len() > max && value.chars().count() > max
}

/// What makes `value` unusable as a name or display name, if anything: a control character,
/// nothing to show once its invisible characters are removed (a zero-width space, a
/// byte-order mark, joiners), or a bidi control. `needed` says what to do about an empty one.
fn name_problem(value: &str, needed: &str) -> Option<String> {
    // Printable ASCII holds no control, invisible or bidi character, and shows something
    // unless it is all spaces: most names, told without looking at their characters again.
    if value.bytes().all(|b| (b' '..=b'~').contains(&b)) && value.bytes().any(|b| b != b' ') {
        return None;
    }
    if value.chars().any(char::is_control) {
        Some(format!("{} contains a control character", quoted(value)))
    } else if field_checks::shows_nothing(value) {
        Some(format!(
            "{} is empty once its invisible characters (zero-width spaces, joiners, format \
             characters) are removed; {needed}",
            quoted(value)
        ))
    } else {
        field_checks::check_no_bidi_controls(value)
            .err()
            .map(|why| format!("{} contains {why}", quoted(value)))
    }
}

/// Whether every value of `field` is one of its type, as [`typed`] reads it (a string, a
/// list): such a value is checked without being made.
fn always_typed(field: &Field) -> bool {
    matches!(field.kind, MetaType::String | MetaType::List)
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

#[cfg(test)]
mod tests;
