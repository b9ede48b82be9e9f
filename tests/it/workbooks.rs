//! Workbooks (xlsx, ods) imported over real HTTP: cells as typed, error cells that fail
//! their row naming sheet, row and column, `--sheet`, the results beside the workbook, a
//! rerun that resumes, and validate, plan, dry run, mappings and hierarchies on a sheet.

use std::path::{Path, PathBuf};

use orgimport::commands::import::dry_run;
use orgimport::commands::{plan, validate};
use orgimport::record::Status;
use orgimport::sandbox::{Organization, SandboxConfig};
use orgimport::settings::Settings;
use serde_json::Value;

use crate::fixture::{Fixture, csv_rows, import_with, resolve};
use crate::util::{TestSandbox, start_sandbox};
use crate::workbook_files::{Cell, Sheet, ods, t, xlsx};

/// The customers sheet: a number, a fraction, a date, a date-time, a boolean, empty cells, a
/// blank row (row 4), and an error cell in row 6.
fn customers() -> Vec<Vec<Cell>> {
    let header = [
        "name",
        "description",
        "metadata.employees",
        "metadata.score",
        "metadata.since",
        "metadata.renewal",
        "metadata.active",
        "email",
    ];
    vec![
        header.iter().map(|h| t(h)).collect(),
        vec![
            t("Acme Müller"),
            t("Maker of things"),
            Cell::Number(1200.0),
            Cell::Number(12.5),
            Cell::Date("2024-03-01"),
            Cell::Date("2025-01-31T10:30:00"),
            Cell::Bool(true),
            t("it@acme.example.com"),
        ],
        vec![
            t("Beta"),
            Cell::Empty,
            Cell::Number(7.0),
            Cell::Number(0.25),
            Cell::Date("1999-12-31"),
            Cell::Empty,
            Cell::Bool(false),
            Cell::Empty,
        ],
        vec![],
        vec![t("Gamma"), t("After a blank row")],
        vec![
            t("Broken"),
            t("Lookup failed"),
            Cell::Number(3.0),
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Error("#N/A"),
        ],
    ]
}

/// A second sheet, for `--sheet`.
fn other() -> Vec<Vec<Cell>> {
    vec![vec![t("name")], vec![t("Other One")], vec![t("Other Two")]]
}

/// Writes `bytes` as `name` in the fixture's directory.
fn write(fixture: &Fixture, name: &str, bytes: &[u8]) -> PathBuf {
    let path = fixture.dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The command line of `command` (import, plan, validate) on `input` against `sandbox`.
fn args(fixture: &Fixture, sandbox: &TestSandbox, input: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = fixture.args(sandbox, &sandbox.secret(), extra);
    args[2] = input.to_str().unwrap().to_string();
    args
}

fn org<'a>(orgs: &'a [Organization], name: &str) -> &'a Organization {
    orgs.iter()
        .find(|o| o.name == name)
        .unwrap_or_else(|| panic!("no organization {name:?} in {orgs:#?}"))
}

/// Checks the organizations the customers sheet creates, and its results file.
fn check_customers(sandbox: &TestSandbox, results: &Path) {
    let orgs = sandbox.sandbox.organizations();
    let acme = org(&orgs, "Acme Müller");
    assert_eq!(acme.description, "Maker of things");
    let payload = &acme.metadata.payload;
    assert_eq!(payload["employees"], Value::from("1200"), "{payload:?}");
    assert_eq!(payload["score"], Value::from("12.5"));
    assert_eq!(payload["since"], Value::from("2024-03-01"));
    assert_eq!(payload["renewal"], Value::from("2025-01-31T10:30:00"));
    assert_eq!(payload["active"], Value::from("true"));
    let beta = org(&orgs, "Beta");
    assert_eq!(beta.description, "", "an empty cell is empty");
    assert_eq!(beta.metadata.payload["employees"], Value::from("7"));
    assert_eq!(beta.metadata.payload["score"], Value::from("0.25"));
    assert_eq!(beta.metadata.payload["since"], Value::from("1999-12-31"));
    assert_eq!(beta.metadata.payload["active"], Value::from("false"));
    assert!(
        !beta.metadata.payload.contains_key("renewal"),
        "{:?}",
        beta.metadata.payload
    );
    org(&orgs, "Gamma");
    assert!(orgs.iter().all(|o| o.name != "Broken"), "{orgs:#?}");

    let rows = csv_rows(results);
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(rows[0]["metadata.employees"], "1200");
    assert_eq!(rows[0]["metadata.since"], "2024-03-01");
    assert_eq!(rows[3]["status"], "invalid", "{rows:?}");
    assert!(
        rows[3]["error"]
            .starts_with("sheet \"Customers\", row 6: column H (email) holds the error #N/A"),
        "{rows:?}"
    );
    assert_eq!(rows[3]["email"], "#N/A", "the cell is copied as shown");
}

