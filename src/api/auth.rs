//! The one OAuth2 client-credentials token that every worker shares: fetched once, refreshed
//! shortly before it expires, with one refresh in flight at a time. The token source owns the
//! [`Redactor`] that knows the client secret and registers every token it is issued; the
//! token endpoint's answers reach an error only through it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;
use url::Url;

use super::redact::Redactor;
use super::transport::{describe_transport, read_capped, redirect_refused};
use super::types::{OAuthErrorBody, TokenReply};
use crate::Error;

/// How much of a token endpoint's error body a message quotes, in characters.
const QUOTED_BODY: usize = 200;
/// Lifetime assumed when the token reply has no `expires_in` (the doc's default: one hour).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);
/// A token is refreshed this long before it expires at the most (less for short lifetimes).
const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// The lifetimes taken from an `expires_in`: one outside is clamped into it, with a warning
/// (an `expires_in` of `1e30` must not overflow a clock, nor one of 0 ask for a token before
/// every request).
const LIFETIMES: std::ops::RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(24 * 3600);
/// The largest token reply read, in bytes.
const MAX_TOKEN_REPLY: usize = 1 << 20;

/// How the client authenticates to the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// `client_id` and `client_secret` in the form body, as the product doc shows.
    #[default]
    Post,
    /// HTTP Basic, the vendor spec's default (`client_secret_basic`).
    Basic,
}

/// What the token endpoint needs to issue a token.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The token endpoint.
    pub token_url: Url,
    /// The System workspace client's id.
    pub client_id: String,
    /// Its secret; `Debug` prints it redacted.
    pub client_secret: SecretString,
    /// The scopes to ask for, space-separated.
    pub scope: String,
    /// Post or Basic client authentication.
    pub auth: ClientAuth,
}

/// A bearer token and when to stop using it.
pub struct Token {
    /// The bearer value, kept out of `Debug` output.
    value: SecretString,
    /// Which fetch produced it, so a 401 on an old token does not throw away a newer one.
    generation: u64,
    /// When to fetch the next one (a margin before it expires).
    refresh_at: Instant,
    /// When it expires (counted from before it was asked for).
    expires_at: Instant,
    /// The scopes granted, as the token endpoint said (`None` when it did not say).
    scope: Option<String>,
    /// Its lifetime as the token endpoint said (or the default of one hour).
    lifetime: Duration,
}

impl Token {
    /// The value for the `Authorization: Bearer` header.
    pub fn bearer(&self) -> &str {
        self.value.expose_secret()
    }

    /// The scopes granted, when the token endpoint said.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// How long the token lives from when it was issued.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("generation", &self.generation)
            .field("value", &"[REDACTED]")
            .finish()
    }
}

/// A cheap-to-clone handle on the shared token.
#[derive(Clone)]
pub struct TokenSource {
    inner: Arc<Inner>,
}

struct Inner {
    /// The HTTP client (shares its connection pool with the API calls).
    http: reqwest::Client,
    /// Where and how to ask for tokens.
    credentials: Credentials,
    /// The token in use. A std lock: it is held only to copy the `Arc`, never across an await.
    current: RwLock<Option<Arc<Token>>>,
    /// Held across the token request so that only one refresh is in flight; the others wait
    /// for it and reuse its token. Tokio's mutex because it is held across an await.
    refresh: tokio::sync::Mutex<()>,
    /// How many tokens were fetched, for the run summary and tests.
    fetches: AtomicU64,
    /// Knows the secret and every token fetched; shared with the API client.
    redactor: Redactor,
}

impl TokenSource {
    /// A source that fetches nothing until the first [`TokenSource::token`] call.
    pub fn new(http: reqwest::Client, credentials: Credentials) -> Self {
        let redactor = Redactor::for_client(
            &credentials.client_id,
            credentials.client_secret.expose_secret(),
        );
        TokenSource {
            inner: Arc::new(Inner {
                http,
                credentials,
                current: RwLock::new(None),
                refresh: tokio::sync::Mutex::new(()),
                fetches: AtomicU64::new(0),
                redactor,
            }),
        }
    }

