//! Everything about an import that can be known without the network: the input's mapping,
//! what earlier runs left, and the plan. `import`, its dry run and `plan` start here.

use std::collections::HashSet;
use std::path::Path;

use super::{Plan, build};
use crate::Error;
use crate::input::{self, Dialect, Mapping, MappingSpec};
use crate::record;

/// Everything about an import that can be known without the network.
pub struct Prepared {
    /// The input's mapping.
    pub mapping: Mapping,
    /// What to do with each row.
    pub plan: Plan,
    /// Keys of rows an earlier run may have created without hearing so.
    pub in_doubt: HashSet<String>,
    /// How many rows earlier runs finished, in this input or not.
    pub done_earlier: usize,
}

/// Reads the input's header, builds its mapping, reads what earlier runs left beside
/// `results`, and checks every row (on a blocking thread).
///
/// # Errors
/// A fatal [`Error`] for unreadable input, a mapping that does not fit the header, or a
/// results file that is not orgimport's.
pub async fn prepare(
    input: &Path,
    dialect: Dialect,
    spec: &MappingSpec,
    results: &Path,
    default_template: Option<String>,
) -> Result<Prepared, Error> {
    let input_path = input.to_path_buf();
    let results_path = results.to_path_buf();
    let spec = spec.clone();
    tokio::task::spawn_blocking(move || -> Result<_, Error> {
        let mapping = input::mapping_for(&input_path, &dialect, &spec)?;
        let earlier = record::EarlierRuns::load(&results_path, &mapping)?;
        let plan = build(
            &input_path,
            &dialect,
            &mapping,
            &earlier,
            default_template.as_deref(),
            &mut |_| {},
        )?;
        Ok(Prepared {
            mapping,
            plan,
            done_earlier: earlier.done.len(),
            in_doubt: earlier.in_doubt,
        })
    })
    .await
    .expect("the planning thread does not panic")
}
