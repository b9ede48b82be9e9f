//! Step 5, the run: an import of a file of the working folder started from the page, as
//! `orgimport import FILE --mapping MAPPING` would run it (the same steps, the same results
//! file and lock), paused, resumed and stopped from it. The run belongs to the console, not
//! to a tab: closing the tab does not stop it, and the page opened again shows it.
//!
//! - `POST /api/run/start` `{"file"?, "mapping"?, "sheet"?, "header_row"?, "on_existing"?}`:
//!   the file and mapping the earlier steps settled when no file is named; takes the results
//!   file's lock first, so a second start of the same import (another tab) gets the lock's
//!   answer (409), never a second run.
//! - `POST /api/run/pause`, `/resume`, `/stop`; `GET /api/run`: the run as it stands.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use maud::{Markup, html};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::results::ReadBack;
use super::{ApiError, ApiJson, Console};
use crate::Error;
use crate::commands::import::{run_opened, steps};
use crate::input::Dialect;
use crate::record::TenantCheck;
use crate::report::live::{Phase, RunProgress};
use crate::report::summary::{RunReport, Summary};
use crate::send::RunControl;
use crate::settings::ImportSettings;
use crate::settings::import::mapping_spec;
use crate::tenant::on_existing::OnExisting;

/// The console's run: the current one (running or ended), if any.
#[derive(Default)]
pub(crate) struct Runs {
    /// The latest run started. A std mutex: held only to read or replace it.
    current: Mutex<Option<Arc<Run>>>,
}

/// One run started from the page.
pub(crate) struct Run {
    /// What the page asked for, to run it again ("Retry the failed rows").
    pub(crate) asked: StartRequest,
    /// The settings it runs with.
    pub(crate) settings: ImportSettings,
    /// Its stop, pause and progress.
    pub(crate) control: RunControl,
    /// How it ended, once it has.
    ended: watch::Sender<Option<Ended>>,
    /// Its results file as last read back for the table, kept while the file is unchanged.
    /// A std mutex: held only to read or replace it.
    pub(crate) read_back: Mutex<Option<Arc<ReadBack>>>,
}

/// What the page asks to import: files of the working folder, named as they are there.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub(crate) struct StartRequest {
    /// The customer file; the one the earlier steps settled when absent.
    #[serde(default)]
    pub(crate) file: Option<String>,
    /// The mapping file (`--mapping`), if any.
    #[serde(default)]
    pub(crate) mapping: Option<String>,
    /// The sheet of a workbook (`--sheet`).
    #[serde(default)]
    pub(crate) sheet: Option<String>,
    /// The header's line or row (`--header-row`).
    #[serde(default)]
    pub(crate) header_row: Option<u64>,
    /// `skip`, `fail` or `update` (`--on-existing`); the console's own when absent.
    #[serde(default)]
    pub(crate) on_existing: Option<String>,
    /// How the earlier steps read the file, when the start takes it from them: the plan's
    /// reading exactly (a corrected copy is read as the copy it is).
    #[serde(skip)]
    pub(crate) dialect: Option<Dialect>,
}

/// How a run ended, as the page shows it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Ended {
    /// The summary line the CLI prints, or the error that stopped the run before it sent.
    pub(crate) summary: String,
    /// The exit code `orgimport import` would end with.
    pub(crate) exit_code: u8,
    /// Rows by status, this run and earlier ones (empty when it stopped before sending).
    pub(crate) counts: BTreeMap<&'static str, u64>,
    /// Whether a stop ended it early.
    pub(crate) interrupted: bool,
    /// The error that stopped it, if one did.
    pub(crate) error: Option<String>,
}

