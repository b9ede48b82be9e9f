//! One row's create as a state machine without I/O: told what happened (a reply, an error, a
//! look-up's result, the time), `CreateSteps` says the next step, until the row's outcome.
//! `send_row` runs the steps over HTTP; the unit tests run them by hand.
//!
//! The rules, each in one place:
//! - every create of the row sends the same body with the same idempotency key
//!   (`Step::Send`);
//! - a failure that may pass is retried as the `RetryPolicy` says (`CreateSteps::sent`);
//! - a row is looked up by name before it is sent when a create of ours may have gone through
//!   unheard and the server no longer replays it (`CreateSteps::must_look_up`), and what the
//!   look-up found decides the row (`CreateSteps::looked_up`);
//! - a 409 for a row with an id is answered by reading that organization
//!   (`CreateSteps::fetched`).

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::api::{CallError, CreateOrganization, GaveUp, Organization, RetryPolicy};
use crate::record::{Outcome, Status};
use crate::{Error, RowError};

/// A row as a worker sends it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row<'a> {
    /// The request, for lookups.
    pub(crate) request: &'a CreateOrganization,
    /// The request as JSON, as sent.
    pub(crate) body: &'a Bytes,
    /// The same for every attempt at this row, in this run and later ones.
    pub(crate) idempotency_key: &'a str,
    /// An earlier run may have created it.
    pub(crate) in_doubt: bool,
}

/// A resend this soon after an unanswered create is safe: the API replays its first answer
/// for the same idempotency key for one minute (less a margin for clocks and transit).
pub(crate) const REPLAY_WINDOW: Duration = Duration::from_secs(50);

/// What to do next for the row.
#[derive(Debug)]
pub(crate) enum Step<'a> {
    /// Look for the organizations named as the row (retried as the policy says), then tell
    /// [`CreateSteps::looked_up`].
    LookUp,
    /// Send the create once, then tell [`CreateSteps::sent`].
    Send {
        /// The request as JSON, the same bytes every time.
        body: &'a Bytes,
        /// The row's idempotency key, the same every time.
        idempotency_key: &'a str,
    },
    /// Read the organization with this id (retried as the policy says), then tell
    /// [`CreateSteps::fetched`].
    FetchById(&'a str),
    /// Wait out the backoff after this error, then tell [`CreateSteps::waited`], or
    /// [`CreateSteps::stopped`] when the stop signal cut the wait.
    Pause(CallError),
    /// The credentials were refused: stop the run with this error. The row ends with the
    /// outcome.
    Fatal(Error, Outcome),
    /// The row is finished.
    Done(Outcome),
}

/// Where one row's create stands.
pub(crate) struct CreateSteps<'a> {
    /// The row.
    row: Row<'a>,
    /// How failed creates are retried.
    policy: RetryPolicy,
    /// Creates sent so far.
    attempts: u32,
    /// Since when a create of ours may have gone through unheard, until a look-up finds
    /// nothing.
    in_doubt_since: Option<Instant>,
    /// Whether a create of this row (in this run or an earlier one) may have gone through
    /// unheard: an organization found with its id is then the row's own.
    maybe_created: bool,
}

impl<'a> CreateSteps<'a> {
    /// A row not sent yet in this run.
    pub(crate) fn new(row: Row<'a>, policy: RetryPolicy) -> Self {
        CreateSteps {
            row,
            policy,
            attempts: 0,
            in_doubt_since: None,
            maybe_created: row.in_doubt,
        }
    }

