//! A hostile environment: one blip on any call (the token endpoint's included) is never fatal,
//! a tenant's rate limit only slows a run down, every output path is checked before the first
//! request, and a results file that cannot be written at the end stops a run with its summary
//! and its journal kept.

use std::num::NonZeroU32;
use std::path::Path;

use orgimport::record::Status;
use orgimport::sandbox::{Faults, RateLimit, SandboxConfig, Stats};
use serde_json::Value;

use crate::fixture::{Fixture, csv_rows, customers};
use crate::ops::{bin_for, run, text};
use crate::util::{TestSandbox, start_sandbox};

/// Requests of any kind the sandbox has answered.
fn requests(stats: &Stats) -> u64 {
    stats.token_requests + stats.api_requests
}

/// The JSON file at `path`.
fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_blip_on_any_call_is_never_fatal() {
    // Each call of an import meets refusals and outages under one seed or another: the token
    // endpoint (seeds 2 and 34), the template check (34), the tenant listing (28) and creates
    // (every seed; a create that committed then failed is looked up, and the look-up may meet
    // one too); only rows decide. The seeds run side by side, each against a sandbox of its own.
    let mut runs = tokio::task::JoinSet::new();
    for seed in [2, 28, 34] {
        runs.spawn(async move {
            let sandbox = start_sandbox(SandboxConfig {
                faults: Faults {
                    seed,
                    forbidden_burst_rate: 0.1,
                    error_rate: 0.05,
                    commit_then_fail_rate: 0.1,
                    token_error_rate: 0.4,
                    ..Faults::default()
                },
                ..SandboxConfig::default()
            })
            .await;
            let fixture = Fixture::new(&customers(16));
            let summary = fixture
                .import(&sandbox, &["--rate", "500", "--max-attempts", "12"])
                .await
                .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            assert_eq!(summary.exit_status().code(), 0, "seed {seed}: {summary}");
            assert_eq!(summary.count(Status::Created), 16, "seed {seed}");
            let stats = sandbox.sandbox.stats();
            assert_eq!(
                stats.organizations, 16,
                "seed {seed}: none twice: {stats:?}"
            );
            // A token lives an hour: the run fetched one, and every other token request was
            // a failed attempt at that first fetch.
            assert_eq!(stats.tokens_issued, 1, "seed {seed}: {stats:?}");
            let met = &stats.faults_by_kind;
            assert!(met.get("create") > Some(&0), "seed {seed}: {stats:?}");
            met.keys().cloned().collect::<Vec<String>>()
        });
    }
    let mut met = std::collections::BTreeSet::new();
    while let Some(kinds) = runs.join_next().await {
        met.extend(kinds.unwrap());
    }
    for kind in ["token", "template", "list_page", "create"] {
        assert!(met.contains(kind), "no {kind} request met a fault: {met:?}");
    }
}

