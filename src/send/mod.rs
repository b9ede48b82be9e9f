//! The import pipeline: plan the rows, then send the creates concurrently (a cap on requests
//! in flight, one shared rate limiter, one shared token), retrying what may pass, and hand
//! every outcome to the one task that owns the journal and the progress display.

use tokio::sync::oneshot;

pub mod collector;
pub mod create;
pub mod create_steps;
pub mod feed;
pub mod worker;

pub use crate::stop::Stop;

use crate::api::CreateOrganization;
use crate::record::Outcome;

/// Rows read ahead of the workers.
pub(crate) const READ_AHEAD: usize = 1024;
/// Rows handed from the reader to the workers at a time: one wake-up for this many rows.
pub(crate) const CHUNK: usize = 64;

/// A row on its way to the API.
pub(crate) struct Pending {
    /// Its position among the data rows.
    pub(crate) index: usize,
    /// Its key (id, else name), for the journal.
    pub(crate) key: String,
    /// The request body.
    pub(crate) request: CreateOrganization,
    /// An earlier run may have created it without hearing so: look before sending.
    pub(crate) in_doubt: bool,
}

/// What workers tell the results task.
pub(crate) enum Event {
    /// The row `key` is about to be sent for the first time; `written` is answered once that
    /// is in the journal, and only then is the request sent.
    Sending {
        key: String,
        written: oneshot::Sender<()>,
    },
    /// The row at `index` finished.
    Finished {
        index: usize,
        key: String,
        outcome: Outcome,
    },
}
