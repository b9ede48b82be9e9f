//! `orgimport verify RESULTS.csv`: the product doc's verification step as a command. Every
//! row the run created is read back from the API and checked: it exists, is not a template,
//! its name, parent and metadata are the row's, and it carries its template's authentication
//! mechanisms and metadata schema. Every check is a line of the verify report
//! (`line,name,org_id,check,expected,actual,result`). A row whose read the API refused or did
//! not answer (a check `error`) could not be checked, and is counted apart from the rows with
//! mismatches. A row in doubt (`unconfirmed`, or `failed` after an attempt that may have
//! created it, as a rerun and `undo` read it: nothing confirmed it) cannot be checked: it
//! gets one line saying so, and makes the exit code 1 until an import settles it.
use std::fmt;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;

use crate::api::RetryPolicy;
use crate::exit::{Concluded, Cut, Ending, conclude};
use crate::fan_out::fan_out;
use crate::record::{self, CsvOut, ResultsFile, Status, Writing};
use crate::report::progress::Progress;
use crate::settings::{ResultsSettings, VerifySettings};
use crate::stop::Stop;
use crate::tenant::session;
use crate::{Error, ExitStatus};

mod check_row;

use check_row::{Reads, Templates, check_row};

/// The report's columns.
pub(crate) const COLUMNS: [&str; 7] = [
    "line", "name", "org_id", "check", "expected", "actual", "result",
];

/// One check of one row.
#[derive(Debug, Clone)]
pub(crate) struct Check {
    /// The row's line in the results file.
    pub line: u64,
    /// The row's name.
    pub name: String,
    /// Its organization id.
    pub org_id: String,
    /// What was checked: exists, org_id (not a template), name, parent, metadata,
    /// authentication_mechanisms, metadata_schema; `template` when the row's template cannot
    /// be read, `status` for an unconfirmed row.
    pub check: &'static str,
    /// What the row (or its template) says.
    pub expected: String,
    /// What the API has.
    pub actual: String,
    /// `ok`, `mismatch` or `error` (the API could not be asked).
    pub result: &'static str,
}

/// What `verify` found.
#[derive(Debug)]
pub(crate) struct VerifyReport {
    /// Rows with status `created` in the results file.
    pub created: usize,
    /// Rows read back.
    pub checked: usize,
    /// Rows with at least one check `mismatch`.
    pub bad_rows: usize,
    /// Rows not checked whole, with no mismatch: a read the API refused or did not answer
    /// (a check `error`), including reads cut by Ctrl-C.
    pub unchecked_rows: usize,
    /// Rows in doubt (`unconfirmed`, or `failed` after an attempt that may have created the
    /// organization, as a rerun and `undo` read them), which cannot be checked until an
    /// import settles them.
    pub unconfirmed: usize,
    /// Of those, the rows `failed`.
    pub failed_in_doubt: usize,
    /// Checks `mismatch`.
    pub bad_checks: usize,
    /// Where the report is.
    pub out: PathBuf,
    /// Whether an interrupted import's journal lies beside the results file: the rows it
    /// sent are recorded there only, and not checked.
    pub journal_left: bool,
    /// Whether Ctrl-C, or an error, stopped it before every row was read.
    pub cut: Cut,
}

/// Success when every created row checks out, failed on any mismatch, any row that could not
/// be checked, any unconfirmed row or an interrupted import's journal beside the results file,
/// interrupted after Ctrl-C, fatal when an error stopped it ([`Cut`]; [`Ending`] weighs them).
impl Concluded for VerifyReport {
    fn work(&self) -> Ending {
        self.cut.ending(
            self.bad_rows > 0
                || self.unchecked_rows > 0
                || self.unconfirmed > 0
                || self.journal_left,
        )
    }

