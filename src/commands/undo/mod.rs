//! `orgimport undo RESULTS.csv`: deletes the organizations the tool created, to roll back a
//! rehearsal. Rows with status `created` are deleted by their org_id; rows in doubt
//! (`unconfirmed`, or `failed` after an attempt that may have created them, as a rerun reads
//! them) are looked up first, by their org_id, then as a rerun looks them up (the row's own
//! id, else its name), and deleted when found. An org_id that names another organization than
//! the row's (the file was edited) is left alone, said on stderr with its line, and the row's
//! own looked up instead. Rows `exists` (there before the tool's first attempt) are never
//! touched. Deepest children first, after a confirmation on a terminal or `--yes`. Each row's
//! fate goes to the undo report (`line,name,org_id,result,error`), and rows whose
//! organization is gone are marked `not_sent` in the results file, so that importing again
//! creates them again.
use std::fmt;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::api::RetryPolicy;
use crate::exit::{Concluded, Cut, Ending, conclude};
use crate::record::{
    CsvOut, ResultRow, ResultsFile, ResultsLock, Status, Writing, check_report, check_writable,
    journal_path, read_back,
};
use crate::settings::{Tenant, UndoSettings};
use crate::stop::Stop;
use crate::tenant::session;
use crate::{Error, ExitStatus};

mod delete;
mod look_up;

use delete::{Calls, Fated, Fates, Targets, delete_deepest_first};
use look_up::find_targets;

/// The report's columns.
pub const COLUMNS: [&str; 5] = ["line", "name", "org_id", "result", "error"];

/// The error written into the results file for a row whose organization was deleted.
pub const UNDONE: &str = "deleted by orgimport undo; import again to create it";

/// The error written into the results file for a row whose organization undo found gone
/// already (deleted since by someone else, or by an undo before).
pub const ALREADY_GONE: &str =
    "already gone when orgimport undo went to delete it; import again to create it";

/// The error written into the results file for a row in doubt whose organization undo
/// looked for and did not find.
pub const NOT_FOUND: &str = "looked up by orgimport undo and not found; import again to create it";

/// What became of one row undo had to do with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// The organization was deleted.
    Deleted,
    /// It was gone already (404).
    AlreadyGone,
    /// An `unconfirmed` row whose organization was looked for and not found.
    NotFound,
    /// The API refused or did not answer (the delete, or the look-up).
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
            Fate::NotFound => "not_found",
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
    /// Organizations of `created` rows deleted.
    pub deleted: usize,
    /// Organizations of `created` rows that were gone already.
    pub already_gone: usize,
    /// Deletes of `created` rows' organizations that failed.
    pub failed: usize,
    /// `created` rows whose org_id was another organization's, and whose own was not found.
    pub created_not_found: usize,
    /// Rows in doubt, looked up: `unconfirmed`, and `failed` after an attempt that may have
    /// created the organization.
    pub unconfirmed: usize,
    /// Of those, rows `failed` (after an attempt that may have created the organization).
    pub failed_in_doubt: usize,
    /// Of those, rows whose organization was found and deleted (or gone by the delete).
    pub unconfirmed_deleted: usize,
    /// Of those, rows whose organization was not found.
    pub not_found: usize,
    /// Of those, rows whose look-up or delete failed.
    pub unconfirmed_failed: usize,
    /// Rows left alone because the run found their organization existing.
    pub kept_existing: usize,
    /// Where the report is (`None` when nothing was to be done or the user said no).
    pub out: Option<PathBuf>,
    /// Whether the user declined.
    pub declined: bool,
    /// Whether Ctrl-C, or an error, stopped it before every row was done.
    pub(crate) cut: Cut,
}

/// Success when every organization the tool created is gone, failed when a delete or a look-up
/// failed, interrupted after Ctrl-C, fatal when an error stopped it ([`Cut`]; [`Ending`]
/// weighs them).
impl Concluded for UndoReport {
    fn work(&self) -> Ending {
        self.cut.ending(self.failed + self.unconfirmed_failed > 0)
    }

    fn fatal(&self) -> Option<&Error> {
        self.cut.stopped.as_ref()
    }
}

