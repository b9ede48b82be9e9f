//! Deleting the organizations undo found, deepest first: a parent only once all its children
//! are gone, each level fanned out, each row's fate noted as its delete ends.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use super::Fate;
use crate::api::{ApiClient, RetryPolicy};
use crate::fan_out::fan_out;
use crate::input::Numbering;
use crate::record::{ResultsFile, Status};
use crate::report::progress::Progress;
use crate::stop::Stop;

/// Each row's fate, by its index in the results file, with the error that goes with it.
pub(super) type Fates = BTreeMap<usize, (Fate, String)>;

/// The organization of each row to delete, by the row's index in the results file: its
/// org_id, or what a look-up found.
pub(super) type Targets = BTreeMap<usize, String>;

/// How undo calls the API: through `client`, each call retried as `policy` says until `stop`
/// is set, `concurrency` at a time.
pub(super) struct Calls {
    /// The organizations API.
    pub client: ApiClient,
    /// How each call is retried.
    pub policy: RetryPolicy,
    /// Ctrl-C or a page's Stop: no new call starts once it is set.
    pub stop: Arc<Stop>,
    /// How many calls at once.
    pub concurrency: usize,
}

/// Deletes every one of `targets`, deepest first (a parent once all its children are), each
/// level `calls.concurrency` at a time, noting each row's fate in `fates`; a failure is
/// printed as it comes.
pub(super) async fn delete_deepest_first(
    calls: &Calls,
    results_file: &ResultsFile,
    targets: &Targets,
    quiet: bool,
    fates: &mut Fates,
) {
    let mut levels: BTreeMap<std::cmp::Reverse<usize>, Vec<usize>> = BTreeMap::new();
    for &i in targets.keys() {
        levels
            .entry(std::cmp::Reverse(results_file.depth(i)))
            .or_default()
            .push(i);
    }
    let mut progress = Progress::new(targets.len() as u64, quiet);
    for rows_at_level in levels.values() {
        fan_out(
            calls.concurrency,
            &calls.stop,
            rows_at_level.iter().copied(),
            |index| {
                let name = results_file.rows[index].name.clone();
                let deleted = delete(calls, targets[&index].clone(), name);
                async move { (index, deleted.await) }
            },
            |(index, (fate, error))| {
                if fate == Fate::Failed {
                    let line = results_file.rows[index].line;
                    let place = Numbering::Lines.place(&results_file.path, line);
                    progress.println(&format!("{place}: failed: {}: {error}", targets[&index]));
                }
                progress.row_done(if fate == Fate::Failed {
                    Status::Failed
                } else {
                    Status::Created
                });
                fates.insert(index, (fate, error));
                ControlFlow::Continue(())
            },
        )
        .await;
    }
    progress.finish();
}

/// Deletes organization `id`, the row `name`'s, as a task of its own: its fate, and the error
/// when it failed. It is read first and deleted only when it is that row's (a results file
/// edited by hand may name a template, or another organization that was there before).
fn delete(
    calls: &Calls,
    id: String,
    name: String,
) -> impl Future<Output = (Fate, String)> + Send + 'static {
    let (client, stop, policy) = (calls.client.clone(), calls.stop.clone(), calls.policy);
    async move {
        let read = policy
            .call(&stop, "a look-up", &id, || client.get(&id))
            .await;
        match read {
            Ok(None) => return (Fate::AlreadyGone, String::new()),
            Ok(Some(org)) if org.template => {
                return (
                    Fate::Failed,
                    format!(
                        "organization {id:?} is a template, not this row's: not deleted (was \
                         the results file edited?)"
                    ),
                );
            }
            Ok(Some(org)) if !name.is_empty() && org.name != name => {
                return (
                    Fate::Failed,
                    format!(
                        "organization {id:?} is named {:?}, not {name:?}: not this row's, not \
                         deleted (was the results file edited?)",
                        org.name
                    ),
                );
            }
            Ok(Some(_)) => {}
            Err(e) => return (Fate::Failed, e.into_row_error().to_string()),
        }
        let deleted = policy
            .call(&stop, "a delete", &id, || client.delete(&id))
            .await;
        match deleted {
            Ok(true) => (Fate::Deleted, String::new()),
            Ok(false) => (Fate::AlreadyGone, String::new()),
            Err(e) => (Fate::Failed, e.into_row_error().to_string()),
        }
    }
}
