//! What a reply says, read for [`ApiClient`](super::ApiClient): a success's body as an
//! organization or a page of them, every id in it checked; an error's status, code, words and
//! `Retry-After`. Every word taken from a reply passes the redactor.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use super::CallError;
use crate::api::redact::{Redactor, ServerText};
use crate::api::types::{ApiErrorBody, Organization, OrganizationList};
use crate::error::NoAnswer;
use crate::input::quote::quoted;
use crate::record::is_org_id;

/// How much of an error body that is not the API's JSON a message quotes, in characters.
const QUOTED_BODY: usize = 300;

/// A success's body as an organization, its ids checked.
pub(super) fn parse_org(body: &[u8], redactor: &Redactor) -> Result<Organization, CallError> {
    let org = serde_json::from_slice(body).map_err(|e| {
        // serde's words quote the body they could not read.
        unreadable(redactor.text(&format!("the API's reply is not an organization: {e}")))
    })?;
    check_ids(&org, redactor)?;
    Ok(org)
}

/// Refuses an organization whose id (or parent's id) is not one that can be recorded or put
/// in a URL ([`is_org_id`]: not `..`, `.`, empty, with `/` or a control character...): an id
/// of `..` would make a delete of it a delete of the whole collection.
fn check_ids(org: &Organization, redactor: &Redactor) -> Result<(), CallError> {
    let parent = org.parent_id.as_deref().filter(|p| !p.is_empty());
    for (what, id) in [("organization", Some(org.id.as_str())), ("parent", parent)] {
        if let Some(id) = id.filter(|id| !is_org_id(id)) {
            return Err(CallError::Transport {
                kind: NoAnswer::NotAnId,
                message: redactor.text(&format!(
                    "the API's reply names {what} id {}, which is not an organization id (1 to \
                 255 visible ASCII characters, no '/' or '\\', not '.' or '..')",
                    quoted(id)
                )),
            });
        }
    }
    Ok(())
}

/// The error for an answer `status` with `headers` and `body`; every word taken from them is
/// redacted by `redactor`.
pub(super) fn status_error(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    redactor: &Redactor,
) -> CallError {
    let parsed: ApiErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let message = if parsed.error.is_empty() && crate::api::html::is_html(headers, body) {
        // A page's markup says nothing a person needs, over many lines: its title does.
        let reason = status.canonical_reason().unwrap_or("");
        match crate::api::html::title(body) {
            Some(title) => redactor.text(&format!("{title} (an HTML page)")),
            None => redactor.text(&format!("{reason} (an HTML page)")),
        }
    } else if parsed.error.is_empty() {
        let text = redactor.body(body, QUOTED_BODY);
        if text.is_empty() {
            ServerText::ours(status.canonical_reason().unwrap_or(""))
        } else {
            text
        }
    } else {
        redactor.text(&parsed.error)
    };
    let code = if parsed.error_code.is_empty() {
        let reason = status.canonical_reason().unwrap_or("error");
        redactor.text(&reason.to_lowercase().replace(' ', "_"))
    } else {
        redactor.text(&parsed.error_code)
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    CallError::Status {
        status,
        code,
        message,
        trace_id: header("x-trace-id").map(|t| redactor.text(t)),
        retry_after: header("retry-after").and_then(|value| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            crate::api::throttle::retry_after(value, now)
        }),
    }
}

/// A reply that came but is not the API's JSON.
fn unreadable(message: ServerText) -> CallError {
    CallError::Transport {
        kind: NoAnswer::Unreadable,
        message,
    }
}

/// A page of `GET /organizations`, every id on it checked.
pub(super) fn parse_list(body: &[u8], redactor: &Redactor) -> Result<OrganizationList, CallError> {
    let list: OrganizationList = serde_json::from_slice(body).map_err(|e| {
        unreadable(redactor.text(&format!(
            "the API's reply is not a list of organizations: {e}"
        )))
    })?;
    for org in &list.organizations {
        check_ids(org, redactor)?;
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn a_retry_after_of_any_size_is_a_wait_of_an_hour_at_most_and_nonsense_none() {
        let wait = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert("retry-after", HeaderValue::from_static(value));
            let error = status_error(
                StatusCode::TOO_MANY_REQUESTS,
                &headers,
                b"",
                &Redactor::default(),
            );
            error.retry_after()
        };
        assert_eq!(wait("2"), Some(Duration::from_secs(2)));
        for huge in ["1e30", "18446744073709551616", "1e308"] {
            assert_eq!(wait(huge), Some(Duration::from_secs(3600)), "{huge}");
        }
        for nonsense in [
            "-1",
            "inf",
            "NaN",
            "1e309",
            "soon",
            "Wed, 21 Oct 2015 07:28",
        ] {
            assert_eq!(wait(nonsense), None, "{nonsense}");
        }
        // An HTTP date: one past is no wait, one far ahead an hour.
        assert_eq!(wait("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        assert_eq!(
            wait("Fri, 31 Dec 2100 23:59:59 GMT"),
            Some(Duration::from_secs(3600))
        );
    }
}
