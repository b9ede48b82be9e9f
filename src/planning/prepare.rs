//! Everything about an import that can be known without the network: the input's mapping,
//! what earlier runs left, and the plan. `import`, its dry run and `plan` start here. Rows of
//! the results file read other than as written, and rows of the input it does not list, are
//! reported on stderr here, once for every command.

use std::path::Path;

use super::{Plan, RequestsWriter, listing_refusal};
use crate::Error;
use crate::input::{MappingSpec, Numbering, Source};
use crate::record::unchanged::AsWritten;
use crate::record::{self, TenantCheck, read_back};

/// Everything about an import that can be known without the network.
pub struct Prepared {
    /// What to do with each row, and the requests of the rows to send.
    pub plan: Plan,
    /// How many rows earlier runs finished, in this input or not.
    pub done_earlier: usize,
    /// What the results file says, when it lists this input as it is now: a run whose
    /// outcomes it says too leaves it as it is ([`AsWritten::says`]).
    pub results_as_written: Option<AsWritten>,
}

/// Builds the input's mapping from its header, reads what earlier runs left beside
/// `results` (only when they are of the tenant `tenant` accepts), and checks every row (on a
/// blocking thread), keeping the request of each row to send in a spill file beside `results`
/// ([`Plan::requests`]).
///
/// # Errors
/// A fatal [`Error`] for unreadable input, a mapping that does not fit the header, or a
/// results file that is not orgimport's or is another tenant's, no room for the requests.
pub async fn prepare(
    source: &Source,
    spec: &MappingSpec,
    results: &Path,
    tenant: &TenantCheck,
    default_template: Option<String>,
    validate: String,
) -> Result<Prepared, Error> {
    let source = source.clone();
    let results_path = results.to_path_buf();
    let spec = spec.clone();
    let tenant = tenant.clone();
    tokio::task::spawn_blocking(move || -> Result<_, Error> {
        let mapping = source.mapping(&spec)?;
        let mut earlier = record::EarlierRuns::load(&results_path, &mapping, &tenant)?;
        let done_earlier = earlier.done_count();
        let keep = RequestsWriter::new(results_path.parent().unwrap_or(Path::new(".")))?;
        let plan = listing_refusal(
            &source,
            &mapping,
            &mut earlier,
            default_template.as_deref(),
            Some(keep),
            &validate,
        )?;
        report_earlier_runs(&results_path, &earlier, &plan);
        let delimiter = source.delimiter();
        let results_as_written = earlier
            .as_written
            .filter(|written| written.lists(&mapping.headers, delimiter, plan.input_digest));
        Ok(Prepared {
            plan,
            done_earlier,
            results_as_written,
        })
    })
    .await
    .expect("the planning thread does not panic")
}

/// Reports on stderr the rows of the results file at `results` read other than as written,
/// and the rows of the input it does not list.
fn report_earlier_runs(results: &Path, earlier: &record::EarlierRuns, plan: &Plan) {
    read_back::warn(results, &earlier.warnings);
    if plan.unlisted > 0 {
        let lines: Vec<String> = plan.unlisted_lines.iter().map(u64::to_string).collect();
        eprintln!(
            "warning: {} does not list {} of the input ({}{} {}{}): rows added to the input \
             since the last run, or removed from the results file; they are sent as new rows",
            results.display(),
            crate::report::plural(plan.unlisted, "row"),
            match plan.numbering {
                Numbering::Lines => "line",
                Numbering::SheetRows(_) => "row",
            },
            if lines.len() == 1 { "" } else { "s" },
            lines.join(", "),
            if plan.unlisted > lines.len() {
                ", ..."
            } else {
                ""
            }
        );
    }
}
