//! One connection to the tenant a command works on: the built-in sandbox when rehearsing,
//! the HTTP client, the shared token, the shared rate limiter and the 429 throttle. `import`
//! and `plan` start here from their [`Config`]; `verify`, `undo` and `token` from a
//! [`Tenant`] and a rate. Also the Ctrl-C flag and report paths those three share.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::{Quota, RateLimiter};
use tokio::sync::{oneshot, watch};
use url::Url;

use crate::api::{ApiClient, Backoff, CallError, ClientAuth, Throttle, TokenSource};
use crate::cli::RateArg;
use crate::config::{Config, Target, Tenant, quota};
use crate::sandbox::{Sandbox, SandboxConfig};
use crate::{Error, RowError};

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

/// The stop signal: set by Ctrl-C or a fatal error; no new request is started once it is
/// set, and the requests in flight finish.
pub struct Stop {
    /// `true` once sending must stop; a watch channel so that waiting cannot miss it.
    stopped: watch::Sender<bool>,
    /// The fatal error that stopped the run, if any (the first one wins). A std mutex: it is
    /// never held across an await.
    fatal: Mutex<Option<Error>>,
}

impl Default for Stop {
    fn default() -> Self {
        Stop {
            stopped: watch::channel(false).0,
            fatal: Mutex::new(None),
        }
    }
}

impl Stop {
    /// A signal not yet set.
    pub fn new() -> Self {
        Stop::default()
    }

    /// Whether the signal is set.
    pub fn is_set(&self) -> bool {
        *self.stopped.borrow()
    }

    /// Sets the signal.
    pub fn set(&self) {
        self.stopped.send_replace(true);
    }

    /// Completes once the signal is set.
    pub async fn wait(&self) {
        let mut rx = self.stopped.subscribe();
        let _ = rx.wait_for(|stopped| *stopped).await;
    }

    /// Sets the signal for `error`, which [`Stop::take_fatal`] then returns.
    pub fn fatal(&self, error: Error) {
        let mut fatal = self.fatal.lock().unwrap_or_else(|e| e.into_inner());
        if fatal.is_none() {
            *fatal = Some(error);
        }
        drop(fatal);
        self.set();
    }

    /// The fatal error that set the signal, if one did.
    pub fn take_fatal(&self) -> Option<Error> {
        self.fatal.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// After a failed attempt of one row's request (`what`, e.g. "a create", for the log):
    /// `Ok` once it is time to try again, after the backoff; the row's status and error when
    /// it must give up instead (the error cannot pass, the attempts ran out, or the signal is
    /// set, also while waiting).
    pub async fn retry_after(
        &self,
        backoff: &mut Backoff,
        error: CallError,
        attempts: u32,
        max_attempts: u32,
        what: &str,
        name: &str,
    ) -> Result<(), (Option<u16>, RowError)> {
        let status = error.status();
        if !error.is_retryable() || attempts >= max_attempts || self.is_set() {
            return Err((status, error.into_final_row_error(attempts, max_attempts)));
        }
        let wait = backoff.after(&error);
        tracing::info!(
            name,
            attempt = attempts,
            ?wait,
            "retrying {what} after: {}",
            error.clone_row_error()
        );
        tokio::select! {
            _ = tokio::time::sleep(wait) => Ok(()),
            _ = self.wait() => Err((status, error.into_row_error())),
        }
    }

    /// The first Ctrl-C prints `first` and sets the signal; a second prints `again` (if
    /// any) and ends the process at once with exit code 130.
    pub fn on_ctrl_c(self: &Arc<Self>, first: &'static str, again: Option<&'static str>) {
        let stop = self.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("{first}");
                stop.set();
            }
            if tokio::signal::ctrl_c().await.is_ok() {
                if let Some(again) = again {
                    eprintln!("{again}");
                }
                std::process::exit(130);
            }
        });
    }
}

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
