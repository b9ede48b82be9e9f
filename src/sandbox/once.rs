//! The switch that fails the k-th request of each kind once (`Faults::fail_once_at`): the
//! token request, the template check, a list page, a look-up by name, a read of one
//! organization (verify's, or a look-up by id), a create, an update and a delete. Each kind
//! is counted apart; its k-th request is answered 503 (the token endpoint's with an OAuth2
//! error body), nothing done, and every other request of that kind passes. A test then
//! shows that one failure of any call, whatever the command, is retried and never ends a
//! run, and that the kinds it meant to strike were struck.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{Method, Uri};

/// The kinds of request counted apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `POST` to the token endpoint.
    Token,
    /// `GET` of the template organization.
    Template,
    /// `GET /organizations` without a name search: a page of the listing.
    ListPage,
    /// `GET /organizations?search_phrase=`: a look-up by name.
    LookUp,
    /// `GET` of any other organization.
    Read,
    /// `POST /organizations`.
    Create,
    /// `PUT` of an organization.
    Update,
    /// `DELETE` of an organization.
    Delete,
}

impl Kind {
    /// Every kind.
    pub(crate) const ALL: [Kind; 8] = [
        Kind::Token,
        Kind::Template,
        Kind::ListPage,
        Kind::LookUp,
        Kind::Read,
        Kind::Create,
        Kind::Update,
        Kind::Delete,
    ];

    /// Its place in [`Kind::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// Its name in [`Stats::failed_once`](super::Stats::failed_once) and
    /// [`Stats::faults_by_kind`](super::Stats::faults_by_kind).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Token => "token",
            Kind::Template => "template",
            Kind::ListPage => "list_page",
            Kind::LookUp => "look_up",
            Kind::Read => "read",
            Kind::Create => "create",
            Kind::Update => "update",
            Kind::Delete => "delete",
        }
    }

    /// The kind of an `/api` request, with `template` the template organization's id.
    pub(crate) fn of_api(method: &Method, uri: &Uri, template: &str) -> Option<Kind> {
        // /api/system/{tenant}/organizations[/{id}]
        let mut parts = uri.path().trim_end_matches('/').split('/').skip(4);
        let (collection, id) = (parts.next(), parts.next());
        if collection != Some("organizations") || parts.next().is_some() {
            return None;
        }
        let searched = uri
            .query()
            .is_some_and(|q| q.split('&').any(|p| p.starts_with("search_phrase=")));
        Some(match (method, id) {
            (&Method::GET, None) if searched => Kind::LookUp,
            (&Method::GET, None) => Kind::ListPage,
            (&Method::POST, None) => Kind::Create,
            (&Method::GET, Some(id)) if id == template => Kind::Template,
            (&Method::GET, Some(_)) => Kind::Read,
            (&Method::PUT, Some(_)) => Kind::Update,
            (&Method::DELETE, Some(_)) => Kind::Delete,
            _ => return None,
        })
    }
}

/// Requests counted by kind, and which one of each fails.
#[derive(Debug)]
pub(crate) struct Once {
    /// The request of each kind that fails, counting from 1.
    at: u64,
    /// Requests of each kind so far, in the order of [`Kind::ALL`].
    seen: [AtomicU64; 8],
}

impl Once {
    /// Fails the `at`-th request of each kind.
    pub(crate) fn new(at: NonZeroU32) -> Once {
        Once {
            at: u64::from(at.get()),
            seen: Default::default(),
        }
    }

    /// Counts one request of `kind`: whether it is the one to fail.
    pub(crate) fn strikes(&self, kind: Kind) -> bool {
        self.seen[kind.index()].fetch_add(1, Ordering::Relaxed) + 1 == self.at
    }

    /// The kinds whose request to fail came (and failed), in the order of [`Kind::ALL`].
    pub(crate) fn failed(&self) -> Vec<String> {
        Kind::ALL
            .iter()
            .zip(&self.seen)
            .filter(|(_, seen)| seen.load(Ordering::Relaxed) >= self.at)
            .map(|(kind, _)| kind.name().to_owned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(method: Method, uri: &str) -> Option<Kind> {
        Kind::of_api(&method, &uri.parse().unwrap(), "tmpl")
    }

    #[test]
    fn each_request_is_of_one_kind() {
        let base = "/api/system/demo/organizations";
        assert_eq!(kind(Method::GET, base), Some(Kind::ListPage));
        assert_eq!(
            kind(
                Method::GET,
                &format!("{base}?limit=100&after_organization_id=a")
            ),
            Some(Kind::ListPage)
        );
        assert_eq!(
            kind(Method::GET, &format!("{base}?search_phrase=acme&limit=100")),
            Some(Kind::LookUp)
        );
        assert_eq!(kind(Method::POST, base), Some(Kind::Create));
        assert_eq!(
            kind(Method::GET, &format!("{base}/tmpl")),
            Some(Kind::Template)
        );
        assert_eq!(kind(Method::GET, &format!("{base}/o-1")), Some(Kind::Read));
        assert_eq!(
            kind(Method::PUT, &format!("{base}/o-1")),
            Some(Kind::Update)
        );
        assert_eq!(
            kind(Method::DELETE, &format!("{base}/o-1")),
            Some(Kind::Delete)
        );
        assert_eq!(kind(Method::PATCH, &format!("{base}/o-1")), None);
        assert_eq!(kind(Method::GET, "/api/system/demo/users"), None);
    }

    #[test]
    fn the_kth_of_each_kind_fails_once() {
        let once = Once::new(NonZeroU32::new(2).unwrap());
        let struck: Vec<bool> = (0..4).map(|_| once.strikes(Kind::Create)).collect();
        assert_eq!(struck, [false, true, false, false]);
        assert!(!once.strikes(Kind::Read));
        assert_eq!(once.failed(), ["create"]);
        assert!(once.strikes(Kind::Read));
        assert_eq!(once.failed(), ["read", "create"]);
    }
}
