//! The conventions of a command-line tool: `-` for standard input, `--json` for what scripts
//! read.

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;

use orgimport::sandbox::SandboxConfig;

use crate::fixture::customers;
use crate::ops::{bin_for, text};
use crate::util::start_sandbox;

/// Runs `cmd` with `args`, `input` on its standard input, off the runtime's thread.
async fn run_with_stdin(mut cmd: Command, args: &[&str], input: String) -> Output {
    cmd.args(args).write_stdin(input);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn results_of(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("c.results.csv")).unwrap()
}

#[tokio::test]
async fn an_import_reads_standard_input_when_given_dash_and_needs_out() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();

    let out = run_with_stdin(bin_for(&sandbox, dir), &["import", "-"], customers(5)).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("needs --out"), "{stderr}");
    for args in [
        &["plan", "-", "--out", "p.csv"][..],
        &["import", "-", "--dry-run", "--out", "c.results.csv"],
    ] {
        let out = run_with_stdin(bin_for(&sandbox, dir), args, customers(5)).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("read by `import` only"),
            "{args:?}: {stderr}"
        );
    }
    assert_eq!(sandbox.sandbox.stats().api_requests, 0);

    let args = ["import", "-", "--out", "c.results.csv", "--rate", "1000"];
    let out = run_with_stdin(bin_for(&sandbox, dir), &args, customers(5)).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("5 created"), "{stderr}");
    assert_eq!(sandbox.sandbox.stats().organizations, 5);
    let results = results_of(dir);
    assert_eq!(results.matches(",created,").count(), 5, "{results}");
    assert!(results.contains("customer-00004"), "{results}");
    // Nothing is left beside the results file but the results.
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["c.results.csv"], "{names:?}");

    // A rerun from standard input resumes: nothing is sent again.
    let out = run_with_stdin(bin_for(&sandbox, dir), &args, customers(5)).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(sandbox.sandbox.stats().creates_committed, 5, "{stderr}");
}

