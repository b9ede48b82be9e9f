//! `orgimport plan`: what an import would do to each row, against the tenant as it is now.
//!
//! The input is read and checked as `import` reads it, the tenant is read as `import` reads it
//! (listed once into an [`Existing`], or, when that costs more, each row's organization, parent
//! and template looked up: `tenant::reading`), and every row gets an [`Action`]. Only reads are
//! sent. The plan is
//! written as `<input stem>.plan.csv` beside the input (or `--out`): every input column, then
//! [`PLAN_COLUMNS`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

mod classify;
use classify::classify;

use crate::api::{CreateOrganization, RetryPolicy};
use crate::exit::Ending;
use crate::input::{Mapping, Source, Untemplated};
use crate::planning::{self, Plan};
use crate::record::{self, CsvOut, EarlierRuns, Writing};
use crate::report::listing::ListingProgress;
use crate::settings::{ImportSettings, PlanSettings};
use crate::stop::Stop;
use crate::tenant::diff::{self, Change};
use crate::tenant::lookup::Keys;
use crate::tenant::reading;
use crate::tenant::session;
use crate::tenant::templates;
use crate::{Error, ExitStatus};

/// The columns the plan file adds after the input's own.
pub const PLAN_COLUMNS: [&str; 4] = ["action", "org_id", "changes", "reason"];

/// What an import would do with a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// No organization matches: it would be created.
    Create,
    /// It would be created once its parent, another row that is new too, exists.
    CreateAfterParent,
    /// Its organization exists with every field the row gives: nothing to do.
    ExistsIdentical,
    /// Its organization exists and differs in the fields listed in `changes`.
    ExistsDifferent,
    /// It matches more than one organization, or a template: a person must decide.
    Conflict,
    /// It breaks a rule, or names a parent or template the tenant lacks; `reason` says which.
    Invalid,
}

impl Action {
    /// Every action, in the order summaries list them.
    pub const ALL: [Action; 6] = [
        Action::Create,
        Action::CreateAfterParent,
        Action::ExistsIdentical,
        Action::ExistsDifferent,
        Action::Conflict,
        Action::Invalid,
    ];

    /// The word written in the `action` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::CreateAfterParent => "create-after-parent",
            Action::ExistsIdentical => "exists-identical",
            Action::ExistsDifferent => "exists-different",
            Action::Conflict => "conflict",
            Action::Invalid => "invalid",
        }
    }
}

/// One row of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowPlan {
    /// What would happen.
    pub action: Action,
    /// The organization it matches, or the id it would be created with.
    pub org_id: Option<String>,
    /// For `exists-different`, the fields that differ.
    pub changes: Vec<Change>,
    /// Why, for `create-after-parent`, `conflict` and `invalid`.
    pub reason: Option<String>,
}

impl RowPlan {
    fn new(action: Action) -> RowPlan {
        RowPlan {
            action,
            org_id: None,
            changes: Vec::new(),
            reason: None,
        }
    }

    fn because(action: Action, reason: String) -> RowPlan {
        RowPlan {
            reason: Some(reason),
            ..RowPlan::new(action)
        }
    }
}

/// What `plan` found, for the summary and the exit code.
#[derive(Debug)]
pub struct Report {
    /// Rows in the input.
    pub rows: usize,
    /// Rows by action.
    pub counts: BTreeMap<Action, u64>,
    /// Organizations (templates included) the tenant has; when it was not listed whole, those
    /// the look-ups found.
    pub existing: usize,
    /// Requests that read the tenant (list pages, look-ups), retries included, but for the
    /// look-ups' retries.
    pub list_requests: u64,
    /// How long reading the tenant took.
    pub list_elapsed: Duration,
    /// Look-ups made instead of listing the whole tenant (0 when it was listed).
    pub look_ups: u64,
    /// The whole command's time.
    pub elapsed: Duration,
    /// The plan file.
    pub out: PathBuf,
    /// The rows that would not simply be created or left alone (`exists-different`,
    /// `conflict`, `invalid`), in input order, with their line and plan: what a person reads
    /// before deciding `--on-existing`.
    pub details: Vec<(u64, RowPlan)>,
}

