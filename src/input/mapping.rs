//! From a row's columns to an organization request: which column (or fixed value, or
//! format, or slug) feeds each field, the types of metadata values, and every problem a row
//! has, named by column and value.
//!
//! Without a mapping, columns are found by header name (`name`, `id`, `displayName`, ...,
//! `metadata.<key>`). A mapping file (TOML) or `--map FIELD=COLUMN` flags name other columns:
//!
//! ```toml
//! [fields]
//! name = { slug = "Account Name" }          # a URL-safe name made from a column
//! displayName = "Account Name"              # a column, by its header
//! description = { format = "{Industry} customer in {Country}" }
//! template_id = { value = "b2b-customer-template" }
//! domains = { column = "Email Domains", separator = ";" }
//! parent = "Parent Account"                 # another row of the file, by its key
//!
//! [metadata]
//! salesforceId = "Account ID"
//! orgEntitlements = { column = "Entitlements", type = "list", separator = ";" }
//! employees = { column = "Employees", type = "number" }
//! ```

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use csv::StringRecord;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::checks::{self, MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, MAX_SHORT_TEXT_CHARS};
use crate::Error;
use crate::api::CreateOrganization;
use crate::api::types::Metadata;

/// The kinds of problem a row can have, for the summary by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProblemKind {
    /// The record cannot be read as fields (not UTF-8, wrong field count).
    Unreadable,
    /// The name is empty.
    MissingName,
    /// A value is longer than its field allows.
    TooLong,
    /// The name has control characters.
    BadName,
    /// An id, parent id or template id has characters ids cannot have.
    BadId,
    /// The email is not an address.
    BadEmail,
    /// The color is not `#RGB`/`#RRGGBB`.
    BadColor,
    /// A domain is not a domain name.
    BadDomain,
    /// A metadata value does not have its declared type.
    BadMetadata,
    /// Another row has the same key (id, else name).
    DuplicateKey,
    /// The row's `parent` names no row of the file.
    MissingParent,
    /// The row is its own ancestor.
    ParentCycle,
    /// The row's parent row is invalid, so the row cannot be placed.
    InvalidParent,
}

impl ProblemKind {
    /// A short label for summaries.
    pub fn label(self) -> &'static str {
        match self {
            ProblemKind::Unreadable => "unreadable row",
            ProblemKind::MissingName => "missing name",
            ProblemKind::TooLong => "value too long",
            ProblemKind::BadName => "bad name",
            ProblemKind::BadId => "bad id",
            ProblemKind::BadEmail => "bad email",
            ProblemKind::BadColor => "bad color",
            ProblemKind::BadDomain => "bad domain",
            ProblemKind::BadMetadata => "bad metadata value",
            ProblemKind::DuplicateKey => "duplicate key",
            ProblemKind::MissingParent => "unknown parent",
            ProblemKind::ParentCycle => "parent cycle",
            ProblemKind::InvalidParent => "invalid parent",
        }
    }
}

/// One problem of one row: the column, what is wrong (with the value), and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What kind of problem it is.
    pub kind: ProblemKind,
    /// The column's header, when one column is at fault.
    pub column: Option<String>,
    /// What is wrong, quoting the value.
    pub message: String,
}

impl Problem {
    /// A problem of `column`.
    pub fn new(kind: ProblemKind, column: Option<&str>, message: impl Into<String>) -> Self {
        Problem {
            kind,
            column: column.map(str::to_string),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(c) => write!(f, "{c}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The type of a metadata value in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetaType {
    /// The text as it is.
    #[default]
    String,
    /// A JSON number.
    Number,
    /// `true`/`false` (also yes/no, 1/0).
    Bool,
    /// A list of strings, split on the separator.
    List,
    /// Any JSON value, written as JSON in the cell.
    Json,
}

/// One field's source as written in a mapping file.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SourceSpec {
    /// A column, by its header.
    Column(String),
    /// The long form.
    Detailed(DetailedSpec),
}

/// The long form of a field's source: exactly one of `column`, `value`, `format`, `slug`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetailedSpec {
    /// A column, by its header.
    pub column: Option<String>,
    /// A fixed value for every row.
    pub value: Option<String>,
    /// Text with `{Column}` placeholders.
    pub format: Option<String>,
    /// A URL-safe slug of a column's value.
    pub slug: Option<String>,
    /// Metadata only: the value's type.
    #[serde(rename = "type", default)]
    pub kind: MetaType,
    /// Lists (metadata lists and `domains`): what separates the items [default: `;`].
    pub separator: Option<String>,
}

/// A mapping file: `[fields]` and `[metadata]` tables.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingFile {
    /// Organization fields by name: `name`, `id`, `displayName`, `description`, `email`,
    /// `color`, `domains`, `parent_id`, `template_id`, `parent`.
    #[serde(default)]
    pub fields: BTreeMap<String, SourceSpec>,
    /// `metadata.payload` keys.
    #[serde(default)]
    pub metadata: BTreeMap<String, SourceSpec>,
}

