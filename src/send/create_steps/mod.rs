//! One row's create as a state machine without I/O: told what happened (a reply, an error, a
//! look-up's result), `CreateSteps` says the next step, until the row's outcome. `send_row`
//! runs the steps over HTTP; the unit tests run them by hand.
//!
//! Exactly once rests on looking before sending again, not on the server: the idempotency key
//! is an optimisation (the product doc does not mention it, and a server that honours it
//! remembers a key for a minute). The rules, each in one place:
//! - every create of the row sends the same body with the same idempotency key
//!   (`Step::Send`), until a replay proves stale (below);
//! - a failure that may pass is retried as the `RetryPolicy` says (`CreateSteps::sent`);
//! - a create may have gone through unheard: after a timeout, a dropped connection or a 5xx,
//!   or in an earlier run that stopped mid-request or ended in doubt (`Row::in_doubt`). Every
//!   create that follows such an attempt, whatever the time, is preceded by a look-up: the
//!   row's id read, else its name searched for (`CreateSteps::before_sending`). The decision
//!   reads no clock, so no wait between it and the send (backoff, the rate limiter) can make
//!   it stale. What the look-up finds decides the row (`CreateSteps::looked_up`); only when
//!   it finds nothing is the create sent;
//! - a reply marked as a replay (`X-Idempotent-Replayed: true`) is a claim, checked by reading
//!   the organization it names (`CreateSteps::confirmed`): if that is gone (deleted since, by
//!   `undo` or by hand), the row is created again under a new key derived from the old key
//!   and the stale id (`key_after_stale_replay`), so a rerun after a crash derives the same;
//! - a 409 for a row with an id is answered by reading that organization
//!   (`CreateSteps::fetched`);
//! - an organization taken for the row under another id than the row asked for is recorded
//!   `created` (so that `undo` deletes it), with an error naming both ids
//!   (`CreateSteps::found`);
//! - a row that ends in an error after an attempt that may have created it ends
//!   `unconfirmed`, never `failed`: `failed` means nothing was created
//!   (`CreateSteps::ended`).

use std::borrow::Cow;

use bytes::Bytes;

use super::idempotency::key_after_stale_replay;
use crate::api::{
    CallError, CreateOrganization, CreateReply, GaveUp, Organization, RetryPolicy, Tries,
};
use crate::error_kind::ErrorKind;
use crate::record::{Outcome, Status};
use crate::{Error, RowError};

/// A row as a worker sends it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row<'a> {
    /// The request, for lookups.
    pub(crate) request: &'a CreateOrganization,
    /// The request as JSON, as sent.
    pub(crate) body: &'a Bytes,
    /// The same for every attempt at this row, in this run and later ones (until a replay
    /// proves stale).
    pub(crate) idempotency_key: &'a str,
    /// An earlier run may have created it.
    pub(crate) in_doubt: bool,
}

/// Replays of organizations that no longer exist, answered for one row, before the row is
/// given up: each is followed by a create under a new key, and one is what `undo` and an
/// import again within the server's replay memory cause.
pub(crate) const MAX_STALE_REPLAYS: u32 = 3;

