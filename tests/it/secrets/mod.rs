//! No credential is repeated: against a sandbox that quotes every request in its errors (as a
//! misconfigured gateway does), with a canary secret, every command that talks to a server
//! runs as the real binary with `-vv`, and neither its output nor any file it writes shows the
//! secret (as typed, form-encoded, in the Basic header's base64) or a token the sandbox issued;
//! the messages still say what went wrong.

use std::path::Path;
use std::process::Output;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use orgimport::api::redact::REDACTED;
use orgimport::sandbox::{Faults, Organization, SandboxConfig};
use secrecy::SecretString;
use serde_json::Value;

use crate::fixture::{Fixture, csv_rows, customers};
use crate::ops::{bin_for, run, text};
use crate::util::{TestSandbox, start_sandbox};

mod given;

/// The client secret every test sends: characters that form encoding, JSON and base64 each
/// treat differently around a core (`q7Zx`) that no text has by chance.
const CANARY: &str = "cAnArY-q7Zx w+/&=%\"ü-9Kp";

/// Every form of `secret` (for `client_id`) and every token `sandbox` issued: the strings no
/// output may hold.
fn credentials(sandbox: &TestSandbox, client_id: &str, secret: &str) -> Vec<String> {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let as_sent = format!("{}:{}", encode(client_id), encode(secret));
    let plain = format!("{client_id}:{secret}");
    let mut forms = vec![
        secret.to_owned(),
        encode(secret),
        serde_json::to_string(secret)
            .unwrap()
            .trim_matches('"')
            .to_owned(),
        STANDARD.encode(&as_sent),
        STANDARD_NO_PAD.encode(&as_sent),
        STANDARD.encode(&plain),
        STANDARD_NO_PAD.encode(&plain),
    ];
    if secret == CANARY {
        forms.push("q7Zx".to_owned());
    }
    let tokens = sandbox.sandbox.issued_tokens();
    assert!(!tokens.is_empty(), "the sandbox issued tokens to check");
    forms.extend(tokens);
    forms
}

/// Fails naming every place in `out` and in the files under `dir` (but the input) that holds
/// one of `forbidden`; returns stdout, stderr and the files' text, for the caller's checks.
fn assert_no_leak(what: &str, out: &Output, dir: &Path, forbidden: &[String]) -> String {
    let mut places = vec![
        ("stdout".to_owned(), text(&out.stdout)),
        ("stderr".to_owned(), text(&out.stderr)),
    ];
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.file_name().is_some_and(|n| n != "customers.csv") {
                let bytes = std::fs::read(&path).unwrap();
                places.push((path.display().to_string(), text(&bytes)));
            }
        }
    }
    for (place, content) in &places {
        for credential in forbidden {
            assert!(
                !content.contains(credential.as_str()),
                "{what}: {place} shows the credential {credential:?}:\n{content}"
            );
        }
    }
    places
        .into_iter()
        .map(|(place, content)| format!("== {place}\n{content}\n"))
        .collect()
}

/// A sandbox that echoes every request in its errors, with `secret` and these faults.
async fn echoing(secret: &str, faults: Faults) -> TestSandbox {
    start_sandbox(SandboxConfig {
        client_secret: SecretString::from(secret.to_owned()),
        echo_requests_in_errors: true,
        faults,
        ..SandboxConfig::default()
    })
    .await
}

/// The binary pointed at `sandbox`, sending `secret`.
async fn orgimport(sandbox: &TestSandbox, dir: &Path, secret: &str, args: &[&str]) -> Output {
    let mut cmd = bin_for(sandbox, dir);
    cmd.env("ORGIMPORT_CLIENT_SECRET", secret);
    run(cmd, args).await
}