#[tokio::test]
async fn an_xlsx_sheet_is_imported_with_cells_as_typed_and_a_rerun_resumes() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new("");
    let book = write(
        &fixture,
        "book.xlsx",
        &xlsx(&[("Customers", customers()), ("Other", other())]),
    );
    let summary = import_with(args(&fixture, &sandbox, &book, &[]))
        .await
        .unwrap();
    assert_eq!(summary.count(Status::Created), 3, "{summary}");
    assert_eq!(summary.count(Status::Invalid), 1, "{summary}");
    let results = fixture.dir.path().join("book.results.csv");
    assert_eq!(summary.results, results);
    check_customers(&sandbox, &results);
    assert!(
        !fixture.dir.path().join("book.results.csv.input").exists(),
        "the copy is removed"
    );

    // A row added to the sheet: the rerun sends it alone.
    let mut sheet = customers();
    sheet.push(vec![t("Delta"), t("Added later")]);
    write(
        &fixture,
        "book.xlsx",
        &xlsx(&[("Customers", sheet), ("Other", other())]),
    );
    let before = sandbox.sandbox.stats().create_requests;
    let again = import_with(args(&fixture, &sandbox, &book, &[]))
        .await
        .unwrap();
    assert_eq!(again.sent, 1, "{again}");
    assert_eq!(sandbox.sandbox.stats().create_requests, before + 1);
    assert_eq!(again.count(Status::Created), 4, "{again}");
    let rows = csv_rows(&results);
    assert_eq!(rows[4]["name"], "Delta");
    assert_eq!(rows[4]["status"], "created");
}

#[tokio::test]
async fn an_ods_sheet_is_imported_the_same_way() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new("");
    let book = write(&fixture, "book.ods", &ods(&[("Customers", customers())]));
    let out = fixture.dir.path().join("elsewhere.csv");
    let summary = import_with(args(
        &fixture,
        &sandbox,
        &book,
        &["--out", out.to_str().unwrap()],
    ))
    .await
    .unwrap();
    assert_eq!(summary.count(Status::Created), 3, "{summary}");
    check_customers(&sandbox, &out);
}

#[tokio::test]
async fn sheet_picks_a_sheet_and_an_unknown_one_is_refused_listing_the_sheets() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new("");
    let sheets: [Sheet; 2] = [("Customers", customers()), ("Other", other())];
    let book = write(&fixture, "book.xlsx", &xlsx(&sheets));

    let error = import_with(args(&fixture, &sandbox, &book, &["--sheet", "Nope"]))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("book.xlsx: there is no sheet \"Nope\"")
            && error.contains("\"Customers\", \"Other\""),
        "{error}"
    );
    assert_eq!(sandbox.sandbox.stats().api_requests, 0, "nothing was sent");

    let summary = import_with(args(&fixture, &sandbox, &book, &["--sheet", "Other"]))
        .await
        .unwrap();
    assert_eq!(summary.count(Status::Created), 2, "{summary}");
    let mut names: Vec<String> = sandbox
        .sandbox
        .organizations()
        .into_iter()
        .filter(|o| !o.template)
        .map(|o| o.name)
        .collect();
    names.sort();
    assert_eq!(names, ["Other One", "Other Two"]);
}

/// A sheet with its own headers, a parent column and a header row that is not row 1.
fn crm() -> Vec<Vec<Cell>> {
    vec![
        vec![],
        vec![t("Account"), t("Parent Account"), t("Staff")],
        vec![t("Holding"), Cell::Empty, Cell::Number(5000.0)],
        vec![t("Subsidiary"), t("Holding"), Cell::Number(120.0)],
        vec![t("Orphan"), t("Nowhere"), Cell::Number(1.0)],
    ]
}