/// What to do next for the row.
#[derive(Debug)]
pub(crate) enum Step<'a> {
    /// Look for the row's organization (retried as the policy says), then tell
    /// [`CreateSteps::looked_up`] what was found.
    LookUp(LookUp<'a>),
    /// Send the create once, then tell [`CreateSteps::sent`].
    Send {
        /// The request as JSON, the same bytes every time.
        body: &'a Bytes,
        /// The row's idempotency key.
        idempotency_key: Cow<'a, str>,
    },
    /// After a 409: read the organization with this id (retried as the policy says), then
    /// tell [`CreateSteps::fetched`].
    FetchById(&'a str),
    /// The create was answered with a replay naming this organization: read it (retried as
    /// the policy says), then tell [`CreateSteps::confirmed`].
    ConfirmReplay(String),
    /// Wait out the backoff after this error, then tell [`CreateSteps::waited`], or
    /// [`CreateSteps::stopped`] when the stop signal cut the wait.
    Pause(CallError),
    /// The credentials were refused, or the tenant answered nothing but 429 for the policy's
    /// whole patience: stop the run with this error. The row ends with the outcome.
    Fatal(Error, Outcome),
    /// The row is finished.
    Done(Outcome),
}

/// How a row is looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LookUp<'a> {
    /// Read the organization with the row's id (none found, or that one).
    ById(&'a str),
    /// The organizations named as the row.
    ByName(&'a str),
}

/// Where one row's create stands.
pub(crate) struct CreateSteps<'a> {
    /// The row.
    row: Row<'a>,
    /// How failed creates are retried.
    policy: RetryPolicy,
    /// The idempotency key creates carry now: the row's, or one derived from it after stale
    /// replays.
    key: Cow<'a, str>,
    /// Creates sent so far, and how the policy counts them (a 429 uses up no attempt).
    tries: Tries,
    /// Replays answered so far that named an organization no longer there.
    stale_replays: u32,
    /// The organization the last create's replay named, while it is being read.
    replayed: Option<String>,
    /// An earlier run's create may have gone through unheard, and no look-up has found
    /// nothing since.
    earlier_run: bool,
    /// A create of this run may have gone through unheard (or the server said one did). Never
    /// cleared: a look-up that finds nothing does not stop a request still on its way at the
    /// server from committing later.
    sent_unheard: bool,
}

impl<'a> CreateSteps<'a> {
    /// A row not sent yet in this run.
    pub(crate) fn new(row: Row<'a>, policy: RetryPolicy) -> Self {
        CreateSteps {
            row,
            policy,
            key: Cow::Borrowed(row.idempotency_key),
            tries: Tries::default(),
            stale_replays: 0,
            replayed: None,
            earlier_run: row.in_doubt,
            sent_unheard: false,
        }
    }

    /// The first step.
    pub(crate) fn start(&mut self) -> Step<'a> {
        self.before_sending()
    }

    /// Whether a create of the row, in this run or an earlier one, may have gone through
    /// without an answer saying so.
    fn maybe_created(&self) -> bool {
        self.earlier_run || self.sent_unheard
    }

    /// Before any create: a look-up when one may have gone through unheard, whatever the
    /// time (see the module docs), else the create.
    fn before_sending(&mut self) -> Step<'a> {
        if !self.maybe_created() {
            return self.send();
        }
        Step::LookUp(match self.row.request.id.as_deref() {
            Some(id) => LookUp::ById(id),
            None => LookUp::ByName(&self.row.request.name),
        })
    }

    /// The create, with the current key.
    fn send(&self) -> Step<'a> {
        Step::Send {
            body: self.row.body,
            idempotency_key: self.key.clone(),
        }
    }

    /// The create just sent was answered, or failed.
    pub(crate) fn sent(&mut self, reply: Result<CreateReply, CallError>) -> Step<'a> {
        self.tries.record(&reply);
        let error = match reply {
            Ok(CreateReply {
                organization,
                replayed: false,
            }) => return self.found(Status::Created, organization.id, 201),
            Ok(CreateReply {
                organization,
                replayed: true,
            }) => {
                self.replayed = Some(organization.id.clone());
                return Step::ConfirmReplay(organization.id);
            }
            Err(error) => error,
        };
        if let (Some(409), Some(id)) = (error.status(), self.row.request.id.as_deref()) {
            return Step::FetchById(id);
        }
        if let CallError::Auth(
            fatal @ (Error::AuthRejected { .. } | Error::TokenRedirected { .. }),
        ) = error
        {
            let outcome = self.outcome(None, RowError::Token(fatal.to_string()));
            return Step::Fatal(fatal, outcome);
        }
        if error.is_ambiguous() {
            self.sent_unheard = true;
        }
        if self.policy.may_retry(&error, &self.tries) {
            Step::Pause(error)
        } else {
            let gave_up = self.policy.give_up(error, &self.tries);
            // A tenant that answered nothing but 429 for the policy's whole patience stops
            // the run: it would answer every other row the same.
            let fatal = gave_up.stops_the_run("a create", &self.row.request.name);
            let outcome = self.outcome(gave_up.status(), gave_up.into_row_error());
            match fatal {
                Some(fatal) => Step::Fatal(fatal, outcome),
                None => Step::Done(outcome),
            }
        }
    }

    /// The pause after a failed create is over.
    pub(crate) fn waited(&mut self) -> Step<'a> {
        self.before_sending()
    }

    /// The stop signal cut the pause after `error`: the row ends with it, or as not sent when
    /// `error` was a 429 and no create of it may have gone through (the tenant refused it,
    /// nothing was created: a rerun sends it, as it does a row never sent).
    pub(crate) fn stopped(&mut self, error: CallError) -> Step<'a> {
        if error.status() == Some(429) && !self.maybe_created() {
            let why = format!(
                "the run stopped while this row waited to be sent again after a refusal ({}); \
                 rerun to send it",
                error.into_row_error()
            );
            return Step::Done(Outcome {
                attempts: self.tries.sent(),
                ..Outcome::not_sent(why)
            });
        }
        self.ended(error.status(), error.into_row_error())
    }

    /// What the look-up found (by id: none or the organization with the row's id; by name:
    /// every organization so named), or why it could not look.
    pub(crate) fn looked_up(&mut self, found: Result<Vec<Organization>, GaveUp>) -> Step<'a> {
        let found = match found {
            Ok(found) => found,
            Err(gave_up) => {
                let status = gave_up.status();
                let error = RowError::LookUpFailed(Box::new(gave_up.into_row_error()));
                return self.ended(status, error);
            }
        };
        let name = &self.row.request.name;
        match found.as_slice() {
            [] => {
                // Nothing of an earlier run's went through; this run's may still (above).
                self.earlier_run = false;
                self.send()
            }
            // A look-up happens only when a create of ours may have gone through: this is it.
            [one] if one.name == *name => self.found(Status::Created, one.id.clone(), 200),
            [other] => {
                let id = self.row.request.id.as_deref().unwrap_or(&other.id);
                let error = RowError::Conflict(format!(
                    "id {id:?} belongs to an organization named {:?}, not {name:?}; not sent \
                     again",
                    other.name
                ));
                self.ended(Some(200), error)
            }
            many => {
                let ids: Vec<&str> = many.iter().map(|o| o.id.as_str()).collect();
                let error = RowError::AmbiguousName(format!(
                    "HTTP 200 ambiguous_name: {} organizations are named {name:?} ({}); not \
                     sent again, to create no duplicate: give the row an id, or remove the \
                     extra organizations",
                    many.len(),
                    ids.join(", ")
                ));
                self.ended(Some(200), error)
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
                // After a create that may have gone through, the organization is the one it
                // created.
                let status = if self.maybe_created() {
                    Status::Created
                } else {
                    Status::Exists
                };
                self.found(status, org.id, 409)
            }
            Ok(Some(org)) => self.ended(
                Some(409),
                RowError::Conflict(format!(
                    "HTTP 409 conflict: id {id:?} already belongs to an organization named \
                     {:?}, not {:?}",
                    org.name, request.name
                )),
            ),
            Ok(None) => self.ended(
                Some(409),
                RowError::Conflict(format!(
                    "HTTP 409 conflict: the API reported id {id:?} as taken but cannot find it"
                )),
            ),
            Err(gave_up) => self.ended(gave_up.status(), gave_up.into_row_error()),
        }
    }

    /// After a replay: the organization it named, `None` if there is none, or why it could
    /// not be read. It is the row's if its name is the row's; if it is gone, the row is
    /// created again under a new key.
    pub(crate) fn confirmed(&mut self, found: Result<Option<Organization>, GaveUp>) -> Step<'a> {
        let stale_id = self.replayed.take().unwrap_or_default();
        let name = &self.row.request.name;
        match found {
            Ok(Some(org)) if org.name == *name => self.found(Status::Created, org.id, 201),
            Ok(Some(org)) => {
                // The server says a create of ours went through; what it names is not ours.
                self.sent_unheard = true;
                let error = RowError::UnexpectedReply(format!(
                    "the API answered with a replay of an earlier create of organization \
                     {:?}, but that organization is named {:?}, not {name:?}; not sent again",
                    org.id, org.name
                ));
                self.ended(Some(201), error)
            }
            Ok(None) if self.stale_replays + 1 >= MAX_STALE_REPLAYS => {
                let error = RowError::UnexpectedReply(format!(
                    "the API answered {MAX_STALE_REPLAYS} creates with replays of \
                     organizations that no longer exist (the last {stale_id:?}); not sent \
                     again"
                ));
                self.ended(Some(201), error)
            }
            Ok(None) => {
                // Deleted since: the row is to be created again, under a key the server has
                // not seen.
                self.stale_replays += 1;
                self.key = Cow::Owned(key_after_stale_replay(&self.key, &stale_id));
                self.before_sending()
            }
            Err(gave_up) => {
                self.sent_unheard = true;
                let status = gave_up.status();
                let error = RowError::LookUpFailed(Box::new(gave_up.into_row_error()));
                self.ended(status, error)
            }
        }
    }

    /// The row's organization is `org_id`, with `status`, as the answer `http_status` says:
    /// under another id than the row asked for, the outcome says so.
    fn found(&self, status: Status, org_id: String, http_status: u16) -> Step<'a> {
        let other_id = match self.row.request.id.as_deref() {
            Some(asked) if asked != org_id => Some(RowError::OtherId {
                asked: asked.to_string(),
                got: org_id.clone(),
            }),
            _ => None,
        };
        let outcome = Outcome::done(status, org_id, Some(http_status), self.tries.sent());
        Step::Done(match other_id {
            Some(error) => Outcome {
                kind: Some(ErrorKind::of(&error)),
                error: Some(error.to_string()),
                ..outcome
            },
            None => outcome,
        })
    }

    /// The row ends with `error`, the last answer `http_status`.
    fn ended(&self, http_status: Option<u16>, error: RowError) -> Step<'a> {
        Step::Done(self.outcome(http_status, error))
    }

    /// The outcome of a row ending with `error`: `unconfirmed` if a create of it may have gone
    /// through, else `failed`.
    fn outcome(&self, http_status: Option<u16>, error: RowError) -> Outcome {
        if self.maybe_created() {
            let error = RowError::Unconfirmed(Box::new(error));
            Outcome {
                status: Status::Unconfirmed,
                ..Outcome::failed(http_status, error, self.tries.sent())
            }
        } else {
            Outcome::failed(http_status, error, self.tries.sent())
        }
    }
}

#[cfg(test)]
mod tests;