    /// A valid token: the cached one, or a fresh one when it is due for refresh. While one
    /// caller fetches the next token, the others go on with the one in use as long as it has
    /// not expired: a slow token endpoint neither stalls the run nor lets its requests out in
    /// a bunch when the token comes.
    ///
    /// # Errors
    /// [`Error::AuthRejected`] when the endpoint refuses the credentials or scope (fatal),
    /// [`Error::Auth`] when it cannot be reached, answers 5xx or 429, or answers nonsense (may
    /// pass).
    pub async fn token(&self) -> Result<Arc<Token>, Error> {
        if let Some(token) = self.fresh() {
            return Ok(token);
        }
        let _refreshing = match self.inner.refresh.try_lock() {
            Ok(refreshing) => refreshing,
            Err(_) => match self.unexpired() {
                Some(token) => return Ok(token),
                None => self.inner.refresh.lock().await,
            },
        };
        // Another worker may have refreshed while this one waited for the lock.
        if let Some(token) = self.fresh() {
            return Ok(token);
        }
        let token = Arc::new(self.fetch().await?);
        *self
            .inner
            .current
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(token.clone());
        Ok(token)
    }

    /// Drop `stale` after the API rejected it, unless a newer token has replaced it already.
    pub fn invalidate(&self, stale: &Token) {
        let mut current = self
            .inner
            .current
            .write()
            .unwrap_or_else(|e| e.into_inner());
        if current
            .as_ref()
            .is_some_and(|t| t.generation == stale.generation)
        {
            *current = None;
        }
    }

    /// The redactor every text quoting the token endpoint or the API passes through: it
    /// knows the client secret and every token this source was issued.
    pub fn redactor(&self) -> &Redactor {
        &self.inner.redactor
    }

    /// How many tokens have been fetched so far.
    pub fn fetches(&self) -> u64 {
        self.inner.fetches.load(Ordering::Relaxed)
    }

    fn fresh(&self) -> Option<Arc<Token>> {
        let current = self.inner.current.read().unwrap_or_else(|e| e.into_inner());
        current
            .as_ref()
            .filter(|t| Instant::now() < t.refresh_at)
            .cloned()
    }

    /// The token in use, due for refresh or not, until it expires.
    fn unexpired(&self) -> Option<Arc<Token>> {
        let current = self.inner.current.read().unwrap_or_else(|e| e.into_inner());
        current
            .as_ref()
            .filter(|t| Instant::now() < t.expires_at)
            .cloned()
    }

    async fn fetch(&self) -> Result<Token, Error> {
        let c = &self.inner.credentials;
        let redactor = &self.inner.redactor;
        // Redacted too: a URL's user info may hold the secret.
        let url = redactor.text(c.token_url.as_str()).into_string();
        let no_answer = |e: reqwest::Error| Error::Auth {
            url: url.clone(),
            message: describe_transport(&e, redactor).into_string(),
        };
        let mut form = vec![("grant_type", "client_credentials"), ("scope", &c.scope)];
        let mut request = self.inner.http.post(c.token_url.clone());
        match c.auth {
            ClientAuth::Post => {
                form.push(("client_id", &c.client_id));
                form.push(("client_secret", c.client_secret.expose_secret()));
            }
            ClientAuth::Basic => {
                // RFC 6749 2.3.1: both parts are form-urlencoded before the Basic encoding.
                let enc = |s: &str| {
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                };
                request = request.basic_auth(
                    enc(&c.client_id),
                    Some(enc(c.client_secret.expose_secret())),
                );
            }
        }
        let started = Instant::now();
        let reply = request.form(&form).send().await.map_err(no_answer)?;
        let status = reply.status();
        if let Some(message) = redirect_refused(
            &reqwest::Method::POST,
            status,
            reply.headers(),
            reply.url(),
            redactor,
        ) {
            return Err(Error::TokenRedirected {
                url,
                message: message.into_string(),
            });
        }
        let body = read_capped(reply, MAX_TOKEN_REPLY)
            .await
            .map_err(|e| Error::Auth {
                url: url.clone(),
                message: e.describe(redactor).into_string(),
            })?;
        if !status.is_success() {
            let error = refusal(url, status, &body, redactor);
            tracing::debug!("the token endpoint answered: {error}");
            return Err(error);
        }
        let reply: TokenReply = serde_json::from_slice(&body).map_err(|e| Error::Auth {
            url: url.clone(),
            message: redactor
                .text(&format!("the reply is not a token: {e}"))
                .into_string(),
        })?;
        // Before anything else, so that no message from now on can show it.
        redactor.register(&reply.access_token);
        let lifetime = reply
            .expires_in
            .map_or(DEFAULT_LIFETIME, |seconds| clamp_lifetime(&url, seconds));
        let margin = (lifetime / 5).min(MAX_REFRESH_MARGIN);
        let generation = self.inner.fetches.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::debug!(generation, ?lifetime, "fetched an access token");
        Ok(Token {
            value: SecretString::from(reply.access_token),
            generation,
            refresh_at: started
                .checked_add(lifetime.saturating_sub(margin))
                .unwrap_or(started),
            expires_at: started.checked_add(lifetime).unwrap_or(started),
            scope: reply.scope.map(|s| redactor.text(&s).into_string()),
            lifetime,
        })
    }
}

