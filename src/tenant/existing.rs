//! The tenant's organizations as they are now: listed once, page by page through the shared
//! limiter and token (or only as far as a budget of pages allows), and indexed to match rows
//! against. A row with an id matches the organization with that id; a row without one matches
//! by name, among organizations that are not templates. Two organizations with the row's name
//! are a conflict, never a guess. The same index holds what per-row look-ups found
//! (`tenant::lookup`), and matches a row the same way.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::api::client::LIST_PAGE;
use crate::api::{ApiClient, CallError, Organization, RetryPolicy};
use crate::report::listing::ListingProgress;
use crate::stop::Stop;
use crate::{Error, RowError};

/// The tenant's organizations, by id and by name.
#[derive(Debug, Default)]
pub struct Existing {
    /// Every organization, templates included, by id.
    by_id: HashMap<String, Organization>,
    /// The ids of the organizations (not templates) with each name.
    by_name: HashMap<String, Vec<String>>,
    /// List requests sent, retries included.
    pub requests: u64,
    /// How long listing took.
    pub elapsed: Duration,
}

/// What a row matches among the existing organizations.
#[derive(Debug)]
pub enum Match<'a> {
    /// No organization: the row would be created.
    New,
    /// This organization is the row's.
    Found(&'a Organization),
    /// The row cannot be matched to one organization: its id is a template's
    /// ([`RowError::Conflict`]), or several organizations have its name
    /// ([`RowError::AmbiguousName`]).
    Conflict(RowError),
}

/// How far a listing went.
#[derive(Debug)]
pub enum Listed {
    /// To its last page: every organization of the tenant.
    Whole(Existing),
    /// Cut off after the most pages it was allowed, all full: the tenant has more.
    Cut {
        /// Requests sent for the pages read, retries included.
        requests: u64,
        /// Organizations read in them.
        read: u64,
    },
}

impl Existing {
    /// Lists every organization of the tenant, [`LIST_PAGE`] at a time, each page after the
    /// last id of the one before. Each page is retried as `policy` says; `None` when `stop`
    /// was set before the listing was complete (Ctrl-C). Shows nothing; [`Existing::list_up_to`]
    /// shows its progress.
    ///
    /// With `details` false only what matching needs is kept of each organization (id, name,
    /// parent, whether it is a template): a tenant of a million organizations then fits in a
    /// few hundred megabytes instead of gigabytes. Comparing fields (`plan`, `--on-existing
    /// update`) needs `details`.
    ///
    /// # Errors
    /// [`Error::Listing`] when a page cannot be read; [`Error::AuthRejected`] and the other
    /// token errors as they are.
    pub async fn list(
        client: &ApiClient,
        policy: RetryPolicy,
        stop: &Stop,
        details: bool,
    ) -> Result<Option<Existing>, Error> {
        let hidden = ListingProgress::hidden();
        match Existing::list_up_to(client, policy, stop, details, u64::MAX, &hidden).await? {
            Some(Listed::Whole(existing)) => Ok(Some(existing)),
            Some(Listed::Cut { .. }) => Err(Error::Listing(format!(
                "more than {} pages of organizations",
                u64::MAX
            ))),
            None => Ok(None),
        }
    }

