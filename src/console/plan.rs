//! 4. Plan

use std::sync::Arc;

use axum::Router;
use maud::{Markup, html};

use super::Console;

/// The step's routes.
pub(super) fn routes() -> Router<Arc<Console>> {
    Router::new()
}

/// The step's section.
pub(super) fn section(_console: &Console) -> Markup {
    html! {
        section #plan aria-labelledby="plan-title" {
            h2 #plan-title { "4. Plan" }
        }
    }
}
