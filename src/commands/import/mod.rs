//! `orgimport import`: read and check the input, connect, compare with the tenant, send, write
//! the results; then print the summary and end with the run's exit status.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;

use crate::exit::conclude;
use crate::record::{self, Writing};
use crate::report::live::Phase;
use crate::report::summary::{RunReport, Summary};
use crate::send::RunControl;
use crate::settings::ImportSettings;
use crate::tenant::session;
use crate::{Error, ExitStatus};

pub mod dry_run;
pub mod steps;

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
        return dry_run::run(&settings).await;
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
    if let Some(change) = &summary.input_changed {
        eprintln!(
            "warning: {} changed during the run ({change}); this run imported it as it was \
             when the run started, and the results file lists those rows; run the same \
             command again to import it as it is now",
            input.display()
        );
    }
    let written = summary_json.map_or(Ok(()), |path| report.write_json(&path));
    match (conclude(&summary), written) {
        (Ok(status), written) => written.map(|()| status).map_err(Into::into),
        // Both are said: the summary JSON's failure here, the run's fatal error by main.
        (Err(fatal), Err(unwritten)) => {
            eprintln!("error: {unwritten}");
            Err(fatal)
        }
        (Err(fatal), Ok(())) => Err(fatal),
    }
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
///
/// [`ResultsLock`]: crate::record::ResultsLock
/// [`InputSnapshot`]: crate::input::InputSnapshot
pub async fn import(config: ImportSettings) -> Result<Summary, Error> {
    let started = Instant::now();
    let opened = steps::open(&config).await?;
    let session = session::connect(&config).await?;
    let prepared = steps::plan(&config, &opened, &session).await?;
    let control = RunControl::new();
    // The journal holds every finished row and every row in flight, so after a second
    // Ctrl-C a rerun resumes from here without creating anything twice. Ctrl-C while the
    // tenant is listed ends the listing at once, and then nothing is sent.
    control.stop.on_ctrl_c(
        "interrupted: finishing the requests in flight, sending no new rows \
         (Ctrl-C again to quit at once)",
        Some("interrupted again: quitting now; rerun the same command to finish"),
    );
    finish(config, opened, session, prepared, &control, started).await
}

/// Runs an import that [`steps::open`] opened, to its end, steered by `control` alone (no
/// Ctrl-C handler: stopping is `control.stop`'s), its phase published on `control` as it
/// goes: what a face of the tool other than the terminal runs. The same steps, in the same
/// order, as [`import`].
///
/// # Errors
/// As [`import`].
pub async fn run_opened(
    config: ImportSettings,
    opened: steps::Opened,
    control: &RunControl,
) -> Result<Summary, Error> {
    let started = Instant::now();
    let session = session::connect(&config).await?;
    control.set_phase(Phase::Planning);
    let prepared = steps::plan(&config, &opened, &session).await?;
    finish(config, opened, session, prepared, control, started).await
}

/// The steps of an import after its plan, the same for every face of the tool: read the
/// tenant, send, write the results, sum up; each phase published on `control`.
async fn finish(
    config: ImportSettings,
    opened: steps::Opened,
    session: session::Session,
    prepared: crate::planning::Prepared,
    control: &RunControl,
    started: Instant,
) -> Result<Summary, Error> {
    control.set_phase(Phase::ReadingTenant);
    let on_existing = steps::check_tenant(&config, &session, &prepared.plan, &control.stop).await?;
    let results_as_written = prepared.results_as_written;
    control.set_phase(Phase::Sending);
    let sent = steps::send(&config, &session, prepared, on_existing, control).await?;
    control.set_phase(Phase::Writing);
    let written = steps::write_results(
        &config,
        opened,
        results_as_written,
        sent.outcomes,
        sent.journal,
    )
    .await;
    Ok(steps::summary(
        config, &session, sent.tally, written, started,
    ))
}
