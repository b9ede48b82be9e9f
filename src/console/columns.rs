//! Step 2, the columns: every column of the file with the field it feeds, suggested from its
//! header ([`crate::input::mapping::aliases`]) or remembered from a file with the same
//! header, changeable; saved as a mapping file the CLI reads (`--mapping`) in the working
//! folder, `orgimport-mapping-<header hash>.toml`, which is also how it is remembered.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use maud::{Markup, html};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{ApiError, ApiJson, Console};
use crate::input::mapping::aliases::{self, Suggestion};
use crate::input::mapping::{FIELDS, MappingFile, SourceSpec};
use crate::input::{MappingSpec, Source};

/// The mapping chosen for the file.
#[derive(Debug, Clone)]
pub(crate) struct Chosen {
    /// Each column's choice, in the header's order: a field, `metadata.<key>` or `ignore`.
    pub(crate) choices: Vec<String>,
    /// The mapping file written for it, in the working folder.
    pub(crate) file: PathBuf,
    /// The mapping as the engine reads it from that file.
    pub(crate) spec: MappingSpec,
}

/// One column, as the page shows it.
#[derive(Debug, Serialize)]
struct Column {
    /// Its header.
    header: String,
    /// The field its header suggests.
    suggested: String,
    /// The field it feeds now (the saved or remembered choice, else the suggestion).
    choice: String,
    /// What the chooser offers it: the fields, its own `metadata.<key>`, `ignore`.
    offered: Vec<String>,
}

/// What the step shows.
#[derive(Debug, Serialize)]
struct Columns {
    /// Every column of the file.
    columns: Vec<Column>,
    /// The mapping file, once saved or when remembered.
    mapping: Option<String>,
    /// Whether the choices come from a file with the same header.
    remembered: bool,
}

/// The step's routes.
pub(super) fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/api/columns", get(current).post(save))
        .route("/api/columns/mapping.toml", get(download))
}

/// The settled file's source, or the refusal of a step that needs one.
pub(crate) fn settled(console: &Console) -> Result<Source, ApiError> {
    match &console.work().file {
        Some(super::file::Upload {
            read: Ok((source, _)),
            ..
        }) => Ok(source.clone()),
        _ => Err(ApiError::not_yet(
            "no file read yet: upload one first (step 1)",
        )),
    }
}

/// The columns and their choices.
async fn current(State(console): State<Arc<Console>>) -> Result<Json<Columns>, ApiError> {
    let source = settled(&console)?;
    Ok(Json(columns(&console, &source)))
}

/// The columns of `source` with the choices saved, else remembered, else suggested.
fn columns(console: &Console, source: &Source) -> Columns {
    let headers: Vec<String> = source.headers().iter().map(str::to_string).collect();
    let saved = console.work().columns.clone();
    let remembered_path = remembered(console.dir(), &headers);
    let (choices, mapping, remembered) = match saved {
        Some(chosen) => (Some(chosen.choices), Some(chosen.file), false),
        None => match remembered_path
            .as_ref()
            .and_then(|p| choices_of(p, &headers))
        {
            Some(choices) => (Some(choices), remembered_path, true),
            None => (None, None, false),
        },
    };
    let suggestions = suggestions(&headers);
    let columns = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let suggested = suggestions[i].clone();
            Column {
                header: h.clone(),
                choice: choices
                    .as_ref()
                    .and_then(|c| c.get(i).cloned())
                    .unwrap_or_else(|| suggested.clone()),
                suggested,
                offered: offered(h),
            }
        })
        .collect();
    Columns {
        columns,
        mapping: mapping.and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned())),
        remembered,
    }
}

/// Each column's suggestion, no field suggested twice: a column named like a field keeps
/// it (as the CLI reads it), then the first column whose alias names a field still free gets
/// it; the others are `ignore` (a `notes` column beside a `description` one).
fn suggestions(headers: &[String]) -> Vec<String> {
    let suggested: Vec<String> = headers
        .iter()
        .map(|h| aliases::suggest(h).as_choice())
        .collect();
    let mut taken: Vec<String> = headers
        .iter()
        .filter_map(|h| named_like_a_field(h))
        .collect();
    let mut choices = Vec::with_capacity(headers.len());
    for (header, choice) in headers.iter().zip(suggested) {
        if named_like_a_field(header).is_some() || choice == "ignore" {
            choices.push(choice);
        } else if taken.iter().any(|t| t.eq_ignore_ascii_case(&choice)) {
            choices.push("ignore".to_string());
        } else {
            taken.push(choice.clone());
            choices.push(choice);
        }
    }
    choices
}

/// What a column's chooser offers: every field by its README name, the column's own
/// `metadata.<key>`, and `ignore`.
fn offered(header: &str) -> Vec<String> {
    let mut offered: Vec<String> = FIELDS.iter().map(|f| (*f).to_string()).collect();
    offered.push(format!("metadata.{}", metadata_key(header)));
    offered.push("ignore".to_string());
    offered
}

