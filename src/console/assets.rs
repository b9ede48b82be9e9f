//! The page's script and style, embedded in the binary (no CDN, no Node: the page works
//! offline).

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::routing::get;

use super::Console;

/// The page's script: one small vanilla file, no framework.
const APP_JS: &str = include_str!("assets/app.js");
/// The run and results steps' script.
const RUN_JS: &str = include_str!("assets/run.js");
/// The page's style.
const CONSOLE_CSS: &str = include_str!("assets/console.css");

/// The assets' routes.
pub(super) fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route(
            "/assets/app.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    APP_JS,
                )
            }),
        )
        .route(
            "/assets/run.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    RUN_JS,
                )
            }),
        )
        .route(
            "/assets/console.css",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
                    CONSOLE_CSS,
                )
            }),
        )
}
