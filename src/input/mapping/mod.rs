//! From a row's columns to an organization request: which column (or fixed value, or
//! format, or slug) feeds each field, the types of metadata values, and every problem a row
//! has, named by column and value.
//!
//! Without a mapping, columns are found by header name (`name`, `id`, `displayName`, ...,
//! `metadata.<key>`, or `metadata.<key>:json` for a value written as JSON). A mapping file
//! (TOML) or `--map FIELD=COLUMN` flags name other columns:
//!
//! ```toml
//! [fields]
//! name = { slug = "Account Name" }          # a URL-safe name made from a column
//! displayName = "Account Name"              # a column, by its header
//! description = { format = "{Industry} customer in {Country}" }
//! template_id = { value = "b2b-customer-template" }
//! domains = { column = "Email Domains", separator = ";" }
//! # or a CRM's Website column: its host, without www. (`transform = "strip-www"` only drops
//! # a leading www.)
//! # domains = { column = "Website", transform = "host" }
//! parent = "Parent Account"                 # another row of the file, by its key
//!
//! [metadata]
//! salesforceId = "Account ID"
//! orgEntitlements = { column = "Entitlements", type = "list", separator = ";" }
//! employees = { column = "Employees", type = "number" }
//! ```

pub(crate) mod aliases;
mod file;
mod headers;
mod keys;
mod problem;
mod request;
#[cfg(test)]
mod tests;
mod transform;

mod lookalike;

pub use file::MappingFile;
pub(crate) use file::{DetailedSpec, MetaType, SourceSpec};
pub(crate) use headers::metadata_column;
use headers::{header_list, json_key, parse_format};
pub use keys::{Keys, RowKeys};
pub use problem::{Problem, ProblemKind};
pub(crate) use transform::Transform;

use std::borrow::Cow;
use std::collections::BTreeMap;

use csv::StringRecord;

use super::field_checks::{self};
use super::formulas::restore;
use super::quote::quoted;

/// The organization fields a mapping can feed, with their header names.
pub(crate) const FIELDS: [&str; 10] = [
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

/// Where each field is in [`FIELDS`] (and [`Mapping`]'s fields): rows look their fields up by
/// place, not by comparing names.
pub(crate) mod at {
    pub(crate) const NAME: usize = 0;
    pub(crate) const ID: usize = 1;
    pub(crate) const DISPLAY_NAME: usize = 2;
    pub(crate) const DESCRIPTION: usize = 3;
    pub(crate) const EMAIL: usize = 4;
    pub(crate) const COLOR: usize = 5;
    pub(crate) const DOMAINS: usize = 6;
    pub(crate) const PARENT_ID: usize = 7;
    pub(crate) const TEMPLATE_ID: usize = 8;
    pub(crate) const PARENT: usize = 9;
}

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
    /// What is done to the value (each item of a list) first.
    transform: Option<Transform>,
}

impl Field {
    /// `value` split as a list is (`;` also splits at `,`), each item trimmed and given with
    /// what the field's transform makes of it (`None`: the transform found nothing in it).
    fn items<'v>(
        &'v self,
        value: &'v str,
    ) -> impl Iterator<Item = (&'v str, Option<Cow<'v, str>>)> {
        let items = if self.separator == ";" {
            Items::Semicolon(Some(value))
        } else {
            Items::Other(value.split(self.separator.as_str()))
        };
        items.map(str::trim).map(|item| match self.transform {
            Some(transform) => (item, transform.apply(item).map(Cow::Owned)),
            None => (item, Some(Cow::Borrowed(item))),
        })
    }
}

/// The items of a list cell: split at `;` and `,` (as `str::split` would, found a byte at a
/// time: both are ASCII), or at the field's own separator.
enum Items<'v> {
    /// The rest of the cell, `None` once its last item was given.
    Semicolon(Option<&'v str>),
    Other(std::str::Split<'v, &'v str>),
}

impl<'v> Iterator for Items<'v> {
    type Item = &'v str;

