//! The steps of an import, in the order they run: each one a function that `import` (and any
//! other face of the tool that runs an import) calls in turn.
//!
//! 1. [`open`]: take the results file's lock, copy the input, settle how it is read.
//! 2. [`session::connect`](crate::tenant::session::connect): the tenant (or the sandbox).
//! 3. [`plan`]: read and check every row, decide what to send, say what was found.
//! 4. [`check_tenant`]: the token, the templates, and the tenant read for `--on-existing`.
//! 5. [`send`]: send the rows, journal each one, collect the outcomes.
//! 6. [`write_results`]: the results file written, the journal and the copy removed.
//! 7. [`summary`]: what the run did, for the screen and the summary JSON.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::Error;
use crate::api::RetryPolicy;
use crate::input::{InputSnapshot, Source};
use crate::planning::{self, Plan, Prepared};
use crate::private_file::{self, Open};
use crate::record::{self, Journal, Outcome, Outcomes, ResultsLock, Status, Writing};
use crate::report::listing::ListingProgress;
use crate::report::summary::{KindCount, PaceReport, Summary, commonest_kinds};
use crate::send::{self, RunControl};
use crate::settings::ImportSettings;
use crate::stop::Stop;
use crate::tenant::on_existing::{ExistingCheck, OnExisting};
use crate::tenant::reading;
use crate::tenant::session::Session;
use crate::tenant::templates;

/// An import whose results file is locked and whose input is copied and settled: what every
/// later step reads the input from.
pub struct Opened {
    /// The results file's lock, held until the run ends.
    pub lock: ResultsLock,
    /// The input as it was when the run started.
    pub snapshot: InputSnapshot,
    /// How that copy is read.
    pub source: Source,
}

/// Step 1: takes the results file's lock, copies the input and settles how it is read.
///
/// # Errors
/// An input named as a file kept beside the results file, a results file that cannot be
/// written where it is named, [`Error::Busy`] when another run holds it, an unreadable input.
pub async fn open(config: &ImportSettings) -> Result<Opened, Error> {
    refuse_input_as_side_file(config)?;
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
    Ok(Opened {
        lock,
        snapshot,
        source,
    })
}

/// Step 3: reads and checks every row and decides what to send; refuses rows without a
/// template when there is no default, keeps a copy of a results file about to lose rows, and
/// says what was found.
///
/// # Errors
/// Unreadable input, a mapping that does not fit, a results file of another tenant, rows that
/// would be sent without a template.
pub async fn plan(
    config: &ImportSettings,
    opened: &Opened,
    session: &Session,
) -> Result<Prepared, Error> {
    let default_template = session.default_template.clone();
    let prepared = planning::prepare(
        &opened.source,
        &config.mapping,
        &config.results,
        &config.tenant_check,
        default_template.clone(),
        config.validate_command(),
    )
    .await
    .map_err(|e| opened.snapshot.named_as_input(e))?;
    let plan = &prepared.plan;
    if default_template.is_none() && !config.no_template {
        // Before anything is sent: the product doc says every organization needs one.
        plan.untemplated.clone().refuse(&config.input)?;
    }
    if prepared.done_earlier > plan.done_before {
        keep_earlier_results(config, prepared.done_earlier - plan.done_before)?;
    }
    say_plan(config, plan);
    Ok(prepared)
}

/// Says on stderr what the plan found that the user should know before rows are sent.
fn say_plan(config: &ImportSettings, plan: &Plan) {
    let input = config.input.display();
    if plan.outcomes.is_empty() {
        eprintln!("warning: {input} has a header but no data rows; nothing to import");
    }
    if config.quiet {
        return;
    }
    if plan.done_before > 0 && config.on_existing == OnExisting::Update {
        eprintln!(
            "{} rows done by an earlier run are not sent or compared again; to update them \
             too, write the results to a new file (--out)",
            plan.done_before
        );
    }
    for (line, problems) in &plan.invalid_examples {
        eprintln!("{}: {problems}", plan.numbering.place(&config.input, *line));
    }
    if plan.invalid > plan.invalid_examples.len() {
        eprintln!(
            "{input}: {} more invalid rows (see the results file)",
            plan.invalid - plan.invalid_examples.len()
        );
    }
}

