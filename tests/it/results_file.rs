//! The results file of each format version, read and written back by `verify` and `undo`
//! (the binary, against a sandbox over HTTP): every cell `undo` writes back is checked. A file
//! of an earlier version, which records no tenant, is read only when adopted.

use std::path::Path;

use orgimport::commands::undo::UNDONE;
use orgimport::record::Status;
use orgimport::sandbox::{Organization, SandboxConfig};

use crate::fixture::{Fixture, customers};
use crate::ops::{bin_for, run, text};
use crate::util::start_sandbox;

/// A results file as it is on disk: its header (without the byte-order mark) and its rows,
/// every cell as written (neutralized cells keep their mark).
fn cells(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .unwrap();
    let mut rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    let mut header = rows.remove(0);
    header[0] = header[0].trim_start_matches('\u{feff}').to_string();
    (header, rows)
}

/// Writes `results` at `old` as the version before `changes` wrote it: the same cells
/// without the last two columns (`changes`, `tenant`). (The file is comma-separated, as its
/// input is.)
fn as_version_1(results: &Path, old: &Path) {
    let (header, rows) = cells(results);
    assert_eq!(header[header.len() - 2..], ["changes", "tenant"]);
    let mut writer = csv::Writer::from_path(old).unwrap();
    for row in std::iter::once(&header).chain(&rows) {
        writer.write_record(&row[..row.len() - 2]).unwrap();
    }
    writer.flush().unwrap();
}

/// Imports a file with cells that the results file neutralizes, rewrites the results file
/// to the version before `changes` when `version_1`, runs `undo --yes` on it, and checks
/// every cell written back: the input's as they were, the result cells of each deleted row
/// as `undo` says, every other row as it was.
async fn undo_writes_back_every_cell(version_1: bool) {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    sandbox
        .sandbox
        .insert_organization(Organization::new("pre-existing", "existing-org"));
    let fixture = Fixture::new(
        "id,name,description,owner\n\
         ,formula-co,=1+2,-5\n\
         ,plain-co,plain text,'quoted\n\
         pre-existing,existing-org,@x,+1 555\n\
         ,,no name,=SUM(A1)\n\
         ,child-co,\"a, b\",\"=HYPERLINK(\"\"x\"\")\"\n",
    );
    let summary = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    assert_eq!(summary.count(Status::Created), 3, "{summary}");
    let dir = fixture.dir.path();
    let results = if version_1 {
        let old = dir.join("old.results.csv");
        as_version_1(&fixture.results(), &old);
        old
    } else {
        fixture.results()
    };
    let (header, before) = cells(&results);
    let input_width = 4;
    let result_columns: &[&str] = if version_1 {
        &["status", "org_id", "http_status", "error", "attempts"]
    } else {
        &[
            "status",
            "org_id",
            "http_status",
            "error",
            "attempts",
            "changes",
            "tenant",
        ]
    };
    assert_eq!(header[input_width..], *result_columns);
    // The input's cells that a spreadsheet would run are marked in the file.
    assert_eq!(before[0][2..4], ["'=1+2", "'-5"]);
    assert_eq!(before[1][3], "''quoted");
    assert_eq!(before[2][2..4], ["'@x", "'+1 555"]);

    // A file of an earlier version is this tenant's only when the user says so.
    let mut undo = vec![
        "undo",
        results.file_name().unwrap().to_str().unwrap(),
        "--yes",
    ];
    if version_1 {
        undo.push("--adopt-results");
    }
    let out = run(bin_for(&sandbox, dir), &undo).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let left: Vec<String> = sandbox
        .sandbox
        .organizations()
        .into_iter()
        .filter(|o| !o.template)
        .map(|o| o.id)
        .collect();
    assert_eq!(left, ["pre-existing"]);

    let (header_after, after) = cells(&results);
    assert_eq!(header_after, header, "the file keeps its version");
    assert_eq!(after.len(), before.len());
    let column = |name: &str| input_width + result_columns.iter().position(|c| *c == name).unwrap();
    let mut deleted = 0;
    for (row, (was, is)) in before.iter().zip(&after).enumerate() {
        assert_eq!(is.len(), header.len(), "row {row}: {is:?}");
        assert_eq!(
            is[..input_width],
            was[..input_width],
            "row {row}: input cells"
        );
        if was[column("status")] != "created" {
            assert_eq!(is, was, "row {row} was not created: it stays as it was");
            continue;
        }
        deleted += 1;
        for (i, name) in header.iter().enumerate().skip(input_width) {
            let expected = match name.as_str() {
                "status" => "not_sent",
                "org_id" | "http_status" => "",
                "error" => UNDONE,
                _ => was[i].as_str(),
            };
            assert_eq!(is[i], expected, "row {row}, column {name}: {is:?}");
        }
    }
    assert_eq!(deleted, 3);
    assert_eq!(after[2][column("status")], "exists");
    assert_eq!(after[2][column("org_id")], "pre-existing");

    // The rows undone are sent again by the next import, which reads the file as it is.
    if !version_1 {
        let again = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
        assert_eq!(again.count(Status::Created), 3, "{again}");
    }
}

