//! Typed calls on `/api/system/{tenant}/organizations`. Every HTTP request waits its turn at
//! the shared [`Throttle`], which hears every answer, and carries the shared token; a 401 for an expired token is answered by one
//! refresh and one resend. Retrying anything else is the caller's decision. A create's reply
//! says whether the server replayed an earlier answer (`X-Idempotent-Replayed: true`), so that
//! the caller can check the claim. Every word of an answer that reaches a [`CallError`] passes
//! through the token source's [`Redactor`] first: its texts are [`ServerText`]s. A redirect
//! is followed only to the same origin, and a reply is read up to a cap (see `transport`);
//! `replies` reads what a reply says, ids checked.

use std::sync::Arc;
use std::time::Instant;

use reqwest::{Method, StatusCode, header::HeaderMap};
use url::Url;

use super::auth::{Token, TokenSource};
use super::hold::{Hold, Release};
use super::redact::Redactor;
use super::throttle::{Throttle, Turn};
use super::transport::{
    describe_transport, no_answer_kind, read_capped, redirect_refused, redirect_to_follow,
};
use super::types::{CreateOrganization, Organization, UpdateOrganization};
use crate::error::NoAnswer;

mod call_error;
mod replies;

pub use call_error::CallError;
use replies::{parse_list, parse_org, status_error};

/// Organizations per page when listing the whole tenant: the API's maximum.
pub(crate) const LIST_PAGE: usize = 100;

/// A handle on the organizations API; cheap to clone, shared by all workers.
#[derive(Clone)]
pub struct ApiClient {
    /// The HTTP client with the per-request timeout set.
    http: reqwest::Client,
    /// `{base}/api/system/{tenant}/organizations`.
    orgs_url: Url,
    /// The shared token.
    tokens: TokenSource,
    /// The shared pace: every request, retries included, waits its turn there.
    throttle: Arc<Throttle>,
    /// One row's hold, on the client a worker sends that row with: its requests wait while
    /// the run is paused, until one of them has left.
    hold: Option<Arc<Hold>>,
}

/// The largest reply read for one organization (or an error), in bytes.
const MAX_ORG_REPLY: usize = 4 << 20;
/// The largest reply read for a page of [`LIST_PAGE`] organizations, in bytes.
const MAX_LIST_REPLY: usize = 64 << 20;

/// The header the API sets on a create's reply replayed for an idempotency key seen before.
const IDEMPOTENT_REPLAYED: &str = "x-idempotent-replayed";

/// What a create was answered.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateReply {
    /// The organization the reply names.
    pub organization: Organization,
    /// The reply carried `X-Idempotent-Replayed: true`: it is the server's memory of an
    /// earlier create with the same idempotency key, not a create of this request. It names
    /// an organization that existed then, which may have been deleted since.
    pub replayed: bool,
}

/// A successful answer: its body, whether it is a replay, and the version it names.
struct Answer {
    /// The body.
    body: bytes::Bytes,
    /// It carried `X-Idempotent-Replayed: true`.
    replayed: bool,
    /// Its `ETag` header, if any.
    etag: Option<String>,
}

impl ApiClient {
    /// A client for the organizations of `tenant` under `base_url`.
    pub fn new(
        http: reqwest::Client,
        base_url: &Url,
        tenant: &str,
        tokens: TokenSource,
        throttle: Arc<Throttle>,
    ) -> Self {
        let mut orgs_url = base_url.clone();
        orgs_url
            .path_segments_mut()
            .expect("an http(s) base URL has path segments")
            .pop_if_empty()
            .extend(["api", "system", tenant, "organizations"]);
        ApiClient {
            http,
            orgs_url,
            tokens,
            throttle,
            hold: None,
        }
    }

    /// This client for the requests of one row, held by `hold`.
    pub fn held(&self, hold: Arc<Hold>) -> ApiClient {
        ApiClient {
            hold: Some(hold),
            ..self.clone()
        }
    }

    /// The shared token source.
    pub fn tokens(&self) -> &TokenSource {
        &self.tokens
    }

    /// The shared pace, for the progress line.
    pub fn throttle(&self) -> &Arc<Throttle> {
        &self.throttle
    }

    /// `POST /organizations` with `body`. `idempotency_key` makes a resend within the
    /// server's replay window return the first reply instead of creating again (on a server
    /// that honours it: the product doc does not mention the header).
    ///
    /// # Errors
    /// A [`CallError`] saying what the API answered, or that no answer came.
    pub async fn create(
        &self,
        body: &CreateOrganization,
        idempotency_key: &str,
    ) -> Result<CreateReply, CallError> {
        let bytes = serde_json::to_vec(body).expect("a request body always serialises");
        self.create_json(bytes.into(), idempotency_key).await
    }

