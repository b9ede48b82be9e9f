//! The HTTP surface: which path goes to which handler behind which layers, plus the
//! `/_sandbox` inspection endpoints and the replies for unknown paths and methods.
//!
//! Layers: the token endpoints and the System API get the latency fault; the System API also
//! passes the [gate](super::gate). `/_sandbox/*` has neither (no limit, no latency), but asks
//! for a bearer token the sandbox issued, as the API does: what a rehearsal imported (a real
//! customer file, maybe) is not shown to every user of the machine.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::gate::{TRACE_ID, gate, trace_id};
use super::model::OrganizationsResponse;
use super::reply::{ApiError, JsonReply};
use super::token::check_bearer;
use super::{Sandbox, Stats, base_url, faults, lock, organizations, token};

/// The sandbox's whole router, its state applied.
pub(crate) fn router(sandbox: &Sandbox) -> Router {
    let api = Router::new()
        .route(
            "/api/system/{tenant}/organizations",
            get(organizations::list).post(organizations::create),
        )
        .route(
            "/api/system/{tenant}/organizations/{id}",
            get(organizations::get)
                .put(organizations::update)
                .delete(organizations::delete),
        )
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn_with_state(sandbox.clone(), gate));
    let oauth = Router::new()
        .route("/{tenant}/system/oauth2/token", post(token::token))
        .route(
            "/{tenant}/system/.well-known/openid-configuration",
            get(token::discovery),
        )
        .method_not_allowed_fallback(method_not_allowed);
    let inspect = Router::new()
        .route("/_sandbox/stats", get(stats))
        .route("/_sandbox/organizations", get(all_organizations))
        .layer(from_fn_with_state(sandbox.clone(), inspector));
    api.merge(oauth)
        .layer(from_fn_with_state(sandbox.clone(), faults::add_latency))
        .merge(inspect)
        .fallback(not_found)
        .with_state(sandbox.clone())
}

/// Middleware over `/_sandbox/*`: the request's bearer token must be one the sandbox issued
/// and still accepts (401 or 403 in the API's error shape otherwise).
async fn inspector(State(sandbox): State<Sandbox>, req: Request, next: Next) -> Response {
    match check_bearer(&sandbox, req.headers()) {
        Ok(()) => next.run(req).await,
        Err(e) => {
            let mut res = e.into_response();
            res.headers_mut().insert(TRACE_ID, trace_id());
            res
        }
    }
}

/// `GET /_sandbox/stats`: the counters, for a benchmark in another process.
async fn stats(State(sandbox): State<Sandbox>) -> Json<Stats> {
    Json(sandbox.stats())
}

/// `GET /_sandbox/organizations`: every organization, templates included, as the API shows
/// them (`{"organizations": [...]}` in id order).
async fn all_organizations(State(sandbox): State<Sandbox>, headers: HeaderMap) -> JsonReply {
    let shared = &sandbox.shared;
    let base = base_url(&headers);
    let store = lock(&shared.store);
    let organizations = store
        .after(None)
        .map(|org| org.to_response(&base, &shared.config))
        .collect();
    JsonReply::new(StatusCode::OK, &OrganizationsResponse { organizations })
}

/// A known path with the wrong method: 405 in the System API's error shape.
async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Any unknown path: 404 `not_found` in the System API's error shape, with a trace id.
async fn not_found(uri: Uri) -> Response {
    let mut res = ApiError::NotFound {
        what: "route",
        id: uri.path().to_owned(),
    }
    .into_response();
    res.headers_mut().insert(TRACE_ID, trace_id());
    res
}