    /// The first step, at `now`.
    pub(crate) fn start(&mut self, now: Instant) -> Step<'a> {
        self.before_sending(now)
    }

    /// Whether the row must be looked up by name before it is sent (again), at `now`: it has
    /// no id (a row with one relies on the 409 a second create gets), and a create of it may
    /// have gone through unheard where the server no longer replays it: an earlier run's, or
    /// one of ours longer than [`REPLAY_WINDOW`] ago.
    fn must_look_up(&self, now: Instant) -> bool {
        let earlier_run = self.attempts == 0 && self.row.in_doubt;
        let past_replay = self
            .in_doubt_since
            .is_some_and(|since| now.saturating_duration_since(since) >= REPLAY_WINDOW);
        self.row.request.id.is_none() && (earlier_run || past_replay)
    }

    /// A look-up, or else the create.
    fn before_sending(&mut self, now: Instant) -> Step<'a> {
        if self.must_look_up(now) {
            Step::LookUp
        } else {
            Step::Send {
                body: self.row.body,
                idempotency_key: self.row.idempotency_key,
            }
        }
    }

    /// The create sent at `now` was answered with the new organization's id, or failed.
    pub(crate) fn sent(&mut self, reply: Result<String, CallError>, now: Instant) -> Step<'a> {
        self.attempts += 1;
        let error = match reply {
            Ok(id) => return self.done(Status::Created, id, 201),
            Err(error) => error,
        };
        if let (Some(409), Some(id)) = (error.status(), self.row.request.id.as_deref()) {
            return Step::FetchById(id);
        }
        if let CallError::Auth(fatal @ Error::AuthRejected { .. }) = error {
            let outcome = Outcome::failed(None, RowError::Token(fatal.to_string()), self.attempts);
            return Step::Fatal(fatal, outcome);
        }
        if error.is_ambiguous() {
            self.maybe_created = true;
            self.in_doubt_since.get_or_insert(now);
        }
        if self.policy.may_retry(&error, self.attempts) {
            Step::Pause(error)
        } else {
            let gave_up = self.policy.give_up(error, self.attempts);
            self.failed(gave_up.status(), gave_up.into_row_error())
        }
    }

    /// The pause after a failed create ended at `now`.
    pub(crate) fn waited(&mut self, now: Instant) -> Step<'a> {
        self.before_sending(now)
    }

    /// The stop signal cut the pause after `error`: the row ends with it.
    pub(crate) fn stopped(&mut self, error: CallError) -> Step<'a> {
        self.failed(error.status(), error.into_row_error())
    }

    /// The organizations named as the row, or why they could not be listed.
    pub(crate) fn looked_up(&mut self, found: Result<Vec<Organization>, GaveUp>) -> Step<'a> {
        match found {
            Ok(found) => match found.as_slice() {
                [] => {
                    // Nothing of ours went through: send, and count the replay window anew.
                    self.in_doubt_since = None;
                    Step::Send {
                        body: self.row.body,
                        idempotency_key: self.row.idempotency_key,
                    }
                }
                [one] => self.done(Status::Created, one.id.clone(), 200),
                many => {
                    let ids: Vec<&str> = many.iter().map(|o| o.id.as_str()).collect();
                    let error = RowError::AmbiguousName(format!(
                        "HTTP 200 ambiguous_name: {} organizations are named {:?} ({}); not \
                         sent again, to create no duplicate: give the row an id, or remove \
                         the extra organizations",
                        many.len(),
                        self.row.request.name,
                        ids.join(", ")
                    ));
                    self.failed(Some(200), error)
                }
            },
            Err(gave_up) => {
                let status = gave_up.status();
                self.failed(
                    status,
                    RowError::LookUpFailed(Box::new(gave_up.into_row_error())),
                )
            }
        }
    }

    /// After a 409: the organization with the row's id, `None` if there is none, or why it
    /// could not be read. It is the row's if its name is the row's.
    pub(crate) fn fetched(&mut self, found: Result<Option<Organization>, GaveUp>) -> Step<'a> {
        let request = self.row.request;
        let id = request.id.as_deref().unwrap_or_default();
        match found {
            Ok(Some(org)) if org.name == request.name => {
                // After an ambiguous attempt, the organization is the one we created.
                let status = if self.maybe_created {
                    Status::Created
                } else {
                    Status::Exists
                };
                self.done(status, org.id, 409)
            }
            Ok(Some(org)) => self.failed(
                Some(409),
                RowError::Conflict(format!(
                    "HTTP 409 conflict: id {id:?} already belongs to an organization named \
                     {:?}, not {:?}",
                    org.name, request.name
                )),
            ),
            Ok(None) => self.failed(
                Some(409),
                RowError::Conflict(format!(
                    "HTTP 409 conflict: the API reported id {id:?} as taken but cannot find it"
                )),
            ),
            Err(gave_up) => self.failed(gave_up.status(), gave_up.into_row_error()),
        }
    }

    fn done(&self, status: Status, org_id: String, http_status: u16) -> Step<'a> {
        Step::Done(Outcome::done(
            status,
            org_id,
            Some(http_status),
            self.attempts,
        ))
    }

    fn failed(&self, http_status: Option<u16>, error: RowError) -> Step<'a> {
        Step::Done(Outcome::failed(http_status, error, self.attempts))
    }
}

#[cfg(test)]
mod tests;
