//! Workbooks as a spreadsheet program saves them (`tests/fixtures/sheets`, written by
//! openpyxl, xlsxwriter and msoffcrypto-tool with `make.py` there): the first visible sheet
//! is the default and a hidden one is read only when named; title rows above the header are
//! passed with `--header-row` (in a CSV file too), the same on a rerun; a password, an empty
//! or a chart first sheet are refused naming the cause and the fix; and the formulas of a
//! workbook that asks to be recalculated when opened (as xlsxwriter saves every file) make
//! their rows invalid.
use std::path::{Path, PathBuf};

use orgimport::input::{Dialect, Source};
use orgimport::record::Status;
use orgimport::sandbox::SandboxConfig;

use crate::fixture::{Fixture, csv_rows, import_with};
use crate::util::{TestSandbox, start_sandbox};

/// The workbook `name` of `tests/fixtures/sheets`, copied into the fixture's directory.
fn book(fixture: &Fixture, name: &str) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sheets")
        .join(name);
    let to = fixture.dir.path().join(name);
    std::fs::copy(&from, &to).unwrap();
    to
}

/// The import command line for `input` against `sandbox`, with `extra` flags.
fn args(fixture: &Fixture, sandbox: &TestSandbox, input: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = fixture.args(sandbox, &sandbox.secret(), extra);
    args[2] = input.to_str().unwrap().to_string();
    args
}

/// The names of the organizations in the sandbox (not the template), sorted.
fn names(sandbox: &TestSandbox) -> Vec<String> {
    let mut names: Vec<String> = sandbox
        .sandbox
        .organizations()
        .into_iter()
        .filter(|o| !o.template)
        .map(|o| o.name)
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_hidden_first_sheet_is_not_the_default_and_is_read_only_when_named() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new("");
    let input = book(&fixture, "hidden_first.xlsx");

    let source = Source::settle(&input, &Dialect::default()).unwrap();
    let note = source.note().unwrap_or_default();
    assert!(
        note.contains("reading sheet \"Customers\"")
            && note.contains("hidden sheet not read: \"Archive\"")
            && note.contains("--sheet"),
        "{note}"
    );
    let summary = import_with(args(&fixture, &sandbox, &input, &[]))
        .await
        .unwrap();
    assert_eq!(summary.count(Status::Created), 2, "{summary}");
    assert_eq!(names(&sandbox), ["alpha-gmbh", "beta-sa"]);

    // Named, the hidden sheet is read.
    let out = fixture.dir.path().join("archive.results.csv");
    let extra = ["--sheet", "Archive", "--out", out.to_str().unwrap()];
    let summary = import_with(args(&fixture, &sandbox, &input, &extra))
        .await
        .unwrap();
    assert_eq!(summary.count(Status::Created), 1, "{summary}");
    assert_eq!(names(&sandbox), ["alpha-gmbh", "beta-sa", "old-archived-1"]);
}

