//! The console (`orgimport console`) over real HTTP: a console served on a port-0 listener of
//! 127.0.0.1 with `--sandbox`, driven with reqwest as its page's script drives it.

mod columns;
mod file;
mod guard;
mod plan;
mod resume;
mod review;
mod run;
mod secrets;

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use orgimport::cli::Cli;
use orgimport::settings::{ConsoleSettings, Environment, Settings};
use reqwest::header::{COOKIE, HOST, ORIGIN, SET_COOKIE};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A console for one test, on the sandbox, working in a temporary folder; stopped when
/// dropped.
pub struct TestConsole {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The port served.
    pub port: u16,
    /// The token of its URL.
    pub token: String,
    /// Its working folder.
    pub dir: TempDir,
    /// A client that follows no redirect and uses no proxy.
    pub client: reqwest::Client,
    /// `name=value` of the cookie, once [`TestConsole::login`] got it.
    pub cookie: Option<String>,
    /// Stops the console.
    _shutdown: oneshot::Sender<()>,
}

/// The console settings of `orgimport console ARGS` (with `--dir` set to `dir`).
pub fn settings(dir: &Path, args: &[&str]) -> ConsoleSettings {
    let mut line = vec!["orgimport", "console", "--dir", dir.to_str().unwrap()];
    line.extend_from_slice(args);
    match Settings::resolve(Cli::try_parse_from(line).unwrap(), Environment::default()) {
        Ok(Settings::Console(settings)) => settings,
        other => panic!("not a console: {other:?}"),
    }
}

/// The settings of a console in `dir` against `sandbox` (its tenant, client and template,
/// the client secret read from `secret_file`), with `extra` flags.
pub(crate) fn sandbox_settings(
    sandbox: &crate::util::TestSandbox,
    dir: &Path,
    secret_file: &Path,
    extra: &[&str],
) -> ConsoleSettings {
    let tenant = sandbox.tenant_args(secret_file);
    let mut args: Vec<&str> = tenant.iter().map(String::as_str).collect();
    args.extend_from_slice(extra);
    settings(dir, &args)
}

/// The command line of `orgimport import INPUT` against `sandbox` (its tenant, client and
/// template, the client secret read from `secret_file`), to which a test adds its flags.
pub(crate) fn cli_import_args(
    sandbox: &crate::util::TestSandbox,
    input: &Path,
    secret_file: &Path,
) -> Vec<String> {
    let mut args = vec![
        "orgimport".into(),
        "import".into(),
        input.display().to_string(),
    ];
    args.extend(sandbox.tenant_args(secret_file));
    args
}

/// Serves a console of `settings` on a free port of 127.0.0.1: the port, the sender whose
/// drop stops it, and the task serving it.
pub(crate) async fn serve(
    settings: ConsoleSettings,
) -> (
    u16,
    oneshot::Sender<()>,
    JoinHandle<Result<(), orgimport::Error>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(orgimport::console::serve(settings, listener, async {
        let _ = rx.await;
    }));
    (port, tx, server)
}

impl TestConsole {
    /// The console of `settings`, served in `dir` ([`serve`]), not logged in; with the task
    /// serving it.
    pub(crate) async fn serve(
        settings: ConsoleSettings,
        dir: TempDir,
    ) -> (TestConsole, JoinHandle<Result<(), orgimport::Error>>) {
        let token = settings.token.clone();
        let (port, shutdown, server) = serve(settings).await;
        let console = TestConsole {
            base: format!("http://127.0.0.1:{port}"),
            port,
            token,
            dir,
            client: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            cookie: None,
            _shutdown: shutdown,
        };
        (console, server)
    }
}

/// Starts a console with `--sandbox` (and `change` applied to its settings), not logged in.
pub async fn start_with(change: impl FnOnce(&mut ConsoleSettings)) -> TestConsole {
    start_args(&["--sandbox"], change).await
}

/// Starts a console with `args` (and `change` applied to its settings), not logged in.
pub async fn start_args(args: &[&str], change: impl FnOnce(&mut ConsoleSettings)) -> TestConsole {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings(dir.path(), args);
    change(&mut settings);
    TestConsole::serve(settings, dir).await.0
}

/// Starts a console with `--sandbox` and opens its URL, as a browser does.
pub async fn start() -> TestConsole {
    let mut console = start_with(|_| {}).await;
    console.login().await;
    console
}

impl TestConsole {
    /// Opens the printed URL: the token is exchanged for the cookie, kept for later requests.
    pub async fn login(&mut self) {
        let reply = self
            .client
            .get(format!("{}/?token={}", self.base, self.token))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::SEE_OTHER);
        let set = reply.headers()[SET_COOKIE].to_str().unwrap().to_string();
        self.cookie = Some(set.split(';').next().unwrap().to_string());
    }

    /// A request to `path` as the page makes it: the cookie, and for a change its Origin.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, cookie);
        }
        if method != Method::GET {
            request = request.header(ORIGIN, &self.base);
        }
        request
    }

    /// GET `path`, as the page.
    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path).send().await.unwrap()
    }

    /// GET `path` as JSON, asserting a 200.
    pub async fn get_json(&self, path: &str) -> Value {
        ok_json(self.get(path).await).await
    }

    /// POST `body` as JSON to `path`, as the page.
    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.request(Method::POST, path)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Uploads `csv` as `name` and saves the columns as suggested.
    pub async fn upload_and_map(&self, name: &str, csv: &str) -> Value {
        ok_json(self.upload(name, csv.as_bytes().to_vec()).await).await;
        let columns = self.get_json("/api/columns").await;
        let choices: Vec<Value> = columns["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["choice"].clone())
            .collect();
        ok_json(
            self.post_json("/api/columns", &serde_json::json!({ "choices": choices }))
                .await,
        )
        .await
    }

    /// PUT the file at `path` to the upload endpoint under `name`.
    pub async fn upload(&self, name: &str, bytes: Vec<u8>) -> Response {
        self.request(Method::PUT, "/api/file")
            .query(&[("name", name)])
            .body(bytes)
            .send()
            .await
            .unwrap()
    }

    /// A request with the Host header set to `host`.
    pub fn with_host(&self, method: Method, path: &str, host: &str) -> RequestBuilder {
        self.request(method, path).header(HOST, host)
    }

    /// The working folder's files (names), sorted.
    pub fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// A path in the working folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// The JSON body of a 200 reply (the body printed when it is not a 200).
pub async fn ok_json(reply: Response) -> Value {
    let status = reply.status();
    let text = reply.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// The `error` of a refusal, asserting its status.
pub async fn refused(reply: Response, status: StatusCode) -> String {
    let got = reply.status();
    let text = reply.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    body["error"].as_str().unwrap().to_string()
}
