//! `orgimport import`: read and check the input, connect, compare with the tenant, send, write
//! the results; then print the summary and end with the run's exit status.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;

use crate::api::RetryPolicy;
use crate::commands::session;
use crate::input::{InputSnapshot, Source};
use crate::planning::{self, Plan};
use crate::private_file::{self, Open};
use crate::record::{self, Journal, Outcome, ResultsLock, Writing};
use crate::report::listing::ListingProgress;
use crate::report::summary::{PaceReport, RunReport, Summary, commonest_kinds};
use crate::send;
use crate::settings::ImportSettings;
use crate::stop::Stop;
use crate::tenant::on_existing::ExistingCheck;
use crate::tenant::reading;
use crate::tenant::templates;
use crate::{Error, ExitStatus};

/// `orgimport import`: imports as `settings` say (or only shows what would be sent, for a
/// dry run), prints the summary and writes it as JSON when asked: for every run, a run that
/// stopped on a fatal error before sending included (its `fatal` set).
///
/// # Errors
/// A fatal error found before anything was sent, or an unwritable summary.
pub async fn run(settings: ImportSettings) -> anyhow::Result<ExitStatus> {
    let input = settings.input.clone();
    let context = || format!("importing {}", input.display());
    // The summary JSON's place first: every later failure is written into it.
    if let Some(path) = &settings.summary_json {
        let results = Some(settings.results.as_path());
        record::check_report(
            path,
            "the summary JSON",
            Writing::Replaced,
            results,
            Some(&settings.input),
        )
        .with_context(context)?;
    }
    if settings.dry_run.is_some() {
        return crate::commands::dry_run::run(&settings).await;
    }
    let summary_json = settings.summary_json.clone();
    let results = settings.results.clone();
    let started = Instant::now();
    let summary = match import(settings).await {
        Ok(summary) => summary,
        Err(error) => {
            let error = match &summary_json {
                Some(path) => write_fatal_summary(path, error, results, started),
                None => error,
            };
            return Err(anyhow::Error::new(error).context(context()));
        }
    };
    let report = RunReport::new(&summary);
    eprintln!("{report}");
    if let Some(fatal) = &summary.fatal {
        eprintln!("error: the run stopped: {fatal}");
    }
    if let Some(change) = &summary.input_changed {
        eprintln!(
            "warning: {} changed during the run ({change}); this run imported it as it was \
             when the run started, and the results file lists those rows; run the same \
             command again to import it as it is now",
            input.display()
        );
    }
    if let Some(path) = summary_json {
        report.write_json(&path)?;
    }
    Ok(summary.exit_status())
}

/// Writes the summary JSON of a run that `fatal` stopped before it sent anything, and hands
/// the error back; a failure to write it is printed.
fn write_fatal_summary(path: &Path, fatal: Error, results: PathBuf, started: Instant) -> Error {
    let summary = Summary::stopped_before_sending(fatal, results, started.elapsed());
    if let Err(e) = RunReport::new(&summary).write_json(path) {
        eprintln!("error: {e}");
    }
    summary
        .fatal
        .expect("a summary stopped before sending has its fatal error")
}

