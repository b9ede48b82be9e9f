//! Deleting the organizations undo found, deepest first: a parent only once all its children
//! are gone, each level fanned out, each row's fate noted as its delete ends.

use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use super::Fate;
use super::look_up::{Found, by_key, is_the_rows, looked_up_by, not_its_own, not_its_own_warning};
use crate::api::{ApiClient, RetryPolicy};
use crate::fan_out::fan_out;
use crate::input::Numbering;
use crate::record::{ResultRow, ResultsFile, Status};
use crate::report::progress::Progress;
use crate::stop::Stop;

/// Each row's fate, by its index in the results file.
pub(super) type Fates = BTreeMap<usize, Fated>;

/// What became of one row: its fate, the error that goes with it, and the organization it
/// was found to be when that is not the one in [`Targets`] (its org_id was another's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Fated {
    /// What became of it.
    pub fate: Fate,
    /// Why, when it was not deleted.
    pub error: String,
    /// The organization undo found to be the row's instead of its target.
    pub found_instead: Option<String>,
}

impl Fated {
    /// `fate`, for the reason `error` (empty when there is none to give).
    pub(super) fn new(fate: Fate, error: impl Into<String>) -> Fated {
        Fated {
            fate,
            error: error.into(),
            found_instead: None,
        }
    }
}

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
/// level `calls.concurrency` at a time, noting each row's fate in `fates`; a failure, and an
/// org_id found not to be its row's, is printed as it comes. A target is read first, to be
/// sure it is the row's, unless its row is among `looked_up` (in order), whose look-up read
/// it already.
pub(super) async fn delete_deepest_first(
    calls: &Calls,
    results_file: &ResultsFile,
    targets: &Targets,
    looked_up: &[usize],
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
    // A look-up's find is its row's, over another row's org_id naming it (see `find_targets`).
    let mut owners: HashMap<String, u64> = HashMap::new();
    let is_looked_up = |i: &usize| looked_up.binary_search(i).is_ok();
    for (i, id) in (targets.iter().filter(|(i, _)| !is_looked_up(i)))
        .chain(targets.iter().filter(|(i, _)| is_looked_up(i)))
    {
        owners.insert(id.clone(), results_file.rows[*i].line);
    }
    let owners: Owners = Arc::new(Mutex::new(owners));
    let mut progress = Progress::new(targets.len() as u64, quiet);
    for rows_at_level in levels.values() {
        fan_out(
            calls.concurrency,
            &calls.stop,
            rows_at_level.iter().copied(),
            |index| {
                let id = targets[&index].clone();
                let deleted: Pin<Box<dyn Future<Output = _> + Send>> = if looked_up
                    .binary_search(&index)
                    .is_ok()
                {
                    let (client, stop, policy) =
                        (calls.client.clone(), calls.stop.clone(), calls.policy);
                    Box::pin(async move { (delete_one(&client, policy, &stop, &id).await, None) })
                } else {
                    let row = results_file.rows[index].clone();
                    Box::pin(delete(calls, id, row, owners.clone()))
                };
                async move { (index, deleted.await) }
            },
            |(index, (fated, not_its_own))| {
                if let Some(why) = not_its_own {
                    progress.println(&not_its_own_warning(results_file, index, &why));
                }
                if fated.fate == Fate::Failed {
                    let line = results_file.rows[index].line;
                    let place = Numbering::Lines.place(&results_file.path, line);
                    let id = fated.found_instead.as_ref().unwrap_or(&targets[&index]);
                    progress.println(&format!("{place}: failed: {id}: {}", fated.error));
                }
                progress.row_done(if fated.fate == Fate::Failed {
                    Status::Failed
                } else {
                    Status::Created
                });
                fates.insert(index, fated);
                ControlFlow::Continue(())
            },
        )
        .await;
    }
    progress.finish();
}

/// The organizations rows are to be deleted as, with the line of the row each is: a row's
/// org_id, until a row finds that organization by its own name or id (the org_id was edited).
type Owners = Arc<Mutex<HashMap<String, u64>>>;

/// Deletes organization `id`, `row`'s, as a task of its own: its fate (with the error when it
/// was not deleted), and why the org_id is not the row's when it was not. It is read first
/// and deleted only when it is the row's: a results file edited by hand may give a row a
/// template, or another organization. Then that organization is left alone, and the row's own
/// is looked up by its key ([`by_key`]), as a rerun would, and deleted when found. An org_id
/// gone because the row it really was (`owners`) deleted it is looked up the same way.
fn delete(
    calls: &Calls,
    id: String,
    row: ResultRow,
    owners: Owners,
) -> impl Future<Output = (Fated, Option<String>)> + Send + 'static {
    let (client, stop, policy) = (calls.client.clone(), calls.stop.clone(), calls.policy);
    async move {
        let read = policy
            .call(&stop, "a look-up", &id, || client.get(&id))
            .await;
        let taken_by = |id: &str| {
            let owners = owners.lock().expect("owners");
            owners.get(id).copied().filter(|line| *line != row.line)
        };
        let why = match read {
            // Gone because the row whose own it was deleted it: the org_id was that row's.
            Ok(None) => match taken_by(&id) {
                Some(line) => not_its_own_gone(&id, line, &row),
                None => return (Fated::new(Fate::AlreadyGone, ""), None),
            },
            Ok(Some(org)) if is_the_rows(&org, &row) => {
                return (delete_one(&client, policy, &stop, &id).await, None);
            }
            Ok(Some(org)) => not_its_own(&org, &row),
            Err(e) => {
                return (
                    Fated::new(Fate::Failed, e.into_row_error().to_string()),
                    None,
                );
            }
        };
        let fated = match by_key(&client, policy, &stop, &row).await {
            // Found by the row's own name or id: its own, whatever org_id another
            // row's cell gives (org_ids swapped between rows: each finds its own).
            Found::Organization(found) => {
                owners
                    .lock()
                    .expect("owners")
                    .insert(found.clone(), row.line);
                Fated {
                    found_instead: Some(found.clone()),
                    ..delete_one(&client, policy, &stop, &found).await
                }
            }
            Found::Nothing(nothing) => Fated::new(
                Fate::NotFound,
                format!("its org_id {id:?} is another organization's (left alone); {nothing}"),
            ),
            Found::Failed(failed) => Fated::new(Fate::Failed, failed),
            Found::NotAttempted => Fated::new(Fate::NotAttempted, ""),
        };
        (fated, Some(why))
    }
}

/// Why organization `id`, which the results file gives `row` as its org_id, is not the row's:
/// line `line` found it as its own and deleted it.
fn not_its_own_gone(id: &str, line: u64, row: &ResultRow) -> String {
    format!(
        "its org_id {id:?} was line {line}'s organization (deleted as that row's; was the \
         results file edited?): the row's own is looked up {}",
        looked_up_by(row)
    )
}

/// Deletes organization `id`, read as the row's.
async fn delete_one(client: &ApiClient, policy: RetryPolicy, stop: &Stop, id: &str) -> Fated {
    let deleted = policy
        .call(stop, "a delete", id, || client.delete(id))
        .await;
    match deleted {
        Ok(true) => Fated::new(Fate::Deleted, ""),
        Ok(false) => Fated::new(Fate::AlreadyGone, ""),
        Err(e) => Fated::new(Fate::Failed, e.into_row_error().to_string()),
    }
}
