//! One connection to the tenant a command works on: the built-in sandbox when rehearsing,
//! the HTTP client, the shared token, the shared rate limiter and the 429 throttle. `import`
//! and `plan` start here from their [`Config`]; `verify`, `undo` and `token` from a
//! [`Tenant`] and a rate. Also the Ctrl-C flag and report paths those three share.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use governor::{Quota, RateLimiter};
use tokio::sync::oneshot;
use url::Url;

use crate::Error;
use crate::api::{ApiClient, ClientAuth, Throttle, TokenSource};
use crate::cli::RateArg;
use crate::sandbox::{Sandbox, SandboxConfig};
use crate::settings::{Config, Target, Tenant, quota};

/// A connection to the tenant; a sandbox started for it stops when this is dropped.
pub struct Session {
    /// Where the organizations are.
    pub tenant: Tenant,
    /// The template for rows that name none (the sandbox's own when rehearsing without one).
    pub default_template: Option<String>,
    /// The organizations API, through the shared limiter and token.
    pub client: ApiClient,
    /// The shared token.
    pub tokens: TokenSource,
    /// The sandbox started for `--sandbox`, if any.
    _sandbox: Option<LocalSandbox>,
}

/// The sandbox started for `--sandbox`, stopped when dropped.
struct LocalSandbox {
    _shutdown: oneshot::Sender<()>,
}

/// Starts the sandbox if `config` asks for it, and sets up the HTTP client, the token source,
/// the limiter and the throttle. Nothing is sent yet.
///
/// # Errors
/// [`Error::Sandbox`] when the sandbox cannot listen; [`Error::Config`] when HTTP cannot be
/// set up.
pub async fn connect(config: &Config) -> Result<Session, Error> {
    let (tenant, default_template, sandbox) = match &config.target {
        Target::Tenant(t) => ((**t).clone(), config.default_template.clone(), None),
        Target::Sandbox => {
            let (tenant, template, sandbox) = start_sandbox(config.quiet).await?;
            let template = config.default_template.clone().or(Some(template));
            (tenant, template, Some(sandbox))
        }
    };
    let (client, tokens) = build_client(
        &tenant,
        config.timeout,
        config.concurrency.get(),
        config.quota,
        config.rate_per_second,
    )?;
    Ok(Session {
        tenant,
        default_template,
        client,
        tokens,
        _sandbox: sandbox,
    })
}

/// Starts the sandbox on a free port of 127.0.0.1 for `--sandbox`; returns the tenant
/// settings that reach it and its template id.
async fn start_sandbox(quiet: bool) -> Result<(Tenant, String, LocalSandbox), Error> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(Error::Sandbox)?;
    let address = listener.local_addr().map_err(Error::Sandbox)?;
    let config = SandboxConfig::default();
    let sandbox = Sandbox::new(config);
    let config = sandbox.config();
    let base_url = Url::parse(&format!("http://{address}")).expect("a socket address makes a URL");
    let tenant = Tenant::new(
        base_url,
        &config.tenant,
        &config.client_id,
        config.client_secret.clone(),
        &config.allowed_scopes[0],
        ClientAuth::Post,
    );
    let template = config.template_id.clone();
    if !quiet {
        eprintln!(
            "sandbox: serving tenant {:?} at http://{address} (template {template:?}); \
             it lives only as long as this run",
            config.tenant
        );
    }
    let (shutdown, stopped) = oneshot::channel::<()>();
    tokio::spawn(sandbox.clone().serve(listener, async {
        let _ = stopped.await;
    }));
    Ok((
        tenant,
        template,
        LocalSandbox {
            _shutdown: shutdown,
        },
    ))
}

/// An API client for `tenant` at `rate`, and its token source.
///
/// # Errors
/// [`Error::Config`] when the HTTP client cannot be built.
pub fn connect_tenant(
    tenant: &Tenant,
    rate: RateArg,
    timeout: Duration,
) -> Result<(ApiClient, TokenSource), Error> {
    let burst =
        NonZeroU32::new((rate.per_second() / 10.0).ceil() as u32).unwrap_or(NonZeroU32::MIN);
    build_client(
        tenant,
        timeout,
        usize::MAX,
        quota(rate, burst),
        rate.per_second(),
    )
}

/// The HTTP client, token source, limiter and throttle every command reaches a tenant through.
fn build_client(
    tenant: &Tenant,
    timeout: Duration,
    idle_connections: usize,
    quota: Quota,
    rate_per_second: f64,
) -> Result<(ApiClient, TokenSource), Error> {
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .pool_max_idle_per_host(idle_connections)
        .user_agent(concat!("orgimport/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Config(format!("cannot set up HTTP: {e}")))?;
    let tokens = TokenSource::new(http.clone(), tenant.credentials.clone());
    let client = ApiClient::new(
        http,
        &tenant.base_url,
        &tenant.tenant,
        tokens.clone(),
        Arc::new(RateLimiter::direct(quota)),
        Arc::new(Throttle::new(rate_per_second)),
    );
    Ok((client, tokens))
}

/// The exit code of `verify` and `undo`: 1 when a row went wrong, else 130 after Ctrl-C,
/// else 0.
pub fn report_exit_code(any_wrong: bool, interrupted: bool) -> u8 {
    if any_wrong {
        1
    } else if interrupted {
        130
    } else {
        0
    }
}

/// What `verify` and `undo` say on the first Ctrl-C.
pub const INTERRUPTED_REPORT: &str = "interrupted: finishing the requests in flight, then \
     writing the report (Ctrl-C again to quit at once, without a report)";

/// `customers.results.csv` -> `customers.{what}.csv` beside it (else `<stem>.{what}.csv`).
pub fn report_path(results: &Path, what: &str) -> PathBuf {
    let name = results
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name
        .strip_suffix(".results.csv")
        .map(str::to_string)
        .unwrap_or_else(|| {
            results
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "results".into())
        });
    results.with_file_name(format!("{stem}.{what}.csv"))
}
