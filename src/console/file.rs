//! Step 1, the file: the upload, streamed to the working folder ([`super::store`]), and what
//! the file holds, found by the engine's own reading of it ([`Source::settle`], as every
//! command reads it): rows, encoding, delimiter, sheet (a choice among the visible ones, as
//! `--sheet`), header row (as `--header-row`). A file the CLI refuses is refused with the
//! CLI's message; it stays chosen, so that another sheet or header row can be tried.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use axum::{Json, Router};
use maud::{Markup, html};
use serde::{Deserialize, Serialize};

use super::{ApiError, ApiJson, ApiQuery, Console, blocking, checked, kept, store};
use crate::Error;
use crate::input::{Dialect, Source, workbook};

/// The uploaded file and how it is read.
pub(crate) struct Upload {
    /// The file, in the working folder.
    pub(crate) path: PathBuf,
    /// How it is read: the sheet and header row chosen (the CLI's `--sheet`, `--header-row`).
    pub(crate) dialect: Dialect,
    /// What reading it found, or the CLI's refusal.
    pub(crate) read: Result<(Source, Facts), String>,
    /// The SHA-256 of its bytes.
    pub(crate) hash: [u8; 32],
}

/// What the file holds, as the page shows it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Facts {
    /// The stored file's name, in the working folder.
    pub(crate) file: String,
    /// Its size in bytes.
    pub(crate) bytes: u64,
    /// Data rows.
    pub(crate) rows: usize,
    /// The encoding of a CSV file (`None` for a workbook).
    pub(crate) encoding: Option<String>,
    /// The delimiter of a CSV file (`None` for a workbook).
    pub(crate) delimiter: Option<String>,
    /// The sheet read, for a workbook.
    pub(crate) sheet: Option<String>,
    /// The workbook's visible sheets, to choose among.
    pub(crate) sheets: Vec<String>,
    /// The header's line or sheet row.
    pub(crate) header_row: u64,
    /// The header's names.
    pub(crate) headers: Vec<String>,
    /// What the CLI says about how it reads the file, if anything.
    pub(crate) note: Option<String>,
    /// The corrected copy made from this file before (by a console since stopped), taken up
    /// again: the plan and the run read it, and resume from its results file.
    pub(crate) corrected: Option<String>,
    /// The cells corrected in it.
    pub(crate) corrected_cells: usize,
}

/// The step's routes.
pub(super) fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/api/file", get(current).put(upload).post(upload))
        .route("/api/file/read", post(reread))
}

/// `?name=` of an upload: the file's name as the browser gives it (only a safe form of its
/// last part is used).
#[derive(Deserialize)]
struct Named {
    name: Option<String>,
}

/// What the file holds now.
async fn current(State(console): State<Arc<Console>>) -> Result<Json<Facts>, ApiError> {
    let work = console.work();
    match &work.file {
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no file yet: upload one",
        )),
        Some(Upload {
            read: Ok((_, facts)),
            ..
        }) => Ok(Json(facts.clone())),
        Some(Upload { read: Err(e), .. }) => Err(ApiError::bad(e.clone())),
    }
}

/// PUT (or POST) `/api/file?name=NAME`, the file's bytes as the body: stored, then read.
async fn upload(
    State(console): State<Arc<Console>>,
    ApiQuery(named): ApiQuery<Named>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Facts>, ApiError> {
    let limit = console.max_upload;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(store::too_large(limit));
    }
    let name = store::safe_name(named.name.as_deref().unwrap_or_default());
    // Refused before a byte is stored: an upload never stands for a file orgimport reads
    // or writes itself (its settings, a mapping, a results file, a lock, a journal ...).
    if let Some(why) = store::refused_name(&name) {
        return Err(ApiError::bad(why));
    }
    let (temp, _size, hash) = store::receive(console.dir(), body, limit).await?;
    let dir = console.dir().to_path_buf();
    let path = blocking(move || store::place(&dir, &temp, &name, &hash)).await?;
    console.hold(&path);
    settle(&console, path, Dialect::default(), hash, false).await
}

/// How to read the file again: `--sheet`, `--header-row`, `--encoding`, `--delimiter`.
#[derive(Deserialize)]
struct ReadAs {
    sheet: Option<String>,
    header_row: Option<u64>,
    encoding: Option<String>,
    delimiter: Option<String>,
}

