//! One connection to the tenant a command works on: the built-in sandbox when rehearsing,
//! the HTTP client, the shared token and the shared throttle (the pace, slowed on 429). `import`
//! and `plan` start here from their [`ImportSettings`]; `verify`, `undo` and `token` from a
//! [`Tenant`] and a rate. Also what those say on Ctrl-C.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use url::Url;

use crate::Error;
use crate::api::{ApiClient, ClientAuth, Throttle, TokenSource, http_client, name_proxies};
use crate::rate::RateSetting;
use crate::sandbox::{Sandbox, SandboxConfig};
use crate::settings::{ImportSettings, Target, Tenant};
use crate::stop::Stop;

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
pub(crate) struct LocalSandbox {
    _shutdown: oneshot::Sender<()>,
}

/// Starts the sandbox if `config` asks for it, and sets up the HTTP client, the token source,
/// and the throttle. Nothing is sent yet.
///
/// # Errors
/// [`Error::Sandbox`] when the sandbox cannot listen; [`Error::Config`] when HTTP cannot be
/// set up.
pub(crate) async fn connect(config: &ImportSettings) -> Result<Session, Error> {
    connect_to(&config.target, config, config.quiet).await
}

/// As [`connect`], to `target` rather than the one `config` names (a dry run's reads go to
/// the tenant its settings name, though it never sends); `quiet` keeps a sandbox started
/// for it from saying so.
///
/// # Errors
/// As [`connect`].
pub(crate) async fn connect_to(
    target: &Target,
    config: &ImportSettings,
    quiet: bool,
) -> Result<Session, Error> {
    let (tenant, default_template, sandbox) = match target {
        Target::Tenant(t) => ((**t).clone(), config.default_template.clone(), None),
        Target::Sandbox => {
            let (tenant, template, sandbox) = start_sandbox(quiet).await?;
            let template = config.default_template.clone().or(Some(template));
            (tenant, template, Some(sandbox))
        }
    };
    let (client, tokens) = build_client(
        &tenant,
        config.timeout,
        config.concurrency.get(),
        config.rate,
        config.burst,
    )?;
    Ok(Session {
        tenant,
        default_template,
        client,
        tokens,
        _sandbox: sandbox,
    })
}

/// Starts the sandbox on a free port of 127.0.0.1 for `--sandbox` (an import's, or the
/// console's for its whole life); returns the tenant
/// settings that reach it and its template id.
pub(crate) async fn start_sandbox(quiet: bool) -> Result<(Tenant, String, LocalSandbox), Error> {
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
pub(crate) fn connect_tenant(
    tenant: &Tenant,
    rate: RateSetting,
    timeout: Duration,
) -> Result<(ApiClient, TokenSource), Error> {
    build_client(
        tenant,
        timeout,
        usize::MAX,
        rate,
        RateSetting::DEFAULT_BURST,
    )
}

/// The HTTP client, token source and throttle every command reaches a tenant through.
fn build_client(
    tenant: &Tenant,
    timeout: Duration,
    idle_connections: usize,
    rate: RateSetting,
    burst: NonZeroU32,
) -> Result<(ApiClient, TokenSource), Error> {
    let http = http_client(timeout, idle_connections)?;
    name_proxies(&[&tenant.credentials.token_url, &tenant.base_url]);
    let tokens = TokenSource::new(http.clone(), tenant.credentials.clone());
    let client = ApiClient::new(
        http,
        &tenant.base_url,
        &tenant.tenant,
        tokens.clone(),
        Arc::new(Throttle::new(rate, burst)),
    );
    Ok((client, tokens))
}

/// The stop signal of a `verify` or `undo` run from the command line: set by the first Ctrl-C,
/// which says [`INTERRUPTED_REPORT`].
pub(crate) fn stop_on_ctrl_c() -> Arc<Stop> {
    let stop = Arc::new(Stop::new());
    stop.on_ctrl_c(INTERRUPTED_REPORT, None);
    stop
}

/// What `verify` and `undo` say on the first Ctrl-C.
pub(crate) const INTERRUPTED_REPORT: &str = "interrupted: finishing the requests in flight, then \
     writing the report (Ctrl-C again to quit at once, without a report)";