/// The metadata key a column feeds when it feeds one: its suggestion's, else its header in
/// camelCase (`Account Owner` -> `accountOwner`).
fn metadata_key(header: &str) -> String {
    if let Suggestion::Metadata(key) = aliases::suggest(header) {
        return key;
    }
    let mut key = String::new();
    for (n, word) in header
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .enumerate()
    {
        let lower = word.to_lowercase();
        let mut chars = lower.chars();
        if n > 0 {
            key.extend(chars.next().into_iter().flat_map(char::to_uppercase));
        }
        key.extend(chars);
    }
    if key.is_empty() { "value".into() } else { key }
}

/// The choices posted: one per column, in the header's order.
#[derive(Deserialize)]
struct Choices {
    choices: Vec<String>,
}

/// POST `/api/columns`: the choices saved as a mapping file, checked as the CLI checks it.
async fn save(
    State(console): State<Arc<Console>>,
    ApiJson(posted): ApiJson<Choices>,
) -> Result<Json<Columns>, ApiError> {
    let source = settled(&console)?;
    let headers: Vec<String> = source.headers().iter().map(str::to_string).collect();
    let text = mapping_text(&headers, &posted.choices)?;
    let path = console.dir().join(mapping_name(&headers));
    let shown = path.display().to_string();
    let file = MappingFile::parse(&text, &shown).map_err(ApiError::bad)?;
    let spec = MappingSpec {
        file: Some(file),
        overrides: Vec::new(),
    };
    // The engine's own check of the mapping against the header: the CLI's message.
    source.mapping(&spec)?;
    crate::private_file::write(&path, text.as_bytes())
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("{shown}: {e}")))?;
    console.hold(&path);
    {
        let mut work = console.work();
        work.columns = Some(Chosen {
            choices: posted.choices,
            file: path,
            spec,
        });
        work.review = None;
        work.plan = None;
    }
    Ok(Json(columns(&console, &source)))
}

/// GET `/api/columns/mapping.toml`: the saved mapping file, to download.
async fn download(State(console): State<Arc<Console>>) -> Result<impl IntoResponse, ApiError> {
    let Some(chosen) = console.work().columns.clone() else {
        return Err(ApiError::not_yet(
            "no mapping saved yet: choose the columns (step 2)",
        ));
    };
    let text = std::fs::read(&chosen.file).map_err(|e| ApiError::bad(e.to_string()))?;
    let name = chosen
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/toml; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        text,
    ))
}

/// The mapping file's name for a file with `headers`: a hash of the header, so that the next
/// file with the same header finds it.
fn mapping_name(headers: &[String]) -> String {
    let mut hash = Sha256::new();
    for h in headers {
        hash.update(h.trim().as_bytes());
        hash.update([0x1f]);
    }
    let hex: String = hash.finalize()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("orgimport-mapping-{hex}.toml")
}

/// The mapping remembered for `source`'s header, taken as chosen (the same upload given to a
/// console started again, its corrected copy taken up): `None` when the working folder has
/// none, or the CLI would refuse it.
pub(crate) fn remembered_choice(dir: &Path, source: &Source) -> Option<Chosen> {
    let headers: Vec<String> = source.headers().iter().map(str::to_string).collect();
    let path = remembered(dir, &headers)?;
    let choices = choices_of(&path, &headers)?;
    let spec = MappingSpec {
        file: Some(MappingFile::load(&path).ok()?),
        overrides: Vec::new(),
    };
    source.mapping(&spec).ok()?;
    Some(Chosen {
        choices,
        file: path,
        spec,
    })
}

/// The mapping file remembered for `headers`, if the working folder has one.
fn remembered(dir: &Path, headers: &[String]) -> Option<PathBuf> {
    let path = dir.join(mapping_name(headers));
    path.is_file().then_some(path)
}

/// Each column's choice as the mapping file at `path` gives it; `None` when it cannot be
/// read.
fn choices_of(path: &Path, headers: &[String]) -> Option<Vec<String>> {
    let file = MappingFile::load(path).ok()?;
    let column_of = |spec: &SourceSpec| match spec {
        SourceSpec::Column(c) => Some(c.clone()),
        SourceSpec::Detailed(d) => d.column.clone(),
    };
    let mut choices = vec!["ignore".to_string(); headers.len()];
    let entries = file.fields.iter().map(|(f, s)| (f.clone(), s)).chain(
        file.metadata
            .iter()
            .map(|(k, s)| (format!("metadata.{k}"), s)),
    );
    for (choice, spec) in entries {
        let column = column_of(spec)?;
        let i = headers.iter().position(|h| h.trim() == column.trim())?;
        choices[i] = choice;
    }
    Some(choices)
}

