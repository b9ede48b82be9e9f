//! Step 6, the results of the console's run, read from the results file it wrote (the file
//! the CLI writes and reads):
//! - `GET /api/results?status=&page=&size=`: its rows, paged, filtered by status, each
//!   failed row with its reason;
//! - `GET /api/results/download`: the results file itself;
//! - `POST /api/results/retry`: the same import again, which sends the rows not done (the
//!   failed ones among them), as a rerun of `orgimport import` does;
//! - `POST /api/results/verify`: `orgimport verify` of it;
//! - `GET /api/results/undo`: how many organizations `undo` would delete, and the question;
//!   `POST /api/results/undo` `{"organizations": N}`: `orgimport undo --yes`, only when N is
//!   that count (the confirmation the page asked names it).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use maud::{Markup, html};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::run::{Run, begin, refusal};
use super::{ApiError, ApiJson, ApiQuery, Console, blocking};
use crate::commands::{undo, verify};
use crate::exit::{Concluded as _, with_fatal};
use crate::record::{ResultsFile, Status, TenantCheck};
use crate::settings::report_path;
use crate::settings::{ResultsSettings, Target, Tenant, UndoSettings, VerifySettings};
use crate::stop::Stop;

/// Rows on a page of the table, unless the page asks for another size (at most
/// [`MAX_PAGE`]).
const PAGE: usize = 50;
/// The most rows a page holds.
const MAX_PAGE: usize = 500;

/// The step's routes.
pub(super) fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/api/results", get(table))
        .route("/api/results/download", get(download))
        .route("/api/results/retry", post(retry))
        .route("/api/results/verify", post(run_verify))
        .route("/api/results/undo", get(undo_question).post(run_undo))
}

/// One row of the table.
#[derive(Debug, Clone, Serialize)]
struct Line {
    /// Its line in the results file.
    line: u64,
    /// The organization's name.
    name: String,
    /// What became of it.
    status: &'static str,
    /// Its organization, when it exists.
    org_id: Option<String>,
    /// Why it failed (or was not sent, or is invalid).
    error: Option<String>,
}

/// What the table is asked for.
#[derive(Debug, Deserialize)]
struct TableQuery {
    /// Only rows with this status.
    status: Option<String>,
    /// The page, from 0.
    #[serde(default)]
    page: usize,
    /// Rows a page.
    size: Option<usize>,
}

/// The console's run, once it has ended (its results file written).
///
/// # Errors
/// A 409 when there is no run, or it is still in progress.
fn ended_run(console: &Console) -> Result<Arc<Run>, ApiError> {
    let run = console
        .runs
        .current()
        .ok_or_else(|| ApiError::not_yet("no import was run from this page yet"))?;
    if run.ended().is_none() {
        return Err(ApiError::not_yet(
            "the run is in progress: its results file is written when it ends",
        ));
    }
    Ok(run)
}

/// The tenant the console imports into.
fn tenant(console: &Console) -> Result<Tenant, ApiError> {
    match &console.import.target {
        Target::Tenant(tenant) => Ok((**tenant).clone()),
        Target::Sandbox => Err(ApiError::bad("the console has no tenant")),
    }
}

/// How `verify` and `undo` read `run`'s results file (their own report beside it).
fn results_settings(console: &Console, run: &Run, what: &str) -> Result<ResultsSettings, ApiError> {
    let file = run.settings.results.clone();
    Ok(ResultsSettings {
        tenant_check: TenantCheck::results_of(tenant(console)?.mark(), false),
        mapping: run.settings.mapping.clone(),
        out: report_path(&file, what),
        file,
        rate: run.settings.rate,
        concurrency: run.settings.concurrency,
    })
}

/// Reads `run`'s results file back, as `verify` and `undo` read it.
async fn read(console: &Console, run: &Run) -> Result<ResultsFile, ApiError> {
    let settings = results_settings(console, run, "verify")?;
    let template = run.settings.default_template.clone();
    blocking(move || {
        ResultsFile::read(
            &settings.file,
            &settings.mapping,
            template.as_deref(),
            &settings.tenant_check,
        )
        .map_err(ApiError::from)
    })
    .await
}

