//! What the sandbox counts, and the snapshot of it that tests and `/_sandbox/stats` read.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::once::Kind;

/// A snapshot of the sandbox's counters since it started.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Requests to the token endpoint.
    pub token_requests: u64,
    /// Tokens issued.
    pub tokens_issued: u64,
    /// Token requests refused (any error).
    pub token_rejections: u64,
    /// Requests under `/api`, whatever their outcome.
    pub api_requests: u64,
    /// Create requests that got past the rate limit, burst rejections and authentication.
    pub create_requests: u64,
    /// Creates that committed an organization (including those then answered with a fault).
    pub creates_committed: u64,
    /// `429` replies.
    pub rate_limited: u64,
    /// `401` replies under `/api`.
    pub unauthorized: u64,
    /// Faults injected: each 403 burst, 5xx, commit-then-fail, slow commit and token-endpoint
    /// outage counts once.
    pub faults_injected: u64,
    /// Of those, the faults met by each kind of request (`token`, `template`, `list_page`,
    /// `look_up`, `read`, `create`, `update`, `delete`), the kinds that met none left out.
    #[serde(default)]
    pub faults_by_kind: BTreeMap<String, u64>,
    /// Creates answered from the idempotency store instead of being processed.
    pub idempotent_replays: u64,
    /// Organizations that exist now and are not templates.
    pub organizations: u64,
    /// Update (`PUT`) requests that got past the rate limit, burst rejections and
    /// authentication.
    #[serde(default)]
    pub update_requests: u64,
    /// Updates that changed an organization.
    #[serde(default)]
    pub updates_committed: u64,
    /// List (`GET /organizations`) requests that got past the rate limit, burst rejections
    /// and authentication: pages of a listing and name searches alike.
    #[serde(default)]
    pub list_requests: u64,
    /// Single-organization reads (`GET /organizations/{id}`) that got that far.
    #[serde(default)]
    pub get_requests: u64,
    /// Updates refused with 412 because `If-Match` named another version.
    #[serde(default)]
    pub precondition_failed: u64,
    /// `429` replies of the concurrency limit (counted in `rate_limited` too).
    #[serde(default)]
    pub concurrency_limited: u64,
    /// Blocks of a blocking window: requests over a window's allowance that blocked the rest
    /// of it and the next.
    #[serde(default)]
    pub windows_blocked: u64,
    /// With `fail_once_at`: the kinds of request whose k-th came and was failed (`token`,
    /// `template`, `list_page`, `look_up`, `read`, `create`, `update`, `delete`).
    #[serde(default)]
    pub failed_once: Vec<String>,
}

/// The live counters behind [`Stats`]: atomics, so counting never takes the store's lock.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// See [`Stats::token_requests`].
    pub(crate) token_requests: AtomicU64,
    /// See [`Stats::tokens_issued`].
    pub(crate) tokens_issued: AtomicU64,
    /// See [`Stats::token_rejections`].
    pub(crate) token_rejections: AtomicU64,
    /// See [`Stats::api_requests`].
    pub(crate) api_requests: AtomicU64,
    /// See [`Stats::create_requests`].
    pub(crate) create_requests: AtomicU64,
    /// See [`Stats::creates_committed`].
    pub(crate) creates_committed: AtomicU64,
    /// See [`Stats::rate_limited`].
    pub(crate) rate_limited: AtomicU64,
    /// See [`Stats::unauthorized`].
    pub(crate) unauthorized: AtomicU64,
    /// See [`Stats::faults_injected`].
    pub(crate) faults_injected: AtomicU64,
    /// See [`Stats::faults_by_kind`]: in the order of [`Kind::ALL`].
    pub(crate) faults_by_kind: [AtomicU64; Kind::ALL.len()],
    /// See [`Stats::idempotent_replays`].
    pub(crate) idempotent_replays: AtomicU64,
    /// See [`Stats::update_requests`].
    pub(crate) update_requests: AtomicU64,
    /// See [`Stats::updates_committed`].
    pub(crate) updates_committed: AtomicU64,
    /// See [`Stats::list_requests`].
    pub(crate) list_requests: AtomicU64,
    /// See [`Stats::get_requests`].
    pub(crate) get_requests: AtomicU64,
    /// See [`Stats::precondition_failed`].
    pub(crate) precondition_failed: AtomicU64,
    /// See [`Stats::concurrency_limited`].
    pub(crate) concurrency_limited: AtomicU64,
    /// See [`Stats::windows_blocked`].
    pub(crate) windows_blocked: AtomicU64,
}

impl Counters {
    /// Counts a fault injected into a request of `kind` (`None`: of no kind, such as a 403
    /// burst on a route that is not an organization's).
    pub(crate) fn fault(&self, kind: Option<Kind>) {
        bump(&self.faults_injected);
        if let Some(kind) = kind {
            bump(&self.faults_by_kind[kind.index()]);
        }
    }
}

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    /// The counters now, with the current organization count.
    pub(crate) fn snapshot(&self, organizations: u64) -> Stats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            token_requests: get(&self.token_requests),
            tokens_issued: get(&self.tokens_issued),
            token_rejections: get(&self.token_rejections),
            api_requests: get(&self.api_requests),
            create_requests: get(&self.create_requests),
            creates_committed: get(&self.creates_committed),
            rate_limited: get(&self.rate_limited),
            unauthorized: get(&self.unauthorized),
            faults_injected: get(&self.faults_injected),
            faults_by_kind: (Kind::ALL.iter().zip(&self.faults_by_kind))
                .map(|(kind, faults)| (kind.name().to_owned(), get(faults)))
                .filter(|(_, faults)| *faults > 0)
                .collect(),
            idempotent_replays: get(&self.idempotent_replays),
            organizations,
            update_requests: get(&self.update_requests),
            updates_committed: get(&self.updates_committed),
            list_requests: get(&self.list_requests),
            get_requests: get(&self.get_requests),
            precondition_failed: get(&self.precondition_failed),
            concurrency_limited: get(&self.concurrency_limited),
            windows_blocked: get(&self.windows_blocked),
            failed_once: Vec::new(),
        }
    }
}
