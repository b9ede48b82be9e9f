//! One row's create over HTTP: runs the steps `CreateSteps` says (creates, look-ups, reads,
//! pauses) against the API, and makes the row's idempotency key.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use sha2::{Digest, Sha256};

use super::create_steps::{CreateSteps, Row, Step};
use super::*;
use crate::api::{ApiClient, Backoff, RetryPolicy};
use crate::record::Outcome;

/// Sends one row until it is created, refused, or out of attempts, as [`CreateSteps`] says.
///
/// A retry after an ambiguous failure (5xx, timeout, dropped connection) carries the same
/// idempotency key, so within the server's replay window it gets the first answer instead of
/// creating again. Past that window, and for rows an earlier run may have created, a row
/// with an id relies on the 409 that a second create would get; a row without one is looked
/// up by name before it is sent again. Every create sent is counted in `requests`; rejected
/// credentials set `stop` with the fatal error.
pub(crate) async fn send_row(
    client: &ApiClient,
    row: Row<'_>,
    policy: RetryPolicy,
    stop: &Stop,
    requests: &AtomicU64,
) -> Outcome {
    let name = row.request.name.as_str();
    let mut steps = CreateSteps::new(row, policy);
    let mut backoff = Backoff::default();
    let mut step = steps.start(Instant::now());
    loop {
        step = match step {
            Step::LookUp => {
                let found = policy
                    .call(stop, "a look-up", name, || client.find_by_name(name))
                    .await;
                steps.looked_up(found)
            }
            Step::Send {
                body,
                idempotency_key,
            } => {
                requests.fetch_add(1, Ordering::Relaxed);
                let reply = client.create_json(body.clone(), idempotency_key).await;
                steps.sent(reply.map(|org| org.id), Instant::now())
            }
            Step::FetchById(id) => {
                let found = policy
                    .call(stop, "a look-up", name, || client.get(id))
                    .await;
                steps.fetched(found)
            }
            Step::Pause(error) => {
                if policy
                    .pause(&mut backoff, &error, stop, "a create", name)
                    .await
                {
                    steps.waited(Instant::now())
                } else {
                    steps.stopped(error)
                }
            }
            Step::Fatal(error, outcome) => {
                stop.fatal(error);
                return outcome;
            }
            Step::Done(outcome) => return outcome,
        };
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
