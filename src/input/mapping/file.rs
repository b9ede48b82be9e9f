//! The mapping file (TOML) as written: each field's source (a column, a fixed value, a format or
//! a slug) and each metadata value's type, read key by key so that every mistake is named by
//! its line, table and field, with what is allowed there.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::FIELDS;
use super::transform::Transform;
use crate::Error;
use crate::input::quote::{escaped, quoted};

/// The type of a metadata value in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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

impl MetaType {
    /// Every type with its name in a mapping file, in the order messages list them.
    const ALL: [(&'static str, MetaType); 5] = [
        ("string", MetaType::String),
        ("number", MetaType::Number),
        ("bool", MetaType::Bool),
        ("list", MetaType::List),
        ("json", MetaType::Json),
    ];

    /// The type a mapping file names `name`, if any.
    fn named(name: &str) -> Option<MetaType> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
    }
}

/// One field's source as written in a mapping file.
#[derive(Debug, Clone)]
pub enum SourceSpec {
    /// A column, by its header.
    Column(String),
    /// The long form.
    Detailed(DetailedSpec),
}

/// The long form of a field's source: exactly one of `column`, `value`, `format`, `slug`.
#[derive(Debug, Clone, Default)]
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
    pub kind: MetaType,
    /// Lists (metadata lists and `domains`): what separates the items [default: `;`].
    pub separator: Option<String>,
    /// What is done to a column's value (each item of a list) before it is checked.
    pub transform: Option<Transform>,
}

impl DetailedSpec {
    /// How many of `column`, `value`, `format` and `slug` are given (one must be).
    pub fn sources_given(&self) -> usize {
        [&self.column, &self.value, &self.format, &self.slug]
            .iter()
            .filter(|x| x.is_some())
            .count()
    }
}

/// A mapping file: `[fields]` and `[metadata]` tables.
#[derive(Debug, Clone, Default)]
pub struct MappingFile {
    /// Organization fields by their name as [`FIELDS`] spells it: `name`, `id`, `displayName`,
    /// `description`, `email`, `color`, `domains`, `parent_id`, `template_id`, `parent`.
    pub fields: BTreeMap<String, SourceSpec>,
    /// `metadata.payload` keys.
    pub metadata: BTreeMap<String, SourceSpec>,
    /// Where each entry is written (`crm-mapping.toml line 7: [metadata] employees`), by
    /// field name or `metadata.<key>`, for the mistakes only the input's header shows (a
    /// column it lacks).
    places: BTreeMap<String, String>,
    /// The path [`MappingFile::load`] read, for a command line that reads the input again.
    path: Option<PathBuf>,
}

/// The keys of a field's long form.
const SOURCE_KEYS: [&str; 4] = ["column", "value", "format", "slug"];

impl MappingFile {
    /// Reads a mapping file.
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be read, [`Error::Input`] when it is not a mapping: every
    /// mistake on a line of its own, each naming the file, as [`MappingFile::parse`] does.
    pub fn load(path: &Path) -> Result<MappingFile, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut file =
            MappingFile::parse(&text, &path.display().to_string()).map_err(|message| {
                Error::Input {
                    path: path.to_path_buf(),
                    message,
                }
            })?;
        file.path = Some(path.to_path_buf());
        Ok(file)
    }

    /// The path it was loaded from, as given (`None` for text parsed on its own).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Reads the text of a mapping file; `file` names it in the places of its entries.
    ///
    /// # Errors
    /// Every mistake, in file order, one a line (the lines after the first start with
    /// `file`): `line 7: [metadata] employees: type "date" is not one of string, number, bool,
    /// list, json`.
    pub fn parse(text: &str, file: &str) -> Result<MappingFile, String> {
        let line = |offset: usize| {
            let before = &text.as_bytes()[..offset.min(text.len())];
            before.iter().filter(|b| **b == b'\n').count() + 1
        };
        let document = DeTable::parse(text).map_err(|e| match e.span() {
            Some(span) => format!("line {}: not TOML: {}", line(span.start), e.message()),
            None => format!("not TOML: {}", e.message()),
        })?;
        let mut reader = Reader {
            text,
            mistakes: Vec::new(),
        };
        let mut mapping = MappingFile::default();
        for (key, value) in document.get_ref() {
            let table = match key.get_ref().as_ref() {
                "fields" => Table::Fields,
                "metadata" => Table::Metadata,
                other => {
                    reader.mistake(
                        key.span(),
                        format!(
                            "{} is not a table of a mapping file; use [fields] and [metadata]",
                            quoted(other)
                        ),
                    );
                    continue;
                }
            };
            let DeValue::Table(entries) = value.get_ref() else {
                reader.mistake(
                    value.span(),
                    format!(
                        "{} must be a table: [{}] on a line of its own, then one line per entry",
                        table.name(),
                        table.name()
                    ),
                );
                continue;
            };
            for (key, value) in entries {
                let Some(name) = reader.entry_name(table, key, &mapping) else {
                    continue;
                };
                let context = format!("[{}] {}", table.name(), escaped(&name));
                let Some(spec) = reader.source(&context, key, value) else {
                    continue;
                };
                let place = format!("{file} line {}: {context}", line(key.span().start));
                match table {
                    Table::Fields => {
                        mapping.places.insert(name.clone(), place);
                        mapping.fields.insert(name, spec);
                    }
                    Table::Metadata => {
                        mapping.places.insert(format!("metadata.{name}"), place);
                        mapping.metadata.insert(name, spec);
                    }
                }
            }
        }
        if reader.mistakes.is_empty() {
            return Ok(mapping);
        }
        reader.mistakes.sort_by_key(|(offset, _)| *offset);
        Err(reader
            .mistakes
            .iter()
            .map(|(offset, message)| format!("line {}: {message}", line(*offset)))
            .collect::<Vec<_>>()
            .join(&format!("\n{file}: ")))
    }

    /// Where the entry for `field` (a field's name, or `metadata.<key>`) is written, when this
    /// file has it: `crm-mapping.toml line 7: [metadata] employees`.
    pub fn place_of(&self, field: &str) -> Option<&str> {
        self.places.get(field).map(String::as_str)
    }
}

