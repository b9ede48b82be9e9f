//! Steps 5 and 6 of the console over HTTP: the run (start under the results file's lock,
//! pause, resume, stop), its event stream, and the results (table, download, retry, verify,
//! undo), against a sandbox of the test's own whose replies can be slowed, with a canary
//! client secret that no reply may carry.

use std::time::{Duration, Instant};

use orgimport::sandbox::{Faults, SandboxConfig};
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::{TestConsole, ok_json, refused, sandbox_settings};
use crate::fixture::{customers, import_with};
use crate::util::{TestSandbox, start_sandbox};

mod refused;

/// The client secret of these tests' sandbox: no reply of the console may hold it.
const CANARY: &str = "canary-secret-5d1e7c0b9a";

/// A sandbox with the canary secret, its replies slowed by `latency`.
pub(super) async fn sandbox(latency: Duration) -> TestSandbox {
    start_sandbox(SandboxConfig {
        client_secret: SecretString::from(CANARY),
        faults: Faults {
            latency,
            ..Faults::default()
        },
        ..SandboxConfig::default()
    })
    .await
}

/// A console importing into `sandbox` (its secret in a file), logged in, with `csv` as
/// `customers.csv` in its working folder.
async fn console_for(sandbox: &TestSandbox, csv: &str, extra: &[&str]) -> TestConsole {
    serve_for(sandbox, csv, extra).await.0
}

/// As [`console_for`], with the task serving it: it ends once the console is dropped and has
/// shut down.
async fn serve_for(
    sandbox: &TestSandbox,
    csv: &str,
    extra: &[&str],
) -> (TestConsole, JoinHandle<Result<(), orgimport::Error>>) {
    let (console, server) = serve_in(sandbox, tempfile::tempdir().unwrap(), extra).await;
    // The customer file, uploaded as the page uploads it: the console runs its own files only.
    ok_json(
        console
            .upload("customers.csv", csv.as_bytes().to_vec())
            .await,
    )
    .await;
    (console, server)
}

/// A console importing into `sandbox`, working in `dir` (a folder an earlier console may
/// have worked in), logged in; with the task serving it.
pub(super) async fn serve_in(
    sandbox: &TestSandbox,
    dir: tempfile::TempDir,
    extra: &[&str],
) -> (TestConsole, JoinHandle<Result<(), orgimport::Error>>) {
    let secret = dir.path().join(".secret");
    std::fs::write(&secret, format!("{}\n", sandbox.secret())).unwrap();
    let settings = sandbox_settings(sandbox, dir.path(), &secret, extra);
    let (mut console, server) = TestConsole::serve(settings, dir).await;
    console.login().await;
    (console, server)
}

/// The start of the import of `customers.csv`.
async fn start_import(console: &TestConsole) -> reqwest::Response {
    console
        .post_json("/api/run/start", &json!({ "file": "customers.csv" }))
        .await
}

/// `POST path` with an empty JSON body, as the page's buttons do.
pub(super) async fn press(console: &TestConsole, path: &str) -> reqwest::Response {
    console.post_json(path, &json!({})).await
}

