//! `orgimport undo RESULTS.csv`: deletes the organizations a run created, to roll back a
//! rehearsal. Only rows with status `created` are touched (never `exists`: those were there
//! before the run), deepest children first, after a confirmation on a terminal or `--yes`.
//! Each row's fate goes to the undo report (`line,name,org_id,result,error`), and deleted rows
//! are marked `not_sent` in the results file, so that importing again creates them again.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::api::RetryPolicy;
use crate::commands::session;
use crate::exit::Ending;
use crate::record::{CsvOut, ResultsFile, ResultsLock, Status};
use crate::report::progress::Progress;
use crate::settings::UndoSettings;
use crate::stop::Stop;
use crate::{Error, ExitStatus};

/// The report's columns.
pub const COLUMNS: [&str; 5] = ["line", "name", "org_id", "result", "error"];

/// The error written into the results file for a row whose organization was deleted.
pub const UNDONE: &str = "deleted by orgimport undo; import again to create it";

/// What became of one created row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// The organization was deleted.
    Deleted,
    /// It was gone already (404).
    AlreadyGone,
    /// The API refused or did not answer.
    Failed,
    /// Not attempted: Ctrl-C came first.
    NotAttempted,
}

impl Fate {
    /// The word in the report's `result` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Fate::Deleted => "deleted",
            Fate::AlreadyGone => "already_gone",
            Fate::Failed => "failed",
            Fate::NotAttempted => "not_attempted",
        }
    }
}

/// What `undo` did.
#[derive(Debug, Default)]
pub struct UndoReport {
    /// Rows with status `created`.
    pub created: usize,
    /// Organizations deleted.
    pub deleted: usize,
    /// Organizations that were gone already.
    pub already_gone: usize,
    /// Deletes that failed.
    pub failed: usize,
    /// Rows left alone because the run found their organization existing.
    pub kept_existing: usize,
    /// Where the report is (`None` when nothing was to be done or the user said no).
    pub out: Option<PathBuf>,
    /// Whether the user declined.
    pub declined: bool,
    /// Whether Ctrl-C stopped it.
    pub interrupted: bool,
}

impl UndoReport {
    /// Success when every created organization is gone, failed when a delete failed,
    /// interrupted after Ctrl-C ([`Ending`] weighs them).
    pub fn exit_status(&self) -> ExitStatus {
        Ending {
            interrupted: self.interrupted,
            failed: self.failed > 0,
            ..Ending::default()
        }
        .status()
    }
}

impl fmt::Display for UndoReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.declined {
            return write!(f, "undo: nothing deleted");
        }
        write!(
            f,
            "undo: {} created organizations: {} deleted, {} already gone, {} failed; {} that \
             existed before the run left alone",
            self.created, self.deleted, self.already_gone, self.failed, self.kept_existing
        )?;
        if let Some(out) = &self.out {
            write!(f, "; report: {}", out.display())?;
        }
        if self.interrupted {
            write!(f, " (interrupted: rerun to delete the rest)")?;
        }
        Ok(())
    }
}

/// `orgimport undo`: deletes what `settings` say (after asking), writes the report and
/// prints its summary.
///
/// # Errors
/// As [`undo`].
pub async fn run(settings: UndoSettings) -> anyhow::Result<ExitStatus> {
    let report = undo(settings).await?;
    eprintln!("{report}");
    Ok(report.exit_status())
}

