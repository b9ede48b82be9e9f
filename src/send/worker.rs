//! One worker of the pool: takes rows from the queue, resolves each row's parent, asks the
//! `--on-existing` check, announces the row to the journal, and runs its create.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use tokio::sync::{mpsc, oneshot};

use super::create::send_row;
use super::create_steps::Row;
use super::feed::RowQueue;
use super::idempotency::idempotency_key;
use super::*;
use crate::api::{ApiClient, CreateOrganization, RetryPolicy, WITHHELD};
use crate::record::{Outcome, Outcomes};
use crate::report::requests::RequestCount;
use crate::tenant::on_existing::ExistingCheck;

/// The organization ids of rows that are parents of other rows, for their children.
pub(crate) struct ParentIds {
    /// Parent row -> its line, and its organization id once it exists (or why it does not).
    /// A std mutex: held only to read or write an entry, never across an await.
    pub(crate) rows: Mutex<HashMap<usize, (u64, Option<ParentState>)>>,
}

/// How a parent row ended, once it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParentState {
    /// Its organization exists: its id.
    Created(String),
    /// It has none: why (its error, else its status).
    NotCreated(String),
}

/// Why a child row has no parent organization to be created under: it is not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NoParent {
    /// The parent row ended without its organization: why.
    #[error("its parent, line {line}, was not created ({why})")]
    NotCreated {
        /// The parent's line.
        line: u64,
        /// Its error, else its status.
        why: String,
    },
    /// The parent row was not sent (yet).
    #[error("its parent, line {line}, was not sent")]
    NotSent {
        /// The parent's line.
        line: u64,
    },
    /// The row names a parent the run does not know.
    #[error("its parent is unknown")]
    Unknown,
}

impl ParentIds {
    /// The parent rows of `parents` (child -> parent), with what is known of them before
    /// sending (`outcomes`) and their `lines`.
    pub(crate) fn new(parents: &HashMap<usize, usize>, outcomes: &Outcomes, lines: &[u64]) -> Self {
        let rows = parents
            .values()
            .map(|&parent| {
                let known = outcomes.view(parent).map(|o| match o.org_id {
                    Some(id) if o.status.is_done() => ParentState::Created(id.to_string()),
                    _ => ParentState::NotCreated(o.error.unwrap_or(o.status.as_str()).to_string()),
                });
                (parent, (lines[parent], known))
            })
            .collect();
        ParentIds {
            rows: Mutex::new(rows),
        }
    }

    /// Records how row `index` ended, if it is a parent.
    pub(crate) fn finished(&self, index: usize, outcome: &Outcome) {
        let mut rows = self.rows.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, known)) = rows.get_mut(&index) {
            *known = Some(match &outcome.org_id {
                Some(id) if outcome.status.is_done() => ParentState::Created(id.clone()),
                _ => ParentState::NotCreated(
                    (outcome.error.clone()).unwrap_or_else(|| outcome.status.as_str().into()),
                ),
            });
        }
    }

    /// The organization id of parent row `index`.
    ///
    /// # Errors
    /// [`NoParent`]: why there is none.
    pub(crate) fn id_of(&self, index: usize) -> Result<String, NoParent> {
        let rows = self.rows.lock().unwrap_or_else(|e| e.into_inner());
        match rows.get(&index) {
            Some((_, Some(ParentState::Created(id)))) => Ok(id.clone()),
            Some((line, Some(ParentState::NotCreated(why)))) => Err(NoParent::NotCreated {
                line: *line,
                why: why.clone(),
            }),
            Some((line, None)) => Err(NoParent::NotSent { line: *line }),
            None => Err(NoParent::Unknown),
        }
    }
}

/// One worker's share of the run: what it needs to send one row.
#[derive(Clone)]
pub(crate) struct Worker {
    pub(crate) client: ApiClient,
    pub(crate) events: mpsc::Sender<Event>,
    pub(crate) stop: Arc<Stop>,
    /// The run's pause switch: a row taken while the run is paused waits for the resume.
    pub(crate) control: RunControl,
    /// Requests sent, and the look-ups among them.
    pub(crate) requests: Arc<RequestCount>,
    /// The tenant, part of every idempotency key.
    pub(crate) tenant: String,
    pub(crate) parent_ids: Arc<ParentIds>,
    /// How every request of a row is retried.
    pub(crate) policy: RetryPolicy,
    /// The `--on-existing` check against the tenant listing, run before a row is sent.
    pub(crate) on_existing: Option<Arc<ExistingCheck>>,
}

