//! `import --on-existing`: what becomes of a row whose organization is already in the tenant.
//!
//! Before sending, the tenant is listed once ([`Existing`]; one request per 100
//! organizations), and each row is looked up just before it would be sent, by id, else by
//! name. `skip` records a found row as `exists` (unless its id holds another name: failed);
//! `fail` records it as failed, naming the
//! organization; `update` leaves an identical one `exists` and sends `PUT /organizations/{id}`
//! for one that differs, recording `updated` with the changes. A row matching two
//! organizations by name, or a template by id, fails as a conflict in every mode.
//!
//! `exists` means there before the tool's first attempt at the row, so only rows that no
//! attempt may have created come here. A row an earlier attempt may have created (in doubt:
//! `unconfirmed`, sent when a run was killed, failed without a definite refusal) is not looked
//! up here: the create's own look-up decides it, and records what it finds `created`. Taking
//! such an organization for one that was there before is how a rerun used to call rows this
//! tool created `exists`, and `undo` left them behind.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::RowError;
use crate::api::{ApiClient, CreateOrganization, RetryPolicy};
use crate::record::{Outcome, Status};
use crate::stop::Stop;
use crate::tenant::diff;
use crate::tenant::existing::{Existing, Match};

/// What to do with a row whose organization exists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnExisting {
    /// Record it as `exists` and send nothing.
    #[default]
    Skip,
    /// Record it as failed.
    Fail,
    /// Update the organization's differing fields and record it as `updated`.
    Update,
}

/// What `--on-existing` makes of a row whose organization the tenant already has: the mode,
/// and the tenant's organizations listed once, checked just before each row is sent.
#[derive(Debug)]
pub struct ExistingCheck {
    /// What to do with a row whose organization exists.
    mode: OnExisting,
    /// The tenant's organizations before the run.
    existing: Existing,
    /// How an update is retried.
    policy: RetryPolicy,
}

impl ExistingCheck {
    /// The check of `mode` against `existing`.
    pub fn new(mode: OnExisting, existing: Existing, policy: RetryPolicy) -> ExistingCheck {
        ExistingCheck {
            mode,
            existing,
            policy,
        }
    }

    /// The row's outcome when its organization exists (after an update, if the mode says
    /// so), or `None` to create it. `stop` is set on Ctrl-C or a fatal error: retries
    /// of an update then stop. Every request sent is counted in `requests`.
    pub async fn before_send(
        &self,
        client: &ApiClient,
        request: &CreateOrganization,
        stop: &Stop,
        requests: &AtomicU64,
    ) -> Option<Outcome> {
        let org = match self.existing.find(request.id.as_deref(), &request.name) {
            Match::New => return None,
            Match::Conflict(why) => return Some(refused(why)),
            Match::Found(org) => org,
        };
        if self.mode == OnExisting::Fail {
            return Some(refused(RowError::AlreadyExists(format!(
                "organization {:?} ({:?}) already exists, and --on-existing is fail",
                org.id, org.name
            ))));
        }
        if self.mode == OnExisting::Skip && org.name != request.name {
            // Skipping would take someone else's organization for the row's.
            return Some(refused(RowError::Conflict(format!(
                "id {:?} already belongs to an organization named {:?}, not {:?} (use \
                 --on-existing update to rename it)",
                org.id, org.name, request.name
            ))));
        }
        let changes = diff::changes(org, request);
        if changes.is_empty() || self.mode == OnExisting::Skip {
            return Some(Outcome::done(Status::Exists, org.id.clone(), None, 0));
        }
        let body = diff::updated(org, request);
        let id = org.id.as_str();
        let update = self
            .policy
            .call_counted(stop, "an update", &request.name, || {
                requests.fetch_add(1, Ordering::Relaxed);
                client.update(id, &body)
            })
            .await;
        Some(match update {
            Ok((updated, attempts)) => Outcome {
                changes: Some(diff::to_text(&changes)),
                ..Outcome::done(Status::Updated, updated.id, Some(200), attempts)
            },
            Err(gave_up) => {
                let (status, attempts) = (gave_up.status(), gave_up.attempts);
                let row_error = RowError::UpdateFailed(Box::new(gave_up.into_row_error()));
                Outcome::failed(status, row_error, attempts)
            }
        })
    }
}

/// A row refused without a request: recorded with 409, a definite refusal, so that a rerun
/// does not take the organization for one an earlier attempt created. Its kind is about the
/// row's own organization, so that many such rows do not look like one systemic error.
fn refused(error: RowError) -> Outcome {
    Outcome::failed(Some(409), error, 0)
}
