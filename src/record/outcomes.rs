//! Every row's outcome in one packed store: 24 bytes a row, and one buffer holding the texts
//! of all rows (organization ids, errors, changes) back to back. An [`Outcome`] is 120 bytes
//! and up to three strings of its own; at a million rows that was most of an import's memory,
//! and a rerun held it twice (the earlier runs' and the plan's).
//!
//! A row is unsent (`None`: to be sent) until an outcome is set. Reading a row gives an
//! [`OutcomeView`] borrowing the texts, or an owned [`Outcome`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Outcome, Status};
use crate::error_kind::ErrorKind;

/// The length of a text that is absent (`None`), as opposed to empty.
const ABSENT: u32 = u32::MAX;
/// The status of an unsent row, in [`Packed::tag`]'s low bits.
const UNSENT: u16 = 7;
/// The bits of [`Packed::tag`] that hold the status.
const STATUS_BITS: u16 = 0b111;
/// The kind number of a row whose kind is in [`Outcomes::more_kinds`].
const MORE_KINDS: u16 = u16::MAX >> 3;
/// [`Packed::extra`] of a row with neither error nor changes.
const NO_EXTRA: u32 = u32::MAX;

/// One row, packed: where its texts start in the store's buffer and how long each is.
#[derive(Debug, Clone, Copy)]
struct Packed {
    /// Where the row's texts start: its org_id, then its error, then its changes.
    text: u64,
    /// The org_id's length, or [`ABSENT`].
    org_id: u32,
    /// The index in [`Outcomes::extras`] of the lengths of its error and changes, or
    /// [`NO_EXTRA`] when it has neither (as a row done has).
    extra: u32,
    attempts: u32,
    /// The HTTP status; 0 for none.
    http_status: u16,
    /// The status in the low 3 bits (its index in [`Status::ALL`], or [`UNSENT`]); above
    /// them the kind's number: 0 for none, 1 + its index in [`Outcomes::kinds`], or
    /// [`MORE_KINDS`].
    tag: u16,
}

impl Packed {
    const UNSENT: Packed = Packed {
        text: 0,
        org_id: ABSENT,
        extra: NO_EXTRA,
        attempts: 0,
        http_status: 0,
        tag: UNSENT,
    };

    /// The status's index in [`Status::ALL`], or [`UNSENT`].
    fn status(self) -> u16 {
        self.tag & STATUS_BITS
    }

    /// The kind's number.
    fn kind(self) -> u16 {
        self.tag >> 3
    }
}

/// A row's outcome, borrowed from an [`Outcomes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutcomeView<'a> {
    /// What became of the row.
    pub status: Status,
    /// The organization's id, when it exists.
    pub org_id: Option<&'a str>,
    /// The last HTTP status the API answered for the row.
    pub http_status: Option<u16>,
    /// Why the row failed or is invalid.
    pub error: Option<&'a str>,
    /// How many requests were sent for the row.
    pub attempts: u32,
    /// For an updated row, the fields the update changed.
    pub changes: Option<&'a str>,
    /// The kind of `error`.
    pub kind: Option<&'a ErrorKind>,
}

impl OutcomeView<'_> {
    /// The outcome, owned.
    pub fn to_outcome(&self) -> Outcome {
        Outcome {
            status: self.status,
            org_id: self.org_id.map(str::to_string),
            http_status: self.http_status,
            error: self.error.map(str::to_string),
            attempts: self.attempts,
            changes: self.changes.map(str::to_string),
            kind: self.kind.cloned(),
        }
    }
}

/// Every row's outcome, in input order, packed (see the module's docs).
#[derive(Debug)]
pub struct Outcomes {
    rows: Vec<Packed>,
    /// The texts of every row, back to back.
    texts: String,
    /// The lengths of the error and the changes of rows with either (each [`ABSENT`] when
    /// there is none); rows with the same two lengths share an entry.
    extras: Vec<[u32; 2]>,
    /// The latest entry of `extras`, to share it.
    last_extra: Option<([u32; 2], u32)>,
    /// The distinct error kinds, each once.
    kinds: Vec<ErrorKind>,
    /// Each kind's index in `kinds`.
    kind_index: HashMap<ErrorKind, u16>,
    /// Kinds of rows beyond the `u16::MAX - 1` distinct ones `kinds` can number.
    more_kinds: HashMap<usize, ErrorKind>,
    /// The latest text appended for a row with an error and no other text: rows that share
    /// one (every row a stopped run did not send) share its bytes.
    last_error: Option<(u64, u32)>,
    /// This store's number, and the number of the store its texts were handed to, if they
    /// were ([`Outcomes::hand_over_texts`]).
    id: u64,
    texts_went_to: Option<u64>,
}

