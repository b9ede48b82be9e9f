//! The sandbox: an in-process emulator of the SecureAuth Connect System API (OAuth2 token and
//! organizations), with fault injection, for rehearsals and for every test.
//!
//! It follows `API.md`: the token endpoint `POST /{tenant}/system/oauth2/token` and its
//! discovery document, and `/api/system/{tenant}/organizations` (create, get, list, delete).
//! Where the vendor publishes nothing, each file's docs say what the sandbox chose.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use orgimport::sandbox::{Sandbox, SandboxConfig};
//! let sandbox = Sandbox::new(SandboxConfig::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! sandbox.clone().serve(listener, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```
//!
//! # Layout
//! - [`config`](SandboxConfig): tenant, client, limits and [`Faults`].
//! - `router`: paths, layers, `/_sandbox` inspection.
//! - `gate`: what every `/api` request passes: rate limit, burst faults, tenant, token.
//! - `limit`: the rate limit (governor or a strict token bucket) and its headers.
//! - `token`: the OAuth2 token endpoint and bearer checks.
//! - `organizations`: the organization handlers, idempotent replays, create faults.
//! - `model`: the stored [`Organization`] and the create request's validation.
//! - `store`: organizations, commit counts and remembered replies under one lock.
//! - `faults`: seeded fault dice, latency, the dropped connection.
//! - `delay`: precise sleeps for the latency fault (tokio's timer rounds up to milliseconds).
//! - `reply`: the error bodies and the error codes chosen.
//! - `stats`: the counters behind [`Stats`].

mod config;
mod delay;
mod faults;
mod gate;
mod limit;
mod model;
mod once;
mod organizations;
mod reply;
mod router;
mod stats;
mod store;
mod token;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::http::{HeaderMap, header};
use rand::Rng;
use tokio::net::TcpListener;

pub use config::{Faults, HeaderStyle, RateLimit, RateLimitMode, SandboxConfig};
pub use model::{AuthenticationMechanism, Metadata, Organization};
pub use stats::Stats;

use delay::Delays;
use faults::Dice;
use limit::Limiter;
use limit::in_flight::InFlight;
use stats::Counters;
use store::{ExpiringMap, Store};

/// A running sandbox's state; cheap to clone, every clone sees the same organizations.
#[derive(Clone)]
pub struct Sandbox {
    /// The state shared by every handler and every clone.
    shared: Arc<Shared>,
}

/// Everything the handlers share.
struct Shared {
    /// The configuration the sandbox started with.
    config: SandboxConfig,
    /// Organizations, commit counts, remembered replies. A std Mutex: never held across
    /// `.await`.
    store: Mutex<Store>,
    /// Issued access tokens with their scopes. A std Mutex: never held across `.await`.
    tokens: Mutex<ExpiringMap<Vec<String>>>,
    /// Request and outcome counters.
    counters: Counters,
    /// The tenant's rate limit over every `/api` request (or its creates and updates), if
    /// configured.
    limiter: Option<Limiter>,
    /// The tenant's concurrency limit over every `/api` request, if configured.
    in_flight: Option<InFlight>,
    /// When each `/api` request arrived, with `record_arrivals`. A std Mutex: never held
    /// across `.await`.
    arrivals: Mutex<Vec<std::time::Instant>>,
    /// Fault decisions.
    dice: Dice,
    /// The k-th request of each kind that fails once, with `fail_once_at`.
    once: Option<once::Once>,
    /// Precise sleeps for the latency fault.
    delays: Delays,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("config", &self.shared.config)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// A sandbox with the template organization `config.template_id` seeded.
    pub fn new(config: SandboxConfig) -> Sandbox {
        let mut store = Store::default();
        store.insert(Organization::seed_template(&config.template_id));
        let shared = Shared {
            limiter: Limiter::of(&config),
            in_flight: config.concurrency_limit.map(InFlight::new),
            arrivals: Mutex::new(Vec::new()),
            dice: Dice::new(config.faults.clone()),
            once: config.faults.fail_once_at.map(once::Once::new),
            delays: Delays::start(
                !config.faults.latency.is_zero() || !config.faults.latency_jitter.is_zero(),
            ),
            store: Mutex::new(store),
            tokens: Mutex::new(ExpiringMap::default()),
            counters: Counters::default(),
            config,
        };
        Sandbox {
            shared: Arc::new(shared),
        }
    }