impl Report {
    /// The summary as `plan --json` prints it.
    pub fn to_json(&self) -> String {
        let actions: serde_json::Map<String, serde_json::Value> = Action::ALL
            .iter()
            .map(|a| (a.as_str().to_string(), self.count(*a).into()))
            .collect();
        serde_json::json!({
            "rows": self.rows,
            "actions": actions,
            "existing": self.existing,
            "look_ups": self.look_ups,
            "list_requests": self.list_requests,
            "list_seconds": self.list_elapsed.as_secs_f64(),
            "seconds": self.elapsed.as_secs_f64(),
            "plan": self.out.display().to_string(),
        })
        .to_string()
    }

    /// How many rows would get `action`.
    pub fn count(&self, action: Action) -> u64 {
        self.counts.get(&action).copied().unwrap_or(0)
    }

    /// Success when every row's organization exists as the row says (an import would change
    /// nothing), failed otherwise: something would be created or updated, or a row is
    /// invalid or in conflict.
    pub fn exit_status(&self) -> ExitStatus {
        Ending {
            failed: self.count(Action::ExistsIdentical) != self.rows as u64,
            ..Ending::default()
        }
        .status()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counts: Vec<String> = Action::ALL
            .iter()
            .filter(|a| self.count(**a) > 0)
            .map(|a| format!("{} {}", self.count(*a), a.as_str()))
            .collect();
        let tenant = if self.look_ups > 0 {
            format!(
                "the rows' organizations were looked up ({} look-ups, {} requests in {:.1}s)",
                self.look_ups,
                self.list_requests,
                self.list_elapsed.as_secs_f64()
            )
        } else {
            format!(
                "the tenant has {}, templates included (listed in {:.1}s, {} requests)",
                crate::report::plural(self.existing, "organization"),
                self.list_elapsed.as_secs_f64(),
                self.list_requests
            )
        };
        write!(
            f,
            "{}: {}; {tenant}; plan: {}",
            crate::report::plural(self.rows, "row"),
            if counts.is_empty() {
                "none".to_string()
            } else {
                counts.join(", ")
            },
            crate::stdout::shown(&self.out)
        )
    }
}

/// `orgimport plan`: plans the import `settings` describe, writes the plan file and prints
/// the summary.
///
/// # Errors
/// As [`plan`].
pub async fn run(settings: PlanSettings) -> anyhow::Result<ExitStatus> {
    let input = settings.import.input.clone();
    let report = plan(settings.import, settings.out)
        .await
        .with_context(|| format!("planning {}", input.display()))?;
    if settings.json {
        println!("{}", report.to_json());
    } else {
        eprintln!("{report}");
    }
    Ok(report.exit_status())
}

/// Plans an import as `config` says, writing the plan to `out`. Sends no write.
///
/// # Errors
/// A fatal [`Error`]: settings, input, credentials, an unusable default template, a tenant
/// that cannot be listed, or a plan file that cannot be written where it is named (checked
/// before any request).
pub async fn plan(config: ImportSettings, out: PathBuf) -> Result<Report, Error> {
    let started = Instant::now();
    // The results file the import of this input writes by default (`plan` has no results
    // file of its own: its `--out` is the plan's, and its settings name the import's).
    let results = config.results.clone();
    record::check_report(
        &out,
        "the plan",
        Writing::Replaced,
        Some(&results),
        Some(&config.input),
    )?;
    let source = Source::settle(&config.input, &config.dialect)?;
    source.announce(&config.input);
    // The plan reads no results, but says when the import it plans would refuse them.
    if let Some(warning) = config.tenant_check.warning(&config.results) {
        eprintln!("warning: {warning}");
    }
    let session = session::connect(&config).await?;
    let default_template = session.default_template.clone();
    // The requests are kept beside the plan file, whose folder is known to be writable.
    let dir = out.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new("."));
    let (mapping, plan, requests) =
        read_rows(&source, &config, default_template.clone(), dir).await?;
    refuse_untemplated(&config, &plan, &requests)?;
    // Nothing sets this stop signal: Ctrl-C ends `plan` at once, as nothing is written yet.
    let stop = Arc::new(Stop::new());
    let policy = RetryPolicy::new(config.max_attempts);
    let keys = Keys::of_requests(&requests, default_template.as_deref());
    let progress = ListingProgress::new(config.quiet);
    let concurrency = config.concurrency.get();
    let read = reading::read_index(
        &session.client,
        policy,
        &stop,
        &keys,
        concurrency,
        &progress,
    );
    let (existing, look_ups) = read.await?;
    if let Some(template) = &default_template
        && let Some(problem) = templates::problem(existing.get(template))
    {
        let from = config.default_template_from.as_deref();
        return Err(templates::refusal(
            &plan.row_templates,
            template,
            problem,
            from,
        ));
    }
    let rows = classify(&plan, requests, &existing);
    drop(mapping);

    let (counts, details) = tally(&plan, &rows);
    let plan_path = out.clone();
    tokio::task::spawn_blocking(move || write(&source, &plan_path, &rows))
        .await
        .expect("the plan writer does not panic")?;
    Ok(Report {
        rows: plan.outcomes.len(),
        counts,
        existing: existing.len(),
        list_requests: existing.requests,
        list_elapsed: existing.elapsed,
        look_ups,
        elapsed: started.elapsed(),
        out,
        details,
    })
}

