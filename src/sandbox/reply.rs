//! How the sandbox answers: JSON replies, the System API error body and the OAuth2 error body.
//!
//! System API errors are `{"status_code", "error", "error_code", "details"}`. The codes chosen
//! where the vendor publishes none:
//!
//! | status | `error_code`            | when                                                    |
//! |--------|-------------------------|---------------------------------------------------------|
//! | 400    | `bad_request`           | malformed JSON or path, bad query parameter, bad `X-Idempotency-Key`, deleting an organization that has children |
//! | 401    | `invalid_access_token`  | bearer token missing, unknown or expired                |
//! | 403    | `insufficient_scope`    | the token has neither `manage_organizations` nor `manage_configuration` |
//! | 403    | `request_forbidden`     | injected burst rejection                                |
//! | 404    | `not_found`             | unknown tenant, organization, parent, template or route |
//! | 405    | `method_not_allowed`    | known path, wrong method                                |
//! | 409    | `conflict`              | an organization with that id exists                     |
//! | 422    | `invalid_request`       | wrong field types, bad id, blank name, unknown authentication mechanism, idempotency key reused for another body |
//! | 429    | `too_many_requests`     | over the rate limit; `Retry-After` in whole seconds     |
//! | 500    | `internal_server_error` | injected, before commit                                 |
//! | 502    | `bad_gateway`           | injected, after commit                                  |
//! | 503    | `service_unavailable`   | injected, before commit                                 |
//!
//! With `echo_requests_in_errors` every error reply quotes its request ([`EchoedRequest`]),
//! as a misconfigured gateway does: in `error` and `details.request`, in a plain-text page for
//! a 5xx, in the token endpoint's `error_description`.

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

/// A JSON reply kept as bytes, so a create's reply can be stored and replayed unchanged.
#[derive(Clone, Debug)]
pub(crate) struct JsonReply {
    /// HTTP status.
    pub(crate) status: StatusCode,
    /// The serialized JSON body.
    pub(crate) body: Bytes,
}

impl JsonReply {
    /// Serializes `value` as the body of a reply with `status`.
    pub(crate) fn new(status: StatusCode, value: &impl Serialize) -> JsonReply {
        match serde_json::to_vec(value) {
            Ok(body) => JsonReply {
                status,
                body: body.into(),
            },
            Err(e) => JsonReply {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                body: error_body(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &format!("cannot serialize reply: {e}"),
                    "internal_server_error",
                    json!({}),
                )
                .into(),
            },
        }
    }
}

impl IntoResponse for JsonReply {
    fn into_response(self) -> Response {
        (
            self.status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            self.body,
        )
            .into_response()
    }
}

/// A System API request that failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// The request cannot be read (400).
    #[error("{0}")]
    BadRequest(String),
    /// A field holds a value the API refuses (422).
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field, `body` when serde could not say which.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// No valid bearer token (401).
    #[error("{0}")]
    Unauthorized(String),
    /// The token lacks an organization-management scope (403).
    #[error("the access token has no scope allowing organization management")]
    InsufficientScope,
    /// An injected burst rejection (403).
    #[error("request forbidden (sandbox fault: burst rejection)")]
    Forbidden,
    /// Something named by the request does not exist (404).
    #[error("{what} {id:?} not found")]
    NotFound {
        /// What kind of thing: tenant, organization, parent, template, route.
        what: &'static str,
        /// Its id (or path).
        id: String,
    },
    /// The path exists, the method does not (405).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// An organization with this id already exists (409).
    #[error("organization {0:?} already exists")]
    Conflict(String),
    /// The organization has children and cannot be deleted (400).
    #[error("organization {id:?} has {children} child organizations; delete them first")]
    HasChildren {
        /// The organization.
        id: String,
        /// How many children it has.
        children: u64,
    },
    /// Over the rate limit (429).
    #[error("rate limit exceeded, retry in {retry_after} s")]
    TooManyRequests {
        /// Whole seconds until a request can pass, at least 1.
        retry_after: u64,
    },
    /// An injected server failure (500, 502 or 503).
    #[error("sandbox fault: injected {0}")]
    Injected(StatusCode),
    /// `If-Match` names another version than the organization's (412, the spec's
    /// `preconditionFailedHTTPError`).
    #[error("organization {id:?} has changed: If-Match {given} does not match its ETag {current}")]
    PreconditionFailed {
        /// The organization.
        id: String,
        /// The `If-Match` header as sent.
        given: String,
        /// The organization's `ETag` now.
        current: String,
    },
}