    /// [`ApiClient::create`] with the body already serialized, so that a caller that sends it
    /// again (or hashes it) serializes it once.
    ///
    /// # Errors
    /// A [`CallError`] saying what the API answered, or that no answer came.
    pub async fn create_json(
        &self,
        body: bytes::Bytes,
        idempotency_key: &str,
    ) -> Result<CreateReply, CallError> {
        let answer = self
            .send(Method::POST, self.orgs_url.clone(), MAX_ORG_REPLY, |r| {
                r.header("content-type", "application/json")
                    .header("x-idempotency-key", idempotency_key)
                    .body(body.clone())
            })
            .await?;
        Ok(CreateReply {
            organization: parse_org(&answer.body, self.redactor())?,
            replayed: answer.replayed,
        })
    }

    /// `GET /organizations/{id}`: `Ok(None)` when there is no such organization. The
    /// organization's [`Organization::etag`] is the reply's `ETag`, if it has one.
    ///
    /// # Errors
    /// A [`CallError`] for any answer but 200 and 404, or none.
    pub async fn get(&self, id: &str) -> Result<Option<Organization>, CallError> {
        let mut url = self.orgs_url.clone();
        url.path_segments_mut()
            .expect("an http(s) URL has path segments")
            .push(id);
        match self.send(Method::GET, url, MAX_ORG_REPLY, |r| r).await {
            Ok(answer) => parse_org(&answer.body, self.redactor()).map(|org| {
                Some(Organization {
                    etag: answer.etag,
                    ..org
                })
            }),
            Err(CallError::Status { status, .. }) if status == StatusCode::NOT_FOUND => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `DELETE /organizations/{id}`: `Ok(false)` when there was no such organization.
    ///
    /// # Errors
    /// A [`CallError`] for any answer but 2xx and 404, or none.
    pub async fn delete(&self, id: &str) -> Result<bool, CallError> {
        let mut url = self.orgs_url.clone();
        url.path_segments_mut()
            .expect("an http(s) URL has path segments")
            .push(id);
        match self.send(Method::DELETE, url, MAX_ORG_REPLY, |r| r).await {
            Ok(_) => Ok(true),
            Err(CallError::Status { status, .. }) if status == StatusCode::NOT_FOUND => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The organizations (not templates) whose name is exactly `name`, paging through the
    /// list endpoint's `search_phrase` matches (a substring search) 100 at a time.
    ///
    /// # Errors
    /// A [`CallError`] when a page cannot be read, or when more than `MAX_PAGES` pages match.
    pub async fn find_by_name(&self, name: &str) -> Result<Vec<Organization>, CallError> {
        const PAGE: usize = 100;
        const MAX_PAGES: usize = 100;
        let mut found = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut url = self.orgs_url.clone();
            {
                let mut query = url.query_pairs_mut();
                query
                    .append_pair("search_phrase", name)
                    .append_pair("limit", &PAGE.to_string())
                    .append_pair("template", "false");
                if let Some(after) = &after {
                    query.append_pair("after_organization_id", after);
                }
            }
            let answer = self.send(Method::GET, url, MAX_LIST_REPLY, |r| r).await?;
            let page = parse_list(&answer.body, self.redactor())?;
            let full = page.organizations.len() >= PAGE;
            after = page.organizations.last().map(|o| o.id.clone());
            found.extend(page.organizations.into_iter().filter(|o| is_named(o, name)));
            if !full || after.is_none() {
                return Ok(found);
            }
        }
        Err(CallError::TooManyMatches(format!(
            "more than {} organizations match {name:?}; cannot tell which is this row's",
            PAGE * MAX_PAGES
        )))
    }

    /// One page of the tenant's organizations, templates included, in id order: at most
    /// [`LIST_PAGE`] of them, those after `after` when given. A page shorter than
    /// [`LIST_PAGE`] is the last.
    ///
    /// # Errors
    /// A [`CallError`] when the page cannot be read.
    pub async fn list_page(&self, after: Option<&str>) -> Result<Vec<Organization>, CallError> {
        let mut url = self.orgs_url.clone();
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("limit", &LIST_PAGE.to_string());
            if let Some(after) = after {
                query.append_pair("after_organization_id", after);
            }
        }
        let answer = self.send(Method::GET, url, MAX_LIST_REPLY, |r| r).await?;
        let page = parse_list(&answer.body, self.redactor())?;
        Ok(page.organizations)
    }

    /// `PUT /organizations/{id}` with `body`, the organization's fields whole; with
    /// `If-Match: if_match` when given (the `ETag` it was read at), so that a server that
    /// honours it refuses the update with 412 if the organization changed since.
    ///
    /// # Errors
    /// A [`CallError`] saying what the API answered, or that no answer came.
    pub async fn update(
        &self,
        id: &str,
        body: &UpdateOrganization,
        if_match: Option<&str>,
    ) -> Result<Organization, CallError> {
        let mut url = self.orgs_url.clone();
        url.path_segments_mut()
            .expect("an http(s) URL has path segments")
            .push(id);
        let bytes = serde_json::to_vec(body).expect("a request body always serialises");
        let answer = self
            .send(Method::PUT, url, MAX_ORG_REPLY, |r| {
                let r = r
                    .header("content-type", "application/json")
                    .body(bytes.clone());
                match if_match {
                    Some(etag) => r.header(reqwest::header::IF_MATCH, etag),
                    None => r,
                }
            })
            .await?;
        let org = parse_org(&answer.body, self.redactor())?;
        Ok(Organization {
            etag: answer.etag,
            ..org
        })
    }

    /// The redactor every answer's words pass through.
    fn redactor(&self) -> &Redactor {
        self.tokens.redactor()
    }

    /// Sends one request in its turn with the current token, its reply read up to `cap` bytes;
    /// a redirect to the same origin is followed; on a 401 `invalid_access_token` drops the
    /// token and sends once more with a new one.
    async fn send(
        &self,
        method: Method,
        url: Url,
        cap: usize,
        build: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<Answer, CallError> {
        let mut refreshed = false;
        let mut url = url;
        let mut hops = 0;
        loop {
            let Some((turn, token)) = self.turn_and_token().await? else {
                continue;
            };
            let request = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(token.bearer());
            let sent_at = Instant::now();
            let reply = build(request)
                .send()
                .await
                .map_err(|e| no_answer(&e, self.redactor()))?;
            self.throttle.replied(sent_at.elapsed());
            let status = reply.status();
            self.throttle.answered(turn, status, reply.headers());
            if let Some(to) = redirect_to_follow(&method, status, reply.headers(), &url, hops) {
                tracing::debug!(
                    %method,
                    "redirected (HTTP {status}) to {}: followed",
                    self.redactor().text(to.as_str())
                );
                url = to;
                hops += 1;
                continue;
            }
            if let Some(message) =
                redirect_refused(&method, status, reply.headers(), &url, self.redactor())
            {
                tracing::debug!(%method, "{message}");
                return Err(CallError::Transport {
                    kind: NoAnswer::Redirected,
                    message,
                });
            }
            match self.read_answer(&method, reply, cap).await {
                Err(CallError::Status { status, .. })
                    if status == StatusCode::UNAUTHORIZED && !refreshed =>
                {
                    tracing::debug!("token rejected by the API; refreshing it once");
                    self.tokens.invalidate(&token);
                    refreshed = true;
                }
                other => return other,
            }
        }
    }

    /// Waits for a request's turn at the throttle, and for the run's resume when it is
    /// paused, then takes the token (after the wait, so that it is as fresh as it can be when
    /// sent). A token due is fetched before the turn is taken: a turn held while the token
    /// endpoint answers would leave late, together with the turns after it. `None` when the
    /// turn was given back while the run was paused: ask again.
    async fn turn_and_token(&self) -> Result<Option<(Turn, Arc<Token>)>, CallError> {
        self.tokens.token().await.map_err(CallError::Auth)?;
        let hold = self.hold.as_deref().filter(|hold| hold.holds());
        let turn = match hold {
            // A row not in flight does not wait its turn out once the run stops.
            Some(hold) => tokio::select! {
                biased;
                () = hold.until_stopped() => return Err(CallError::Withheld),
                turn = self.throttle.ready() => turn,
            },
            None => self.throttle.ready().await,
        };
        let token = self.tokens.token().await.map_err(CallError::Auth)?;
        // The pause is looked at again now that the turn came: a row waiting for its turn
        // was not in flight.
        if let Some(hold) = hold {
            match hold.release() {
                Release::Go => {}
                Release::Stopped => return Err(CallError::Withheld),
                Release::Again => {
                    // The turn is given back; the resumed run takes a new one.
                    drop(turn);
                    if !hold.until_resumed().await {
                        return Err(CallError::Withheld);
                    }
                    return Ok(None);
                }
            }
        }
        Ok(Some((turn, token)))
    }

    /// What a reply that is not a redirect says: its body read up to `cap` bytes, as an
    /// [`Answer`] when it is a success, else as the [`CallError`] of its status.
    async fn read_answer(
        &self,
        method: &Method,
        reply: reqwest::Response,
        cap: usize,
    ) -> Result<Answer, CallError> {
        let status = reply.status();
        // Of a success's headers only the replay mark matters; an error's are read for its
        // trace id and Retry-After.
        let replayed = reply
            .headers()
            .get(IDEMPOTENT_REPLAYED)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
        let etag = reply
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let headers = if status.is_success() {
            HeaderMap::new()
        } else {
            reply.headers().clone()
        };
        let body = read_capped(reply, cap)
            .await
            .map_err(|e| CallError::Transport {
                kind: e.kind(),
                message: e.describe(self.redactor()),
            })?;
        if status.is_success() {
            return Ok(Answer {
                body,
                replayed,
                etag,
            });
        }
        let error = status_error(status, &headers, &body, self.redactor());
        // Its words are the redacted ones, like every text built from the answer.
        tracing::debug!(%method, "the API answered: {}", error.clone_row_error());
        Err(error)
    }
}

/// Whether `org` is one a row named `name` (and given no id) matches: exactly that name, and
/// not a template. A name search and a whole listing apply the same rule.
pub(crate) fn is_named(org: &Organization, name: &str) -> bool {
    org.name == name && !org.template
}

/// A request that got no complete answer.
fn no_answer(e: &reqwest::Error, redactor: &Redactor) -> CallError {
    CallError::Transport {
        kind: no_answer_kind(e),
        message: describe_transport(e, redactor),
    }
}
