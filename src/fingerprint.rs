//! Row keys told apart without keeping them: a 128-bit fingerprint of each key, and a map from
//! fingerprints to row numbers at 16 bytes an entry (a string key and a `usize` took about 70).
//! Planning finds repeated keys with it, and a rerun finds what earlier runs left of each row.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A 128-bit fingerprint of a key: two SipHash digests with different prefixes. Two of a
/// million keys share one with odds near 1e-27.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(u64, u64);

/// The fingerprint of `key`.
pub(crate) fn fingerprint(key: &str) -> Fingerprint {
    fingerprint_parts(&[key])
}

/// The fingerprint of the key that is `parts` one after the other, the same as
/// [`fingerprint`] of them joined (the hasher takes bytes as a stream), without joining them.
pub(crate) fn fingerprint_parts(parts: &[&str]) -> Fingerprint {
    let half = |salt: u8| {
        let mut hasher = std::hash::DefaultHasher::new();
        hasher.write_u8(salt);
        for part in parts {
            hasher.write(part.as_bytes());
        }
        hasher.finish()
    };
    Fingerprint(half(0), half(1))
}

/// Row numbers by the fingerprint of their key.
///
/// Each entry is the fingerprint's first half, then its second half's low 32 bits and the
/// row: 16 bytes. A key whose first half another key has already (odds near 1e-8 at a million
/// keys) goes to a second map, under its whole fingerprint; so no two keys are ever told
/// apart by fewer than 96 bits.
#[derive(Debug, Default)]
pub(crate) struct FingerprintMap {
    first: HashMap<u64, (u32, u32), BuildHasherDefault<FirstHalf>>,
    others: HashMap<Fingerprint, u32>,
}

impl FingerprintMap {
    /// An empty map with room for `keys` keys.
    pub(crate) fn with_capacity(keys: usize) -> FingerprintMap {
        FingerprintMap {
            first: HashMap::with_capacity_and_hasher(keys, Default::default()),
            others: HashMap::new(),
        }
    }

    /// How many keys there are.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.first.len() + self.others.len()
    }

    /// The row of the key with fingerprint `key`.
    pub(crate) fn get(&self, key: Fingerprint) -> Option<u32> {
        match self.first.get(&key.0) {
            Some(&(rest, row)) if rest == key.1 as u32 => Some(row),
            Some(_) => self.others.get(&key).copied(),
            None => None,
        }
    }

    /// The row of `key`, and whether it was new: a new key gets `row`, a known one keeps its.
    pub(crate) fn get_or_insert(&mut self, key: Fingerprint, row: u32) -> (u32, bool) {
        use std::collections::hash_map::Entry;
        match self.first.entry(key.0) {
            Entry::Occupied(first) if first.get().0 == key.1 as u32 => (first.get().1, false),
            Entry::Occupied(_) => match self.others.entry(key) {
                Entry::Occupied(known) => (*known.get(), false),
                Entry::Vacant(new) => (*new.insert(row), true),
            },
            Entry::Vacant(new) => {
                new.insert((key.1 as u32, row));
                (row, true)
            }
        }
    }
}

/// The [`Hasher`] of a [`FingerprintMap`]: a fingerprint's half is a hash already, so it is
/// taken as it is rather than hashed again.
#[derive(Default)]
pub(crate) struct FirstHalf(u64);

impl Hasher for FirstHalf {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64`s are hashed here; anything else is folded in all the same.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
}

/// A row number as a [`FingerprintMap`] keeps it.
///
/// # Panics
/// For a row past the 4,294,967,295th (a file of some 800 GB).
pub(crate) fn row_number(row: usize) -> u32 {
    u32::try_from(row).expect("a file of fewer than 4 billion rows")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_by_their_fingerprint_and_the_first_row_of_a_key_stays() {
        let mut map = FingerprintMap::with_capacity(4);
        assert_eq!(map.get_or_insert(fingerprint("name:a"), 0), (0, true));
        assert_eq!(map.get_or_insert(fingerprint("name:b"), 1), (1, true));
        assert_eq!(map.get_or_insert(fingerprint("name:a"), 2), (0, false));
        assert_eq!(map.get(fingerprint("name:b")), Some(1));
        assert_eq!(map.get(fingerprint("name:c")), None);
        assert_eq!(map.len(), 2);
        assert_ne!(fingerprint("id:a"), fingerprint("name:a"));
    }

    #[test]
    fn a_key_in_parts_has_the_fingerprint_of_the_key_joined() {
        let long = "x".repeat(37);
        for (kind, value) in [
            ("id:", "cust-0000004"),
            ("name:", "customer-0000001"),
            ("name:", ""),
            ("id:", "a"),
            ("name:", long.as_str()),
            ("name:", "Müller GmbH"),
        ] {
            assert_eq!(
                fingerprint_parts(&[kind, value]),
                fingerprint(&format!("{kind}{value}")),
                "{kind}{value}"
            );
        }
        assert_ne!(fingerprint_parts(&["id:", "a"]), fingerprint("name:a"));
    }

    #[test]
    fn keys_that_share_a_first_half_are_still_told_apart() {
        let mut map = FingerprintMap::default();
        let a = Fingerprint(7, 1);
        let b = Fingerprint(7, 2);
        let c = Fingerprint(7, 1 + (1 << 32)); // same low 32 bits as a's second half
        assert_eq!(map.get_or_insert(a, 0), (0, true));
        assert_eq!(map.get(b), None);
        assert_eq!(map.get_or_insert(b, 1), (1, true));
        assert_eq!(map.get_or_insert(b, 5), (1, false));
        assert_eq!((map.get(a), map.get(b)), (Some(0), Some(1)));
        // Told apart from a by 96 bits only: the same key as far as the map can see.
        assert_eq!(map.get(c), Some(0));
        assert_eq!(map.len(), 2);
    }
}
