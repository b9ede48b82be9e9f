//! A request that got no answer (timeout, refused or dropped connection), described in one
//! line for messages: the token source and the organization calls word it alike, and both
//! pass it through the redactor (a proxy's or a library's words may quote the request).

use std::error::Error as _;

use super::redact::{Redactor, ServerText};
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