#[tokio::test]
async fn validate_plan_dry_run_mappings_and_hierarchies_work_on_a_sheet() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new("");
    let book = write(&fixture, "crm.xlsx", &xlsx(&[("Accounts", crm())]));
    let maps = [
        "--map",
        "name=Account",
        "--map",
        "parent=Parent Account",
        "--map",
        "metadata.staff=Staff",
    ];

    // validate: the orphan, by its sheet row.
    let mut validate_args = args(&fixture, &sandbox, &book, &maps);
    validate_args.truncate(3);
    validate_args[1] = "validate".into();
    validate_args.extend(maps.iter().map(|s| s.to_string()));
    let Settings::Validate(settings) = resolve(validate_args).unwrap() else {
        panic!("not validate")
    };
    let mut out = Vec::new();
    let report = validate::validate(&settings, &mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert_eq!((report.rows, report.invalid), (3, 1), "{out}");
    assert!(
        out.contains("crm.xlsx: sheet \"Accounts\", row 5: ") && out.contains("Nowhere"),
        "{out}"
    );

    // A dry run shows the first request by its sheet row, the parent by its row.
    let mut dry = args(&fixture, &sandbox, &book, &maps);
    dry.push("--dry-run".into());
    let Settings::Import(settings) = resolve(dry).unwrap() else {
        panic!("not an import")
    };
    let shown = dry_run::dry_run(&settings).await.unwrap();
    assert!(
        shown.text.contains("sheet \"Accounts\", row 3: POST"),
        "{}",
        shown.text
    );
    assert!(shown.text.contains("\"staff\": \"5000\""), "{}", shown.text);
    assert!(
        shown.text.contains("the organization of row 3"),
        "{}",
        shown.text
    );
    assert_eq!(sandbox.sandbox.stats().create_requests, 0);

    // plan: one to create, one after its parent, one invalid; nothing sent.
    let mut plan_args = args(&fixture, &sandbox, &book, &maps);
    plan_args[1] = "plan".into();
    let Settings::Plan(settings) = resolve(plan_args).unwrap() else {
        panic!("not a plan")
    };
    let report = plan::plan(settings.import, settings.out).await.unwrap();
    assert_eq!(report.rows, 3, "{report}");
    assert_eq!(report.count(plan::Action::Create), 1, "{report}");
    assert_eq!(report.count(plan::Action::CreateAfterParent), 1, "{report}");
    assert_eq!(sandbox.sandbox.stats().create_requests, 0);

    // The import: the subsidiary under the holding.
    let summary = import_with(args(&fixture, &sandbox, &book, &maps))
        .await
        .unwrap();
    assert_eq!(summary.count(Status::Created), 2, "{summary}");
    let orgs = sandbox.sandbox.organizations();
    let holding = org(&orgs, "Holding");
    let subsidiary = org(&orgs, "Subsidiary");
    assert_eq!(subsidiary.parent_id.as_deref(), Some(holding.id.as_str()));
    assert_eq!(subsidiary.metadata.payload["staff"], Value::from("120"));
    let rows = csv_rows(&fixture.dir.path().join("crm.results.csv"));
    assert!(
        rows[2]["error"].starts_with("sheet \"Accounts\", row 5: "),
        "{rows:?}"
    );
}

/// A sheet of `n` customers, one row each.
fn many(n: usize) -> Vec<Vec<Cell>> {
    let mut rows = vec![vec![t("name"), t("metadata.employees")]];
    rows.extend((0..n).map(|i| vec![t(&format!("customer-{i:04}")), Cell::Number(i as f64)]));
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workbook_saved_again_during_the_run_is_imported_as_it_was_at_the_start() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new("");
    let book = write(&fixture, "book.xlsx", &xlsx(&[("Customers", many(100))]));
    let run = tokio::spawn(import_with(args(
        &fixture,
        &sandbox,
        &book,
        &["--rate", "100", "--concurrency", "4"],
    )));
    crate::util::wait_while_task("20 creates committed", &run, || {
        sandbox.sandbox.stats().creates_committed >= 20
    })
    .await;
    // Saved again with row 3 deleted and a customer appended: the same count of rows.
    let mut edited = many(101);
    edited.remove(3);
    write(&fixture, "book.xlsx", &xlsx(&[("Customers", edited)]));
    let summary = run.await.unwrap().unwrap();

    assert!(summary.input_changed.is_some(), "{summary}");
    assert_eq!(summary.count(Status::Created), 100, "{summary}");
    let rows = csv_rows(&fixture.dir.path().join("book.results.csv"));
    assert_eq!(rows[2]["name"], "customer-0002", "the rows as at the start");
    let orgs = sandbox.sandbox.organizations();
    assert!(orgs.iter().all(|o| o.name != "customer-0100"), "never sent");
    for row in &rows {
        let org = orgs.iter().find(|o| o.id == row["org_id"]).unwrap();
        assert_eq!(org.name, row["name"], "each row has its own organization");
    }
}