/// Step 4: when rows are to be sent, checks the credentials, scope and templates, and reads
/// the tenant for the `--on-existing` check. `stop` set meanwhile ends the reading early.
///
/// # Errors
/// Credentials or scope refused, a template missing, the tenant unreadable.
pub async fn check_tenant(
    config: &ImportSettings,
    session: &Session,
    plan: &Plan,
    stop: &Stop,
) -> Result<Option<Arc<ExistingCheck>>, Error> {
    if plan.to_send == 0 {
        return Ok(None);
    }
    let (client, tokens) = (&session.client, &session.tokens);
    let policy = RetryPolicy::new(config.max_attempts);
    // Credentials, scope and template are checked before any row is sent.
    // Retried as every call is; a stop meanwhile ends the run as interrupted.
    if let Err(e) = policy.token(tokens, stop).await
        && !stop.is_set()
    {
        return Err(e);
    }
    // Every template the rows would be sent with (theirs, or the default), so that a
    // missing one stops the run here instead of failing each of its rows.
    let from = config.default_template_from.as_deref();
    templates::check(client, policy, stop, &plan.row_templates, from).await?;
    // The tenant listed (a request per 100 organizations), or each row looked up before
    // it is sent, whichever costs less; then a row whose organization exists by id or
    // name is never created twice, whatever the mode. Fields are compared only to
    // update. Rows in doubt are left to the create's own look-up.
    let details = config.on_existing == OnExisting::Update;
    let in_doubt = plan.in_doubt_rows.iter();
    let in_doubt = in_doubt.filter(|&&i| plan.outcomes.is_unsent(i)).count();
    let rows_to_check = plan.to_send.saturating_sub(in_doubt);
    let progress = ListingProgress::new(config.quiet);
    let read = reading::read(client, policy, stop, rows_to_check, details, &progress);
    Ok(read
        .await?
        .map(|reading| Arc::new(ExistingCheck::new(config.on_existing, reading, policy))))
}

/// What sending left: every row's outcome, the journal, and what the summary counts.
pub struct SentRows {
    /// Each row's outcome, in input order: none unsent.
    pub outcomes: Outcomes,
    /// The journal, removed once the results file is written.
    pub journal: Journal,
    /// What the summary counts of the run.
    pub tally: Tally,
}

/// What the summary counts of a run that sent its rows.
pub struct Tally {
    /// Rows in the input.
    pub rows: usize,
    /// Rows by final status (this run and earlier ones).
    pub counts: HashMap<Status, u64>,
    /// Rows an earlier run had finished.
    pub done_before: usize,
    /// Rows of this run that took at least one request.
    pub sent: u64,
    /// Requests sent, retries included.
    pub requests: u64,
    /// The look-ups among them.
    pub look_ups: u64,
    /// The time spent sending.
    pub elapsed: Duration,
    /// Whether a stop (not a fatal error) ended the run early.
    pub interrupted: bool,
    /// The fatal error that ended the run early, if one did.
    pub fatal: Option<Error>,
    /// Every kind of error, commonest first.
    pub kinds: Vec<KindCount>,
}

