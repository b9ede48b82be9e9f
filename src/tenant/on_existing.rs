//! `import --on-existing`: what becomes of a row whose organization is already in the tenant.
//!
//! Before sending, the tenant is read (`tenant::reading`): listed once when that is cheaper
//! (one request per 100 organizations), else each row's organization is looked up just before
//! the row would be sent (`tenant::lookup`); either way a row is matched by id, else by name,
//! with the same result. `skip` records a found row as `exists` (unless its id holds another
//! name: failed); `fail` records it as failed, naming the organization; `update` leaves an
//! identical one `exists` and sends `PUT /organizations/{id}` for one that differs, recording
//! `updated` with the changes. A row matching two organizations by name, or a template by id,
//! fails as a conflict in every mode.
//!
//! An update never overwrites someone else's change: it is computed from a read of the
//! organization that carried its `ETag` (the look-up by id, else a `GET` just before the
//! update, since a list page gives no version per organization), and sent with `If-Match:
//! <that ETag>`. An organization changed since it was read (the server answers 412, or the
//! `GET` finds other values in the fields the row gives than the listing did) is recorded as
//! failed with a conflict naming it, and is not updated nor retried. A server that sends no
//! `ETag` gets no `If-Match`, and the update is sent as before.
//!
//! `exists` means there before the tool's first attempt at the row, so only rows that no
//! attempt may have created come here. A row an earlier attempt may have created (in doubt:
//! `unconfirmed`, sent when a run was killed, failed without a definite refusal) is not looked
//! up here: the create's own look-up decides it, and records what it finds `created`. Taking
//! such an organization for one that was there before is how a rerun used to call rows this
//! tool created `exists`, and `undo` left them behind.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::api::{ApiClient, CallError, CreateOrganization, GaveUp, Organization, RetryPolicy};
use crate::record::{Outcome, Status};
use crate::report::requests::RequestCount;
use crate::stop::Stop;
use crate::tenant::diff::{self, Change};
use crate::tenant::existing::Match;
use crate::tenant::lookup;
use crate::tenant::reading::Reading;
use crate::{Error, RowError};

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
/// and the tenant as read before the run (listed, or to be looked up row by row), checked just
/// before each row is sent.
#[derive(Debug)]
pub struct ExistingCheck {
    /// What to do with a row whose organization exists.
    mode: OnExisting,
    /// The tenant's organizations before the run, or look-ups.
    reading: Reading,
    /// How a look-up and an update are retried.
    policy: RetryPolicy,
    /// Reads of the tenant sent since (look-ups, and the reads before updates).
    reads: AtomicU64,
}

impl ExistingCheck {
    /// The check of `mode` against the tenant as `reading` says.
    pub fn new(mode: OnExisting, reading: Reading, policy: RetryPolicy) -> ExistingCheck {
        ExistingCheck {
            mode,
            reading,
            policy,
            reads: AtomicU64::new(0),
        }
    }

