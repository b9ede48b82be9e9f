//! A new user's first commands, run as the real binary: the first error is about the first
//! thing wrong, hints name only flags the command takes, and the dry run takes the tenant
//! from `--token-url` as a real run does.

use crate::fixture::{Fixture, customers};
use crate::ops::{bin, run};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn a_missing_file_is_named_before_any_connection_setting() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["import", "Salesforce Accounts.csv"][..],
        &["plan", "Salesforce Accounts.csv"],
        &["verify", "Salesforce Accounts.results.csv"],
        &["undo", "Salesforce Accounts.results.csv", "--yes"],
    ] {
        let out = run(bin(dir.path()), args).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("{}: No such file", args[1])),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("tenant"), "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn standard_input_is_refused_by_every_command_but_import_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    for command in ["validate", "plan", "verify", "undo"] {
        let out = run(bin(dir.path()), &[command, "-"]).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "is read by `import` only: `{command}` reads a file"
            )),
            "{command}: {stderr}"
        );
    }
}

#[tokio::test]
async fn hints_name_only_flags_the_command_takes() {
    let fixture = Fixture::new(&customers(2));
    let dir = fixture.dir.path();
    let results = dir.join("c.results.csv");
    std::fs::write(&results, "").unwrap();
    let results = results.to_str().unwrap();
    let input = fixture.input().to_str().unwrap().to_string();
    for (args, takes_sandbox) in [
        (&["token"][..], false),
        (&["verify", results], false),
        (&["undo", results, "--yes"], false),
        (&["export"], false),
        (&["import", &input], true),
    ] {
        let out = run(bin(dir), args).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("no tenant given"), "{args:?}: {stderr}");
        assert_eq!(
            stderr.contains("--sandbox"),
            takes_sandbox,
            "{args:?}: {stderr}"
        );
    }
}

#[tokio::test]
async fn a_dry_run_names_the_tenant_of_the_token_url() {
    let fixture = Fixture::new(&customers(2));
    let input = fixture.input().to_str().unwrap().to_string();
    let out = run(
        bin(fixture.dir.path()),
        &[
            "import",
            &input,
            "--dry-run",
            "--token-url",
            "https://acme.us.connect.secureauth.com/acme-prod/system/oauth2/token",
            "--template-id",
            "b2b-customer-template",
        ],
    )
    .await;
    let all = text(&out.stdout) + &text(&out.stderr);
    assert!(
        all.contains("POST /api/system/acme-prod/organizations"),
        "{all}"
    );
    assert!(!all.contains("{tenant}"), "{all}");
    // A rehearsal's dry run names the sandbox's tenant.
    let out = run(
        bin(fixture.dir.path()),
        &["import", &input, "--dry-run", "--sandbox"],
    )
    .await;
    let all = text(&out.stdout) + &text(&out.stderr);
    assert!(all.contains("POST /api/system/demo/organizations"), "{all}");
}

#[test]
fn a_concurrency_out_of_range_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("customers.csv"), customers(1)).unwrap();
    for (args, value) in [
        (
            &["import", "customers.csv", "--sandbox"][..],
            "18446744073709551615",
        ),
        (&["import", "customers.csv", "--sandbox"], "1025"),
        (&["import", "customers.csv", "--sandbox"], "0"),
        (&["verify", "customers.results.csv"], "18446744073709551615"),
        (&["undo", "customers.results.csv", "--yes"], "5000"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_orgimport"))
            .args(args)
            .args(["--concurrency", value])
            .env_clear()
            .current_dir(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?} {value}: {stderr}");
        assert!(
            stderr.contains("--concurrency")
                && stderr.contains("use a whole number from 1 to 1024"),
            "{args:?} {value}: {stderr}"
        );
    }
    assert!(!dir.path().join("customers.results.csv").exists());
}

#[tokio::test]
async fn one_row_is_counted_as_one_row() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.csv"), customers(1)).unwrap();
    let out = run(
        bin(dir.path()),
        &["import", "c.csv", "--dry-run", "--sandbox"],
    )
    .await;
    let all = text(&out.stdout) + &text(&out.stderr);
    assert!(all.contains("dry run, nothing sent: 1 row: "), "{all}");
    let out = run(bin(dir.path()), &["import", "c.csv", "--sandbox"]).await;
    let stderr = text(&out.stderr);
    assert!(stderr.contains("1 row: 1 created"), "{stderr}");
    // Not "1 rows" (a progress line's "0/1 rows" is no count of rows).
    let one_rows = stderr
        .lines()
        .any(|l| l.starts_with("1 rows") || l.contains(" 1 rows"));
    assert!(!one_rows, "{stderr}");
}
