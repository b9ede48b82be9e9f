//! The sandbox's memory: organizations by id, commit counts, and remembered create replies.
//!
//! Every method is synchronous; the caller holds the store's `std::sync::Mutex` for one call
//! (or one create, replay check included) and never across an `.await`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;

use tokio::time::Instant;

use super::model::{NewOrganization, Organization};
use super::random_hex;
use super::reply::{ApiError, JsonReply};

/// Organizations and what happened to them.
#[derive(Debug, Default)]
pub(crate) struct Store {
    /// Every organization by id; ordered because lists are sorted and paged by id.
    orgs: BTreeMap<String, Organization>,
    /// How many creates committed each id (history: deletes do not lower it).
    commits_by_id: HashMap<String, u64>,
    /// How many creates committed each name; above 1 means duplicate organizations.
    commits_by_name: HashMap<String, u64>,
    /// Replies to creates sent with `X-Idempotency-Key`, by key, for one minute.
    replies: ExpiringMap<Remembered>,
    /// The reply to the first create committed, for `same_id_for_every_create`.
    pub(crate) first_created: Option<JsonReply>,
    /// The last version given to an organization: every write takes the next one, so an
    /// `ETag` never names two different states.
    last_version: u64,
}

/// A create reply kept for replay.
#[derive(Debug)]
struct Remembered {
    /// SHA-256 of the request body, so a key reused for another body is caught.
    body_digest: [u8; 32],
    /// The reply sent the first time.
    reply: JsonReply,
}

impl Store {
    /// Adds or replaces an organization without counting a commit (seeding and tests).
    ///
    /// Child counts stay true: the replaced organization's parent loses a child, the new
    /// one's parent gains one, and the new organization counts the children it already has.
    pub(crate) fn insert(&mut self, mut org: Organization) {
        if let Some(old) = self.orgs.remove(&org.id) {
            self.adjust_parent(old.parent_id.as_deref(), false);
        }
        self.adjust_parent(org.parent_id.as_deref(), true);
        org.number_of_child_organizations = self
            .orgs
            .values()
            .filter(|o| o.parent_id.as_deref() == Some(org.id.as_str()))
            .count() as u64;
        org.version = self.next_version();
        self.orgs.insert(org.id.clone(), org);
    }

    /// Commits a create: picks an id if none was given, checks the id is free and the
    /// template and parent exist, inherits from the template, and counts the commit.
    ///
    /// The new organization takes the template's authentication mechanisms and metadata
    /// schema when the request gives none; nothing else is inherited.
    ///
    /// Errors: 409 `conflict` for a taken id; 404 `not_found` for an unknown template (or one
    /// that is not a template) or parent.
    pub(crate) fn create(&mut self, new: NewOrganization) -> Result<&Organization, ApiError> {
        let NewOrganization {
            mut org,
            template_id,
        } = new;
        if org.id.is_empty() {
            org.id = self.unused_id();
        } else if self.orgs.contains_key(&org.id) {
            return Err(ApiError::Conflict(org.id));
        }
        if let Some(template_id) = template_id {
            let template =
                self.orgs
                    .get(&template_id)
                    .filter(|t| t.template)
                    .ok_or(ApiError::NotFound {
                        what: "template",
                        id: template_id,
                    })?;
            if org.authentication_mechanisms.is_none() {
                org.authentication_mechanisms = template.authentication_mechanisms.clone();
            }
            if org.metadata.schema.is_empty() {
                org.metadata.schema = template.metadata.schema.clone();
            }
        }
        if let Some(parent_id) = &org.parent_id
            && !self.orgs.contains_key(parent_id)
        {
            return Err(ApiError::NotFound {
                what: "parent organization",
                id: parent_id.clone(),
            });
        }
        self.adjust_parent(org.parent_id.as_deref(), true);
        org.version = self.next_version();
        *self.commits_by_id.entry(org.id.clone()).or_default() += 1;
        *self.commits_by_name.entry(org.name.clone()).or_default() += 1;
        Ok(self.orgs.entry(org.id.clone()).or_insert(org))
    }

