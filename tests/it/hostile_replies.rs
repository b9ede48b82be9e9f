//! Replies a server is not to give, from a hostile server in front of the sandbox: ids that
//! are no ids (`..`, `/`, control characters), text with terminal escapes, huge bodies and
//! lifetimes. Each is an error for its request, never a panic, a raw escape on the terminal
//! or a request to a URL the server chose.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::response::Response;
use orgimport::record::Status;
use orgimport::sandbox::SandboxConfig;
use serde_json::json;

use crate::fixture::{Fixture, import_with};
use crate::hostile::{self, Endless, json as reply};
use crate::network::{args_via, bin_at};
use crate::ops::{run, text};
use crate::util::start_sandbox;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_in_replies_that_are_no_ids_are_neither_recorded_nor_put_in_a_url() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let orgs = format!(
        "/api/system/{}/organizations",
        sandbox.sandbox.config().tenant
    );
    for bad in ["..", ".", "", "a/b", "org\r\nX-Evil: 1", "org\u{1b}[2J"] {
        // Creates answered with the id; so are undo's look-ups, by id and by name.
        let path = orgs.clone();
        let front = hostile::serve(Some(sandbox.base_url.clone()), move |seen| {
            let org = |name: &str| json!({"id": bad, "name": name});
            if seen.method == "POST" && seen.path == path {
                let sent: serde_json::Value = serde_json::from_slice(&seen.body).unwrap();
                Some(reply(201, &org(sent["name"].as_str().unwrap())))
            } else if seen.method == "GET" && seen.path == format!("{path}/cust-a") {
                Some(reply(200, &org("org-a")))
            } else if seen.method == "GET" && seen.path.contains("search_phrase=") {
                Some(reply(200, &json!({"organizations": [org("org-b")]})))
            } else {
                None
            }
        })
        .await;
        let fixture = Fixture::new("id,name\ncust-a,org-a\n,org-b\n");

        let args = args_via(&fixture, &sandbox, &front.url, &["--max-attempts", "1"]);
        let summary = import_with(args).await.unwrap();

        assert_eq!(summary.count(Status::Unconfirmed), 2, "{bad:?}: {summary}");
        for row in fixture.results_rows() {
            assert_eq!(row["org_id"], "", "{bad:?}: {row:?}");
            assert!(
                row["error"].contains("which is not an organization id"),
                "{bad:?}: {row:?}"
            );
        }

        let out = run(
            bin_at(&sandbox, &front.url, fixture.dir.path()),
            &["undo", "customers.results.csv", "--yes"],
        )
        .await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{bad:?}: {stderr}");
        let deletes: Vec<_> = front
            .seen()
            .into_iter()
            .filter(|s| s.method == "DELETE")
            .map(|s| s.path)
            .collect();
        assert!(deletes.is_empty(), "{bad:?}: {deletes:?}");
        for row in fixture.results_rows() {
            assert_eq!(row["status"], "unconfirmed", "{bad:?}: still in doubt");
        }
    }
    assert_eq!(sandbox.sandbox.stats().creates_committed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_of_a_listing_with_an_id_that_is_no_id_stops_and_writes_nothing() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let orgs = format!(
        "/api/system/{}/organizations",
        sandbox.sandbox.config().tenant
    );
    let front = hostile::serve(Some(sandbox.base_url.clone()), move |seen| {
        (seen.method == "GET" && seen.path.starts_with(&format!("{orgs}?"))).then(|| {
            reply(
                200,
                &json!({"organizations": [{"id": "../../x", "name": "evil"}]}),
            )
        })
    })
    .await;
    let dir = tempfile::tempdir().unwrap();

    let out = run(
        bin_at(&sandbox, &front.url, dir.path()),
        &["export", "--out", "tenant.csv"],
    )
    .await;

    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(r#"organization id "../../x", which is not an organization id"#),
        "{stderr}"
    );
    assert!(!dir.path().join("tenant.csv").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_reply_is_an_error_for_its_request_and_is_not_read_whole() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let orgs = format!(
        "/api/system/{}/organizations",
        sandbox.sandbox.config().tenant
    );
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    const HUGE: usize = 256 << 20;
    let front = hostile::serve(Some(sandbox.base_url.clone()), move |seen| {
        (seen.method == "POST" && seen.path == orgs).then(|| {
            // A JSON organization followed by a quarter of a gigabyte of spaces, no length.
            Response::builder()
                .status(201)
                .header("content-type", "application/json")
                .body(Body::new(Endless {
                    left: HUGE,
                    sent: counter.clone(),
                }))
                .unwrap()
        })
    })
    .await;
    let fixture = Fixture::new("name\nhuge\n");

    let args = args_via(&fixture, &sandbox, &front.url, &[]);
    let summary = import_with(args).await.unwrap();

    assert_eq!(summary.count(Status::Unconfirmed), 1, "{summary}");
    let row = &fixture.results_rows()[0];
    assert!(
        row["error"].contains("the reply was too large: over 4 MiB"),
        "{row:?}"
    );
    let read = sent.load(Ordering::Relaxed);
    assert!(read < 32 << 20, "{read} bytes of {HUGE} taken");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_lifetime_out_of_range_is_clamped_with_a_warning() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let token = sandbox.token().await;
    let dir = tempfile::tempdir().unwrap();
    for (expires_in, taken) in [
        (json!(1e30), "86400 s"),
        (json!("0"), "1 s"),
        (json!(-5), "1 s"),
        (json!("-3600"), "1 s"),
    ] {
        let answer = json!({"access_token": token, "expires_in": expires_in});
        let front = hostile::serve(Some(sandbox.base_url.clone()), move |seen| {
            seen.path.ends_with("/token").then(|| reply(200, &answer))
        })
        .await;

        let out = run(bin_at(&sandbox, &front.url, dir.path()), &["token"]).await;

        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{expires_in}: {stderr}");
        assert!(
            stderr.contains("(expires_in); taken as ") && stderr.contains(taken),
            "{expires_in}: {stderr}"
        );
    }
}

/// Escape sequences a server may put in its words: clear the screen, set the window title, a
/// hyperlink, a bare CR that overwrites the line, a bidi override.
const HOSTILE_TEXT: &str =
    "bad\u{1b}[2J\u{1b}]0;pwned\u{7}\u{1b}]8;;http://evil\u{1b}\\click\rforged line\u{202e}";

/// The raw characters no output or file may hold.
fn assert_no_raw_escapes(what: &str, text: &str) {
    for raw in ['\u{1b}', '\u{7}', '\r', '\u{202e}'] {
        assert!(!text.contains(raw), "{what} holds {raw:?}: {text:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_text_with_terminal_escapes_is_escaped_on_the_terminal_and_in_the_results() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let orgs = format!(
        "/api/system/{}/organizations",
        sandbox.sandbox.config().tenant
    );
    let front = hostile::serve(Some(sandbox.base_url.clone()), move |seen| {
        (seen.method == "POST" && seen.path == orgs).then(|| {
            reply(
                400,
                &json!({"error": HOSTILE_TEXT, "error_code": "invalid\u{1b}[31m"}),
            )
        })
    })
    .await;
    let fixture = Fixture::new("name\nacme\n");
    let dir = fixture.dir.path();

    let out = run(
        bin_at(&sandbox, &front.url, dir),
        &["import", "customers.csv", "-v"],
    )
    .await;

    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_no_raw_escapes("stdout", &stdout);
    assert_no_raw_escapes("stderr", &stderr);
    let results = std::fs::read_to_string(fixture.results()).unwrap();
    assert_no_raw_escapes("the results file", &results);
    let row = &fixture.results_rows()[0];
    assert!(
        row["error"].starts_with(
            r"HTTP 400 invalid\u{1b}[31m: bad\u{1b}[2J\u{1b}]0;pwned\u{7}\u{1b}]8;;http://evil\u{1b}\click\rforged line\u{202e}"
        ),
        "{row:?}"
    );

    // The token endpoint's refusal, printed as the fatal error.
    let front = hostile::serve(None, |_| {
        Some(reply(
            401,
            &json!({"error": "invalid_client", "error_description": HOSTILE_TEXT}),
        ))
    })
    .await;
    let out = run(bin_at(&sandbox, &front.url, dir), &["token"]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_no_raw_escapes("the token refusal", &stderr);
    assert!(stderr.contains(r"bad\u{1b}[2J"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_html_page_from_the_token_endpoint_is_final_and_not_retried() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let front = hostile::serve(Some(sandbox.base_url.clone()), |seen| {
        seen.path.ends_with("/token").then(|| {
            Response::builder()
                .status(401)
                .header("content-type", "text/html")
                .body(Body::from(
                    "<html><body><h1>401 Authorization Required</h1></body></html>",
                ))
                .unwrap()
        })
    })
    .await;

    let out = run(bin_at(&sandbox, &front.url, dir.path()), &["token"]).await;

    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("refused the credentials: 401"), "{stderr}");
    let tried = front
        .seen()
        .iter()
        .filter(|s| s.path.ends_with("/token"))
        .count();
    assert_eq!(tried, 1, "not retried: {stderr}");
}
