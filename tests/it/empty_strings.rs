//! A server that writes unset strings as `""`, as the product doc's example reply does
//! (`"color": ""`; a root's `"parent_id": ""`): the sandbox's `unset_strings_as_empty`. Every
//! command reads `""` as none: `plan`, `verify`, `export` and `undo` see a root as a root.

use orgimport::commands::export;
use orgimport::commands::plan::{self, Action};
use orgimport::record::Status;
use orgimport::sandbox::SandboxConfig;
use orgimport::settings::Settings;
use serde_json::Value;

use crate::fixture::{Fixture, csv_rows, resolve};
use crate::ops::{bin_for, run, text};
use crate::util::{TestSandbox, start_sandbox};

/// Two roots and a child.
const CSV: &str = "id,name,description,parent\nroot-a,Root A,,\nchild-a,Child A,the child,root-a\nroot-b,Root B,,\n";

/// A sandbox that writes unset strings as `""`.
async fn empty_strings_sandbox() -> TestSandbox {
    start_sandbox(SandboxConfig {
        unset_strings_as_empty: true,
        ..SandboxConfig::default()
    })
    .await
}

/// The organization `id` as the API sends it.
async fn raw(sandbox: &TestSandbox, id: &str) -> Value {
    let token = sandbox.token().await;
    let reply = sandbox
        .client
        .get(sandbox.org_url(id))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    reply.json().await.unwrap()
}

#[tokio::test]
async fn the_sandbox_writes_unset_strings_as_empty_only_when_asked() {
    for (empty, root_parent, theme) in [
        (true, Some(Value::from("")), Value::from("")),
        (false, None, Value::Null),
    ] {
        let sandbox = start_sandbox(SandboxConfig {
            unset_strings_as_empty: empty,
            ..SandboxConfig::default()
        })
        .await;
        let fixture = Fixture::new(CSV);
        let summary = fixture.import(&sandbox, &[]).await.unwrap();
        assert_eq!(summary.count(Status::Created), 3, "{summary}");
        let root = raw(&sandbox, "root-a").await;
        assert_eq!(root.get("parent_id").cloned(), root_parent, "{root}");
        assert_eq!(root["theme_id"], theme, "{root}");
        assert_eq!(root["color"], "", "{root}");
        let child = raw(&sandbox, "child-a").await;
        assert_eq!(child["parent_id"], "root-a", "{child}");
    }
}

#[tokio::test]
async fn an_empty_parent_id_is_a_root_for_plan_verify_export_and_undo() {
    let sandbox = empty_strings_sandbox().await;
    let fixture = Fixture::new(CSV);
    let dir = fixture.dir.path();
    let summary = fixture.import(&sandbox, &[]).await.unwrap();
    assert_eq!(summary.count(Status::Created), 3, "{summary}");

    // The tenant is as the file says: nothing would change.
    let mut args = fixture.args(&sandbox, &sandbox.secret(), &[]);
    args[1] = "plan".into();
    let Settings::Plan(settings) = resolve(args).unwrap() else {
        panic!("not a plan")
    };
    let planned = plan::plan(settings.import, settings.out).await.unwrap();
    assert_eq!(planned.count(Action::ExistsIdentical), 3, "{planned}");

    let out = run(bin_for(&sandbox, dir), &["verify", "customers.results.csv"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = csv_rows(&dir.join("customers.verify.csv"));
    let parents: Vec<(&str, &str)> = report
        .iter()
        .filter(|r| r["check"] == "parent")
        .map(|r| (r["org_id"].as_str(), r["actual"].as_str()))
        .collect();
    assert_eq!(
        parents,
        [("root-a", ""), ("child-a", "root-a"), ("root-b", "")],
        "{report:?}"
    );

    // The regression: every root was "parent_id: would be left empty", exit 1.
    let exported = dir.join("export.csv");
    let out = run(
        bin_for(&sandbox, dir),
        &["export", "--out", exported.to_str().unwrap()],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("would be left empty"), "{stderr}");
    let rows = csv_rows(&exported);
    let parent_of = |id: &str| {
        rows.iter()
            .find(|r| r["id"] == id)
            .map(|r| r["parent_id"].clone())
    };
    assert_eq!(parent_of("root-a").as_deref(), Some(""));
    assert_eq!(parent_of("child-a").as_deref(), Some("root-a"));
    let Settings::Export(settings) = resolve(vec![
        "orgimport".into(),
        "export".into(),
        "--base-url".into(),
        sandbox.base_url.clone(),
        "--tenant".into(),
        sandbox.sandbox.config().tenant.clone(),
        "--client-id".into(),
        sandbox.sandbox.config().client_id.clone(),
        "--client-secret-file".into(),
        dir.join("secret").to_str().unwrap().into(),
        "--parent".into(),
        "root-a".into(),
        "--out".into(),
        dir.join("subtree.csv").to_str().unwrap().into(),
        "--quiet".into(),
    ])
    .unwrap() else {
        panic!("not an export")
    };
    let subtree = export::export(settings).await.unwrap();
    assert_eq!((subtree.exported, subtree.outside), (2, 1), "{subtree}");

    let out = run(
        bin_for(&sandbox, dir),
        &["undo", "customers.results.csv", "--yes"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let left: Vec<String> = sandbox
        .sandbox
        .organizations()
        .into_iter()
        .filter(|o| !o.template)
        .map(|o| o.id)
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