/// Polls `GET /api/run` (at most 30 s) until `ready` holds of the run.
pub(super) async fn wait_run(console: &TestConsole, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let run = console.get_json("/api/run").await["run"].clone();
        if ready(&run) {
            return run;
        }
        assert!(Instant::now() < deadline, "the run never got there: {run}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the run has ended, and hands back how.
pub(super) async fn wait_ended(console: &TestConsole) -> Value {
    wait_run(console, |run| !run["ended"].is_null()).await["ended"].clone()
}

#[tokio::test]
async fn two_starts_of_the_same_import_get_the_locks_answer_not_two_runs() {
    let sandbox = sandbox(Duration::from_millis(20)).await;
    let console = console_for(&sandbox, &customers(100), &["--concurrency", "2"]).await;

    let first = ok_json(start_import(&console).await).await;
    assert_eq!(first["run"]["file"], "customers.csv");
    let second = refused(start_import(&console).await, StatusCode::CONFLICT).await;
    assert!(
        second.contains("another orgimport run is using this results file"),
        "{second}"
    );

    let ended = wait_ended(&console).await;
    assert_eq!(ended["counts"]["created"], 100, "{ended}");
    assert_eq!(sandbox.sandbox.stats().creates_committed, 100);
    assert!(sandbox.sandbox.commits_by_name().values().all(|&n| n == 1));
}

#[tokio::test]
async fn a_paused_run_sends_no_new_create_until_it_is_resumed_then_finishes() {
    let sandbox = sandbox(Duration::from_millis(20)).await;
    let console = console_for(&sandbox, &customers(200), &["--concurrency", "4"]).await;
    ok_json(start_import(&console).await).await;
    wait_run(&console, |run| run["progress"]["done"].as_u64() >= Some(10)).await;

    let paused = ok_json(press(&console, "/api/run/pause").await).await;
    assert_eq!(paused["run"]["progress"]["paused"], true);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let at_pause = sandbox.sandbox.stats().creates_committed;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        sandbox.sandbox.stats().creates_committed,
        at_pause,
        "a create was sent while paused"
    );
    assert!(at_pause < 200, "the run ended before the pause");

    // The page opened again (another tab, a reload) shows the run as it stands.
    let page = console.get("/").await.text().await.unwrap();
    assert!(page.contains("data-run="), "{page}");
    assert!(page.contains("&quot;paused&quot;:true"), "{page}");

    ok_json(press(&console, "/api/run/resume").await).await;
    let ended = wait_ended(&console).await;
    assert_eq!(ended["counts"]["created"], 200, "{ended}");
    assert_eq!(ended["exit_code"], 0, "{ended}");
    assert_eq!(sandbox.sandbox.stats().creates_committed, 200);
    assert!(sandbox.sandbox.commits_by_name().values().all(|&n| n == 1));
}

#[tokio::test]
async fn a_stopped_run_leaves_a_results_file_orgimport_import_finishes() {
    let sandbox = sandbox(Duration::from_millis(20)).await;
    let csv = customers(200);
    let console = console_for(&sandbox, &csv, &["--concurrency", "4"]).await;
    ok_json(start_import(&console).await).await;
    wait_run(&console, |run| run["progress"]["done"].as_u64() >= Some(10)).await;
    ok_json(press(&console, "/api/run/pause").await).await;

    // Stopped while paused: answered once the results are written.
    let stopped = ok_json(press(&console, "/api/run/stop").await).await;
    let ended = &stopped["run"]["ended"];
    assert_eq!(ended["interrupted"], true, "{stopped}");
    let created = ended["counts"]["created"].as_u64().unwrap();
    assert!((10..200).contains(&created), "{stopped}");
    assert_eq!(ended["counts"]["not_sent"].as_u64(), Some(200 - created));
    let results = console.path("customers.results.csv");
    assert!(results.exists());
    assert!(!orgimport::record::journal_path(&results).exists());
    refused(
        press(&console, "/api/run/pause").await,
        StatusCode::CONFLICT,
    )
    .await;

    // The CLI finishes it, from the same results file, creating nothing twice.
    let secret = console.path("cli-secret");
    std::fs::write(&secret, sandbox.secret()).unwrap();
    let input = console.path("customers.csv");
    let mut args = super::cli_import_args(&sandbox, &input, &secret);
    args.push("--quiet".to_string());
    let summary = import_with(args).await.unwrap();
    assert_eq!(summary.done_before as u64, created, "{summary}");
    assert_eq!(summary.results, results);
    assert_eq!(sandbox.sandbox.stats().creates_committed, 200);
    assert!(sandbox.sandbox.commits_by_name().values().all(|&n| n == 1));
}

#[tokio::test]
async fn the_event_stream_carries_the_progress_to_the_end_and_no_reply_holds_the_secret() {
    let sandbox = sandbox(Duration::from_millis(5)).await;
    let console = console_for(&sandbox, &customers(150), &["--concurrency", "4"]).await;
    refused(console.get("/api/run/events").await, StatusCode::CONFLICT).await;
    let mut seen = String::new();
    let started = ok_json(start_import(&console).await).await;
    seen.push_str(&started.to_string());

    let mut stream = console.get("/api/run/events").await;
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let mut events = String::new();
    let read = async {
        while let Some(chunk) = stream.chunk().await.unwrap() {
            events.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    tokio::time::timeout(Duration::from_secs(30), read)
        .await
        .expect("the stream ends with the run");

    let data: Vec<Value> = events
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let kinds: Vec<&str> = events
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(kinds.last(), Some(&"ended"), "{events}");
    assert!(
        kinds.iter().filter(|k| **k == "progress").count() >= 2,
        "{events}"
    );
    let last = data.last().unwrap();
    assert_eq!(last["progress"]["done"], 150, "{last}");
    assert_eq!(last["progress"]["total"], 150, "{last}");
    assert_eq!(last["ended"]["counts"]["created"], 150, "{last}");
    assert!(
        data.iter()
            .any(|d| d["done"].as_u64().is_some_and(|n| n > 0 && n < 150)),
        "the progress came as the rows went: {events}"
    );
    seen.push_str(&events);

    // Every reply the page gets, the results file downloaded included.
    for path in [
        "/",
        "/part/run",
        "/part/results",
        "/api/run",
        "/api/results",
        "/api/results/undo",
        "/api/results/download",
        "/assets/run.js",
    ] {
        let reply = console.get(path).await;
        assert_eq!(reply.status(), StatusCode::OK, "{path}");
        seen.push_str(&format!("{:?}", reply.headers()));
        seen.push_str(&reply.text().await.unwrap());
    }
    seen.push_str(
        &ok_json(press(&console, "/api/results/verify").await)
            .await
            .to_string(),
    );
    assert!(!seen.contains(CANARY), "the client secret reached the page");
    assert!(!seen.contains(&sandbox.secret()));
}

#[tokio::test]
async fn the_results_are_paged_filtered_downloaded_retried_verified_and_undone() {
    let sandbox = sandbox(Duration::ZERO).await;
    let mut csv = customers(60);
    csv.push_str(",,No name,,,,,Bo\n"); // line 62: invalid
    let console = console_for(&sandbox, &csv, &[]).await;
    refused(console.get("/api/results").await, StatusCode::CONFLICT).await;
    ok_json(start_import(&console).await).await;
    let ended = wait_ended(&console).await;
    assert_eq!(ended["counts"]["created"], 60, "{ended}");
    assert_eq!(ended["exit_code"], 1, "an invalid row: {ended}");

    let page = console.get_json("/api/results?size=25&page=2").await;
    assert_eq!(page["total"], 61);
    assert_eq!(page["rows"].as_array().unwrap().len(), 11);
    assert_eq!(page["rows"][0]["line"], 52);
    assert_eq!(page["counts"]["created"], 60);
    let invalid = console.get_json("/api/results?status=invalid").await;
    assert_eq!(invalid["total"], 1, "{invalid}");
    assert_eq!(invalid["rows"][0]["line"], 62);
    let reason = invalid["rows"][0]["error"].as_str().unwrap();
    assert!(reason.contains("name: is empty"), "{reason}");
    refused(
        console.get("/api/results?status=gone").await,
        StatusCode::BAD_REQUEST,
    )
    .await;

    let download = console.get("/api/results/download").await;
    assert_eq!(download.status(), StatusCode::OK);
    let disposition = download.headers()["content-disposition"].to_str().unwrap();
    assert!(
        disposition.contains("customers.results.csv"),
        "{disposition}"
    );
    let on_disk = std::fs::read(console.path("customers.results.csv")).unwrap();
    assert_eq!(download.bytes().await.unwrap().to_vec(), on_disk);

    // A retry is a rerun: nothing done is sent again.
    let before = sandbox.sandbox.stats().create_requests;
    ok_json(press(&console, "/api/results/retry").await).await;
    let again = wait_ended(&console).await;
    assert_eq!(again["counts"]["created"], 60, "{again}");
    assert_eq!(sandbox.sandbox.stats().create_requests, before);
    let created = console.get_json("/api/results?status=created").await;
    assert_eq!(created["total"], 60, "{created}");

    let verified = ok_json(press(&console, "/api/results/verify").await).await;
    assert_eq!(verified["checked"], 60, "{verified}");
    assert_eq!(verified["bad_rows"], 0, "{verified}");

    let question = console.get_json("/api/results/undo").await;
    assert_eq!(question["organizations"], 60);
    assert!(
        question["question"]
            .as_str()
            .unwrap()
            .contains("Delete the 60 organizations"),
        "{question}"
    );
    let wrong = console
        .post_json("/api/results/undo", &json!({ "organizations": 59 }))
        .await;
    refused(wrong, StatusCode::CONFLICT).await;
    assert_eq!(
        sandbox.sandbox.organizations().len(),
        61,
        "nothing deleted yet"
    );
    let undone = console
        .post_json("/api/results/undo", &json!({ "organizations": 60 }))
        .await;
    let undone = ok_json(undone).await;
    assert_eq!(undone["deleted"], 60, "{undone}");
    assert_eq!(
        sandbox.sandbox.organizations().len(),
        1,
        "only the template is left"
    );
    // The table reads the rewritten results file: the rows are to be created again.
    let after = console.get_json("/api/results?status=not_sent").await;
    assert_eq!(after["total"], 60, "{after}");
    assert_eq!(after["counts"].get("created"), None, "{after}");
}

#[tokio::test]
async fn a_rehearsal_on_the_consoles_own_sandbox_is_retried_from_its_results_file() {
    let console = super::start().await;
    let mut csv = customers(20);
    csv.push_str(",,No name,,,,,Bo\n");
    ok_json(console.upload("customers.csv", csv.into_bytes()).await).await;
    ok_json(start_import(&console).await).await;
    let first = wait_ended(&console).await;
    assert_eq!(first["counts"]["created"], 20, "{first}");
    assert!(console.path("customers.sandbox.results.csv").exists());

    // The rerun reads the rehearsal's results file as its own: nothing is created again.
    ok_json(press(&console, "/api/results/retry").await).await;
    let again = wait_ended(&console).await;
    assert_eq!(again["error"], Value::Null, "{again}");
    assert_eq!(again["counts"]["created"], 20, "{again}");
    assert_eq!(again["counts"]["invalid"], 1, "{again}");
}

#[tokio::test]
async fn a_start_naming_nothing_imports_what_the_earlier_steps_settled() {
    let console = super::start().await;
    refused(
        console.post_json("/api/run/start", &json!({})).await,
        StatusCode::CONFLICT,
    )
    .await;
    // A CRM export (its headers mapped by step 2) with a bad email (fixed in step 3).
    let csv = "Account Name,Website,Email\nAcme GmbH,acme.example,ops at acme\nGlobex,globex.example,it@globex.example\n";
    let saved = console.upload_and_map("crm.csv", csv).await;
    assert!(
        saved["mapping"].as_str().is_some_and(|m| !m.is_empty()),
        "{saved}"
    );
    let fixed = console
        .post_json(
            "/api/review/cell",
            &json!({"index": 0, "column": 2, "value": "ops@acme.example"}),
        )
        .await;
    assert_eq!(ok_json(fixed).await["file"], "crm.corrected.csv");
    let page = console.get("/part/run").await.text().await.unwrap();
    assert!(
        page.contains("Imports crm.corrected.csv with the columns of"),
        "{page}"
    );

    let started = ok_json(console.post_json("/api/run/start", &json!({})).await).await;
    assert_eq!(started["run"]["file"], "crm.corrected.csv", "{started}");
    let ended = wait_ended(&console).await;
    assert_eq!(ended["counts"]["created"], 2, "{ended}");
    let rows = console.get_json("/api/results").await;
    assert_eq!(rows["rows"][0]["name"], "Acme GmbH", "{rows}");

    // Step 4's choice for existing organizations is the run's: `fail` fails both now.
    let chosen = console
        .post_json("/api/plan/on-existing", &json!({"on_existing": "fail"}))
        .await;
    ok_json(chosen).await;
    std::fs::remove_file(console.path("crm.corrected.sandbox.results.csv")).unwrap();
    ok_json(console.post_json("/api/run/start", &json!({})).await).await;
    let again = wait_ended(&console).await;
    assert_eq!(again["counts"]["failed"], 2, "{again}");
}

#[tokio::test]
async fn the_console_shutting_down_stops_its_run_and_writes_the_results_first() {
    let sandbox = sandbox(Duration::from_millis(20)).await;
    let (console, server) = serve_for(&sandbox, &customers(3000), &["--concurrency", "4"]).await;
    ok_json(start_import(&console).await).await;
    wait_run(&console, |run| run["progress"]["done"].as_u64() >= Some(10)).await;
    // A tab watching the run keeps an event stream open.
    let stream = console.get("/api/run/events").await;
    assert_eq!(stream.status(), StatusCode::OK);

    let TestConsole { dir, _shutdown, .. } = console;
    drop(_shutdown); // Ctrl-C on the console
    let served = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the console stops, a run in progress and a tab watching it");
    served.unwrap().unwrap();

    let results = dir.path().join("customers.results.csv");
    assert!(
        results.exists(),
        "the results are written before the console ends"
    );
    assert!(!orgimport::record::journal_path(&results).exists());
    let rows = crate::fixture::csv_rows(&results);
    assert_eq!(rows.len(), 3000);
    let created = rows.iter().filter(|r| r["status"] == "created").count() as u64;
    assert_eq!(created, sandbox.sandbox.stats().creates_committed);
    assert!(rows.iter().any(|r| r["status"] == "not_sent"));
    drop(stream);
}