impl MappingFile {
    /// Reads a mapping file.
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be read, [`Error::Input`] when it is not a mapping.
    pub fn load(path: &Path) -> Result<MappingFile, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        toml::from_str(&text).map_err(|e| Error::Input {
            path: path.to_path_buf(),
            message: format!("not a mapping file: {e}"),
        })
    }
}

/// The organization fields a mapping can feed, with their header names.
const FIELDS: [&str; 10] = [
    "name",
    "id",
    "displayName",
    "description",
    "email",
    "color",
    "domains",
    "parent_id",
    "template_id",
    "parent",
];

/// Where a value comes from in a row.
#[derive(Debug, Clone)]
enum Source {
    /// A column by index.
    Column(usize),
    /// The same text for every row.
    Value(String),
    /// Text and columns.
    Format(Vec<Piece>),
    /// A slug of a column.
    Slug(usize),
}

#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Column(usize),
}

/// A field's source, the header to name in messages, and list settings.
#[derive(Debug, Clone)]
struct Field {
    source: Source,
    /// The column named in problems (the source column, or the field's name).
    label: String,
    kind: MetaType,
    separator: String,
}

/// How the columns of one file feed organization fields.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// The header row as written in the file.
    pub headers: StringRecord,
    /// One entry per field of [`FIELDS`], in that order.
    fields: [Option<Field>; 10],
    /// `metadata.payload` keys and their sources.
    metadata: Vec<(String, Field)>,
    /// What the mapping was built from, to build it again for another header (a results
    /// file's).
    spec: MappingSpec,
}

/// A mapping file and `--map` flags, as given.
#[derive(Debug, Clone, Default)]
pub struct MappingSpec {
    /// The mapping file.
    pub file: Option<MappingFile>,
    /// `--map FIELD=COLUMN` pairs; they win over the file.
    pub overrides: Vec<(String, String)>,
}

/// The key of a row (its id, else its name) and, when it names one, its parent's key.
#[derive(Debug, Default)]
pub struct Keys {
    /// `id:<id>` or `name:<name>`.
    pub key: Option<String>,
    /// The `parent` value: the key (id or name) of another row of the file.
    pub parent: Option<String>,
    /// The `parent_id` value, which may also be another row's id.
    pub parent_id: Option<String>,
    /// The row's id, if it has one.
    pub id: Option<String>,
    /// The row's name, if it has one.
    pub name: Option<String>,
}

impl Mapping {
    /// A mapping for `headers`: the spec's fields first, then any field whose header names it.
    ///
    /// # Errors
    /// A message naming the field or column when a source names a column the file lacks, or
    /// when there is no source for `name`.
    pub fn new(headers: &StringRecord, spec: &MappingSpec) -> Result<Mapping, String> {
        let find = |header: &str| -> Result<usize, String> {
            let wanted = header.trim();
            headers
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(wanted))
                .ok_or_else(|| {
                    format!(
                        "there is no column {wanted:?} (the header has: {})",
                        headers.iter().collect::<Vec<_>>().join(", ")
                    )
                })
        };
        let build = |name: &str, spec: &SourceSpec| -> Result<Field, String> {
            let context = |e: String| format!("{name}: {e}");
            let (detailed, plain);
            let d = match spec {
                SourceSpec::Column(c) => {
                    plain = DetailedSpec {
                        column: Some(c.clone()),
                        ..DetailedSpec::default()
                    };
                    &plain
                }
                SourceSpec::Detailed(d) => {
                    detailed = d.clone();
                    &detailed
                }
            };
            let given = [&d.column, &d.value, &d.format, &d.slug]
                .iter()
                .filter(|x| x.is_some())
                .count();
            if given != 1 {
                return Err(context(
                    "give exactly one of column, value, format or slug".into(),
                ));
            }
            let (source, label) = if let Some(c) = &d.column {
                (
                    Source::Column(find(c).map_err(context)?),
                    c.trim().to_string(),
                )
            } else if let Some(v) = &d.value {
                (Source::Value(v.clone()), name.to_string())
            } else if let Some(f) = &d.format {
                (
                    Source::Format(parse_format(f, &find).map_err(context)?),
                    name.to_string(),
                )
            } else {
                let c = d.slug.as_deref().unwrap_or_default();
                (
                    Source::Slug(find(c).map_err(context)?),
                    c.trim().to_string(),
                )
            };
            Ok(Field {
                source,
                label,
                kind: d.kind,
                separator: d.separator.clone().unwrap_or_else(|| ";".into()),
            })
        };

