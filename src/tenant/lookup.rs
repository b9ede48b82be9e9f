//! Rows' organizations read one by one instead of listing the tenant: a row with an id by
//! `GET /organizations/{id}`, one without by `GET /organizations?search_phrase=NAME` (a
//! case-insensitive substring search, paged, of which only organizations with exactly the
//! row's name that are not templates are kept). What the look-ups find, put in an
//! [`Existing`], matches each row as a listing of the whole tenant would: the same
//! organization, or the same conflict.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use std::ops::ControlFlow;

use crate::api::{ApiClient, CreateOrganization, GaveUp, Organization, RetryPolicy};
use crate::fan_out::fan_out;
use crate::stop::Stop;
use crate::tenant::existing::Existing;

/// What to read: organizations by id, and names to search for.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Keys {
    /// Ids to read (rows' ids, parents and templates they name).
    pub ids: BTreeSet<String>,
    /// Names of rows without an id.
    pub names: BTreeSet<String>,
}

impl Keys {
    /// The key of a row with `id` (if any) and `name`: its id, else its name.
    pub(crate) fn add_row(&mut self, id: Option<&str>, name: &str) {
        match id {
            Some(id) => self.ids.insert(id.to_string()),
            None => self.names.insert(name.to_string()),
        };
    }

    /// What `plan` reads of the tenant when it does not list it: every row's organization (by
    /// id, else by name), and every parent and template a row names by id, the default
    /// template included. `requests` are the valid rows' requests.
    pub(crate) fn of_requests(
        requests: &[Option<CreateOrganization>],
        default_template: Option<&str>,
    ) -> Keys {
        let mut keys = Keys::default();
        for request in requests.iter().flatten() {
            keys.add_row(request.id.as_deref(), &request.name);
            for id in [&request.parent_id, &request.template_id]
                .into_iter()
                .flatten()
            {
                keys.ids.insert(id.clone());
            }
        }
        if let Some(template) = default_template {
            keys.ids.insert(template.to_string());
        }
        keys
    }

    /// How many look-ups they take (a name shared by more than a page of organizations takes
    /// more requests).
    pub(crate) fn len(&self) -> usize {
        self.ids.len() + self.names.len()
    }
}

/// What one look-up is about: an id to read, or a name to search for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Key {
    /// `GET /organizations/{id}`.
    Id(String),
    /// `GET /organizations?search_phrase=NAME`.
    Name(String),
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Key::Id(id) => write!(f, "id {id:?}"),
            Key::Name(name) => write!(f, "name {name:?}"),
        }
    }
}

/// The organizations a row with `id` (if any) and `name` may match, read as `policy` says
/// (for the log, the row is `name`); every request's first attempt is counted in `reads`.
///
/// # Errors
/// [`GaveUp`] when the read fails for good, or `stop` ends it.
pub(crate) async fn candidates(
    client: &ApiClient,
    policy: RetryPolicy,
    stop: &Stop,
    key: &Key,
    reads: &AtomicU64,
) -> Result<Vec<Organization>, GaveUp> {
    match key {
        Key::Id(id) => policy
            .call(stop, "a look-up", id, || {
                reads.fetch_add(1, Ordering::Relaxed);
                client.get(id)
            })
            .await
            .map(|found| found.into_iter().collect()),
        Key::Name(name) => {
            policy
                .call(stop, "a look-up", name, || {
                    reads.fetch_add(1, Ordering::Relaxed);
                    client.find_by_name(name)
                })
                .await
        }
    }
}

/// The organizations a row with `id` (if any) and `name` may match, indexed: its
/// [`Existing::find`] gives the row's match.
///
/// # Errors
/// As [`candidates`].
pub(crate) async fn look_up_row(
    client: &ApiClient,
    policy: RetryPolicy,
    stop: &Stop,
    id: Option<&str>,
    name: &str,
    reads: &AtomicU64,
) -> Result<Existing, GaveUp> {
    let key = match id {
        Some(id) => Key::Id(id.to_string()),
        None => Key::Name(name.to_string()),
    };
    let found = candidates(client, policy, stop, &key, reads).await?;
    Ok(Existing::from_organizations(found))
}

/// Why [`look_up_all`] did not read every key.
#[derive(Debug)]
pub(crate) enum LookUpsEnded {
    /// The stop signal came before every look-up was started.
    Stopped,
    /// A look-up failed for good: its key and why.
    Failed(Key, GaveUp),
}

