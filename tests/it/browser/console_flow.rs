//! The console in a real browser, driven as a person with assistive technology drives it:
//! every control found by its role and accessible name (within the step's region where two
//! share a name), keys where a person would type, against a sandbox of the test's own so that
//! the organizations created can be checked. The whole flow (upload, columns, one cell fixed,
//! plan, run, results downloaded and checked against the sandbox), then the same with the page
//! reloaded while the run is sending, and the plan step's choice for existing organizations
//! carried by the run. With `ORGIMPORT_SCREENSHOTS` set, the first test saves a
//! picture of each step (the README's, in docs/console/).

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use orgimport::sandbox::{Faults, Organization, SandboxConfig};
use tempfile::TempDir;
use tokio::sync::oneshot;

use super::{Browser, repo_file};
use crate::fixture::csv_rows;
use crate::util::{TestSandbox, start_sandbox};

/// WebDriver's Enter key.
const ENTER: &str = "\u{E007}";
/// Control+A (select the field's text), the Control key released after.
const SELECT_ALL: &str = "\u{E009}a\u{E000}";
/// samples/customers.xlsx with one bad email (sheet row 5); tests/fixtures/console/make.py.
const FILE: &str = "tests/fixtures/console/customers-one-bad.xlsx";
/// The rows of the file.
const ROWS: usize = 10;
/// The accessible name of the invalid cell.
const BAD_CELL: &str = "line 5 email";
/// What the cell is corrected to.
const GOOD_EMAIL: &str = "it-admin@sao-paulo-logistica.com.br";
/// The name of the row whose cell is corrected.
const FIXED_ROW: &str = "sao-paulo-logistica-004";
/// What the plan says of the file, corrected, against an empty tenant.
const ALL_NEW: &str = "10 new, 0 identical, 0 different, 0 invalid";
/// How long a step of the page may take to answer.
const STEP: Duration = Duration::from_secs(15);

/// A console serving the page for a test, importing into the test's sandbox; stopped when
/// dropped.
struct Served {
    /// The URL the console prints (with its token).
    url: String,
    /// Its working folder.
    dir: TempDir,
    /// Stops the console when dropped.
    _shutdown: oneshot::Sender<()>,
}

/// A sandbox whose every reply takes `latency`.
async fn sandbox(latency: Duration) -> TestSandbox {
    start_sandbox(SandboxConfig {
        faults: Faults {
            latency,
            ..Faults::default()
        },
        ..SandboxConfig::default()
    })
    .await
}

/// `orgimport console` for `sandbox` (its secret in a file, as the engineer who sets the
/// console up gives it), on a port-0 listener of 127.0.0.1, with `extra` arguments.
async fn console_for(sandbox: &TestSandbox, extra: &[&str]) -> Served {
    console_with_secret(sandbox, &sandbox.secret(), extra).await
}

/// [`console_for`], given `secret` as the client secret.
async fn console_with_secret(sandbox: &TestSandbox, secret: &str, extra: &[&str]) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join(".secret");
    std::fs::write(&secret_file, secret).unwrap();
    let secret = secret_file;
    let settings = crate::console::sandbox_settings(sandbox, dir.path(), &secret, extra);
    let token = settings.token.clone();
    let (port, tx, _) = crate::console::serve(settings).await;
    Served {
        url: format!("http://127.0.0.1:{port}/?token={token}"),
        dir,
        _shutdown: tx,
    }
}