    /// Replaces an organization's fields with those of a PUT body (a whole `Org`): the id,
    /// the child count and the fields the body cannot carry (theme, subject settings) stay.
    ///
    /// Errors: 404 `not_found` for an unknown organization or parent; 422 `invalid_request`
    /// for a body naming another id, or the organization as its own parent.
    pub(crate) fn update(
        &mut self,
        id: &str,
        new: NewOrganization,
    ) -> Result<&Organization, ApiError> {
        let NewOrganization { org: new, .. } = new;
        if !self.orgs.contains_key(id) {
            return Err(ApiError::NotFound {
                what: "organization",
                id: id.to_owned(),
            });
        }
        if !new.id.is_empty() && new.id != id {
            return Err(ApiError::Invalid {
                field: "id",
                reason: format!("the body names id {:?}, the path {id:?}", new.id),
            });
        }
        if let Some(parent_id) = &new.parent_id {
            if parent_id == id {
                return Err(ApiError::Invalid {
                    field: "parent_id",
                    reason: "an organization cannot be its own parent".to_owned(),
                });
            }
            if !self.orgs.contains_key(parent_id) {
                return Err(ApiError::NotFound {
                    what: "parent organization",
                    id: parent_id.clone(),
                });
            }
        }
        let old_parent = self.orgs.get(id).and_then(|o| o.parent_id.clone());
        self.adjust_parent(old_parent.as_deref(), false);
        self.adjust_parent(new.parent_id.as_deref(), true);
        let version = self.next_version();
        let org = self.orgs.get_mut(id).expect("checked above");
        org.version = version;
        org.name = new.name;
        org.description = new.description;
        org.color = new.color;
        org.parent_id = new.parent_id;
        org.metadata = new.metadata;
        org.domains = new.domains;
        org.authentication_mechanisms = new.authentication_mechanisms;
        org.deactivated = new.deactivated;
        org.template = new.template;
        Ok(org)
    }

    /// Adds many organizations at once without counting commits (seeding a large tenant),
    /// then counts every organization's children in one pass.
    pub(crate) fn insert_many(&mut self, orgs: impl IntoIterator<Item = Organization>) {
        for mut org in orgs {
            org.version = self.next_version();
            self.orgs.insert(org.id.clone(), org);
        }
        let mut children: HashMap<String, u64> = HashMap::new();
        for parent in self.orgs.values().filter_map(|o| o.parent_id.as_ref()) {
            *children.entry(parent.clone()).or_default() += 1;
        }
        for org in self.orgs.values_mut() {
            org.number_of_child_organizations = children.get(&org.id).copied().unwrap_or(0);
        }
    }

    /// Changes an organization as someone else would between a client's read and its update:
    /// `edited by someone else` is appended to its description, and it gets a new version.
    /// Nothing happens to an unknown id.
    pub(crate) fn edit_as_someone_else(&mut self, id: &str) {
        let version = self.next_version();
        if let Some(org) = self.orgs.get_mut(id) {
            org.description.push_str(" (edited by someone else)");
            org.version = version;
        }
    }

    /// The next version, never given before.
    fn next_version(&mut self) -> u64 {
        self.last_version += 1;
        self.last_version
    }

    /// Deletes an organization.
    ///
    /// Errors: 404 `not_found` if it does not exist; 400 `bad_request` if it has children
    /// (the spec declares 400, not 409, for delete).
    pub(crate) fn delete(&mut self, id: &str) -> Result<(), ApiError> {
        let org = self.orgs.get(id).ok_or_else(|| ApiError::NotFound {
            what: "organization",
            id: id.to_owned(),
        })?;
        if org.number_of_child_organizations > 0 {
            return Err(ApiError::HasChildren {
                id: id.to_owned(),
                children: org.number_of_child_organizations,
            });
        }
        if let Some(org) = self.orgs.remove(id) {
            self.adjust_parent(org.parent_id.as_deref(), false);
        }
        Ok(())
    }

    /// The organization with this id.
    pub(crate) fn get(&self, id: &str) -> Option<&Organization> {
        self.orgs.get(id)
    }

