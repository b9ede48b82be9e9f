//! Shared helpers for the integration tests.

use std::time::Duration;

use orgimport::sandbox::{Sandbox, SandboxConfig};
use secrecy::ExposeSecret;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A sandbox served on 127.0.0.1 for one test; stopped when dropped.
pub struct TestSandbox {
    /// The sandbox itself, to inspect its organizations, commits and stats.
    pub sandbox: Sandbox,
    /// `http://127.0.0.1:{port}`, the base URL of both the token endpoint and the API.
    pub base_url: String,
    /// A client for the test's own requests (no proxy, short timeout).
    pub client: reqwest::Client,
    /// Fires the graceful shutdown.
    shutdown: Option<oneshot::Sender<()>>,
    /// The serving task.
    task: Option<JoinHandle<std::io::Result<()>>>,
}

/// Starts a sandbox with this configuration on a free port of 127.0.0.1.
pub async fn start_sandbox(config: SandboxConfig) -> TestSandbox {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    let sandbox = Sandbox::new(config);
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(sandbox.clone().serve(listener, async {
        let _ = rx.await;
    }));
    TestSandbox {
        sandbox,
        base_url: format!("http://{addr}"),
        client: client(),
        shutdown: Some(tx),
        task: Some(task),
    }
}

/// A reqwest client for talking to a local sandbox.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("reqwest client")
}

impl TestSandbox {
    /// The client secret the sandbox accepts.
    pub fn secret(&self) -> String {
        self.sandbox
            .config()
            .client_secret
            .expose_secret()
            .to_string()
    }

    /// The flags that reach this sandbox's tenant as its client, the client secret read from
    /// `secret_file`.
    pub fn connection_args(&self, secret_file: &std::path::Path) -> Vec<String> {
        let c = self.sandbox.config();
        [
            "--base-url",
            &self.base_url,
            "--tenant",
            &c.tenant,
            "--client-id",
            &c.client_id,
            "--client-secret-file",
            secret_file.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    /// [`TestSandbox::connection_args`] and the sandbox's template: what an import's (or a
    /// console's) command line in a test takes.
    pub fn tenant_args(&self, secret_file: &std::path::Path) -> Vec<String> {
        let mut args = self.connection_args(secret_file);
        let template = self.sandbox.config().template_id.clone();
        args.extend(["--template-id".to_string(), template]);
        args
    }

    /// The tenant's token endpoint.
    pub fn token_url(&self) -> String {
        format!(
            "{}/{}/system/oauth2/token",
            self.base_url,
            self.sandbox.config().tenant
        )
    }

    /// How a results file names this sandbox's tenant (its `tenant` cells).
    pub fn tenant_mark(&self) -> String {
        let base = url::Url::parse(&self.base_url).unwrap();
        orgimport::record::TenantMark::tenant(&base, &self.sandbox.config().tenant).to_string()
    }

    /// The first line of a journal this build writes for a run against this sandbox.
    pub fn journal_header(&self) -> String {
        format!(
            "key,status,org_id,http_status,attempts,error,changes,tenant: {}\n",
            self.tenant_mark()
        )
    }

    /// The tenant's organizations collection.
    pub fn orgs_url(&self) -> String {
        format!(
            "{}/api/system/{}/organizations",
            self.base_url,
            self.sandbox.config().tenant
        )
    }

    /// One organization's URL.
    pub fn org_url(&self, id: &str) -> String {
        format!("{}/{id}", self.orgs_url())
    }

    /// A fresh access token, fetched with client_secret_post and the default scope.
    pub async fn token(&self) -> String {
        let config = self.sandbox.config();
        let res = self
            .client
            .post(self.token_url())
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", config.client_id.as_str()),
                ("client_secret", config.client_secret.expose_secret()),
            ])
            .send()
            .await
            .expect("token request");
        assert_eq!(res.status(), 200, "token request failed");
        let body: Value = res.json().await.expect("token JSON");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// POSTs a create with a bearer token.
    pub async fn create(&self, token: &str, body: &Value) -> reqwest::Result<reqwest::Response> {
        self.client
            .post(self.orgs_url())
            .bearer_auth(token)
            .json(body)
            .send()
            .await
    }

    /// Stops serving (graceful) and waits until the server has returned.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("sandbox task").expect("sandbox serve");
        }
    }
}

impl Drop for TestSandbox {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// How long a test waits for a run to reach the point it waits for before it fails.
pub const WAIT_LIMIT: Duration = Duration::from_secs(60);

/// Polls `reached` until it holds, while `child` runs: fails the test when the process ends
/// first, or when [`WAIT_LIMIT`] passes (a run stuck or too slow never hangs the suite).
pub fn wait_while_running(
    what: &str,
    child: &mut std::process::Child,
    mut reached: impl FnMut() -> bool,
) {
    let started = std::time::Instant::now();
    while !reached() {
        if let Some(status) = child.try_wait().expect("the child's status") {
            panic!("{what}: the process ended ({status}) before that");
        }
        assert!(
            started.elapsed() < WAIT_LIMIT,
            "{what}: not within {WAIT_LIMIT:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Polls `reached` until it holds, while `task` runs: fails the test when the task ends first,
/// or when [`WAIT_LIMIT`] passes.
pub async fn wait_while_task<T>(
    what: &str,
    task: &JoinHandle<T>,
    mut reached: impl FnMut() -> bool,
) {
    let started = std::time::Instant::now();
    while !reached() {
        assert!(!task.is_finished(), "{what}: the run ended before that");
        assert!(
            started.elapsed() < WAIT_LIMIT,
            "{what}: not within {WAIT_LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
