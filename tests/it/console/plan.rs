//! Step 4, the plan: `orgimport plan`'s comparison with the tenant, in the page.

use reqwest::StatusCode;
use serde_json::json;

use orgimport::commands::plan::Action;
use orgimport::sandbox::SandboxConfig;
use orgimport::settings::Settings;

use super::{ok_json, refused, start, start_args};
use crate::fixture::{Fixture, resolve};
use crate::plan::{CSV, seed};
use crate::util::start_sandbox;

#[tokio::test]
async fn the_plan_is_the_clis_with_each_difference_and_the_choice_in_words() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    seed(&sandbox).await;
    let fixture = Fixture::new(CSV);
    let args = fixture.args(&sandbox, &sandbox.secret(), &[]);
    // The console, on the same tenant with the same settings (but the input).
    let console_args: Vec<&str> = args[3..]
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "--quiet")
        .collect();
    let mut console = start_args(&console_args, |_| {}).await;
    console.login().await;
    console.upload_and_map("customers.csv", CSV).await;
    let plan = ok_json(console.post_json("/api/plan", &json!({})).await).await;

    let mut cli_args = args.clone();
    cli_args[1] = "plan".into();
    let Settings::Plan(settings) = resolve(cli_args).unwrap() else {
        panic!()
    };
    let report = orgimport::commands::plan::plan(settings.import, settings.out)
        .await
        .unwrap();
    let new = report.count(Action::Create) + report.count(Action::CreateAfterParent);
    assert_eq!(plan["rows"], report.rows);
    assert_eq!(plan["new"], new);
    assert_eq!(plan["identical"], report.count(Action::ExistsIdentical));
    assert_eq!(plan["different"], report.count(Action::ExistsDifferent));
    assert_eq!(plan["invalid"], report.count(Action::Invalid));
    assert_eq!(plan["conflict"], report.count(Action::Conflict));
    assert!(plan["different"].as_u64().unwrap() >= 4, "{plan}");
    // The plan file, as `plan` writes it, in the working folder.
    assert!(
        console.path("customers.plan.csv").is_file(),
        "{:?}",
        console.files()
    );
    let details = plan["details"].as_array().unwrap();
    let desc = details
        .iter()
        .find(|d| d["org_id"] == "o-desc")
        .unwrap_or_else(|| panic!("{plan}"));
    assert_eq!(desc["action"], "exists-different");
    assert_eq!(desc["line"], 3);
    assert_eq!(desc["changes"][0]["field"], "description");
    assert_eq!(desc["changes"][0]["old"], "\"Old desc\"");
    // The choice, in words with the counts.
    assert!(
        plan["consequence"].as_str().unwrap().starts_with("Skip:"),
        "{plan}"
    );
    let update = ok_json(
        console
            .post_json("/api/plan/on-existing", &json!({"on_existing": "update"}))
            .await,
    )
    .await;
    let words = update["consequence"].as_str().unwrap();
    assert!(
        words.contains(&format!("{} organizations that differ", plan["different"])),
        "{words}"
    );
    let part = console.get("/part/plan").await.text().await.unwrap();
    assert!(part.contains(r#"id="plan-counts" role="status""#), "{part}");
    assert!(part.contains(r#"value="update" checked"#), "{part}");
    assert!(part.contains("Old desc"), "{part}");
    refused(
        console
            .post_json("/api/plan/on-existing", &json!({"on_existing": "merge"}))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn a_plan_before_the_columns_says_so() {
    let console = start().await;
    refused(
        console.post_json("/api/plan", &json!({})).await,
        StatusCode::CONFLICT,
    )
    .await;
    refused(console.get("/api/plan").await, StatusCode::CONFLICT).await;
}