    /// The sandbox's HTTP router, to serve or to call in-process.
    pub fn router(&self) -> Router {
        router::router(self)
    }

    /// Serves on a bound listener until `shutdown` completes, then finishes the requests in
    /// flight and returns.
    ///
    /// Errors: only if the listener's address cannot be read.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let addr = listener.local_addr()?;
        tracing::info!(%addr, tenant = %self.shared.config.tenant, "sandbox listening");
        axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await
    }

    /// The configuration, so a caller can print the tenant and the client credentials.
    pub fn config(&self) -> &SandboxConfig {
        &self.shared.config
    }

    /// The shell lines that point orgimport at this sandbox when it listens on `address`.
    /// With `with_secret` they hold the sandbox's own generated secret, which guards nothing but
    /// this sandbox; without it (a secret the user gave) a comment says where it comes from.
    pub fn shell_exports(&self, address: std::net::SocketAddr, with_secret: bool) -> String {
        use secrecy::ExposeSecret;
        let c = self.config();
        let secret = if with_secret {
            format!(
                "export ORGIMPORT_CLIENT_SECRET={}",
                c.client_secret.expose_secret()
            )
        } else {
            "# ORGIMPORT_CLIENT_SECRET: the secret you gave the sandbox (not printed)".to_owned()
        };
        format!(
            "export ORGIMPORT_BASE_URL=http://{address}\n\
             export ORGIMPORT_TENANT={}\n\
             export ORGIMPORT_CLIENT_ID={}\n\
             {secret}\n\
             export ORGIMPORT_TEMPLATE_ID={}\n",
            c.tenant, c.client_id, c.template_id
        )
    }

    /// The counters now.
    pub fn stats(&self) -> Stats {
        let organizations = lock(&self.shared.store).non_templates();
        let mut stats = self.shared.counters.snapshot(organizations);
        stats.failed_once = self
            .shared
            .once
            .as_ref()
            .map_or_else(Vec::new, |o| o.failed());
        stats
    }

    /// When each `/api` request arrived, in order, with
    /// [`SandboxConfig::record_arrivals`]; else nothing.
    pub fn arrivals(&self) -> Vec<std::time::Instant> {
        lock(&self.shared.arrivals).clone()
    }

    /// Every organization now, templates included (flagged `template`), in id order.
    pub fn organizations(&self) -> Vec<Organization> {
        lock(&self.shared.store).after(None).cloned().collect()
    }

    /// The organization with this id, if it exists.
    pub fn organization(&self, id: &str) -> Option<Organization> {
        lock(&self.shared.store).get(id).cloned()
    }

    /// How many creates committed each id (deleted organizations included).
    pub fn commits_by_id(&self) -> HashMap<String, u64> {
        lock(&self.shared.store).commits_by_id().clone()
    }

    /// How many creates committed each name: above 1 means duplicate organizations.
    pub fn commits_by_name(&self) -> HashMap<String, u64> {
        lock(&self.shared.store).commits_by_name().clone()
    }

    /// Adds (or replaces) an organization without counting a commit, e.g. one that existed
    /// before an import. Its parent's child count follows.
    pub fn insert_organization(&self, org: Organization) {
        lock(&self.shared.store).insert(org);
    }

    /// Adds many organizations at once without counting commits, e.g. a large tenant to
    /// measure listing against. Child counts follow.
    pub fn insert_organizations(&self, orgs: impl IntoIterator<Item = Organization>) {
        lock(&self.shared.store).insert_many(orgs);
    }
}

/// Locks a mutex, going on with the data if a panicking thread poisoned it (every critical
/// section leaves the data consistent before anything can panic).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `bytes` random bytes as lowercase hex.
fn random_hex(bytes: usize) -> String {
    let mut rng = rand::rng();
    let mut hex = String::with_capacity(bytes * 2);
    for _ in 0..bytes {
        let _ = write!(hex, "{:02x}", rng.random::<u8>());
    }
    hex
}

/// `http://{Host}` of a request, for absolute URLs; `http://localhost` without a usable Host.
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or("localhost");
    format!("http://{host}")
}