/// Runs an import as `config` says: plan, send, write the results.
///
/// The run holds the results file's lock from start to end ([`ResultsLock`]), and reads the
/// input from a copy taken at its start ([`InputSnapshot`]): every row is sent and recorded as
/// it was then, and a change made meanwhile is reported in [`Summary::input_changed`].
///
/// # Errors
/// A fatal [`Error`] found before anything was sent (settings, input, credentials, a results
/// file that cannot be written where it is named, or that another tenant's run wrote);
/// [`Error::Busy`] when another run holds the
/// results file. A fatal error after sending began is returned in [`Summary::fatal`], with the
/// results written; when they cannot be (a full disk), that is the fatal error, and the
/// journal is kept for the next run to finish from.
pub async fn import(config: ImportSettings) -> Result<Summary, Error> {
    let started = Instant::now();
    refuse_input_as_side_file(&config)?;
    // Before anything is written beside it (the lock first) or sent.
    record::check_writable(&config.results, "the results file", Writing::Replaced)?;
    let lock = ResultsLock::take(&config.results, "import")?;
    if let (Some(before), false) = (&lock.taken_over, config.quiet) {
        eprintln!(
            "{}: the run before ({before}) ended without finishing; this run takes over",
            config.results.display()
        );
    }
    let (input, results) = (config.input.clone(), config.results.clone());
    let snapshot = tokio::task::spawn_blocking(move || InputSnapshot::take(&input, &results))
        .await
        .expect("copying the input does not panic")?;
    // How the input is read (its sheet or encoding, delimiter and header) is settled on the
    // copy, once, before anything is sent.
    let source =
        Source::settle(snapshot.path(), &config.dialect).map_err(|e| snapshot.named_as_input(e))?;
    source.announce(&config.input);
    let session = session::connect(&config).await?;
    let (tenant, default_template) = (&session.tenant, session.default_template.clone());

    let planning::Prepared {
        mapping,
        plan,
        in_doubt,
        done_earlier,
        results_as_written,
    } = planning::prepare(
        &source,
        &config.mapping,
        &config.results,
        &config.tenant_check,
        default_template.clone(),
        config.validate_command(),
    )
    .await
    .map_err(|e| snapshot.named_as_input(e))?;
    if default_template.is_none() && !config.no_template {
        // Before anything is sent: the product doc says every organization needs one.
        plan.untemplated.clone().refuse(&config.input)?;
    }
    if done_earlier > plan.done_before {
        keep_earlier_results(&config, done_earlier - plan.done_before)?;
    }

    if plan.outcomes.is_empty() {
        eprintln!(
            "warning: {} has a header but no data rows; nothing to import",
            config.input.display()
        );
    }
    if !config.quiet
        && plan.done_before > 0
        && config.on_existing == crate::tenant::on_existing::OnExisting::Update
    {
        eprintln!(
            "{} rows done by an earlier run are not sent or compared again; to update them \
             too, write the results to a new file (--out)",
            plan.done_before
        );
    }
    if !config.quiet {
        for (line, problems) in &plan.invalid_examples {
            eprintln!("{}: {problems}", plan.numbering.place(&config.input, *line));
        }
        if plan.invalid > plan.invalid_examples.len() {
            eprintln!(
                "{}: {} more invalid rows (see the results file)",
                config.input.display(),
                plan.invalid - plan.invalid_examples.len()
            );
        }
    }

    let (client, tokens) = (&session.client, &session.tokens);
    let policy = RetryPolicy::new(config.max_attempts);
    let stop = Arc::new(Stop::new());
    // The journal holds every finished row and every row in flight, so after a second
    // Ctrl-C a rerun resumes from here without creating anything twice. Ctrl-C while the
    // tenant is listed ends the listing at once, and then nothing is sent.
    stop.on_ctrl_c(
        "interrupted: finishing the requests in flight, sending no new rows \
         (Ctrl-C again to quit at once)",
        Some("interrupted again: quitting now; rerun the same command to finish"),
    );
    let mut on_existing = None;
    if plan.to_send > 0 {
        // Credentials, scope and template are checked before any row is sent.
        // Retried as every call is; Ctrl-C meanwhile ends the run as interrupted.
        if let Err(e) = policy.token(tokens, &stop).await
            && !stop.is_set()
        {
            return Err(e);
        }
        // Every template the rows would be sent with (theirs, or the default), so that a
        // missing one stops the run here instead of failing each of its rows.
        let from = config.default_template_from.as_deref();
        templates::check(client, policy, &stop, &plan.row_templates, from).await?;
        // The tenant listed (a request per 100 organizations), or each row looked up before
        // it is sent, whichever costs less; then a row whose organization exists by id or
        // name is never created twice, whatever the mode. Fields are compared only to
        // update. Rows in doubt are left to the create's own look-up.
        let details = config.on_existing == crate::tenant::on_existing::OnExisting::Update;
        let in_doubt = plan.in_doubt_rows.iter();
        let in_doubt = in_doubt.filter(|&&i| plan.outcomes.is_unsent(i)).count();
        let rows_to_check = plan.to_send.saturating_sub(in_doubt);
        let progress = ListingProgress::new(config.quiet);
        let read = reading::read(client, policy, &stop, rows_to_check, details, &progress);
        if let Some(reading) = read.await? {
            let check = ExistingCheck::new(config.on_existing, reading, policy);
            on_existing = Some(Arc::new(check));
        }
    }

    let mark = config.target.mark();
    let journal = Journal::open(&config.results, &mark)?;
    let Plan {
        outcomes,
        lines,
        to_send,
        done_before,
        parents,
        waves,
        wave_count,
        in_doubt_rows,
        ..
    } = plan;
    let rows = outcomes.len();
    let send_mask: Vec<bool> = (0..rows).map(|i| outcomes.is_unsent(i)).collect();
    let sent = send::run(send::Job {
        source: source.clone(),
        shown_as: config.input.clone(),
        mapping,
        default_template: default_template.clone(),
        outcomes,
        lines: &lines,
        parents,
        waves,
        wave_count,
        to_send,
        in_doubt,
        client: client.clone(),
        tenant: tenant.tenant.clone(),
        policy,
        concurrency: config.concurrency,
        on_existing,
        journal,
        quiet: config.quiet,
        stop: stop.clone(),
    })
    .await;
    let send::Sent {
        outcomes,
        journal,
        requests,
        elapsed: send_elapsed,
    } = sent;
    let mut fatal = stop.take_fatal();
    let interrupted = stop.is_set() && fatal.is_none();
    let why_unsent = if interrupted {
        "the run was interrupted before this row was sent; rerun to send it".to_string()
    } else {
        "the run stopped before this row was sent; rerun to send it".to_string()
    };
    let mut outcomes = outcomes;
    outcomes.fill_unsent(&Outcome::not_sent(why_unsent));
    // A row an earlier run may have created stays in doubt until a run settles it.
    record::keep_in_doubt(&mut outcomes, &in_doubt_rows);
    let mut counts = HashMap::new();
    for o in outcomes.iter().flatten() {
        *counts.entry(o.status).or_insert(0u64) += 1;
    }
    // Rows of this run that took at least one request: not those the tenant listing settled.
    let sent = outcomes
        .iter()
        .zip(send_mask.iter())
        .filter(|(o, send)| **send && o.is_some_and(|o| o.attempts > 0))
        .count() as u64;
    let kinds = commonest_kinds(&outcomes, &lines);
    let results_path = config.results.clone();
    let written = tokio::task::spawn_blocking(move || -> Result<_, Error> {
        // A results file that says already what would be written is left as it is: a rerun
        // that changed nothing rewrites no row.
        if results_as_written.is_some_and(|file| file.says(&outcomes, &mark)) {
            tracing::debug!("the results file says what this run did already; left as it is");
        } else {
            // Unwritten (a full disk), the journal stays: it holds what this run did.
            record::write(&source, &results_path, &outcomes, &mark)
                .map_err(|e| results_unwritten(e, &results_path))?;
        }
        journal.remove()?;
        let change = snapshot.change();
        snapshot.remove();
        Ok(change)
    })
    .await
    .expect("the results writer does not panic");
    let input_changed = match written {
        Ok(change) => change,
        Err(unwritten) => {
            // The run ends on this one: without the results file, it is what to act on.
            if let Some(earlier) = fatal.replace(unwritten) {
                eprintln!("error: {earlier}");
            }
            None
        }
    };
    lock.release();

    Ok(Summary {
        rows,
        counts,
        done_before,
        sent,
        requests,
        token_fetches: tokens.fetches(),
        elapsed: started.elapsed(),
        send_elapsed,
        results: config.results,
        fatal,
        interrupted,
        kinds,
        input_changed,
        pace: PaceReport {
            refused: client.throttle().refused(),
            settled: client.throttle().settled(),
            learned: client.throttle().learned(),
        },
    })
}

