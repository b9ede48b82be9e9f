//! How a run is steered while it sends, from outside it: stopped (Ctrl-C, a Stop button, a
//! fatal error), paused and resumed.

use std::sync::Arc;

use crate::stop::Stop;

/// The handles on a run that the code starting it keeps: cheap to clone, shared with the
/// workers.
#[derive(Clone, Default)]
pub struct RunControl {
    /// Set to end the run: no new row is started, the rows in flight finish.
    pub stop: Arc<Stop>,
}

impl RunControl {
    /// A run not stopped.
    pub fn new() -> Self {
        RunControl::default()
    }
}