/// The text of the mapping file for `choices`, one per column of `headers`.
///
/// # Errors
/// 400 when the choices are not one per column, a choice is not a field, `metadata.<key>`
/// or `ignore`, two columns feed one field, or a column named like a field is ignored (the
/// CLI would still read it: rename it in the file, or let it feed its field).
fn mapping_text(headers: &[String], choices: &[String]) -> Result<String, ApiError> {
    if choices.len() != headers.len() {
        return Err(ApiError::bad(format!(
            "{} choices for {} columns: give one per column",
            choices.len(),
            headers.len()
        )));
    }
    let mut fields: BTreeMap<&str, (usize, &str)> = BTreeMap::new();
    let mut metadata: BTreeMap<String, usize> = BTreeMap::new();
    for (i, (header, choice)) in headers.iter().zip(choices).enumerate() {
        let choice = choice.trim();
        if choice == "ignore" {
            if let Some(field) = named_like_a_field(header) {
                return Err(ApiError::bad(format!(
                    "column {:?} is named like `{field}`, and the CLI reads such a column \
                     whatever a mapping says: let it feed `{field}`, or rename it in the file",
                    header
                )));
            }
            continue;
        }
        if let Some(key) = choice.strip_prefix("metadata.") {
            let key = key.trim();
            if key.is_empty() {
                return Err(ApiError::bad(format!(
                    "column {header:?}: metadata. names no key"
                )));
            }
            if let Some(other) = metadata.insert(key.to_string(), i) {
                return Err(twice(choice, &headers[other], header));
            }
            continue;
        }
        let Some(field) = FIELDS.iter().find(|f| **f == choice) else {
            return Err(ApiError::bad(format!(
                "column {header:?}: {choice:?} is not a field (use one of {}, metadata.<key> \
                 or ignore)",
                FIELDS.join(", ")
            )));
        };
        if let Some((other, _)) = fields.insert(field, (i, header)) {
            return Err(twice(field, &headers[other], header));
        }
    }
    let mut text = String::from(
        "# Written by `orgimport console`: which column feeds which field.\n\
         # Use it with: orgimport import FILE --mapping THIS-FILE\n\n[fields]\n",
    );
    for (field, (_, header)) in &fields {
        let source = match (field, aliases::suggest(header)) {
            (&"domains", Suggestion::Host(_)) => format!(
                "{{ column = {}, transform = \"host\" }}",
                toml_string(header)
            ),
            _ => toml_string(header),
        };
        text.push_str(&format!("{field} = {source}\n"));
    }
    if !metadata.is_empty() {
        text.push_str("\n[metadata]\n");
        for (key, i) in &metadata {
            let bare = key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            let key = if bare { key.clone() } else { toml_string(key) };
            text.push_str(&format!("{key} = {}\n", toml_string(&headers[*i])));
        }
    }
    Ok(text)
}

/// The refusal of two columns feeding one field.
fn twice(field: &str, first: &str, second: &str) -> ApiError {
    ApiError::bad(format!(
        "two columns feed `{field}`: {first:?} and {second:?}; choose one"
    ))
}

/// The field a header names as the CLI reads it without a mapping, if any.
fn named_like_a_field(header: &str) -> Option<String> {
    let h = header.trim();
    if let Some(f) = FIELDS.iter().find(|f| f.eq_ignore_ascii_case(h)) {
        return Some((*f).to_string());
    }
    h.get(..9)
        .filter(|p| p.eq_ignore_ascii_case("metadata."))
        .map(|_| h.to_string())
}

/// `text` as a TOML string, quoted and escaped by the toml crate (which writes what it reads).
fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// The step's section: a chooser per column, labelled with its header.
pub(super) fn section(console: &Console) -> Markup {
    let source = settled(console).ok();
    html! {
        section #columns aria-labelledby="columns-title" {
            h2 #columns-title { "2. Match columns" }
            @if let Some(source) = source {
                (table(&columns(console, &source)))
            } @else {
                p.waiting { "Choose a file first." }
            }
        }
    }
}

/// The choosers.
fn table(columns: &Columns) -> Markup {
    html! {
        @if columns.remembered {
            p.note { "Remembered from an earlier file with the same columns." }
        }
        form #columns-form {
            table {
                thead { tr { th scope="col" { "Column" } th scope="col" { "Field" } } }
                tbody {
                    @for (i, c) in columns.columns.iter().enumerate() {
                        tr {
                            td { label for=(format!("column-{i}")) { (c.header) } }
                            td {
                                select id=(format!("column-{i}")) name="choice" {
                                    @for o in &c.offered {
                                        option value=(o) selected[*o == c.choice] { (o) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            p #columns-status role="status" aria-live="polite" {}
            button type="submit" { "Continue" }
        }
        @if let Some(name) = &columns.mapping {
            p { a href="/api/columns/mapping.toml" download=(name) { "Download the mapping file" } " (" (name) ")" }
        }
    }
}

#[cfg(test)]
mod tests;
