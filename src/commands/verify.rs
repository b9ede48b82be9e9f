//! `orgimport verify RESULTS.csv`: the product doc's verification step as a command. Every
//! row the run created is read back from the API and checked: it exists, its name, parent and
//! metadata are the row's, and it carries its template's authentication mechanisms and
//! metadata schema. Every check is a line of the verify report
//! (`line,name,org_id,check,expected,actual,result`). A row `unconfirmed` (an attempt may have
//! created it, nothing confirmed it) cannot be checked: it gets one line saying so, and makes
//! the exit code 1 until an import settles it.

use std::collections::HashMap;
use std::fmt;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

use crate::api::{ApiClient, Organization, RetryPolicy};
use crate::exit::Ending;
use crate::fan_out::fan_out;
use crate::record::{self, CsvOut, ResultsFile, Status, Writing};
use crate::report::progress::Progress;
use crate::settings::VerifySettings;
use crate::stop::Stop;
use crate::tenant::session;
use crate::{Error, ExitStatus};

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
    /// What was checked: exists, name, parent, metadata, authentication_mechanisms,
    /// metadata_schema.
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
    /// Rows with at least one check not `ok`.
    pub bad_rows: usize,
    /// Rows with status `unconfirmed`, which cannot be checked until an import settles them.
    pub unconfirmed: usize,
    /// Checks not `ok`.
    pub bad_checks: usize,
    /// Where the report is.
    pub out: PathBuf,
    /// Whether Ctrl-C stopped it before every row was read.
    pub interrupted: bool,
    /// The error that stopped it early: the tenant answered nothing but 429 for longer than
    /// the retry policy waits.
    pub stopped: Option<Error>,
}

impl VerifyReport {
    /// Success when every created row checks out, failed on any mismatch or any unconfirmed
    /// row, interrupted after Ctrl-C, fatal when [`Self::stopped`] ([`Ending`] weighs them).
    pub(crate) fn exit_status(&self) -> ExitStatus {
        Ending {
            fatal: self.stopped.is_some(),
            interrupted: self.interrupted,
            failed: self.bad_rows > 0 || self.unconfirmed > 0,
        }
        .status()
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "verify: {} of {} created organizations checked: {} ok, {} with mismatches \
             ({} checks failed); report: {}",
            self.checked,
            self.created,
            self.checked - self.bad_rows,
            self.bad_rows,
            self.bad_checks,
            crate::stdout::shown(&self.out)
        )?;
        if self.unconfirmed > 0 {
            write!(
                f,
                "; {} unconfirmed rows not checked (an attempt may have created them: rerun \
                 the import to look them up)",
                self.unconfirmed
            )?;
        }
        if let Some(stopped) = &self.stopped {
            write!(f, "; stopped: {stopped}")?;
        } else if self.interrupted {
            write!(f, " (interrupted: rerun to check the rest)")?;
        }
        Ok(())
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
    Ok(report.exit_status())
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
    let results_file = ResultsFile::read(
        &results.file,
        &results.mapping,
        template.as_deref(),
        &results.tenant_check,
    )?;
    crate::record::read_back::warn(&results_file.path, &results_file.warnings);
    let journal = crate::record::journal_path(&results_file.path);
    if journal.exists() {
        eprintln!(
            "warning: {}: an import of these results was interrupted; the rows it sent are \
             recorded there only and are not checked (rerun the import first)",
            journal.display()
        );
    }
    let out = results.out;
    record::check_report(
        &out,
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
    let unconfirmed: Vec<Check> = results_file
        .rows
        .iter()
        .filter(|row| row.status == Status::Unconfirmed)
        .map(|row| Check {
            line: row.line,
            name: row.name.clone(),
            org_id: row.org_id.clone().unwrap_or_default(),
            check: "status",
            expected: "created".into(),
            actual: "unconfirmed: an attempt may have created it; rerun the import to look it \
                     up"
            .into(),
            result: "error",
        })
        .collect();
    let stop = stop.unwrap_or_else(|| {
        let stop = Arc::new(Stop::new());
        stop.on_ctrl_c(session::INTERRUPTED_REPORT, None);
        stop
    });
    // Every read is retried as import retries its calls, with import's default attempts.
    let policy = RetryPolicy::default();
    let mut templates: HashMap<String, Result<Option<Organization>, String>> = HashMap::new();
    for i in &created {
        if let Some(t) = results_file.rows[*i]
            .request
            .as_ref()
            .and_then(|r| r.template_id.clone())
            && !templates.contains_key(&t)
        {
            let read = policy
                .call(&stop, "a template read", &t, || client.get(&t))
                .await
                .map_err(|e| e.into_row_error().to_string());
            templates.insert(t, read);
        }
    }

    let results_file = Arc::new(results_file);
    let templates = Arc::new(templates);
    let mut progress = Progress::new(created.len() as u64, quiet);
    let mut checks: Vec<Check> = Vec::new();
    let fanned = fan_out(
        results.concurrency.get(),
        &stop,
        created.iter().copied(),
        |index| {
            let (client, results_file, templates) =
                (client.clone(), results_file.clone(), templates.clone());
            let stop = stop.clone();
            async move {
                let read = Read {
                    client: &client,
                    policy,
                    stop: &stop,
                };
                check_row(read, &results_file, &templates, index).await
            }
        },
        |found| {
            let ok = found.iter().all(|c| c.result == "ok");
            progress.row_done(if ok { Status::Created } else { Status::Failed });
            checks.extend(found);
            ControlFlow::Continue(())
        },
    )
    .await;
    let checked = fanned.started;
    progress.finish();
    let mut bad_lines: Vec<u64> = checks
        .iter()
        .filter(|c| c.result != "ok")
        .map(|c| c.line)
        .collect();
    bad_lines.sort_unstable();
    let bad_checks = bad_lines.len();
    bad_lines.dedup();
    let unconfirmed_rows = unconfirmed.len();
    checks.extend(unconfirmed);
    checks.sort_by_key(|c| c.line);
    write_report(&out, &checks)?;
    Ok(VerifyReport {
        created: created.len(),
        checked,
        bad_rows: bad_lines.len(),
        unconfirmed: unconfirmed_rows,
        bad_checks,
        out,
        interrupted: checked < created.len(),
        stopped: stop.take_fatal(),
    })
}

/// How verify reads an organization: through the client, retried as `policy` says until
/// `stop` is set.
#[derive(Clone, Copy)]
struct Read<'a> {
    /// The organizations API.
    client: &'a ApiClient,
    /// How each read is retried.
    policy: RetryPolicy,
    /// Ctrl-C: ends a read's pause between retries at once.
    stop: &'a Stop,
}