/// Step 5: sends the rows `prepared` says to send, under `control` (stop, pause, progress),
/// every row journaled before it is sent and when it finishes; a row not sent gets an outcome
/// saying why.
///
/// # Errors
/// The journal cannot be opened.
pub async fn send(
    config: &ImportSettings,
    session: &Session,
    prepared: Prepared,
    on_existing: Option<Arc<ExistingCheck>>,
    control: &RunControl,
) -> Result<SentRows, Error> {
    let journal = Journal::open(&config.results, &config.target.mark())?;
    let mut plan = prepared.plan;
    let outcomes = std::mem::take(&mut plan.outcomes);
    let send_mask: Vec<bool> = (0..outcomes.len()).map(|i| outcomes.is_unsent(i)).collect();
    let plan = Arc::new(plan);
    let sent = send::run(send::Job {
        plan: plan.clone(),
        outcomes,
        shown_as: config.input.clone(),
        client: session.client.clone(),
        tenant: session.tenant.tenant.clone(),
        policy: RetryPolicy::new(config.max_attempts),
        concurrency: config.concurrency,
        on_existing,
        journal,
        quiet: config.quiet,
        control: control.clone(),
    })
    .await;
    let mut outcomes = sent.outcomes;
    let (interrupted, fatal) = settle_unsent(&mut outcomes, &control.stop, &plan.in_doubt_rows);
    // Rows of this run that took at least one request: not those the tenant listing settled.
    let sent_rows = outcomes
        .iter()
        .zip(send_mask.iter())
        .filter(|(o, send)| **send && o.is_some_and(|o| o.attempts > 0))
        .count() as u64;
    // Rows an earlier run created unheard (killed, or no answer): this run's look-up found
    // them and sent nothing. They were done by that run, as the rows the results file says.
    let found_done = outcomes
        .iter()
        .zip(send_mask.iter())
        .filter(|(o, send)| {
            **send && o.is_some_and(|o| o.attempts == 0 && o.status == Status::Created)
        })
        .count();
    let mut counts = HashMap::new();
    for o in outcomes.iter().flatten() {
        *counts.entry(o.status).or_insert(0u64) += 1;
    }
    let tally = Tally {
        rows: outcomes.len(),
        counts,
        done_before: plan.done_before + found_done,
        sent: sent_rows,
        requests: sent.requests,
        look_ups: sent.look_ups,
        elapsed: sent.elapsed,
        interrupted,
        fatal,
        kinds: commonest_kinds(&outcomes, &plan.lines),
    };
    Ok(SentRows {
        outcomes,
        journal: sent.journal,
        tally,
    })
}

/// Gives each row the run did not send an outcome saying why (a stop, or a fatal error),
/// and keeps in doubt the rows an earlier run may have created (`in_doubt_rows`) that this
/// run did not settle. Hands back whether a stop ended the run, and its fatal error if any.
fn settle_unsent(
    outcomes: &mut Outcomes,
    stop: &Stop,
    in_doubt_rows: &[usize],
) -> (bool, Option<Error>) {
    let fatal = stop.take_fatal();
    let interrupted = stop.is_set() && fatal.is_none();
    let why_unsent = if interrupted {
        "the run was interrupted before this row was sent; rerun to send it"
    } else {
        "the run stopped before this row was sent; rerun to send it"
    };
    outcomes.fill_unsent(&Outcome::not_sent(why_unsent.to_string()));
    // A row an earlier run may have created stays in doubt until a run settles it.
    record::keep_in_doubt(outcomes, in_doubt_rows);
    (interrupted, fatal)
}

/// Step 6: writes the results file (unless it says already what this run did), removes the
/// journal and the input's copy, and releases the lock. Hands back how the input changed
/// during the run, if it did.
///
/// # Errors
/// The results file cannot be written: the journal is then kept, for the next run to finish
/// from.
pub async fn write_results(
    config: &ImportSettings,
    opened: Opened,
    results_as_written: Option<record::unchanged::AsWritten>,
    outcomes: Outcomes,
    journal: Journal,
) -> Result<Option<String>, Error> {
    let Opened {
        lock,
        snapshot,
        source,
    } = opened;
    let results_path = config.results.clone();
    let mark = config.target.mark();
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
    lock.release();
    written
}

/// Step 7: the summary of a run that sent its rows (`sent`) and wrote its results (`written`:
/// how the input changed meanwhile, or why the results file could not be written).
pub fn summary(
    config: ImportSettings,
    session: &Session,
    sent: Tally,
    written: Result<Option<String>, Error>,
    started: Instant,
) -> Summary {
    let mut fatal = sent.fatal;
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
    let throttle = session.client.throttle();
    Summary {
        rows: sent.rows,
        rows_counted: true,
        counts: sent.counts,
        done_before: sent.done_before,
        sent: sent.sent,
        requests: sent.requests,
        look_ups: sent.look_ups,
        token_fetches: session.tokens.fetches(),
        elapsed: started.elapsed(),
        send_elapsed: sent.elapsed,
        results: config.results,
        fatal,
        interrupted: sent.interrupted,
        kinds: sent.kinds,
        input_changed,
        pace: PaceReport {
            refused: throttle.refused(),
            settled: throttle.settled(),
            learned: throttle.learned(),
        },
    }
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
