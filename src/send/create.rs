//! One row's create over HTTP: runs the steps `CreateSteps` says (look-ups, creates, reads,
//! pauses) against the API.

use super::create_steps::{CreateSteps, LookUp, Row, Step};
use super::*;
use crate::api::{ApiClient, Backoff, CallError, GaveUp, Organization, RetryPolicy};
use crate::record::Outcome;
use crate::report::requests::RequestCount;

/// Sends one row until it is created, found, refused, or out of attempts, as [`CreateSteps`]
/// says.
///
/// Every create of the row carries its idempotency key, but nothing rests on the server
/// honouring it: before any create that follows one that may have gone through unheard (a
/// timeout, a dropped connection, a 5xx, an earlier run's), the row is looked up, by id if it
/// has one, else by name. A reply replayed for the key is confirmed by reading the
/// organization it names. Every request sent (creates, and each attempt of a look-up or a
/// read) is counted in `requests`; rejected credentials set `stop` with the fatal error.
pub(crate) async fn send_row(
    client: &ApiClient,
    row: Row<'_>,
    policy: RetryPolicy,
    stop: &Stop,
    requests: &RequestCount,
) -> Outcome {
    let name = row.request.name.as_str();
    let mut steps = CreateSteps::new(row, policy);
    let mut backoff = Backoff::default();
    let mut step = steps.start();
    loop {
        step = match step {
            Step::LookUp(LookUp::ByName(name)) => {
                let found = policy
                    .call(stop, "a look-up", name, || {
                        requests.looking_up();
                        client.find_by_name(name)
                    })
                    .await;
                steps.looked_up(found)
            }
            Step::LookUp(LookUp::ById(id)) => {
                let found = read(client, policy, stop, requests, name, id).await;
                steps.looked_up(found.map(|org| org.into_iter().collect()))
            }
            Step::Send {
                body,
                idempotency_key,
            } => {
                requests.sending();
                let reply = client.create_json(body.clone(), &idempotency_key).await;
                if matches!(reply, Err(CallError::Withheld)) {
                    // The run stopped while it waited for its turn: it never left.
                    requests.withheld();
                }
                steps.sent(reply)
            }
            Step::FetchById(id) => {
                let found = read(client, policy, stop, requests, name, id).await;
                steps.fetched(found)
            }
            Step::ConfirmReplay(id) => {
                let found = read(client, policy, stop, requests, name, &id).await;
                steps.confirmed(found)
            }
            Step::Pause(error) => {
                if policy
                    .pause(&mut backoff, &error, stop, "a create", name)
                    .await
                {
                    steps.waited()
                } else {
                    steps.stopped(error)
                }
            }
            Step::Fatal(error, outcome) => {
                stop.fatal(error);
                return outcome;
            }
            Step::Done(outcome) => return outcome,
        };
    }
}

/// The organization `id` (`None` if there is none), read for the row `name` as `policy` says.
///
/// # Errors
/// [`GaveUp`] when it could not be read.
async fn read(
    client: &ApiClient,
    policy: RetryPolicy,
    stop: &Stop,
    requests: &RequestCount,
    name: &str,
    id: &str,
) -> Result<Option<Organization>, GaveUp> {
    policy
        .call(stop, "a look-up", name, || {
            requests.looking_up();
            client.get(id)
        })
        .await
}