impl ApiError {
    /// The HTTP status of this error.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::HasChildren { .. } => StatusCode::BAD_REQUEST,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::InsufficientScope | ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Injected(status) => *status,
            ApiError::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
        }
    }

    /// The `error_code` of the body (see the module docs).
    fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) | ApiError::HasChildren { .. } => "bad_request",
            ApiError::Invalid { .. } => "invalid_request",
            ApiError::Unauthorized(_) => "invalid_access_token",
            ApiError::InsufficientScope => "insufficient_scope",
            ApiError::Forbidden => "request_forbidden",
            ApiError::NotFound { .. } => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::TooManyRequests { .. } => "too_many_requests",
            ApiError::Injected(StatusCode::BAD_GATEWAY) => "bad_gateway",
            ApiError::Injected(StatusCode::SERVICE_UNAVAILABLE) => "service_unavailable",
            ApiError::Injected(_) => "internal_server_error",
            ApiError::PreconditionFailed { .. } => "precondition_failed",
        }
    }

    /// The `details` of the body: the machine-readable facts behind the message.
    fn details(&self) -> Value {
        match self {
            ApiError::Invalid { field, .. } => json!({ "field": field }),
            ApiError::NotFound { what, id } => json!({ "kind": what, "id": id }),
            ApiError::Conflict(id) => json!({ "id": id }),
            ApiError::HasChildren { id, children } => {
                json!({ "id": id, "number_of_child_organizations": children })
            }
            ApiError::TooManyRequests { retry_after } => json!({ "retry_after": retry_after }),
            ApiError::PreconditionFailed { id, current, .. } => {
                json!({ "id": id, "etag": current })
            }
            _ => json!({}),
        }
    }

    /// The error as a storable JSON reply (without `Retry-After`).
    pub(crate) fn to_reply(&self) -> JsonReply {
        let status = self.status();
        JsonReply {
            status,
            body: error_body(status, &self.to_string(), self.code(), self.details()).into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = self.to_reply().into_response();
        if let ApiError::TooManyRequests { retry_after } = self {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        res
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> ApiError {
        ApiError::BadRequest(rejection.body_text())
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> ApiError {
        ApiError::BadRequest(rejection.body_text())
    }
}

/// Serializes the System API error body.
fn error_body(status: StatusCode, message: &str, code: &str, details: Value) -> Vec<u8> {
    json!({
        "status_code": status.as_u16(),
        "error": message,
        "error_code": code,
        "details": details,
    })
    .to_string()
    .into_bytes()
}

/// A token request that failed, answered with the RFC 6749 (5.2) body
/// `{"error", "error_description"}`.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OAuthError {
    /// The request is malformed (400 `invalid_request`).
    #[error("{0}")]
    InvalidRequest(String),
    /// Client authentication failed (401 `invalid_client`).
    #[error("{0}")]
    InvalidClient(String),
    /// A grant type other than client_credentials (400 `unsupported_grant_type`).
    #[error("grant type {0:?} is not supported; use client_credentials")]
    UnsupportedGrantType(String),
    /// A scope the client may not have (400 `invalid_scope`).
    #[error("{0}")]
    InvalidScope(String),
    /// The tenant in the path is not this sandbox's (404 `not_found`).
    #[error("tenant {0:?} not found")]
    UnknownTenant(String),
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let description = self.to_string();
        self.reply(description)
    }
}

impl OAuthError {
    /// The reply, its `error_description` quoting `request` after the reason.
    pub(crate) fn echoing(self, request: &EchoedRequest) -> Response {
        let description = format!("{self} (echoed request: {})", request.line);
        self.reply(description)
    }

    /// The RFC 6749 error reply with this `error_description`.
    fn reply(self, description: String) -> Response {
        let (status, error) = match &self {
            OAuthError::InvalidRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            OAuthError::InvalidClient(_) => (StatusCode::UNAUTHORIZED, "invalid_client"),
            OAuthError::UnsupportedGrantType(_) => {
                (StatusCode::BAD_REQUEST, "unsupported_grant_type")
            }
            OAuthError::InvalidScope(_) => (StatusCode::BAD_REQUEST, "invalid_scope"),
            OAuthError::UnknownTenant(_) => (StatusCode::NOT_FOUND, "not_found"),
        };
        let body = json!({ "error": error, "error_description": description });
        let mut res = JsonReply::new(status, &body).into_response();
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"sandbox\""),
            );
        }
        res
    }
}