/// Runs `undo` as `settings` say.
///
/// # Errors
/// A fatal [`Error`]: another run holds the results file ([`Error::Busy`]), an unreadable
/// results file, rejected credentials, no `--yes` without a terminal, an unwritable report.
pub async fn undo(settings: UndoSettings) -> Result<UndoReport, Error> {
    let UndoSettings {
        tenant,
        timeout,
        results,
        yes,
        quiet,
    } = settings;
    // Held until the results file is written back (released when dropped): an import on
    // this results file meanwhile would create what is being deleted, then be overwritten.
    let _lock = ResultsLock::take(&results.file, "undo")?;
    let results_file = ResultsFile::read(&results.file, &results.mapping, None)?;
    let created: Vec<usize> = (0..results_file.rows.len())
        .filter(|i| {
            let e = &results_file.rows[*i];
            e.status == Some(Status::Created) && e.org_id.is_some()
        })
        .collect();
    let mut report = UndoReport {
        created: created.len(),
        kept_existing: results_file
            .rows
            .iter()
            .filter(|e| e.status == Some(Status::Exists))
            .count(),
        ..UndoReport::default()
    };
    if created.is_empty() {
        return Ok(report);
    }
    let (client, tokens) = session::connect_tenant(&tenant, results.rate, timeout)?;
    tokens.token().await?;
    if !yes {
        let question = format!(
            "Delete the {} organizations that {} lists as created, in tenant {:?} at {}? \
             [y/N] ",
            created.len(),
            results_file.path.display(),
            tenant.tenant,
            tenant.base_url
        );
        if !confirm(&question)? {
            report.declined = true;
            return Ok(report);
        }
    }

    // Deepest first: a parent is deleted once all its children are.
    let mut levels: BTreeMap<std::cmp::Reverse<usize>, Vec<usize>> = BTreeMap::new();
    for &i in &created {
        levels
            .entry(std::cmp::Reverse(results_file.depth(i)))
            .or_default()
            .push(i);
    }
    let stop = Arc::new(Stop::new());
    stop.on_ctrl_c(session::INTERRUPTED_REPORT, None);
    // Every delete is retried as import retries its calls, with import's default attempts.
    let policy = RetryPolicy::default();
    let semaphore = Arc::new(Semaphore::new(results.concurrency.get()));
    let mut progress = Progress::new(created.len() as u64, quiet);
    let mut fates: BTreeMap<usize, (Fate, String)> = BTreeMap::new();
    for rows in levels.values() {
        let mut tasks = JoinSet::new();
        for &index in rows {
            if stop.is_set() {
                break;
            }
            let permit = semaphore
                .clone()
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            let (client, stop) = (client.clone(), stop.clone());
            let id = results_file.rows[index].org_id.clone().unwrap_or_default();
            tasks.spawn(async move {
                let deleted = policy
                    .call(&stop, "a delete", &id, || client.delete(&id))
                    .await;
                let fate = match deleted {
                    Ok(true) => (Fate::Deleted, String::new()),
                    Ok(false) => (Fate::AlreadyGone, String::new()),
                    Err(e) => (Fate::Failed, e.into_row_error().to_string()),
                };
                drop(permit);
                (index, fate)
            });
        }
        while let Some(done) = tasks.join_next().await {
            let (index, (fate, error)) = done.expect("a delete does not panic");
            if fate == Fate::Failed {
                progress.println(&format!(
                    "failed: line {} {}: {error}",
                    results_file.rows[index].line,
                    results_file.rows[index].org_id.as_deref().unwrap_or("")
                ));
            }
            progress.row_done(if fate == Fate::Failed {
                Status::Failed
            } else {
                Status::Created
            });
            fates.insert(index, (fate, error));
        }
    }
    progress.finish();
    for &i in &created {
        let fate = fates
            .entry(i)
            .or_insert((Fate::NotAttempted, String::new()));
        match fate.0 {
            Fate::Deleted => report.deleted += 1,
            Fate::AlreadyGone => report.already_gone += 1,
            Fate::Failed => report.failed += 1,
            Fate::NotAttempted => report.interrupted = true,
        }
    }
    let out = results.out;
    write_report(&out, &results_file, &fates)?;
    // The deleted rows are marked to be sent again, so that the next import creates them
    // instead of skipping them as done.
    results_file.mark_not_sent(
        |index| {
            matches!(
                fates.get(&index),
                Some((Fate::Deleted | Fate::AlreadyGone, _))
            )
        },
        UNDONE,
    )?;
    report.out = Some(out);
    Ok(report)
}

/// Asks `question` on the terminal; only `y` or `yes` is a yes.
fn confirm(question: &str) -> Result<bool, Error> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::Config(
            "undo deletes organizations: pass --yes to confirm when stdin is not a terminal".into(),
        ));
    }
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::io("stdin", e))?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// Writes the undo report at `out`, one line a created row.
fn write_report(
    out: &Path,
    results_file: &ResultsFile,
    fates: &BTreeMap<usize, (Fate, String)>,
) -> Result<(), Error> {
    let mut file = CsvOut::create(out, b',')?;
    file.row(COLUMNS)?;
    for (index, (fate, error)) in fates {
        let e = &results_file.rows[*index];
        let line = e.line.to_string();
        file.row([
            line.as_str(),
            &e.name,
            e.org_id.as_deref().unwrap_or(""),
            fate.as_str(),
            error,
        ])?;
    }
    file.finish()
}
