//! The client secret, the tokens and the Authorization header never reach the page: every
//! reply of every step (pages, assets, API, downloads) is searched for a canary secret and
//! for the access token the console got with it.

use orgimport::sandbox::SandboxConfig;
use serde_json::json;

use super::{ok_json, start_args};
use crate::fixture::Fixture;
use crate::plan::{CSV, seed};
use crate::util::start_sandbox;

#[tokio::test]
async fn no_reply_holds_the_secret_or_a_token() {
    let canary = "canary-SECRET-3f9a7c1e5b";
    let sandbox = start_sandbox(SandboxConfig {
        client_secret: canary.to_string().into(),
        ..SandboxConfig::default()
    })
    .await;
    seed(&sandbox).await;
    let fixture = Fixture::new(CSV);
    let args = fixture.args(&sandbox, canary, &[]);
    let console_args: Vec<&str> = args[3..]
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "--quiet")
        .collect();
    let mut console = start_args(&console_args, |_| {}).await;
    console.login().await;
    let mut seen = Vec::new();
    seen.push(
        ok_json(console.upload("customers.csv", CSV.into()).await)
            .await
            .to_string(),
    );
    seen.push(
        console
            .upload_and_map("customers.csv", CSV)
            .await
            .to_string(),
    );
    seen.push(
        ok_json(console.post_json("/api/plan", &json!({})).await)
            .await
            .to_string(),
    );
    for path in [
        "/",
        "/assets/app.js",
        "/assets/console.css",
        "/part/file",
        "/part/columns",
        "/part/review",
        "/part/plan",
        "/api/file",
        "/api/columns",
        "/api/columns/mapping.toml",
        "/api/review",
        "/api/review/tree",
        "/api/review/problems.csv",
        "/api/plan",
    ] {
        let reply = console.get(path).await;
        let headers = format!("{:?}", reply.headers());
        seen.push(format!("{path} {headers} {}", reply.text().await.unwrap()));
    }
    let tokens: Vec<String> = sandbox.sandbox.issued_tokens();
    assert!(!tokens.is_empty(), "the plan fetched a token");
    for text in &seen {
        assert!(!text.contains(canary), "{text}");
        assert!(
            !text.to_ascii_lowercase().contains("authorization"),
            "{text}"
        );
        for token in &tokens {
            assert!(!text.contains(token.as_str()), "{text}");
        }
    }
}