#[tokio::test]
async fn the_echoing_sandbox_quotes_the_secret_and_the_token_in_its_errors() {
    let sandbox = echoing(
        CANARY,
        Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
    )
    .await;
    let c = sandbox.sandbox.config();
    let encoded: String = url::form_urlencoded::byte_serialize(CANARY.as_bytes()).collect();
    // A refusal (a grant type it does not support) quotes the form body, the headers, and
    // the form fields and Basic credentials decoded.
    let form = [
        ("grant_type", "password"),
        ("client_id", c.client_id.as_str()),
    ];
    let mut with_secret = form.to_vec();
    with_secret.push(("client_secret", CANARY));
    let posted = sandbox.client.post(sandbox.token_url()).form(&with_secret);
    let basic = sandbox
        .client
        .post(sandbox.token_url())
        .basic_auth(&c.client_id, Some(&encoded))
        .form(&form[..1]);
    for (request, quoted) in [
        (posted, format!("client_secret={encoded}")),
        (basic, STANDARD.encode(format!("{}:{encoded}", c.client_id))),
    ] {
        let res = request.send().await.unwrap();
        assert_eq!(res.status(), 400);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "unsupported_grant_type");
        let said = body["error_description"].as_str().unwrap();
        assert!(said.contains(&quoted), "{said}");
        assert!(said.contains(CANARY), "decoded too: {said}");
    }

    // The API quotes the bearer token: in `error` and `details.request`, and in a 5xx page.
    let token = sandbox.token().await;
    let res = sandbox
        .client
        .get(sandbox.org_url("nobody"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error_code"], "not_found");
    let error = body["error"].as_str().unwrap();
    assert!(
        error.starts_with("organization \"nobody\" not found (echoed request: GET"),
        "{error}"
    );
    assert!(
        error.contains(&format!("authorization: Bearer {token}")),
        "{error}"
    );
    let headers = &body["details"]["request"]["headers"];
    assert_eq!(headers["authorization"], format!("Bearer {token}"));
    let res = sandbox
        .create(&token, &serde_json::json!({"name": "x"}))
        .await
        .unwrap();
    assert!(res.status().is_server_error());
    let page = res.text().await.unwrap();
    assert!(
        page.contains(&token) && page.contains(r#"body: {"name":"x"}"#),
        "{page}"
    );
}

/// 12 customers; every third names a parent that does not exist, so its create is refused.
fn customers_with_unknown_parents() -> String {
    let mut csv = String::from("name,parent_id\n");
    for i in 0..12 {
        let parent = if i % 3 == 0 { "no-such-parent" } else { "" };
        csv.push_str(&format!("org-{i:02},{parent}\n"));
    }
    csv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_repeats_no_credential_the_api_echoes() {
    // A third of the creates answered 500/503: a plain-text gateway page quoting the request.
    let faults = Faults {
        seed: 7,
        error_rate: 0.3,
        ..Faults::default()
    };
    let sandbox = echoing(CANARY, faults).await;
    let fixture = Fixture::new(&customers_with_unknown_parents());
    let dir = fixture.dir.path();
    let client_id = sandbox.sandbox.config().client_id.clone();
    let mut transcript = String::new();
    for auth in ["post", "basic"] {
        let args = [
            "import",
            "customers.csv",
            "-vv",
            "--client-auth",
            auth,
            "--max-attempts",
            "2",
            "--rate",
            "200",
            "--summary-json",
            "summary.json",
        ];
        let out = orgimport(&sandbox, dir, CANARY, &args).await;
        let what = format!("import --client-auth {auth}");
        let all = assert_no_leak(&what, &out, dir, &credentials(&sandbox, &client_id, CANARY));
        assert_eq!(
            out.status.code(),
            Some(1),
            "{what}: some rows failed\n{all}"
        );
        assert!(
            all.contains(REDACTED),
            "{what}: something was echoed\n{all}"
        );
        transcript += &all;
    }
    // A 5xx gateway page is not the API's JSON: its start is quoted, redacted, its line ends
    // escaped (a server's text forges no line).
    assert!(
        transcript.contains(r"Service Unavailable\n\nThe upstream failed on this request: POST")
            || transcript
                .contains(r"Internal Server Error\n\nThe upstream failed on this request: POST"),
        "{transcript}"
    );
    // What went wrong is still said: the status, the code, the API's words.
    let rows = csv_rows(&fixture.results());
    let unknown = rows.iter().filter(|r| r["parent_id"] == "no-such-parent");
    assert_eq!(unknown.clone().count(), 4);
    for row in unknown {
        let error = &row["error"];
        assert!(
            error.starts_with(
                "HTTP 404 not_found: parent organization \"no-such-parent\" not found (echoed request: POST"
            ),
            "{row:?}"
        );
        assert!(
            error.contains("authorization: Bearer [redacted]"),
            "{row:?}"
        );
    }
    let summary = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    assert!(summary.contains("not_found"), "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_secret_is_not_quoted_back_by_any_command() {
    // The sandbox knows another secret: the canary the commands send is refused, and quoted.
    let sandbox = echoing("the-right-secret", Faults::default()).await;
    let fixture = Fixture::new(&customers(3));
    let dir = fixture.dir.path();
    let client_id = sandbox.sandbox.config().client_id.clone();
    let created = orgimport(
        &sandbox,
        dir,
        "the-right-secret",
        &["import", "customers.csv"],
    )
    .await;
    assert_eq!(created.status.code(), Some(0), "{}", text(&created.stderr));
    // Rows not imported yet, so that an import has something to send.
    std::fs::write(dir.join("more.csv"), customers(2)).unwrap();
    let commands: [&[&str]; 5] = [
        &["import", "more.csv", "--summary-json", "summary.json"],
        &["plan", "customers.csv"],
        &["verify", "customers.results.csv"],
        &["undo", "customers.results.csv", "--yes"],
        &["token"],
    ];
    for auth in ["post", "basic"] {
        for command in commands {
            let mut args = command.to_vec();
            args.extend(["-vv", "--client-auth", auth]);
            let out = orgimport(&sandbox, dir, CANARY, &args).await;
            let what = format!("{} --client-auth {auth}", command[0]);
            let all = assert_no_leak(&what, &out, dir, &credentials(&sandbox, &client_id, CANARY));
            assert_eq!(out.status.code(), Some(2), "{what}\n{all}");
            let stderr = text(&out.stderr);
            assert!(
                stderr.contains(
                    "refused the credentials: 401 invalid_client: client authentication failed"
                ),
                "{what}: {stderr}"
            );
            assert!(stderr.contains("(echoed request: POST"), "{what}: {stderr}");
            assert!(stderr.contains(REDACTED), "{what}: {stderr}");
        }
    }
    // Written once a run that fails before sending writes its summary too (issue 13, 5).
    let summary = std::fs::read_to_string(dir.join("summary.json")).expect("the summary JSON");
    assert!(summary.contains("invalid_client"), "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_verify_undo_and_token_repeat_no_credential_the_api_echoes() {
    // A fifth of all API requests refused with a 403 burst that quotes the request.
    let faults = Faults {
        seed: 11,
        forbidden_burst_rate: 0.2,
        ..Faults::default()
    };
    let sandbox = echoing(CANARY, faults).await;
    let fixture = Fixture::new(&customers(8));
    let dir = fixture.dir.path();
    let client_id = sandbox.sandbox.config().client_id.clone();
    let import = [
        "import",
        "customers.csv",
        "--max-attempts",
        "10",
        "--rate",
        "200",
    ];
    let out = orgimport(&sandbox, dir, CANARY, &import).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // One organization deleted (verify's read of it is answered 404), and one the import did
    // not make put under another (undo's delete of that one is refused).
    let rows = csv_rows(&fixture.results());
    let token = sandbox.token().await;
    let delete = || {
        sandbox
            .client
            .delete(sandbox.org_url(&rows[1]["org_id"]))
            .bearer_auth(&token)
    };
    // The sandbox refuses a fifth of requests: a few tries, never forever.
    let mut tries = 0;
    while !delete().send().await.unwrap().status().is_success() {
        tries += 1;
        assert!(tries < 50, "the delete was refused 50 times");
    }
    sandbox.sandbox.insert_organization(Organization {
        id: "someone-elses".into(),
        name: "Someone else's".into(),
        parent_id: Some(rows[0]["org_id"].clone()),
        ..Organization::default()
    });
    let mut all = String::new();
    for (command, said) in [
        ("verify", "HTTP 404 not_found: organization "),
        ("undo", "HTTP 400 bad_request: organization "),
    ] {
        let args = [
            command,
            "customers.results.csv",
            "--yes",
            "-vv",
            "--rate",
            "200",
        ];
        let args = if command == "verify" {
            [&args[..2], &args[3..]].concat()
        } else {
            args.to_vec()
        };
        let out = orgimport(&sandbox, dir, CANARY, &args).await;
        let forbidden = credentials(&sandbox, &client_id, CANARY);
        let output = assert_no_leak(command, &out, dir, &forbidden);
        assert_eq!(out.status.code(), Some(1), "{command}\n{output}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(said), "{command}\n{stderr}");
        assert!(
            stderr.contains("authorization: Bearer [redacted]"),
            "{command}\n{stderr}"
        );
        all += &output;
    }
    assert!(
        all.contains("has 1 child organizations; delete them first (echoed request: DELETE"),
        "undo says why the parent stayed\n{all}"
    );
    assert!(
        all.contains("retrying") && all.contains("HTTP 403 request_forbidden: request forbidden"),
        "a refusal was retried and logged\n{all}"
    );

    // Against a tenant that refuses every request: `plan` cannot list it and `token` cannot
    // read the template; both say why, quoting the refusal.
    let refusing = echoing(
        CANARY,
        Faults {
            forbidden_burst_rate: 1.0,
            ..Faults::default()
        },
    )
    .await;
    let client_id = refusing.sandbox.config().client_id.clone();
    let template = refusing.sandbox.config().template_id.clone();
    for (args, exit, said) in [
        (
            vec!["plan", "customers.csv", "--max-attempts", "1", "-vv"],
            2,
            "cannot list the tenant's existing organizations: HTTP 403 request_forbidden: ",
        ),
        (
            vec!["token", "-vv", "--template-id", &template],
            1,
            ": could not be read: HTTP 403 request_forbidden: request forbidden",
        ),
    ] {
        let out = orgimport(&refusing, dir, CANARY, &args).await;
        let forbidden = credentials(&refusing, &client_id, CANARY);
        let output = assert_no_leak(args[0], &out, dir, &forbidden);
        assert_eq!(out.status.code(), Some(exit), "{output}");
        assert!(output.contains(said), "{output}");
        assert!(
            output.contains("authorization: Bearer [redacted]"),
            "{output}"
        );
    }
}
