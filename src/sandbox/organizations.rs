//! The organizations API: create (with idempotent replays and create faults), get, list,
//! update, delete.
//!
//! Choices:
//! - `X-Idempotency-Key` must be 32 to 255 visible ASCII characters (400 otherwise). The reply
//!   to a create that carried a key is remembered for 60 s, whatever its status, except an
//!   injected 5xx before commit (nothing was processed). A repeat within that minute gets the
//!   remembered status and body with `X-Idempotent-Replayed: true`, and creates nothing; the
//!   same key with a different body is 422. A commit-then-fail create remembers its 201, so a
//!   retry with the key learns the organization exists. Keys are per tenant, and a sandbox
//!   has one tenant. With `ignore_idempotency_keys` the header is not even read: every create
//!   is a new one, as on a server that does not implement it. With `same_id_for_every_create`
//!   every valid create after the first committed one gets that first reply and commits
//!   nothing.
//! - With `assign_own_ids` the id a create asks for is dropped and the store picks one, as a
//!   server that assigns its own ids would; the 201 then names an id the client did not ask
//!   for.
//! - Replay check, injected 5xx, validation and commit happen under one lock, so two
//!   concurrent requests with one key cannot both create.
//! - List: `search_phrase` matches the id exactly or a case-insensitive substring of the name;
//!   `limit` must be 1 to 100 (400 otherwise), `template` `true` or `false` (400 otherwise).
//!   `before_organization_id`, `sort`, `order` and `with_child_count` are ignored: the list is
//!   always in id order, with child counts. A page is a seek in the id-ordered store, so
//!   listing a large tenant page by page costs one page's work per request.
//! - Update (`PUT`): the body is a whole `Org`, read like a create's; it replaces the stored
//!   fields (a field left out becomes empty), except the id (a different one is 422) and the
//!   child count. No create faults apply. With `updates_not_implemented` every update is
//!   answered 501 with an HTML page, and nothing changes.
//! - Versions: every organization has an `ETag` (a strong entity tag, new on every write),
//!   sent as the `ETag` header of a get, a create and an update, as the spec declares (`Org`
//!   replies carry an `etag` header; a list page's replies carry none per organization, so the
//!   sandbox sends none there). An update with `If-Match` is checked under the store's lock:
//!   `*` or a list holding the current tag passes; anything else (a weak tag too: `If-Match`
//!   compares strongly) is 412 `precondition_failed` and changes nothing. An update without
//!   `If-Match` is not checked. With `no_etags` neither header is used, as on a server
//!   without optimistic concurrency; with `edit_before_update` someone else edits the named
//!   organizations just before each update of them is checked.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::faults::{AfterCommit, CreateFaults, dropped_connection};
use super::model::{NewOrganization, Organization, OrganizationsResponse};
use super::once::Kind;
use super::reply::{ApiError, JsonReply};
use super::stats::bump;
use super::{Sandbox, base_url, lock};

/// How long a create reply is replayed for its idempotency key.
const IDEMPOTENCY_WINDOW: Duration = Duration::from_secs(60);

/// The header a client sends to make a create safe to retry.
const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("x-idempotency-key");

/// The header marking a replayed reply.
const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("x-idempotent-replayed");

/// The most organizations one list page may hold.
const MAX_LIMIT: usize = 100;

/// Organizations in one list page when the client does not say.
const DEFAULT_LIMIT: usize = 20;