/// The results file at `results` could not be written (`error`): the run stops with its
/// summary, and the message says where what the run did is kept and how to finish.
fn results_unwritten(error: Error, results: &Path) -> Error {
    let (kind, detail) = match error {
        Error::Io { path, error } if path == results => (error.kind(), error.to_string()),
        other => (std::io::ErrorKind::Other, other.to_string()),
    };
    Error::io(
        results,
        std::io::Error::new(
            kind,
            format!(
                "the results file could not be written ({detail}); what this run did is kept \
                 in its journal {}: free some space (or fix the cause) and run the same command \
                 again, which reads the journal back and writes the results file",
                record::journal_path(results).display()
            ),
        ),
    )
}

/// Refuses an input named as a file this run keeps beside the results file (its lock or its
/// journal), which the run would overwrite.
fn refuse_input_as_side_file(config: &ImportSettings) -> Result<(), Error> {
    let Ok(input) = config.input.canonicalize() else {
        return Ok(()); // a missing input is reported when it is read
    };
    for side in [
        record::lock_path(&config.results),
        record::journal_path(&config.results),
    ] {
        if side.canonicalize().is_ok_and(|side| side == input) {
            return Err(Error::Input {
                path: config.input.clone(),
                message: format!(
                    "this name is a file orgimport keeps beside the results file {}; rename \
                     the input or choose another --out",
                    config.results.display()
                ),
            });
        }
    }
    Ok(())
}

/// The results file names organizations that rows of this input do not: it belongs to
/// another input, or rows were removed. It is about to be replaced, so a copy is kept.
fn keep_earlier_results(config: &ImportSettings, missing: usize) -> Result<(), Error> {
    if !config.results.exists() {
        return Ok(());
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut name = config.results.as_os_str().to_owned();
    name.push(format!(".{stamp}.bak"));
    let copy = PathBuf::from(name);
    // A new file with the results file's mode (never through a link put at its name).
    let keep = || -> std::io::Result<u64> {
        let mut from = std::fs::File::open(&config.results)?;
        let mut to = private_file::open(&copy, Open::New)?;
        private_file::keep_mode(&config.results, &to)?;
        std::io::copy(&mut from, &mut to)
    };
    keep().map_err(|e| {
        let message = format!(
            "cannot keep a copy as {} before it is rewritten: {e}",
            copy.display()
        );
        Error::io(&config.results, std::io::Error::new(e.kind(), message))
    })?;
    eprintln!(
        "warning: {} lists {missing} organizations created by earlier runs for rows that are \
         not in {}; the results file is about to be rewritten for this input, so a copy \
         was kept as {}",
        config.results.display(),
        config.input.display(),
        copy.display()
    );
    Ok(())
}
