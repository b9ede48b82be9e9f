//! OAuth2 client credentials: the token endpoint, its discovery document, and bearer checks.
//!
//! Choices:
//! - Client authentication is either `client_id` + `client_secret` in the form body
//!   (client_secret_post, as the product doc does) or an HTTP Basic header
//!   (client_secret_basic, the spec's default). Basic credentials may be form-urlencoded before
//!   base64 (RFC 6749 2.3.1) or plain; both are accepted. Sending a secret both ways is 400
//!   `invalid_request` (RFC 6749 2.3: one method per request).
//! - A request without `scope` is granted the client's first allowed scope; a scope outside
//!   the allowed list is 400 `invalid_scope`.
//! - A repeated form parameter is 400 `invalid_request` (RFC 6749 3.2); a `Content-Type` other
//!   than form-urlencoded too, while no `Content-Type` at all is tolerated.
//! - The System API accepts a token that holds `manage_organizations` (the doc's scope) or
//!   `manage_configuration` (the spec's); any other token is 403 `insufficient_scope`.
//! - With `echo_requests_in_errors` a refusal's `error_description` quotes the request whole,
//!   then its form fields and Basic credentials decoded, as a gateway that "helps" would.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::Rng;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::reply::{ApiError, EchoedRequest, JsonReply, OAuthError};
use super::stats::bump;
use super::{Sandbox, base_url, lock};

/// Scopes that allow calling the organizations API.
const ORGANIZATION_SCOPES: [&str; 2] = ["manage_organizations", "manage_configuration"];

/// `POST /{tenant}/system/oauth2/token`: the client credentials grant.
pub(crate) async fn token(
    State(sandbox): State<Sandbox>,
    method: Method,
    uri: Uri,
    tenant: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let counters = &sandbox.shared.counters;
    bump(&counters.token_requests);
    let slow = sandbox.shared.config.faults.token_latency;
    if !slow.is_zero() {
        tokio::time::sleep(slow).await;
    }
    if let Some(outage) = sandbox.shared.dice.token_outage() {
        counters.fault(Some(super::once::Kind::Token));
        return outage;
    }
    if let Some(once) = &sandbox.shared.once
        && once.strikes(super::once::Kind::Token)
    {
        counters.fault(Some(super::once::Kind::Token));
        let body = serde_json::json!({
            "error": "temporarily_unavailable",
            "error_description": "sandbox fault: the k-th token request fails once",
        });
        return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
    }
    let raw = body.as_ref().map(Bytes::clone).unwrap_or_default();
    match grant(&sandbox, tenant, &headers, body) {
        Ok(res) => {
            bump(&counters.tokens_issued);
            res
        }
        Err(e) => {
            bump(&counters.token_rejections);
            // The reason only: the sandbox's own log never quotes the request.
            tracing::debug!(error = %e, "sandbox: token request refused");
            if sandbox.shared.config.echo_requests_in_errors {
                e.echoing(&echo(&method, &uri, &headers, &raw))
            } else {
                e.into_response()
            }
        }
    }
}