#[tokio::test]
async fn undo_writes_back_every_cell_of_a_results_file() {
    undo_writes_back_every_cell(false).await;
}

#[tokio::test]
async fn undo_writes_back_every_cell_of_a_results_file_of_the_version_before_changes() {
    undo_writes_back_every_cell(true).await;
}

#[tokio::test]
async fn a_results_file_of_an_earlier_version_is_refused_until_adopted_then_verified_and_undone() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(&customers(4));
    fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    let dir = fixture.dir.path();
    // The same file as an earlier version wrote it: no `changes` nor `tenant` column. It
    // could be a sandbox rehearsal's: nothing says.
    as_version_1(&fixture.results(), &dir.join("old.results.csv"));

    let before = sandbox.sandbox.stats();
    for command in [
        &["verify", "old.results.csv"][..],
        &["undo", "old.results.csv", "--yes"],
    ] {
        let out = run(bin_for(&sandbox, dir), command).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command:?}: {stderr}");
        assert!(stderr.contains("written by an earlier version"), "{stderr}");
        assert!(stderr.contains("--adopt-results"), "{stderr}");
        assert!(
            stderr.contains("tenant demo at http://127.0.0.1:"),
            "{stderr}"
        );
    }
    // An import of the same input, given the old file, is refused too.
    let out = run(
        bin_for(&sandbox, dir),
        &["import", "customers.csv", "--out", "old.results.csv"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let after = sandbox.sandbox.stats();
    assert_eq!(
        (after.token_requests, after.api_requests),
        (before.token_requests, before.api_requests),
        "nothing sent, not even a token request"
    );

    let out = run(
        bin_for(&sandbox, dir),
        &["verify", "old.results.csv", "--adopt-results"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = run(
        bin_for(&sandbox, dir),
        &["undo", "old.results.csv", "--yes", "--adopt-results"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(sandbox.sandbox.stats().creates_committed, 4);
    let token = sandbox.token().await;
    for row in fixture.results_rows() {
        let got = sandbox
            .client
            .get(sandbox.org_url(&row["org_id"]))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(got.status(), 404, "undo deleted {}", row["org_id"]);
    }
}

#[tokio::test]
async fn a_results_file_with_its_columns_moved_is_refused_naming_the_header_and_the_order() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new("name\nalpha\nbeta\n");
    fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    // org_id and http_status swapped in every line, as a spreadsheet's column move does.
    let written = std::fs::read_to_string(fixture.results()).unwrap();
    let swapped: String = written
        .lines()
        .map(|line| {
            let mut cells: Vec<&str> = line.split(',').collect();
            cells.swap(2, 3);
            cells.join(",") + "\n"
        })
        .collect();
    assert!(
        swapped.contains("name,status,http_status,org_id,"),
        "{swapped}"
    );
    std::fs::write(fixture.results(), &swapped).unwrap();

    for command in ["verify", "undo"] {
        let out = run(
            bin_for(&sandbox, fixture.dir.path()),
            &[command, "customers.results.csv", "--yes"][..if command == "undo" { 3 } else { 2 }],
        )
        .await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command}: {stderr}");
        assert!(
            stderr.contains(
                "customers.results.csv: line 1 (the header): the result columns are there but \
                 moved: they are status,http_status,org_id,error,attempts,changes,tenant"
            ),
            "{command}: {stderr}"
        );
    }
    assert_eq!(std::fs::read_to_string(fixture.results()).unwrap(), swapped);
    assert_eq!(sandbox.sandbox.stats().organizations, 2, "nothing undone");
}

#[tokio::test]
async fn a_result_cell_with_spaces_around_it_is_read_trimmed_with_a_warning_naming_it() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new("name\nalpha\nbeta\n");
    fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    let written = std::fs::read_to_string(fixture.results()).unwrap();
    let edited = written.replace("beta,created,", "beta, created ,");
    assert_ne!(edited, written);
    std::fs::write(fixture.results(), &edited).unwrap();

    let out = run(
        bin_for(&sandbox, fixture.dir.path()),
        &["verify", "customers.results.csv"],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(
            "warning: customers.results.csv: line 3: the status cell (column 2) had spaces \
             around it, trimmed off: read as \"created\""
        ),
        "{stderr}"
    );
    // The rerun reads it the same way, and says so too.
    let out = run(
        bin_for(&sandbox, fixture.dir.path()),
        &["import", "customers.csv", "--rate", "1000"],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("line 3: the status cell (column 2) had spaces around it"),
        "{stderr}"
    );
    assert_eq!(sandbox.sandbox.stats().creates_committed, 2, "none twice");
}
