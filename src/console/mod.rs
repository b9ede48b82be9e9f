//! `orgimport console`: the whole import as a local web page, on the same steps as the
//! commands (the file settled by [`crate::input::Source`], the rows checked by `validate`'s
//! code, the tenant compared by `plan`'s), so that the page and the CLI are two faces of one
//! tool: same settings and profiles, same mapping files, same results file and lock.
//!
//! # Layout
//! The router is built here by merging one router per step, each in its own file:
//! - [`guard`]: the security layer every request passes (Host, token and cookie, Origin).
//! - [`page`]: the HTML shell (maud); [`assets`]: the embedded JavaScript and CSS.
//! - [`file`]: step 1, the upload (streamed to `--dir`) and what the file holds.
//! - [`columns`]: step 2, each column's field, saved as a mapping file the CLI reads.
//! - [`review`]: step 3, every problem per cell, paged, editable; the hierarchy; [`kept`]:
//!   the record beside a corrected copy, so that the same upload takes it up again.
//! - [`plan`]: step 4, the comparison with the tenant.
//! - [`run`]: step 5, the import started, paused, resumed, stopped; [`events`]: its
//!   progress pushed to the page (server-sent events).
//! - [`results`]: step 6, the results table, the results file, retry, verify, undo.
//!
//! Handlers return `Result<_, ApiError>`: a bad request is a 4xx with `{"error": "..."}`
//! holding the message the CLI prints, never a panic.

mod assets;
mod checked;
mod columns;
mod events;
mod file;
mod guard;
mod kept;
mod page;
mod plan;
mod results;
mod review;
mod run;
mod store;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;

use crate::Error;
use crate::settings::{ConsoleSettings, ImportSettings, Target};
use crate::tenant::session::{self, LocalSandbox};

pub use guard::COOKIE_PREFIX;

/// The console's shared state, one per server.
pub struct Console {
    /// The working folder (canonical): every file the console writes is in it.
    dir: PathBuf,
    /// The import every file runs with; its target is the console's sandbox with
    /// `--sandbox` (started once, for the console's life).
    import: ImportSettings,
    /// Whether the target is the console's built-in sandbox.
    sandbox: bool,
    /// The largest upload taken, in bytes.
    max_upload: u64,
    /// The token, cookie and addresses requests are checked against.
    guard: guard::Guard,
    /// The file, its columns and their review, as the steps leave them. A std mutex: never
    /// held across an `.await`.
    work: Mutex<Work>,
    /// Step 5: the run started from the page, running or ended.
    runs: run::Runs,
    /// The files of the working folder this console holds, by name: the uploads, the
    /// corrected copies it made (or found made from an upload), the mapping files it saved.
    /// A run reads no other file: a name the page sends is one of these, or refused.
    held: Mutex<std::collections::HashSet<String>>,
    /// The sandbox started for `--sandbox`, stopped when the console is dropped.
    _sandbox: Option<LocalSandbox>,
}

/// What the steps have settled so far; each step clears what follows it when it changes.
#[derive(Default)]
pub(crate) struct Work {
    /// Step 1: the uploaded file and how it is read.
    file: Option<file::Upload>,
    /// Step 2: the mapping chosen for it.
    columns: Option<columns::Chosen>,
    /// Step 3: the problems found with that mapping.
    review: Option<Arc<checked::Review>>,
    /// Step 3: the cells edited, by row index, then column.
    edits: kept::Edits,
    /// Step 3: the corrected copy the edits are written to, once there is one: the file the
    /// plan and the run read.
    corrected: Option<PathBuf>,
    /// Step 4: the plan made last.
    plan: Option<Arc<plan::Planned>>,
    /// Step 4: what the run does with organizations that exist (`--on-existing`).
    on_existing: crate::tenant::on_existing::OnExisting,
}

impl Work {
    /// The file the plan and the run read, and how: the corrected copy once a cell was
    /// edited, else the upload; `None` before a file is read.
    pub(crate) fn input(&self) -> Option<(PathBuf, crate::input::Dialect)> {
        let upload = self.file.as_ref()?;
        let (source, _) = upload.read.as_ref().ok()?;
        Some(match &self.corrected {
            Some(path) => (
                path.clone(),
                crate::input::Dialect {
                    delimiter: Some(source.delimiter()),
                    ..crate::input::Dialect::default()
                },
            ),
            None => (upload.path.clone(), upload.dialect.clone()),
        })
    }

    /// What the review and the plan check: the file as [`Work::input`] gives it, and the
    /// columns chosen in step 2.
    ///
    /// # Errors
    /// An [`ApiError`] naming the step not done yet.
    pub(crate) fn chosen(
        &self,
    ) -> Result<(PathBuf, crate::input::Dialect, crate::input::MappingSpec), ApiError> {
        let Some(columns) = &self.columns else {
            return Err(ApiError::not_yet(
                "no columns chosen yet: choose them and press Continue (step 2)",
            ));
        };
        let Some((input, dialect)) = self.input() else {
            return Err(ApiError::not_yet(
                "no file read yet: upload one first (step 1)",
            ));
        };
        Ok((input, dialect, columns.spec.clone()))
    }
}