/// `POST /api/system/{tenant}/organizations`.
pub(crate) async fn create(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let counters = &sandbox.shared.counters;
    bump(&counters.create_requests);
    let key = if sandbox.shared.config.ignore_idempotency_keys {
        Ok(None)
    } else {
        idempotency_key(&headers)
    };
    let (body, key) = match (body, key) {
        (Ok(body), Ok(key)) => (body, key),
        (Err(e), _) => return ApiError::from(e).into_response(),
        (_, Err(e)) => return e.into_response(),
    };
    let faults = sandbox.shared.dice.create();
    let (reply, etag) = match decide(&sandbox, &body, key, &faults, &base_url(&headers)) {
        Decision::Replay(reply) => {
            bump(&counters.idempotent_replays);
            let mut res = reply.into_response();
            res.headers_mut()
                .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
            return res;
        }
        Decision::Refuse(e) => return e.into_response(),
        Decision::Answer {
            reply,
            committed: None,
        } => return reply.into_response(),
        Decision::Answer {
            reply,
            committed: Some(etag),
        } => (reply, etag),
    };
    bump(&counters.creates_committed);
    if let Some(delay) = faults.slow_commit {
        counters.fault(Some(Kind::Create));
        tokio::time::sleep(delay).await;
    }
    match faults.after_commit {
        None => with_etag(reply.into_response(), &sandbox, &etag),
        Some(fail) => {
            counters.fault(Some(Kind::Create));
            tracing::debug!(?fail, "sandbox fault: create committed, reply fails");
            match fail {
                AfterCommit::BadGateway => {
                    ApiError::Injected(StatusCode::BAD_GATEWAY).into_response()
                }
                AfterCommit::DropConnection => dropped_connection(),
            }
        }
    }
}

/// What became of a create.
#[derive(Debug)]
enum Decision {
    /// A remembered reply to send again.
    Replay(JsonReply),
    /// Refused without being processed or remembered.
    Refuse(ApiError),
    /// Processed: this reply was remembered if the request had a key.
    Answer {
        /// The reply (201 or an error).
        reply: JsonReply,
        /// The `ETag` of the organization created, if one was.
        committed: Option<String>,
    },
}

/// Replays, refuses or commits a create, all under the store's lock.
fn decide(
    sandbox: &Sandbox,
    body: &[u8],
    key: Option<String>,
    faults: &CreateFaults,
    base: &str,
) -> Decision {
    let shared = &sandbox.shared;
    let new = NewOrganization::parse(body).map(|mut new| {
        if shared.config.assign_own_ids {
            new.org.id.clear();
        }
        new
    });
    let now = Instant::now();
    let keyed = key.map(|key| (key, <[u8; 32]>::from(Sha256::digest(body))));
    let mut store = lock(&shared.store);
    if let Some((key, digest)) = &keyed {
        match store.recall(key, digest, now) {
            Ok(Some(reply)) => return Decision::Replay(reply),
            Ok(None) => {}
            Err(e) => return Decision::Refuse(e),
        }
    }
    if let Some(status) = faults.before_commit {
        shared.counters.fault(Some(Kind::Create));
        return Decision::Refuse(ApiError::Injected(status));
    }
    let same_reply = shared.config.same_id_for_every_create;
    if let (true, Some(first), Ok(_)) = (same_reply, &store.first_created, &new) {
        return Decision::Answer {
            reply: first.clone(),
            committed: None,
        };
    }
    let created = new.and_then(|new| store.create(new)).map(|org| {
        let reply = JsonReply::new(StatusCode::CREATED, &org.to_response(base, &shared.config));
        (reply, org.etag())
    });
    if let (true, Ok((reply, _))) = (same_reply, &created) {
        store.first_created = Some(reply.clone());
    }
    let (reply, committed) = match created {
        Ok((reply, etag)) => (reply, Some(etag)),
        Err(e) => (e.to_reply(), None),
    };
    if let Some((key, digest)) = keyed {
        store.remember(key, digest, reply.clone(), now + IDEMPOTENCY_WINDOW);
    }
    Decision::Answer { reply, committed }
}

/// The request's idempotency key, if any.
///
/// Errors: 400 `bad_request` unless it is 32 to 255 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::BadRequest("X-Idempotency-Key must be visible ASCII characters".to_owned())
        })?;
    if !(32..=255).contains(&key.len()) {
        return Err(ApiError::BadRequest(format!(
            "X-Idempotency-Key must be 32 to 255 characters long, not {}",
            key.len()
        )));
    }
    Ok(Some(key.to_owned()))
}