/// A results file read back for the table: its rows and counts, and the file's size and
/// time when read (read again once either changes: a rerun or an undo rewrote it).
pub(crate) struct ReadBack {
    /// The file's size and modification time when read.
    stamp: (u64, Option<SystemTime>),
    /// Its rows, in order.
    lines: Vec<Line>,
    /// Rows by status.
    counts: BTreeMap<&'static str, u64>,
}

/// `run`'s results file for the table: as read last time unless it changed since.
async fn read_back(console: &Console, run: &Run) -> Result<Arc<ReadBack>, ApiError> {
    let path = run.settings.results.clone();
    let stamp = tokio::fs::metadata(&path)
        .await
        .map(|m| (m.len(), m.modified().ok()))
        .map_err(|e| ApiError::new(StatusCode::NOT_FOUND, format!("{}: {e}", path.display())))?;
    let kept = run
        .read_back
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    if let Some(kept) = kept.filter(|k| k.stamp == stamp) {
        return Ok(kept);
    }
    let file = read(console, run).await?;
    let mut counts: BTreeMap<&'static str, u64> = BTreeMap::new();
    for row in &file.rows {
        *counts.entry(row.status.as_str()).or_insert(0) += 1;
    }
    let lines = file
        .rows
        .into_iter()
        .map(|row| Line {
            line: row.line,
            name: row.name,
            status: row.status.as_str(),
            org_id: row.org_id,
            error: row.error,
        })
        .collect();
    let fresh = Arc::new(ReadBack {
        stamp,
        lines,
        counts,
    });
    *run.read_back.lock().unwrap_or_else(|e| e.into_inner()) = Some(fresh.clone());
    Ok(fresh)
}

/// `GET /api/results`: a page of the rows, and the counts by status.
async fn table(
    State(console): State<Arc<Console>>,
    ApiQuery(query): ApiQuery<TableQuery>,
) -> Result<Json<Value>, ApiError> {
    let run = ended_run(&console)?;
    let wanted = match query.status.as_deref().filter(|s| !s.is_empty()) {
        Some(name) => {
            Some(Status::parse(name).ok_or_else(|| ApiError::bad(format!("no status {name:?}")))?)
        }
        None => None,
    };
    let size = query.size.unwrap_or(PAGE).clamp(1, MAX_PAGE);
    let file = read_back(&console, &run).await?;
    let matching = file
        .lines
        .iter()
        .filter(|line| wanted.is_none_or(|w| line.status == w.as_str()));
    let total = matching.clone().count();
    let rows: Vec<&Line> = matching
        .skip(query.page.saturating_mul(size))
        .take(size)
        .collect();
    Ok(Json(json!({
        "results": run.results_name(),
        "counts": file.counts,
        "total": total,
        "page": query.page,
        "size": size,
        "rows": rows,
    })))
}

/// `GET /api/results/download`: the results file, as written.
async fn download(State(console): State<Arc<Console>>) -> Result<impl IntoResponse, ApiError> {
    let run = ended_run(&console)?;
    let path: PathBuf = run.settings.results.clone();
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| ApiError::new(StatusCode::NOT_FOUND, format!("{}: {e}", path.display())))?;
    let name = run.results_name().replace(['"', '\\'], "_");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    ))
}

/// `POST /api/results/retry`: the same import again: the rows not done (failed, not sent,
/// unconfirmed) are sent again, the others are not.
async fn retry(State(console): State<Arc<Console>>) -> Result<Json<Value>, ApiError> {
    let run = ended_run(&console)?;
    let again = begin(&console, run.asked.clone()).await?;
    Ok(Json(json!({ "run": again.to_json() })))
}

/// `POST /api/results/verify`: every created row read back and checked, as `orgimport
/// verify` does; its report is written beside the results file.
async fn run_verify(State(console): State<Arc<Console>>) -> Result<Json<Value>, ApiError> {
    let run = ended_run(&console)?;
    let settings = VerifySettings {
        tenant: tenant(&console)?,
        timeout: run.settings.timeout,
        results: results_settings(&console, &run, "verify")?,
        template_id: run.settings.default_template.clone(),
        quiet: true,
    };
    // Not stopped by Ctrl-C: the console's own Ctrl-C ends the console.
    let report = verify::verify_under(settings, Some(Arc::new(Stop::new())))
        .await
        .map_err(refusal)?;
    Ok(Json(json!({
        "summary": with_fatal(&report),
        "exit_code": report.exit_status().code(),
        "checked": report.checked,
        "bad_rows": report.bad_rows,
        "unchecked_rows": report.unchecked_rows,
        "unconfirmed": report.unconfirmed,
        "report": report.out.file_name().map(|n| n.to_string_lossy().into_owned()),
    })))
}

