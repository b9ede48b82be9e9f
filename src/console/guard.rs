//! The security layer every request to the console passes, for a local server that holds a
//! tenant's credentials:
//! - its Host must be `127.0.0.1:PORT` or `localhost:PORT` (a page of another site whose
//!   name was rebound to 127.0.0.1 sends its own name: refused);
//! - it must carry the console's cookie, got by opening the printed URL: the token in it is
//!   exchanged for an HttpOnly, SameSite=Strict cookie and a redirect drops it from the
//!   address bar. The token opens the page for as long as the console runs, as a Jupyter
//!   server's does: a run outlives the tab and the browser, and the person who closed the
//!   browser opens the printed URL again to see it (a token used once would lock them out
//!   of a run still going, with a restart, which stops the run, as the only way back);
//! - a request that changes anything (not GET or HEAD) must come with an Origin of the
//!   console's own (CSRF);
//! - every reply forbids framing, sniffing, referrers, caching and any script or style not
//!   served by the console.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::{ApiError, Console};

/// The cookie's name, followed by the port: cookies are not told apart by port, and two
/// consoles on one machine must not overwrite each other's.
pub const COOKIE_PREFIX: &str = "orgimport_console_";

/// What requests are checked against.
pub(crate) struct Guard {
    /// The port served: the only one a Host or Origin may name.
    port: u16,
    /// The token of the printed URL.
    token: String,
    /// The cookie's value: random, and never the token.
    session: String,
}

impl Guard {
    /// A guard for the console on `port`, whose URL holds `token`.
    pub(crate) fn new(port: u16, token: String) -> Guard {
        Guard {
            port,
            token,
            session: crate::settings::console::new_token(),
        }
    }

    /// The cookie's name.
    fn cookie_name(&self) -> String {
        format!("{COOKIE_PREFIX}{}", self.port)
    }

    /// Whether `host` names this console: 127.0.0.1 or localhost, at its port.
    fn host_ok(&self, host: Option<&str>) -> bool {
        let port = self.port;
        host.is_some_and(|h| h == format!("127.0.0.1:{port}") || h == format!("localhost:{port}"))
    }

    /// Whether `origin` is this console's own.
    fn origin_ok(&self, origin: Option<&str>) -> bool {
        let port = self.port;
        origin.is_some_and(|o| {
            o == format!("http://127.0.0.1:{port}") || o == format!("http://localhost:{port}")
        })
    }

    /// Whether the request's cookies hold this console's session.
    fn has_cookie(&self, headers: &HeaderMap) -> bool {
        let name = self.cookie_name();
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .any(|(n, v)| n == name && same(v.as_bytes(), self.session.as_bytes()))
    }
}

/// Compares two secrets in time that depends on their lengths only.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token a request's query carries, if any.
fn token_of(request: &Request) -> Option<String> {
    url::form_urlencoded::parse(request.uri().query()?.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
}

/// A refusal: JSON for `/api/`, plain text for a page.
fn refuse(api: bool, status: StatusCode, message: &str) -> Response {
    if api {
        ApiError::new(status, message).into_response()
    } else {
        (status, format!("{message}\n")).into_response()
    }
}

/// The middleware: refuses what this module says, exchanges the token, and adds the
/// security headers to every reply.
pub(crate) async fn check(
    State(console): State<Arc<Console>>,
    request: Request,
    next: Next,
) -> Response {
    let guard = &console.guard;
    let api = request.uri().path().starts_with("/api/");
    let headers = request.headers();
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let mut response = if !guard.host_ok(host) {
        refuse(
            api,
            StatusCode::FORBIDDEN,
            "refused: the Host of this request is not the console's address (open \
             http://127.0.0.1:PORT/ as printed)",
        )
    } else if let Some(token) = token_of(&request) {
        exchange(guard, &token, headers, api)
    } else if !guard.has_cookie(headers) {
        refuse(
            api,
            StatusCode::FORBIDDEN,
            "refused: open the URL `orgimport console` printed (it holds the token), in this \
             browser",
        )
    } else if !matches!(*request.method(), Method::GET | Method::HEAD)
        && !guard.origin_ok(headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()))
    {
        refuse(
            api,
            StatusCode::FORBIDDEN,
            "refused: a change must come from the console's own page (its Origin)",
        )
    } else {
        next.run(request).await
    };
    secure(response.headers_mut());
    response
}

/// The token of the URL, exchanged for the cookie (every time: a browser opened again, or
/// another one, gets it too).
fn exchange(guard: &Guard, token: &str, headers: &HeaderMap, api: bool) -> Response {
    if !same(token.as_bytes(), guard.token.as_bytes()) {
        return refuse(
            api,
            StatusCode::FORBIDDEN,
            "refused: this token is not the console's",
        );
    }
    if guard.has_cookie(headers) {
        return Redirect::to("/").into_response();
    }
    let cookie = format!(
        "{}={}; HttpOnly; SameSite=Strict; Path=/",
        guard.cookie_name(),
        guard.session
    );
    let mut response = Redirect::to("/").into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// The headers every reply carries.
fn secure(headers: &mut HeaderMap) {
    let fixed = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
}