impl fmt::Display for UndoReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.declined {
            return write!(f, "undo: nothing deleted");
        }
        write!(
            f,
            "undo: {} created organizations: {} deleted, {} already gone, ",
            self.created, self.deleted, self.already_gone
        )?;
        if self.created_not_found > 0 {
            write!(f, "{} not found, ", self.created_not_found)?;
        }
        write!(f, "{} failed; ", self.failed)?;
        if self.unconfirmed > 0 {
            if self.failed_in_doubt == 0 {
                write!(f, "{} unconfirmed rows looked up: ", self.unconfirmed)?;
            } else {
                write!(
                    f,
                    "{} rows in doubt looked up ({} unconfirmed, {} failed after an attempt that \
                     may have created it): ",
                    self.unconfirmed,
                    self.unconfirmed - self.failed_in_doubt,
                    self.failed_in_doubt
                )?;
            }
            write!(
                f,
                "{} found and deleted, {} not found, {} failed; ",
                self.unconfirmed_deleted, self.not_found, self.unconfirmed_failed
            )?;
        }
        write!(
            f,
            "{} that existed before the run left alone",
            self.kept_existing
        )?;
        if let Some(out) = &self.out {
            write!(f, "; report: {}", crate::stdout::shown(out))?;
        }
        self.cut.say(f, "delete the rest")
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
    conclude(&report)
}

/// Runs `undo` as `settings` say.
///
/// # Errors
/// A fatal [`Error`]: another run holds the results file ([`Error::Busy`]), an unreadable
/// results file (one of whose rows cannot be read without guessing included), the journal of
/// an interrupted import beside it (what that import sent is not in the results file yet),
/// rejected credentials, no `--yes` without a terminal, an unwritable report or results file
/// (both checked before any request).
pub async fn undo(settings: UndoSettings) -> Result<UndoReport, Error> {
    undo_under(settings, None).await
}

/// As [`undo`], stopped by `stop` when one is given (a page's Stop button) instead of by
/// Ctrl-C.
///
/// # Errors
/// As [`undo`].
pub async fn undo_under(
    settings: UndoSettings,
    stop: Option<Arc<Stop>>,
) -> Result<UndoReport, Error> {
    let UndoSettings {
        tenant,
        timeout,
        results,
        yes,
        quiet,
    } = settings;
    // Held until the results file is written back (released when dropped): an import on
    // this results file meanwhile would create what is being deleted, then be overwritten.
    let _lock = take_results(&results.file, quiet)?;
    let results_file =
        ResultsFile::read(&results.file, &results.mapping, None, &results.tenant_check)?;
    read_back::warn(&results_file.path, &results_file.warnings);
    let todo = ToUndo::of(&results_file);
    let mut report = todo.report(&results_file);
    if todo.is_empty() {
        return Ok(report);
    }
    check_report(
        &results.out,
        "the undo report",
        Writing::Replaced,
        Some(&results.file),
        None,
    )?;
    let (client, tokens) = session::connect_tenant(&tenant, results.rate, timeout)?;
    RetryPolicy::default().token(&tokens, &Stop::new()).await?;
    // Every request is retried as import retries its calls, with import's default attempts.
    let calls = Calls {
        client,
        policy: RetryPolicy::default(),
        stop: stop.unwrap_or_else(session::stop_on_ctrl_c),
        concurrency: results.concurrency.get(),
    };
    // Look-ups only read, so they come before the question.
    let mut fates = Fates::new();
    let targets = find_targets(&calls, &results_file, &todo, &mut fates).await;
    // Asked even when nothing was found: the results file is still written back.
    if !yes && !calls.stop.is_set() && !confirm(&todo.question(&results_file, &targets, &tenant))? {
        report.declined = true;
        return Ok(report);
    }
    // A row in doubt's organization was read by its look-up: it is not read again.
    let looked_up = &todo.in_doubt;
    delete_deepest_first(
        &calls,
        &results_file,
        &targets,
        looked_up,
        quiet,
        &mut fates,
    )
    .await;
    report.count(&todo, &results_file, &mut fates);
    write_report(&results.out, &results_file, &fates, &targets)?;
    // Rows whose organization is gone are marked to be sent again, so that the next import
    // creates them instead of skipping them as done or looking them up.
    results_file.mark_not_sent(|index| match fates.get(&index).map(|f| f.fate) {
        Some(Fate::Deleted) => Some(UNDONE),
        Some(Fate::AlreadyGone) => Some(ALREADY_GONE),
        Some(Fate::NotFound) => Some(NOT_FOUND),
        _ => None,
    })?;
    report.out = Some(results.out);
    report.cut.stopped = calls.stop.take_fatal();
    Ok(report)
}