impl Ended {
    /// How a run that returned `result` ended.
    fn of(result: Result<Summary, Error>) -> Ended {
        match result {
            Ok(summary) => Ended {
                summary: RunReport::new(&summary).to_string(),
                exit_code: summary.exit_status().code(),
                counts: summary
                    .counts
                    .iter()
                    .map(|(status, n)| (status.as_str(), *n))
                    .collect(),
                interrupted: summary.interrupted,
                error: summary.fatal.as_ref().map(Error::to_string),
            },
            Err(error) => Ended {
                summary: format!("the run stopped before sending: {error}"),
                exit_code: crate::ExitStatus::Fatal.code(),
                counts: BTreeMap::new(),
                interrupted: false,
                error: Some(error.to_string()),
            },
        }
    }
}

impl Ended {
    /// How a run whose task ended without an answer (`why`) ended.
    fn broken(why: &str) -> Ended {
        Ended {
            summary: format!(
                "the run ended unexpectedly ({why}); start it again (or run orgimport import \
                 on the same file) to finish it from its journal"
            ),
            exit_code: crate::ExitStatus::Fatal.code(),
            counts: BTreeMap::new(),
            interrupted: false,
            error: Some(why.to_string()),
        }
    }
}

impl Run {
    /// How it ended, once it has.
    pub(crate) fn ended(&self) -> Option<Ended> {
        self.ended.borrow().clone()
    }

    /// Completes once it has ended.
    pub(crate) async fn wait_ended(&self) {
        let mut ended = self.ended.subscribe();
        let _ = ended.wait_for(Option::is_some).await;
    }

    /// A receiver of how it ended.
    pub(crate) fn ended_watch(&self) -> watch::Receiver<Option<Ended>> {
        self.ended.subscribe()
    }

    /// The results file's name in the working folder.
    pub(crate) fn results_name(&self) -> String {
        file_name(&self.settings.results)
    }

    /// The run as the page shows it.
    pub(crate) fn to_json(&self) -> Value {
        let progress: RunProgress = self.control.progress().borrow().clone();
        json!({
            "file": self.asked.file,
            "results": self.results_name(),
            "progress": progress,
            "ended": self.ended(),
        })
    }
}

impl Runs {
    /// The current run, if any.
    pub(crate) fn current(&self) -> Option<Arc<Run>> {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Stops the run in progress, if any, and waits until its results are written: the
    /// console is shutting down.
    pub(crate) async fn close(&self) {
        if let Some(run) = self.current() {
            run.control.stop.set();
            run.wait_ended().await;
        }
    }
}

/// The step's routes.
pub(super) fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/api/run", get(show))
        .route("/api/run/start", post(start))
        .route("/api/run/pause", post(pause))
        .route("/api/run/resume", post(resume))
        .route("/api/run/stop", post(stop))
}

/// `GET /api/run`: the current run, or `{"run": null}`.
async fn show(State(console): State<Arc<Console>>) -> Json<Value> {
    Json(json!({ "run": console.runs.current().map(|run| run.to_json()) }))
}

/// `POST /api/run/start`.
async fn start(
    State(console): State<Arc<Console>>,
    ApiJson(asked): ApiJson<StartRequest>,
) -> Result<Json<Value>, ApiError> {
    let asked = match asked.file {
        Some(_) => asked,
        None => {
            let settled = settled(&console)?;
            StartRequest {
                on_existing: asked.on_existing.or(settled.on_existing.clone()),
                ..settled
            }
        }
    };
    let run = begin(&console, asked).await?;
    Ok(Json(json!({ "run": run.to_json() })))
}

