//! A Website column read with `transform = "host"`, over the real binary and a sandbox: a cell
//! with no host makes its row invalid (never an organization with no domains), messages quote
//! the cell as written with its password masked, and international names go as punycode.

use std::collections::HashMap;

use crate::fixture::csv_rows;
use crate::ops::{bin, bin_for, run, text};
use crate::util::start_sandbox;

const MAPPING: &str = "[fields]\nname = \"Account\"\n\
                       domains = { column = \"Website\", transform = \"host\" }\n";

#[tokio::test]
async fn a_website_cell_with_no_host_makes_its_row_invalid_and_hides_its_password() {
    let sandbox = start_sandbox(Default::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let cells = [
        ("relative", "//cdn.example.com/x"),
        ("bare-scheme", "https://"),
        ("port-only", "http://:80/"),
        ("path-only", "https:///path"),
        ("query", "?q=1"),
        ("fragment", "#x"),
        ("userinfo", "https://bob:hunter2@/x"),
        ("spaced", "https://bob:hunter2@exa mple.com/"),
        ("munich", "https://www.münchen.de/"),
    ];
    let mut csv = String::from("Account,Website\n");
    for (name, cell) in cells {
        csv.push_str(&format!("{name},{cell}\n"));
    }
    std::fs::write(dir.path().join("accounts.csv"), csv).unwrap();
    std::fs::write(dir.path().join("crm-mapping.toml"), MAPPING).unwrap();
    let mapping = ["--mapping", "crm-mapping.toml"];

    let out = run(
        bin(dir.path()),
        &[&["validate", "accounts.csv"][..], &mapping].concat(),
    )
    .await;
    let stdout = text(&out.stdout);
    let all = stdout.clone() + &text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{all}");
    for (line, cell) in [
        (3, "https://"),
        (4, "http://:80/"),
        (5, "https:///path"),
        (6, "?q=1"),
        (7, "#x"),
        (8, "https://bob:***@/x"),
    ] {
        assert!(
            all.contains(&format!(
                "accounts.csv:{line}: Website: \"{cell}\" has no host"
            )),
            "line {line}: {all}"
        );
    }
    assert!(
        all.contains("\"exa mple.com\" (the host of \"https://bob:***@exa mple.com/\")"),
        "{all}"
    );
    assert!(!all.contains("hunter2"), "{all}");

    let out = run(
        bin_for(&sandbox, dir.path()),
        &[&["import", "accounts.csv"][..], &mapping].concat(),
    )
    .await;
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("hunter2"), "{stderr}");
    let domains: HashMap<String, Option<Vec<String>>> = sandbox
        .sandbox
        .organizations()
        .into_iter()
        .filter(|o| !o.template)
        .map(|o| (o.name, o.domains))
        .collect();
    // Only the rows with a host are created, each with it.
    let mut created: Vec<&str> = domains.keys().map(String::as_str).collect();
    created.sort();
    assert_eq!(created, ["munich", "relative"], "{stderr}");
    assert_eq!(
        domains["relative"],
        Some(vec!["cdn.example.com".to_string()])
    );
    assert_eq!(
        domains["munich"],
        Some(vec!["xn--mnchen-3ya.de".to_string()])
    );
    let rows = csv_rows(&dir.path().join("accounts.results.csv"));
    assert!(
        // The results file copies the input's cells; its messages do not repeat the password.
        rows.iter().all(|r| !r["error"].contains("hunter2")),
        "{rows:?}"
    );
}