    /// Reads of the tenant sent since the check began (look-ups, and the reads before
    /// updates), retries not included.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// The row's outcome when its organization exists (after an update, if the mode says
    /// so), or `None` to create it. `stop` is set on Ctrl-C or a fatal error: retries
    /// of a look-up or an update then stop. A look-up that fails for good sets `stop` with
    /// [`Error::Listing`], as a listing that fails ends the run before it sends anything, and
    /// the row is not sent. Every update sent is counted in `requests`; reads in
    /// [`ExistingCheck::reads`].
    pub async fn before_send(
        &self,
        client: &ApiClient,
        request: &CreateOrganization,
        stop: &Stop,
        requests: &RequestCount,
    ) -> Option<Outcome> {
        let looked_up;
        let existing = match &self.reading {
            Reading::Listed(existing) => existing,
            Reading::LookUps { .. } => {
                let id = request.id.as_deref();
                let found =
                    lookup::look_up_row(client, self.policy, stop, id, &request.name, &self.reads)
                        .await;
                match found {
                    Ok(found) => {
                        looked_up = found;
                        &looked_up
                    }
                    Err(gave_up) => return Some(look_up_failed(gave_up, &request.name, stop)),
                }
            }
        };
        let org = match existing.find(request.id.as_deref(), &request.name) {
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
        Some(
            self.update(client, org, request, changes, stop, requests)
                .await,
        )
    }

    /// Updates `org` (as read) to what `request` says, `changes` being how they differ, with
    /// `If-Match` its `ETag`: read again first when the read gave none (a list page).
    async fn update(
        &self,
        client: &ApiClient,
        org: &Organization,
        request: &CreateOrganization,
        changes: Vec<Change>,
        stop: &Stop,
        requests: &RequestCount,
    ) -> Outcome {
        let name = request.name.as_str();
        // A failed update names the changes it would have made: that is what tells the next
        // run (record::earlier_runs) that the organization was there before, never created by
        // this tool, so it is not taken for one a create may have made.
        let tried = diff::to_text(&changes);
        let not_updated = |outcome: Outcome| Outcome {
            changes: Some(tried.clone()),
            ..outcome
        };
        let current = if org.etag.is_some() {
            org.clone()
        } else {
            match self.read(client, &org.id, name, stop).await {
                // The fields the row gives hold what they did: the update changes what was
                // planned, and keeps whatever else changed since.
                Ok(Some(now)) if diff::changes(&now, request) == changes => now,
                Ok(Some(_)) => return not_updated(changed_since_read(org, Since::Changed)),
                Ok(None) => return not_updated(changed_since_read(org, Since::Deleted)),
                Err(gave_up) => return not_updated(update_failed(gave_up)),
            }
        };
        let body = diff::updated(&current, request);
        let (id, etag) = (current.id.as_str(), current.etag.as_deref());
        let update = self
            .policy
            .call_counted(stop, "an update", name, || {
                requests.sending();
                client.update(id, &body, etag)
            })
            .await;
        let updated = |attempts| Outcome {
            changes: Some(diff::to_text(&changes)),
            ..Outcome::done(Status::Updated, current.id.clone(), Some(200), attempts)
        };
        match update {
            Ok((_, attempts)) => updated(attempts),
            Err(gave_up) if gave_up.status() == Some(412) => {
                // After an attempt that may have gone through unheard, the 412 may answer
                // this run's own update: the organization then says what the row says.
                if gave_up.attempts > 1
                    && let Ok(Some(now)) = self.read(client, id, name, stop).await
                    && diff::changes(&now, request).is_empty()
                {
                    return updated(gave_up.attempts);
                }
                not_updated(Outcome {
                    http_status: Some(412),
                    attempts: gave_up.attempts,
                    ..changed_since_read(org, Since::Refused)
                })
            }
            Err(gave_up) => not_updated(update_failed(gave_up)),
        }
    }

    /// The organization `id` as it is now, with its `ETag`, read for the row `name`.
    async fn read(
        &self,
        client: &ApiClient,
        id: &str,
        name: &str,
        stop: &Stop,
    ) -> Result<Option<Organization>, GaveUp> {
        self.policy
            .call(stop, "a read before an update", name, || {
                self.reads.fetch_add(1, Ordering::Relaxed);
                client.get(id)
            })
            .await
    }
}

/// How an organization was found to have changed since it was read.
#[derive(Debug, Clone, Copy)]
enum Since {
    /// A read before the update found other values in the fields the row gives.
    Changed,
    /// A read before the update found it gone.
    Deleted,
    /// The server refused the update's `If-Match` (412).
    Refused,
}

/// A row whose organization changed since it was read: failed as a conflict naming it,
/// nothing updated. Recorded as a refusal without a request (409), which the caller corrects
/// when the server answered.
fn changed_since_read(org: &Organization, since: Since) -> Outcome {
    let what = match since {
        Since::Changed => "changed",
        Since::Deleted => "was deleted",
        Since::Refused => {
            "changed (the server refused the update's If-Match with 412 Precondition Failed)"
        }
    };
    refused(RowError::Conflict(format!(
        "organization {:?} ({:?}) {what} since it was read, so it was not updated: someone \
         else's change is not overwritten; run again to compare the row with it as it is now",
        org.id, org.name
    )))
}

/// An update (or the read before it) that failed for good.
fn update_failed(gave_up: GaveUp) -> Outcome {
    let (status, attempts) = (gave_up.status(), gave_up.attempts);
    let row_error = RowError::UpdateFailed(Box::new(gave_up.into_row_error()));
    Outcome::failed(status, row_error, attempts)
}

/// A look-up for the row `name` that failed for good: a name too many organizations contain is
/// the row's conflict; otherwise the tenant cannot be read, which ends the run (`stop` gets
/// the fatal error, unless Ctrl-C or an earlier one set it), and the row is not sent.
fn look_up_failed(gave_up: GaveUp, name: &str, stop: &Stop) -> Outcome {
    if let CallError::TooManyMatches(why) = gave_up.error {
        return refused(RowError::AmbiguousName(why));
    }
    if !gave_up.interrupted && !stop.is_set() {
        let attempts = gave_up.attempts;
        let error = match gave_up.error {
            CallError::Auth(e) => e,
            error => Error::Listing(format!(
                "the look-up of {name:?} failed: {} (after {attempts} attempts)",
                error.into_row_error()
            )),
        };
        stop.fatal(error);
    }
    Outcome::not_sent(
        "the tenant could not be read before this row was sent; rerun to send it".into(),
    )
}

/// A row refused without a request: recorded with 409, a definite refusal, so that a rerun
/// does not take the organization for one an earlier attempt created. Its kind is about the
/// row's own organization, so that many such rows do not look like one systemic error.
fn refused(error: RowError) -> Outcome {
    Outcome::failed(Some(409), error, 0)
}
