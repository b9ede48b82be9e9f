//! 3. Review

use std::sync::Arc;

use axum::Router;
use maud::{Markup, html};

use super::Console;

/// The problems found.
pub(crate) struct Review {}

/// The step's routes.
pub(super) fn routes() -> Router<Arc<Console>> {
    Router::new()
}

/// The step's section.
pub(super) fn section(_console: &Console) -> Markup {
    html! {
        section #review aria-labelledby="review-title" {
            h2 #review-title { "3. Review" }
        }
    }
}
