//! `orgimport import --dry-run`: everything an import does before the network, and nothing
//! after. Shows the exact JSON the first rows would be sent as, and counts the rows that would
//! be created, skipped (done by an earlier run) and the invalid ones; with `--summary-json`,
//! the counts as JSON too (the text then goes to stderr when the JSON goes to stdout).

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::api::RetryPolicy;
use crate::exit::Ending;
use crate::input::{RowTemplates, Source};
use crate::planning::{self, Plan, Prepared};
use crate::record::{self, Writing};
use crate::sandbox::SandboxConfig;
use crate::settings::{ImportSettings, Target};
use crate::stop::Stop;
use crate::tenant::session;
use crate::tenant::templates;
use crate::{Error, ExitStatus};

/// Rows whose request is shown.
const SHOWN: usize = 3;

/// What a dry run found.
#[derive(Debug)]
pub struct DryRun {
    /// Rows in the input.
    pub rows: usize,
    /// Rows that would be sent.
    pub to_create: usize,
    /// Rows an earlier run finished, not to be sent again.
    pub skipped: usize,
    /// Invalid rows.
    pub invalid: usize,
    /// The text to print: the example requests and the counts.
    pub text: String,
}

impl DryRun {
    /// Success when no row is invalid, else failed (as the import would end).
    pub fn exit_status(&self) -> ExitStatus {
        Ending {
            failed: self.invalid > 0,
            ..Ending::default()
        }
        .status()
    }

    /// The counts as the summary JSON: `dry_run` true, and, as a run's, `rows`,
    /// `rows_counted`, `exit_code` and `fatal`.
    pub fn to_json(&self) -> Value {
        json!({
            "dry_run": true,
            "rows": self.rows,
            "rows_counted": true,
            "to_create": self.to_create,
            "skipped": self.skipped,
            "invalid": self.invalid,
            "exit_code": self.exit_status().code(),
            "fatal": Value::Null,
        })
    }
}

/// The summary JSON of a dry run that `fatal` stopped before it counted the rows.
fn fatal_json(fatal: &Error) -> Value {
    json!({
        "dry_run": true,
        "rows": 0,
        "rows_counted": false,
        "to_create": 0,
        "skipped": 0,
        "invalid": 0,
        "exit_code": ExitStatus::Fatal.code(),
        "fatal": fatal.to_string(),
    })
}

/// `orgimport import --dry-run`: prints what [`dry_run`] found, and writes it as JSON where
/// `--summary-json` says (a dry run stopped by a fatal error included, its `fatal` set).
///
/// # Errors
/// As [`dry_run`]; an unwritable summary JSON.
pub async fn run(settings: &ImportSettings) -> anyhow::Result<ExitStatus> {
    let dry = dry_run(settings).await;
    let Some(path) = &settings.summary_json else {
        let dry = dry?;
        print!("{}", dry.text);
        return Ok(dry.exit_status());
    };
    let json = dry.as_ref().map_or_else(fatal_json, DryRun::to_json);
    let written = crate::report::summary::write_json(path, &json);
    let (dry, written) = match (dry, written) {
        (Ok(dry), written) => (dry, written),
        (Err(fatal), Err(unwritten)) => {
            eprintln!("error: {unwritten}");
            return Err(fatal.into());
        }
        (Err(fatal), Ok(())) => return Err(fatal.into()),
    };
    // Standard output holds the JSON alone when it goes there.
    if crate::stdout::is_stdout(path) {
        eprint!("{}", dry.text);
    } else {
        print!("{}", dry.text);
    }
    written?;
    Ok(dry.exit_status())
}