/// Steps 1 to 4 as a user takes them: the file chosen through the input labelled "Customer
/// file", the suggested columns kept, the one invalid cell corrected (and seen checked
/// again), the plan made and saying `plan_says`. With `pictures`, a screenshot of each step
/// (one test takes them: two would write the same files at once).
async fn file_to_plan(browser: &Browser, url: &str, pictures: bool, plan_says: &str) {
    let picture = async |region: &str, name: &str| {
        if pictures {
            browser.show(region).await;
            browser.screenshot(name).await;
        }
    };
    browser.client.goto(url).await.unwrap();

    // 1. The file.
    let input = browser.by_name("input", "Customer file").await;
    input
        .send_keys(&repo_file(FILE).to_string_lossy())
        .await
        .unwrap();
    browser
        .wait_text("1. The file", "[role=status]", "10 rows read", STEP)
        .await;
    picture("1. The file", "01-file").await;

    // 2. Match columns: each chooser is named by its column's header, and suggests the field
    // of that name; the suggestions are kept.
    for header in ["name", "displayName", "email", "domains", "metadata.region"] {
        let chooser = browser
            .in_region("2. Match columns", "select", header)
            .await;
        let chosen = chooser.prop("value").await.unwrap();
        assert_eq!(
            chosen.as_deref(),
            Some(header),
            "the field suggested for {header}"
        );
    }
    picture("2. Match columns", "02-columns").await;
    press(browser, "2. Match columns", "button", "Continue").await;

    // 3. Review: the one bad cell, named by its line and field, corrected in place.
    browser
        .wait_text(
            "3. Review",
            "[role=status]",
            "9 valid, 1 with problems",
            STEP,
        )
        .await;
    let cell = browser.in_region("3. Review", "input", BAD_CELL).await;
    let value = cell.prop("value").await.unwrap().unwrap_or_default();
    assert_eq!(value, "sales at sao-paulo-logistica.com.br");
    picture("3. Review", "03-review").await;
    cell.send_keys(&format!("{SELECT_ALL}{GOOD_EMAIL}{ENTER}"))
        .await
        .unwrap();
    browser
        .wait_text(
            "3. Review",
            "[role=status]",
            "10 valid, 0 with problems",
            STEP,
        )
        .await;

    // 4. Plan.
    press(browser, "4. Plan", "button", "Compare with the tenant").await;
    browser
        .wait_text("4. Plan", "[role=status]", plan_says, STEP)
        .await;
    picture("4. Plan", "04-plan").await;
}

/// Moves to the control `name` (among those `css` selects in `region`) and presses Enter.
async fn press(browser: &Browser, region: &str, css: &str, name: &str) {
    let control = browser.in_region(region, css, name).await;
    control.send_keys(ENTER).await.unwrap();
}

/// The counts of the run as its status says them once it has finished.
async fn finished(browser: &Browser, within: Duration) -> String {
    browser
        .wait_text(
            "5. Run",
            "[role=status]",
            &format!("Finished: {ROWS} of {ROWS} rows done ({ROWS} created)"),
            within,
        )
        .await
}

/// Downloads the results ("Download results") and checks them against the sandbox and the
/// results file in the console's working folder: every row created, each org_id an
/// organization of the sandbox, as many organizations as created rows, the corrected cell
/// sent corrected, each organization created once.
async fn download_and_check(browser: &Browser, served: &Served, sandbox: &TestSandbox) {
    press(browser, "6. Results", "a, button", "Download results").await;
    let downloaded = browser.downloaded(STEP).await;
    let rows = csv_rows(&downloaded);
    assert_eq!(rows.len(), ROWS, "a row of the results per row of the file");
    let statuses: Vec<&str> = rows.iter().map(|r| r["status"].as_str()).collect();
    assert!(
        statuses.iter().all(|s| *s == "created"),
        "every row created: {statuses:?}"
    );
    let organizations = sandbox.sandbox.organizations();
    let by_id: HashMap<&str, &str> = organizations
        .iter()
        .map(|o| (o.id.as_str(), o.name.as_str()))
        .collect();
    for row in &rows {
        let org_id = row["org_id"].as_str();
        assert_eq!(
            by_id.get(org_id).copied(),
            Some(row["name"].as_str()),
            "the organization {org_id} of {} is the sandbox's",
            row["name"]
        );
    }
    // The sandbox holds its template besides the organizations the run created.
    let created = rows.iter().filter(|r| r["status"] == "created").count();
    let made = organizations.iter().filter(|o| !o.template).count();
    assert_eq!(made, created, "one organization per created row");
    assert!(sandbox.sandbox.commits_by_name().values().all(|&n| n == 1));
    let fixed = rows.iter().find(|r| r["name"] == FIXED_ROW).unwrap();
    assert_eq!(
        fixed["email"], GOOD_EMAIL,
        "the corrected cell was imported"
    );
    // The download is the results file the CLI reads, as the run left it in the folder.
    let written = results_file(served.dir.path());
    assert_eq!(
        std::fs::read(&downloaded).unwrap(),
        std::fs::read(&written).unwrap(),
        "the download is {}",
        written.display()
    );
}

