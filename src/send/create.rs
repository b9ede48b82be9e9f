//! One row's create, from its first request to its outcome: retries, the idempotency key, the
//! look-up before a resend that may duplicate, and adopting an organization after a 409.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::*;
use crate::api::{ApiClient, Backoff, CallError, CreateOrganization, RetryPolicy};
use crate::record::{Outcome, Status};
use crate::{Error, RowError};

/// A resend this soon after an unanswered create is safe: the API replays its first answer
/// for the same idempotency key for one minute (less a margin for clocks and transit).
pub(crate) const REPLAY_WINDOW: Duration = Duration::from_secs(50);

/// A row as a worker sends it.
#[derive(Clone, Copy)]
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

/// Sends one row until it is created, refused, or out of attempts.
///
/// A retry after an ambiguous failure (5xx, timeout, dropped connection) carries the same
/// idempotency key, so within the server's replay window it gets the first answer instead of
/// creating again. Past that window, and for rows an earlier run may have created, a row
/// with an id relies on the 409 that a second create would get; a row without one is looked
/// up by name before it is sent again.
pub(crate) async fn send_row(
    client: &ApiClient,
    row: Row<'_>,
    policy: RetryPolicy,
    stop: &Stop,
    requests: &AtomicU64,
) -> Outcome {
    let request = row.request;
    let mut backoff = Backoff::default();
    let mut attempts = 0;
    // Since when a create of ours may have gone through unheard.
    let mut in_doubt_since: Option<Instant> = None;
    let mut maybe_created = row.in_doubt;
    loop {
        let must_look = request.id.is_none()
            && ((attempts == 0 && row.in_doubt)
                || in_doubt_since.is_some_and(|t| t.elapsed() >= REPLAY_WINDOW));
        if must_look {
            match look_up_by_name(client, request, attempts, policy, stop).await {
                Some(outcome) => return outcome,
                None => in_doubt_since = None,
            }
        }
        attempts += 1;
        requests.fetch_add(1, Ordering::Relaxed);
        let error = match client
            .create_json(row.body.clone(), row.idempotency_key)
            .await
        {
            Ok(org) => {
                return Outcome::done(Status::Created, org.id, Some(201), attempts);
            }
            Err(e) => e,
        };
        if error.status() == Some(409)
            && let Some(id) = &request.id
        {
            return adopt_existing(client, request, id, maybe_created, attempts, policy, stop)
                .await;
        }
        if let CallError::Auth(Error::AuthRejected { .. }) = &error {
            let CallError::Auth(fatal) = error else {
                unreachable!()
            };
            let message = fatal.to_string();
            stop.fatal(fatal);
            return Outcome::failed(None, RowError::Token(message), attempts);
        }
        if error.is_ambiguous() {
            maybe_created = true;
            in_doubt_since.get_or_insert_with(Instant::now);
        }
        let retry = policy.after(
            &mut backoff,
            error,
            attempts,
            stop,
            "a create",
            &request.name,
        );
        if let Err(gave_up) = retry.await {
            return Outcome::failed(gave_up.status(), gave_up.into_row_error(), attempts);
        }
    }
}

/// Looks for the organization a create of ours may have made: `None` when there is none (so
/// the row is to be sent), else the row's outcome.
pub(crate) async fn look_up_by_name(
    client: &ApiClient,
    request: &CreateOrganization,
    attempts: u32,
    policy: RetryPolicy,
    stop: &Stop,
) -> Option<Outcome> {
    let name = &request.name;
    let found = policy
        .call(stop, "a look-up", name, || client.find_by_name(name))
        .await;
    match found {
        Ok(found) if found.is_empty() => None,
        Ok(mut found) if found.len() == 1 => {
            let org = found.pop().expect("one organization");
            Some(Outcome::done(Status::Created, org.id, Some(200), attempts))
        }
        Ok(found) => Some(Outcome::failed(
            Some(200),
            RowError::AmbiguousName(format!(
                "HTTP 200 ambiguous_name: {} organizations are named {:?} ({}); not sent \
                 again, to create no duplicate: give the row an id, or remove the extra \
                 organizations",
                found.len(),
                request.name,
                found
                    .iter()
                    .map(|o| o.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            attempts,
        )),
        Err(e) => {
            let status = e.status();
            Some(Outcome::failed(
                status,
                RowError::LookUpFailed(Box::new(e.into_row_error())),
                attempts,
            ))
        }
    }
}

/// After a 409 for a row with an id: fetch the organization with that id and take it as the
/// row's if its name matches.
pub(crate) async fn adopt_existing(
    client: &ApiClient,
    request: &CreateOrganization,
    id: &str,
    maybe_created: bool,
    attempts: u32,
    policy: RetryPolicy,
    stop: &Stop,
) -> Outcome {
    let found = policy
        .call(stop, "a look-up", &request.name, || client.get(id))
        .await;
    match found {
        Ok(Some(org)) if org.name == request.name => {
            // After an ambiguous attempt of ours, the organization is the one we created.
            let status = if maybe_created {
                Status::Created
            } else {
                Status::Exists
            };
            Outcome::done(status, org.id, Some(409), attempts)
        }
        Ok(Some(org)) => Outcome::failed(
            Some(409),
            RowError::Conflict(format!(
                "HTTP 409 conflict: id {id:?} already belongs to an organization named {:?}, \
                 not {:?}",
                org.name, request.name
            )),
            attempts,
        ),
        Ok(None) => Outcome::failed(
            Some(409),
            RowError::Conflict(format!(
                "HTTP 409 conflict: the API reported id {id:?} as taken but cannot find it"
            )),
            attempts,
        ),
        Err(e) => Outcome::failed(e.status(), e.into_row_error(), attempts),
    }
}

/// A key the server uses to recognise a resend of the same create: the same row (tenant, key
/// and body, as JSON) always gives the same key; a changed row gives a new one.
pub(crate) fn idempotency_key(tenant: &str, key: &str, body: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hash = Sha256::new();
    hash.update(b"orgimport/1\0");
    hash.update(tenant.as_bytes());
    hash.update(b"\0");
    hash.update(key.as_bytes());
    hash.update(b"\0");
    hash.update(body);
    let mut hex = String::with_capacity(64);
    for b in hash.finalize() {
        hex.push(char::from(HEX[usize::from(b >> 4)]));
        hex.push(char::from(HEX[usize::from(b & 15)]));
    }
    hex
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_the_hex_sha256_of_tenant_key_and_body() {
        let body = br#"{"name":"acme"}"#;
        let key = idempotency_key("demo", "name:acme", body);
        // The same key as earlier versions made, so a run resumed by a newer build still
        // gets the replay of its first answer.
        let mut hash = Sha256::new();
        hash.update(b"orgimport/1\0demo\0name:acme\0");
        hash.update(body);
        let expected: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(key, expected);
        assert_ne!(
            key,
            idempotency_key("demo", "name:acme", br#"{"name":"acme2"}"#)
        );
    }
}
