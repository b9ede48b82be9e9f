//! The README's recipe for a real tenant, token → plan → import → verify, run as the real
//! binary on the samples: against a tenant that lacks the template the rows name, every step
//! says so and nothing is sent; against one that has it, the import goes through.

use std::path::Path;

use orgimport::sandbox::SandboxConfig;

use crate::ops::{bin_for, run, text};
use crate::util::{TestSandbox, start_sandbox};

/// The template the samples' rows name in their own `template_id`.
const ROWS_TEMPLATE: &str = "b2b-customer-template";

/// A temp dir holding a copy of samples/customers.csv.
fn samples() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/customers.csv");
    std::fs::copy(samples, dir.path().join("customers.csv")).unwrap();
    dir
}

/// Runs one step of the recipe against `sandbox`; its exit code, stdout and stderr.
async fn step(sandbox: &TestSandbox, dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = run(bin_for(sandbox, dir), args).await;
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[tokio::test]
async fn the_recipe_stops_before_sending_when_the_tenant_lacks_the_rows_template() {
    // The tenant's only template is another one, given as the default.
    let sandbox = start_sandbox(SandboxConfig {
        template_id: "other-template".into(),
        ..SandboxConfig::default()
    })
    .await;
    let dir = samples();
    let dir = dir.path();

    let (code, stdout, stderr) = step(&sandbox, dir, &["token", "customers.csv"]).await;
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("template:       other-template: readable, a template"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{ROWS_TEMPLATE}: does not exist in this tenant (")),
        "{stdout}"
    );

    let (code, _, stderr) = step(&sandbox, dir, &["plan", "customers.csv"]).await;
    assert_eq!(code, Some(1), "{stderr}");
    let plan = std::fs::read_to_string(dir.join("customers.plan.csv")).unwrap();
    assert!(
        plan.contains(&format!(
            "template_id \"\"{ROWS_TEMPLATE}\"\" does not exist in this tenant"
        )),
        "{plan}"
    );

    let refusal = format!(
        "the template \"{ROWS_TEMPLATE}\" does not exist in this tenant (named in the template_id \
         column; "
    );
    for args in [
        &["import", "customers.csv", "--dry-run"][..],
        &["import", "customers.csv"],
    ] {
        let (code, stdout, stderr) = step(&sandbox, dir, args).await;
        assert_eq!(code, Some(2), "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains(&refusal), "{args:?}: {stderr}");
    }
    let stats = sandbox.sandbox.stats();
    assert_eq!(
        (stats.create_requests, stats.organizations),
        (0, 0),
        "nothing sent: {stats:?}"
    );
    assert!(!dir.join("customers.results.csv").exists());
}

#[tokio::test]
async fn the_recipe_goes_through_when_the_tenant_has_the_rows_template() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let dir = samples();
    let dir = dir.path();

    let (code, stdout, stderr) = step(&sandbox, dir, &["token", "customers.csv"]).await;
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!(
            "template:       {ROWS_TEMPLATE}: readable, a template"
        )),
        "{stdout}"
    );
    let (code, _, stderr) = step(&sandbox, dir, &["plan", "customers.csv"]).await;
    // Rows to create, and the six invalid samples.
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("294 create, 6 invalid"), "{stderr}");
    let (code, stdout, stderr) =
        step(&sandbox, dir, &["import", "customers.csv", "--dry-run"]).await;
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("templates checked: {ROWS_TEMPLATE}")),
        "{stdout}"
    );
    let (code, _, stderr) = step(
        &sandbox,
        dir,
        &["import", "customers.csv", "--rate", "1000", "--quiet"],
    )
    .await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("294 created, 6 invalid"), "{stderr}");
    let verify = ["verify", "customers.results.csv", "--rate", "1000"];
    let (code, stdout, stderr) = step(&sandbox, dir, &verify).await;
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stderr.contains("294 ok, 0 with mismatches"), "{stderr}");
}

#[tokio::test]
async fn an_unknown_default_template_is_refused_naming_the_rows_that_would_take_it() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::write(dir.join("c.csv"), crate::fixture::customers(8)).unwrap();
    let refusal = "the template \"nope\" does not exist in this tenant (the default template, \
                   from --template-id; 8 row(s) would be sent with it: lines 2, 3, 4, 5, 6 and 3 \
                   more)";
    for args in [
        &["import", "c.csv", "--template-id", "nope"][..],
        &["import", "c.csv", "--template-id", "nope", "--dry-run"],
        &["plan", "c.csv", "--template-id", "nope"],
    ] {
        let (code, stdout, stderr) = step(&sandbox, dir, args).await;
        assert_eq!(code, Some(2), "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains(refusal), "{args:?}: {stderr}");
    }
    let stats = sandbox.sandbox.stats();
    assert_eq!(stats.create_requests, 0, "{stats:?}");
}

#[tokio::test]
async fn token_refuses_rows_with_no_template_as_plan_does_unless_no_template() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("c.csv"),
        "name,template_id\nalpha,\nbeta,b2b-customer-template\ngamma,\n",
    )
    .unwrap();
    let bin = || {
        let mut cmd = bin_for(&sandbox, dir.path());
        cmd.env_remove("ORGIMPORT_TEMPLATE_ID");
        cmd
    };
    let plan = run(bin(), &["plan", "c.csv"]).await;
    let plan_error = text(&plan.stderr);
    assert_eq!(plan.status.code(), Some(2), "{plan_error}");
    assert!(
        plan_error.contains("2 row(s) would create an organization with no template"),
        "{plan_error}"
    );
    let token = run(bin(), &["token", "c.csv"]).await;
    let token_error = text(&token.stderr);
    assert_eq!(token.status.code(), Some(2), "{token_error}");
    // The same refusal, whatever context each command puts before the file's name.
    let refusal = |stderr: &str| {
        let start = stderr.find("c.csv: 2 row(s)")?;
        Some(stderr[start..].lines().next()?.to_string())
    };
    assert!(refusal(&plan_error).is_some(), "{plan_error}");
    assert_eq!(refusal(&token_error), refusal(&plan_error), "{token_error}");
    // The credentials and the row's own template are still reported.
    assert!(text(&token.stdout).contains("scope granted"));

    let token = run(bin(), &["token", "c.csv", "--no-template"]).await;
    assert_eq!(token.status.code(), Some(0), "{}", text(&token.stderr));
}