/// What `undo` would delete: the organizations the results file lists as created, and the
/// rows in doubt: unconfirmed, or failed after an attempt that may have created them (looked
/// up first, deleted when found).
async fn undo_count(console: &Console, run: &Run) -> Result<(usize, usize), ApiError> {
    let file = read(console, run).await?;
    let created = file
        .rows
        .iter()
        .filter(|r| r.status == Status::Created && r.org_id.is_some())
        .count();
    let unconfirmed = file.rows.iter().filter(|r| r.in_doubt).count();
    Ok((created, unconfirmed))
}

/// `GET /api/results/undo`: how many organizations undo would delete, and the question
/// the page asks before it does.
async fn undo_question(State(console): State<Arc<Console>>) -> Result<Json<Value>, ApiError> {
    let run = ended_run(&console)?;
    let (created, unconfirmed) = undo_count(&console, &run).await?;
    let tenant = tenant(&console)?;
    let mut question = format!(
        "Delete the {created} organizations that {} lists as created",
        run.results_name()
    );
    if unconfirmed > 0 {
        question.push_str(&format!(
            ", and those found for its {unconfirmed} rows in doubt"
        ));
    }
    question.push_str(&format!(
        ", in tenant {:?} at {}? This cannot be undone.",
        tenant.tenant, tenant.base_url
    ));
    Ok(Json(json!({
        "organizations": created,
        "unconfirmed": unconfirmed,
        "question": question,
    })))
}

/// The confirmation of an undo: the count of organizations the question named.
#[derive(Debug, Deserialize)]
struct UndoConfirm {
    organizations: usize,
}

/// `POST /api/results/undo`: deletes what the results file lists as created, as `orgimport
/// undo --yes` does, once the page confirmed the count it was shown.
///
/// # Errors
/// A 409 when the count confirmed is not the count now (the results changed since).
async fn run_undo(
    State(console): State<Arc<Console>>,
    ApiJson(confirm): ApiJson<UndoConfirm>,
) -> Result<Json<Value>, ApiError> {
    let run = ended_run(&console)?;
    let (created, _) = undo_count(&console, &run).await?;
    if confirm.organizations != created {
        return Err(ApiError::not_yet(format!(
            "the confirmation names {} organizations, but {created} would be deleted; ask \
             again",
            confirm.organizations
        )));
    }
    let settings = UndoSettings {
        tenant: tenant(&console)?,
        timeout: run.settings.timeout,
        results: results_settings(&console, &run, "undo")?,
        yes: true,
        quiet: true,
    };
    let report = undo::undo_under(settings, Some(Arc::new(Stop::new())))
        .await
        .map_err(refusal)?;
    Ok(Json(json!({
        "summary": with_fatal(&report),
        "exit_code": report.exit_status().code(),
        "deleted": report.deleted,
        "already_gone": report.already_gone,
        "failed": report.failed,
    })))
}

/// The step's section: the table, its filter and pages, and the actions.
pub(super) fn section(_console: &Console) -> Markup {
    html! {
        section #results aria-labelledby="results-title" {
            h2 #results-title { "6. Results" }
            div.results-actions {
                a #results-download href="/api/results/download" role="button" download
                    hidden { "Download results" }
                button #results-retry type="button" hidden { "Retry the failed rows" }
                button #results-verify type="button" hidden { "Verify" }
                button #results-undo type="button" hidden { "Undo the import" }
            }
            p #results-said role="status" aria-live="polite" {}
            label for="results-filter" { "Show" }
            select #results-filter {
                option value="" { "every row" }
                @for status in Status::ALL {
                    option value=(status.as_str()) { (status.as_str()) }
                }
            }
            table #results-table {
                thead { tr { th { "line" } th { "name" } th { "status" } th { "org_id" } th { "reason" } } }
                tbody {}
            }
            div.results-pages {
                button #results-prev type="button" { "Previous page" }
                span #results-page {}
                button #results-next type="button" { "Next page" }
            }
        }
    }
}