#[tokio::test]
async fn the_token_endpoint_blips_once_then_passes_and_a_dead_one_stops_the_run() {
    // The first draw of a fresh sandbox decides its first token request: these seeds fail it
    // with a dropped connection, a 503 and a 429 (with an OAuth2 error body).
    for seed in [2, 5, 10] {
        let blipping = start_sandbox(SandboxConfig {
            faults: Faults {
                seed,
                token_error_rate: 0.4,
                ..Faults::default()
            },
            ..SandboxConfig::default()
        })
        .await;
        let dir = tempfile::tempdir().unwrap();
        let out = run(bin_for(&blipping, dir.path()), &["token"]).await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "seed {seed}: {}",
            text(&out.stderr)
        );
        let stats = blipping.sandbox.stats();
        assert!(
            stats.token_requests > stats.tokens_issued,
            "seed {seed}: {stats:?}"
        );
    }

    // Every request fails: repeated failures do stop the run, before any row is sent.
    let dead = start_sandbox(SandboxConfig {
        faults: Faults {
            token_error_rate: 1.0,
            ..Faults::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    let fixture = Fixture::new(&customers(3));
    let error = fixture
        .import(&dead, &["--max-attempts", "3"])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("cannot get a token from")
            && error.ends_with("(gave up after 3 attempts)"),
        "{error}"
    );
    let stats = dead.sandbox.stats();
    assert_eq!(
        (stats.token_requests, stats.api_requests),
        (3, 0),
        "{stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_rate_limit_only_slows_the_run_down() {
    // A tenant that allows 1 request a second, one at a time, against a run configured for
    // 25 a second and 1 attempt a row: every 429 only waits. (The run slows down within a
    // round trip and books no turn far ahead at the old rate, so a row meets one 429 at
    // most: one attempt a row is what a 429 must not use up.)
    let sandbox = start_sandbox(SandboxConfig {
        rate_limit: Some(RateLimit {
            per_second: NonZeroU32::new(1).unwrap(),
            burst: NonZeroU32::new(1).unwrap(),
        }),
        ..SandboxConfig::default()
    })
    .await;
    let fixture = Fixture::new(&customers(4));

    let summary = fixture
        .import(&sandbox, &["--rate", "25", "--max-attempts", "1"])
        .await
        .unwrap();

    assert_eq!(summary.exit_status().code(), 0, "{summary}");
    assert_eq!(summary.count(Status::Created), 4, "{summary}");
    let stats = sandbox.sandbox.stats();
    assert_eq!(stats.organizations, 4, "{stats:?}");
    assert!(stats.rate_limited > 0, "the tenant answered 429: {stats:?}");
    let rows = fixture.results_rows();
    let most = rows
        .iter()
        .map(|r| r["attempts"].parse::<u32>().unwrap())
        .max()
        .unwrap();
    assert!(
        most > 1,
        "some row waited out 429s past --max-attempts: {most}"
    );
}

/// Runs `orgimport import customers.csv` with `extra` in `fixture`'s directory.
async fn import(sandbox: &TestSandbox, fixture: &Fixture, extra: &[&str]) -> (Option<i32>, String) {
    let args = [&["import", "customers.csv"], extra].concat();
    let out = run(bin_for(sandbox, fixture.dir.path()), &args).await;
    (out.status.code(), text(&out.stderr))
}

/// Asserts that `stderr` names none of the files orgimport keeps beside the results file.
fn names_no_internal_file(stderr: &str) {
    for internal in [".journal", ".tmp", ".bak", ".lock", ".input"] {
        assert!(!stderr.contains(internal), "{internal}: {stderr}");
    }
}

/// Makes `path` read-only for everyone (root included, for orgimport: it reads the mode).
#[cfg(unix)]
fn read_only(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = if path.is_dir() { 0o555 } else { 0o444 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_refuses_an_unwritable_output_before_its_first_request() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(&customers(5));
    let dir = fixture.dir.path();
    std::fs::create_dir(dir.join("ro")).unwrap();
    read_only(&dir.join("ro"));
    std::fs::write(dir.join("kept.csv"), "mine").unwrap();
    read_only(&dir.join("kept.csv"));

    let cases: [(&[&str], &str); 5] = [
        (
            &["--summary-json", "nodir/s.json"],
            "nodir: no such directory, so the summary JSON s.json cannot be written there",
        ),
        (
            &["--out", "nodir/r.csv", "--summary-json", "s.json"],
            "nodir: no such directory, so the results file r.csv cannot be written there",
        ),
        (
            &["--out", "ro/r.csv"],
            "ro: the directory is read-only, so the results file r.csv cannot be written there",
        ),
        (
            &["--out", "kept.csv"],
            "kept.csv: the results file is read-only, and orgimport does not replace",
        ),
        (
            &["--dry-run", "--out", "nodir/r.csv"],
            "nodir: no such directory, so the results file r.csv cannot be written there",
        ),
    ];
    for (flags, message) in cases {
        let (code, stderr) = import(&sandbox, &fixture, flags).await;
        assert_eq!(code, Some(2), "{flags:?}: {stderr}");
        assert!(stderr.contains(message), "{flags:?}: {stderr}");
        names_no_internal_file(&stderr);
    }
    assert_eq!(requests(&sandbox.sandbox.stats()), 0, "nothing was sent");
    assert_eq!(
        std::fs::read_to_string(dir.join("kept.csv")).unwrap(),
        "mine"
    );
    assert_eq!(std::fs::read_dir(dir.join("ro")).unwrap().count(), 0);
    assert!(!fixture.results().exists());
    // The run that got past its arguments wrote its summary, the fatal error in it.
    let summary = json(&dir.join("s.json"));
    assert_eq!(summary["exit_code"], 2, "{summary}");
    let fatal = summary["fatal"].as_str().unwrap();
    assert!(
        fatal.starts_with("nodir: no such directory, so the results file r.csv"),
        "{fatal}"
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_verify_and_undo_refuse_an_unwritable_output_before_their_first_request() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(&customers(5));
    let dir = fixture.dir.path();
    let (code, stderr) = import(&sandbox, &fixture, &[]).await;
    assert_eq!(code, Some(0), "{stderr}");
    let before = sandbox.sandbox.stats();
    std::fs::create_dir(dir.join("ro")).unwrap();
    read_only(&dir.join("ro"));

    let cases: [(&[&str], &str); 4] = [
        (
            &["plan", "customers.csv", "--out", "nodir/p.csv"],
            "nodir: no such directory, so the plan p.csv",
        ),
        (
            &["verify", "customers.results.csv", "--out", "nodir/v.csv"],
            "nodir: no such directory, so the verify report v.csv",
        ),
        (
            &[
                "undo",
                "customers.results.csv",
                "--yes",
                "--out",
                "ro/u.csv",
            ],
            "ro: the directory is read-only, so the undo report u.csv",
        ),
        (
            &["undo", "customers.results.csv", "--yes"],
            "customers.results.csv: the results file is read-only",
        ),
    ];
    for (i, (args, message)) in cases.into_iter().enumerate() {
        if i == 3 {
            read_only(&fixture.results());
        }
        let out = run(bin_for(&sandbox, dir), args).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        names_no_internal_file(&stderr);
    }
    let after = sandbox.sandbox.stats();
    assert_eq!(requests(&after), requests(&before), "nothing was sent");
    assert_eq!(after.organizations, 5, "nothing was deleted");
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_results_file_unwritable_at_the_end_stops_the_run_with_its_summary_and_keeps_the_journal()
{
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(&customers(20));
    let dir = fixture.dir.path();
    // The results file is written beside itself first: there, someone put a link to another
    // file. (A full disk there is `CsvOut`'s unit test: /dev/full is reached only by a link,
    // which is refused as this one is.)
    let beside = dir.join("customers.results.csv.tmp");
    std::fs::write(dir.join("victim"), "theirs").unwrap();
    std::os::unix::fs::symlink(dir.join("victim"), &beside).unwrap();

    let (code, stderr) = import(&sandbox, &fixture, &["--summary-json", "s.json"]).await;

    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("20 rows: 20 created"),
        "the summary: {stderr}"
    );
    let journal = fixture.journal();
    let fatal = "error: the run stopped: customers.results.csv: the results file could not be \
         written (cannot write its new version beside it, customers.results.csv.tmp: this is a \
         symbolic link, not a regular file,";
    assert!(stderr.contains(fatal), "{stderr}");
    assert!(
        stderr.contains("what this run did is kept in its journal customers.results.csv.journal"),
        "{stderr}"
    );
    assert!(journal.exists() && !fixture.results().exists());
    assert_eq!(
        std::fs::read_to_string(dir.join("victim")).unwrap(),
        "theirs"
    );
    std::fs::remove_file(&beside).unwrap();
    let summary = json(&dir.join("s.json"));
    assert_eq!(
        (
            summary["exit_code"].as_i64(),
            summary["counts"]["created"].as_i64()
        ),
        (Some(2), Some(20)),
        "{summary}"
    );
    assert!(summary["fatal"].as_str().unwrap().contains("its journal"));

    // The link removed: the same command writes the results from the journal, sending nothing.
    let (code, stderr) = import(&sandbox, &fixture, &[]).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!journal.exists());
    let rows = csv_rows(&fixture.results());
    assert!(rows.iter().all(|r| r["status"] == "created"), "{rows:?}");
    assert_eq!(sandbox.sandbox.stats().creates_committed, 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_stopped_before_sending_still_writes_its_summary_json() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(&customers(3));
    let dir = fixture.dir.path();
    let mut wrong = bin_for(&sandbox, dir);
    wrong.env("ORGIMPORT_CLIENT_SECRET", "not-the-secret");

    let out = run(
        wrong,
        &["import", "customers.csv", "--summary-json", "s.json"],
    )
    .await;

    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let summary = json(&dir.join("s.json"));
    assert_eq!(summary["exit_code"], 2, "{summary}");
    assert_eq!(summary["counts"]["created"], 0, "{summary}");
    // Its `rows` is not the input's: it says it stopped before counting them.
    assert_eq!(summary["rows_counted"], false, "{summary}");
    let fatal = summary["fatal"].as_str().unwrap();
    assert!(fatal.contains("refused the credentials"), "{fatal}");
    assert_eq!(sandbox.sandbox.stats().api_requests, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_writes_its_summary_json_too() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new("name,email\nalpha,ops@alpha.example.com\nbeta,not an email\n");
    let dir = fixture.dir.path();

    let out = run(
        bin_for(&sandbox, dir),
        &[
            "import",
            "customers.csv",
            "--dry-run",
            "--summary-json",
            "s.json",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("dry run, nothing sent"));
    let summary = json(&dir.join("s.json"));
    assert_eq!(summary["dry_run"], true, "{summary}");
    assert_eq!(summary["rows"], 2, "{summary}");
    assert_eq!(summary["rows_counted"], true, "{summary}");
    assert_eq!(summary["to_create"], 1, "{summary}");
    assert_eq!(summary["invalid"], 1, "{summary}");
    assert_eq!(summary["exit_code"], 1, "{summary}");

    // To stdout, the JSON alone; stopped before counting the rows (the file named as the
    // results file is not one), it says so.
    std::fs::write(fixture.results(), "notes\nnot a results file\n").unwrap();
    let out = run(
        bin_for(&sandbox, dir),
        &[
            "import",
            "customers.csv",
            "--dry-run",
            "--summary-json",
            "-",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["rows_counted"], false, "{summary}");
    assert_eq!(summary["exit_code"], 2, "{summary}");
    assert!(
        summary["fatal"]
            .as_str()
            .unwrap()
            .contains("not an orgimport results file"),
        "{summary}"
    );
    assert_eq!(sandbox.sandbox.stats().create_requests, 0);
}