/// Plans the import `config` describes and shows what would be sent, sending nothing.
///
/// # Errors
/// The fatal errors of planning: unreadable input, a mapping that does not fit, a results
/// file that is not orgimport's, or one that cannot be written where it is named.
pub async fn dry_run(config: &ImportSettings) -> Result<DryRun, Error> {
    // Where the import would write is checked as the import checks it: a dry run that
    // passes is one whose import does not stop on its results file.
    record::check_writable(&config.results, "the results file", Writing::Replaced)?;
    let tenant = config.dry_run.as_ref().and_then(|d| d.tenant.as_deref());
    let sandbox = config.dry_run.as_ref().is_some_and(|d| d.sandbox);
    let template = config
        .default_template
        .clone()
        .or_else(|| sandbox.then(|| SandboxConfig::default().template_id));
    let source = Source::settle(&config.input, &config.dialect)?;
    source.announce(&config.input);
    let Prepared { plan, .. } = planning::prepare(
        &source,
        &config.mapping,
        &config.results,
        &config.tenant_check,
        template.clone(),
        config.validate_command(),
    )
    .await?;
    if template.is_none() && !config.no_template {
        // As the import would refuse it, before it sends anything.
        plan.untemplated.clone().refuse(&config.input)?;
    }
    let mut text = String::new();
    check_templates(config, &plan.row_templates, &mut text).await?;
    let url = format!(
        "POST /api/system/{}/organizations",
        tenant.unwrap_or("{tenant}")
    );
    show_requests(&plan, &url, &mut text)?;
    let numbering = &plan.numbering;
    for (line, problems) in plan.invalid_examples.iter().take(SHOWN) {
        let place = numbering.place(&config.input, *line);
        let _ = writeln!(text, "{place}: {problems}");
    }
    if plan.invalid > SHOWN {
        let _ = writeln!(
            text,
            "{}: {} more invalid rows (`{}` lists every one)",
            config.input.display(),
            plan.invalid - SHOWN,
            config.validate_command()
        );
    }
    let _ = writeln!(
        text,
        "dry run, nothing sent: {}: {} would be created, {} skipped (done by an earlier \
         run), {} invalid; sent in {} wave(s), parents before children; results would go to {}",
        crate::report::plural(plan.outcomes.len(), "row"),
        plan.to_send,
        plan.done_before,
        plan.invalid,
        plan.wave_count,
        config.results.display()
    );
    Ok(DryRun {
        rows: plan.outcomes.len(),
        to_create: plan.to_send,
        skipped: plan.done_before,
        invalid: plan.invalid,
        text,
    })
}

/// Writes in `text` the first [`SHOWN`] requests the import would send to `url`, as the plan
/// kept them, in row order, each with its place in the input.
///
/// # Errors
/// [`Error::Io`] when the kept requests cannot be read back.
fn show_requests(plan: &Plan, url: &str, text: &mut String) -> Result<(), Error> {
    let numbering = &plan.numbering;
    let to_send = plan.requests.read()?;
    let to_send = to_send.filter(|r| {
        r.as_ref()
            .map_or(true, |r| plan.outcomes.is_unsent(r.index))
    });
    for planned in to_send.take(SHOWN) {
        let planned = planned?;
        let request = planned.request(&plan.requests)?;
        let _ = writeln!(text, "{}: {url}", numbering.at(planned.line));
        let _ = writeln!(
            text,
            "{}",
            serde_json::to_string_pretty(&request).expect("a request always serialises")
        );
        if let Some(parent) = plan.parents.get(&planned.index) {
            let _ = writeln!(
                text,
                "(parent_id: the organization of {}, once it exists)",
                numbering.short(plan.lines[*parent])
            );
        }
    }
    Ok(())
}

/// Reads the templates the rows would be sent with, as the import does before it sends: on
/// the tenant the settings name whole, or on a fresh sandbox for `--sandbox`. Without
/// credentials they are listed in `text` as not checked.
///
/// # Errors
/// [`Error::Template`] for the first that is not a template; the token's errors.
async fn check_templates(
    config: &ImportSettings,
    row_templates: &RowTemplates,
    text: &mut String,
) -> Result<(), Error> {
    if row_templates.ids.is_empty() {
        return Ok(());
    }
    let dry = config.dry_run.clone().unwrap_or_default();
    let target = match (dry.sandbox, dry.reads) {
        (true, _) => Target::Sandbox,
        (false, Some(tenant)) => Target::Tenant(tenant),
        (false, None) => {
            let ids: Vec<String> = row_templates
                .ids
                .iter()
                .map(|(id, rows)| format!("{id} ({} row(s))", rows.rows))
                .collect();
            let _ = writeln!(
                text,
                "templates not checked (no credentials given): {}; `{}` checks them",
                ids.join(", "),
                crate::input::command_reading(
                    "token",
                    &config.input,
                    &config.dialect,
                    &config.mapping
                )
            );
            return Ok(());
        }
    };
    let session = session::connect_to(&target, config, true).await?;
    let (policy, stop) = (RetryPolicy::new(config.max_attempts), Stop::new());
    policy.token(&session.tokens, &stop).await?;
    let from = config.default_template_from.as_deref();
    templates::check(&session.client, policy, &stop, row_templates, from).await?;
    let _ = writeln!(
        text,
        "templates checked: {} (each a template of the {})",
        row_templates
            .ids
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", "),
        if dry.sandbox { "sandbox" } else { "tenant" }
    );
    Ok(())
}