impl Default for Outcomes {
    fn default() -> Self {
        Outcomes::with_capacity(0)
    }
}

/// Numbers the stores, so that rows are copied between two stores sharing one text buffer
/// only when they do.
static STORES: AtomicU64 = AtomicU64::new(1);

impl Outcomes {
    /// An empty store with room for `rows` rows.
    pub fn with_capacity(rows: usize) -> Outcomes {
        Outcomes {
            rows: Vec::with_capacity(rows),
            texts: String::new(),
            extras: Vec::new(),
            last_extra: None,
            kinds: Vec::new(),
            kind_index: HashMap::new(),
            more_kinds: HashMap::new(),
            last_error: None,
            id: STORES.fetch_add(1, Ordering::Relaxed),
            texts_went_to: None,
        }
    }

    /// How many rows there are.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Appends a row: unsent (`None`) or with `outcome`.
    pub fn push(&mut self, outcome: Option<&Outcome>) {
        self.rows.push(Packed::UNSENT);
        if let Some(outcome) = outcome {
            self.set(self.rows.len() - 1, outcome);
        }
    }

    /// Sets row `index`'s outcome, replacing what it had.
    ///
    /// # Panics
    /// When there is no row `index`.
    pub fn set(&mut self, index: usize, outcome: &Outcome) {
        let text = self.append_texts(outcome);
        let kind = match &outcome.kind {
            None => 0,
            Some(kind) => self.kind_number(index, kind),
        };
        if kind == 0 {
            self.more_kinds.remove(&index);
        }
        let lengths = [
            length(outcome.error.as_deref()),
            length(outcome.changes.as_deref()),
        ];
        let extra = match (lengths, self.last_extra) {
            ([ABSENT, ABSENT], _) => NO_EXTRA,
            (lengths, Some((last, at))) if last == lengths => at,
            (lengths, _) => {
                let at = u32::try_from(self.extras.len())
                    .ok()
                    .filter(|&at| at != NO_EXTRA)
                    .expect("fewer than 4 billion rows");
                self.extras.push(lengths);
                self.last_extra = Some((lengths, at));
                at
            }
        };
        let status = Status::ALL
            .iter()
            .position(|s| *s == outcome.status)
            .expect("every status is in Status::ALL") as u16;
        self.rows[index] = Packed {
            text,
            org_id: length(outcome.org_id.as_deref()),
            extra,
            attempts: outcome.attempts,
            http_status: outcome.http_status.unwrap_or(0),
            tag: kind << 3 | status,
        };
    }

    /// Makes row `index` unsent again.
    ///
    /// # Panics
    /// When there is no row `index`.
    pub fn clear(&mut self, index: usize) {
        self.rows[index] = Packed::UNSENT;
        self.more_kinds.remove(&index);
    }

    /// Sets `outcome` on every row that has none yet.
    pub fn fill_unsent(&mut self, outcome: &Outcome) {
        for index in 0..self.rows.len() {
            if self.is_unsent(index) {
                self.set(index, outcome);
            }
        }
    }

    /// Whether row `index` has no outcome yet (it is to be sent); `false` for a row that
    /// does not exist.
    pub fn is_unsent(&self, index: usize) -> bool {
        self.rows.get(index).is_some_and(|r| r.status() == UNSENT)
    }

    /// Row `index`'s status, `None` when it has no outcome (or does not exist).
    pub fn status(&self, index: usize) -> Option<Status> {
        self.rows
            .get(index)
            .and_then(|r| Status::ALL.get(usize::from(r.status())).copied())
    }