/// Reads row `index`'s organization back and checks it.
async fn check_row(
    read: Read<'_>,
    results_file: &ResultsFile,
    templates: &HashMap<String, Result<Option<Organization>, String>>,
    index: usize,
) -> Vec<Check> {
    let entry = &results_file.rows[index];
    let org_id = entry.org_id.clone().unwrap_or_default();
    let mut checks = Vec::new();
    let mut add = |check: &'static str, expected: String, actual: String, result: &'static str| {
        checks.push(Check {
            line: entry.line,
            name: entry.name.clone(),
            org_id: org_id.clone(),
            check,
            expected,
            actual,
            result,
        });
    };
    let same = |a: &str, b: &str| if a == b { "ok" } else { "mismatch" };
    let org = read
        .policy
        .call(read.stop, "a read", &org_id, || read.client.get(&org_id))
        .await;
    let org = match org {
        Ok(Some(org)) => {
            add("exists", "yes".into(), "yes".into(), "ok");
            org
        }
        Ok(None) => {
            add("exists", "yes".into(), "no (404)".into(), "mismatch");
            return checks;
        }
        Err(e) => {
            add(
                "exists",
                "yes".into(),
                e.into_row_error().to_string(),
                "error",
            );
            return checks;
        }
    };
    let Some(request) = &entry.request else {
        add(
            "name",
            "(the row's columns make no request; check --mapping)".into(),
            org.name.clone(),
            "error",
        );
        return checks;
    };
    add(
        "name",
        request.name.clone(),
        org.name.clone(),
        same(&request.name, &org.name),
    );
    let parent = results_file.expected_parent(index).unwrap_or_default();
    let actual_parent = org.parent_id.clone().unwrap_or_default();
    add(
        "parent",
        parent.clone(),
        actual_parent.clone(),
        same(&parent, &actual_parent),
    );
    let expected_payload = Value::Object(
        request
            .metadata
            .as_ref()
            .map(|m| m.payload.clone())
            .unwrap_or_default(),
    );
    let actual_payload = Value::Object(org.metadata.payload.clone());
    add(
        "metadata",
        expected_payload.to_string(),
        actual_payload.to_string(),
        if expected_payload == actual_payload {
            "ok"
        } else {
            "mismatch"
        },
    );
    let Some(template_id) = &request.template_id else {
        return checks;
    };
    match templates.get(template_id) {
        Some(Ok(Some(template))) => {
            let mechanisms = |o: &Organization| {
                let mut m = o.authentication_mechanisms.clone().unwrap_or_default();
                m.sort();
                m.join(" ")
            };
            let (want, have) = (mechanisms(template), mechanisms(&org));
            add(
                "authentication_mechanisms",
                want.clone(),
                have.clone(),
                same(&want, &have),
            );
            let schema = |o: &Organization| {
                o.metadata
                    .schema
                    .clone()
                    .filter(|s| s.as_object().is_none_or(|o| !o.is_empty()))
                    .unwrap_or(Value::Null)
            };
            let (want, have) = (schema(template), schema(&org));
            add(
                "metadata_schema",
                want.to_string(),
                have.to_string(),
                if want == have { "ok" } else { "mismatch" },
            );
        }
        Some(Ok(None)) => add(
            "template",
            format!("template {template_id} exists"),
            "no (404)".into(),
            "error",
        ),
        Some(Err(e)) => add(
            "template",
            format!("template {template_id} readable"),
            e.clone(),
            "error",
        ),
        None => {}
    }
    checks
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