    fn fatal(&self) -> Option<&Error> {
        self.cut.stopped.as_ref()
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "verify: {} of {} created organizations checked: {} ok, {} with mismatches \
             ({} checks failed)",
            self.checked,
            self.created,
            self.checked - self.bad_rows - self.unchecked_rows,
            self.bad_rows,
            self.bad_checks,
        )?;
        if self.unchecked_rows > 0 {
            write!(
                f,
                ", {} could not be checked (the API refused or did not answer: their `error` \
                 lines say why; rerun verify to check them)",
                self.unchecked_rows
            )?;
        }
        write!(f, "; report: {}", crate::stdout::shown(&self.out))?;
        if self.unconfirmed > 0 {
            let rows = if self.failed_in_doubt == 0 {
                "unconfirmed rows"
            } else {
                "rows in doubt (unconfirmed, or failed after an attempt that may have created \
                 them)"
            };
            write!(
                f,
                "; {} {rows} not checked (an attempt may have created them: rerun the import \
                 to look them up)",
                self.unconfirmed
            )?;
        }
        if self.journal_left {
            write!(
                f,
                "; the rows an interrupted import sent are in its journal only, not checked \
                 (rerun the import first)"
            )?;
        }
        self.cut.say(f, "check the rest")
    }
}

/// `orgimport verify`: checks every created row as `settings` say, writes the report and
/// prints its summary.
///
/// # Errors
/// As [`verify`].
pub(crate) async fn run(settings: VerifySettings) -> anyhow::Result<ExitStatus> {
    let report = verify(settings).await?;
    eprintln!("{report}");
    conclude(&report)
}

/// Runs `verify` as `settings` say.
///
/// # Errors
/// A fatal [`Error`]: an unreadable results file, rejected credentials, an unwritable
/// report (checked before any request). Mismatches are not errors: they are in the report.
pub(crate) async fn verify(settings: VerifySettings) -> Result<VerifyReport, Error> {
    verify_under(settings, None).await
}

/// As [`verify`], stopped by `stop` when one is given (a page's Stop button) instead of by
/// Ctrl-C.
///
/// # Errors
/// As [`verify`].
pub(crate) async fn verify_under(
    settings: VerifySettings,
    stop: Option<Arc<Stop>>,
) -> Result<VerifyReport, Error> {
    let VerifySettings {
        tenant,
        timeout,
        results,
        template_id: template,
        quiet,
    } = settings;
    let (results_file, journal_left) = read_results(&results, template.as_deref())?;
    record::check_report(
        &results.out,
        "the verify report",
        Writing::Replaced,
        Some(&results.file),
        None,
    )?;
    let (client, tokens) = session::connect_tenant(&tenant, results.rate, timeout)?;
    RetryPolicy::default().token(&tokens, &Stop::new()).await?;
    let created: Vec<usize> = (0..results_file.rows.len())
        .filter(|i| results_file.rows[*i].status == Status::Created)
        .collect();
    // Every read is retried as import retries its calls, with import's default attempts.
    let reads = Reads {
        client,
        policy: RetryPolicy::default(),
        stop: stop.unwrap_or_else(session::stop_on_ctrl_c),
    };
    let templates = read_templates(&reads, &results_file, &created).await;
    let (mut checks, checked) = check_rows(
        &reads,
        results_file.clone(),
        Arc::new(templates),
        &created,
        (results.concurrency.get(), quiet),
    )
    .await;
    let bad = Bad::of(&checks);
    let unconfirmed = unconfirmed_checks(&results_file);
    let unconfirmed_rows = unconfirmed.len();
    let failed_in_doubt = (results_file.rows.iter())
        .filter(|row| row.in_doubt && row.status == Status::Failed)
        .count();
    checks.extend(unconfirmed);
    checks.sort_by_key(|c| c.line);
    write_report(&results.out, &checks)?;
    Ok(VerifyReport {
        created: created.len(),
        checked,
        bad_rows: bad.rows,
        unchecked_rows: bad.unchecked_rows,
        unconfirmed: unconfirmed_rows,
        failed_in_doubt,
        bad_checks: bad.checks,
        out: results.out,
        journal_left,
        cut: Cut {
            interrupted: checked < created.len(),
            stopped: reads.stop.take_fatal(),
        },
    })
}

/// Reads the results file back, warning of what it says and of an interrupted import's
/// journal beside it (whose rows are not checked); with whether that journal is there.
fn read_results(
    results: &ResultsSettings,
    template: Option<&str>,
) -> Result<(Arc<ResultsFile>, bool), Error> {
    let results_file = ResultsFile::read(
        &results.file,
        &results.mapping,
        template,
        &results.tenant_check,
    )?;
    record::read_back::warn(&results_file.path, &results_file.warnings);
    let journal = record::journal_path(&results_file.path);
    let journal_left = journal.exists();
    if journal_left {
        eprintln!(
            "warning: {}: an import of these results was interrupted; the rows it sent are \
             recorded there only and are not checked (rerun the import first)",
            journal.display()
        );
    }
    Ok((Arc::new(results_file), journal_left))
}

