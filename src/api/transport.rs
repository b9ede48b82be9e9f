//! How requests travel and what is said when they go wrong: the redirect policy every request
//! follows, and a request that got no answer (timeout, refused or dropped connection) or a
//! redirect that was not followed, described in one line for messages. The token source and
//! the organization calls word them alike, and both pass them through the redactor (a proxy's
//! or a library's words may quote the request).

use std::error::Error as _;
use std::time::Duration;

use reqwest::header::{HeaderMap, LOCATION};
use reqwest::{Method, StatusCode};
use url::Url;

use super::redact::{Redactor, ServerText};
use crate::Error;
use crate::error::NoAnswer;

/// What kind of no-answer `e` is.
pub(crate) fn no_answer_kind(e: &reqwest::Error) -> NoAnswer {
    if e.is_timeout() {
        NoAnswer::TimedOut
    } else if e.is_connect() {
        NoAnswer::NoConnection
    } else if e.is_body() || e.is_decode() {
        NoAnswer::CutOff
    } else {
        NoAnswer::Failed
    }
}

/// A one-line description of a transport failure, with its causes, without the URL's query,
/// redacted by `redactor`.
pub(crate) fn describe_transport(e: &reqwest::Error, redactor: &Redactor) -> ServerText {
    let mut text = no_answer_kind(e).as_str().to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    redactor.text(&text)
}

/// The HTTP client every request to a tenant goes through: a reply waited for `timeout` at
/// most, `idle_connections` kept per host, no redirect followed by itself (see
/// `redirect_policy`). It uses the proxy the environment names (`HTTPS_PROXY`, `HTTP_PROXY`,
/// `ALL_PROXY`, less `NO_PROXY`), as curl does.
///
/// # Errors
/// [`Error::Config`] when the TLS or HTTP setup fails.
pub fn http_client(timeout: Duration, idle_connections: usize) -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .pool_max_idle_per_host(idle_connections)
        .user_agent(concat!("orgimport/", env!("CARGO_PKG_VERSION")))
        .redirect(redirect_policy())
        .build()
        .map_err(|e| Error::Config(format!("cannot set up HTTP: {e}")))
}

/// Says at `-v` which proxy the requests to each of `urls` go through, once a proxy, as
/// reqwest picks it from the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, less
/// `NO_PROXY`): its host and port only, never its credentials.
pub fn name_proxies(urls: &[&Url]) {
    let mut named: Vec<String> = Vec::new();
    for url in urls {
        let Some(host) = proxy_for(url) else {
            continue;
        };
        if !named.contains(&host) {
            tracing::info!(
                "requests to {} go through the proxy {host} (from the environment: \
                 HTTPS_PROXY, HTTP_PROXY or ALL_PROXY; NO_PROXY lists the hosts reached \
                 directly); it sees the hosts, and for plain http the secret and the tokens",
                url.origin().ascii_serialization()
            );
            named.push(host);
        }
    }
}

/// The proxy requests to `url` go through, as reqwest picks it from the environment
/// (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, less `NO_PROXY`; loopback hosts included): its
/// host and port only, never its credentials. `None` when they go direct.
pub fn proxy_for(url: &Url) -> Option<String> {
    let matcher = hyper_util::client::proxy::matcher::Matcher::from_system();
    let uri = url.as_str().parse().ok()?;
    let proxy = matcher.intercept(&uri)?;
    let proxy = proxy.uri();
    Some(match (proxy.host(), proxy.port_u16()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_string(),
        (None, _) => "?".to_string(),
    })
}

/// Redirects a GET follows at most (same-origin 307 and 308 only).
pub(crate) const MAX_REDIRECTS: usize = 5;

/// The redirect policy of the HTTP client: no redirect is followed by the client itself, so
/// every 3xx comes back as the answer it is. A write (POST, PUT, PATCH, DELETE) and the token
/// request follow none at all: a redirected write is an unclear answer, never taken for done,
/// and is never resent (a loop of redirects would otherwise send it again and again, and a
/// DELETE could be sent to any path the server names). A GET follows a same-origin 307 or 308
/// only, one at a time, through [`redirect_to_follow`]. [`redirect_refused`] words the rest.
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::none()
}

