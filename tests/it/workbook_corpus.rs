//! The workbook corpus (tests/fixtures/workbooks, made by its `make.py`): the same customers
//! saved by LibreOffice (xlsx, xls, ods), openpyxl, xlsxwriter, xlwt and odfpy, each imported
//! into a sandbox over HTTP and compared, cell by cell, with what LibreOffice shows of the file
//! (its own CSV export, beside each file). Dates, times, durations, 16-digit whole numbers,
//! fractions, percentages, booleans, text with tabs and line breaks, and formulas with and
//! without a saved value; a formula saved with no value makes its row invalid, and so does
//! every formula of a file that asks to be recalculated when opened.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use orgimport::record::Status;
use orgimport::sandbox::SandboxConfig;
use serde_json::Value;

use crate::fixture::{Fixture, csv_rows, import_with};
use crate::util::{TestSandbox, start_sandbox};

/// The corpus: each file and the program that saved it.
const FILES: [(&str, &str); 7] = [
    ("libreoffice.xlsx", "LibreOffice 7.4"),
    ("libreoffice.xls", "LibreOffice 7.4"),
    ("libreoffice.ods", "LibreOffice 7.4"),
    ("openpyxl.xlsx", "openpyxl 3.1"),
    ("xlsxwriter.xlsx", "XlsxWriter 3.3"),
    ("xlwt.xls", "xlwt 1.3"),
    ("odfpy.ods", "odfpy 1.4"),
];

/// The files that ask to be recalculated when opened (`<calcPr fullCalcOnLoad="1"/>`, as
/// xlsxwriter and openpyxl save every file): a formula's saved value there is not used, and
/// the row of the formula saved with its value is refused too (openpyxl saves no value).
const RECALCULATED: [&str; 2] = ["xlsxwriter.xlsx", "openpyxl.xlsx"];

/// Cells where what LibreOffice shows is not what the import gives, and why: (file, row
/// name, column) and the value expected instead.
const DIFFERENCES: [(&str, &str, &str, &str); 9] = [
    // The file holds a boolean, which LibreOffice shows as 1 for want of a TRUE/FALSE format.
    ("libreoffice.xls", "boolean", "metadata.value", "true"),
    ("xlwt.xls", "boolean", "metadata.value", "true"),
    ("odfpy.ods", "boolean", "metadata.value", "true"),
    // LibreOffice saves the boolean it read as the formula =TRUE(), a number shown with a
    // TRUE/FALSE format; the import does not apply number formats (`15%` is `0.15`).
    ("libreoffice.ods", "boolean", "metadata.value", "1"),
    // LibreOffice 7.4 reads an ods cell's <text:tab/> and <text:line-break/> as nothing, though
    // it writes the first; the file holds a tab and a line break.
    (
        "libreoffice.ods",
        "text-tab",
        "description",
        "before\tafter",
    ),
    ("libreoffice.ods", "text-tab", "metadata.value", "a\tb"),
    ("odfpy.ods", "text-tab", "description", "before\tafter"),
    ("odfpy.ods", "text-tab", "metadata.value", "a\tb"),
    ("odfpy.ods", "text-lines", "metadata.value", "x\ny\nz"),
];

/// What LibreOffice shows of a cell, written as the import writes it (README, "Workbooks"):
/// a date-time in ISO 8601 (`T`, not a space, before the time), milliseconds only when
/// there are some, booleans as `true`/`false`, and a percentage as the number it is.
fn as_imported(shown: &str) -> String {
    let b = shown.as_bytes();
    let mut text = shown.to_string();
    if b.len() >= 19 && b[4] == b'-' && b[10] == b' ' && b[13] == b':' {
        text.replace_range(10..11, "T");
    }
    if let Some(whole) = text.strip_suffix(".000").filter(|t| t.contains(':')) {
        text = whole.to_string();
    }
    match text.as_str() {
        "TRUE" => return "true".into(),
        "FALSE" => return "false".into(),
        _ => {}
    }
    if let Some(percent) = text.strip_suffix('%').and_then(|p| p.parse::<f64>().ok()) {
        return format!("{}", percent / 100.0);
    }
    text
}

