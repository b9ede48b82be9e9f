//! Step 1, the file: the upload, streamed to the working folder, and what the file holds,
//! found by the engine's own reading of it.

use std::sync::Arc;

use axum::Router;
use maud::{Markup, html};

use super::Console;

/// The uploaded file and how it is read.
pub(crate) struct Upload {}

/// The step's routes.
pub(super) fn routes() -> Router<Arc<Console>> {
    Router::new()
}

/// The step's section.
pub(super) fn section(_console: &Console) -> Markup {
    html! {
        section #file aria-labelledby="file-title" {
            h2 #file-title { "1. The file" }
        }
    }
}
