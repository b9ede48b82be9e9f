//! A problem a row has, named by kind, column and value, for messages and the summary by kind.

use std::fmt;

use crate::input::quote::escaped;

/// The kinds of problem a row can have, for the summary by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProblemKind {
    /// The record cannot be read as fields (not UTF-8, wrong field count).
    Unreadable,
    /// The name is empty.
    MissingName,
    /// A value is longer than its field allows.
    TooLong,
    /// The name (or display name) has control or bidi control characters, or shows nothing.
    BadName,
    /// An id, parent id or template id has characters ids cannot have.
    BadId,
    /// The email is not an address.
    BadEmail,
    /// The color is not `#RGB`/`#RRGGBB`.
    BadColor,
    /// A domain is not a domain name.
    BadDomain,
    /// A metadata value does not have its declared type.
    BadMetadata,
    /// Another row has the same key (id, else name).
    DuplicateKey,
    /// Another row's name is the same slug: two organizations would share one name.
    DuplicateName,
    /// The row's `parent` names no row of the file.
    MissingParent,
    /// The row is its own ancestor.
    ParentCycle,
    /// The row's parent row is invalid, so the row cannot be placed.
    InvalidParent,
}

impl ProblemKind {
    /// A short label for summaries.
    pub fn label(self) -> &'static str {
        match self {
            ProblemKind::Unreadable => "unreadable row",
            ProblemKind::MissingName => "missing name",
            ProblemKind::TooLong => "value too long",
            ProblemKind::BadName => "bad name",
            ProblemKind::BadId => "bad id",
            ProblemKind::BadEmail => "bad email",
            ProblemKind::BadColor => "bad color",
            ProblemKind::BadDomain => "bad domain",
            ProblemKind::BadMetadata => "bad metadata value",
            ProblemKind::DuplicateKey => "duplicate key",
            ProblemKind::DuplicateName => "duplicate name",
            ProblemKind::MissingParent => "unknown parent",
            ProblemKind::ParentCycle => "parent cycle",
            ProblemKind::InvalidParent => "invalid parent",
        }
    }
}

/// One problem of one row: the column, what is wrong (with the value), and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What kind of problem it is.
    pub kind: ProblemKind,
    /// The column's header, when one column is at fault, escaped as messages show it (it
    /// names the kind in summaries too).
    pub column: Option<String>,
    /// What is wrong, quoting the value (escaped: see [`crate::input::quote`]).
    pub message: String,
}

impl Problem {
    /// A problem of `column` (its header as written; stored escaped).
    pub fn new(kind: ProblemKind, column: Option<&str>, message: impl Into<String>) -> Self {
        Problem {
            kind,
            column: column.map(|c| escaped(c).into_owned()),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(c) => write!(f, "{c}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}
