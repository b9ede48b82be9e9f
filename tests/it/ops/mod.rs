//! The operator's commands, run as the real binary against a sandbox over HTTP: `import
//! --dry-run`, `verify`, `undo`, `token`, `config` (profiles and precedence),
//! `--summary-json` and `completions`.

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use orgimport::record::Status;
use orgimport::sandbox::{Organization, SandboxConfig};
use serde_json::Value;

use crate::fixture::{Fixture, csv_rows, customers};
use crate::util::{TestSandbox, start_sandbox};

mod token;

/// The binary with a clean environment (no settings of the user's leak in), run in `dir`.
pub(crate) fn bin(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("orgimport").unwrap();
    cmd.env_clear().current_dir(dir).env("NO_COLOR", "1");
    cmd
}

/// The binary, pointed at `sandbox` by environment variables (the secret too, never argv).
pub(crate) fn bin_for(sandbox: &TestSandbox, dir: &Path) -> Command {
    let c = sandbox.sandbox.config();
    let mut cmd = bin(dir);
    cmd.env("ORGIMPORT_BASE_URL", &sandbox.base_url)
        .env("ORGIMPORT_TENANT", &c.tenant)
        .env("ORGIMPORT_CLIENT_ID", &c.client_id)
        .env("ORGIMPORT_CLIENT_SECRET", sandbox.secret())
        .env("ORGIMPORT_TEMPLATE_ID", &c.template_id);
    cmd
}

