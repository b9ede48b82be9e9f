//! The mapping file (TOML) as written: each field's source (a column, a fixed value, a format or
//! a slug) and each metadata value's type.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::Error;

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