/// POST `/api/file/read`: the file read again with another sheet, header row, encoding or
/// delimiter (each as its CLI option takes it).
async fn reread(
    State(console): State<Arc<Console>>,
    ApiJson(read_as): ApiJson<ReadAs>,
) -> Result<Json<Facts>, ApiError> {
    let (path, hash) = match &console.work().file {
        Some(upload) => (upload.path.clone(), upload.hash),
        None => return Err(ApiError::not_yet("no file yet: upload one")),
    };
    if read_as.header_row == Some(0) {
        return Err(ApiError::bad("the header row is counted from 1"));
    }
    let given = |s: &Option<String>| s.clone().filter(|s| !s.trim().is_empty());
    let dialect = Dialect::parse(
        given(&read_as.delimiter).as_deref(),
        given(&read_as.encoding).as_deref(),
    )
    .map_err(ApiError::bad)?
    .with_sheet(read_as.sheet.as_deref().filter(|s| !s.is_empty()))
    .with_header_row(read_as.header_row);
    settle(&console, path, dialect, hash, true).await
}

/// Reads the file at `path` (whose bytes hash to `hash`) as `dialect` says, records it as
/// the console's file (what follows it cleared), and says what it holds or why the CLI would
/// refuse it. A corrected copy made from these very bytes read this way (by this console, or
/// one stopped since) is taken up again, with its edits and the mapping remembered for the
/// header: the run then resumes from the copy's results file. `again`: a "Read again" of
/// the file, whose refusal keeps the file as it was read (and what follows it).
async fn settle(
    console: &Console,
    path: PathBuf,
    dialect: Dialect,
    hash: [u8; 32],
    again: bool,
) -> Result<Json<Facts>, ApiError> {
    let (at, how) = (path.clone(), dialect.clone());
    let (mut read, found) = blocking(move || {
        let read = inspect(&at, &how).map_err(|e| e.to_string());
        let copy = checked::corrected_path(&at);
        let found = read.is_ok().then(|| kept::find(&copy, &hash, &how));
        Ok((read, found.map(|f| (copy, f))))
    })
    .await?;
    let mut columns = None;
    let mut corrected = None;
    let mut edits = kept::Edits::new();
    if let (Ok((source, facts)), Some((copy, kept::Found::Ours(kept)))) = (&mut read, found) {
        facts.corrected = copy.file_name().map(|n| n.to_string_lossy().into_owned());
        facts.corrected_cells = kept.values().map(|cells| cells.len()).sum();
        console.hold(&copy);
        columns = super::columns::remembered_choice(console.dir(), source);
        if let Some(chosen) = &columns {
            console.hold(&chosen.file);
        }
        corrected = Some(copy);
        edits = kept;
    }
    let reply = match &read {
        Ok((_, facts)) => Ok(Json(facts.clone())),
        Err(e) => Err(ApiError::bad(e.clone())),
    };
    let mut work = console.work();
    let was_read = work.file.as_ref().is_some_and(|file| file.read.is_ok());
    if again && was_read && read.is_err() {
        return reply;
    }
    work.file = Some(Upload {
        path,
        dialect,
        read,
        hash,
    });
    work.columns = columns;
    work.review = None;
    work.plan = None;
    work.edits = edits;
    work.corrected = corrected;
    reply
}

/// Reads the file as every command does, and counts its rows.
fn inspect(path: &Path, dialect: &Dialect) -> Result<(Source, Facts), Error> {
    let source = Source::settle(path, dialect)?;
    let sheets = workbook::visible_sheets(path)?;
    let mut rows = 0;
    for row in source.rows(source.headers().len())? {
        row?;
        rows += 1;
    }
    let facts = Facts {
        file: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        bytes: std::fs::metadata(path).map_or(0, |m| m.len()),
        rows,
        encoding: source.encoding_name().map(str::to_string),
        delimiter: source
            .sheet_name()
            .is_none()
            .then(|| match source.delimiter() {
                b'\t' => "tab".to_string(),
                d => char::from(d).to_string(),
            }),
        sheet: source.sheet_name().map(str::to_string),
        sheets,
        header_row: source.header_line(),
        headers: source.headers().iter().map(str::to_string).collect(),
        note: source.note().map(str::to_string),
        corrected: None,
        corrected_cells: 0,
    };
    Ok((source, facts))
}