/// Starts the import `asked` names, after taking its results file's lock.
///
/// # Errors
/// A 409 with the lock's answer when another run (another tab's, or a terminal's) holds
/// the results file, or when another run of this console is in progress; a 400 with the
/// CLI's message for a file or setting the CLI refuses.
pub(crate) async fn begin(console: &Console, asked: StartRequest) -> Result<Arc<Run>, ApiError> {
    let settings = settings_for(console, &asked)?;
    // The lock first: its answer is the one a second start gets.
    let opened = steps::open(&settings).await.map_err(refusal)?;
    let control = RunControl::new();
    let run = Arc::new(Run {
        asked,
        settings: settings.clone(),
        control: control.clone(),
        ended: watch::channel(None).0,
        read_back: Mutex::new(None),
    });
    {
        let mut current = console
            .runs
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(running) = current.as_ref().filter(|r| r.ended().is_none()) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "a run of {} is in progress; stop it or wait for its end first",
                    running.asked.file.as_deref().unwrap_or_default()
                ),
            ));
        }
        *current = Some(run.clone());
    }
    let task = run.clone();
    tokio::spawn(async move {
        let steered = control.clone();
        let running = tokio::spawn(async move { run_opened(settings, opened, &steered).await });
        let ended = match running.await {
            Ok(result) => Ended::of(result),
            // Not expected; the journal keeps what was sent, for a rerun to finish from.
            Err(gone) => Ended::broken(&gone.to_string()),
        };
        task.ended.send_replace(Some(ended));
        control.set_phase(Phase::Finished);
    });
    Ok(run)
}

/// `POST /api/run/pause`: no new row is sent; the rows in flight finish.
async fn pause(State(console): State<Arc<Console>>) -> Result<Json<Value>, ApiError> {
    let run = running(&console)?;
    run.control.pause();
    Ok(Json(json!({ "run": run.to_json() })))
}

/// `POST /api/run/resume`.
async fn resume(State(console): State<Arc<Console>>) -> Result<Json<Value>, ApiError> {
    let run = running(&console)?;
    run.control.resume();
    Ok(Json(json!({ "run": run.to_json() })))
}

/// `POST /api/run/stop`: the rows in flight finish, no new row is sent, the results file is
/// written as the CLI writes it after Ctrl-C. Answers once it is written.
async fn stop(State(console): State<Arc<Console>>) -> Result<Json<Value>, ApiError> {
    let run = running(&console)?;
    run.control.stop.set();
    run.wait_ended().await;
    Ok(Json(json!({ "run": run.to_json() })))
}

/// The run in progress.
///
/// # Errors
/// A 409 when no run is in progress.
fn running(console: &Console) -> Result<Arc<Run>, ApiError> {
    console
        .runs
        .current()
        .filter(|run| run.ended().is_none())
        .ok_or_else(|| ApiError::not_yet("no run is in progress"))
}

/// What the earlier steps settled, as a start names it: the file the plan reads (the
/// corrected copy once a cell was edited, step 3) and how, the mapping file (step 2) and the
/// choice for existing organizations (step 4).
///
/// # Errors
/// A 409 when no file was read yet.
fn settled(console: &Console) -> Result<StartRequest, ApiError> {
    let work = console.work();
    let (input, dialect) = work
        .input()
        .ok_or_else(|| ApiError::not_yet("no file read yet: upload one first (step 1)"))?;
    let on_existing = match work.on_existing {
        OnExisting::Skip => "skip",
        OnExisting::Fail => "fail",
        OnExisting::Update => "update",
    };
    Ok(StartRequest {
        file: Some(file_name(&input)),
        mapping: work.columns.as_ref().map(|chosen| file_name(&chosen.file)),
        sheet: dialect.sheet.clone(),
        header_row: dialect.header_row,
        on_existing: Some(on_existing.to_string()),
        dialect: Some(dialect),
    })
}

/// The refusal of an engine error: a 409 with the lock's answer when another run holds the
/// results file, else a 400 with the CLI's message.
pub(crate) fn refusal(error: Error) -> ApiError {
    match error {
        Error::Busy { .. } => ApiError::new(StatusCode::CONFLICT, error.to_string()),
        other => ApiError::from(other),
    }
}

