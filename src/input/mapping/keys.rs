//! A row's keys: its id, else its name, which tell it apart within the file and across runs,
//! and the parent it names, read from its cells as the mapping says.

use std::borrow::Cow;

use csv::StringRecord;

use super::{Mapping, at};

/// The key of a row (its id, else its name) and, when it names one, its parent's key.
#[derive(Debug, Default)]
pub struct Keys {
    /// `id:<id>` or `name:<name>`.
    pub key: Option<String>,
    /// The `parent` value: the key (id or name) of another row of the file.
    pub parent: Option<String>,
    /// The `parent_id` value, which may also be another row's id.
    pub parent_id: Option<String>,
    /// The row's id, if it has one.
    pub id: Option<String>,
    /// The row's name, if it has one.
    pub name: Option<String>,
}

/// [`Keys`] as read from a row, borrowing its cells where they are used as they are: what
/// planning reads of every row without copying a cell.
#[derive(Debug, Default)]
pub struct RowKeys<'r> {
    /// The `parent` value: the key (id or name) of another row of the file.
    pub parent: Option<Cow<'r, str>>,
    /// The `parent_id` value, which may also be another row's id.
    pub parent_id: Option<Cow<'r, str>>,
    /// The row's id, if it has one.
    pub id: Option<Cow<'r, str>>,
    /// The row's name, if it has one.
    pub name: Option<Cow<'r, str>>,
}

impl RowKeys<'_> {
    /// The row's key, `id:<id>` or `name:<name>`, if it has one: as two parts, the kind and
    /// the value.
    pub fn key_parts(&self) -> Option<(&'static str, &str)> {
        match (&self.id, &self.name) {
            (Some(id), _) => Some(("id:", id)),
            (None, Some(name)) => Some(("name:", name)),
            _ => None,
        }
    }

    /// The row's key, `id:<id>` or `name:<name>`, if it has one.
    pub fn key(&self) -> Option<String> {
        self.key_parts()
            .map(|(kind, value)| format!("{kind}{value}"))
    }

    /// These keys, owning their texts.
    pub fn into_owned(self) -> Keys {
        Keys {
            key: self.key(),
            parent: self.parent.map(Cow::into_owned),
            parent_id: self.parent_id.map(Cow::into_owned),
            id: self.id.map(Cow::into_owned),
            name: self.name.map(Cow::into_owned),
        }
    }
}

impl Mapping {
    /// The row's key and parent references, as the plan needs them.
    pub fn keys(&self, record: &StringRecord) -> Keys {
        self.row_keys(record).into_owned()
    }

    /// [`Mapping::keys`], borrowing the cells used as they are.
    pub fn row_keys<'r>(&self, record: &'r StringRecord) -> RowKeys<'r> {
        RowKeys {
            parent: self.text(at::PARENT, record),
            parent_id: self.text(at::PARENT_ID, record),
            id: self.text(at::ID, record),
            name: self.text(at::NAME, record),
        }
    }

    /// The key that identifies the row across runs and within the file: its id when it has
    /// one, otherwise its name. `None` when it has neither.
    pub fn key(&self, record: &StringRecord) -> Option<String> {
        // As `keys` makes it, without the texts it does not need.
        match self.text(at::ID, record) {
            Some(id) => Some(format!("id:{id}")),
            None => self
                .text(at::NAME, record)
                .map(|name| format!("name:{name}")),
        }
    }
}
