//! The gateway in front of the System API: trace ids, rate limit, burst rejections, and the
//! tenant and bearer-token checks every `/api` request passes before its handler.
//!
//! Order: rate limit (429, see `limit`; only creates and updates with `rate_limit_writes_only`), burst rejection (403), tenant (404), token (401/403). Every reply,
//! refused or not, carries a fresh `X-Trace-ID`. With `echo_requests_in_errors` the gate also
//! keeps each request's words and quotes them in its error reply, whoever refused it.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::limit::Verdict;
use super::once::Kind;
use super::reply::{ApiError, EchoedRequest, echo_into};
use super::stats::bump;
use super::token::check_bearer;
use super::{Sandbox, lock, random_hex};

/// The header naming a reply for support, kept by clients next to a failed row.
pub(crate) const TRACE_ID: HeaderName = HeaderName::from_static("x-trace-id");

/// The most of a request's body kept to be quoted (more than the handlers accept).
const MAX_ECHOED_BODY: usize = 16 << 20;

/// Middleware over every `/api` route.
pub(crate) async fn gate(State(sandbox): State<Sandbox>, req: Request, next: Next) -> Response {
    bump(&sandbox.shared.counters.api_requests);
    if sandbox.shared.config.record_arrivals {
        lock(&sandbox.shared.arrivals).push(std::time::Instant::now());
    }
    if !sandbox.shared.config.echo_requests_in_errors {
        return pass(&sandbox, req, next).await;
    }
    let (parts, body) = req.into_parts();
    let body = match to_bytes(body, MAX_ECHOED_BODY).await {
        Ok(body) => body,
        Err(e) => {
            let mut res =
                ApiError::BadRequest(format!("cannot read the body: {e}")).into_response();
            res.headers_mut().insert(TRACE_ID, trace_id());
            return res;
        }
    };
    let echoed = EchoedRequest::new(&parts.method, &parts.uri, &parts.headers, &body);
    let res = pass(&sandbox, Request::from_parts(parts, Body::from(body)), next).await;
    if res.status().is_client_error() || res.status().is_server_error() {
        echo_into(res, &echoed).await
    } else {
        res
    }
}

/// Admits the request and runs its handler, or refuses it; either way with a trace id (and
/// the rate-limit headers, when the sandbox sends them).
async fn pass(sandbox: &Sandbox, req: Request, next: Next) -> Response {
    let shared = &sandbox.shared;
    let counted = !shared.config.rate_limit_writes_only
        || matches!(*req.method(), Method::POST | Method::PUT);
    let verdict = shared
        .limiter
        .as_ref()
        .filter(|_| counted)
        .map(|limiter| limiter.check());
    let mut res = match admit(sandbox, verdict.as_ref(), &req) {
        Ok(()) => next.run(req).await,
        Err(e) => {
            tracing::debug!(error = %e, path = req.uri().path(), "sandbox: request refused");
            e.into_response()
        }
    };
    if let (Some(limiter), Some(verdict)) = (&shared.limiter, &verdict)
        && shared.config.rate_limit_headers
    {
        limiter.add_headers(verdict, res.headers_mut());
    }
    res.headers_mut().insert(TRACE_ID, trace_id());
    res
}

/// A random trace id.
pub(crate) fn trace_id() -> HeaderValue {
    HeaderValue::try_from(random_hex(16)).unwrap_or(HeaderValue::from_static("0"))
}

/// Decides whether a request reaches its handler, counting refusals; `verdict` is the rate
/// limit's, if there is one.
fn admit(sandbox: &Sandbox, verdict: Option<&Verdict>, req: &Request) -> Result<(), ApiError> {
    let shared = &sandbox.shared;
    if let Some(verdict) = verdict
        && !verdict.admitted
    {
        bump(&shared.counters.rate_limited);
        if verdict.blocked {
            bump(&shared.counters.windows_blocked);
        }
        return Err(ApiError::TooManyRequests {
            retry_after: whole_seconds(verdict.wait),
        });
    }
    let kind = Kind::of_api(req.method(), req.uri(), &shared.config.template_id);
    if let (Some(once), Some(kind)) = (&shared.once, kind)
        && once.strikes(kind)
    {
        shared.counters.fault(Some(kind));
        return Err(ApiError::Injected(StatusCode::SERVICE_UNAVAILABLE));
    }
    if shared.dice.forbidden() {
        shared.counters.fault(kind);
        return Err(ApiError::Forbidden);
    }
    // Routes are /api/system/{tenant}/...
    let tenant = req.uri().path().split('/').nth(3).unwrap_or_default();
    if tenant != shared.config.tenant {
        return Err(ApiError::NotFound {
            what: "tenant",
            id: tenant.to_owned(),
        });
    }
    check_bearer(sandbox, req.headers()).inspect_err(|e| {
        if matches!(e, ApiError::Unauthorized(_)) {
            bump(&shared.counters.unauthorized);
        }
    })
}

/// `Retry-After` seconds: the wait rounded up, at least 1.
fn whole_seconds(wait: std::time::Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn retry_after_rounds_up_to_at_least_one_second() {
        assert_eq!(super::whole_seconds(Duration::ZERO), 1);
        assert_eq!(super::whole_seconds(Duration::from_millis(10)), 1);
        assert_eq!(super::whole_seconds(Duration::from_secs(2)), 2);
        assert_eq!(super::whole_seconds(Duration::from_millis(2001)), 3);
    }
}