/// A token request as an echoing gateway quotes it: whole, then its form fields and Basic
/// credentials decoded.
fn echo(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> EchoedRequest {
    let mut fields: Vec<String> = url::form_urlencoded::parse(body)
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    fields.sort();
    let mut note = format!("form fields: {}", fields.join(" "));
    if let Some(Ok(basic)) = headers.get(header::AUTHORIZATION).map(parse_basic) {
        let password = form_decode(&basic.secret).unwrap_or(basic.secret);
        note.push_str(&format!("; basic user {} password {password}", basic.id));
    }
    EchoedRequest::new(method, uri, headers, body).with_note(&note)
}

impl Sandbox {
    /// Every access token issued and not yet purged, so that a test can check that a client
    /// never repeats one.
    pub fn issued_tokens(&self) -> Vec<String> {
        lock(&self.shared.tokens)
            .keys()
            .map(str::to_owned)
            .collect()
    }
}

/// Checks a token request and issues a token.
fn grant(
    sandbox: &Sandbox,
    tenant: Result<Path<String>, PathRejection>,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    let config = &sandbox.shared.config;
    check_tenant(sandbox, tenant)?;
    if let Some(content_type) = headers.get(header::CONTENT_TYPE) {
        let form = content_type
            .to_str()
            .is_ok_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        if !form {
            return Err(OAuthError::InvalidRequest(
                "Content-Type must be application/x-www-form-urlencoded".to_owned(),
            ));
        }
    }
    let body = body.map_err(|e| OAuthError::InvalidRequest(e.body_text()))?;
    let form = parse_form(&body)?;
    let client = client_auth(headers, &form)?;
    let secret = config.client_secret.expose_secret();
    if !client.id_is(&config.client_id) || !client.secret_is(secret) {
        return Err(OAuthError::InvalidClient(
            "client authentication failed: unknown client or wrong secret".to_owned(),
        ));
    }
    match form.get("grant_type").map(String::as_str) {
        Some("client_credentials") => {}
        Some(other) => return Err(OAuthError::UnsupportedGrantType(other.to_owned())),
        None => {
            return Err(OAuthError::InvalidRequest(
                "grant_type is missing".to_owned(),
            ));
        }
    }
    let scopes = granted_scopes(
        form.get("scope").map(String::as_str),
        &config.allowed_scopes,
    )?;

    let access_token = URL_SAFE_NO_PAD.encode(rand::rng().random::<[u8; 32]>());
    let now = Instant::now();
    {
        let mut tokens = lock(&sandbox.shared.tokens);
        tokens.purge(now);
        tokens.insert(
            access_token.clone(),
            scopes.clone(),
            now + config.token_lifetime,
        );
    }
    let seconds = config.token_lifetime.as_secs();
    let expires_in = if config.expires_in_as_string {
        Value::from(seconds.to_string())
    } else {
        Value::from(seconds)
    };
    let body = json!({
        "access_token": access_token,
        "expires_in": expires_in,
        "scope": scopes.join(" "),
        "token_type": "bearer",
    });
    let mut res = JsonReply::new(StatusCode::OK, &body).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(res)
}

/// `GET /{tenant}/system/.well-known/openid-configuration`: names the token endpoint, with
/// absolute URLs built from the `Host` the client used.
pub(crate) async fn discovery(
    State(sandbox): State<Sandbox>,
    tenant: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Json<Value>, OAuthError> {
    check_tenant(&sandbox, tenant)?;
    let config = &sandbox.shared.config;
    let issuer = format!("{}/{}/system", base_url(&headers), config.tenant);
    Ok(Json(json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}/oauth2/token"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": config.allowed_scopes,
    })))
}

/// Checks the `Authorization: Bearer` header of a System API request.
///
/// Errors: 401 `invalid_access_token` when the token is missing, unknown or expired; 403
/// `insufficient_scope` when it cannot manage organizations.
pub(crate) fn check_bearer(sandbox: &Sandbox, headers: &HeaderMap) -> Result<(), ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized("missing Authorization: Bearer header".to_owned()))?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(|| ApiError::Unauthorized("Authorization is not a Bearer token".to_owned()))?;
    let tokens = lock(&sandbox.shared.tokens);
    match tokens.get(token) {
        None => Err(ApiError::Unauthorized("unknown access token".to_owned())),
        Some((expires_at, _)) if expires_at <= Instant::now() => {
            Err(ApiError::Unauthorized("access token expired".to_owned()))
        }
        Some((_, scopes))
            if !scopes
                .iter()
                .any(|s| ORGANIZATION_SCOPES.contains(&s.as_str())) =>
        {
            Err(ApiError::InsufficientScope)
        }
        Some(_) => Ok(()),
    }
}

/// Refuses a tenant other than the sandbox's.
fn check_tenant(
    sandbox: &Sandbox,
    tenant: Result<Path<String>, PathRejection>,
) -> Result<(), OAuthError> {
    let expected = &sandbox.shared.config.tenant;
    match tenant {
        Ok(Path(tenant)) if tenant == *expected => Ok(()),
        Ok(Path(tenant)) => Err(OAuthError::UnknownTenant(tenant)),
        Err(e) => Err(OAuthError::InvalidRequest(e.body_text())),
    }
}

/// Reads a form body; a parameter given twice is an error (RFC 6749 3.2).
fn parse_form(body: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    let mut form = HashMap::new();
    for (key, value) in url::form_urlencoded::parse(body) {
        match form.entry(key.into_owned()) {
            Entry::Occupied(e) => {
                return Err(OAuthError::InvalidRequest(format!(
                    "parameter {:?} is repeated",
                    e.key()
                )));
            }
            Entry::Vacant(e) => {
                e.insert(value.into_owned());
            }
        }
    }
    Ok(form)
}

/// Client credentials as the client sent them.
#[derive(Debug)]
struct ClientAuth {
    /// The client id.
    id: String,
    /// The client secret.
    secret: String,
    /// Whether the values came from a Basic header, where they may be form-urlencoded.
    maybe_encoded: bool,
}

impl ClientAuth {
    /// Whether the client id is `expected`.
    fn id_is(&self, expected: &str) -> bool {
        same(&self.id, expected, self.maybe_encoded)
    }