/// `samples/customers.xlsx` as built from the first ten customers of
/// `samples/customers.csv`, with a number (`metadata.employees`), a date
/// (`metadata.customerSince`) and the CSV's empty cells left empty.
fn sample_workbook() -> Vec<u8> {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut reader = csv::Reader::from_path(samples.join("customers.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let kept = [
        "id",
        "name",
        "displayName",
        "description",
        "email",
        "domains",
        "metadata.region",
        "metadata.tier",
    ];
    let at: Vec<usize> = kept
        .iter()
        .map(|k| headers.iter().position(|h| h == *k).unwrap())
        .collect();
    let employees = [
        1200.0, 85.0, 430.0, 12.5, 9800.0, 310.0, 57.0, 2400.0, 140.0, 66.0,
    ];
    let since = [
        "2019-04-01",
        "2021-11-15",
        "2020-02-29",
        "2023-07-03",
        "2018-01-10",
        "2022-09-30",
        "2024-05-20",
        "2017-12-01",
        "2019-06-18",
        "2020-10-05",
    ];
    let mut rows = vec![
        kept.iter()
            .map(|k| t(k))
            .chain([t("metadata.employees"), t("metadata.customerSince")])
            .collect::<Vec<_>>(),
    ];
    for (i, record) in reader.records().take(10).enumerate() {
        let record = record.unwrap();
        let mut row: Vec<Cell> = at
            .iter()
            .map(|&c| match &record[c] {
                "" => Cell::Empty,
                text => t(text),
            })
            .collect();
        row.push(Cell::Number(employees[i]));
        row.push(Cell::Date(since[i]));
        rows.push(row);
    }
    xlsx(&[("Customers", rows)])
}

/// `ORGIMPORT_WRITE_SAMPLES=1 cargo test --test it sample_workbook` writes it again.
#[tokio::test]
async fn the_sample_workbook_is_current_and_imports() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/customers.xlsx");
    let built = sample_workbook();
    if std::env::var_os("ORGIMPORT_WRITE_SAMPLES").is_some() {
        std::fs::write(&path, &built).unwrap();
    }
    assert!(
        std::fs::read(&path).unwrap() == built,
        "samples/customers.xlsx is not what tests/it/workbooks.rs builds; run \
         ORGIMPORT_WRITE_SAMPLES=1 cargo test --test it sample_workbook"
    );
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new("");
    let book = write(&fixture, "customers.xlsx", &built);
    let summary = import_with(args(&fixture, &sandbox, &book, &[]))
        .await
        .unwrap();
    assert_eq!(summary.count(Status::Created), 10, "{summary}");
    let orgs = sandbox.sandbox.organizations();
    let osaka = org(&orgs, "osaka-trading-003");
    assert_eq!(osaka.metadata.payload["employees"], Value::from("430"));
    assert_eq!(
        osaka.metadata.payload["customerSince"],
        Value::from("2020-02-29")
    );
    assert_eq!(osaka.description, "", "an empty cell");
    let sao = org(&orgs, "sao-paulo-logistica-004");
    assert_eq!(sao.metadata.payload["employees"], Value::from("12.5"));
}

/// A sheet is read as a stream and its text kept in a temporary file, never in memory: a
/// sheet of 72 MB of text (160,000 rows with a 450-character note) is validated by a process
/// whose peak stays below 95 MB, what planning 160,000 rows holds included (the text held in
/// memory made it 117 MB in a debug build).
#[test]
fn a_large_sheet_is_not_held_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large.xlsx");
    {
        let note = "x".repeat(450);
        let mut rows = vec![vec![t("name"), t("notes")]];
        rows.extend((0..160_000).map(|i| vec![t(&format!("org-{i}")), t(&note)]));
        std::fs::write(&path, xlsx(&[("Customers", rows)])).unwrap();
    }
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_orgimport"))
        .args(["validate", "--template-id", "t1"])
        .arg(&path)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (status, peak_kb) = wait_with_peak(&mut child);
    assert!(status.success(), "validate failed: {status}");
    assert!(
        peak_kb < 95 * 1024,
        "validate of 72 MB of sheet text peaked at {} MB",
        peak_kb / 1024
    );
}

/// Waits for `child` (at most two minutes): its exit status and its peak resident memory in
/// KB, the last `VmHWM` its `/proc` status gave while it ran (the high-water mark of its own
/// memory since it started: it only grows). The kernel's figure for a waited child would
/// count the memory of this test process, which it was forked from.
fn wait_with_peak(child: &mut std::process::Child) -> (std::process::ExitStatus, u64) {
    let status_file = format!("/proc/{}/status", child.id());
    let started = std::time::Instant::now();
    let mut peak = None;
    loop {
        if let Some(kb) = std::fs::read_to_string(&status_file).ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        }) {
            peak = Some(kb);
        }
        if let Some(status) = child.try_wait().unwrap() {
            return (status, peak.expect("the process's memory was never read"));
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "validate took over two minutes"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}