/// Each template the `created` rows name, read once.
async fn read_templates(reads: &Reads, results_file: &ResultsFile, created: &[usize]) -> Templates {
    let mut templates = Templates::new();
    for i in created {
        if let Some(t) = results_file.rows[*i]
            .request
            .as_ref()
            .and_then(|r| r.template_id.clone())
            && !templates.contains_key(&t)
        {
            let read = (reads.policy)
                .call(&reads.stop, "a template read", &t, || reads.client.get(&t))
                .await
                .map_err(|e| e.into_row_error());
            templates.insert(t, read);
        }
    }
    templates
}

/// Checks each of the `created` rows, `concurrency` at a time, with progress unless `quiet`:
/// every check, and how many rows were read (fewer than all once the stop is set).
async fn check_rows(
    reads: &Reads,
    results_file: Arc<ResultsFile>,
    templates: Arc<Templates>,
    created: &[usize],
    (concurrency, quiet): (usize, bool),
) -> (Vec<Check>, usize) {
    let mut progress = Progress::new(created.len() as u64, quiet);
    let mut checks: Vec<Check> = Vec::new();
    let fanned = fan_out(
        concurrency,
        &reads.stop,
        created.iter().copied(),
        |index| {
            let (reads, results_file, templates) =
                (reads.clone(), results_file.clone(), templates.clone());
            async move { check_row(&reads, &results_file, &templates, index).await }
        },
        |found| {
            let ok = found.iter().all(|c| c.result == "ok");
            progress.row_done(if ok { Status::Created } else { Status::Failed });
            checks.extend(found);
            ControlFlow::Continue(())
        },
    )
    .await;
    progress.finish();
    (checks, fanned.started)
}

/// The checks not `ok`: the mismatches, on how many rows, and the rows that could not be
/// checked (an `error`, and no mismatch).
struct Bad {
    /// Checks `mismatch`.
    checks: usize,
    /// Rows with at least one.
    rows: usize,
    /// Rows with no mismatch and at least one `error`.
    unchecked_rows: usize,
}

impl Bad {
    /// Counts the checks of `checks` that are not `ok`, and their rows.
    fn of(checks: &[Check]) -> Bad {
        let lines_with = |result: &str| -> Vec<u64> {
            let mut lines: Vec<u64> = (checks.iter())
                .filter(|c| c.result == result)
                .map(|c| c.line)
                .collect();
            lines.sort_unstable();
            lines
        };
        let mut mismatched = lines_with("mismatch");
        let checks = mismatched.len();
        mismatched.dedup();
        let mut errors = lines_with("error");
        errors.dedup();
        let unchecked_rows = (errors.iter())
            .filter(|line| mismatched.binary_search(line).is_err())
            .count();
        Bad {
            checks,
            rows: mismatched.len(),
            unchecked_rows,
        }
    }
}

/// One line for each row in doubt: it cannot be checked until an import settles it.
fn unconfirmed_checks(results_file: &ResultsFile) -> Vec<Check> {
    (results_file.rows.iter())
        .filter(|row| row.in_doubt)
        .map(|row| Check {
            line: row.line,
            name: row.name.clone(),
            org_id: row.org_id.clone().unwrap_or_default(),
            check: "status",
            expected: "created".into(),
            actual: format!(
                "{}: an attempt may have created it; rerun the import to look it up",
                row.status.as_str()
            ),
            result: "error",
        })
        .collect()
}

/// Writes the verify report at `out`, one line a check.
fn write_report(out: &std::path::Path, checks: &[Check]) -> Result<(), Error> {
    let mut file = CsvOut::create(out, b',')?;
    file.row(COLUMNS)?;
    for c in checks {
        let line = c.line.to_string();
        file.row([
            line.as_str(),
            &c.name,
            &c.org_id,
            c.check,
            &c.expected,
            &c.actual,
            c.result,
        ])?;
    }
    file.finish()
}
