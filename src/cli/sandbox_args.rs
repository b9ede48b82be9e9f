//! The arguments of `orgimport sandbox`: its tenant, its limiter and the faults it injects.

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::parse::*;
use crate::rate::Rate;

/// `orgimport sandbox`.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// The port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value = "8080", help_heading = "Tenant")]
    pub port: u16,
    /// The tenant id it serves.
    #[arg(long, default_value = "demo", help_heading = "Tenant")]
    pub tenant: String,
    /// The client id it accepts [default: generated and printed].
    #[arg(long, help_heading = "Tenant")]
    pub client_id: Option<String>,
    /// A file holding the secret it accepts [default: ORGIMPORT_CLIENT_SECRET, else generated
    /// and printed].
    #[arg(long, value_name = "PATH", help_heading = "Tenant")]
    pub client_secret_file: Option<PathBuf>,
    /// The id of the seeded organization template.
    #[arg(long, default_value = "b2b-customer-template", help_heading = "Tenant")]
    pub template_id: String,
    /// How long a token lives, e.g. 1h or 30s.
    #[arg(long, default_value = "1h", value_parser = parse_duration, help_heading = "Tenant")]
    pub token_lifetime: Duration,
    /// Send expires_in as a number (the spec) instead of a string (the doc).
    #[arg(long, help_heading = "Tenant")]
    pub expires_in_number: bool,
    /// The tenant's rate limit on API requests (N, N/s, N/m, N/h); over it answers 429.
    #[arg(long, value_parser = parse_rate, help_heading = "Limits")]
    pub rate_limit: Option<Rate>,
    /// The burst the rate limit allows [default: one second's worth].
    #[arg(long, value_parser = parse_at_least_one::<NonZeroU32>, help_heading = "Limits")]
    pub rate_limit_burst: Option<NonZeroU32>,
    /// How the rate limit counts: governor (GCRA), bucket (a strict token bucket: a request
    /// passes only if a whole token is there), window (fixed windows of --rate-limit-window)
    /// or blocking-window (one request too many blocks the rest of the window and the next).
    #[arg(long, value_enum, default_value = "governor", help_heading = "Limits")]
    pub rate_limit_mode: RateLimitModeArg,
    /// The length of a fixed window; each allows the rate times this.
    #[arg(long, default_value = "1s", value_parser = parse_duration, help_heading = "Limits")]
    pub rate_limit_window: Duration,
    /// From this time after start, the rate limit is this rate, e.g. 15s=30 (another client
    /// starts sharing the budget); repeat the flag for more changes.
    #[arg(long, value_name = "TIME=RATE", value_parser = parse_rate_change, help_heading = "Limits")]
    pub rate_limit_schedule: Vec<(Duration, Rate)>,
    /// Only creates and updates count against the rate limit (look-ups, list pages and
    /// deletes are free), as per-endpoint limits do.
    #[arg(long, help_heading = "Limits")]
    pub rate_limit_writes_only: bool,
    /// Send rate-limit headers with every API reply, as gateways do: both (RateLimit-* and
    /// X-RateLimit-*), ietf, x-rate-limit (X-RateLimit-*, epoch reset) or okta
    /// (X-Rate-Limit-*, epoch reset, the allowance per window).
    #[arg(long, value_enum, value_name = "STYLE", num_args = 0..=1, default_missing_value = "both", help_heading = "Limits")]
    pub rate_limit_headers: Option<HeaderStyleArg>,
    /// At most this many API requests in flight; one more is answered 429.
    #[arg(long, value_parser = parse_at_least_one::<NonZeroU32>, help_heading = "Limits")]
    pub concurrency_limit: Option<NonZeroU32>,
    /// Fraction of creates and updates answered 500/503 before anything is changed.
    #[arg(long, default_value = "0", value_parser = parse_fraction, help_heading = "Faults")]
    pub fail_rate: f64,
    /// Fraction of creates that create the organization and then answer 502 or drop the
    /// connection.
    #[arg(long, default_value = "0", value_parser = parse_fraction, help_heading = "Faults")]
    pub commit_then_fail_rate: f64,
    /// Fail the K-th request of each kind once (503, nothing done): the token request, the
    /// template check, a list page, a look-up by name, a read, a create, an update, a delete.
    #[arg(long, value_name = "K", value_parser = parse_at_least_one::<NonZeroU32>, help_heading = "Faults")]
    pub fail_once_at: Option<NonZeroU32>,
    /// Fraction of API requests answered 403 request_forbidden (a burst limit).
    #[arg(long, default_value = "0", value_parser = parse_fraction, help_heading = "Faults")]
    pub forbidden_rate: f64,
    /// Fraction of creates that create the organization and then reply only after
    /// --slow-commit-delay.
    #[arg(long, default_value = "0", value_parser = parse_fraction, help_heading = "Faults")]
    pub slow_commit_rate: f64,
    /// The delay of slow commits.
    #[arg(long, default_value = "60s", value_parser = parse_duration, help_heading = "Faults")]
    pub slow_commit_delay: Duration,
    /// Latency added to every API reply, e.g. 50ms.
    #[arg(long, default_value = "0ms", value_parser = parse_duration, help_heading = "Faults")]
    pub latency: Duration,
    /// Random extra latency, up to this much.
    #[arg(long, default_value = "0ms", value_parser = parse_duration, help_heading = "Faults")]
    pub latency_jitter: Duration,
    /// Latency added to every token reply besides --latency, e.g. 1s (a slow identity
    /// provider: a run must not stall, nor bunch its requests, while it refreshes a token).
    #[arg(long, default_value = "0ms", value_parser = parse_duration, help_heading = "Faults")]
    pub token_latency: Duration,
    /// Seed of the fault injection's random choices.
    #[arg(long, default_value = "1", help_heading = "Faults")]
    pub seed: u64,
    /// Ignore X-Idempotency-Key, as a server that does not implement it: every resent create
    /// is a new create.
    #[arg(long, help_heading = "Server behaviour")]
    pub ignore_idempotency_keys: bool,
    /// Give every created organization an id of the sandbox's own, whatever id the request
    /// asked for.
    #[arg(long, help_heading = "Server behaviour")]
    pub assign_own_ids: bool,
    /// Quote the whole request (secret, token and all) in every error reply, as a
    /// misconfigured gateway does: to check that a client repeats none of it.
    #[arg(long, help_heading = "Server behaviour")]
    pub echo_requests_in_errors: bool,
    /// Send no ETag and ignore If-Match, as a server without optimistic concurrency.
    #[arg(long, help_heading = "Server behaviour")]
    pub no_etags: bool,
    /// Write unset strings as "" (a root's parent_id, theme_id), as the product doc's example
    /// reply does, rather than leave them out or send null.
    #[arg(long, help_heading = "Server behaviour")]
    pub unset_strings_as_empty: bool,
    /// Have someone else edit this organization just before each update of it is checked
    /// (repeat the flag for more): an update computed from an earlier read then conflicts.
    #[arg(long, value_name = "ID", help_heading = "Server behaviour")]
    pub edit_before_update: Vec<String>,
    /// Have someone else edit this organization each time a list page holding it has been
    /// served (repeat the flag for more): an update computed from the listing then conflicts.
    #[arg(long, value_name = "ID", help_heading = "Server behaviour")]
    pub edit_after_listing: Vec<String>,
    /// Answer every update (PUT) 501 Not Implemented with an HTML page, as a server without
    /// updates behind a web server does.
    #[arg(long, help_heading = "Server behaviour")]
    pub updates_not_implemented: bool,
}

/// `orgimport sandbox --rate-limit-mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RateLimitModeArg {
    /// governor's GCRA, a bucket of --rate-limit-burst cells.
    Governor,
    /// A strict token bucket of --rate-limit-burst tokens, refilled continuously.
    Bucket,
    /// Fixed windows of --rate-limit-window.
    Window,
    /// Fixed windows that block the rest of the window and the next when exceeded.
    BlockingWindow,
}

/// `orgimport sandbox --rate-limit-headers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HeaderStyleArg {
    /// RateLimit-* and X-RateLimit-*.
    Both,
    /// RateLimit-Limit, -Remaining, -Reset (delta seconds) and RateLimit-Policy.
    Ietf,
    /// X-RateLimit-Limit, -Remaining, -Reset (epoch seconds).
    XRateLimit,
    /// X-Rate-Limit-Limit (per window), -Remaining, -Reset (epoch seconds).
    Okta,
}
