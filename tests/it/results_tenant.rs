//! A results file belongs to the tenant it was written for: the README's recipe (rehearse with
//! `--sandbox`, then import into the tenant) creates every row in the tenant; `import`,
//! `verify` and `undo` against another tenant refuse the file with exit 2 before anything is
//! sent, not even a token request; `plan`, which reads no results, says the import would. A
//! workbook and its CSV share a results file, which never crosses tenants either. Two
//! sandboxes on two ports stand in for two tenants: they have the same tenant id, and only the
//! address tells them apart.

use std::path::Path;

use orgimport::sandbox::SandboxConfig;

use crate::fixture::{Fixture, csv_rows, customers};
use crate::ops::{bin, bin_for, run, text};
use crate::util::{TestSandbox, start_sandbox};

/// What `sandbox` was sent: token requests and API requests.
fn sent(sandbox: &TestSandbox) -> (u64, u64) {
    let stats = sandbox.sandbox.stats();
    (stats.token_requests, stats.api_requests)
}

/// The organizations `sandbox` holds, templates left out.
fn organizations(sandbox: &TestSandbox) -> usize {
    let orgs = sandbox.sandbox.organizations();
    orgs.iter().filter(|o| !o.template).count()
}

/// The file's bytes, to tell that a refusal left it as it was.
fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[tokio::test]
async fn the_readmes_recipe_rehearses_on_the_sandbox_then_imports_every_row_into_the_tenant() {
    let fixture = Fixture::new(&customers(12));
    let dir = fixture.dir.path();
    // Step 3: rehearse with the real file on the built-in sandbox...
    let out = run(
        bin(dir),
        &["import", "customers.csv", "--sandbox", "--rate", "1000"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rehearsal = dir.join("customers.sandbox.results.csv");
    let rows = csv_rows(&rehearsal);
    assert_eq!(rows.len(), 12);
    assert!(
        rows.iter()
            .all(|r| r["status"] == "created" && r["tenant"] == "built-in sandbox (--sandbox)"),
        "{rows:?}"
    );

    // ...then run the same file against the tenant: every row is created there.
    let tenant = start_sandbox(SandboxConfig::default()).await;
    let out = run(
        bin_for(&tenant, dir),
        &["import", "customers.csv", "--rate", "1000"],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("12 rows: 12 created"), "{stderr}");
    assert!(!stderr.contains("done by an earlier run"), "{stderr}");
    assert_eq!(tenant.sandbox.stats().creates_committed, 12);
    assert_eq!(organizations(&tenant), 12);
    let rows = fixture.results_rows();
    assert!(
        rows.iter()
            .all(|r| r["status"] == "created" && r["tenant"] == tenant.tenant_mark()),
        "{rows:?}"
    );
    // The rehearsal's results are still its own.
    assert_eq!(csv_rows(&rehearsal).len(), 12);

    // A rerun of the rehearsal resumes from its own results, as every --sandbox run is one
    // tenant: nothing is left to send.
    let out = run(
        bin(dir),
        &["import", "customers.csv", "--sandbox", "--rate", "1000"],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("12 done by an earlier run"), "{stderr}");
}

#[tokio::test]
async fn a_results_file_of_one_tenant_is_refused_by_an_import_into_another_with_nothing_sent() {
    let first = start_sandbox(SandboxConfig::default()).await;
    let second = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(&customers(6));
    let dir = fixture.dir.path();
    let out = run(
        bin_for(&first, dir),
        &["import", "customers.csv", "--rate", "1000"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let results = fixture.results();
    let written = bytes(&results);

    // Same tenant id, another address: another tenant.
    let out = run(bin_for(&second, dir), &["import", "customers.csv"]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for said in [
        format!("it was written for tenant {} (line 2)", first.tenant_mark()),
        format!("this run is for tenant {}", second.tenant_mark()),
        "nothing was sent".to_string(),
        "--out FILE".to_string(),
    ] {
        assert!(stderr.contains(&said), "{said:?} in {stderr}");
    }
    assert_eq!(sent(&second), (0, 0), "not even a token request");
    assert_eq!(organizations(&second), 0);
    assert_eq!(bytes(&results), written, "the file is left as it was");
    for beside in [".journal", ".lock", ".input"] {
        let mut name = results.clone().into_os_string();
        name.push(beside);
        assert!(!Path::new(&name).exists(), "{beside} left behind");
    }

    // Nor does a rehearsal, or its dry run, take it as done; --adopt-results does not
    // either: it names another tenant.
    for extra in [
        &["--sandbox"][..],
        &["--sandbox", "--dry-run"],
        &["--dry-run"],
    ] {
        let mut args = vec!["import", "customers.csv", "--out", "customers.results.csv"];
        args.extend(extra);
        let out = run(bin_for(&second, dir), &args).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(stderr.contains("this run is for "), "{stderr}");
    }
    let args = ["import", "customers.csv", "--adopt-results"];
    let out = run(bin_for(&second, dir), &args).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(sent(&second), (0, 0));
    assert_eq!(bytes(&results), written);

    // The fix the message gives: a results file of its own.
    let out = run(
        bin_for(&second, dir),
        &["import", "customers.csv", "--out", "second.results.csv"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(organizations(&second), 6);
}

#[tokio::test]
async fn verify_and_undo_against_another_tenant_are_refused_with_nothing_sent_and_plan_warns() {
    let first = start_sandbox(SandboxConfig::default()).await;
    let second = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(&customers(5));
    let dir = fixture.dir.path();
    let out = run(
        bin_for(&first, dir),
        &["import", "customers.csv", "--rate", "1000"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let written = bytes(&fixture.results());
    let first_sent = sent(&first);

    for command in [
        &["verify", "customers.results.csv"][..],
        &["undo", "customers.results.csv", "--yes"],
        &["undo", "customers.results.csv", "--yes", "--adopt-results"],
    ] {
        let out = run(bin_for(&second, dir), command).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command:?}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "it was written for tenant {}",
                first.tenant_mark()
            )),
            "{command:?}: {stderr}"
        );
        assert!(
            stderr.contains(&format!("this run is for tenant {}", second.tenant_mark())),
            "{command:?}: {stderr}"
        );
        assert_eq!(sent(&second), (0, 0), "{command:?}: nothing sent");
    }
    assert_eq!(sent(&first), first_sent);
    assert_eq!(organizations(&first), 5, "undo deleted nothing");
    assert_eq!(bytes(&fixture.results()), written);

    // A plan reads the tenant, not the results: it is made, and says that the import it
    // plans would refuse them. It sends no write.
    let out = run(bin_for(&second, dir), &["plan", "customers.csv"]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "5 rows to create: {stderr}");
    assert!(
        stderr.contains(&format!(
            "it was written for tenant {}, and an import into tenant {} would refuse it",
            first.tenant_mark(),
            second.tenant_mark()
        )),
        "{stderr}"
    );
    assert_eq!(csv_rows(&dir.join("customers.plan.csv")).len(), 5);
    assert_eq!(second.sandbox.stats().create_requests, 0);
    let out = run(bin_for(&first, dir), &["plan", "customers.csv"]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("would refuse"), "{stderr}");

    // Against its own tenant, each works.
    let out = run(bin_for(&first, dir), &["verify", "customers.results.csv"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = run(
        bin_for(&first, dir),
        &["undo", "customers.results.csv", "--yes"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(organizations(&first), 0);
}

#[tokio::test]
async fn a_workbook_and_its_csv_share_a_results_file_but_never_across_tenants() {
    use crate::workbook_files::{ods, t, xlsx};
    let first = start_sandbox(SandboxConfig::default()).await;
    let second = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new("");
    let dir = fixture.dir.path();
    std::fs::write(dir.join("book.csv"), "name\nalpha\nbeta\n").unwrap();
    let rows = vec![vec![t("name")], vec![t("alpha")], vec![t("beta")]];
    std::fs::write(dir.join("book.xlsx"), xlsx(&[("Customers", rows.clone())])).unwrap();
    std::fs::write(dir.join("book.ods"), ods(&[("Customers", rows)])).unwrap();
    let out = run(bin_for(&first, dir), &["import", "book.csv"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let written = bytes(&dir.join("book.results.csv"));

    // The workbook against another tenant: book.results.csv is the csv's run's, refused.
    let out = run(bin_for(&second, dir), &["import", "book.xlsx"]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("book.results.csv: it was written for tenant"),
        "{stderr}"
    );
    assert_eq!(sent(&second), (0, 0));
    assert_eq!(bytes(&dir.join("book.results.csv")), written);

    // Its rehearsal has results of its own, and sends every row.
    let out = run(bin(dir), &["import", "book.ods", "--sandbox"]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("2 rows: 2 created; 2 sent"), "{stderr}");
    assert_eq!(csv_rows(&dir.join("book.sandbox.results.csv")).len(), 2);

    // Against the tenant the csv's run created them in, they are done there.
    let out = run(bin_for(&first, dir), &["import", "book.xlsx"]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("2 done by an earlier run"), "{stderr}");
    assert_eq!(first.sandbox.stats().creates_committed, 2);
}
