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

/// A start naming a file of the working folder the console does not hold (the client
/// secret's file, a CSV put there by someone else, as the file or as the mapping) is refused
/// before the file is read: no reply, run state or page quotes it.
#[tokio::test]
async fn a_run_reads_only_the_files_the_console_holds() {
    let canary = "CANARYsecretZZ9q7";
    let console = super::start().await;
    std::fs::write(console.path("client-secret"), format!("{canary}\n")).unwrap();
    std::fs::write(
        console.path("other.csv"),
        format!("name,{canary}\nacme,{canary}\n"),
    )
    .unwrap();
    std::fs::write(console.path("orgimport-mapping-000000000000.toml"), canary).unwrap();
    let saved = console.upload_and_map("mine.csv", "name\nacme-one\n").await;
    let mapping = saved["mapping"].as_str().unwrap().to_string();

    let mut seen = String::new();
    for asked in [
        json!({ "file": "client-secret" }),
        json!({ "file": "client-secret", "mapping": mapping }),
        json!({ "file": "other.csv" }),
        json!({ "file": "other.csv", "mapping": mapping }),
        json!({ "file": "mine.csv", "mapping": "client-secret" }),
        json!({ "file": "mine.csv", "mapping": "other.csv" }),
        json!({ "file": "mine.csv", "mapping": "orgimport-mapping-000000000000.toml" }),
    ] {
        let reply = console.post_json("/api/run/start", &asked).await;
        let status = reply.status();
        let text = reply.text().await.unwrap();
        assert_eq!(status, reqwest::StatusCode::FORBIDDEN, "{asked}: {text}");
        assert!(text.contains("not a file the console holds"), "{text}");
        seen.push_str(&text);
    }
    for path in ["/", "/api/run", "/part/run", "/part/results"] {
        seen.push_str(&console.get(path).await.text().await.unwrap());
    }
    assert_eq!(
        console.get_json("/api/run").await["run"],
        serde_json::Value::Null
    );
    assert!(
        !seen.contains(canary),
        "a file not uploaded reached the page: {seen}"
    );

    // The upload and the mapping saved for it are the console's: they run.
    let started = console
        .post_json(
            "/api/run/start",
            &json!({ "file": "mine.csv", "mapping": mapping }),
        )
        .await;
    ok_json(started).await;
}
