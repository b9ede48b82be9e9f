//! `orgimport export` over real HTTP: a three-level hierarchy with hostile text imported into
//! one sandbox, exported, imported with no mapping flags into an empty one, and compared by
//! listing both; `plan` of the export against the source shows no change; `--parent`, an
//! unknown parent, an existing file, and organizations that cannot read back.

use std::collections::BTreeMap;
use std::path::Path;

use orgimport::commands::export::{self, Report};
use orgimport::commands::plan::{self, Action};
use orgimport::record::{Status, restore};
use orgimport::sandbox::{Organization, SandboxConfig};
use orgimport::settings::Settings;
use serde_json::Value;

use crate::fixture::{Fixture, csv_rows, resolve};
use crate::ops::{bin_for, run, text};
use crate::util::{TestSandbox, start_sandbox};

/// Three levels under `acme-holding`, a second tree, and text a spreadsheet or a CSV reader
/// could get wrong: a leading `=`, `+`, `-` and `@`, commas, quotes, a newline, unicode.
const CSV: &str = "\
id,name,description,domains,parent,Tags,Employees,metadata.region
acme-holding,\"=Acme, \"\"Holding\"\"\",\"=SUM(A1)\",acme.com;acme.de,,a;b,1200,EMEA
-acme-eu,+Acme EU Ünïcödé 株式会社,\"Line one
Line two, with \"\"quotes\"\"\",eu.acme.com,acme-holding,,12,'=x
,@acme-paris,-5 employees,,-acme-eu,sso,,  padded text  
beta,Beta GmbH,,,,,,APAC
beta-child,Beta Child,,beta.example,beta,,,
";

/// `Tags` as a list and `Employees` as a number: values the export must write as JSON.
const MAPPING: &str = "\
[metadata]
tags = { column = \"Tags\", type = \"list\", separator = \";\" }
employees = { column = \"Employees\", type = \"number\" }
";

/// The export command line for `sandbox`, with `extra` flags; the secret in a file of `dir`.
fn export_args(dir: &Path, sandbox: &TestSandbox, extra: &[&str]) -> Vec<String> {
    let secret_file = dir.join("secret");
    std::fs::write(&secret_file, sandbox.secret()).unwrap();
    let mut args = vec!["orgimport".to_string(), "export".to_string()];
    args.extend(sandbox.connection_args(&secret_file));
    args.extend(["--quiet"].iter().chain(extra).map(|s| s.to_string()));
    args
}

async fn export_with(args: Vec<String>) -> Result<Report, orgimport::Error> {
    let Settings::Export(settings) = resolve(args)? else {
        panic!("not an export")
    };
    export::export(settings).await
}

/// The tenant's organizations (templates left out) as the API lists them, by id: the fields
/// an export carries.
async fn listed(sandbox: &TestSandbox) -> BTreeMap<String, Value> {
    let token = sandbox.token().await;
    let reply: Value = sandbox
        .client
        .get(format!("{}?limit=100", sandbox.orgs_url()))
        .bearer_auth(token)
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
        .map(|o| {
            let kept: Value = ["id", "name", "description", "domains", "parent_id", "color"]
                .iter()
                .map(|f| (f.to_string(), o.get(*f).cloned().unwrap_or(Value::Null)))
                .chain([("metadata".to_string(), o["metadata"]["payload"].clone())])
                .collect::<serde_json::Map<_, _>>()
                .into();
            (o["id"].as_str().unwrap().to_string(), kept)
        })
        .collect()
}

/// The source sandbox with [`CSV`] imported.
async fn source() -> (TestSandbox, Fixture) {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(CSV);
    let mapping = fixture.dir.path().join("mapping.toml");
    std::fs::write(&mapping, MAPPING).unwrap();
    let summary = fixture
        .import(&sandbox, &["--mapping", mapping.to_str().unwrap()])
        .await
        .unwrap();
    assert_eq!(summary.count(Status::Created), 5, "{summary}");
    (sandbox, fixture)
}

#[tokio::test]
async fn an_export_imports_into_an_empty_tenant_as_the_same_organizations() {
    let (source, _) = source().await;
    let copy = Fixture::new("");
    let out = copy.input();
    let report = export_with(export_args(
        copy.dir.path(),
        &source,
        &["--out", out.to_str().unwrap(), "--force"],
    ))
    .await
    .unwrap();
    assert_eq!((report.exported, report.templates), (5, 1), "{report}");
    assert!(report.not_read_back.is_empty(), "{report}");

    // Parents before children, cells neutralized in the file and typed metadata as JSON.
    let raw = std::fs::read_to_string(&out).unwrap();
    assert!(raw.starts_with('\u{feff}'), "a byte-order mark for Excel");
    assert!(raw.contains("\"'=Acme, \"\"Holding\"\"\""), "{raw}");
    assert!(raw.contains("metadata.tags:json"), "{raw}");
    let rows = csv_rows(&out);
    let position = |id: &str| rows.iter().position(|r| restore(&r["id"]) == id).unwrap();
    for row in &rows {
        if !row["parent_id"].is_empty() {
            let parent = restore(&row["parent_id"]);
            assert!(position(parent) < position(restore(&row["id"])), "{rows:?}");
        }
    }

    // Into an empty tenant, with no mapping flags (the template is the tenant's own).
    let target = start_sandbox(SandboxConfig::default()).await;
    let summary = copy.import(&target, &[]).await.unwrap();
    assert_eq!(summary.count(Status::Created), 5, "{summary}");
    let (before, after) = (listed(&source).await, listed(&target).await);
    assert_eq!(before.len(), 5);
    assert_eq!(before, after, "the copy differs from the source");
    let paris = before
        .values()
        .find(|o| o["name"] == "@acme-paris")
        .unwrap();
    assert_eq!(paris["description"], "-5 employees");
    assert_eq!(paris["metadata"]["region"], "padded text");
    assert_eq!(paris["metadata"]["tags"], serde_json::json!(["sso"]));
    assert_eq!(before["acme-holding"]["metadata"]["employees"], 1200);
    // The input's `'=x` was a neutralized `=x`, as the import reads it.
    assert_eq!(before["-acme-eu"]["metadata"]["region"], "=x");
    assert_eq!(before["acme-holding"]["name"], "=Acme, \"Holding\"");

    // The export planned against its own source: nothing would change.
    let mut args = copy.args(&source, &source.secret(), &[]);
    args[1] = "plan".into();
    let Settings::Plan(settings) = resolve(args).unwrap() else {
        panic!("not a plan")
    };
    let plan = plan::plan(settings.import, settings.out).await.unwrap();
    assert_eq!(plan.count(Action::ExistsIdentical), 5, "{plan}");
    assert_eq!(plan.exit_status().code(), 0, "{plan}");
}

#[tokio::test]
async fn parent_exports_only_its_subtree_and_an_unknown_parent_is_named() {
    let (source, fixture) = source().await;
    let dir = fixture.dir.path();
    let out = dir.join("eu.csv");
    let report = export_with(export_args(
        dir,
        &source,
        &["--parent=-acme-eu", "--out", out.to_str().unwrap()],
    ))
    .await
    .unwrap();
    assert_eq!((report.exported, report.outside), (2, 3), "{report}");
    let rows = csv_rows(&out);
    assert_eq!(rows[0]["id"], "'-acme-eu");
    assert_eq!(
        rows[0]["parent_id"], "acme-holding",
        "kept: a restore finds it"
    );
    assert_eq!(rows[1]["name"], "@acme-paris".replace('@', "'@"));
    assert_eq!(rows[1]["parent_id"], "'-acme-eu");

    let nowhere = dir.join("nowhere.csv");
    let args = export_args(dir, &source, &["--parent", "no-such-org", "--out"]);
    let error = export_with([args, vec![nowhere.to_str().unwrap().to_string()]].concat())
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("--parent \"no-such-org\""), "{error}");
    assert!(error.contains("no organization with this id"), "{error}");
    assert!(!nowhere.exists());
    let template = &source.sandbox.config().template_id;
    let args = export_args(dir, &source, &["--parent", template, "--out"]);
    let error = export_with([args, vec![nowhere.to_str().unwrap().to_string()]].concat())
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("is a template"), "{error}");
}

