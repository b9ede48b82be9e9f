//! `orgimport validate`: every row checked as an import would check it, every problem listed
//! with its line, column and value, and a summary by kind. Nothing is sent.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::exit::Ending;
use crate::input::{Mapping, ProblemKind, Source, Untemplated};
use crate::planning::{self, InvalidRow, Plan};
use crate::record::EarlierRuns;
use crate::settings::ValidateSettings;
use crate::{Error, ExitStatus};

/// What a validation found.
#[derive(Debug)]
pub struct Report {
    /// The file checked.
    pub input: PathBuf,
    /// Data rows read.
    pub rows: usize,
    /// Rows with at least one problem.
    pub invalid: usize,
    /// Problems by kind.
    pub by_kind: BTreeMap<ProblemKind, usize>,
    /// Valid rows that name no template, when no default template was given: an import
    /// refuses them unless a profile gives one or `--no-template` is passed.
    pub without_template: Untemplated,
    /// How long it took.
    pub elapsed: Duration,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} rows, {} valid, {} invalid",
            self.input.display(),
            self.rows,
            self.rows - self.invalid,
            self.invalid
        )?;
        if !self.by_kind.is_empty() {
            let kinds: Vec<String> = self
                .by_kind
                .iter()
                .map(|(kind, n)| format!("{n} {}", kind.label()))
                .collect();
            write!(f, " ({})", kinds.join(", "))?;
        }
        write!(f, "; checked in {:.2}s", self.elapsed.as_secs_f64())?;
        if self.rows == 0 {
            write!(f, "\nwarning: the file has a header but no data rows")?;
        }
        if self.without_template.rows > 0 {
            write!(
                f,
                "\nwarning: {} valid row(s) name no template ({}); import refuses them \
                 unless --template-id (or a profile's template_id, or ORGIMPORT_TEMPLATE_ID) \
                 gives one, or --no-template is passed",
                self.without_template.rows,
                self.without_template.lines()
            )?;
        }
        Ok(())
    }
}

/// `orgimport validate`: lists every problem on stdout and the summary on stderr; fails
/// when a row is invalid.
///
/// # Errors
/// As [`validate`].
pub fn run(settings: &ValidateSettings) -> anyhow::Result<ExitStatus> {
    if settings.json {
        let mut problems = Vec::new();
        let report = validate(settings, &mut problems)?;
        println!("{}", report.to_json(&String::from_utf8_lossy(&problems)));
        return Ok(report.exit_status());
    }
    let report = validate(settings, &mut std::io::stdout().lock())?;
    eprintln!("{report}");
    Ok(report.exit_status())
}

impl Report {
    /// The report as `validate --json` prints it, with `problems`, the lines [`validate`]
    /// wrote (`FILE:LINE: COLUMN: MESSAGE`), each as its line and its message.
    pub fn to_json(&self, problems: &str) -> String {
        let prefix = format!("{}:", self.input.display());
        let problems: Vec<serde_json::Value> = problems
            .lines()
            .filter_map(|l| l.strip_prefix(&prefix))
            .filter_map(|l| l.split_once(": "))
            .map(|(line, message)| {
                serde_json::json!({ "line": line.parse::<u64>().ok(), "problem": message })
            })
            .collect();
        let by_kind: serde_json::Map<String, serde_json::Value> = self
            .by_kind
            .iter()
            .map(|(kind, n)| (kind.label().to_string(), (*n).into()))
            .collect();
        serde_json::json!({
            "input": self.input.display().to_string(),
            "rows": self.rows,
            "valid": self.rows - self.invalid,
            "invalid": self.invalid,
            "problems_by_kind": by_kind,
            "without_template": {
                "rows": self.without_template.rows,
                "first_lines": self.without_template.first_lines,
            },
            "problems": problems,
            "seconds": self.elapsed.as_secs_f64(),
        })
        .to_string()
    }

    /// Success when every row is valid, else failed.
    pub fn exit_status(&self) -> ExitStatus {
        Ending {
            failed: self.invalid > 0,
            ..Ending::default()
        }
        .status()
    }
}

/// Checks every row of `settings.input`, writing one line per problem to `out` as
/// `FILE:LINE: COLUMN: MESSAGE`.
///
/// # Errors
/// A fatal [`Error`] when the file or the mapping cannot be used at all.
pub fn validate(settings: &ValidateSettings, out: &mut dyn Write) -> Result<Report, Error> {
    let started = Instant::now();
    let path = &settings.input;
    let source = Source::settle(path, &settings.dialect)?;
    source.announce(path);
    let mapping = source.mapping(&settings.mapping)?;
    let numbering = source.numbering();
    let mut write_error = None;
    let plan = check(
        &source,
        &mapping,
        settings.template_id.as_deref(),
        &mut |row| {
            for problem in row.problems {
                let place = numbering.place(path, row.line);
                if let Err(e) = writeln!(out, "{place}: {problem}") {
                    // A closed pipe (e.g. `| head`) is not an error; stop writing.
                    write_error.get_or_insert(e);
                }
            }
        },
    )?;
    if let Some(e) = write_error
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(Error::io("<stdout>", e));
    }
    // Without a template setting, the import's refusal is foretold (a profile, which validate
    // does not read, may still give one: a warning, not a failure).
    let without_template = match settings.template_id.as_deref().map(str::trim) {
        Some(t) if !t.is_empty() => Untemplated::default(),
        _ => plan.untemplated.clone(),
    };
    Ok(Report {
        input: path.clone(),
        rows: plan.outcomes.len(),
        invalid: plan.invalid,
        by_kind: plan.problem_counts,
        without_template,
        elapsed: started.elapsed(),
    })
}

/// The checks `validate` makes, every row as an import would check it (without an earlier
/// run's results): `report` is called once for every invalid row, with all its problems.
/// The console's review calls this too.
///
/// # Errors
/// [`Error::Input`]/[`Error::Io`] when the file cannot be read.
pub fn check(
    source: &Source,
    mapping: &Mapping,
    template_id: Option<&str>,
    report: &mut dyn FnMut(&InvalidRow),
) -> Result<Plan, Error> {
    planning::build(
        source,
        mapping,
        &mut EarlierRuns::default(),
        template_id,
        report,
    )
}