#[tokio::test]
async fn title_rows_above_the_header_are_passed_with_header_row_on_every_run() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new("");
    let input = book(&fixture, "title_rows.xlsx");

    // Without the flag, the title is taken for the header: refused, naming the flag.
    let error = import_with(args(&fixture, &sandbox, &input, &[]))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("sheet \"Export\", row 1 (header)") && error.contains("--header-row"),
        "{error}"
    );
    assert_eq!(sandbox.sandbox.stats().api_requests, 0, "nothing was sent");

    let flag = ["--header-row", "4"];
    let summary = import_with(args(&fixture, &sandbox, &input, &flag))
        .await
        .unwrap();
    assert_eq!(summary.count(Status::Created), 2, "{summary}");
    assert_eq!(names(&sandbox), ["alpha-gmbh", "beta-sa"]);
    let results = fixture.dir.path().join("title_rows.results.csv");
    let rows = csv_rows(&results);
    assert_eq!(rows.len(), 2, "the title rows are not rows: {rows:?}");
    assert_eq!(rows[0]["name"], "alpha-gmbh");
    // The rerun, with the same header row, finds every row done.
    let summary = import_with(args(&fixture, &sandbox, &input, &flag))
        .await
        .unwrap();
    assert_eq!((summary.done_before, summary.sent), (2, 0), "{summary}");

    // A CSV file: two title lines (one with commas) and a blank line above a `;` header;
    // the delimiter is found from the header, and lines are the file's.
    let csv = fixture.dir.path().join("export.csv");
    std::fs::write(
        &csv,
        "Customer export, all regions\r\nMade 2024-03-01\r\n\r\nname;color\r\n\
         gamma-kg;#1A73E8\r\ndelta-sa;#12345G\r\n",
    )
    .unwrap();
    let flag = ["--header-row", "4"];
    let summary = import_with(args(&fixture, &sandbox, &csv, &flag))
        .await
        .unwrap();
    assert_eq!(
        (
            summary.count(Status::Created),
            summary.count(Status::Invalid)
        ),
        (1, 1),
        "{summary}"
    );
    let results = std::fs::read_to_string(fixture.dir.path().join("export.results.csv")).unwrap();
    let lines: Vec<&str> = results.lines().collect();
    assert_eq!(lines.len(), 3, "the header and its rows: {results}");
    assert!(
        lines[0].starts_with("\u{feff}name;color;status;"),
        "{results}"
    );
    assert!(
        lines[1].starts_with("gamma-kg;#1A73E8;created;"),
        "{results}"
    );
    assert!(
        lines[2].starts_with("delta-sa;#12345G;invalid;;;\"line 6: color"),
        "{results}"
    );
    let summary = import_with(args(&fixture, &sandbox, &csv, &flag))
        .await
        .unwrap();
    assert_eq!((summary.done_before, summary.sent), (1, 0), "{summary}");
}

#[test]
fn a_password_an_empty_or_a_chart_first_sheet_is_refused_naming_the_cause_and_the_fix() {
    let fixture = Fixture::new("");
    let error = |name: &str| {
        Source::settle(&book(&fixture, name), &Dialect::default())
            .map(|_| ())
            .unwrap_err()
            .to_string()
    };
    let password = error("password.xlsx");
    assert!(
        password.contains("protected by a password")
            && password.contains("remove the password")
            && password.contains("save an unprotected copy"),
        "{password}"
    );
    let empty = error("empty_first.xlsx");
    assert!(
        empty.contains("sheet \"Cover\" is empty")
            && empty.contains("\"Cover\" (empty), \"Customers\" (has data)")
            && empty.contains("--sheet \"Customers\""),
        "{empty}"
    );
    let chart = error("chart_first.xlsx");
    assert!(
        chart.contains("sheet \"Chart\" is a chart")
            && chart.contains("\"Chart\" (a chart), \"Empty\" (empty), \"Data\" (has data)")
            && chart.contains("--sheet \"Data\""),
        "{chart}"
    );
}

#[tokio::test]
async fn formulas_of_a_workbook_recalculated_when_opened_make_their_rows_invalid() {
    // xlsxwriter saves 0 as every formula's value and asks for recalculation on opening.
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new("");
    let input = book(&fixture, "xlsxwriter_formulas.xlsx");
    let summary = import_with(args(&fixture, &sandbox, &input, &[]))
        .await
        .unwrap();
    assert_eq!(
        (
            summary.count(Status::Created),
            summary.count(Status::Invalid)
        ),
        (1, 3),
        "{summary}"
    );
    assert_eq!(names(&sandbox), ["plain-gmbh"]);
    let rows = csv_rows(&fixture.dir.path().join("xlsxwriter_formulas.results.csv"));
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(rows[0]["status"], "created", "{rows:?}");
    for (row, (name, formula)) in rows[1..].iter().zip([
        ("sum-sa", "1+1"),
        ("text-ag", "\"abc\""),
        ("array-bv", "SUM(1,2)"),
    ]) {
        let sheet_row = rows.iter().position(|r| r["name"] == name).unwrap() + 2;
        let error = &row["error"];
        assert_eq!(
            (row["name"].as_str(), row["status"].as_str()),
            (name, "invalid")
        );
        assert!(
            error.contains(&format!(
                "sheet \"Customers\", row {sheet_row}: column B (description) holds the \
                 formula ={formula}, "
            )) && error.contains("recalculated when opened")
                && error.contains("open and save the file in Excel or LibreOffice"),
            "{error}"
        );
    }
}