    /// All organizations in id order, starting after `after` when given.
    pub(crate) fn after<'a>(
        &'a self,
        after: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Organization> + 'a {
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        self.orgs
            .range::<str, _>((start, Bound::Unbounded))
            .map(|(_, org)| org)
    }

    /// How many organizations exist that are not templates.
    pub(crate) fn non_templates(&self) -> u64 {
        self.orgs.values().filter(|o| !o.template).count() as u64
    }

    /// Committed creates per id.
    pub(crate) fn commits_by_id(&self) -> &HashMap<String, u64> {
        &self.commits_by_id
    }

    /// Committed creates per name.
    pub(crate) fn commits_by_name(&self) -> &HashMap<String, u64> {
        &self.commits_by_name
    }

    /// The reply remembered for an idempotency key, if it was stored less than a minute ago.
    ///
    /// Errors: 422 `invalid_request` if the key was used for a different body.
    pub(crate) fn recall(
        &mut self,
        key: &str,
        body_digest: &[u8; 32],
        now: Instant,
    ) -> Result<Option<JsonReply>, ApiError> {
        self.replies.purge(now);
        match self.replies.get(key) {
            Some((_, seen)) if seen.body_digest != *body_digest => Err(ApiError::Invalid {
                field: "X-Idempotency-Key",
                reason: "the key was used within the last minute for a different request body"
                    .to_owned(),
            }),
            Some((_, seen)) => Ok(Some(seen.reply.clone())),
            None => Ok(None),
        }
    }

    /// Remembers a create's reply under its idempotency key until `expires_at`.
    pub(crate) fn remember(
        &mut self,
        key: String,
        body_digest: [u8; 32],
        reply: JsonReply,
        expires_at: Instant,
    ) {
        let seen = Remembered { body_digest, reply };
        self.replies.insert(key, seen, expires_at);
    }

    /// A random 32-hex-digit id that no organization has.
    fn unused_id(&self) -> String {
        loop {
            let id = random_hex(16);
            if !self.orgs.contains_key(&id) {
                return id;
            }
        }
    }

    /// Counts a child in or out of its parent, if the parent exists.
    fn adjust_parent(&mut self, parent_id: Option<&str>, added: bool) {
        if let Some(parent) = parent_id.and_then(|id| self.orgs.get_mut(id)) {
            let n = &mut parent.number_of_child_organizations;
            *n = if added {
                n.saturating_add(1)
            } else {
                n.saturating_sub(1)
            };
        }
    }
}

/// A map whose entries expire; used for issued tokens and remembered replies.
///
/// Expired entries are dropped by [`purge`](Self::purge) in insertion order, which is expiry
/// order as long as every entry lives equally long (one token lifetime, one replay window).
/// Lookups return the expiry so callers can tell "expired" from "unknown".
#[derive(Debug)]
pub(crate) struct ExpiringMap<V> {
    /// Live (and not yet purged) entries with their expiry.
    entries: HashMap<String, (Instant, V)>,
    /// Keys in insertion order with the expiry they were inserted with.
    order: VecDeque<(Instant, String)>,
}

impl<V> Default for ExpiringMap<V> {
    fn default() -> Self {
        ExpiringMap {
            entries: HashMap::new(),
            order: VecDeque::new(),
        }
    }
}

impl<V> ExpiringMap<V> {
    /// Inserts or replaces an entry that expires at `expires_at`.
    pub(crate) fn insert(&mut self, key: String, value: V, expires_at: Instant) {
        self.order.push_back((expires_at, key.clone()));
        self.entries.insert(key, (expires_at, value));
    }

    /// Every key not yet purged.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// The entry and its expiry, even if it has expired but is not yet purged.
    pub(crate) fn get(&self, key: &str) -> Option<(Instant, &V)> {
        self.entries.get(key).map(|(at, v)| (*at, v))
    }

    /// Drops entries that expired at or before `now`.
    pub(crate) fn purge(&mut self, now: Instant) {
        while let Some((at, _)) = self.order.front() {
            if *at > now {
                break;
            }
            if let Some((at, key)) = self.order.pop_front() {
                // The key may have been inserted again since, with a later expiry.
                if self.entries.get(&key).is_some_and(|(e, _)| *e == at) {
                    self.entries.remove(&key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn expiring_map_purges_only_what_expired() {
        let now = Instant::now();
        let mut map = ExpiringMap::default();
        map.insert("a".to_owned(), 1, now + Duration::from_secs(1));
        map.insert("b".to_owned(), 2, now + Duration::from_secs(2));
        map.insert("a".to_owned(), 3, now + Duration::from_secs(3));
        map.purge(now + Duration::from_secs(2));
        assert_eq!(map.get("b"), None);
        assert_eq!(map.get("a").map(|(_, v)| *v), Some(3));
    }

    #[test]
    fn child_counts_follow_creates_and_deletes() {
        let mut store = Store::default();
        store.insert(Organization::new("p", "Parent"));
        let mut child = Organization::new("c", "Child");
        child.parent_id = Some("p".to_owned());
        store
            .create(NewOrganization {
                org: child,
                template_id: None,
            })
            .unwrap();
        assert_eq!(store.get("p").unwrap().number_of_child_organizations, 1);
        assert_eq!(store.delete("p").unwrap_err().status().as_u16(), 400);
        store.delete("c").unwrap();
        assert_eq!(store.get("p").unwrap().number_of_child_organizations, 0);
    }
}