/// `GET /api/system/{tenant}/organizations/{id}`.
///
/// Errors: 404 `not_found`.
pub(crate) async fn get(
    State(sandbox): State<Sandbox>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path((_, id)) = path?;
    let shared = &sandbox.shared;
    bump(&shared.counters.get_requests);
    let store = lock(&shared.store);
    let org = store.get(&id).ok_or_else(|| ApiError::NotFound {
        what: "organization",
        id: id.clone(),
    })?;
    let reply = JsonReply::new(
        StatusCode::OK,
        &org.to_response(&base_url(&headers), &shared.config),
    );
    Ok(with_etag(reply.into_response(), &sandbox, &org.etag()))
}

/// `PUT /api/system/{tenant}/organizations/{id}`.
///
/// Errors: 400/422 for a malformed body, as for a create; 404 `not_found` for an unknown
/// organization or parent; 422 for a body naming another id or the organization as its parent;
/// 412 `precondition_failed` when `If-Match` does not name the organization's version; an
/// injected 500/503 (nothing changed) at the configured error rate.
pub(crate) async fn update(
    State(sandbox): State<Sandbox>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Path((_, id)) = path?;
    let shared = &sandbox.shared;
    bump(&shared.counters.update_requests);
    if shared.config.updates_not_implemented {
        return Ok(not_implemented_page());
    }
    let new = NewOrganization::parse(&body?)?;
    let faults = shared.dice.update();
    if let Some(status) = faults.before_commit {
        shared.counters.fault(Some(Kind::Update));
        return Err(ApiError::Injected(status));
    }
    let mut store = lock(&shared.store);
    if shared.config.edit_before_update.contains(&id) {
        store.edit_as_someone_else(&id);
    }
    let if_match = headers
        .get(header::IF_MATCH)
        .filter(|_| !shared.config.no_etags);
    if let (Some(given), Some(org)) = (if_match, store.get(&id)) {
        let current = org.etag();
        let given = String::from_utf8_lossy(given.as_bytes()).into_owned();
        if !if_match_passes(&given, &current) {
            bump(&shared.counters.precondition_failed);
            return Err(ApiError::PreconditionFailed { id, given, current });
        }
    }
    let org = store.update(&id, new)?;
    bump(&shared.counters.updates_committed);
    if let Some(fail) = faults.after_commit {
        shared.counters.fault(Some(Kind::Update));
        tracing::debug!(?fail, "sandbox fault: update committed, reply fails");
        return Ok(match fail {
            AfterCommit::BadGateway => ApiError::Injected(StatusCode::BAD_GATEWAY).into_response(),
            AfterCommit::DropConnection => dropped_connection(),
        });
    }
    let reply = JsonReply::new(
        StatusCode::OK,
        &org.to_response(&base_url(&headers), &shared.config),
    );
    Ok(with_etag(reply.into_response(), &sandbox, &org.etag()))
}

/// Whether an `If-Match` header value passes for an organization whose tag is `current`:
/// `*`, or a comma-separated list holding `current` (strong comparison: a weak `W/` tag never
/// passes), as RFC 9110 (13.1.1) says.
fn if_match_passes(given: &str, current: &str) -> bool {
    given.trim() == "*" || given.split(',').any(|tag| tag.trim() == current)
}

