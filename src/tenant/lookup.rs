//! Rows' organizations read one by one instead of listing the tenant: a row with an id by
//! `GET /organizations/{id}`, one without by `GET /organizations?search_phrase=NAME` (a
//! case-insensitive substring search, paged, of which only organizations with exactly the
//! row's name that are not templates are kept). What the look-ups find, put in an
//! [`Existing`], matches each row as a listing of the whole tenant would: the same
//! organization, or the same conflict.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::api::{ApiClient, GaveUp, Organization, RetryPolicy};
use crate::stop::Stop;
use crate::tenant::existing::Existing;

/// What to read: organizations by id, and names to search for.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Keys {
    /// Ids to read (rows' ids, parents and templates they name).
    pub ids: BTreeSet<String>,
    /// Names of rows without an id.
    pub names: BTreeSet<String>,
}

impl Keys {
    /// The key of a row with `id` (if any) and `name`: its id, else its name.
    pub fn add_row(&mut self, id: Option<&str>, name: &str) {
        match id {
            Some(id) => self.ids.insert(id.to_string()),
            None => self.names.insert(name.to_string()),
        };
    }

    /// How many look-ups they take (a name shared by more than a page of organizations takes
    /// more requests).
    pub fn len(&self) -> usize {
        self.ids.len() + self.names.len()
    }

    /// Whether there is nothing to read.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What one look-up is about: an id to read, or a name to search for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// `GET /organizations/{id}`.
    Id(String),
    /// `GET /organizations?search_phrase=NAME`.
    Name(String),
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Key::Id(id) => write!(f, "id {id:?}"),
            Key::Name(name) => write!(f, "name {name:?}"),
        }
    }
}

/// The organizations a row with `id` (if any) and `name` may match, read as `policy` says
/// (for the log, the row is `name`); every request's first attempt is counted in `reads`.
///
/// # Errors
/// [`GaveUp`] when the read fails for good, or `stop` ends it.
pub async fn candidates(
    client: &ApiClient,
    policy: RetryPolicy,
    stop: &Stop,
    key: &Key,
    reads: &AtomicU64,
) -> Result<Vec<Organization>, GaveUp> {
    match key {
        Key::Id(id) => policy
            .call(stop, "a look-up", id, || {
                reads.fetch_add(1, Ordering::Relaxed);
                client.get(id)
            })
            .await
            .map(|found| found.into_iter().collect()),
        Key::Name(name) => {
            policy
                .call(stop, "a look-up", name, || {
                    reads.fetch_add(1, Ordering::Relaxed);
                    client.find_by_name(name)
                })
                .await
        }
    }
}

/// The organizations a row with `id` (if any) and `name` may match, indexed: its
/// [`Existing::find`] gives the row's match.
///
/// # Errors
/// As [`candidates`].
pub async fn look_up_row(
    client: &ApiClient,
    policy: RetryPolicy,
    stop: &Stop,
    id: Option<&str>,
    name: &str,
    reads: &AtomicU64,
) -> Result<Existing, GaveUp> {
    let key = match id {
        Some(id) => Key::Id(id.to_string()),
        None => Key::Name(name.to_string()),
    };
    let found = candidates(client, policy, stop, &key, reads).await?;
    Ok(Existing::from_organizations(found))
}

/// Every key of `keys` looked up, `concurrency` at a time, into one index.
///
/// # Errors
/// The first look-up that failed for good, with its key; the others are abandoned.
pub async fn look_up_all(
    client: &ApiClient,
    policy: RetryPolicy,
    stop: &Arc<Stop>,
    keys: &Keys,
    concurrency: usize,
    reads: &Arc<AtomicU64>,
) -> Result<Existing, (Key, GaveUp)> {
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = JoinSet::new();
    let all =
        (keys.ids.iter().cloned().map(Key::Id)).chain(keys.names.iter().cloned().map(Key::Name));
    for key in all {
        let (client, stop, reads, permits) =
            (client.clone(), stop.clone(), reads.clone(), permits.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let found = candidates(&client, policy, &stop, &key, &reads).await;
            found.map_err(|gave_up| (key, gave_up))
        });
    }
    let mut existing = Existing::default();
    while let Some(done) = tasks.join_next().await {
        match done.expect("a look-up does not panic") {
            Ok(found) => existing.extend(found),
            Err(failed) => {
                tasks.abort_all();
                return Err(failed);
            }
        }
    }
    Ok(existing)
}