/// The one results file in `dir`.
fn results_file(dir: &Path) -> std::path::PathBuf {
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".results.csv"))
        .collect();
    assert_eq!(found.len(), 1, "one results file in the folder: {found:?}");
    found.remove(0)
}

/// The whole import from the page: file, columns, a fixed cell, plan, run, results.
#[tokio::test]
async fn a_user_imports_a_workbook_fixing_one_cell_and_downloads_what_happened() {
    let Some(browser) = Browser::start("console flow").await else {
        return;
    };
    let sandbox = sandbox(Duration::ZERO).await;
    let served = console_for(&sandbox, &[]).await;
    file_to_plan(&browser, &served.url, true, ALL_NEW).await;

    // 5. Run.
    press(&browser, "5. Run", "button", "Start import").await;
    let counts = finished(&browser, STEP).await;
    assert!(counts.contains(&format!("{ROWS} requests")), "{counts}");
    browser.show("5. Run").await;
    browser.screenshot("05-run").await;

    // 6. Results: the table, then the download checked against the sandbox.
    browser
        .wait_text("6. Results", "table", FIXED_ROW, STEP)
        .await;
    browser.show("6. Results").await;
    browser.screenshot("06-results").await;
    download_and_check(&browser, &served, &sandbox).await;
    browser.close().await;
}

/// Steps 1 to 4 against a slow sandbox, then the run started and seen sending: one row at a
/// time, each reply slowed, so the run lasts about four seconds. Returns the sandbox, the
/// console and the status first seen sending.
async fn sending_slowly(browser: &Browser) -> (TestSandbox, Served, String) {
    let sandbox = sandbox(Duration::from_millis(400)).await;
    let served = console_for(&sandbox, &["--concurrency", "1"]).await;
    file_to_plan(browser, &served.url, false, ALL_NEW).await;

    press(browser, "5. Run", "button", "Start import").await;
    let sending = browser
        .wait_text("5. Run", "[role=status]", "Sending: ", STEP)
        .await;
    (sandbox, served, sending)
}

/// The page reloaded while the run sends shows the run where it is, and its end.
#[tokio::test]
async fn a_page_reloaded_during_the_run_shows_the_run_and_its_end() {
    let Some(browser) = Browser::start("console reload").await else {
        return;
    };
    let (sandbox, served, sending) = sending_slowly(&browser).await;
    assert!(
        sending.contains(&format!("of {ROWS} rows done")),
        "{sending}"
    );
    browser.client.refresh().await.unwrap();

    // After the reload: the run as it stands, still sending, then its end.
    let shown = browser.texts("5. Run", "[role=status]").await;
    assert!(
        shown.contains("Sending") && !shown.contains("Finished"),
        "the reloaded page shows the run in progress: {shown:?}"
    );
    let start = browser.in_region("5. Run", "button", "Start import").await;
    assert!(
        !start.is_enabled().await.unwrap(),
        "a run in progress cannot be started again from the reloaded page"
    );
    finished(&browser, Duration::from_secs(30)).await;
    download_and_check(&browser, &served, &sandbox).await;
    browser.close().await;
}