    /// Row `index`'s outcome, borrowed; `None` when it has none (or does not exist).
    ///
    /// # Panics
    /// When this store's texts were handed to another ([`Outcomes::hand_over_texts`]).
    pub fn view(&self, index: usize) -> Option<OutcomeView<'_>> {
        let row = self.rows.get(index)?;
        let status = Status::ALL.get(usize::from(row.status())).copied()?;
        assert!(
            self.texts_went_to.is_none(),
            "the texts of these outcomes were handed over"
        );
        let mut at = row.text as usize;
        let mut take = |len: u32| {
            (len != ABSENT).then(|| {
                let text = &self.texts[at..at + len as usize];
                at += len as usize;
                text
            })
        };
        let [error, changes] = match row.extra {
            NO_EXTRA => [ABSENT, ABSENT],
            at => self.extras[at as usize],
        };
        let org_id = take(row.org_id);
        let error = take(error);
        let changes = take(changes);
        let kind = match row.kind() {
            0 => None,
            MORE_KINDS => self.more_kinds.get(&index),
            n => self.kinds.get(usize::from(n) - 1),
        };
        Some(OutcomeView {
            status,
            org_id,
            http_status: (row.http_status != 0).then_some(row.http_status),
            error,
            attempts: row.attempts,
            changes,
            kind,
        })
    }

    /// Row `index`'s outcome, owned; `None` when it has none (or does not exist).
    pub fn get(&self, index: usize) -> Option<Outcome> {
        self.view(index).map(|v| v.to_outcome())
    }

    /// Every row's outcome, borrowed, in order.
    pub fn iter(&self) -> impl Iterator<Item = Option<OutcomeView<'_>>> {
        (0..self.rows.len()).map(|index| self.view(index))
    }

    /// A new, empty store that takes this one's texts (and error kinds), with room for `rows`
    /// rows: rows of this one are then copied into it by [`Outcomes::push_row_of`] without
    /// copying their texts. This one keeps its rows and their statuses, but can no longer be
    /// read otherwise ([`Outcomes::view`] panics).
    pub fn hand_over_texts(&mut self, rows: usize) -> Outcomes {
        let mut new = Outcomes::with_capacity(rows);
        new.texts = std::mem::take(&mut self.texts);
        new.extras = std::mem::take(&mut self.extras);
        new.last_extra = self.last_extra;
        new.last_error = self.last_error;
        new.kinds = self.kinds.clone();
        new.kind_index = self.kind_index.clone();
        self.texts_went_to = Some(new.id);
        new
    }

    /// Appends row `index` of `other` (unsent when it has none): its packed row as it is when
    /// `other` handed its texts to this store, else copied.
    ///
    /// # Panics
    /// When `other`'s texts went to a store other than this one.
    pub fn push_row_of(&mut self, other: &Outcomes, index: usize) {
        let Some(row) = other.rows.get(index).copied() else {
            self.rows.push(Packed::UNSENT);
            return;
        };
        if other.texts_went_to == Some(self.id) {
            let at = self.rows.len();
            if row.kind() == MORE_KINDS
                && let Some(kind) = other.more_kinds.get(&index)
            {
                self.more_kinds.insert(at, kind.clone());
            }
            self.rows.push(row);
        } else {
            self.push(other.get(index).as_ref());
        }
    }

    /// Appends the texts of `outcome` and says where they start. An error alone that is the
    /// same as the last one appended so is not appended again.
    fn append_texts(&mut self, outcome: &Outcome) -> u64 {
        let start = self.texts.len() as u64;
        match (&outcome.org_id, &outcome.error, &outcome.changes) {
            (None, None, None) => start,
            (None, Some(error), None) => {
                if let Some((at, len)) = self.last_error
                    && len as usize == error.len()
                    && self.texts[at as usize..at as usize + len as usize] == **error
                {
                    return at;
                }
                self.texts.push_str(error);
                self.last_error = Some((start, length(Some(error))));
                start
            }
            (org_id, error, changes) => {
                for text in [org_id, error, changes].into_iter().flatten() {
                    self.texts.push_str(text);
                }
                start
            }
        }
    }

    /// The number of `kind` for row `index` (1 + its index in `kinds`), adding it if new.
    fn kind_number(&mut self, index: usize, kind: &ErrorKind) -> u16 {
        if let Some(&n) = self.kind_index.get(kind) {
            self.more_kinds.remove(&index);
            return n;
        }
        if self.kinds.len() < usize::from(MORE_KINDS - 1) {
            self.kinds.push(kind.clone());
            let n = self.kinds.len() as u16;
            self.kind_index.insert(kind.clone(), n);
            self.more_kinds.remove(&index);
            n
        } else {
            self.more_kinds.insert(index, kind.clone());
            MORE_KINDS
        }
    }
}

/// The length of a text, [`ABSENT`] for none.
///
/// # Panics
/// For a text of 4 GiB or more.
fn length(text: Option<&str>) -> u32 {
    match text {
        None => ABSENT,
        Some(text) => u32::try_from(text.len())
            .ok()
            .filter(|&len| len != ABSENT)
            .expect("a cell under 4 GiB"),
    }
}

impl FromIterator<Option<Outcome>> for Outcomes {
    fn from_iter<I: IntoIterator<Item = Option<Outcome>>>(iter: I) -> Self {
        let mut outcomes = Outcomes::default();
        for outcome in iter {
            outcomes.push(outcome.as_ref());
        }
        outcomes
    }
}

#[cfg(test)]
mod tests;
