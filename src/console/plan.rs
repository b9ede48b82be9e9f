//! Step 4, the plan: the comparison `orgimport plan` makes (its own code,
//! [`crate::commands::plan::plan`]) of the file, as the review left it, with the tenant as it
//! is: counts of new, identical, different and invalid rows, each different row's fields old
//! and new, and the `--on-existing` choice with its consequence in words. The plan file is
//! written in the working folder, as `plan` writes it.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, ApiJson, Console};
use crate::commands::plan::{self as cli_plan, Action, Report};
use crate::settings::default_plan_path;
use crate::tenant::on_existing::OnExisting;

/// What the plan found, and the choice made for existing organizations.
pub(crate) struct Planned {
    /// `plan`'s report.
    pub(crate) report: Report,
}

/// The step's routes.
pub(super) fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/api/plan", get(current).post(make))
        .route("/api/plan/on-existing", post(choose))
}

/// GET `/api/plan`: the plan made last, and the choice.
async fn current(State(console): State<Arc<Console>>) -> Result<Json<Value>, ApiError> {
    let work = console.work();
    match &work.plan {
        Some(planned) => Ok(Json(to_json(planned, work.on_existing))),
        None => Err(ApiError::not_yet("no plan yet: make one (step 4)")),
    }
}

/// POST `/api/plan`: compares the file with the tenant, as `orgimport plan` does.
async fn make(State(console): State<Arc<Console>>) -> Result<Json<Value>, ApiError> {
    let (input, dialect, spec) = console.work().chosen()?;
    let settings = console.import_for(&input, dialect, spec);
    let out = default_plan_path(&input, console.sandbox);
    let report = cli_plan::plan(settings, out).await?;
    let planned = Arc::new(Planned { report });
    let mut work = console.work();
    work.plan = Some(planned.clone());
    Ok(Json(to_json(&planned, work.on_existing)))
}

/// The `--on-existing` choice.
#[derive(Deserialize)]
struct Choice {
    on_existing: String,
}

/// POST `/api/plan/on-existing`: skip, fail or update, for the run.
async fn choose(
    State(console): State<Arc<Console>>,
    ApiJson(choice): ApiJson<Choice>,
) -> Result<Json<Value>, ApiError> {
    let on_existing = match choice.on_existing.as_str() {
        "skip" => OnExisting::Skip,
        "fail" => OnExisting::Fail,
        "update" => OnExisting::Update,
        other => {
            return Err(ApiError::bad(format!(
                "--on-existing {other:?} is not one of skip, fail, update"
            )));
        }
    };
    let mut work = console.work();
    work.on_existing = on_existing;
    let counts = work.plan.as_ref().map(|p| Counts::of(&p.report));
    Ok(Json(json!({
        "on_existing": choice.on_existing,
        "consequence": consequence(on_existing, counts.as_ref()),
    })))
}

/// The plan's counts as the page groups them.
struct Counts {
    new: u64,
    identical: u64,
    different: u64,
    conflict: u64,
    invalid: u64,
}

impl Counts {
    fn of(report: &Report) -> Counts {
        Counts {
            new: report.count(Action::Create) + report.count(Action::CreateAfterParent),
            identical: report.count(Action::ExistsIdentical),
            different: report.count(Action::ExistsDifferent),
            conflict: report.count(Action::Conflict),
            invalid: report.count(Action::Invalid),
        }
    }
}

/// What the run will do with the rows whose organization exists, in words.
fn consequence(choice: OnExisting, counts: Option<&Counts>) -> String {
    let (existing, different, new) = counts.map_or((None, None, None), |c| {
        (
            Some(c.identical + c.different),
            Some(c.different),
            Some(c.new),
        )
    });
    let n = |x: Option<u64>, what: &str| match x {
        Some(x) => format!("{x} {what}"),
        None => format!("the {what}"),
    };
    match choice {
        OnExisting::Skip => format!(
            "Skip: {} that exist already are left as they are and recorded as \"exists\"; {} are created.",
            n(existing, "organizations"),
            n(new, "new ones")
        ),
        OnExisting::Fail => format!(
            "Fail: {} whose organization exists are recorded as failed, naming it; nothing is \
             changed in the tenant for them; {} are created.",
            n(existing, "rows"),
            n(new, "new ones")
        ),
        OnExisting::Update => format!(
            "Update: {} that differ are changed in the tenant (each field listed below is \
             sent, PUT) and recorded as \"updated\"; identical ones are left alone; {} are created.",
            n(different, "organizations"),
            n(new, "new ones")
        ),
    }
}