/// The lifetime `expires_in` says (`seconds`), clamped into [`LIFETIMES`] with a warning.
fn clamp_lifetime(url: &str, seconds: u64) -> Duration {
    let said = Duration::from_secs(seconds);
    let lifetime = said.clamp(*LIFETIMES.start(), *LIFETIMES.end());
    if lifetime != said {
        tracing::warn!(
            "the token endpoint {url} said the token lives {seconds} s (expires_in); taken as \
             {} s",
            lifetime.as_secs()
        );
    }
    lifetime
}

/// The error for a token endpoint that answered `status` with `body`: a refusal of the
/// credentials or scope when it names an OAuth2 `error` (not on a 5xx), else an outage. Its
/// words are redacted.
fn refusal(url: String, status: StatusCode, body: &[u8], redactor: &Redactor) -> Error {
    let parsed: OAuthErrorBody = serde_json::from_slice(body).unwrap_or_default();
    // An outage or the endpoint's own rate limit may pass: not a refusal.
    let may_pass = status.is_server_error() || status.as_u16() == 429;
    // A 401 is a refusal of the credentials whatever its body (a gateway's HTML page): final,
    // never retried.
    if parsed.error.is_empty() && status == StatusCode::UNAUTHORIZED {
        let quoted = redactor.body(body, QUOTED_BODY);
        return Error::AuthRejected {
            url,
            status: status.as_u16(),
            error: "unauthorized".into(),
            description: redactor.text(&format!(": {quoted}")).into_string(),
        };
    }
    if parsed.error.is_empty() || may_pass {
        let quoted = redactor.body(body, QUOTED_BODY);
        return Error::Auth {
            url,
            message: redactor
                .text(&format!("HTTP {status}: {quoted}"))
                .into_string(),
        };
    }
    Error::AuthRejected {
        url,
        status: status.as_u16(),
        error: redactor.text(&parsed.error).into_string(),
        description: parsed
            .error_description
            .map(|d| format!(": {}", redactor.text(&d)))
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_that_quotes_the_request_names_the_error_but_not_the_secret() {
        let redactor = Redactor::for_client("cid", "Sup3r secret");
        let echo = concat!(
            r#"{"error":"invalid_client","error_description":"bad client; got "#,
            "grant_type=client_credentials&client_id=cid&client_secret=Sup3r+secret, ",
            r#"Authorization: Basic Y2lkOlN1cDNyK3NlY3JldA=="}"#
        );
        let e = refusal(
            "http://t/token".into(),
            StatusCode::UNAUTHORIZED,
            echo.as_bytes(),
            &redactor,
        );
        let text = e.to_string();
        assert!(
            matches!(e, Error::AuthRejected { status: 401, .. }),
            "{text}"
        );
        assert!(text.contains("401 invalid_client: bad client"), "{text}");
        for leak in ["Sup3r", "Y2lkOlN1cDNy"] {
            assert!(!text.contains(leak), "{text}");
        }
    }

    #[test]
    fn an_outage_page_that_quotes_the_request_is_redacted_before_it_is_cut() {
        let redactor = Redactor::for_client("cid", "Sup3r secret");
        // The secret straddles the 200th character, where the quote is cut.
        let page = format!("{}Sup3r secret and more", "x".repeat(195));
        let e = refusal(
            "http://t/token".into(),
            StatusCode::BAD_GATEWAY,
            page.as_bytes(),
            &redactor,
        );
        let text = e.to_string();
        assert!(matches!(e, Error::Auth { .. }), "{text}");
        assert!(text.contains("HTTP 502 Bad Gateway: xxx"), "{text}");
        assert!(!text.contains("Sup3"), "{text}");
        let unparsable = "no JSON; client_secret=Sup3r+secret";
        let e = refusal(
            "http://t/token".into(),
            StatusCode::BAD_REQUEST,
            unparsable.as_bytes(),
            &redactor,
        );
        assert!(!e.to_string().contains("Sup3r"), "{e}");
    }
}
