//! The one redactor: every text that quotes a server (an error body, a token endpoint's
//! refusal, a transport failure) passes through a [`Redactor`] before it becomes part of an
//! error, a row's result or a log line, and comes out as a [`ServerText`], the only type that
//! carries such text (it has no public constructor that skips the redactor).
//!
//! What it replaces with [`REDACTED`]:
//! - the client secret as typed, form-urlencoded (`+` or `%20` for a space, upper- or
//!   lower-case hex), JSON-escaped (`\/` and `\uXXXX` too), and inside the Basic header's
//!   base64 of `client_id:secret` (both parts form-urlencoded, as sent, or not; padded or not;
//!   standard or URL-safe alphabet);
//! - every bearer token this process was issued (the token source registers each one);
//! - whatever has the shape of a credential: an `Authorization` header's value (its scheme
//!   word kept), a `Bearer` or `Basic` credential, and the value of a `client_secret`,
//!   `access_token` or `refresh_token` field of a form, a query or a JSON body.
//!
//! Then it escapes what is left as input text is escaped in messages
//! ([`crate::input::quote::escaped`]): control characters (ESC, CR, BEL...), bidi controls and
//! invisible ones come out as `\u{1b}`, `\r`..., so that a server's words cannot clear the
//! terminal, forge a line or hide in the results file.
//!
//! It runs on error paths only, so it is a plain scan: no regular expressions, no automaton.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

use crate::input::quote::escaped;

/// What every redacted credential is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Fields whose value is a credential whatever it looks like.
const SECRET_FIELDS: [&str; 3] = ["client_secret", "access_token", "refresh_token"];

/// Authentication schemes whose word stays visible before a redacted credential.
const SCHEMES: [&str; 6] = ["basic", "bearer", "digest", "dpop", "negotiate", "ntlm"];

/// The shortest run taken for a credential where only its shape says it is one (after
/// `Authorization:`, `Bearer` or `Basic`); shorter runs are words like `header` or `realm=`.
const MIN_CREDENTIAL: usize = 8;

/// Knows this process's credentials and removes them, and anything shaped like one, from
/// text that quotes a server. Cheap to clone; every clone knows the same credentials.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Exact strings to remove: the secret's forms and the tokens issued. A std lock: held
    /// while one text is scanned or one token added, never across an await.
    known: Arc<RwLock<Vec<String>>>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("known", &self.read().len())
            .finish()
    }
}

impl Redactor {
    /// A redactor that knows `secret` in every form it is sent in (see the module docs), for
    /// the client `client_id`. An empty secret adds nothing but its Basic header.
    pub fn for_client(client_id: &str, secret: &str) -> Redactor {
        let redactor = Redactor::default();
        for form in secret_forms(client_id, secret) {
            redactor.register(&form);
        }
        redactor
    }

    /// Remembers `credential` (a bearer token, say), so that no text passed through this
    /// redactor or any clone of it shows it from now on. An empty one is ignored.
    pub fn register(&self, credential: &str) {
        if credential.is_empty() {
            return;
        }
        let mut known = self.known.write().unwrap_or_else(|e| e.into_inner());
        if !known.iter().any(|k| k == credential) {
            known.push(credential.to_owned());
        }
    }

    /// `text` with every credential in it replaced by [`REDACTED`], then its control and
    /// invisible characters escaped (see the module docs).
    pub fn text(&self, text: &str) -> ServerText {
        let mut spans = Vec::new();
        for needle in self.read().iter() {
            exact_spans(text, needle, &mut spans);
        }
        shaped_spans(text, &mut spans);
        let redacted = replace_spans(text, spans);
        ServerText(match escaped(&redacted) {
            Cow::Borrowed(_) => redacted,
            Cow::Owned(escaped) => escaped,
        })
    }