/// The plan as the page reads it.
fn to_json(planned: &Planned, on_existing: OnExisting) -> Value {
    let report = &planned.report;
    let counts = Counts::of(report);
    let details: Vec<Value> = report
        .details
        .iter()
        .map(|(line, row)| {
            json!({
                "line": line,
                "action": row.action.as_str(),
                "org_id": row.org_id,
                "reason": row.reason,
                "changes": row.changes.iter().map(|c| json!({
                    "field": c.field, "old": c.old, "new": c.new,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "rows": report.rows,
        "new": counts.new,
        "identical": counts.identical,
        "different": counts.different,
        "conflict": counts.conflict,
        "invalid": counts.invalid,
        "plan_file": report.out.file_name().map(|n| n.to_string_lossy().into_owned()),
        "details": details,
        "on_existing": on_existing_word(on_existing),
        "consequence": consequence(on_existing, Some(&counts)),
    })
}

/// The word `--on-existing` takes.
fn on_existing_word(choice: OnExisting) -> &'static str {
    match choice {
        OnExisting::Skip => "skip",
        OnExisting::Fail => "fail",
        OnExisting::Update => "update",
    }
}

/// The step's section: the counts, the differences, the choice.
pub(super) fn section(console: &Console) -> Markup {
    let work = console.work();
    let choice = work.on_existing;
    html! {
        section #plan aria-labelledby="plan-title" {
            h2 #plan-title { "4. Plan" }
            p { "Compare the file with the tenant as it is now (nothing is written to it)." }
            button #plan-make type="button" { "Compare with the tenant" }
            p #plan-status aria-live="polite" {}
            @if let Some(planned) = &work.plan {
                (body(planned, choice))
            }
        }
    }
}

/// The plan's content.
fn body(planned: &Planned, choice: OnExisting) -> Markup {
    let counts = Counts::of(&planned.report);
    html! {
        p #plan-counts role="status" aria-live="polite" {
            (counts.new) " new, " (counts.identical) " identical, " (counts.different)
            " different, " (counts.invalid) " invalid"
            @if counts.conflict > 0 { ", " (counts.conflict) " in conflict" }
        }
        fieldset #on-existing {
            legend { "Organizations that exist already" }
            @for (word, label) in [("skip", "Skip them"), ("fail", "Record them as failed"), ("update", "Update the fields that differ")] {
                label {
                    input type="radio" name="on_existing" value=(word) checked[on_existing_word(choice) == word];
                    " " (label)
                }
            }
            p #on-existing-consequence { (consequence(choice, Some(&counts))) }
        }
        @let different: Vec<_> = planned.report.details.iter().filter(|(_, r)| r.action == Action::ExistsDifferent).collect();
        @if !different.is_empty() {
            h3 { "What differs" }
            table #plan-differences {
                thead { tr { th scope="col" { "Line" } th scope="col" { "Organization" } th scope="col" { "Field" } th scope="col" { "In the tenant" } th scope="col" { "In the file" } } }
                tbody {
                    @for (line, row) in different.iter().take(500) {
                        @for c in &row.changes {
                            tr { td { (line) } td { (row.org_id.as_deref().unwrap_or_default()) } td { (c.field) } td { (c.old) } td { (c.new) } }
                        }
                    }
                }
            }
        }
        @let held: Vec<_> = planned.report.details.iter().filter(|(_, r)| r.action != Action::ExistsDifferent).take(200).collect();
        @if !held.is_empty() {
            h3 { "Rows that will not be sent" }
            ul { @for (line, row) in held { li { "line " (line) ": " (row.action.as_str()) ": " (row.reason.as_deref().unwrap_or_default()) } } }
        }
    }
}