/// Refuses the plan as the import would: rows that would be sent with no template, unless
/// `--no-template` says that is meant.
fn refuse_untemplated(
    config: &ImportSettings,
    plan: &Plan,
    requests: &[Option<CreateOrganization>],
) -> Result<(), Error> {
    if config.no_template {
        return Ok(());
    }
    let mut untemplated = Untemplated::default();
    for (index, request) in requests.iter().enumerate() {
        if request.as_ref().is_some_and(|r| r.template_id.is_none()) {
            untemplated.add(plan.lines[index]);
        }
    }
    untemplated.refuse(&config.input)
}

/// How many rows take each action, and the line and plan of each row the summary details
/// (different, in conflict, invalid).
fn tally(plan: &Plan, rows: &[RowPlan]) -> (BTreeMap<Action, u64>, Vec<(u64, RowPlan)>) {
    let mut counts = BTreeMap::new();
    let mut details = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        *counts.entry(row.action).or_insert(0u64) += 1;
        if matches!(
            row.action,
            Action::ExistsDifferent | Action::Conflict | Action::Invalid
        ) {
            details.push((plan.lines[index], row.clone()));
        }
    }
    (counts, details)
}

/// Reads and checks the input as `import` does (without an earlier run's results: the plan
/// is against the tenant), and takes the request of every valid row from those planning
/// built (kept in a spill file in `dir`), by row: what the import would send.
async fn read_rows(
    source: &Source,
    config: &ImportSettings,
    default_template: Option<String>,
    dir: &Path,
) -> Result<(Mapping, Plan, Vec<Option<CreateOrganization>>), Error> {
    let source = source.clone();
    let spec = config.mapping.clone();
    let validate = crate::input::validate_command(&config.input, &config.dialect, &spec);
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mapping = source.mapping(&spec)?;
        let plan = planning::build_listing_refusal(
            &source,
            &mapping,
            &mut EarlierRuns::default(),
            default_template.as_deref(),
            &dir,
            &validate,
        )?;
        let mut requests = vec![None; plan.outcomes.len()];
        for kept in plan.requests.read()? {
            let kept = kept?;
            // A row found invalid after its request was kept (by its parent) has none.
            if plan.outcomes.is_unsent(kept.index) {
                requests[kept.index] = Some(kept.request(&plan.requests)?);
            }
        }
        Ok((mapping, plan, requests))
    })
    .await
    .expect("the planning thread does not panic")
}

/// Writes the plan file: every row of the input in order, its fields as read, then its plan
/// ([`PLAN_COLUMNS`]), through the results file's writer: UTF-8 with a byte-order mark, the
/// input's delimiter, cells neutralized.
fn write(source: &Source, out: &Path, rows: &[RowPlan]) -> Result<(), Error> {
    let mut file = CsvOut::create(out, source.delimiter())?;
    record::copy_input(
        source,
        &mut file,
        &PLAN_COLUMNS,
        rows.len(),
        |index, file| {
            let plan = &rows[index];
            file.cell(plan.action.as_str())?;
            file.cell(plan.org_id.as_deref().unwrap_or_default())?;
            file.cell(&diff::to_text(&plan.changes))?;
            file.cell(plan.reason.as_deref().unwrap_or_default())
        },
    )?;
    file.finish()
}
