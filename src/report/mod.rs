//! What the user reads: the progress display while a run goes on ([`progress`]) and the
//! end-of-run summary ([`summary`]).

pub(crate) mod listing;
pub mod live;
pub mod progress;
pub mod requests;
pub mod summary;