/// The import settings for `asked`: the console's, for files of its working folder.
///
/// # Errors
/// A 400 for a name that is not a file of the working folder, an unreadable mapping file, an
/// `on_existing` that is not one.
pub(crate) fn settings_for(
    console: &Console,
    asked: &StartRequest,
) -> Result<ImportSettings, ApiError> {
    let file = asked.file.as_deref().unwrap_or_default();
    let input = held(console, file)?;
    let mapping = asked
        .mapping
        .as_deref()
        .map(|m| held(console, m))
        .transpose()?;
    let overrides = &console.import.mapping.overrides;
    let mapping = mapping_spec(mapping.as_deref(), overrides).map_err(ApiError::from)?;
    let dialect = match &asked.dialect {
        Some(dialect) => dialect.clone(),
        None => console
            .import
            .dialect
            .clone()
            .with_sheet(asked.sheet.as_deref())
            .with_header_row(asked.header_row),
    };
    let mut settings = console.import_for(&input, dialect, mapping);
    // The results file is read back as this tenant's: the one the run writes into it.
    settings.tenant_check = TenantCheck::import(Some(settings.target.mark()), false);
    if let Some(mode) = &asked.on_existing {
        settings.on_existing = match mode.as_str() {
            "skip" => OnExisting::Skip,
            "fail" => OnExisting::Fail,
            "update" => OnExisting::Update,
            other => {
                return Err(ApiError::bad(format!(
                    "on_existing {other:?} is not one of skip, fail, update"
                )));
            }
        };
    }
    Ok(settings)
}

/// The file `name` of the working folder, when it is one the console holds (an upload, a
/// corrected copy of one, a mapping file it saved): a run reads no other, so that no file of
/// the folder (a secret, a settings file) is read, nor quoted in an error, for the page.
///
/// # Errors
/// As [`in_dir`]; a 403 for a file the console does not hold, before it is read.
fn held(console: &Console, name: &str) -> Result<PathBuf, ApiError> {
    if !name.is_empty()
        && Path::new(name).file_name() == Some(std::ffi::OsStr::new(name))
        && !name.starts_with('.')
        && !console.holds(name)
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("{name} is not a file the console holds: upload it on the page first (step 1)"),
        ));
    }
    in_dir(console.dir(), name)
}

/// The file `name` of the working folder `dir`: a plain name, no folder in it.
///
/// # Errors
/// A 400 for a name with a folder in it, and a 404 for a file that is not there.
pub(crate) fn in_dir(dir: &Path, name: &str) -> Result<PathBuf, ApiError> {
    let plain = Path::new(name)
        .file_name()
        .is_some_and(|n| n == std::ffi::OsStr::new(name));
    if !plain || name.starts_with('.') {
        return Err(ApiError::bad(format!(
            "{name:?} is not the name of a file in the working folder"
        )));
    }
    let path = dir.join(name);
    // Not a link to a file elsewhere either: the console reads its own folder only.
    let inside = path
        .canonicalize()
        .is_ok_and(|real| real.parent() == Some(dir) && real.is_file());
    if !inside {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("{name} is not a file of the working folder"),
        ));
    }
    Ok(path)
}

/// The last part of `path`, for the page.
fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The step's section: the controls, the progress bar, the counts and the chart. A run in
/// progress (or ended) is shown as it stands: the page opened again shows it.
pub(super) fn section(console: &Console) -> Markup {
    let run = console.runs.current();
    let state = run.as_ref().map(|r| r.to_json().to_string());
    let what = settled(console).ok().map(|asked| {
        let file = asked.file.unwrap_or_default();
        match asked.mapping {
            Some(mapping) => format!("Imports {file} with the columns of {mapping}."),
            None => format!("Imports {file}."),
        }
    });
    html! {
        section #run aria-labelledby="run-title" data-run=[state] {
            h2 #run-title { "5. Run" }
            p #run-what { (what.unwrap_or_else(|| "Choose the customer file first (step 1).".into())) }
            div.run-controls {
                button #run-start type="button" { "Start import" }
                button #run-pause type="button" disabled { "Pause" }
                button #run-resume type="button" disabled { "Resume" }
                button #run-stop type="button" disabled { "Stop" }
            }
            progress #run-bar max="1" value="0" aria-label="Rows sent" {}
            p #run-eta {}
            div #run-counts role="status" aria-live="polite" { "No run yet." }
            canvas #run-chart width="640" height="160"
                aria-label="Requests per second, 429s and reply time" {}
            p #run-ended {}
        }
    }
}