/// Checks that the results file can be written back, takes its lock (saying so, unless
/// `quiet`, when a killed run left it), and refuses when an interrupted import's journal is
/// beside it.
fn take_results(file: &Path, quiet: bool) -> Result<ResultsLock, Error> {
    // Undo writes the results file back: checked before anything is written beside it.
    check_writable(file, "the results file", Writing::Replaced)?;
    let lock = ResultsLock::take(file, "undo")?;
    if let (Some(before), false) = (&lock.taken_over, quiet) {
        eprintln!(
            "{}: the run before ({before}) ended without finishing; this run takes over",
            file.display()
        );
    }
    let journal = journal_path(file);
    if journal.exists() {
        // What the interrupted run sent is only in the journal: undo would leave it behind.
        return Err(Error::Input {
            path: journal,
            message: format!(
                "an import of {} was interrupted, and what it sent is recorded here only, so \
                 undo could leave organizations behind; rerun the same import first (it records \
                 what was done and looks up what was in flight; Ctrl-C stops it with the \
                 results written), then undo",
                file.display()
            ),
        });
    }
    Ok(lock)
}

/// The rows undo has to do with, by index in the results file.
struct ToUndo {
    /// Rows `created` with an org_id: deleted by it.
    created: Vec<usize>,
    /// Rows in doubt: `unconfirmed`, or `failed` after an attempt that may have created the
    /// organization (a rerun looks them up before sending them): looked up first.
    in_doubt: Vec<usize>,
}

impl ToUndo {
    /// The rows of `results_file` undo has to do with.
    fn of(results_file: &ResultsFile) -> ToUndo {
        let rows = &results_file.rows;
        let which = |wanted: fn(&ResultRow) -> bool| -> Vec<usize> {
            (0..rows.len()).filter(|&i| wanted(&rows[i])).collect()
        };
        ToUndo {
            created: which(|row| row.status == Status::Created && row.org_id.is_some()),
            in_doubt: which(|row| row.in_doubt),
        }
    }

    /// Whether there is nothing to do.
    fn is_empty(&self) -> bool {
        self.created.is_empty() && self.in_doubt.is_empty()
    }

    /// The report before anything is done: what there is to do and what is kept.
    fn report(&self, results_file: &ResultsFile) -> UndoReport {
        UndoReport {
            created: self.created.len(),
            unconfirmed: self.in_doubt.len(),
            failed_in_doubt: (self.in_doubt.iter())
                .filter(|&&i| results_file.rows[i].status == Status::Failed)
                .count(),
            kept_existing: (results_file.rows.iter())
                .filter(|e| e.status == Status::Exists)
                .count(),
            ..UndoReport::default()
        }
    }

    /// The question asked before deleting `targets`.
    fn question(&self, results_file: &ResultsFile, targets: &Targets, tenant: &Tenant) -> String {
        let found = targets.len() - self.created.len();
        format!(
            "Delete the {} organizations that {} lists as created{}, in tenant {:?} at {}? \
             [y/N] ",
            self.created.len(),
            results_file.path.display(),
            if self.in_doubt.is_empty() {
                String::new()
            } else {
                format!(
                    ", and the {found} found for its {} rows in doubt",
                    self.in_doubt.len()
                )
            },
            tenant.tenant,
            tenant.base_url
        )
    }
}

impl UndoReport {
    /// Counts each row's fate into the report; a row with none was not attempted.
    fn count(&mut self, todo: &ToUndo, results_file: &ResultsFile, fates: &mut Fates) {
        for &i in todo.created.iter().chain(&todo.in_doubt) {
            let fate = fates
                .entry(i)
                .or_insert_with(|| Fated::new(Fate::NotAttempted, ""))
                .fate;
            let was_created = results_file.rows[i].status == Status::Created;
            match (fate, was_created) {
                (Fate::Deleted | Fate::AlreadyGone, false) => self.unconfirmed_deleted += 1,
                (Fate::Deleted, true) => self.deleted += 1,
                (Fate::AlreadyGone, true) => self.already_gone += 1,
                (Fate::NotFound, true) => self.created_not_found += 1,
                (Fate::NotFound, false) => self.not_found += 1,
                (Fate::Failed, true) => self.failed += 1,
                (Fate::Failed, false) => self.unconfirmed_failed += 1,
                (Fate::NotAttempted, _) => self.cut.interrupted = true,
            }
        }
    }
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

/// Writes the undo report at `out`, one line a row undo had to do with (`targets`: the
/// organization of each row it deleted or tried to).
fn write_report(
    out: &Path,
    results_file: &ResultsFile,
    fates: &Fates,
    targets: &Targets,
) -> Result<(), Error> {
    let mut file = CsvOut::create(out, b',')?;
    file.row(COLUMNS)?;
    for (index, fated) in fates {
        let e = &results_file.rows[*index];
        let line = e.line.to_string();
        let org_id = (fated.found_instead.as_deref())
            .or(targets.get(index).map(String::as_str))
            .or(e.org_id.as_deref())
            .unwrap_or("");
        file.row([
            line.as_str(),
            &e.name,
            org_id,
            fated.fate.as_str(),
            &fated.error,
        ])?;
    }
    file.finish()
}