/// The tenant's organizations, by name, as the API lists them: id, description and the
/// metadata's `value`.
async fn listed(sandbox: &TestSandbox) -> HashMap<String, Value> {
    let reply: Value = sandbox
        .client
        .get(format!("{}?limit=100", sandbox.orgs_url()))
        .bearer_auth(sandbox.token().await)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    reply["organizations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["template"] != true)
        .map(|o| (o["name"].as_str().unwrap().to_string(), o.clone()))
        .collect()
}

/// The corpus file `name`.
fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/workbooks")
        .join(name)
}

/// Imports `file` into a fresh sandbox; each cell that differs from what LibreOffice shows,
/// as a line naming file, row and column.
async fn mismatches(file: &str, program: &str) -> Vec<String> {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new("");
    let book = fixture.dir.path().join(file);
    std::fs::copy(corpus(file), &book).unwrap();
    let mut args = fixture.args(&sandbox, &sandbox.secret(), &[]);
    args[2] = book.to_str().unwrap().to_string();
    let summary = import_with(args).await.unwrap();
    let orgs = listed(&sandbox).await;
    let stem = Path::new(file).file_stem().unwrap().to_str().unwrap();
    let results = csv_rows(&fixture.dir.path().join(format!("{stem}.results.csv")));
    let expected = csv_rows(&corpus(&format!("{file}.csv")));
    let mut wrong = Vec::new();
    let refused = |name: &str| {
        name.starts_with("formula-unsaved")
            || (name == "formula-saved" && RECALCULATED.contains(&file))
    };
    let unsaved = expected.iter().filter(|r| refused(&r["name"])).count();
    if summary.count(Status::Invalid) != unsaved as u64 {
        wrong.push(format!(
            "{file} ({program}): {} rows invalid, {unsaved} expected: {summary}",
            summary.count(Status::Invalid)
        ));
    }
    for (index, row) in expected.iter().enumerate() {
        let name = &row["name"];
        let sheet_row = index + 2;
        if refused(name) {
            // The row is refused, naming sheet, row, column and the fix.
            let column = if name == "formula-unsaved" || name == "formula-saved" {
                "D (metadata.value)"
            } else {
                "C (description)"
            };
            let result = results.iter().find(|r| &r["name"] == name);
            let error = result.map_or("", |r| r["error"].as_str());
            let wanted = format!(
                "sheet \"Customers\", row {sheet_row}: column {column} holds the formula ="
            );
            if orgs.contains_key(name)
                || result.is_none_or(|r| r["status"] != "invalid")
                || !error.contains(&wanted)
                || !error.contains("open and save the file in Excel or LibreOffice")
            {
                wrong.push(format!(
                    "{file} ({program}) row {sheet_row} ({name}): a formula with no saved \
                     value was not refused as such: imported {}, results {result:?}",
                    orgs.contains_key(name)
                ));
            }
            continue;
        }
        let Some(org) = orgs.get(name) else {
            wrong.push(format!(
                "{file} ({program}) row {sheet_row} ({name}): not imported"
            ));
            continue;
        };
        for column in ["id", "description", "metadata.value"] {
            let shown = &row[column];
            let want = DIFFERENCES
                .iter()
                .find(|(f, n, c, _)| *f == file && n == name && *c == column)
                .map_or_else(|| as_imported(shown), |(.., v)| v.to_string());
            let got = match column {
                "metadata.value" => org["metadata"]["payload"]["value"].as_str(),
                field => org[field].as_str(),
            }
            .unwrap_or("");
            // An empty id cell: the server made one.
            if column == "id" && want.is_empty() {
                continue;
            }
            if got != want {
                wrong.push(format!(
                    "{file} ({program}) row {sheet_row} ({name}), {column}: shown {shown:?}, \
                     expected {want:?}, imported {got:?}"
                ));
            }
        }
    }
    wrong
}

#[tokio::test]
async fn every_corpus_workbook_imports_as_libreoffice_shows_it() {
    let mut wrong = Vec::new();
    for (file, program) in FILES {
        wrong.extend(mismatches(file, program).await);
    }
    assert!(
        wrong.is_empty(),
        "{} cells differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
