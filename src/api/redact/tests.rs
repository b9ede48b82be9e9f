//! The redactor's unit tests: each form of the secret, tokens, shaped credentials, overlaps
//! and the texts it must leave alone.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};

use super::*;

const ID: &str = "client 1";
/// A secret with characters that form encoding, JSON and base64 each treat differently.
const SECRET: &str = "Canary+Secret/ü \"x\"&=%";

fn redactor() -> Redactor {
    Redactor::for_client(ID, SECRET)
}

fn clean(text: &str) -> String {
    redactor().text(text).into_string()
}

#[test]
fn the_secret_is_removed_in_every_form_it_is_sent_in() {
    let encoded = form_encode(SECRET);
    assert_eq!(encoded, "Canary%2BSecret%2F%C3%BC+%22x%22%26%3D%25");
    let forms = [
        SECRET.to_owned(),
        encoded.clone(),
        encoded.replace('+', "%20"),
        "Canary%2bSecret%2f%c3%bc+%22x%22%26%3d%25".to_owned(),
        r#"Canary+Secret/ü \"x\"&=%"#.to_owned(),
        r#"Canary+Secret\/ü \"x\"&=%"#.to_owned(),
        r#"Canary+Secret/\u00fc \"x\"&=%"#.to_owned(),
        STANDARD.encode(format!("client+1:{encoded}")),
        STANDARD_NO_PAD.encode(format!("client+1:{encoded}")),
        STANDARD.encode(format!("{ID}:{SECRET}")),
        URL_SAFE_NO_PAD.encode(format!("{ID}:{SECRET}")),
    ];
    for form in forms {
        let text = format!("before {form} after");
        assert_eq!(clean(&text), "before [redacted] after", "{form}");
    }
}

#[test]
fn a_registered_token_is_removed_from_then_on_by_every_clone() {
    let redactor = redactor();
    let clone = redactor.clone();
    let token = "tok3n-tok3n";
    assert_eq!(clone.text(token).as_str(), token, "not known yet");
    redactor.register(token);
    redactor.register("second-generation-token");
    assert_eq!(
        clone
            .text("old tok3n-tok3n, new second-generation-token.")
            .as_str(),
        "old [redacted], new [redacted]."
    );
}

#[test]
fn credentials_are_recognized_by_their_shape() {
    let r = Redactor::default();
    let cases = [
        (
            "Authorization: Bearer eyJhbGciOi.J9x",
            "Authorization: Bearer [redacted]",
        ),
        (
            "authorization=Basic dXNlcjpwYXNz, next",
            "authorization=Basic [redacted], next",
        ),
        (
            r#"{"Authorization":"Bearer abcDEF123456"}"#,
            r#"{"Authorization":"Bearer [redacted]"}"#,
        ),
        (
            r#"{\"authorization\": \"Token9999999\"}"#,
            r#"{\"authorization\": \"[redacted]\"}"#,
        ),
        (
            "Proxy-Authorization: Basic QWxhZGRpbjpvcGVu",
            "Proxy-Authorization: Basic [redacted]",
        ),
        (
            "sent bearer   0123456789abcdef then",
            "sent bearer   [redacted] then",
        ),
        (
            "grant_type=x&client_secret=s%2B1&scope=y",
            "grant_type=x&client_secret=[redacted]&scope=y",
        ),
        (
            r#"{"access_token": "a", "refresh_token":"r"}"#,
            r#"{"access_token": "[redacted]", "refresh_token":"[redacted]"}"#,
        ),
        (
            "body=client_secret%3Dxyz%26scope",
            "body=client_secret%3D[redacted]",
        ),
        ("CLIENT_SECRET : 'p'", "CLIENT_SECRET : '[redacted]'"),
    ];
    for (text, want) in cases {
        assert_eq!(r.text(text).as_str(), want, "{text}");
    }
}

#[test]
fn words_that_only_look_like_credential_fields_are_left_alone() {
    let r = Redactor::default();
    for text in [
        "HTTP 401 invalid_access_token: unknown access token",
        "missing Authorization: Bearer header",
        "Authorization is not a Bearer token",
        "use HTTP Basic or client_secret in the body, not both",
        r#"WWW-Authenticate: Basic realm="sandbox""#,
        "basically fine; the bearer token expired",
        r#"{"error_code":"invalid_access_token","fields":["client_secret"]}"#,
        "",
    ] {
        assert_eq!(r.text(text).as_str(), text);
    }
}

#[test]
fn overlapping_and_touching_matches_become_one_redaction() {
    let r = Redactor::default();
    r.register("abcdef");
    r.register("defghi");
    r.register("xyz");
    assert_eq!(r.text("[abcdefghi]").as_str(), "[[redacted]]");
    assert_eq!(r.text("abcdefxyz!").as_str(), "[redacted]!", "touching");
    // A secret that overlaps itself is found at every start, not only the first.
    let r = Redactor::default();
    r.register("aba");
    assert_eq!(r.text("ababa-aba").as_str(), "[redacted]-[redacted]");
    // A known credential inside a shaped one, and the other way round.
    let r = Redactor::for_client("id", "s3cret-value");
    assert_eq!(
        r.text("client_secret=s3cret-value&x Bearer Zs3cret-valueZ")
            .as_str(),
        "client_secret=[redacted]&x Bearer [redacted]"
    );
}

#[test]
fn a_secret_inside_other_text_is_removed_and_the_text_kept() {
    let r = Redactor::for_client("id", "hunter22");
    assert_eq!(
        r.text("userhunter22name and hunter2 and HUNTER22").as_str(),
        "user[redacted]name and hunter2 and HUNTER22"
    );
    let r = Redactor::for_client("id", "ü€");
    assert_eq!(r.text("aü€b ü").as_str(), "a[redacted]b ü");
}

#[test]
fn an_empty_secret_or_token_never_redacts_everything() {
    let r = Redactor::for_client("id", "");
    r.register("");
    let text = "HTTP 404 not_found: template \"t\" not found";
    assert_eq!(r.text(text).as_str(), text);
    // What it does know: the Basic header of `id` with the empty secret.
    let basic = STANDARD.encode("id:");
    assert_eq!(r.text(&basic).as_str(), REDACTED);
}

#[test]
fn a_body_is_redacted_whole_before_it_is_cut() {
    let r = Redactor::for_client("id", "0123456789");
    // The secret straddles the cut: cut first, its first half would show.
    let body = "xxxx 0123456789 yyyy".as_bytes();
    assert_eq!(r.body(body, 8).as_str(), "xxxx [re");
    assert_eq!(r.body(b"  \xff ok \n", 100).as_str(), "\u{fffd} ok");
    assert_eq!(
        r.body("ééé".as_bytes(), 2).as_str(),
        "éé",
        "cut on characters"
    );
}

#[test]
fn debug_output_shows_no_credential() {
    let r = redactor();
    r.register("tok3n-tok3n");
    let debug = format!("{r:?}");
    assert!(
        !debug.contains("Canary") && !debug.contains("tok3n"),
        "{debug}"
    );
}

#[test]
fn any_cut_of_a_text_is_redacted_without_a_panic() {
    let r = Redactor::for_client("id", "ü€");
    let text = "Authorization:\"Bearer ü€x%3d\\client_secret%3D€€ basic\tü access_token=";
    for (cut, _) in text.char_indices() {
        for part in [&text[..cut], &text[cut..]] {
            assert!(!r.text(part).as_str().contains("ü€"), "{part}");
        }
    }
}