/// Runs `cmd` off the runtime's thread, so that the in-process sandbox can answer it.
pub(crate) async fn run(mut cmd: Command, args: &[&str]) -> Output {
    cmd.args(args);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn dry_run_sends_no_write_and_shows_the_json() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let mut csv = customers(20);
    csv.push_str(",,No name,,,,,Bo\n");
    let fixture = Fixture::new(&csv);

    let out = run(
        bin_for(&sandbox, fixture.dir.path()),
        &["import", "customers.csv", "--dry-run"],
    )
    .await;

    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "an invalid row: {stdout}");
    assert!(
        stdout.contains("POST /api/system/demo/organizations"),
        "{stdout}"
    );
    assert!(stdout.contains(r#""name": "customer-00000""#), "{stdout}");
    assert!(stdout.contains(r#""region": "EMEA""#), "{stdout}");
    assert!(
        stdout.contains("21 rows: 20 would be created, 0 skipped"),
        "{stdout}"
    );
    assert!(stdout.contains("1 invalid"), "{stdout}");
    // The only requests: a token and a read of the template the rows would be sent with.
    assert!(
        stdout.contains("templates checked: b2b-customer-template"),
        "{stdout}"
    );
    let stats = sandbox.sandbox.stats();
    assert_eq!(stats.token_requests, 1, "{stats:?}");
    assert_eq!(
        (stats.api_requests, stats.get_requests),
        (1, 1),
        "no write, no listing: {stats:?}"
    );
    assert!(!fixture.results().exists(), "no results file written");

    // Without credentials it sends nothing at all, and says the templates are unchecked.
    let mut without = bin(fixture.dir.path());
    without.env("ORGIMPORT_TEMPLATE_ID", "b2b-customer-template");
    let out = run(without, &["import", "customers.csv", "--dry-run"]).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "an invalid row: {stdout}");
    assert!(
        stdout.contains(
            "templates not checked (no credentials given): b2b-customer-template (20 row(s))"
        ),
        "{stdout}"
    );
    assert_eq!(sandbox.sandbox.stats().api_requests, 1, "nothing more sent");
}

#[tokio::test]
async fn verify_passes_after_an_import_and_reports_tampering() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(&customers(12));
    fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    let dir = fixture.dir.path();

    let out = run(
        bin_for(&sandbox, dir),
        &["verify", "customers.results.csv", "--rate", "1000"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = csv_rows(&dir.join("customers.verify.csv"));
    assert_eq!(report.len(), 12 * 6, "six checks for each of 12 rows");
    assert!(report.iter().all(|r| r["result"] == "ok"));
    let mechanisms = report
        .iter()
        .find(|r| r["check"] == "authentication_mechanisms")
        .unwrap();
    assert_eq!(mechanisms["actual"], "password totp webauthn");

    // One organization deleted, another renamed and moved out of the template's schema.
    let results = fixture.results_rows();
    let (gone, changed) = (&results[3]["org_id"], &results[7]["org_id"]);
    let token = sandbox.token().await;
    let deleted = sandbox
        .client
        .delete(sandbox.org_url(gone))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let mut org = sandbox.sandbox.organization(changed).unwrap();
    org.name = "renamed-by-hand".into();
    org.authentication_mechanisms = None;
    sandbox.sandbox.insert_organization(org);

    let out = run(
        bin_for(&sandbox, dir),
        &["verify", "customers.results.csv", "--out", "v2.csv"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("2 with mismatches"),
        "{}",
        text(&out.stderr)
    );
    let report = csv_rows(&dir.join("v2.csv"));
    let bad: Vec<(String, String, String)> = report
        .iter()
        .filter(|r| r["result"] != "ok")
        .map(|r| (r["org_id"].clone(), r["check"].clone(), r["actual"].clone()))
        .collect();
    assert_eq!(
        bad,
        vec![
            (gone.clone(), "exists".into(), "no (404)".into()),
            (changed.clone(), "name".into(), "renamed-by-hand".into()),
            (
                changed.clone(),
                "authentication_mechanisms".into(),
                "".into()
            ),
        ]
    );
}

#[tokio::test]
async fn undo_deletes_what_the_run_created_children_first_and_never_what_existed() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    sandbox
        .sandbox
        .insert_organization(Organization::new("pre-existing", "existing-org"));
    let fixture = Fixture::new(
        "id,name,parent\n\
         ,top-a,\n\
         ,child-a1,top-a\n\
         ,grandchild-a1x,child-a1\n\
         pre-existing,existing-org,\n\
         ,child-e,pre-existing\n\
         ,top-b,\n",
    );
    let summary = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    assert_eq!(summary.count(Status::Created), 5, "{summary}");
    assert_eq!(summary.count(Status::Exists), 1, "{summary}");
    let dir = fixture.dir.path();

    // Verify finds each child under its parent row's organization; `exists` rows are not
    // checked.
    let out = run(bin_for(&sandbox, dir), &["verify", "customers.results.csv"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = csv_rows(&dir.join("customers.verify.csv"));
    assert_eq!(report.len(), 5 * 6);
    let parent_of = |name: &str| {
        report
            .iter()
            .find(|r| r["name"] == name && r["check"] == "parent")
            .map(|r| (r["expected"].clone(), r["result"].clone()))
            .unwrap()
    };
    let org_of = |name: &str| {
        sandbox
            .sandbox
            .organizations()
            .into_iter()
            .find(|o| o.name == name)
            .unwrap()
            .id
    };
    assert_eq!(parent_of("child-a1"), (org_of("top-a"), "ok".into()));
    assert_eq!(
        parent_of("grandchild-a1x"),
        (org_of("child-a1"), "ok".into())
    );
    assert_eq!(parent_of("child-e"), ("pre-existing".into(), "ok".into()));
    assert_eq!(parent_of("top-b"), (String::new(), "ok".into()));

    // Without a terminal, nothing is deleted unless --yes says so.
    let out = run(bin_for(&sandbox, dir), &["undo", "customers.results.csv"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--yes"), "{}", text(&out.stderr));
    assert_eq!(sandbox.sandbox.stats().organizations, 6);

    let out = run(
        bin_for(&sandbox, dir),
        &["undo", "customers.results.csv", "--yes"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The sandbox refuses to delete a parent before its children, so none failing shows
    // the order was right.
    let report = csv_rows(&dir.join("customers.undo.csv"));
    assert_eq!(report.len(), 5);
    assert!(
        report.iter().all(|r| r["result"] == "deleted"),
        "{report:?}"
    );
    let left: Vec<String> = sandbox
        .sandbox
        .organizations()
        .into_iter()
        .filter(|o| !o.template)
        .map(|o| o.id)
        .collect();
    assert_eq!(left, vec!["pre-existing".to_string()]);

    // The results file now says the rows are to be sent again, and an import does so.
    let rows = fixture.results_rows();
    assert_eq!(rows.iter().filter(|r| r["status"] == "not_sent").count(), 5);
    let again = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    assert_eq!(again.count(Status::Created), 5, "{again}");
}

#[tokio::test]
async fn undo_deletes_only_the_rows_own_organizations_whatever_the_results_file_says() {
    // A results file edited by hand: one created row's org_id names the tenant's template,
    // another's an organization that was there before the run. Undo reads each before it
    // deletes: those two are left, said on stderr with their lines, and the rows' own
    // organizations are looked up by name, as a rerun looks a row up, and deleted.
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    sandbox
        .sandbox
        .insert_organization(Organization::new("pre-existing", "existing-org"));
    let fixture = Fixture::new(&customers(4));
    let summary = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    assert_eq!(summary.count(Status::Created), 4, "{summary}");
    let dir = fixture.dir.path();
    let results = fixture.results();
    let mut rows = csv_rows(&results);
    let template = sandbox.sandbox.config().template_id.clone();
    let (kept_2, kept_3) = (rows[1]["org_id"].clone(), rows[2]["org_id"].clone());
    let text_before = std::fs::read_to_string(&results).unwrap();
    let edited = text_before
        .replacen(&kept_2, &template, 1)
        .replacen(&kept_3, "pre-existing", 1);
    std::fs::write(&results, edited).unwrap();
    rows = csv_rows(&results);
    assert_eq!(rows[1]["org_id"], template);
    // And an undo killed before left its lock file: this one takes it over and says so.
    std::fs::write(
        orgimport::record::lock_path(&results),
        "pid=4242\nhost=elsewhere\nstarted=2026-01-02T03:04:05Z\ncommand=orgimport undo\n",
    )
    .unwrap();

    let out = run(
        bin_for(&sandbox, dir),
        &["undo", "customers.results.csv", "--yes"],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "customers.results.csv: line 3: its org_id {template:?} is not this row's \
             organization (the template, not \"customer-00001\""
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "customers.results.csv: line 4: its org_id \"pre-existing\" is not this row's \
             organization (named \"existing-org\", not \"customer-00002\""
        ) && stderr.contains("looked up by its name \"customer-00002\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("undo: 4 created organizations: 4 deleted, 0 already gone, 0 failed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the run before (pid 4242 on host elsewhere")
            && stderr.contains("this run takes over"),
        "{stderr}"
    );
    let left: Vec<String> = sandbox
        .sandbox
        .organizations()
        .into_iter()
        .map(|o| o.id)
        .collect();
    assert!(left.contains(&template), "the template is there: {left:?}");
    assert!(left.contains(&"pre-existing".to_string()), "{left:?}");
    // Every row's own organization is gone, the two edited rows' found by name.
    assert_eq!(left.len(), 2, "{left:?}");
    let report: Vec<(String, String)> = csv_rows(&dir.join("customers.undo.csv"))
        .into_iter()
        .map(|r| (r["org_id"].clone(), r["result"].clone()))
        .collect();
    assert!(report.contains(&(kept_2, "deleted".into())), "{report:?}");
    assert!(report.contains(&(kept_3, "deleted".into())), "{report:?}");
}

#[tokio::test]
async fn verify_and_undo_of_an_import_killed_before_it_wrote_results_say_to_rerun_it() {
    // A first import killed early leaves its journal and no results file yet.
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(&customers(2));
    std::fs::write(fixture.journal(), "").unwrap();
    for args in [
        &["verify", "customers.results.csv"][..],
        &["undo", "customers.results.csv", "--yes"][..],
    ] {
        let out = run(bin_for(&sandbox, fixture.dir.path()), args).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("customers.results.csv") && stderr.contains("rerun the same import"),
            "{args:?}: {stderr}"
        );
    }
    assert_eq!(sandbox.sandbox.stats().api_requests, 0);

    // Once the results file is there, a journal beside it still means rows nobody checked:
    // verify says so and does not report all ok.
    std::fs::remove_file(fixture.journal()).unwrap();
    fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    std::fs::write(fixture.journal(), "").unwrap();
    let out = run(
        bin_for(&sandbox, fixture.dir.path()),
        &["verify", "customers.results.csv"],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("not checked (rerun the import first)"),
        "{stderr}"
    );
}

#[tokio::test]
async fn config_shows_flags_over_env_over_the_profile() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("orgimport.toml"),
        "default_profile = \"staging\"\n\
         [profiles.staging]\n\
         base_url = \"https://acme-staging.example.com\"\n\
         tenant = \"file-tenant\"\n\
         client_id = \"file-client\"\n\
         template_id = \"file-template\"\n\
         rate = \"5/s\"\n\
         [profiles.production]\n\
         base_url = \"https://acme.example.com\"\n",
    )
    .unwrap();
    let mut cmd = bin(dir.path());
    cmd.env("ORGIMPORT_CLIENT_ID", "env-client")
        .env("ORGIMPORT_TENANT", "env-tenant");
    let out = run(cmd, &["config", "--tenant", "flag-tenant"]).await;
    let stdout = text(&out.stdout);
    // No secret: incomplete, and a script can tell.
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        stdout.contains("=> incomplete: no client secret"),
        "{stdout}"
    );
    let line = |key: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("{key} ")))
            .unwrap_or_else(|| panic!("{key} in {stdout}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(line("tenant"), "tenant flag-tenant (flag)");
    assert_eq!(line("client_id"), "client_id env-client (env)");
    assert_eq!(
        line("base_url"),
        "base_url https://acme-staging.example.com (file orgimport.toml [profiles.staging])"
    );
    assert_eq!(
        line("rate"),
        "rate 5/s (file orgimport.toml [profiles.staging])"
    );
    assert_eq!(line("scope"), "scope manage_organizations (default)");
    assert_eq!(line("client_secret"), "client_secret not set");
    // What it derives is shown where it is derived, not "see the last line".
    assert_eq!(
        line("token_url"),
        "token_url https://acme-staging.example.com/flag-tenant/system/oauth2/token (derived)"
    );

    let mut cmd = bin(dir.path());
    cmd.env("ORGIMPORT_CLIENT_SECRET", "s3cret-value");
    let out = run(cmd, &["--profile", "production", "config"]).await;
    let stdout = text(&out.stdout);
    assert!(stdout.contains("https://acme.example.com"), "{stdout}");
    assert!(
        stdout.contains("client_secret       set (from env"),
        "{stdout}"
    );
    assert!(!stdout.contains("s3cret-value"));
    assert!(
        stdout.contains("tenant              acme  (derived)"),
        "{stdout}"
    );
    assert_eq!(out.status.code(), Some(2), "no client id: {stdout}");
    let mut cmd = bin(dir.path());
    cmd.env("ORGIMPORT_CLIENT_SECRET", "s3cret-value")
        .env("ORGIMPORT_CLIENT_ID", "c-1");
    let out = run(cmd, &["--profile", "production", "config"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let out = run(bin(dir.path()), &["--profile", "nope", "config"]).await;
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn a_profile_points_an_import_at_the_tenant_and_summary_json_tells_scripts() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let mut csv = customers(10);
    csv.push_str(",bad-mail,Bad,nobody at example,,,,Bo\n");
    let fixture = Fixture::new(&csv);
    let dir = fixture.dir.path();
    let c = sandbox.sandbox.config();
    std::fs::write(
        dir.join("ops.toml"),
        format!(
            "[profiles.rehearsal]\nbase_url = \"{}\"\ntenant = \"{}\"\nclient_id = \"{}\"\n\
             template_id = \"{}\"\nrate = \"1000/s\"\n",
            sandbox.base_url, c.tenant, c.client_id, c.template_id
        ),
    )
    .unwrap();
    let mut cmd = bin(dir);
    cmd.env("ORGIMPORT_CLIENT_SECRET", sandbox.secret());
    let out = run(
        cmd,
        &[
            "--config",
            "ops.toml",
            "--profile",
            "rehearsal",
            "import",
            "customers.csv",
            "--summary-json",
            "summary.json",
        ],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("commonest problems:"), "{stderr}");
    assert!(!stderr.contains(&sandbox.secret()));
    assert_eq!(sandbox.sandbox.stats().creates_committed, 10);

    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(json["rows"], 11);
    assert_eq!(json["counts"]["created"], 10);
    assert_eq!(json["counts"]["invalid"], 1);
    assert_eq!(json["exit_code"], 1);
    assert_eq!(json["sent"], 10);
    assert_eq!(json["error_kinds"][0]["kind"], "email");
    assert_eq!(json["error_kinds"][0]["status"], "invalid");
    assert_eq!(json["error_kinds"][0]["example_line"], 12);
    assert_eq!(json["results"], "customers.results.csv");
}

#[tokio::test]
async fn completions_and_help_examples() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(bin(dir.path()), &["completions", "bash"]).await;
    assert_eq!(out.status.code(), Some(0));
    let script = text(&out.stdout);
    assert!(
        script.contains("orgimport") && script.contains("verify"),
        "{script}"
    );
    for sub in ["import", "verify", "undo", "token", "config", "completions"] {
        let out = run(bin(dir.path()), &[sub, "--help"]).await;
        assert!(text(&out.stdout).contains("Example"), "{sub} --help");
    }
}

/// The pages `roff` refers to as `orgimport-NAME(1)` (or `orgimport(1)`).
fn man_references(roff: &str) -> Vec<String> {
    let roff = roff.replace("\\-", "-");
    let mut found = Vec::new();
    for (at, _) in roff.match_indices("(1)") {
        let name: String = roff[..at]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect::<String>()
            .chars()
            .rev()
            .collect();
        if name.starts_with("orgimport") {
            found.push(name);
        }
    }
    found
}

#[tokio::test]
async fn every_manual_page_orgimport_1_names_is_written_by_completions_man_dir() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("man1")).unwrap();
    let out = run(bin(dir.path()), &["completions", "man", "--dir", "man1"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let printed = run(bin(dir.path()), &["completions", "man"]).await;
    let top = text(&printed.stdout);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("man1/orgimport.1")).unwrap(),
        top,
        "the page printed is the one written"
    );
    let mut referenced = man_references(&top);
    assert!(referenced.len() >= 10, "a page per command: {referenced:?}");
    for page in std::fs::read_dir(dir.path().join("man1")).unwrap() {
        referenced.extend(man_references(
            &std::fs::read_to_string(page.unwrap().path()).unwrap(),
        ));
    }
    for name in referenced {
        let page = dir.path().join(format!("man1/{name}.1"));
        let roff = std::fs::read_to_string(&page)
            .unwrap_or_else(|e| panic!("{name}(1) is referenced, not written: {e}"));
        assert!(
            roff.contains(&format!(".TH {} 1", name.replace('-', "\\-")))
                || roff.contains(&format!(".TH {name} 1")),
            "{roff}"
        );
    }
    // The page of a command says how to call it.
    let import = std::fs::read_to_string(dir.path().join("man1/orgimport-import.1")).unwrap();
    assert!(import.contains("\\-\\-summary\\-json"), "{import}");
}
