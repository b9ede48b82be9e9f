//! Requests the run's endpoints refuse, with a message and nothing done: bad run requests and a
//! change with a malformed body.

use super::*;

#[tokio::test]
async fn bad_run_requests_are_refused_with_a_message() {
    let sandbox = sandbox(Duration::ZERO).await;
    let console = console_for(&sandbox, &customers(3), &[]).await;
    for name in ["../customers.csv", "/etc/passwd", ".secret", ""] {
        let reply = console
            .post_json("/api/run/start", &json!({ "file": name }))
            .await;
        refused(reply, StatusCode::BAD_REQUEST).await;
    }
    let missing = console
        .post_json("/api/run/start", &json!({ "file": "nope.csv" }))
        .await;
    refused(missing, StatusCode::FORBIDDEN).await;
    // A link in the working folder to a file outside it is not the folder's.
    let outside = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(outside.path(), customers(3)).unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(outside.path(), console.path("elsewhere.csv")).unwrap();
        let linked = console
            .post_json("/api/run/start", &json!({ "file": "elsewhere.csv" }))
            .await;
        refused(linked, StatusCode::FORBIDDEN).await;
    }
    let mode = console
        .post_json(
            "/api/run/start",
            &json!({ "file": "customers.csv", "on_existing": "merge" }),
        )
        .await;
    refused(mode, StatusCode::BAD_REQUEST).await;
    for path in ["/api/run/pause", "/api/run/resume", "/api/run/stop"] {
        refused(press(&console, path).await, StatusCode::CONFLICT).await;
    }
    // A start from another site's page is refused by the guard, and starts nothing.
    let forged = console
        .client
        .request(Method::POST, format!("{}/api/run/start", console.base))
        .header("cookie", console.cookie.clone().unwrap())
        .header("origin", "http://evil.example")
        .json(&json!({ "file": "customers.csv" }))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(console.get_json("/api/run").await["run"], Value::Null);
    assert_eq!(sandbox.sandbox.stats().create_requests, 0);
}

/// A change whose body is not JSON (`{`, as a typo or a cut request sends it) is refused
/// whatever it asks, and starts nothing: a retry, a verify, a pause.
#[tokio::test]
async fn a_change_with_a_malformed_body_is_refused_and_does_nothing() {
    let sandbox = sandbox(Duration::ZERO).await;
    let mut csv = customers(5);
    csv.push_str(",,No name,,,,,Bo\n"); // an invalid row: something to retry
    let console = console_for(&sandbox, &csv, &[]).await;
    ok_json(start_import(&console).await).await;
    let ended = wait_ended(&console).await;
    let requests = sandbox.sandbox.stats().api_requests;
    for path in [
        "/api/results/retry",
        "/api/results/verify",
        "/api/run/pause",
        "/api/run/start",
    ] {
        for content_type in ["application/json", "text/plain"] {
            let reply = console
                .request(Method::POST, path)
                .header("content-type", content_type)
                .body("{")
                .send()
                .await
                .unwrap();
            let said = refused(reply, StatusCode::BAD_REQUEST).await;
            assert!(said.contains("JSON"), "{path}: {said}");
        }
    }
    assert_eq!(
        sandbox.sandbox.stats().api_requests,
        requests,
        "nothing sent"
    );
    let run = console.get_json("/api/run").await;
    assert_eq!(
        run["run"]["ended"], ended,
        "the run shown is the one that ended"
    );
    // The page's own empty object still goes through.
    ok_json(console.post_json("/api/results/verify", &json!({})).await).await;
}