/// The choice made in the plan step for organizations that exist is the one the run makes.
#[tokio::test]
async fn the_runs_answer_to_an_existing_organization_is_the_one_chosen_in_the_plan() {
    let Some(browser) = Browser::start("console choice").await else {
        return;
    };
    let sandbox = sandbox(Duration::ZERO).await;
    // The organization of the file's first row exists already, with other fields.
    let existing = Organization::new("cust-413951", "mueller-maschinenbau-001");
    sandbox.sandbox.insert_organization(existing);
    let served = console_for(&sandbox, &[]).await;
    let plan_says = "9 new, 0 identical, 1 different, 0 invalid";
    file_to_plan(&browser, &served.url, false, plan_says).await;

    // Chosen from the keyboard: the radio button, then Space.
    let fail = browser
        .in_region("4. Plan", "input", "Record them as failed")
        .await;
    fail.send_keys(" ").await.unwrap();
    browser
        .wait_text("4. Plan", "p", "recorded as failed", STEP)
        .await;
    press(&browser, "5. Run", "button", "Start import").await;
    let counts = browser
        .wait_text("5. Run", "[role=status]", "Finished: ", STEP)
        .await;
    assert!(
        counts.contains("9 created") && counts.contains("1 failed"),
        "the existing organization's row is recorded as failed, as chosen: {counts}"
    );
    let existing = sandbox.sandbox.organization("cust-413951").unwrap();
    assert_eq!(
        existing.description, "",
        "nothing is changed in the tenant for it"
    );
    browser.close().await;
}

/// A plan the tenant refuses (the credentials rejected) says why, and the message stays on
/// the page once the plan's section is drawn again.
#[tokio::test]
async fn a_plan_refused_by_the_tenant_says_why() {
    let Some(browser) = Browser::start("console plan refused").await else {
        return;
    };
    let sandbox = sandbox(Duration::ZERO).await;
    let served = console_with_secret(&sandbox, "not-the-secret", &[]).await;
    browser.client.goto(&served.url).await.unwrap();
    let input = browser.by_name("input", "Customer file").await;
    input
        .send_keys(&repo_file(FILE).to_string_lossy())
        .await
        .unwrap();
    browser
        .wait_text("1. The file", "[role=status]", "10 rows read", STEP)
        .await;
    press(&browser, "2. Match columns", "button", "Continue").await;
    browser
        .wait_text("3. Review", "[role=status]", "1 with problems", STEP)
        .await;
    press(&browser, "4. Plan", "button", "Compare with the tenant").await;
    let said = browser
        .wait_text("4. Plan", "#plan-status", "invalid_client", STEP)
        .await;
    // Still there a moment later: no redraw wiped it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let still = browser.texts("4. Plan", "#plan-status").await;
    assert!(still.contains("invalid_client"), "{said} became {still:?}");
    assert!(!still.contains(&sandbox.secret()), "{still}");
    browser.close().await;
}

/// A run stopped from the page says what is left and how to finish it; finished by
/// `orgimport import` since, the page opened again says the results file changed since the
/// run ended, shows the file's counts, and Retry follows them (nothing is left to retry).
#[tokio::test]
async fn a_stopped_run_finished_by_the_cli_is_shown_as_its_results_file_says() {
    let Some(browser) = Browser::start("console finished by the cli").await else {
        return;
    };
    let (sandbox, served, _) = sending_slowly(&browser).await;
    press(&browser, "5. Run", "button", "Stop").await;
    let stopped = browser
        .wait_text("5. Run", "[role=status]", "Stopped: ", STEP)
        .await;
    assert!(stopped.contains("not sent"), "{stopped}");

    // `orgimport import` of what the page ran: the corrected copy, the mapping file.
    let named = |end: &str| {
        std::fs::read_dir(served.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().ends_with(end))
            .unwrap_or_else(|| panic!("no file ending {end}"))
    };
    let (input, mapping) = (named(".corrected.csv"), named(".toml"));
    let secret = served.dir.path().join(".secret");
    let mut args = crate::console::cli_import_args(&sandbox, &input, &secret);
    let mapping = mapping.display().to_string();
    args.extend(["--mapping".into(), mapping, "--quiet".into()]);
    let summary = crate::fixture::import_with(args).await.unwrap();
    assert!(summary.done_before > 0, "{summary}");

    browser.client.refresh().await.unwrap();
    let said = browser
        .wait_text("5. Run", "[role=status]", "changed since", STEP)
        .await;
    assert!(said.contains(&format!("{ROWS} created")), "{said}");
    let retry = browser
        .in_region("6. Results", "button", "Retry the failed rows")
        .await;
    assert!(
        !retry.is_enabled().await.unwrap(),
        "every row is done: nothing to retry"
    );
    browser.close().await;
}
