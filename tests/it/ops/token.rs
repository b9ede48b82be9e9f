//! `orgimport token`: the scopes and expiry it prints, the token only when asked, and what gave
//! the default template it checks.

use super::*;

#[tokio::test]
async fn token_prints_scope_and_expiry_and_the_token_only_when_asked() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();

    let out = run(bin_for(&sandbox, dir.path()), &["token"]).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        stdout.contains("scope granted:  manage_organizations"),
        "{stdout}"
    );
    assert!(
        stdout.contains("expires:") && stdout.contains("(in 1h)"),
        "{stdout}"
    );
    assert!(stdout.contains("readable, a template"), "{stdout}");
    assert!(!stdout.contains("access token"), "{stdout}");
    assert!(!stdout.contains(&sandbox.secret()));

    let out = run(bin_for(&sandbox, dir.path()), &["token", "--show"]).await;
    let stdout = text(&out.stdout);
    let token = stdout
        .lines()
        .find_map(|l| l.strip_prefix("access token:"))
        .expect("the token is shown")
        .trim()
        .to_string();
    // The token shown is one the API accepts.
    let reply = sandbox
        .client
        .get(sandbox.orgs_url())
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);

    // A template an import could not use fails the check, as it would stop the import.
    let out = run(
        bin_for(&sandbox, dir.path()),
        &["token", "--template-id", "no-such-template"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("no-such-template: does not exist in this tenant"),
        "{}",
        text(&out.stdout)
    );

    let mut wrong = bin_for(&sandbox, dir.path());
    wrong.env("ORGIMPORT_CLIENT_SECRET", "not-the-secret");
    let out = run(wrong, &["token"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("invalid_client"),
        "{}",
        text(&out.stderr)
    );
    assert!(!text(&out.stderr).contains("not-the-secret"));
}

#[tokio::test]
async fn token_says_what_gave_the_default_template() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let c = sandbox.sandbox.config();
    std::fs::write(
        dir.join("orgimport.toml"),
        format!(
            "default_profile = \"staging\"\n[profiles.staging]\nbase_url = \"{}\"\n\
             tenant = \"{}\"\nclient_id = \"{}\"\ntemplate_id = \"{}\"\n",
            sandbox.base_url, c.tenant, c.client_id, c.template_id
        ),
    )
    .unwrap();
    let template_line = |out: &Output| -> String {
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
        stdout
            .lines()
            .find(|l| l.starts_with("template:"))
            .unwrap_or_else(|| panic!("{stdout}"))
            .to_string()
    };
    let from_file = || {
        let mut cmd = bin(dir);
        cmd.env("ORGIMPORT_CLIENT_SECRET", sandbox.secret());
        cmd
    };

    let line = template_line(&run(from_file(), &["token"]).await);
    assert_eq!(
        line,
        "template:       b2b-customer-template: readable, a template (the default, from file \
         orgimport.toml [profiles.staging])"
    );
    let mut env = from_file();
    env.env("ORGIMPORT_TEMPLATE_ID", &c.template_id);
    let line = template_line(&run(env, &["token"]).await);
    assert!(
        line.ends_with("(the default, from env ORGIMPORT_TEMPLATE_ID)"),
        "{line}"
    );
    let args = ["token", "--template-id", &c.template_id];
    let line = template_line(&run(from_file(), &args).await);
    assert!(
        line.ends_with("(the default, from --template-id)"),
        "{line}"
    );
}
