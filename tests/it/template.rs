//! Never forget the template: a run that would create organizations with no template (no
//! `--template-id`, environment or profile default, no `template_id` value) is refused before
//! anything is sent, by `import`, its dry run and `plan` alike, unless `--no-template`;
//! `--sandbox` supplies the sandbox's template; `validate` warns.

use orgimport::Error;
use orgimport::record::Status;
use orgimport::sandbox::{Organization, SandboxConfig};

use crate::fixture::{Fixture, import_with};
use crate::ops::{bin, bin_for, run, text};
use crate::util::{TestSandbox, start_sandbox};

/// Five rows: lines 2, 4 and 6 name no template, line 3 names the sandbox's own, line 5 is
/// invalid (and so is never sent, with or without a template).
const CSV: &str = "\
name,template_id,email
no-template-a,,
own-template,b2b-customer-template,
no-template-b,,
invalid-row,,not-an-email
no-template-c,,
";

/// The sandbox's organization named `name`.
fn by_name(sandbox: &TestSandbox, name: &str) -> Organization {
    let orgs = sandbox.sandbox.organizations();
    orgs.into_iter().find(|o| o.name == name).unwrap()
}

/// The import command line of `fixture` for `sandbox`, without the fixture's --template-id.
fn args_without_template(fixture: &Fixture, sandbox: &TestSandbox, extra: &[&str]) -> Vec<String> {
    let mut args = fixture.args(sandbox, &sandbox.secret(), &[]);
    let at = args.iter().position(|a| a == "--template-id").unwrap();
    args.drain(at..at + 2);
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[tokio::test]
async fn an_import_without_a_template_is_refused_before_anything_is_sent() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(CSV);

    let error = import_with(args_without_template(&fixture, &sandbox, &[]))
        .await
        .unwrap_err();

    let Error::NoTemplate { rows, lines, .. } = &error else {
        panic!("not refused for its template: {error}")
    };
    assert_eq!((*rows, lines.as_str()), (3, "lines 2, 4, 6"), "{error}");
    let message = error.to_string();
    assert!(message.contains("customers.csv: 3 row(s)"), "{message}");
    assert!(message.contains("--template-id"), "both fixes: {message}");
    assert!(message.contains("--no-template"), "both fixes: {message}");
    let stats = sandbox.sandbox.stats();
    assert_eq!(
        (stats.token_requests, stats.api_requests),
        (0, 0),
        "nothing sent: {stats:?}"
    );
    assert!(!fixture.results().exists(), "no results file");
}

#[tokio::test]
async fn no_template_creates_them_without_one_and_a_default_template_fills_them() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(CSV);

    let summary = import_with(args_without_template(
        &fixture,
        &sandbox,
        &["--no-template"],
    ))
    .await
    .unwrap();
    assert_eq!(summary.count(Status::Created), 4, "{summary}");
    let bare = by_name(&sandbox, "no-template-a");
    assert_eq!(
        bare.authentication_mechanisms, None,
        "no template: {bare:?}"
    );
    let templated = by_name(&sandbox, "own-template");
    assert!(
        templated.authentication_mechanisms.is_some(),
        "{templated:?}"
    );

    // The same rows with the fixture's --template-id: nothing to refuse.
    let other = Fixture::new(
        &CSV.replace("no-template", "defaulted")
            .replace("own-", "second-"),
    );
    let summary = other.import(&sandbox, &[]).await.unwrap();
    assert_eq!(summary.count(Status::Created), 4, "{summary}");
    let defaulted = by_name(&sandbox, "defaulted-a");
    assert!(
        defaulted.authentication_mechanisms.is_some(),
        "{defaulted:?}"
    );
}

#[tokio::test]
async fn the_binary_exits_2_for_import_dry_run_and_plan_and_sends_nothing() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(CSV);
    let dir = fixture.dir.path();
    for args in [
        &["import", "customers.csv"][..],
        &["import", "customers.csv", "--dry-run"],
        &["plan", "customers.csv"],
    ] {
        let mut cmd = bin_for(&sandbox, dir);
        cmd.env_remove("ORGIMPORT_TEMPLATE_ID");
        let out = run(cmd, args).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr
                .contains("3 row(s) would create an organization with no template (lines 2, 4, 6)"),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("--no-template"), "{args:?}: {stderr}");
    }
    let stats = sandbox.sandbox.stats();
    assert_eq!(
        (stats.token_requests, stats.api_requests),
        (0, 0),
        "{stats:?}"
    );

    // With --no-template the dry run goes on and shows no template in the request.
    let mut cmd = bin_for(&sandbox, dir);
    cmd.env_remove("ORGIMPORT_TEMPLATE_ID");
    let out = run(
        cmd,
        &["import", "customers.csv", "--dry-run", "--no-template"],
    )
    .await;
    let stdout = text(&out.stdout);
    assert!(stdout.contains("4 would be created"), "{stdout}");
    assert!(!stdout.contains("\"template_id\": null"), "{stdout}");

    // --no-template and --template-id say opposite things.
    let out = run(
        bin(dir),
        &[
            "import",
            "customers.csv",
            "--no-template",
            "--template-id",
            "t",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("cannot be used with"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test]
async fn the_sandbox_supplies_its_template_so_a_rehearsal_needs_no_flag() {
    let fixture = Fixture::new(CSV);
    let dir = fixture.dir.path();
    // The dry run shows the template the rehearsal would send.
    let out = run(
        bin(dir),
        &["import", "customers.csv", "--sandbox", "--dry-run"],
    )
    .await;
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("\"template_id\": \"b2b-customer-template\""),
        "{stdout}"
    );
    assert!(stdout.contains("4 would be created"), "{stdout}");
    let out = run(
        bin(dir),
        &[
            "import",
            "customers.csv",
            "--sandbox",
            "--rate",
            "1000",
            "--quiet",
        ],
    )
    .await;
    // The invalid row makes it exit 1; the others are created with the sandbox's template.
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("4 created"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn validate_warns_of_rows_without_a_template_unless_one_is_given() {
    let fixture = Fixture::new(CSV);
    let dir = fixture.dir.path();
    let out = bin(dir)
        .args(["validate", "customers.csv"])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "the invalid row: {stderr}");
    assert!(
        stderr.contains("warning: 3 valid row(s) name no template (lines 2, 4, 6)"),
        "{stderr}"
    );
    let out = bin(dir)
        .args(["validate", "customers.csv", "--template-id", "t"])
        .output()
        .unwrap();
    assert!(
        !text(&out.stderr).contains("no template"),
        "{}",
        text(&out.stderr)
    );
}