    /// A reply body as text: read as UTF-8 (invalid bytes replaced), trimmed, redacted whole,
    /// and only then cut to `max_chars` characters (so a cut never leaves part of a
    /// credential that the whole would have shown to be one).
    pub fn body(&self, body: &[u8], max_chars: usize) -> ServerText {
        let text = String::from_utf8_lossy(body);
        let ServerText(mut redacted) = self.text(text.trim());
        if let Some((cut, _)) = redacted.char_indices().nth(max_chars) {
            redacted.truncate(cut);
        }
        ServerText(redacted)
    }

    /// The known credentials, read-locked.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<String>> {
        self.known.read().unwrap_or_else(|e| e.into_inner())
    }
}

/// Text that quotes a server, redacted: made only by a [`Redactor`] (or, for text of this
/// program's own, by [`ServerText::ours`]), so an error that carries it cannot carry a
/// credential the redactor knows or recognizes.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ServerText(String);

impl ServerText {
    /// Text written in this program (a fixed `'static` string, so that it quotes nobody).
    pub fn ours(text: &'static str) -> ServerText {
        ServerText(text.to_owned())
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, owned.
    pub fn into_string(self) -> String {
        self.0
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for ServerText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ServerText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// Tests elsewhere in the crate build errors from literals.
#[cfg(test)]
impl From<&str> for ServerText {
    fn from(text: &str) -> ServerText {
        ServerText(text.to_owned())
    }
}

/// Every form in which `secret` leaves this process or may be quoted back.
fn secret_forms(client_id: &str, secret: &str) -> Vec<String> {
    let encoded = form_encode(secret);
    let mut forms = vec![
        secret.to_owned(),
        encoded.replace('+', "%20"),
        lowercase_hex(&encoded),
        json_escaped(secret),
        // As encoders that escape `/` or everything beyond ASCII (Python's default) write it.
        json_escaped(secret).replace('/', "\\/"),
        ascii_only(&json_escaped(secret)),
        encoded.clone(),
    ];
    // RFC 6749 2.3.1 form-urlencodes both parts before the Basic encoding (as sent); a
    // client or gateway that does not is quoted too.
    for pair in [
        format!("{}:{encoded}", form_encode(client_id)),
        format!("{client_id}:{secret}"),
    ] {
        for engine in [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD] {
            forms.push(engine.encode(&pair));
        }
    }
    forms.retain(|f| !f.is_empty());
    forms
}

/// `s` as an HTML form encodes it (a space is `+`).
fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `s` with the hex digits of its `%XX` escapes in lower case.
fn lowercase_hex(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut hex_left = 0;
    for c in s.chars() {
        if hex_left > 0 {
            out.push(c.to_ascii_lowercase());
            hex_left -= 1;
        } else {
            hex_left = if c == '%' { 2 } else { 0 };
            out.push(c);
        }
    }
    out
}

/// `s` as it stands inside a JSON string, without the quotes.
fn json_escaped(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or_default()
        .to_owned()
}

/// `s` with every character beyond ASCII written as JSON's `\uXXXX` (lower-case hex, UTF-16).
fn ascii_only(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            for unit in c.encode_utf16(&mut [0; 2]) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// Adds every occurrence of `needle` in `text`, overlapping ones included.
fn exact_spans(text: &str, needle: &str, spans: &mut Vec<Range<usize>>) {
    let mut from = 0;
    while let Some(found) = text[from..].find(needle) {
        let start = from + found;
        spans.push(start..start + needle.len());
        // On to the next character, so that an overlapping occurrence is found too.
        from = start + text[start..].chars().next().map_or(1, char::len_utf8);
    }
}

/// Adds the credentials that `text` shows by their shape (see the module docs).
fn shaped_spans(text: &str, spans: &mut Vec<Range<usize>>) {
    // ASCII lower-casing keeps every byte where it was, so offsets hold in `text`.
    let lower = text.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let original = text.as_bytes();
    for field in SECRET_FIELDS {
        for (at, _) in lower.match_indices(field) {
            if !starts_word(bytes, at) {
                continue;
            }
            if let Some(start) = value_start(bytes, at + field.len()) {
                let end = credential_end(bytes, start);
                if end > start {
                    spans.push(start..end);
                }
            }
        }
    }
    for (at, _) in lower.match_indices("authorization") {
        if !starts_word(bytes, at) {
            continue;
        }
        if let Some(start) = value_start(bytes, at + "authorization".len()) {
            let start = after_scheme(bytes, start).unwrap_or(start);
            push_credential(original, start, spans);
        }
    }
    for scheme in ["bearer", "basic"] {
        for (at, _) in lower.match_indices(scheme) {
            if starts_word(bytes, at)
                && let Some(start) = after_scheme(bytes, at)
            {
                push_credential(original, start, spans);
            }
        }
    }
}

/// Adds the run at `start` of the text's `bytes` (as written, not lower-cased) if it has a
/// credential's shape: long enough, and not a plain lower-case word.
fn push_credential(bytes: &[u8], start: usize, spans: &mut Vec<Range<usize>>) {
    let end = credential_end(bytes, start);
    let run = &bytes[start..end];
    if run.len() >= MIN_CREDENTIAL && !run.iter().all(u8::is_ascii_lowercase) {
        spans.push(start..end);
    }
}

/// Whether a word starts at `at` (the byte before it is not part of a name).
fn starts_word(bytes: &[u8], at: usize) -> bool {
    at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_')
}

/// Where the value after a field name ending at `at` starts: past closing quotes, a `:`, `=`
/// or `%3D`, and opening quotes. `None` when no separator follows the name.
fn value_start(bytes: &[u8], at: usize) -> Option<usize> {
    let skip = |mut i: usize| {
        while i < bytes.len() && matches!(bytes[i], b'"' | b'\'' | b'\\' | b' ' | b'\t') {
            i += 1;
        }
        i
    };
    let i = skip(at);
    let after = match bytes.get(i)? {
        b':' | b'=' => i + 1,
        b'%' if bytes[i..].starts_with(b"%3d") => i + 3,
        _ => return None,
    };
    Some(skip(after))
}

/// Where the credential after a scheme word at `at` starts (past the word and its spaces),
/// if a known scheme word stands there and something follows it.
fn after_scheme(bytes: &[u8], at: usize) -> Option<usize> {
    let scheme = SCHEMES
        .iter()
        .find(|s| bytes[at..].starts_with(s.as_bytes()))?;
    let mut i = at + scheme.len();
    let spaces = i;
    while i < bytes.len() && matches!(bytes[i], b' ' | b'\t') {
        i += 1;
    }
    (i > spaces && i < bytes.len()).then_some(i)
}

/// The end of the credential starting at `start`: the first byte that cannot be part of one
/// (whitespace, a quote, a backslash or a separator of a form, list or object).
fn credential_end(bytes: &[u8], start: usize) -> usize {
    bytes[start..]
        .iter()
        .position(|b| {
            b.is_ascii_whitespace()
                || matches!(
                    b,
                    b'"' | b'\'' | b'\\' | b',' | b';' | b'&' | b'}' | b']' | b')' | b'<' | b'>'
                )
        })
        .map_or(bytes.len(), |p| start + p)
}

/// `text` with the union of `spans` replaced, each run of overlapping or touching spans by
/// one [`REDACTED`].
fn replace_spans(text: &str, mut spans: Vec<Range<usize>>) -> String {
    if spans.is_empty() {
        return text.to_owned();
    }
    spans.sort_by_key(|s| s.start);
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut current: Option<Range<usize>> = None;
    for span in spans {
        match &mut current {
            Some(c) if span.start <= c.end => c.end = c.end.max(span.end),
            _ => {
                if let Some(c) = current.take() {
                    out.push_str(&text[copied..c.start]);
                    out.push_str(REDACTED);
                    copied = c.end;
                }
                current = Some(span);
            }
        }
    }
    if let Some(c) = current {
        out.push_str(&text[copied..c.start]);
        out.push_str(REDACTED);
        copied = c.end;
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests;