/// The step's section: the file input, and what the file holds.
pub(super) fn section(console: &Console) -> Markup {
    let work = console.work();
    html! {
        section #file aria-labelledby="file-title" {
            h2 #file-title { "1. The file" }
            div.drop #drop {
                label for="customer-file" { "Customer file" }
                input #customer-file type="file" accept=".csv,.tsv,.txt,.xlsx,.xlsm,.xls,.ods";
                p.hint { "Choose or drop a CSV, .xlsx, .xls or .ods file." }
            }
            p #file-status role="status" aria-live="polite" {}
            @if let Some(upload) = &work.file {
                (facts(upload))
            }
        }
    }
}

/// What the file holds, and the sheet and header-row choices.
fn facts(upload: &Upload) -> Markup {
    let (sheets, sheet, header_row) = match &upload.read {
        Ok((_, f)) => (f.sheets.clone(), f.sheet.clone(), Some(f.header_row)),
        Err(_) => (
            workbook::visible_sheets(&upload.path).unwrap_or_default(),
            upload.dialect.sheet.clone(),
            upload.dialect.header_row,
        ),
    };
    html! {
        @match &upload.read {
            Ok((_, f)) => {
                dl.facts {
                    dt { "File" } dd { (f.file) " (" (f.bytes) " bytes)" }
                    dt { "Rows" } dd #file-rows { (f.rows) }
                    @if let Some(e) = &f.encoding { dt { "Encoding" } dd { (e) } }
                    @if let Some(d) = &f.delimiter { dt { "Delimiter" } dd { (d) } }
                    @if let Some(s) = &f.sheet { dt { "Sheet read" } dd { (s) } }
                    dt { "Header row" } dd { (f.header_row) }
                    dt { "Columns" } dd { (f.headers.join(", ")) }
                }
                @if let Some(note) = &f.note { p.note { (note) } }
                @if let Some(copy) = &f.corrected {
                    p.note #file-kept {
                        "Your corrections from before are kept: " (f.corrected_cells)
                        @if f.corrected_cells == 1 { " cell" } @else { " cells" }
                        ", in " (copy) ", which the plan and the run read (the run goes on \
                         from where it stopped)."
                    }
                }
            }
            Err(e) => { p.error role="alert" { (e) } }
        }
        form #read-as {
            @if sheets.len() > 1 {
                label for="sheet" { "Sheet" }
                select #sheet name="sheet" {
                    @for s in &sheets {
                        option value=(s) selected[sheet.as_deref() == Some(s.as_str())] { (s) }
                    }
                }
            }
            @if sheets.is_empty() && sheet.is_none() {
                label for="encoding" { "Encoding" }
                input #encoding name="encoding" list="encodings" placeholder="detected"
                    value=[upload.dialect.encoding.map(|e| e.name())];
                datalist #encodings {
                    @for e in ["UTF-8", "windows-1252", "ISO-8859-1", "ISO-8859-15", "windows-1250", "UTF-16LE", "Shift_JIS", "GBK"] {
                        option value=(e) {}
                    }
                }
                label for="delimiter" { "Delimiter" }
                select #delimiter name="delimiter" {
                    @for (value, shown) in [("", "detected"), (",", ","), (";", ";"), ("tab", "tab"), ("|", "|")] {
                        option value=(value) selected[delimiter_is(upload, value)] { (shown) }
                    }
                }
            }
            label for="header-row" { "Header row" }
            input #header-row name="header_row" type="number" min="1" value=[header_row];
            button type="submit" { "Read again" }
        }
        @if upload.read.is_ok() {
            button #file-continue type="button" data-next="columns" { "Continue" }
        }
    }
}

/// Whether the delimiter the user named for `upload` is `value` (`""`: none named).
fn delimiter_is(upload: &Upload, value: &str) -> bool {
    match upload.dialect.delimiter {
        None => value.is_empty(),
        Some(b'\t') => value == "tab",
        Some(d) => value.as_bytes() == [d],
    }
}
