//! A server that cannot do a kind of write at all (no `PUT`: 501 with an HTML page): each row
//! gets one request and one line naming its file and line, the page shows as its status and
//! title, and the run stops after 20 updates in a row fail the same way, though the creates
//! between them pass.

use orgimport::sandbox::{Organization, SandboxConfig};

use crate::fixture::Fixture;
use crate::ops::{bin_for, run, text};
use crate::util::start_sandbox;

/// Rows that alternate: an organization the tenant has (with another description, so an
/// update), then a new one (a create).
fn alternating(n: usize) -> String {
    let mut csv = String::from("id,name,description\n");
    for i in 0..n {
        csv.push_str(&format!("old-{i:03},old {i:03},changed\n"));
        csv.push_str(&format!("new-{i:03},new {i:03},fresh\n"));
    }
    csv
}

#[tokio::test]
async fn updates_answered_501_are_not_retried_are_named_by_line_and_stop_the_run() {
    let sandbox = start_sandbox(SandboxConfig {
        updates_not_implemented: true,
        ..SandboxConfig::default()
    })
    .await;
    sandbox.sandbox.insert_organizations(
        (0..40).map(|i| Organization::new(format!("old-{i:03}"), format!("old {i:03}"))),
    );
    let fixture = Fixture::new(&alternating(40));
    let dir = fixture.dir.path();

    let args = [
        "import",
        "customers.csv",
        "--on-existing",
        "update",
        "--rate",
        "1000",
        "--concurrency",
        "1",
    ];
    let out = run(bin_for(&sandbox, dir), &args).await;
    let stderr = text(&out.stderr);

    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the last 20 rows all failed with the same error"),
        "{stderr}"
    );
    let stats = sandbox.sandbox.stats();
    // One PUT per row, never retried: 20 updates, then the stop.
    assert_eq!(stats.update_requests, 20, "{stats:?}\n{stderr}");
    // The 19 creates between them; the row after the 20th update, taken by then, is not
    // sent: the stop came before its create left.
    assert_eq!(stats.creates_committed, 19, "{stats:?}");
    assert!(!stderr.contains("retrying"), "{stderr}");
    // One line per failed row, naming the file and the row's line; the page by its title.
    let failed: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(": failed: "))
        .collect();
    assert_eq!(failed.len(), 20, "{stderr}");
    assert!(
        failed[0].starts_with("customers.csv:2: failed: id:old-000 ("),
        "{}",
        failed[0]
    );
    assert!(
        failed[1].starts_with("customers.csv:4: failed: id:old-001 ("),
        "{}",
        failed[1]
    );
    assert!(
        failed[0].contains("HTTP 501 not_implemented: 501 Not Implemented (an HTML page)"),
        "{}",
        failed[0]
    );
    let results = std::fs::read_to_string(fixture.results()).unwrap();
    for text in [&stderr, &results] {
        for markup in ["<html", "<title", "DOCTYPE", "<h1>"] {
            assert!(!text.contains(markup), "{markup} in:\n{text}");
        }
    }
}