        let mut fields: [Option<Field>; 10] = Default::default();
        let mut metadata: Vec<(String, Field)> = Vec::new();
        let mut named: BTreeMap<String, SourceSpec> = BTreeMap::new();
        let mut named_metadata: BTreeMap<String, SourceSpec> = BTreeMap::new();
        if let Some(file) = &spec.file {
            named.extend(file.fields.clone());
            named_metadata.extend(file.metadata.clone());
        }
        for (field, column) in &spec.overrides {
            let source = SourceSpec::Column(column.clone());
            match field.strip_prefix("metadata.") {
                Some(key) => named_metadata.insert(key.to_string(), source),
                None => named.insert(field.clone(), source),
            };
        }
        for (field, source) in &named {
            let i = FIELDS
                .iter()
                .position(|f| f.eq_ignore_ascii_case(field))
                .ok_or_else(|| {
                    format!(
                        "{field:?} is not an organization field (use one of {}, or metadata.<key>)",
                        FIELDS.join(", ")
                    )
                })?;
            fields[i] = Some(build(FIELDS[i], source)?);
        }
        for (key, source) in &named_metadata {
            metadata.push((key.clone(), build(&format!("metadata.{key}"), source)?));
        }

        // Columns named like a field feed it unless the mapping says otherwise.
        for (i, raw) in headers.iter().enumerate() {
            let header = raw.trim();
            let column = |label: &str| Field {
                source: Source::Column(i),
                label: label.to_string(),
                kind: MetaType::String,
                separator: ";".into(),
            };
            if let Some(key) = header
                .get(..9)
                .filter(|p| p.eq_ignore_ascii_case("metadata."))
                .map(|_| header[9..].trim())
            {
                if key.is_empty() {
                    return Err(format!(
                        "column {}: {header:?} names no metadata key",
                        i + 1
                    ));
                }
                if named_metadata.contains_key(key) {
                    continue;
                }
                if metadata.iter().any(|(k, _)| k == key) {
                    return Err(format!("two columns are {header:?}"));
                }
                metadata.push((key.to_string(), column(header)));
            } else if let Some(f) = FIELDS.iter().position(|f| f.eq_ignore_ascii_case(header)) {
                if named.keys().any(|n| n.eq_ignore_ascii_case(FIELDS[f])) {
                    continue;
                }
                if fields[f].is_some() {
                    return Err(format!("two columns are {header:?}"));
                }
                fields[f] = Some(column(header));
            }
        }
        if fields[0].is_none() {
            return Err(format!(
                "there is no `name` column (the header has: {}); name one with a mapping, \
                 e.g. --map name=\"Account Name\"",
                headers.iter().collect::<Vec<_>>().join(", ")
            ));
        }
        Ok(Mapping {
            headers: headers.clone(),
            fields,
            metadata,
            spec: spec.clone(),
        })
    }

    /// The same mapping for another header row (a results file's input columns).
    ///
    /// # Errors
    /// As [`Mapping::new`].
    pub fn for_headers(&self, headers: &StringRecord) -> Result<Mapping, String> {
        Mapping::new(headers, &self.spec)
    }

    /// Whether rows name their parents by a `parent` field (by id or name).
    pub fn names_parents(&self) -> bool {
        self.field("parent").is_some()
    }

    /// How many columns the header has.
    pub fn width(&self) -> usize {
        self.headers.len()
    }

    fn field(&self, name: &str) -> Option<&Field> {
        let i = FIELDS.iter().position(|f| *f == name)?;
        self.fields[i].as_ref()
    }

    /// The trimmed non-empty value of a field in `record`.
    fn value<'r>(&self, field: &Field, record: &'r StringRecord) -> Option<Cow<'r, str>> {
        let value: Cow<'r, str> = match &field.source {
            Source::Column(i) => Cow::Borrowed(record.get(*i)?.trim()),
            Source::Value(v) => Cow::Owned(v.clone()),
            Source::Format(pieces) => {
                let mut text = String::new();
                for piece in pieces {
                    match piece {
                        Piece::Text(t) => text.push_str(t),
                        Piece::Column(i) => text.push_str(record.get(*i).unwrap_or("").trim()),
                    }
                }
                Cow::Owned(text.trim().to_string())
            }
            Source::Slug(i) => Cow::Owned(checks::slug(record.get(*i).unwrap_or(""))),
        };
        (!value.is_empty()).then_some(value)
    }

    fn text<'r>(&self, name: &str, record: &'r StringRecord) -> Option<Cow<'r, str>> {
        self.value(self.field(name)?, record)
    }

    /// The row's key and parent references, as the plan needs them.
    pub fn keys(&self, record: &StringRecord) -> Keys {
        let id = self.text("id", record).map(Cow::into_owned);
        let name = self.text("name", record).map(Cow::into_owned);
        let key = match (&id, &name) {
            (Some(id), _) => Some(format!("id:{id}")),
            (None, Some(name)) => Some(format!("name:{name}")),
            _ => None,
        };
        Keys {
            key,
            parent: self.text("parent", record).map(Cow::into_owned),
            parent_id: self.text("parent_id", record).map(Cow::into_owned),
            id,
            name,
        }
    }

    /// The key that identifies the row across runs and within the file: its id when it has
    /// one, otherwise its name. `None` when it has neither.
    pub fn key(&self, record: &StringRecord) -> Option<String> {
        self.keys(record).key
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
                    "cannot make a name from {:?}: it has no letters or digits",
                    record.get(*i).unwrap_or("")
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
        } else if name.chars().any(char::is_control) {
            problem(
                ProblemKind::BadName,
                "name",
                format!("{name:?} contains a control character"),
            );
        }

        let mut id_field = |field: &str, what: &str| -> Option<String> {
            let value = self.text(field, record)?;
            match checks::check_id(&value) {
                Ok(()) => Some(value.into_owned()),
                Err(why) => {
                    problem(
                        ProblemKind::BadId,
                        field,
                        format!("{value:?} is not a valid {what}: {why}"),
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
        if let Some(email) = &email
            && !checks::is_email(email)
        {
            problem(
                ProblemKind::BadEmail,
                "email",
                format!("{email:?} is not an email address"),
            );
        }
        let color = self.text("color", record).map(Cow::into_owned);
        if let Some(color) = &color
            && !checks::is_hex_color(color)
        {
            problem(
                ProblemKind::BadColor,
                "color",
                format!("{color:?} is not a hex color like #1A73E8"),
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
                if checks::is_domain(domain) {
                    domains.push(domain.to_ascii_lowercase());
                } else {
                    problem(
                        ProblemKind::BadDomain,
                        "domains",
                        format!("{domain:?} is not a domain name like example.com"),
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
                    format!("{text:?} {why}"),
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

/// Splits `text` into literal text and `{Column}` placeholders (`{{` and `}}` are braces).
fn parse_format(
    text: &str,
    find: &dyn Fn(&str) -> Result<usize, String>,
) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                literal.push('}');
            }
            '{' => {
                let mut column = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => column.push(c),
                        None => return Err(format!("format {text:?} has an unclosed '{{'")),
                    }
                }
                if !literal.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut literal)));
                }
                pieces.push(Piece::Column(find(&column)?));
            }
            '}' => return Err(format!("format {text:?} has a '}}' without a '{{'")),
            c => literal.push(c),
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Text(literal));
    }
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(fields: &[&str]) -> StringRecord {
        StringRecord::from(fields.to_vec())
    }

    fn mapping(header: &[&str], toml_text: &str) -> Result<Mapping, String> {
        let file: MappingFile = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        Mapping::new(
            &record(header),
            &MappingSpec {
                file: Some(file),
                overrides: vec![],
            },
        )
    }

    #[test]
    fn maps_known_columns_case_insensitively_and_metadata_by_prefix() {
        let m = mapping(
            &[
                "Name",
                " ID ",
                "displayName",
                "metadata.salesforceId",
                "owner",
            ],
            "",
        )
        .unwrap();
        let row = record(&["acme", "cust-1", "ACME Inc", "001xx", "Kim"]);
        let request = m.to_request(&row, Some("tpl")).unwrap();
        assert_eq!(request.name, "acme");
        assert_eq!(request.id.as_deref(), Some("cust-1"));
        assert_eq!(request.display_name.as_deref(), Some("ACME Inc"));
        assert_eq!(request.template_id.as_deref(), Some("tpl"));
        assert_eq!(request.metadata.unwrap().payload["salesforceId"], "001xx");
        assert_eq!(m.key(&row).as_deref(), Some("id:cust-1"));
    }

    #[test]
    fn a_mapping_file_names_columns_values_formats_slugs_and_types() {
        let m = mapping(
            &[
                "Account Name",
                "Account ID",
                "Industry",
                "Country",
                "Entitlements",
                "Employees",
                "Active",
                "Extra",
            ],
            r#"
            [fields]
            name = { slug = "Account Name" }
            displayName = "account name"
            description = { format = "{Industry} customer in {Country} {{EU}}" }
            template_id = { value = "tpl-1" }
            [metadata]
            salesforceId = "Account ID"
            orgEntitlements = { column = "Entitlements", type = "list", separator = "|" }
            employees = { column = "Employees", type = "number" }
            active = { column = "Active", type = "bool" }
            extra = { column = "Extra", type = "json" }
            "#,
        )
        .unwrap();
        let row = record(&[
            "Müller GmbH",
            "001A",
            "Retail",
            "DE",
            "sso| api ",
            "250",
            "yes",
            r#"{"a":[1]}"#,
        ]);
        let r = m.to_request(&row, None).unwrap();
        assert_eq!(r.name, "muller-gmbh");
        assert_eq!(r.display_name.as_deref(), Some("Müller GmbH"));
        assert_eq!(r.description.as_deref(), Some("Retail customer in DE {EU}"));
        assert_eq!(r.template_id.as_deref(), Some("tpl-1"));
        let p = r.metadata.unwrap().payload;
        assert_eq!(p["orgEntitlements"], serde_json::json!(["sso", "api"]));
        assert_eq!(p["employees"], 250);
        assert_eq!(p["active"], true);
        assert_eq!(p["extra"], serde_json::json!({"a": [1]}));
        assert_eq!(m.key(&row).as_deref(), Some("name:muller-gmbh"));

        let bad = record(&["***", "001A", "", "", "", "many", "perhaps", "{"]);
        let problems = m.to_request(&bad, None).unwrap_err();
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 4, "{text:?}");
        assert!(
            text[0].starts_with("Account Name: cannot make a name from \"***\""),
            "{text:?}"
        );
        assert_eq!(text[1], "Active: \"perhaps\" is not true or false");
        assert_eq!(text[2], "Employees: \"many\" is not a number");
        assert!(text[3].starts_with("Extra: \"{\" is not JSON"), "{text:?}");
    }

    #[test]
    fn mapping_mistakes_are_named() {
        let err = mapping(&["A"], "[fields]\nname = \"Nom\"").unwrap_err();
        assert!(err.contains("no column \"Nom\""), "{err}");
        let err = mapping(&["A"], "[fields]\nnmae = \"A\"").unwrap_err();
        assert!(
            err.contains("\"nmae\" is not an organization field"),
            "{err}"
        );
        let err =
            mapping(&["A"], "[fields]\nname = { column = \"A\", value = \"x\" }").unwrap_err();
        assert!(err.contains("exactly one of"), "{err}");
        let err = mapping(&["A", "B"], "[fields]\nname = { format = \"{A\" }").unwrap_err();
        assert!(err.contains("unclosed"), "{err}");
        let err = Mapping::new(&record(&["id", "email"]), &MappingSpec::default()).unwrap_err();
        assert!(err.contains("no `name` column"), "{err}");
        let err = Mapping::new(&record(&["name", "Name"]), &MappingSpec::default()).unwrap_err();
        assert!(err.contains("two columns"), "{err}");
    }

    #[test]
    fn every_problem_of_a_row_is_reported() {
        let m = Mapping::new(
            &record(&["name", "id", "email", "color", "domains"]),
            &MappingSpec::default(),
        )
        .unwrap();
        let row = record(&["", "a b", "x at y", "blue", "ok.com;acme corp.com"]);
        let problems = m.to_request(&row, None).unwrap_err();
        let kinds: Vec<ProblemKind> = problems.iter().map(|p| p.kind).collect();
        assert_eq!(
            kinds,
            [
                ProblemKind::MissingName,
                ProblemKind::BadId,
                ProblemKind::BadEmail,
                ProblemKind::BadColor,
                ProblemKind::BadDomain
            ]
        );
        assert_eq!(
            problems[1].to_string(),
            "id: \"a b\" is not a valid organization id: ' ' is not allowed (use letters, digits, '_', '.' and '-')"
        );
    }

    #[test]
    fn map_flags_win_over_the_file_and_the_headers() {
        let m = Mapping::new(
            &record(&["name", "Company"]),
            &MappingSpec {
                file: None,
                overrides: vec![("name".into(), "Company".into())],
            },
        )
        .unwrap();
        assert_eq!(
            m.to_request(&record(&["x", "acme"]), None).unwrap().name,
            "acme"
        );
    }
}
