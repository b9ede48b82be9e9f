//! Step 3, the review: `validate`'s problems per cell, paged and filtered on the server,
//! edited into a corrected copy the CLI reads, downloaded, and the hierarchy.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{TestConsole, ok_json, refused, start};

/// A file with a problem of each kind a review shows, and a hierarchy.
const CSV: &str = "\
id,name,email,parent
acme,Acme,ceo@acme.test,
sub,Acme Sub,not-an-email,acme
,Orphan,,nowhere
loop-a,Loop A,,loop-b
loop-b,Loop B,,loop-a
acme,Acme Again,,
,Fine,fine@x.test,sub
";

/// `orgimport validate FILE --json` with the console's mapping.
fn validate_json(console: &TestConsole, file: &str) -> Value {
    let mapping = std::fs::read_dir(console.dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "toml"))
        .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_orgimport"))
        .args(["validate", "--json", "--mapping"])
        .arg(mapping)
        .arg(console.path(file))
        .env_clear()
        .output()
        .unwrap();
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test]
async fn every_problem_validate_finds_is_on_its_cell() {
    let console = start().await;
    console.upload_and_map("c.csv", CSV).await;
    let review = console.get_json("/api/review").await;
    let cli = validate_json(&console, "c.csv");
    assert_eq!(review["rows"], cli["rows"]);
    assert_eq!(review["invalid"], cli["invalid"]);
    assert_eq!(review["by_kind"], cli["problems_by_kind"]);
    let problems: usize = review["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["problems"].as_array().unwrap().len())
        .sum();
    assert_eq!(
        problems,
        cli["problems"].as_array().unwrap().len(),
        "{review}"
    );
    let sub = review["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["line"] == 3)
        .unwrap();
    assert_eq!(sub["problems"][0]["kind"], "bad email");
    assert_eq!(sub["problems"][0]["cell"], 2);
    assert_eq!(
        sub["cells"],
        json!(["sub", "Acme Sub", "not-an-email", "acme"])
    );
    let part = console.get("/part/review").await.text().await.unwrap();
    assert!(part.contains(r#"aria-label="line 3 email""#), "{part}");
    assert!(part.contains(r#"role="status""#), "{part}");
    assert!(
        part.contains(r#"<label for="problem-kind">Problem kind</label>"#),
        "{part}"
    );
}

#[tokio::test]
async fn a_fixed_cell_is_checked_again_and_the_cli_reads_the_corrected_copy() {
    let console = start().await;
    console.upload_and_map("c.csv", CSV).await;
    let before = console.get_json("/api/review").await;
    let after = ok_json(
        console
            .post_json(
                "/api/review/cell",
                &json!({"index": 1, "column": 2, "value": "ops@acme.test"}),
            )
            .await,
    )
    .await;
    assert_eq!(after["row"], Value::Null, "{after}");
    // The row, and its child, invalid for its parent's sake only.
    assert_eq!(
        after["invalid"].as_u64().unwrap(),
        before["invalid"].as_u64().unwrap() - 2
    );
    assert_eq!(after["file"], "c.corrected.csv");
    // Still wrong: the row stays, with the new value and the new message.
    let still = ok_json(
        console
            .post_json(
                "/api/review/cell",
                &json!({"index": 2, "column": 3, "value": "elsewhere"}),
            )
            .await,
    )
    .await;
    assert_eq!(still["row"]["cells"][3], "elsewhere", "{still}");
    assert!(
        still["row"]["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("elsewhere"),
        "{still}"
    );
    // The corrected copy is what the CLI imports: the same findings, the original untouched.
    let cli = validate_json(&console, "c.corrected.csv");
    assert_eq!(cli["invalid"], still["invalid"]);
    assert_eq!(std::fs::read_to_string(console.path("c.csv")).unwrap(), CSV);
    let copy = std::fs::read_to_string(console.path("c.corrected.csv")).unwrap();
    assert!(copy.contains("sub,Acme Sub,ops@acme.test,acme"), "{copy}");
    // A formula typed in is kept as text, as orgimport's files keep it.
    ok_json(
        console
            .post_json(
                "/api/review/cell",
                &json!({"index": 5, "column": 1, "value": "=HYPERLINK(\"x\")"}),
            )
            .await,
    )
    .await;
    let copy = std::fs::read_to_string(console.path("c.corrected.csv")).unwrap();
    assert!(copy.contains("'=HYPERLINK"), "{copy}");
    for bad in [
        json!({"index": 99, "column": 1, "value": "x"}),
        json!({"index": 1, "column": 99, "value": "x"}),
        json!({"index": 1, "column": 1, "value": "a\u{0}b"}),
    ] {
        refused(
            console.post_json("/api/review/cell", &bad).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
}

#[tokio::test]
async fn problems_are_paged_and_filtered_on_the_server() {
    let console = start().await;
    let mut csv = String::from("name,email\n");
    for i in 0..3000 {
        match i % 25 {
            0 => csv.push_str(&format!("Org {i},bad-{i}\n")),
            1 => csv.push_str(&format!("Org {i},#{i}@@x\n")),
            _ => csv.push_str(&format!("Org {i},o{i}@x.test\n")),
        }
    }
    csv.push_str(&"x".repeat(300));
    csv.push_str(",\n");
    console.upload_and_map("big.csv", &csv).await;
    let first = console.get_json("/api/review?per_page=50").await;
    assert_eq!(first["rows"], 3001);
    assert_eq!(first["invalid"], 241);
    assert_eq!(first["items"].as_array().unwrap().len(), 50);
    assert_eq!(first["pages"], 5);
    let last = console.get_json("/api/review?per_page=50&page=5").await;
    assert_eq!(last["items"].as_array().unwrap().len(), 41);
    assert_eq!(last["items"][40]["line"], 3002);
    let long = console
        .get_json("/api/review?kind=value%20too%20long")
        .await;
    assert_eq!(long["matching"], 1);
    assert_eq!(long["items"][0]["problems"][0]["kind"], "value too long");
    let page = console.get("/part/review?page=2&kind=bad%20email").await;
    let page = page.text().await.unwrap();
    assert!(page.contains("Page 2 of 5"), "{page}");
    // The problem rows as CSV: every one, its line and problems first.
    let reply = console.get("/api/review/problems.csv").await;
    assert!(
        reply.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("big.problems.csv")
    );
    let text = reply.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap(),
        vec!["line", "problems", "name", "email"]
    );
    assert_eq!(reader.records().count(), 241);
}

#[tokio::test]
async fn the_tree_marks_cycles_and_missing_parents() {
    let console = start().await;
    console.upload_and_map("c.csv", CSV).await;
    let tree = console.get_json("/api/review/tree").await;
    let roots = tree["roots"].as_array().unwrap();
    assert_eq!(roots.len(), 1, "{tree}");
    assert_eq!(roots[0]["name"], "Acme");
    // Valid rows have their line too.
    assert_eq!(roots[0]["line"], 2);
    assert_eq!(roots[0]["children"][0]["children"][0]["line"], 8);
    assert_eq!(roots[0]["children"][0]["name"], "Acme Sub");
    assert_eq!(roots[0]["children"][0]["children"][0]["name"], "Fine");
    let marked: Vec<(String, String)> = tree["marked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["name"].as_str().unwrap().into(),
                n["mark"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        marked.contains(&("Orphan".into(), "missing parent".into())),
        "{marked:?}"
    );
    assert!(
        marked.contains(&("Loop A".into(), "cycle".into())),
        "{marked:?}"
    );
    let part = console.get("/part/review").await.text().await.unwrap();
    assert!(part.contains("missing parent"), "{part}");
}

#[tokio::test]
async fn a_review_before_the_columns_says_so() {
    let console = start().await;
    refused(console.get("/api/review").await, StatusCode::CONFLICT).await;
    ok_json(console.upload("c.csv", CSV.into()).await).await;
    refused(console.get("/api/review").await, StatusCode::CONFLICT).await;
    refused(
        console
            .post_json(
                "/api/review/cell",
                &json!({"index": 0, "column": 0, "value": "x"}),
            )
            .await,
        StatusCode::CONFLICT,
    )
    .await;
}
