//! A row's idempotency keys: the key of its first create, the same in every run, and the key
//! that replaces it once the server has replayed an answer naming an organization since
//! deleted.

use sha2::{Digest, Sha256};

/// A key the server uses to recognise a resend of the same create: the same row (tenant, key
/// and body, as JSON) always gives the same key; a changed row gives a new one.
pub(crate) fn idempotency_key(tenant: &str, key: &str, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(b"orgimport/1\0");
    hash.update(tenant.as_bytes());
    hash.update(b"\0");
    hash.update(key.as_bytes());
    hash.update(b"\0");
    hash.update(body);
    hex(&hash.finalize())
}

/// The key to create the row again with, after the server answered `key` with a replay of a
/// create of organization `stale_id`, which no longer exists (it was deleted, by `undo` or by
/// hand, within the server's replay memory). The same key and stale id always give the same
/// new key, so that a run killed after sending it and run again sends it again, rather than
/// a third key that the server would take for another create.
pub(crate) fn key_after_stale_replay(key: &str, stale_id: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"orgimport/stale-replay/1\0");
    hash.update(key.as_bytes());
    hash.update(b"\0");
    hash.update(stale_id.as_bytes());
    hex(&hash.finalize())
}

/// `bytes` as lowercase hex.
fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(bytes.len() * 2);
    for b in bytes {
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

    #[test]
    fn the_key_after_a_stale_replay_depends_on_the_old_key_and_the_stale_id_only() {
        let key = idempotency_key("demo", "name:acme", br#"{"name":"acme"}"#);
        let next = key_after_stale_replay(&key, "o-1");
        assert_eq!(next, key_after_stale_replay(&key, "o-1"), "deterministic");
        assert_eq!(next.len(), 64);
        assert!(next.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(next, key);
        assert_ne!(next, key_after_stale_replay(&key, "o-2"));
        assert_ne!(next, key_after_stale_replay(&next, "o-1"));
    }
}