#[tokio::test]
async fn the_binary_names_the_file_for_the_tenant_and_never_overwrites_without_force() {
    let (source, fixture) = source().await;
    let dir = fixture.dir.path();
    let out = run(bin_for(&source, dir), &["export"]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("listing the tenant's organizations"),
        "{stderr}"
    );
    assert!(stderr.contains("exported 5 organization(s)"), "{stderr}");
    let default = dir.join("demo.organizations.csv");
    assert_eq!(csv_rows(&default).len(), 5);

    std::fs::write(&default, "an earlier backup").unwrap();
    let requests = source.sandbox.stats().api_requests;
    let out = run(bin_for(&source, dir), &["export"]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("already exists; pass --force"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&default).unwrap(),
        "an earlier backup"
    );
    assert_eq!(
        source.sandbox.stats().api_requests,
        requests,
        "nothing sent"
    );

    let out = run(bin_for(&source, dir), &["export", "--force", "--quiet"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(csv_rows(&default).len(), 5, "replaced");

    let out = run(
        bin_for(&source, dir),
        &["export", "--parent", "nope", "-o", "x.csv"],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("\"nope\""), "{stderr}");
}

#[tokio::test]
async fn an_organization_that_would_not_read_back_is_named_and_fails_the_export() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    sandbox.sandbox.insert_organizations([
        Organization::new("fine", "Fine"),
        Organization::new("two-lines", "two\nlines"),
        Organization {
            description: "  padded  ".into(),
            ..Organization::new("padded", "Padded")
        },
    ]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    let report = export_with(export_args(
        dir.path(),
        &sandbox,
        &["--out", out.to_str().unwrap()],
    ))
    .await
    .unwrap();
    assert_eq!(report.exported, 3);
    assert_eq!(report.exit_status().code(), 1, "{report}");
    let text = report.to_string();
    assert_eq!(report.not_read_back.len(), 2, "{text}");
    assert!(
        text.contains("id \"two-lines\": the import refuses its row"),
        "{text}"
    );
    assert!(text.contains("id \"padded\": description"), "{text}");
    assert_eq!(csv_rows(&out).len(), 3, "written all the same");
}