/// Where a `method` request to `url` answered with `status` and `headers` goes next, when it
/// is a redirect it may follow: a GET, a 307 or 308, to the same origin (scheme, host and
/// port), its `hops`-th redirect within [`MAX_REDIRECTS`].
pub(crate) fn redirect_to_follow(
    method: &Method,
    status: StatusCode,
    headers: &HeaderMap,
    url: &Url,
    hops: usize,
) -> Option<Url> {
    if *method != Method::GET || !matches!(status.as_u16(), 307 | 308) || hops >= MAX_REDIRECTS {
        return None;
    }
    let to = url.join(headers.get(LOCATION)?.to_str().ok()?).ok()?;
    (to.origin() == url.origin()).then_some(to)
}

/// When `status` is a redirect (3xx) to a `method` request, why it was not followed, naming
/// the status and the target (its `Location` in `headers`, resolved against `url`), redacted
/// by `redactor`.
pub(crate) fn redirect_refused(
    method: &Method,
    status: StatusCode,
    headers: &HeaderMap,
    url: &Url,
    redactor: &Redactor,
) -> Option<ServerText> {
    if !status.is_redirection() {
        return None;
    }
    let location = headers
        .get(LOCATION)
        .map(|l| String::from_utf8_lossy(l.as_bytes()).into_owned());
    let text = match location.as_deref().map(|l| url.join(l)) {
        Some(Ok(to)) => {
            let why = if to.origin() != url.origin() {
                "it is another origin, and a request that carries the client secret or a \
                 token is never sent to another origin"
            } else if *method != Method::GET {
                "a write or a token request follows no redirect (it is not resent, and a \
                 redirected write is not taken for done)"
            } else if matches!(status.as_u16(), 307 | 308) {
                "too many redirects"
            } else {
                "a read follows a 307 or 308 only"
            };
            format!("redirected (HTTP {status}) to {to}, not followed: {why}")
        }
        Some(Err(_)) => format!(
            "redirected (HTTP {status}) to {:?}, not followed: not a URL",
            location.unwrap_or_default()
        ),
        None => format!("HTTP {status} without a Location: not an answer the API gives"),
    };
    Some(redactor.text(&text))
}

/// Why a reply's body was not read whole.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// The connection failed while it was read.
    Transport(reqwest::Error),
    /// It is longer than the cap, in bytes: not read further.
    TooLarge(usize),
}

impl BodyError {
    /// What kind of no-answer it is.
    pub(crate) fn kind(&self) -> NoAnswer {
        match self {
            BodyError::Transport(e) => no_answer_kind(e),
            BodyError::TooLarge(_) => NoAnswer::TooLarge,
        }
    }

    /// It in one line, redacted by `redactor`.
    pub(crate) fn describe(&self, redactor: &Redactor) -> ServerText {
        match self {
            BodyError::Transport(e) => describe_transport(e, redactor),
            BodyError::TooLarge(cap) => redactor.text(&format!(
                "{}: over {} MiB, where no answer of the API is as long; not read further",
                NoAnswer::TooLarge.as_str(),
                cap >> 20
            )),
        }
    }
}

/// The body of `reply`, read until `cap` bytes at most, so that a huge or endless reply costs
/// neither unbounded memory nor time beyond the timeout.
///
/// # Errors
/// [`BodyError::TooLarge`] when the body is longer than `cap`; [`BodyError::Transport`] when
/// the connection fails.
pub(crate) async fn read_capped(
    mut reply: reqwest::Response,
    cap: usize,
) -> Result<bytes::Bytes, BodyError> {
    match reply.content_length() {
        // The common case: a length said and within the cap, which hyper holds the body to.
        Some(length) if length <= cap as u64 => {
            return reply.bytes().await.map_err(BodyError::Transport);
        }
        Some(_) => return Err(BodyError::TooLarge(cap)),
        None => {}
    }
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = reply.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > cap {
            return Err(BodyError::TooLarge(cap));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
