//! 2. Match columns

use std::sync::Arc;

use axum::Router;
use maud::{Markup, html};

use super::Console;

/// The mapping chosen for the file.
pub(crate) struct Chosen {}

/// The step's routes.
pub(super) fn routes() -> Router<Arc<Console>> {
    Router::new()
}

/// The step's section.
pub(super) fn section(_console: &Console) -> Markup {
    html! {
        section #columns aria-labelledby="columns-title" {
            h2 #columns-title { "2. Match columns" }
        }
    }
}