/// The two tables of a mapping file.
#[derive(Debug, Clone, Copy)]
enum Table {
    Fields,
    Metadata,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Fields => "fields",
            Table::Metadata => "metadata",
        }
    }
}

/// The mistakes found so far in a mapping file's text, by byte offset.
struct Reader<'t> {
    text: &'t str,
    mistakes: Vec<(usize, String)>,
}

impl Reader<'_> {
    fn mistake(&mut self, span: Range<usize>, message: String) {
        self.mistakes.push((span.start, message));
    }

    /// Notes `why`, about `context`, as a mistake at `span`; false, for the caller's `fine &=`.
    fn wrong(&mut self, context: &str, span: Range<usize>, why: &str) -> bool {
        self.mistake(span, format!("{context}: {why}"));
        false
    }

    /// A value as written in the file, shortened, for a message.
    fn written(&self, span: Range<usize>) -> String {
        let text = self.text.get(span).unwrap_or("").trim();
        let short: String = text.chars().take(40).collect();
        let more = if short.len() < text.len() { "..." } else { "" };
        format!("{}{more}", escaped(&short))
    }

    /// The name of an entry of `table`: a field as [`FIELDS`] spells it, or a metadata key;
    /// `None` (and a mistake) when it is no field, an empty key, or given twice.
    fn entry_name(
        &mut self,
        table: Table,
        key: &Spanned<std::borrow::Cow<'_, str>>,
        mapping: &MappingFile,
    ) -> Option<String> {
        let written = key.get_ref().as_ref();
        let name = match table {
            Table::Fields => match FIELDS.iter().find(|f| f.eq_ignore_ascii_case(written)) {
                Some(field) => field.to_string(),
                None => {
                    self.mistake(
                        key.span(),
                        format!(
                            "[fields] {}: not an organization field; use one of {} \
                             (metadata keys go under [metadata])",
                            escaped(written),
                            FIELDS.join(", ")
                        ),
                    );
                    return None;
                }
            },
            Table::Metadata if written.trim().is_empty() => {
                self.mistake(
                    key.span(),
                    "[metadata] an empty key: name the metadata key, e.g. region = \"Country\""
                        .into(),
                );
                return None;
            }
            Table::Metadata => written.to_string(),
        };
        let taken = match table {
            Table::Fields => mapping.fields.contains_key(&name),
            Table::Metadata => mapping.metadata.contains_key(&name),
        };
        if taken {
            self.mistake(
                key.span(),
                format!(
                    "[{}] {}: given twice (as {}); give it once",
                    table.name(),
                    escaped(&name),
                    escaped(written)
                ),
            );
            return None;
        }
        Some(name)
    }

    /// The source an entry's value names; `None` (and a mistake) when it names none.
    fn source(
        &mut self,
        context: &str,
        key: &Spanned<std::borrow::Cow<'_, str>>,
        value: &Spanned<DeValue<'_>>,
    ) -> Option<SourceSpec> {
        let span = value.span();
        match value.get_ref() {
            DeValue::String(column) if column.trim().is_empty() => {
                self.mistake(
                    span,
                    format!("{context}: an empty column name; give a column's header"),
                );
                None
            }
            DeValue::String(column) => Some(SourceSpec::Column(column.to_string())),
            DeValue::Table(table) => self.detailed(context, key, table),
            other => {
                let message = format!(
                    "{context}: {} is {}; give a column's header in quotes (\"Account Name\"), \
                     or one of {{ column = \"...\" }}, {{ value = \"...\" }}, \
                     {{ format = \"...\" }}, {{ slug = \"...\" }}",
                    self.written(span.clone()),
                    kind_of(other)
                );
                self.mistake(span, message);
                None
            }
        }
    }

    /// A source's `transform = "..."`, into `spec`; false (the mistake noted) when it names
    /// none of [`Transform::ALL`].
    fn transform_key(
        &mut self,
        context: &str,
        span: std::ops::Range<usize>,
        text: Option<&str>,
        spec: &mut DetailedSpec,
    ) -> bool {
        let found = text.and_then(|t| {
            Transform::ALL
                .iter()
                .find(|(name, _)| *name == t)
                .map(|(_, x)| *x)
        });
        if let Some(transform) = found {
            spec.transform = Some(transform);
            return true;
        }
        let names: Vec<&str> = Transform::ALL.iter().map(|(n, _)| *n).collect();
        let why = format!(
            "transform must be one of {} in quotes, not {}",
            names.join(", "),
            self.written(span.clone())
        );
        self.wrong(context, span, &why)
    }

    /// A source's `type = "..."`, into `spec`; false (the mistake noted) when it is not text
    /// or names no [`MetaType`].
    fn type_key(
        &mut self,
        context: &str,
        span: std::ops::Range<usize>,
        text: Option<&str>,
        spec: &mut DetailedSpec,
    ) -> bool {
        let why = match text.map(|t| (t, MetaType::named(t))) {
            Some((_, Some(kind))) => {
                spec.kind = kind;
                return true;
            }
            Some((t, None)) => format!("type {} is not one of {}", quoted(t), type_names()),
            None => format!(
                "type must be one of {} in quotes, not {}",
                type_names(),
                self.written(span.clone())
            ),
        };
        self.wrong(context, span, &why)
    }

    /// The long form `{ column = ..., type = ..., separator = ... }`.
    fn detailed(
        &mut self,
        context: &str,
        key: &Spanned<std::borrow::Cow<'_, str>>,
        table: &DeTable<'_>,
    ) -> Option<SourceSpec> {
        let mut spec = DetailedSpec::default();
        let mut fine = true;
        for (written, value) in table {
            let span = value.span();
            let text = value.get_ref().as_str().map(str::to_string);
            let name = written.get_ref().as_ref();
            let slot = match name {
                "column" => &mut spec.column,
                "value" => &mut spec.value,
                "format" => &mut spec.format,
                "slug" => &mut spec.slug,
                "separator" => &mut spec.separator,
                "transform" => {
                    fine &= self.transform_key(context, span, text.as_deref(), &mut spec);
                    continue;
                }
                "type" => {
                    fine &= self.type_key(context, span, text.as_deref(), &mut spec);
                    continue;
                }
                other => {
                    let why = format!(
                        "{} is not a key of a source; use one of {}, and type, separator or \
                         transform",
                        quoted(other),
                        SOURCE_KEYS.join(", ")
                    );
                    fine &= self.wrong(context, written.span(), &why);
                    continue;
                }
            };
            match text {
                Some(t) if name == "separator" && t.is_empty() => {
                    fine &= self.wrong(context, span, "separator must not be empty");
                }
                Some(t) => *slot = Some(t),
                None => {
                    let why = format!(
                        "{name} must be text in quotes ({name} = \"...\"), not {}",
                        self.written(span.clone())
                    );
                    fine &= self.wrong(context, span, &why);
                }
            }
        }
        if fine && spec.sources_given() != 1 {
            let why = format!("give exactly one of {}", SOURCE_KEYS.join(", "));
            fine = self.wrong(context, key.span(), &why);
        }
        if fine && spec.transform.is_some() && spec.column.is_none() {
            let why = "transform applies to a column's value: give column too";
            fine = self.wrong(context, key.span(), why);
        }
        if let Some(format) = &spec.format
            && let Err(why) = super::parse_format(format, &|_| Ok(0))
        {
            fine = self.wrong(context, key.span(), &why);
        }
        fine.then_some(SourceSpec::Detailed(spec))
    }
}

/// The type names a mapping file may give, for messages.
fn type_names() -> String {
    MetaType::ALL.map(|(name, _)| name).join(", ")
}

/// What a TOML value is, for a message: `42` "is a number".
fn kind_of(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::Integer(_) | DeValue::Float(_) => "a number",
        DeValue::Boolean(_) => "true or false",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "a list",
        DeValue::String(_) => "text",
        DeValue::Table(_) => "a table",
    }
}
