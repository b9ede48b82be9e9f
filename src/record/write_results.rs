//! Writing the results file whole at the end of a run: every input row in order, then its
//! outcome in this version's columns, the tenant it is for on every row.

use std::fmt::Write as _;
use std::path::Path;

use super::csv_out::{CsvOut, copy_input};
use super::layout::{Column, Version};
use super::*;
use crate::Error;
use crate::input::Source;

/// Writes the results file: every row of `source` in order, its fields as read, then its
/// outcome ([`Version::CURRENT`]'s columns) and `tenant`, the tenant it is for, in UTF-8 with a byte-order mark and the input's
/// delimiter. Written beside `results` first and renamed over it, so a crash leaves either
/// the old file or the new one. `source` must be the input the plan read: `import` passes
/// its pinned copy ([`crate::input::InputSnapshot`]), so that each row meets its own outcome.
///
/// # Errors
/// [`Error::Io`]/[`Error::Input`] when reading the input again or writing fails, or when the
/// input no longer has as many rows as `outcomes` (it was changed during the run).
///
/// # Panics
/// When a row of `outcomes` has none ([`Outcomes::fill_unsent`] gives every row one).
pub fn write(
    source: &Source,
    results: &Path,
    outcomes: &Outcomes,
    tenant: &TenantMark,
) -> Result<(), Error> {
    let mut out = CsvOut::replace(results, source.delimiter())?;
    let mut number = String::new();
    let count = copy_input(
        source,
        &mut out,
        &RESULT_COLUMNS,
        outcomes.len(),
        |index, out| {
            let outcome = outcomes
                .view(index)
                .expect("every row has its outcome when the results are written");
            each_outcome_cell(outcome, tenant, &mut number, |cell| out.cell(cell))
        },
    )?;
    if count != outcomes.len() {
        return Err(Error::Input {
            path: source.path().to_path_buf(),
            message: format!(
                "the file changed during the run (it had {} rows, now {count}); \
                 the outcomes are kept in {}",
                outcomes.len(),
                journal_path(results).display()
            ),
        });
    }
    out.finish()
}

/// Calls `cell` with each cell of `outcome` in this version's columns ([`Version::CURRENT`]),
/// `tenant` the tenant it is for, before [`neutralize`]; `number` is room for the numbers. The results file is written this
/// way, and told unchanged this way ([`super::unchanged`]).
///
/// # Errors
/// The first error of `cell`.
pub(crate) fn each_outcome_cell<E>(
    outcome: OutcomeView,
    tenant: &TenantMark,
    number: &mut String,
    mut cell: impl FnMut(&str) -> Result<(), E>,
) -> Result<(), E> {
    for column in Version::CURRENT.columns() {
        number.clear();
        let text = match column {
            Column::Status => outcome.status.as_str(),
            Column::OrgId => outcome.org_id.unwrap_or_default(),
            Column::HttpStatus => {
                if let Some(status) = outcome.http_status {
                    let _ = write!(number, "{status}");
                }
                number.as_str()
            }
            Column::Error => outcome.error.unwrap_or_default(),
            Column::Attempts => {
                let _ = write!(number, "{}", outcome.attempts);
                number.as_str()
            }
            Column::Changes => outcome.changes.unwrap_or_default(),
            Column::Tenant => tenant.as_str(),
        };
        cell(text)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Dialect;
    use crate::record::{ResultsFile, TenantCheck};

    #[test]
    fn the_results_file_is_the_input_then_each_outcome_and_reads_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let input_path = dir.path().join("in.csv");
        std::fs::write(&input_path, "name;description\nacme;=1+2\nbeta;-5\n").unwrap();
        let results = dir.path().join("in.results.csv");
        let outcomes: Outcomes = [
            Outcome {
                status: Status::Updated,
                org_id: Some("org-1".into()),
                http_status: Some(200),
                error: None,
                attempts: 2,
                changes: Some("description: \"x\" -> \"=1+2\"".into()),
                kind: None,
            },
            Outcome {
                status: Status::Invalid,
                org_id: None,
                http_status: None,
                error: Some("-bad".into()),
                attempts: 0,
                changes: None,
                kind: None,
            },
        ]
        .into_iter()
        .map(Some)
        .collect();
        // A tenant id a spreadsheet would run is neutralized as every cell is.
        let tenant = TenantMark::tenant(&url::Url::parse("https://x.example").unwrap(), "-t");
        write(
            &Source::as_csv(&input_path, &Dialect::default()).unwrap(),
            &results,
            &outcomes,
            &tenant,
        )
        .unwrap();
        let text = std::fs::read_to_string(&results).unwrap();
        assert_eq!(
            text,
            "\u{feff}name;description;status;org_id;http_status;error;attempts;changes;tenant\n\
             acme;'=1+2;updated;org-1;200;;2;\"description: \"\"x\"\" -> \"\"=1+2\"\"\";\
             '-t at https://x.example\n\
             beta;'-5;invalid;;;'-bad;0;;'-t at https://x.example\n"
        );
        let check = TenantCheck::results_of(tenant.clone(), false);
        let read = ResultsFile::read(&results, &Default::default(), None, &check).unwrap();
        let cells: Vec<Vec<&str>> = read.rows.iter().map(|r| r.cells.iter().collect()).collect();
        assert_eq!(cells[0][..2], ["acme", "=1+2"]);
        assert_eq!(cells[1][..2], ["beta", "-5"]);
        assert_eq!(
            (read.rows[1].status, read.rows[1].error.as_deref()),
            (Status::Invalid, Some("-bad"))
        );
        assert_eq!(read.rows[0].org_id.as_deref(), Some("org-1"));

        // An input that lost a row during the run: the old results file is left as it was.
        std::fs::write(&input_path, "name;description\nacme;=1+2\n").unwrap();
        let err = write(
            &Source::as_csv(&input_path, &Dialect::default()).unwrap(),
            &results,
            &outcomes,
            &tenant,
        )
        .unwrap_err();
        assert!(err.to_string().contains("it had 2 rows, now 1"), "{err}");
        assert_eq!(std::fs::read_to_string(&results).unwrap(), text);
    }
}