/// The most of an error reply's body that is read back to add a request to it.
const MAX_ERROR_BODY: usize = 1 << 20;

/// A request as a gateway that echoes it quotes it: method, path and query, every header, and
/// the body.
#[derive(Debug)]
pub(crate) struct EchoedRequest {
    /// One line: `POST /path?query; name: value; ...; body: ...`.
    line: String,
    /// The same as `{"method", "path", "headers": {name: value}, "body"}`.
    json: Value,
}

impl EchoedRequest {
    /// The request with these parts and `body`.
    pub(crate) fn new(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Self {
        let body = String::from_utf8_lossy(body);
        let mut line = format!("{method} {uri}");
        let mut fields = serde_json::Map::new();
        for (name, value) in headers {
            let value = String::from_utf8_lossy(value.as_bytes());
            line.push_str(&format!("; {name}: {value}"));
            fields.insert(name.to_string(), Value::from(value.as_ref()));
        }
        line.push_str(&format!("; body: {body}"));
        let json = json!({
            "method": method.as_str(),
            "path": uri.to_string(),
            "headers": fields,
            "body": body,
        });
        EchoedRequest { line, json }
    }

    /// With `note` (what the gateway made of the request) added to its line.
    pub(crate) fn with_note(mut self, note: &str) -> Self {
        self.line.push_str("; ");
        self.line.push_str(note);
        self
    }
}

/// The error reply `res` rewritten to quote `request`: a 5xx as a plain-text gateway page that
/// dumps it, any other as the same JSON with the request added to `error` and as
/// `details.request`. Its headers (`Retry-After`, the trace id) stay.
pub(crate) async fn echo_into(res: Response, request: &EchoedRequest) -> Response {
    let (mut parts, body) = res.into_parts();
    let body = to_bytes(body, MAX_ERROR_BODY).await.unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = if parts.status.is_server_error() {
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        format!(
            "{}\n\nThe upstream failed on this request: {}\n",
            parts.status, request.line
        )
        .into_bytes()
    } else {
        let mut value: Value = serde_json::from_slice(&body)
            .unwrap_or_else(|_| json!({ "error": String::from_utf8_lossy(&body) }));
        if let Some(object) = value.as_object_mut() {
            let error = object.get("error").and_then(Value::as_str).unwrap_or("");
            let error = format!("{error} (echoed request: {})", request.line);
            object.insert("error".to_owned(), Value::from(error));
            let details = object.entry("details").or_insert_with(|| json!({}));
            if let Some(details) = details.as_object_mut() {
                details.insert("request".to_owned(), request.json.clone());
            }
        }
        value.to_string().into_bytes()
    };
    Response::from_parts(parts, Body::from(body))
}