/// Every key of `keys` looked up, `concurrency` at a time, into one index.
///
/// # Errors
/// [`LookUpsEnded::Failed`]: the first look-up that failed for good, with its key (the
/// others are abandoned); [`LookUpsEnded::Stopped`] when `stop` came before every look-up
/// was started.
pub(crate) async fn look_up_all(
    client: &ApiClient,
    policy: RetryPolicy,
    stop: &Arc<Stop>,
    keys: &Keys,
    concurrency: usize,
    reads: &Arc<AtomicU64>,
) -> Result<Existing, LookUpsEnded> {
    let all =
        (keys.ids.iter().cloned().map(Key::Id)).chain(keys.names.iter().cloned().map(Key::Name));
    let mut existing = Existing::default();
    let mut failed = None;
    let fanned = fan_out(
        concurrency,
        stop,
        all,
        |key| {
            let (client, stop, reads) = (client.clone(), stop.clone(), reads.clone());
            async move {
                let found = candidates(&client, policy, &stop, &key, &reads).await;
                found.map_err(|gave_up| (key, gave_up))
            }
        },
        |found| match found {
            Ok(found) => {
                existing.extend(found);
                ControlFlow::Continue(())
            }
            Err(first) => {
                failed = Some(first);
                ControlFlow::Break(())
            }
        },
    )
    .await;
    match (failed, fanned.cut) {
        (Some((key, gave_up)), _) => Err(LookUpsEnded::Failed(key, gave_up)),
        (None, Some(_)) => Err(LookUpsEnded::Stopped),
        (None, None) => Ok(existing),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::client::is_named;
    use crate::tenant::existing::Match;

    fn org(id: &str, name: &str, template: bool) -> Organization {
        Organization {
            id: id.into(),
            name: name.into(),
            template,
            ..Organization::default()
        }
    }

    /// A tenant with the names a substring search confuses: case, substrings, a template's
    /// name, twins, an id that is another organization's name, letters whose case folds.
    fn tenant() -> Vec<Organization> {
        let mut all = vec![
            org("a1", "Acme", false),
            org("a2", "Acme Corp", false),
            org("a3", "acme", false),
            org("a4", "ACME GmbH", false),
            org("t1", "Acme", true),
            org("t2", "Template Only", true),
            org("w1", "Twin", false),
            org("w2", "Twin", false),
            org("Twin", "Not a twin", false),
            org("m1", "Müller", false),
            org("m2", "MÜLLER", false),
            org("s1", "Spaced ", false),
            org("p1", "Parent", false),
        ];
        all.sort_by(|a, b| a.id.cmp(&b.id)); // a listing is in id order
        all
    }

    /// What the API answers a look-up of `key` in `all`, as `ApiClient::get` and
    /// `ApiClient::find_by_name` take it: the organization with the id; or the search's
    /// matches (the id exactly, or a case-insensitive substring of the name, templates
    /// filtered out by `template=false`) with exactly the name.
    fn served(all: &[Organization], key: &Key) -> Vec<Organization> {
        match key {
            Key::Id(id) => all.iter().filter(|o| o.id == *id).cloned().collect(),
            Key::Name(name) => all
                .iter()
                .filter(|o| !o.template)
                .filter(|o| o.id == *name || o.name.to_lowercase().contains(&name.to_lowercase()))
                .filter(|o| is_named(o, name))
                .cloned()
                .collect(),
        }
    }

    fn key(id: Option<&str>, name: &str) -> Key {
        id.map_or_else(|| Key::Name(name.into()), |id| Key::Id(id.into()))
    }

    fn seen(m: Match<'_>) -> String {
        match m {
            Match::New => "new".into(),
            Match::Found(org) => format!("found {}", org.id),
            Match::Conflict(why) => format!("conflict: {why}"),
        }
    }

    const ROWS: [(Option<&str>, &str); 16] = [
        (None, "Acme"),
        (None, "acme"),
        (None, "ACME"),
        (None, "Acme Corp"),
        (None, "Acme GmbH"),
        (None, "Template Only"),
        (None, "Twin"),
        (None, "Not a twin"),
        (None, "Müller"),
        (None, "müller"),
        (None, "Spaced"),
        (None, "Spaced "),
        (None, "nobody"),
        (Some("t1"), "anything"),
        (Some("a2"), "Acme"),
        (Some("zz"), "Parent"),
    ];

    #[test]
    fn a_look_up_matches_every_row_as_the_whole_listing_does() {
        let all = tenant();
        let listed = Existing::from_organizations(all.clone());
        // Plan's way: every row's look-up in one index.
        let mut merged = Existing::default();
        for (id, name) in ROWS {
            merged.extend(served(&all, &key(id, name)));
        }
        for (id, name) in ROWS {
            let alone = Existing::from_organizations(served(&all, &key(id, name)));
            let expected = seen(listed.find(id, name));
            assert_eq!(seen(alone.find(id, name)), expected, "{id:?} {name:?}");
            assert_eq!(seen(merged.find(id, name)), expected, "{id:?} {name:?}");
        }
        // The cases the tenant was built for, as the listing sees them.
        assert_eq!(seen(listed.find(None, "Acme")), "found a1");
        assert_eq!(seen(listed.find(None, "ACME")), "new");
        assert_eq!(seen(listed.find(None, "Template Only")), "new");
        assert!(seen(listed.find(None, "Twin")).contains("w1, w2"));
        assert_eq!(seen(listed.find(None, "Not a twin")), "found Twin");
        assert!(seen(listed.find(Some("t1"), "x")).starts_with("conflict"));
        assert_eq!(seen(listed.find(Some("a2"), "Acme")), "found a2");
    }

    #[test]
    fn keys_are_an_id_else_a_name() {
        let mut keys = Keys::default();
        keys.add_row(Some("a1"), "Acme");
        keys.add_row(None, "Acme");
        keys.add_row(None, "Acme");
        assert_eq!(keys.len(), 2);
        assert!(keys.ids.contains("a1") && keys.names.contains("Acme"));
    }
}
