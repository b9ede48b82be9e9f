//! The HTML of the page (maud: escaped by default): the shell, and each step's section as it
//! stands, rendered by the step's own file. The whole page is rendered on every load (a
//! reload shows where the work is); after an action the script fetches one section again
//! from `/part/STEP` and puts it in place.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Html;
use axum::routing::get;
use maud::{DOCTYPE, Markup, html};

use super::{ApiError, ApiQuery, Console, columns, file, plan, results, review, run};

/// The page's routes.
pub(super) fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/", get(page))
        .route("/part/{step}", get(part))
}

/// The steps of the page, in order: each a section with this id, rendered by its file.
const STEPS: [&str; 6] = ["file", "columns", "review", "plan", "run", "results"];

/// The whole page.
async fn page(State(console): State<Arc<Console>>) -> Html<String> {
    let target = console.target_words();
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "orgimport console" }
                link rel="stylesheet" href="/assets/console.css";
                script src="/assets/app.js" defer {}
                script src="/assets/run.js" defer {}
            }
            body {
                header {
                    h1 { "Import organizations" }
                    p.target { (target) }
                }
                main {
                    @for step in STEPS {
                        (section(&console, step))
                    }
                }
            }
        }
    };
    Html(markup.into_string())
}

/// One step's section, for the script to put in place after an action.
async fn part(
    State(console): State<Arc<Console>>,
    Path(step): Path<String>,
    ApiQuery(paging): ApiQuery<review::Paging>,
) -> Result<Html<String>, ApiError> {
    if !STEPS.contains(&step.as_str()) {
        return Err(ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            format!("no step {step:?}"),
        ));
    }
    if step == "review" {
        // Checked now if it was not yet (a step's refusal shows as its section's note).
        let _ = review::current(&console).await;
        return Ok(Html(review::section_at(&console, &paging).into_string()));
    }
    Ok(Html(section(&console, &step).into_string()))
}

/// The section of `step`.
fn section(console: &Arc<Console>, step: &str) -> Markup {
    match step {
        "file" => file::section(console),
        "columns" => columns::section(console),
        "review" => review::section(console),
        "run" => run::section(console),
        "results" => results::section(console),
        _ => plan::section(console),
    }
}

impl Console {
    /// Where the imports of this console go, in words for the page (no credential).
    fn target_words(&self) -> String {
        match &self.import.target {
            crate::settings::Target::Tenant(t) if self.sandbox => format!(
                "Rehearsal: the built-in sandbox (tenant {}); nothing reaches a real tenant.",
                t.tenant
            ),
            crate::settings::Target::Tenant(t) => {
                format!("Tenant {} at {}", t.tenant, t.base_url)
            }
            crate::settings::Target::Sandbox => "The built-in sandbox.".to_string(),
        }
    }
}