/// `response` with the organization's `ETag` header, unless the sandbox sends none.
fn with_etag(mut response: Response, sandbox: &Sandbox, etag: &str) -> Response {
    if !sandbox.shared.config.no_etags
        && let Ok(value) = HeaderValue::from_str(etag)
    {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// `DELETE /api/system/{tenant}/organizations/{id}`.
///
/// Errors: 404 `not_found`; 400 `bad_request` if the organization has children.
pub(crate) async fn delete(
    State(sandbox): State<Sandbox>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path((_, id)) = path?;
    lock(&sandbox.shared.store).delete(&id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/system/{tenant}/organizations`.
///
/// Errors: 400 `bad_request` for a bad `limit` or `template`.
pub(crate) async fn list(
    State(sandbox): State<Sandbox>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<JsonReply, ApiError> {
    let shared = &sandbox.shared;
    bump(&shared.counters.list_requests);
    let query = ListQuery::parse(query.as_deref().unwrap_or_default())?;
    let base = base_url(&headers);
    let mut store = lock(&shared.store);
    let (reply, edited) = {
        let page: Vec<_> = store
            .after(query.after.as_deref())
            .filter(|org| query.matches(org))
            .take(query.limit)
            .collect();
        let edited: Vec<String> = page
            .iter()
            .filter(|org| shared.config.edit_after_listing.contains(&org.id))
            .map(|org| org.id.clone())
            .collect();
        let organizations = page
            .into_iter()
            .map(|org| org.to_response(&base, &shared.config))
            .collect();
        let reply = JsonReply::new(StatusCode::OK, &OrganizationsResponse { organizations });
        (reply, edited)
    };
    // Someone else edits these once the page is served: its reader holds what they were.
    for id in edited {
        store.edit_as_someone_else(&id);
    }
    Ok(reply)
}

/// The query of a list request.
#[derive(Debug, PartialEq)]
struct ListQuery {
    /// `search_phrase`, as given and lowercased; `None` when absent or empty.
    search: Option<(String, String)>,
    /// Page size.
    limit: usize,
    /// List only ids after this one.
    after: Option<String>,
    /// List only templates (`true`) or only non-templates (`false`).
    template: Option<bool>,
}

impl ListQuery {
    /// Reads the query string; unknown parameters are ignored, a repeated one's last value wins.
    fn parse(query: &str) -> Result<ListQuery, ApiError> {
        let mut parsed = ListQuery {
            search: None,
            limit: DEFAULT_LIMIT,
            after: None,
            template: None,
        };
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match &*name {
                "search_phrase" if value.is_empty() => parsed.search = None,
                "search_phrase" => parsed.search = Some((value.to_string(), value.to_lowercase())),
                "after_organization_id" if value.is_empty() => parsed.after = None,
                "after_organization_id" => parsed.after = Some(value.into_owned()),
                "limit" => {
                    parsed.limit = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_LIMIT).contains(n))
                        .ok_or_else(|| {
                            ApiError::BadRequest(format!(
                                "limit must be an integer from 1 to {MAX_LIMIT}, not {value:?}"
                            ))
                        })?;
                }
                "template" => {
                    parsed.template = Some(match &*value {
                        "true" => true,
                        "false" => false,
                        _ => {
                            return Err(ApiError::BadRequest(format!(
                                "template must be true or false, not {value:?}"
                            )));
                        }
                    });
                }
                _ => {}
            }
        }
        Ok(parsed)
    }

    /// Whether an organization passes the filters.
    fn matches(&self, org: &Organization) -> bool {
        self.template.is_none_or(|t| org.template == t)
            && self.search.as_ref().is_none_or(|(phrase, lower)| {
                org.id == *phrase || contains_ignoring_case(&org.name, lower)
            })
    }
}

/// Whether `name` lowercased contains `lower` (a lowercased phrase): for ASCII text without
/// lowercasing a copy of every name a search passes, which a tenant of 100,000 makes slow.
fn contains_ignoring_case(name: &str, lower: &str) -> bool {
    if name.is_ascii() && lower.is_ascii() {
        let (name, lower) = (name.as_bytes(), lower.as_bytes());
        lower.is_empty()
            || name
                .windows(lower.len())
                .any(|w| w.eq_ignore_ascii_case(lower))
    } else {
        name.to_lowercase().contains(lower)
    }
}

/// The 501 a web server answers for a method the application behind it lacks: an HTML page.
fn not_implemented_page() -> Response {
    let page = "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n\
                <title>501 Not Implemented</title>\n</head>\n<body>\n\
                <h1>Not Implemented</h1>\n<p>The server does not support the method PUT for \
                this resource.</p>\n<hr>\n<address>gateway</address>\n</body>\n</html>\n";
    (
        StatusCode::NOT_IMPLEMENTED,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page,
    )
        .into_response()
}

#[cfg(test)]
mod tests;