    fn next(&mut self) -> Option<&'v str> {
        match self {
            Items::Semicolon(rest) => {
                let text = (*rest)?;
                match memchr::memchr2(b';', b',', text.as_bytes()) {
                    Some(at) => {
                        *rest = Some(&text[at + 1..]);
                        Some(&text[..at])
                    }
                    None => rest.take(),
                }
            }
            Items::Other(items) => items.next(),
        }
    }
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
                    let mut message = format!(
                        "there is no column {} (the header has: {})",
                        quoted(wanted),
                        header_list(headers)
                    );
                    if let Some(why) = lookalike::explain(headers, wanted) {
                        message = format!("{message}: {why}");
                    }
                    message
                })
        };
        // `place` names the mapping file's line for an entry of it (`--map` flags have none).
        let build = |name: &str, spec: &SourceSpec, place: Option<&str>| -> Result<Field, String> {
            let context = |e: String| format!("{}: {e}", place.unwrap_or(name));
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
            if d.sources_given() != 1 {
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
                transform: d.transform,
            })
        };

        let mut fields: [Option<Field>; 10] = Default::default();
        let mut metadata: Vec<(String, Field)> = Vec::new();
        // Each source with the mapping file's place for it, when it comes from the file.
        let mut named: BTreeMap<String, (SourceSpec, Option<&str>)> = BTreeMap::new();
        let mut named_metadata: BTreeMap<String, (SourceSpec, Option<&str>)> = BTreeMap::new();
        if let Some(file) = &spec.file {
            for (field, source) in &file.fields {
                named.insert(field.clone(), (source.clone(), file.place_of(field)));
            }
            for (key, source) in &file.metadata {
                let place = file.place_of(&format!("metadata.{key}"));
                named_metadata.insert(key.clone(), (source.clone(), place));
            }
        }
        for (field, column) in &spec.overrides {
            let source = (SourceSpec::Column(column.clone()), None);
            match field.strip_prefix("metadata.") {
                Some(key) => named_metadata.insert(key.to_string(), source),
                None => {
                    // As the file's names are spelled, so that a flag replaces the file's entry.
                    let i = FIELDS
                        .iter()
                        .position(|f| f.eq_ignore_ascii_case(field))
                        .ok_or_else(|| {
                            format!(
                                "{} is not an organization field (use one of {}, or \
                                 metadata.<key>)",
                                quoted(field),
                                FIELDS.join(", ")
                            )
                        })?;
                    named.insert(FIELDS[i].to_string(), source)
                }
            };
        }
        for (field, (source, place)) in &named {
            let i = FIELDS
                .iter()
                .position(|f| f.eq_ignore_ascii_case(field))
                .ok_or_else(|| format!("{} is not an organization field", quoted(field)))?;
            fields[i] = Some(build(FIELDS[i], source, *place)?);
        }
        for (key, (source, place)) in &named_metadata {
            let field = build(&format!("metadata.{key}"), source, *place)?;
            metadata.push((key.clone(), field));
        }

        // Columns named like a field feed it unless the mapping says otherwise.
        for (i, raw) in headers.iter().enumerate() {
            let header = raw.trim();
            let column = |label: &str| Field {
                source: Source::Column(i),
                label: label.to_string(),
                kind: MetaType::String,
                separator: ";".into(),
                transform: None,
            };
            if let Some(key) = header
                .get(..9)
                .filter(|p| p.eq_ignore_ascii_case("metadata."))
                .map(|_| header[9..].trim())
            {
                if key.is_empty() {
                    return Err(format!(
                        "column {}: {} names no metadata key",
                        i + 1,
                        quoted(header)
                    ));
                }
                let (key, kind) = match json_key(key) {
                    Some(key) => (key, MetaType::Json),
                    None => (key, MetaType::String),
                };
                if key.is_empty() {
                    return Err(format!(
                        "column {}: {} names no metadata key",
                        i + 1,
                        quoted(header)
                    ));
                }
                if named_metadata.contains_key(key) {
                    continue;
                }
                if metadata.iter().any(|(k, _)| k == key) {
                    return Err(format!("two columns are {}", quoted(header)));
                }
                metadata.push((
                    key.to_string(),
                    Field {
                        kind,
                        ..column(header)
                    },
                ));
            } else if let Some(f) = FIELDS.iter().position(|f| f.eq_ignore_ascii_case(header)) {
                if named.keys().any(|n| n.eq_ignore_ascii_case(FIELDS[f])) {
                    continue;
                }
                if fields[f].is_some() {
                    return Err(format!("two columns are {}", quoted(header)));
                }
                fields[f] = Some(column(header));
            }
        }
        // A column meant for a field but for a character nobody sees would be left out of
        // every request without a word: refused, naming the cell.
        for (f, field) in FIELDS.iter().enumerate().skip(1) {
            if fields[f].is_none()
                && let Some(why) = lookalike::explain(headers, field)
            {
                return Err(format!(
                    "no column feeds `{field}`, and without a fix that column would not be \
                     sent: {why}"
                ));
            }
        }
        if fields[0].is_none() {
            if let Some(why) = lookalike::explain(headers, "name") {
                return Err(format!(
                    "there is no `name` column (the header has: {}): {why}",
                    header_list(headers)
                ));
            }
            return Err(format!(
                "there is no `name` column (the header has: {}); name one with a mapping, \
                 e.g. --map name=\"Account Name\"",
                header_list(headers)
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
        self.field(at::PARENT).is_some()
    }

    /// The text a row's `name` is slugged from, when the mapping makes names as slugs
    /// (`name = { slug = "Account Name" }`): two rows whose texts slug alike would share a name.
    pub fn name_slugged_from<'r>(&self, record: &'r StringRecord) -> Option<&'r str> {
        match self.field(at::NAME)?.source {
            Source::Slug(i) => record.get(i).map(restore),
            _ => None,
        }
    }

    /// How many columns the header has.
    pub fn width(&self) -> usize {
        self.headers.len()
    }

    /// The field at `at` ([`at`]) of [`FIELDS`], if the mapping feeds it.
    fn field(&self, at: usize) -> Option<&Field> {
        self.fields[at].as_ref()
    }

    /// The trimmed non-empty value of a field in `record`, each cell as it was before a
    /// writer neutralized it ([`restore`]): a file orgimport wrote reads back as its values.
    fn value<'r>(&self, field: &Field, record: &'r StringRecord) -> Option<Cow<'r, str>> {
        let value = self.untransformed(field, record);
        let value = match field.transform {
            None => value,
            Some(_) => Cow::Owned(
                field
                    .items(&value)
                    .map(|(_, out)| out.unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join(&field.separator),
            ),
        };
        (!value.is_empty()).then_some(value)
    }

    /// The value of a field in `record` as [`Mapping::value`] reads it, before its transform.
    fn untransformed<'r>(&self, field: &Field, record: &'r StringRecord) -> Cow<'r, str> {
        match &field.source {
            Source::Column(i) => Cow::Borrowed(trimmed(restore(record.get(*i).unwrap_or("")))),
            Source::Value(v) => Cow::Owned(v.clone()),
            Source::Format(pieces) => {
                let mut text = String::new();
                for piece in pieces {
                    match piece {
                        Piece::Text(t) => text.push_str(t),
                        Piece::Column(i) => {
                            text.push_str(trimmed(restore(record.get(*i).unwrap_or(""))))
                        }
                    }
                }
                Cow::Owned(text.trim().to_string())
            }
            Source::Slug(i) => {
                Cow::Owned(field_checks::slug(restore(record.get(*i).unwrap_or(""))))
            }
        }
    }

    /// The value of the field at `at` ([`at`]) in `record`, as [`Mapping::value`] reads it.
    fn text<'r>(&self, at: usize, record: &'r StringRecord) -> Option<Cow<'r, str>> {
        self.value(self.field(at)?, record)
    }

    /// The row's own `template_id` value, if it gives one (its text, checked or not).
    pub fn template_id<'r>(&self, record: &'r StringRecord) -> Option<Cow<'r, str>> {
        self.text(at::TEMPLATE_ID, record)
    }
}

/// `text` without the white space around it (`str::trim`), looked for only when its first or
/// last byte is not a visible ASCII character: a cell the reader trimmed already is as it is.
fn trimmed(text: &str) -> &str {
    match text.as_bytes() {
        [first, .., last] if first.is_ascii_graphic() && last.is_ascii_graphic() => text,
        [only] if only.is_ascii_graphic() => text,
        _ => text.trim(),
    }
}
