//! The tenant as it is before sending: its organizations listed once ([`existing`]) or each
//! row's looked up by itself ([`lookup`]), whichever costs less ([`reading`]), a row compared
//! field by field with the organization it matches ([`diff`]), and what `import
//! --on-existing` does with such a row ([`on_existing`]); whether a template id names a
//! template ([`templates`]); the connection a command opens to it ([`session`]: the client,
//! the token and the pace, or the built-in sandbox when rehearsing).

pub(crate) mod diff;
pub(crate) mod existing;
pub(crate) mod lookup;
pub(crate) mod on_existing;
pub(crate) mod reading;
pub(crate) mod session;
pub(crate) mod templates;
