//! What a sandbox is told at start: its tenant and client, token lifetime, rate limit and faults.

use std::num::NonZeroU32;
use std::time::Duration;

use rand::Rng;
use rand::distr::Alphanumeric;
use secrecy::SecretString;

/// Everything a [`Sandbox`](super::Sandbox) needs to start.
///
/// `Default` gives tenant `demo`, a fresh random client and no limits or faults. `Debug` never
/// shows the client secret.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// The tenant id, the `{tenant}` in every URL; other tenants answer 404.
    pub tenant: String,
    /// The one OAuth2 client allowed to get tokens.
    pub client_id: String,
    /// That client's secret, checked by both client_secret_post and client_secret_basic.
    pub client_secret: SecretString,
    /// Scopes the client may request. A token request without `scope` is granted the first one.
    pub allowed_scopes: Vec<String>,
    /// How long an issued token is accepted; `expires_in` says it in whole seconds, rounded
    /// down.
    pub token_lifetime: Duration,
    /// Send `expires_in` as a string (`"3600"`, as the product doc shows) instead of an integer
    /// (as the vendor's OpenAPI spec declares).
    pub expires_in_as_string: bool,
    /// The per-tenant rate limit over every `/api` request; `None` is unlimited.
    pub rate_limit: Option<RateLimit>,
    /// How the rate limit counts: governor's GCRA (the default), a strict token bucket, or
    /// fixed windows (that may block when exceeded).
    pub rate_limit_mode: RateLimitMode,
    /// The length of a fixed window ([`RateLimitMode::Window`],
    /// [`RateLimitMode::BlockingWindow`]): the allowance per window is the rate times this,
    /// in whole requests.
    pub rate_limit_window: Duration,
    /// Changes of the limit's rate while the sandbox runs, as when another client starts
    /// sharing the tenant's budget: from each time after start (in order), the rate is that
    /// many requests a second. The burst stays.
    pub rate_limit_schedule: Vec<(Duration, NonZeroU32)>,
    /// Count only creates and updates against the rate limit, as per-endpoint limits do;
    /// by default look-ups, list pages and deletes share the same limit.
    pub rate_limit_writes_only: bool,
    /// Send rate-limit headers with every `/api` reply, as gateways do (nothing without a
    /// `rate_limit`).
    pub rate_limit_headers: bool,
    /// Which rate-limit headers: both common forms (the default), or one of the styles.
    pub rate_limit_header_style: HeaderStyle,
    /// At most this many `/api` requests in flight (replies' latency included); one more is
    /// answered 429, as Okta's concurrency limit does.
    pub concurrency_limit: Option<NonZeroU32>,
    /// Keep when each `/api` request arrived ([`Sandbox::arrivals`](super::Sandbox::arrivals)),
    /// for a test to check the pace a server sees.
    pub record_arrivals: bool,
    /// Id of the template organization seeded at start.
    pub template_id: String,
    /// Failures to inject; the default injects none.
    pub faults: Faults,
    /// Ignore `X-Idempotency-Key`, as a server that does not implement it would: a resent
    /// create is a new create, never a replay. The vendor's product doc does not mention the
    /// header, so a client must not rely on it; this is the harsher server to test against.
    pub ignore_idempotency_keys: bool,
    /// Give every new organization an id of the sandbox's choosing, whatever id the create
    /// asks for, as a server that assigns its own ids would: the 201 then names another id
    /// than the one asked for (and no create is refused with 409 for a taken id).
    pub assign_own_ids: bool,
    /// Answer every create after the first committed one with that first organization (201,
    /// its body, no replay header) and commit nothing, as a gateway that replays one cached
    /// reply would: a client must not record one organization for two rows.
    pub same_id_for_every_create: bool,
    /// Quote the whole request in every error reply, as a misconfigured gateway does: the
    /// token endpoint's `error_description` shows the form body (`client_secret` and all),
    /// every header (the Basic credentials) and those decoded; the System API's `error` and
    /// `details.request` show every header (the bearer token) and the body, and its 5xx
    /// replies become a plain-text gateway page that dumps the request. A client must repeat
    /// none of it.
    pub echo_requests_in_errors: bool,
    /// Send no `ETag` header and ignore `If-Match`, as a server without optimistic
    /// concurrency would: an update then overwrites whatever the organization holds.
    pub no_etags: bool,
    /// Write every unset string of an organization as `""` rather than leave it out or send
    /// `null`, as the product doc's example reply does: a root's `parent_id` and every
    /// `theme_id` are `""`. A client must read `""` as none.
    pub unset_strings_as_empty: bool,
    /// Organizations that someone else edits just before each `PUT` to them is checked (their
    /// description gains ` (edited by someone else)` and a new `ETag`), as an administrator
    /// working in the console at the same time would: an update that was computed from an
    /// earlier read must not overwrite that edit.
    pub edit_before_update: Vec<String>,
    /// Organizations that someone else edits each time a list page holding them has been
    /// served, as above: an update computed from the listing must not overwrite that edit.
    pub edit_after_listing: Vec<String>,
    /// Answer every update (`PUT`) 501 Not Implemented with an HTML page, as a web server in
    /// front of an API without updates does: a client must not retry it, nor paste the page.
    pub updates_not_implemented: bool,
}