impl Worker {
    /// Takes rows from `queue` and sends them one at a time, until the queue is empty or the
    /// run stops. While the run is paused, a row taken is held, unsent, until it resumes.
    pub(crate) async fn take_rows(self, queue: Arc<tokio::sync::Mutex<RowQueue>>) {
        loop {
            let pending = {
                // The worker holding the lock waits for the reader and watches for a stop;
                // the others wait for the lock.
                let mut rows = queue.lock().await;
                if self.stop.is_set() {
                    return;
                }
                tokio::select! {
                    biased;
                    _ = self.stop.wait() => return,
                    row = rows.next() => match row {
                        Some(row) => row,
                        None => return,
                    },
                }
            };
            // Not announced to the journal yet: a stop while paused leaves it unsent.
            if !self.control.until_running().await {
                return;
            }
            self.run(pending).await;
        }
    }

    /// Announces the row of `key` to the journal, then sends its create (`request`) and hands
    /// back how it ended; `None` when the results task is gone.
    async fn create(
        &self,
        client: &ApiClient,
        key: &str,
        request: &CreateOrganization,
        in_doubt: bool,
    ) -> Option<Outcome> {
        // The journal learns of the row before the API does, so that a crash in between is
        // followed by a lookup rather than a blind resend.
        let (written, journaled) = oneshot::channel();
        let key = key.to_string();
        let announced = self.events.send(Event::Sending {
            key: key.clone(),
            written,
        });
        if announced.await.is_err() || journaled.await.is_err() {
            return None;
        }
        // The body is serialized once, and the same bytes are hashed into the idempotency key
        // and sent on every attempt.
        let body = Bytes::from(serde_json::to_vec(request).expect("a request always serialises"));
        let idempotency_key = idempotency_key(&self.tenant, &key, &body);
        let row = Row {
            request,
            body: &body,
            idempotency_key: &idempotency_key,
            in_doubt,
        };
        Some(send_row(client, row, self.policy, &self.stop, &self.requests).await)
    }

    /// Sends `pending` (once the journal has it) and reports how it ended.
    pub(crate) async fn run(&self, pending: Pending) {
        let Pending {
            index,
            line,
            key,
            mut request,
            in_doubt,
            parent,
        } = pending;
        // The row's requests wait while the run is paused, until one has left.
        let hold = Arc::new(self.control.hold());
        let client = self.client.held(hold.clone());
        let mut outcome = match parent.map(|p| self.parent_ids.id_of(p)) {
            Some(Err(why)) => Some(Outcome::not_sent(format!("{why}; rerun once it exists"))),
            Some(Ok(parent_id)) => {
                request.parent_id = Some(parent_id);
                None
            }
            None => None,
        };
        // A row an earlier attempt may have created is left to the lookup before resending.
        let mut update = false;
        if let Some(check) = self
            .on_existing
            .as_ref()
            .filter(|_| outcome.is_none() && !in_doubt)
        {
            outcome = check
                .before_send(&client, &request, &self.stop, &self.requests)
                .await;
            update = outcome.is_some();
        }
        let outcome = match outcome {
            Some(outcome) => outcome,
            None => match self.create(&client, &key, &request, in_doubt).await {
                Some(outcome) => outcome,
                None => return, // The results task is gone; the run is failing already.
            },
        };
        // The stop came before any request of the row left: it was not sent, whatever error
        // its steps made of that.
        let outcome = if hold.withheld() {
            Outcome::not_sent(WITHHELD.into())
        } else {
            outcome
        };
        // The results task outlives the workers; a send fails only if it died, and then the
        // results cannot be written anyway.
        let _ = self
            .events
            .send(Event::Finished {
                index,
                line,
                key,
                outcome,
                update,
            })
            .await;
    }
}