    /// [`Existing::list`], but reading at most `max_pages` pages, and counting what it has
    /// listed on `progress`: [`Listed::Cut`] when the last page read was full (the tenant may
    /// have more). What a budget is for: listing a tenant costs a request per 100
    /// organizations, and looking rows up one by one may cost less (`tenant::reading`).
    ///
    /// # Errors
    /// As [`Existing::list`].
    pub async fn list_up_to(
        client: &ApiClient,
        policy: RetryPolicy,
        stop: &Stop,
        details: bool,
        max_pages: u64,
        progress: &ListingProgress,
    ) -> Result<Option<Listed>, Error> {
        let started = Instant::now();
        let mut existing = Existing::default();
        let mut requests = 0;
        let mut pages = 0u64;
        let mut after: Option<String> = None;
        loop {
            if pages >= max_pages {
                return Ok(Some(Listed::Cut {
                    requests,
                    read: existing.len() as u64,
                }));
            }
            if stop.is_set() {
                return Ok(None);
            }
            let page = policy
                .call_counted(stop, "a list page", "the tenant", || {
                    client.list_page(after.as_deref())
                })
                .await;
            let page = match page {
                Ok((page, attempts)) => {
                    requests += u64::from(attempts);
                    page
                }
                Err(gave_up) if gave_up.interrupted => return Ok(None),
                Err(gave_up) => {
                    let attempts = gave_up.attempts;
                    return Err(match gave_up.error {
                        // The token's own errors say what to fix, as they are.
                        CallError::Auth(e) => e,
                        error => Error::Listing(format!(
                            "{} (after {attempts} attempts)",
                            error.into_row_error()
                        )),
                    });
                }
            };
            pages += 1;
            let full = page.len() >= LIST_PAGE;
            let last = page.last().map(|o| o.id.clone());
            for org in page {
                existing.add(if details {
                    org
                } else {
                    Organization {
                        id: org.id,
                        name: org.name,
                        parent_id: org.parent_id,
                        template: org.template,
                        ..Organization::default()
                    }
                });
            }
            progress.listed(existing.len() as u64, pages);
            match last {
                Some(last) if full => {
                    if after.as_ref().is_some_and(|a| *a >= last) {
                        return Err(Error::Listing(format!(
                            "the page after {last:?} did not move on; the API ignores \
                             after_organization_id"
                        )));
                    }
                    after = Some(last);
                }
                _ => break,
            }
        }
        existing.requests = requests;
        existing.elapsed = started.elapsed();
        Ok(Some(Listed::Whole(existing)))
    }

    /// The index of `orgs`.
    pub fn from_organizations(orgs: impl IntoIterator<Item = Organization>) -> Existing {
        let mut existing = Existing::default();
        for org in orgs {
            existing.add(org);
        }
        existing
    }

    /// Adds organizations read since (look-ups): one read twice is kept once, as first read.
    pub fn extend(&mut self, orgs: impl IntoIterator<Item = Organization>) {
        for org in orgs {
            self.add(org);
        }
    }

    fn add(&mut self, org: Organization) {
        if self.by_id.contains_key(&org.id) {
            return;
        }
        if !org.template {
            self.by_name
                .entry(org.name.clone())
                .or_default()
                .push(org.id.clone());
        }
        self.by_id.insert(org.id.clone(), org);
    }

    /// Every organization, templates included, in id order (the order the pages give them).
    pub fn into_organizations(self) -> Vec<Organization> {
        let mut organizations: Vec<Organization> = self.by_id.into_values().collect();
        organizations.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        organizations
    }

    /// How many organizations there are, templates included.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether the tenant has no organization at all.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The organization (or template) with this id.
    pub fn get(&self, id: &str) -> Option<&Organization> {
        self.by_id.get(id)
    }

    /// The organization a row with `id` (if any) and `name` matches.
    pub fn find(&self, id: Option<&str>, name: &str) -> Match<'_> {
        if let Some(id) = id {
            return match self.by_id.get(id) {
                Some(org) if org.template => Match::Conflict(RowError::Conflict(format!(
                    "id {id:?} belongs to a template, not an organization"
                ))),
                Some(org) => Match::Found(org),
                None => Match::New,
            };
        }
        match self.by_name.get(name).map(Vec::as_slice) {
            None | Some([]) => Match::New,
            Some([one]) => self.by_id.get(one).map_or(Match::New, Match::Found),
            Some(many) => Match::Conflict(RowError::AmbiguousName(format!(
                "{} organizations are named {name:?} ({}); give the row an id to say which",
                many.len(),
                many.join(", ")
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(id: &str, name: &str, template: bool) -> Organization {
        Organization {
            id: id.into(),
            name: name.into(),
            template,
            ..Organization::default()
        }
    }

    #[test]
    fn rows_match_by_id_else_by_name_and_templates_never_by_name() {
        let existing = Existing::from_organizations([
            org("a", "Acme", false),
            org("b", "Twin", false),
            org("c", "Twin", false),
            org("t", "Acme Template", true),
        ]);
        assert!(matches!(existing.find(None, "Acme"), Match::Found(o) if o.id == "a"));
        assert!(matches!(existing.find(Some("a"), "Other"), Match::Found(o) if o.id == "a"));
        assert!(matches!(existing.find(Some("z"), "Acme"), Match::New));
        assert!(
            matches!(existing.find(None, "Twin"), Match::Conflict(t) if t.to_string().contains("b, c"))
        );
        assert!(matches!(existing.find(None, "Acme Template"), Match::New));
        assert!(matches!(existing.find(Some("t"), "x"), Match::Conflict(_)));
    }
}