impl Console {
    /// The work the steps have done, locked (a poisoned lock is taken as it is: every
    /// change to it is one assignment).
    pub(crate) fn work(&self) -> MutexGuard<'_, Work> {
        self.work.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records `path`, a file of the working folder, as one this console holds (an upload,
    /// a corrected copy, a mapping file it saved).
    pub(crate) fn hold(&self, path: &Path) {
        if let Some(name) = path.file_name() {
            self.held
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(name.to_string_lossy().into_owned());
        }
    }

    /// Whether the file `name` of the working folder is one this console holds.
    pub(crate) fn holds(&self, name: &str) -> bool {
        self.held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(name)
    }

    /// The working folder.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The import settings for `input` read as `dialect` says and mapped by `mapping`: the
    /// console's connection, template and rate, and the results file `import` would use
    /// for it (beside it, in the working folder).
    pub(crate) fn import_for(
        &self,
        input: &Path,
        dialect: crate::input::Dialect,
        mapping: crate::input::MappingSpec,
    ) -> ImportSettings {
        let mut settings = self.import.clone();
        settings.input = input.to_path_buf();
        settings.dialect = dialect;
        settings.mapping = mapping;
        settings.results = crate::settings::default_results_path(input, self.sandbox);
        settings.quiet = true;
        settings
    }
}

/// The URL the console prints: the page with its token.
pub fn url(port: u16, token: &str) -> String {
    format!("http://127.0.0.1:{port}/?token={token}")
}

/// Serves the console on `listener` (bound to 127.0.0.1) until `shutdown` completes.
///
/// # Errors
/// [`Error::Sandbox`] when the sandbox of `--sandbox` cannot start; [`Error::Io`] when the
/// listener fails.
pub async fn serve(
    settings: ConsoleSettings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let address = listener.local_addr().map_err(Error::Sandbox)?;
    let ConsoleSettings {
        dir,
        sandbox,
        mut import,
        token,
        max_upload,
        ..
    } = settings;
    let mut local = None;
    if sandbox || matches!(import.target, Target::Sandbox) {
        let (tenant, template, handle) = session::start_sandbox(false).await?;
        import.target = Target::Tenant(Box::new(tenant));
        import.default_template = import.default_template.or(Some(template));
        local = Some(handle);
    }
    let console = Arc::new(Console {
        dir,
        import,
        sandbox,
        max_upload,
        guard: guard::Guard::new(address.port(), token),
        work: Mutex::new(Work::default()),
        runs: run::Runs::default(),
        held: Mutex::default(),
        _sandbox: local,
    });
    // On shutdown, a run in progress is stopped and its results written (as Ctrl-C leaves
    // an import), which also ends the event streams the server would otherwise wait for.
    let closing = console.clone();
    let shutdown = async move {
        shutdown.await;
        closing.runs.close().await;
    };
    tracing::info!(%address, "console listening");
    axum::serve(listener, router(console))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| Error::io("the console's listener", e))
}

/// Every step's routes, behind the guard.
fn router(console: Arc<Console>) -> Router {
    Router::new()
        .merge(page::routes())
        .merge(assets::routes())
        .merge(file::routes())
        .merge(columns::routes())
        .merge(review::routes())
        .merge(plan::routes())
        .merge(run::routes())
        .merge(events::routes())
        .merge(results::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn(json_bodies))
        .layer(axum::middleware::from_fn_with_state(
            console.clone(),
            guard::check,
        ))
        .with_state(console)
}

/// A refused request: its status and the message (the CLI's, when the CLI would refuse the
/// same), sent as `{"error": "..."}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    /// 400, 403, 404, 409, 413 ...
    status: StatusCode,
    /// What to tell the user.
    message: String,
}

impl ApiError {
    /// A refusal with `status`.
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    /// A 400 Bad Request.
    pub(crate) fn bad(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// A 409: the step before this one is not done.
    pub(crate) fn not_yet(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, message)
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> ApiError {
        // The CLI prints the same error, whole.
        ApiError::bad(error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

/// A JSON body, refused as [`ApiError`] (JSON, the reason) when it is not one.
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(e) => Err(ApiError::new(e.status(), e.body_text())),
        }
    }
}

/// A query string, refused as [`ApiError`] when it does not fit.
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequestParts<S>
    for ApiQuery<T>
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(e) => Err(ApiError::new(e.status(), e.body_text())),
        }
    }
}

/// The largest body of a change to the API (every one is JSON), in bytes: axum's bound for
/// JSON.
const MAX_JSON_BODY: usize = 2 << 20;

/// Every `POST` to the API carries JSON or nothing: a body that is not JSON is refused before
/// the handler sees it, also by those that take no parameter (retry, verify, pause ...), so
/// that a malformed request does nothing instead of what an empty one would.
async fn json_bodies(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Result<Response, ApiError> {
    if request.method() != axum::http::Method::POST || !request.uri().path().starts_with("/api/") {
        return Ok(next.run(request).await);
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_JSON_BODY)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request's body is larger than {MAX_JSON_BODY} bytes"),
            )
        })?;
    if !bytes.is_empty()
        && let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes)
    {
        return Err(ApiError::bad(format!(
            "the request's body is not JSON: {e}"
        )));
    }
    let request = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
    Ok(next.run(request).await)
}

/// What an unknown path gets.
async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no such page: {}", uri.path()),
    )
}

/// Runs blocking engine code (file reads, checks) off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
}