#[tokio::test]
async fn json_outputs_parse_and_hold_what_the_text_says() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let mut csv = customers(4);
    csv.push_str(",,No name,,,,,Bo\n");
    std::fs::write(dir.join("c.csv"), csv).unwrap();
    let json = |out: &Output| -> serde_json::Value {
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&out.stdout), text(&out.stderr)))
    };

    let out = crate::ops::run(bin_for(&sandbox, dir), &["validate", "c.csv", "--json"]).await;
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(
        (v["rows"].as_u64(), v["invalid"].as_u64()),
        (Some(5), Some(1)),
        "{v}"
    );
    assert_eq!(v["problems"][0]["line"], 6, "{v}");
    assert!(
        v["problems"][0]["problem"]
            .as_str()
            .unwrap()
            .starts_with("name:"),
        "{v}"
    );

    let out = crate::ops::run(bin_for(&sandbox, dir), &["plan", "c.csv", "--json"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let v = json(&out);
    assert_eq!(v["actions"]["create"], 4, "{v}");
    assert_eq!(v["actions"]["invalid"], 1, "{v}");
    assert_eq!(v["plan"], "c.plan.csv", "{v}");

    let out = crate::ops::run(bin_for(&sandbox, dir), &["config", "--json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = json(&out);
    assert_eq!(v["complete"], true, "{v}");
    assert_eq!(v["client_secret_set"], true, "{v}");
    assert_eq!(v["settings"]["tenant"]["value"], "demo", "{v}");
    assert_eq!(v["settings"]["tenant"]["from"], "env", "{v}");
    assert!(!text(&out.stdout).contains(&sandbox.secret()));

    let out = crate::ops::run(bin_for(&sandbox, dir), &["token", "c.csv", "--json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = json(&out);
    assert_eq!(v["scope_ok"], true, "{v}");
    assert_eq!(v["templates_ok"], true, "{v}");
    assert_eq!(v["templates"][0]["id"], "b2b-customer-template", "{v}");
    assert!(v.get("access_token").is_none(), "{v}");
    assert!(!text(&out.stdout).contains(&sandbox.secret()));
}

/// The rows of a CSV on `out`'s stdout, its header first: it must parse whole, every record
/// as wide as the header (text of another kind mixed in would not).
fn csv_on_stdout(out: &Output) -> Vec<Vec<String>> {
    let stdout = text(&out.stdout);
    assert!(
        !stdout.starts_with('\u{feff}'),
        "no byte-order mark: {stdout:?}"
    );
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(stdout.as_bytes());
    reader
        .records()
        .map(|r| {
            let r = r.unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", text(&out.stderr)));
            r.iter().map(str::to_string).collect()
        })
        .collect()
}

/// The cells of `column` in `rows` (a header, then records).
fn column(rows: &[Vec<String>], column: &str) -> Vec<String> {
    let at = rows[0].iter().position(|c| c == column).unwrap();
    rows[1..].iter().map(|r| r[at].clone()).collect()
}

#[tokio::test]
async fn a_report_at_dash_goes_to_standard_output_and_nothing_else_does() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::write(dir.join("c.csv"), customers(5)).unwrap();
    let run = |args: &'static [&'static str]| crate::ops::run(bin_for(&sandbox, dir), args);

    let out = run(&["plan", "c.csv", "--out", "-"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let plan = csv_on_stdout(&out);
    assert_eq!(plan[0][0], "id", "{plan:?}");
    assert_eq!(column(&plan, "action"), ["create"; 5], "{plan:?}");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("plan: standard output"), "{stderr}");

    let out = run(&["import", "c.csv", "--summary-json", "-", "--rate", "1000"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)));
    assert_eq!(summary["counts"]["created"], 5, "{summary}");
    assert!(text(&out.stderr).contains("5 created"));

    let out = run(&["verify", "c.results.csv", "--out", "-"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let checks = column(&csv_on_stdout(&out), "result");
    assert!(
        checks.len() >= 5 && checks.iter().all(|r| r == "ok"),
        "{checks:?}"
    );
    assert!(text(&out.stderr).contains("report: standard output"));

    let out = run(&["export", "--out", "-"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut names = column(&csv_on_stdout(&out), "name");
    names.sort();
    assert_eq!(names.len(), 5, "{names:?}");
    assert_eq!(names[0], "customer-00000");

    let out = run(&["undo", "c.results.csv", "--yes", "--out", "-"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(column(&csv_on_stdout(&out), "result"), ["deleted"; 5]);
    assert_eq!(sandbox.sandbox.stats().organizations, 0);

    // Where `-` cannot work, it is refused before anything is read or sent.
    let requests = sandbox.sandbox.stats().api_requests;
    for (args, says) in [
        (&["import", "c.csv", "--out", "-"][..], "must be a file"),
        (
            &["plan", "c.csv", "--out", "-", "--json"],
            "both write to standard output",
        ),
    ] {
        let out = run(args).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    assert_eq!(sandbox.sandbox.stats().api_requests, requests);
    // No file was written under the name `-`, nor a report by its default name.
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["c.csv", "c.results.csv"], "{files:?}");
}

#[tokio::test]
async fn validate_import_and_the_dry_run_name_an_invalid_row_alike() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let mut csv = customers(3);
    csv.push_str(",,No name,,,,,Bo\n");
    csv.push_str(",x,,not-an-email,,,,Bo\n");
    std::fs::write(dir.join("c.csv"), csv).unwrap();
    let run = |args: &'static [&'static str]| crate::ops::run(bin_for(&sandbox, dir), args);
    let named = |output: &[u8]| -> Vec<String> {
        text(output)
            .lines()
            .filter(|l| l.starts_with("c.csv:"))
            .map(str::to_string)
            .collect()
    };

    let validate = run(&["validate", "c.csv"]).await;
    assert_eq!(validate.status.code(), Some(1));
    let lines = named(&validate.stdout);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with("c.csv:5: name: "), "{lines:?}");
    assert!(lines[1].starts_with("c.csv:6: email: "), "{lines:?}");

    let dry_run = run(&["import", "c.csv", "--dry-run"]).await;
    assert_eq!(dry_run.status.code(), Some(1));
    assert_eq!(named(&dry_run.stdout), lines, "{}", text(&dry_run.stdout));

    let import = run(&["import", "c.csv", "--rate", "1000"]).await;
    assert_eq!(import.status.code(), Some(1));
    assert_eq!(named(&import.stderr), lines, "{}", text(&import.stderr));
}

/// The options every command takes, which `--help` lists under plain "Options".
const GENERAL_OPTIONS: [&str; 8] = [
    "--verbose",
    "--quiet",
    "--color",
    "--config",
    "--profile",
    "--help",
    "--version",
    "--yes",
];

#[test]
fn every_help_lists_only_the_general_options_under_plain_options() {
    for command in [
        "import",
        "plan",
        "validate",
        "verify",
        "undo",
        "token",
        "config",
        "export",
        "console",
        "completions",
        "sandbox",
    ] {
        let out = Command::cargo_bin("orgimport")
            .unwrap()
            .args([command, "--help"])
            .output()
            .unwrap();
        let help = text(&out.stdout);
        let mut section = "";
        let mut ungrouped = Vec::new();
        for line in help.lines() {
            if !line.starts_with(' ') && line.ends_with(':') {
                section = line;
            } else if section == "Options:" {
                let flag = line.trim_start().trim_start_matches(|c| c != '-');
                let long = flag
                    .split_whitespace()
                    .find(|w| w.starts_with("--"))
                    .map(|w| w.trim_end_matches([',', '.']));
                if let Some(long) = long
                    && line.trim_start().starts_with('-')
                    && !GENERAL_OPTIONS.contains(&long)
                {
                    ungrouped.push(long.to_string());
                }
            }
        }
        assert!(
            ungrouped.is_empty(),
            "orgimport {command} --help lists {ungrouped:?} under plain Options:\n{help}"
        );
    }
}

#[tokio::test]
async fn token_json_says_what_failed_on_stdout() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let canary = "canary-9f1b-wrong-secret";
    let mut cmd = bin_for(&sandbox, dir.path());
    cmd.env("ORGIMPORT_CLIENT_SECRET", canary);
    let out = crate::ops::run(cmd, &["token", "--json"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)));
    assert_eq!(v["ok"], false, "{v}");
    let error = v["error"].as_str().unwrap();
    assert!(error.contains("refused the credentials"), "{v}");
    assert!(text(&out.stderr).contains(error), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains(canary));
    // And a token that could be had says so.
    let out = crate::ops::run(bin_for(&sandbox, dir.path()), &["token", "--json"]).await;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true, "{v}");
}