    /// Whether the secret is `expected`.
    fn secret_is(&self, expected: &str) -> bool {
        same(&self.secret, expected, self.maybe_encoded)
    }
}

/// Whether `given` is `expected`, as sent or, when it may be encoded, once form-decoded.
fn same(given: &str, expected: &str, maybe_encoded: bool) -> bool {
    given == expected || (maybe_encoded && form_decode(given).as_deref() == Some(expected))
}

/// Finds the client credentials: an HTTP Basic header or `client_secret` in the body.
fn client_auth(
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<ClientAuth, OAuthError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .map(parse_basic)
        .transpose()?;
    match (basic, form.get("client_secret")) {
        (Some(_), Some(_)) => Err(OAuthError::InvalidRequest(
            "use one client authentication method: HTTP Basic or client_secret in the body, not both"
                .to_owned(),
        )),
        (Some(basic), None) => match form.get("client_id") {
            Some(id) if !basic.id_is(id) => Err(OAuthError::InvalidRequest(
                "client_id in the body differs from the HTTP Basic one".to_owned(),
            )),
            _ => Ok(basic),
        },
        (None, Some(secret)) => {
            let id = form.get("client_id").ok_or_else(|| {
                OAuthError::InvalidClient("client_id is missing".to_owned())
            })?;
            Ok(ClientAuth {
                id: id.clone(),
                secret: secret.clone(),
                maybe_encoded: false,
            })
        }
        (None, None) => Err(OAuthError::InvalidClient(
            "no client authentication: send client_id and client_secret in the body, or HTTP Basic"
                .to_owned(),
        )),
    }
}

/// Reads `Authorization: Basic base64(id:secret)`.
fn parse_basic(value: &HeaderValue) -> Result<ClientAuth, OAuthError> {
    let bad = |why: &str| OAuthError::InvalidClient(format!("bad Authorization header: {why}"));
    let value = value.to_str().map_err(|_| bad("not ASCII"))?;
    let (scheme, credentials) = value
        .trim()
        .split_once(' ')
        .ok_or_else(|| bad("expected `Basic <credentials>`"))?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad("only the Basic scheme authenticates a client"));
    }
    let decoded = STANDARD
        .decode(credentials.trim())
        .map_err(|_| bad("credentials are not base64"))?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad("credentials are not UTF-8"))?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or_else(|| bad("credentials lack the ':' between id and secret"))?;
    Ok(ClientAuth {
        id: id.to_owned(),
        secret: secret.to_owned(),
        maybe_encoded: true,
    })
}

/// Decodes an application/x-www-form-urlencoded value (`+` is a space, `%XX` a byte); `None`
/// if it is not validly encoded.
fn form_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = char::from(bytes.next()?).to_digit(16)?;
                let lo = char::from(bytes.next()?).to_digit(16)?;
                out.push(u8::try_from(hi * 16 + lo).ok()?);
            }
            b => out.push(b),
        }
    }
    String::from_utf8(out).ok()
}

/// The scopes to grant: the requested ones if all are allowed, else the first allowed one.
fn granted_scopes(requested: Option<&str>, allowed: &[String]) -> Result<Vec<String>, OAuthError> {
    let mut granted: Vec<String> = Vec::new();
    for scope in requested
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
    {
        if !allowed.iter().any(|a| a == scope) {
            return Err(OAuthError::InvalidScope(format!(
                "scope {scope:?} is not allowed for this client (allowed: {})",
                allowed.join(" ")
            )));
        }
        if !granted.iter().any(|g| g == scope) {
            granted.push(scope.to_owned());
        }
    }
    if granted.is_empty() {
        let first = allowed
            .first()
            .ok_or_else(|| OAuthError::InvalidScope("the client is allowed no scope".to_owned()))?;
        granted.push(first.clone());
    }
    Ok(granted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding() {
        assert_eq!(form_decode("a%2Bb+c").as_deref(), Some("a+b c"));
        assert_eq!(form_decode("plain").as_deref(), Some("plain"));
        assert_eq!(form_decode("bad%2"), None);
        assert_eq!(form_decode("bad%zz"), None);
        assert!(same("s%3Ae", "s:e", true));
        assert!(!same("s%3Ae", "s:e", false));
    }

    #[test]
    fn scopes() {
        let allowed = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(granted_scopes(None, &allowed).unwrap(), ["a"]);
        assert_eq!(granted_scopes(Some("b a b"), &allowed).unwrap(), ["b", "a"]);
        assert!(granted_scopes(Some("c"), &allowed).is_err());
        assert!(granted_scopes(None, &[]).is_err());
    }
}