impl Default for SandboxConfig {
    fn default() -> SandboxConfig {
        let mut rng = rand::rng();
        let client_id = format!("sandbox-{:08x}", rng.random::<u32>());
        let secret: String = (&mut rng)
            .sample_iter(Alphanumeric)
            .take(32)
            .map(char::from)
            .collect();
        SandboxConfig {
            tenant: "demo".to_owned(),
            client_id,
            client_secret: SecretString::from(secret),
            allowed_scopes: vec![
                "manage_organizations".to_owned(),
                "manage_configuration".to_owned(),
            ],
            token_lifetime: Duration::from_secs(3600),
            expires_in_as_string: true,
            rate_limit: None,
            rate_limit_mode: RateLimitMode::default(),
            rate_limit_window: Duration::from_secs(1),
            rate_limit_schedule: Vec::new(),
            rate_limit_writes_only: false,
            rate_limit_headers: false,
            rate_limit_header_style: HeaderStyle::default(),
            concurrency_limit: None,
            record_arrivals: false,
            template_id: "b2b-customer-template".to_owned(),
            faults: Faults::default(),
            ignore_idempotency_keys: false,
            assign_own_ids: false,
            same_id_for_every_create: false,
            echo_requests_in_errors: false,
            no_etags: false,
            unset_strings_as_empty: false,
            edit_before_update: Vec::new(),
            edit_after_listing: Vec::new(),
            updates_not_implemented: false,
        }
    }
}

/// A token-bucket rate limit, as the tenant enforces it: a sustained rate plus a burst.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests replenished per second.
    pub per_second: NonZeroU32,
    /// Requests that may arrive at once after a quiet spell.
    pub burst: NonZeroU32,
}

/// How the sandbox counts its rate limit (see `sandbox::limit`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RateLimitMode {
    /// governor's GCRA: a bucket of `burst` cells.
    #[default]
    Governor,
    /// A strict token bucket: a request passes only if a whole token is there; tokens refill
    /// continuously at the rate up to `burst`, as an independent gateway counts.
    Bucket,
    /// Fixed windows of `rate_limit_window`, each allowing the rate times its length; a
    /// request over the allowance is refused until the window ends (Okta, Auth0's
    /// per-minute limits).
    Window,
    /// Fixed windows as above, but one request over the allowance blocks the rest of that
    /// window and the whole next one (Prisma's API documents this).
    BlockingWindow,
}

/// The rate-limit headers a sandbox sends (see `sandbox::limit`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HeaderStyle {
    /// `RateLimit-*` and `X-RateLimit-*` together.
    #[default]
    Both,
    /// IETF httpapi: `RateLimit-Limit`, `-Remaining`, `-Reset` (delta seconds) and
    /// `RateLimit-Policy: N;w=W`.
    Ietf,
    /// `X-RateLimit-Limit`, `-Remaining` and `-Reset` as epoch seconds (GitHub's form).
    XRateLimit,
    /// Okta's `X-Rate-Limit-Limit` (the allowance per window), `-Remaining` and `-Reset`
    /// (the epoch second the window ends).
    Okta,
}

/// Failures the sandbox injects, drawn from an RNG seeded with `seed` so a run can be repeated.
///
/// Rates are fractions: 0 (or below, or NaN) never, 1 (or above) always.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Faults {
    /// Seed of the fault RNG: the same seed and the same request order give the same faults.
    pub seed: u64,
    /// Fraction of creates and updates answered 500 or 503 (half each) before anything is
    /// committed.
    pub error_rate: f64,
    /// Fraction of creates committed and then answered 502, or the connection dropped without a
    /// reply (half each): the ambiguous outcome a retry must not turn into a duplicate.
    pub commit_then_fail_rate: f64,
    /// Delay added to every reply of the token endpoint and the System API.
    pub latency: Duration,
    /// A uniformly random extra delay of up to this much, on top of `latency`.
    pub latency_jitter: Duration,
    /// Fraction of creates committed and then answered only after `slow_commit_delay`, so a
    /// client with a shorter timeout gives up on an organization that exists.
    pub slow_commit_rate: f64,
    /// How long a slow commit holds its reply.
    pub slow_commit_delay: Duration,
    /// Fraction of `/api` requests answered 403 `request_forbidden`, as bursts have been seen
    /// answered; nothing is committed.
    pub forbidden_burst_rate: f64,
    /// Fraction of token requests that fail before they are read, as a token endpoint under
    /// load or behind a gateway does: answered 503 `temporarily_unavailable` or 429
    /// `slow_down` (each with an OAuth2 error body), or the connection dropped (a third each).
    /// No token is issued.
    pub token_error_rate: f64,
    /// Delay added to every token reply (on top of `latency`): a token endpoint slower than
    /// the API, as an identity provider under load is.
    pub token_latency: Duration,
    /// Fail the request of each kind that comes this many into the run, once: the token
    /// request, the template check, a list page, a look-up by name, a read, a create, an
    /// update and a delete are counted apart, and their k-th is answered 503 with nothing done.
    pub fail_once_at: Option<std::num::NonZeroU32>,
}
