//! The same upload after the console is stopped and started again: its corrected copy is
//! taken up again when, and only when, it was made from these very bytes, and the run
//! resumes from the copy's results file.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::run::{press, sandbox, serve_in, wait_ended, wait_run};
use super::{TestConsole, ok_json, refused};
use crate::fixture::customers;

#[tokio::test]
async fn the_same_upload_after_a_restart_resumes_from_its_corrected_copy() {
    let sandbox = sandbox(Duration::from_millis(20)).await;
    let csv = customers(300).replace("admin@customer2.example.com", "admin at customer2");
    let (console, server) = serve_in(
        &sandbox,
        tempfile::tempdir().unwrap(),
        &["--concurrency", "2"],
    )
    .await;
    console.upload_and_map("customers.csv", &csv).await;
    let fixed = console
        .post_json(
            "/api/review/cell",
            &json!({"index": 2, "column": 3, "value": "admin@customer2.example.com"}),
        )
        .await;
    assert_eq!(ok_json(fixed).await["invalid"], 0);
    let started = ok_json(console.post_json("/api/run/start", &json!({})).await).await;
    assert_eq!(
        started["run"]["file"], "customers.corrected.csv",
        "{started}"
    );
    wait_run(&console, |run| run["progress"]["done"].as_u64() >= Some(20)).await;
    let stopped = ok_json(press(&console, "/api/run/stop").await).await;
    let before = stopped["run"]["ended"]["counts"]["created"]
        .as_u64()
        .unwrap();
    assert!((20..300).contains(&before), "{stopped}");

    // Ctrl-C on the console; a new one on the same folder; the same file uploaded again.
    let TestConsole { dir, _shutdown, .. } = console;
    drop(_shutdown);
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let (console, _server) = serve_in(&sandbox, dir, &["--concurrency", "2"]).await;
    let facts = ok_json(
        console
            .upload("customers.csv", csv.clone().into_bytes())
            .await,
    )
    .await;
    assert_eq!(facts["file"], "customers.csv", "{facts}");
    assert_eq!(facts["corrected"], "customers.corrected.csv", "{facts}");
    assert_eq!(facts["corrected_cells"], 1, "{facts}");
    let part = console.get("/part/file").await.text().await.unwrap();
    assert!(
        part.contains("Your corrections from before are kept: 1 cell"),
        "{part}"
    );
    let page = console.get("/part/run").await.text().await.unwrap();
    assert!(page.contains("Imports customers.corrected.csv"), "{page}");
    let review = console.get_json("/api/review").await;
    assert_eq!(review["invalid"], 0, "the cell stays corrected: {review}");

    let again = ok_json(console.post_json("/api/run/start", &json!({})).await).await;
    assert_eq!(again["run"]["file"], "customers.corrected.csv", "{again}");
    let ended = wait_ended(&console).await;
    assert_eq!(ended["counts"]["created"], 300, "{ended}");
    assert_eq!(ended["counts"].get("exists"), None, "{ended}");
    assert!(!console.path("customers.results.csv").exists());
    let rows = crate::fixture::csv_rows(&console.path("customers.corrected.results.csv"));
    assert_eq!(rows.len(), 300);
    assert!(rows.iter().all(|r| r["status"] == "created"));
    assert_eq!(sandbox.sandbox.stats().creates_committed, 300);
    assert!(sandbox.sandbox.commits_by_name().values().all(|&n| n == 1));
    // The row sent is the corrected one (the sandbox keeps no email: the results file does).
    let row = rows.iter().find(|r| r["name"] == "customer-00002").unwrap();
    assert_eq!(row["email"], "admin@customer2.example.com", "{row:?}");
}

#[tokio::test]
async fn a_corrected_copy_not_made_from_this_upload_is_neither_used_nor_replaced() {
    let console = super::start().await;
    let csv = "name,email\nacme,ops at acme\n";
    // Made from other bytes (an earlier file of the same name), and a file of the user's.
    console
        .upload_and_map("a.csv", "name,email\nacme,x at y\n")
        .await;
    let fixed = json!({"index": 0, "column": 1, "value": "ops@acme.example"});
    ok_json(console.post_json("/api/review/cell", &fixed).await).await;
    std::fs::remove_file(console.path("a.csv")).unwrap();
    let mine = "name,email\nmine,me@mine.example\n";
    std::fs::write(console.path("b.corrected.csv"), mine).unwrap();
    for name in ["a.csv", "b.csv"] {
        console.upload_and_map(name, csv).await;
        let facts = console.get_json("/api/file").await;
        assert_eq!(facts["file"], name);
        assert_eq!(facts["corrected"], Value::Null, "{facts}");
        let refusal = refused(
            console.post_json("/api/review/cell", &fixed).await,
            StatusCode::CONFLICT,
        )
        .await;
        assert!(refusal.contains("move it away"), "{refusal}");
    }
    assert_eq!(
        std::fs::read_to_string(console.path("b.corrected.csv")).unwrap(),
        mine
    );
}
