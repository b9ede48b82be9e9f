//! The sandbox over real HTTP: tokens, organizations, idempotency, rate limit and faults.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use orgimport::sandbox::{Faults, Organization, RateLimit, SandboxConfig, Stats};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::util::{TestSandbox, start_sandbox};

/// Status and parsed JSON body of a reply.
async fn status_json(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let body = res.json().await.expect("JSON body");
    (status, body)
}

/// Asserts a System API error reply: status, `error_code`, and a body in the documented shape.
async fn assert_api_error(res: reqwest::Response, status: u16, code: &str) -> Value {
    assert!(res.headers().contains_key("x-trace-id"), "no X-Trace-ID");
    let (got, body) = status_json(res).await;
    assert_eq!(
        (got, body["error_code"].as_str()),
        (status, Some(code)),
        "{body}"
    );
    assert_eq!(body["status_code"], status, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    assert!(body["details"].is_object(), "{body}");
    body
}

/// Sends a token request with this form and optional Basic credentials.
async fn token_request(
    ts: &TestSandbox,
    form: &[(&str, &str)],
    basic: Option<String>,
) -> reqwest::Response {
    let mut req = ts.client.post(ts.token_url()).form(form);
    if let Some(b) = basic {
        req = req.header("authorization", format!("Basic {b}"));
    }
    req.send().await.expect("token request")
}

fn secret(ts: &TestSandbox) -> String {
    ts.sandbox.config().client_secret.expose_secret().to_owned()
}

#[tokio::test]
async fn token_by_client_secret_post_and_basic() {
    let ts = start_sandbox(SandboxConfig {
        client_id: "svc client-1".to_owned(),
        client_secret: SecretString::from("s3:cr+t/=%"),
        ..SandboxConfig::default()
    })
    .await;
    let id = ts.sandbox.config().client_id.clone();

    let post = [
        ("grant_type", "client_credentials"),
        ("client_id", id.as_str()),
        ("client_secret", "s3:cr+t/=%"),
        ("scope", "manage_organizations"),
    ];
    let (status, body) = status_json(token_request(&ts, &post, None).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["expires_in"], json!("3600"));
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["scope"], "manage_organizations");
    let token = body["access_token"].as_str().unwrap().to_owned();
    assert!(token.len() >= 32);

    // Basic, RFC 6749 2.3.1 style: form-urlencode id and secret, then base64.
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let encoded = STANDARD.encode(format!("{}:{}", enc(&id), enc("s3:cr+t/=%")));
    let form = [("grant_type", "client_credentials")];
    let (status, body) = status_json(token_request(&ts, &form, Some(encoded)).await).await;
    assert_eq!(status, 200, "{body}");
    // Without scope, the first allowed scope is granted.
    assert_eq!(body["scope"], "manage_organizations");
    assert_ne!(body["access_token"], json!(token));

    // Basic with the raw values, as many clients send it (unambiguous: no ':' in the id).
    let plain = STANDARD.encode(format!("{id}:s3:cr+t/=%"));
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", "manage_configuration manage_organizations"),
    ];
    let (status, body) = status_json(token_request(&ts, &form, Some(plain)).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "manage_configuration manage_organizations");

    // Each token works on the API.
    let res = ts
        .client
        .get(ts.orgs_url())
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let stats = ts.sandbox.stats();
    assert_eq!(
        (
            stats.token_requests,
            stats.tokens_issued,
            stats.token_rejections
        ),
        (3, 3, 0)
    );
    ts.stop().await;
}

#[tokio::test]
async fn token_errors() {
    let ts = start_sandbox(SandboxConfig::default()).await;
    let id = ts.sandbox.config().client_id.clone();
    let secret = secret(&ts);
    let oauth_error = |res: reqwest::Response, status: u16, error: &'static str| async move {
        let (got, body) = status_json(res).await;
        assert_eq!(
            (got, body["error"].as_str()),
            (status, Some(error)),
            "{body}"
        );
        assert!(body["error_description"].is_string(), "{body}");
    };

    let bad_secret = [
        ("grant_type", "client_credentials"),
        ("client_id", id.as_str()),
        ("client_secret", "wrong"),
    ];
    let res = token_request(&ts, &bad_secret, None).await;
    assert!(res.headers().contains_key("www-authenticate"));
    oauth_error(res, 401, "invalid_client").await;

    let bad_basic = STANDARD.encode(format!("{id}:wrong"));
    let form = [("grant_type", "client_credentials")];
    let res = token_request(&ts, &form, Some(bad_basic)).await;
    oauth_error(res, 401, "invalid_client").await;

    let no_auth = [("grant_type", "client_credentials")];
    oauth_error(
        token_request(&ts, &no_auth, None).await,
        401,
        "invalid_client",
    )
    .await;

    let bad_scope = [
        ("grant_type", "client_credentials"),
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
        ("scope", "manage_organizations view_clients"),
    ];
    oauth_error(
        token_request(&ts, &bad_scope, None).await,
        400,
        "invalid_scope",
    )
    .await;

    let bad_grant = [
        ("grant_type", "password"),
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    let res = token_request(&ts, &bad_grant, None).await;
    oauth_error(res, 400, "unsupported_grant_type").await;

    let both = [
        ("grant_type", "client_credentials"),
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    let basic = STANDARD.encode(format!("{id}:{secret}"));
    let res = token_request(&ts, &both, Some(basic)).await;
    oauth_error(res, 400, "invalid_request").await;

    let res = ts
        .client
        .post(format!("{}/other/system/oauth2/token", ts.base_url))
        .form(&both)
        .send()
        .await
        .unwrap();
    oauth_error(res, 404, "not_found").await;

    let stats = ts.sandbox.stats();
    assert_eq!((stats.tokens_issued, stats.token_rejections), (0, 7));
}

#[tokio::test]
async fn expires_in_as_number_and_discovery() {
    let ts = start_sandbox(SandboxConfig {
        expires_in_as_string: false,
        token_lifetime: Duration::from_secs(600),
        ..SandboxConfig::default()
    })
    .await;
    let id = ts.sandbox.config().client_id.clone();
    let secret = secret(&ts);
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    let (_, body) = status_json(token_request(&ts, &form, None).await).await;
    assert_eq!(body["expires_in"], json!(600));

    let url = format!(
        "{}/demo/system/.well-known/openid-configuration",
        ts.base_url
    );
    let (status, body) = status_json(ts.client.get(url).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(body["issuer"], format!("{}/demo/system", ts.base_url));
    assert_eq!(body["token_endpoint"], ts.token_url());
}

#[tokio::test]
async fn a_token_without_an_organization_scope_is_403() {
    let ts = start_sandbox(SandboxConfig {
        allowed_scopes: vec!["view_clients".to_owned()],
        ..SandboxConfig::default()
    })
    .await;
    let token = ts.token().await;
    let res = ts
        .client
        .get(ts.orgs_url())
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_api_error(res, 403, "insufficient_scope").await;
}

#[tokio::test]
async fn expired_missing_and_unknown_tokens_are_401() {
    let ts = start_sandbox(SandboxConfig {
        token_lifetime: Duration::from_secs(1),
        ..SandboxConfig::default()
    })
    .await;
    let token = ts.token().await;
    let list = |token: Option<&str>| {
        let req = ts.client.get(ts.orgs_url());
        match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
        .send()
    };
    assert_eq!(list(Some(&token)).await.unwrap().status(), 200);
    assert_api_error(list(None).await.unwrap(), 401, "invalid_access_token").await;
    let res = list(Some("not-a-token")).await.unwrap();
    assert_api_error(res, 401, "invalid_access_token").await;

    tokio::time::sleep(Duration::from_millis(1200)).await;
    let body = assert_api_error(
        list(Some(&token)).await.unwrap(),
        401,
        "invalid_access_token",
    )
    .await;
    assert!(
        body["error"].as_str().unwrap().contains("expired"),
        "{body}"
    );
    assert_eq!(ts.sandbox.stats().unauthorized, 3);
}

#[tokio::test]
async fn create_inherits_from_the_template() {
    let ts = start_sandbox(SandboxConfig::default()).await;
    let token = ts.token().await;
    let res = ts
        .create(
            &token,
            &json!({
                "name": "acme-corp-001",
                "displayName": "ACME Corporation",
                "email": "contact@acme.com",
                "description": "ACME Corporation - Global Manufacturing",
                "template_id": "b2b-customer-template",
                "metadata": {"payload": {"salesforceId": "001xx", "region": "North America"}}
            }),
        )
        .await
        .unwrap();
    let trace = res.headers()["x-trace-id"].to_str().unwrap().to_owned();
    assert_eq!(trace.len(), 32);
    let (status, org) = status_json(res).await;
    assert_eq!(status, 201, "{org}");
    let id = org["id"].as_str().unwrap();
    assert!(
        id.len() == 32
            && id
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        "{id}"
    );
    assert_eq!(org["name"], "acme-corp-001");
    assert_eq!(org["issuer_url"], format!("{}/demo/{id}", ts.base_url));
    assert_eq!(
        org["authentication_mechanisms"],
        json!(["password", "totp", "webauthn"])
    );
    assert_eq!(
        org["metadata"]["payload"],
        json!({"salesforceId": "001xx", "region": "North America"})
    );
    let schema = &org["metadata"]["schema"]["properties"];
    assert!(schema["orgEntitlements"].is_object(), "{org}");
    assert_eq!(org["template"], false);
    assert_eq!(org["deactivated"], false);
    assert_eq!(org["number_of_child_organizations"], 0);
    assert_eq!(org["subject_format"], "");
    assert_eq!(org["theme_id"], Value::Null);
    assert_eq!(org["domains"], Value::Null);
    for absent in ["template_id", "displayName", "email", "parent_id"] {
        assert!(org.get(absent).is_none(), "{absent} in {org}");
    }

    // The request's own mechanisms and schema win over the template's.
    let (status, own) = status_json(
        ts.create(
            &token,
            &json!({"id": "own", "name": "Own", "template_id": "b2b-customer-template",
                "authentication_mechanisms": ["sms_otp"], "metadata": {"schema": {"type": "object"}}}),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{own}");
    assert_eq!(own["authentication_mechanisms"], json!(["sms_otp"]));
    assert_eq!(own["metadata"]["schema"], json!({"type": "object"}));

    let (status, got) = status_json(
        ts.client
            .get(ts.org_url(id))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, &got), (200, &org));

    assert_eq!(ts.sandbox.commits_by_name()["acme-corp-001"], 1);
    assert_eq!(ts.sandbox.commits_by_id()[id], 1);
    let stats = ts.sandbox.stats();
    assert_eq!(
        (
            stats.create_requests,
            stats.creates_committed,
            stats.organizations
        ),
        (2, 2, 2)
    );
}

#[tokio::test]
async fn create_errors() {
    let ts = start_sandbox(SandboxConfig::default()).await;
    let token = ts.token().await;
    let mut existing = Organization::new("existing", "Existing Inc");
    existing.description = "there before the import".to_owned();
    ts.sandbox.insert_organization(existing);

    let (ts_ref, token_ref) = (&ts, &token);
    let create = move |body: Value| async move { ts_ref.create(token_ref, &body).await };
    let res = create(json!({"id": "existing", "name": "Again"}))
        .await
        .unwrap();
    let body = assert_api_error(res, 409, "conflict").await;
    assert_eq!(body["details"]["id"], "existing");

    let res = create(json!({"name": "a", "template_id": "nope"}))
        .await
        .unwrap();
    assert_api_error(res, 404, "not_found").await;
    // An organization that is not a template cannot serve as one.
    let res = create(json!({"name": "a", "template_id": "existing"}))
        .await
        .unwrap();
    assert_api_error(res, 404, "not_found").await;
    let res = create(json!({"name": "a", "parent_id": "nope"}))
        .await
        .unwrap();
    assert_api_error(res, 404, "not_found").await;

    let res = create(json!({"id": "has space", "name": "a"}))
        .await
        .unwrap();
    let body = assert_api_error(res, 422, "invalid_request").await;
    assert_eq!(body["details"]["field"], "id");
    let res = create(json!({"id": "x".repeat(256), "name": "a"}))
        .await
        .unwrap();
    assert_api_error(res, 422, "invalid_request").await;
    let res = create(json!({"displayName": "no name"})).await.unwrap();
    let body = assert_api_error(res, 422, "invalid_request").await;
    assert_eq!(body["details"]["field"], "name");
    let res = create(json!({"name": "a", "authentication_mechanisms": ["sms"]}))
        .await
        .unwrap();
    assert_api_error(res, 422, "invalid_request").await;

    let res = ts
        .client
        .post(ts.orgs_url())
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_api_error(res, 400, "bad_request").await;

    let res = ts
        .client
        .post(format!("{}/api/system/other/organizations", ts.base_url))
        .bearer_auth(&token)
        .json(&json!({"name": "a"}))
        .send()
        .await
        .unwrap();
    assert_api_error(res, 404, "not_found").await;

    // A child counts in its parent.
    let (status, _) = status_json(
        create(json!({"id": "kid", "name": "Kid", "parent_id": "existing"}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201);
    let parent = ts.sandbox.organization("existing").unwrap();
    assert_eq!(parent.number_of_child_organizations, 1);

    let stats = ts.sandbox.stats();
    assert_eq!((stats.create_requests, stats.creates_committed), (10, 1));
    let commits = ts.sandbox.commits_by_name();
    assert_eq!(commits.get("Existing Inc"), None, "insert is not a commit");
    assert_eq!(commits.len(), 1, "{commits:?}");
}

#[tokio::test]
async fn list_pages_searches_and_filters() {
    let ts = start_sandbox(SandboxConfig::default()).await;
    let token = ts.token().await;
    for (id, name) in [
        ("org-1", "Acme Corp"),
        ("org-2", "Globex"),
        ("org-3", "ACME Labs"),
        ("org-4", "Initech"),
        ("org-5", "Umbrella"),
    ] {
        let res = ts
            .create(&token, &json!({"id": id, "name": name}))
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }
    let list = |query: &'static str| {
        let url = format!("{}?{query}", ts.orgs_url());
        let req = ts.client.get(url).bearer_auth(&token);
        async move {
            let (status, body) = status_json(req.send().await.unwrap()).await;
            assert_eq!(status, 200, "{query}: {body}");
            body["organizations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list("template=false&limit=2").await, ["org-1", "org-2"]);
    assert_eq!(
        list("template=false&limit=2&after_organization_id=org-2").await,
        ["org-3", "org-4"]
    );
    assert_eq!(
        list("template=false&limit=2&after_organization_id=org-4").await,
        ["org-5"]
    );
    assert_eq!(list("search_phrase=acme").await, ["org-1", "org-3"]);
    assert_eq!(list("search_phrase=org-4").await, ["org-4"]);
    assert_eq!(list("search_phrase=org").await, Vec::<String>::new());
    assert_eq!(list("template=true").await, ["b2b-customer-template"]);
    assert_eq!(list("").await.len(), 6);

    let res = ts
        .client
        .get(format!("{}?limit=0", ts.orgs_url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_api_error(res, 400, "bad_request").await;
}

#[tokio::test]
async fn delete_removes_and_refuses_parents() {
    let ts = start_sandbox(SandboxConfig::default()).await;
    let token = ts.token().await;
    for body in [
        json!({"id": "parent", "name": "P"}),
        json!({"id": "child", "name": "C", "parent_id": "parent"}),
    ] {
        assert_eq!(ts.create(&token, &body).await.unwrap().status(), 201);
    }
    let delete = |id: &'static str| ts.client.delete(ts.org_url(id)).bearer_auth(&token).send();
    let res = delete("parent").await.unwrap();
    let body = assert_api_error(res, 400, "bad_request").await;
    assert_eq!(body["details"]["number_of_child_organizations"], 1);

    let res = delete("child").await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(res.headers().contains_key("x-trace-id"));
    assert_api_error(delete("child").await.unwrap(), 404, "not_found").await;
    let res = ts
        .client
        .get(ts.org_url("child"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_api_error(res, 404, "not_found").await;
    assert_eq!(delete("parent").await.unwrap().status(), 204);
    assert_eq!(ts.sandbox.stats().organizations, 0);
}

#[tokio::test]
async fn idempotency_key_replays_instead_of_creating() {
    let ts = start_sandbox(SandboxConfig::default()).await;
    let token = ts.token().await;
    let key = "0123456789abcdef0123456789abcdef-row-1";
    let post = |body: Value, key: &'static str| {
        ts.client
            .post(ts.orgs_url())
            .bearer_auth(&token)
            .header("x-idempotency-key", key)
            .json(&body)
            .send()
    };
    let body = json!({"name": "Replayed Inc"});
    let first = post(body.clone(), key).await.unwrap();
    assert!(first.headers().get("x-idempotent-replayed").is_none());
    let (status, first) = status_json(first).await;
    assert_eq!(status, 201);

    let again = post(body.clone(), key).await.unwrap();
    assert_eq!(again.headers()["x-idempotent-replayed"], "true");
    let (status, again) = status_json(again).await;
    assert_eq!((status, &again), (201, &first));

    let res = post(json!({"name": "Other Inc"}), key).await.unwrap();
    assert_api_error(res, 422, "invalid_request").await;
    let res = post(body.clone(), "too-short").await.unwrap();
    assert_api_error(res, 400, "bad_request").await;

    assert_eq!(ts.sandbox.commits_by_name()["Replayed Inc"], 1);
    let stats = ts.sandbox.stats();
    assert_eq!(
        (
            stats.idempotent_replays,
            stats.creates_committed,
            stats.organizations
        ),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let ts = start_sandbox(SandboxConfig {
        rate_limit: Some(RateLimit {
            per_second: NonZeroU32::new(1).unwrap(),
            burst: NonZeroU32::new(2).unwrap(),
        }),
        ..SandboxConfig::default()
    })
    .await;
    let token = ts.token().await;
    let mut statuses = Vec::new();
    let mut limited = None;
    for _ in 0..3 {
        let res = ts
            .client
            .get(ts.orgs_url())
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
        if res.status() == 429 {
            limited = Some(res);
        }
    }
    assert_eq!(statuses, [200, 200, 429]);
    let res = limited.unwrap();
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert_api_error(res, 429, "too_many_requests").await;
    // The token endpoint and the inspection endpoints are not limited.
    ts.token().await;
    let res = ts
        .client
        .get(format!("{}/_sandbox/stats", ts.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let stats = ts.sandbox.stats();
    assert_eq!((stats.rate_limited, stats.api_requests), (1, 3));
}

#[tokio::test]
async fn error_rate_fails_before_commit() {
    let ts = start_sandbox(SandboxConfig {
        faults: Faults {
            seed: 1,
            error_rate: 1.0,
            ..Faults::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    let token = ts.token().await;
    let mut seen = Vec::new();
    for i in 0..6 {
        let res = ts
            .create(&token, &json!({"id": format!("e{i}"), "name": "Failing"}))
            .await
            .unwrap();
        let status = res.status().as_u16();
        let code = match status {
            500 => "internal_server_error",
            503 => "service_unavailable",
            other => panic!("expected 500 or 503, got {other}"),
        };
        assert_api_error(res, status, code).await;
        seen.push(status);
    }
    assert!(seen.contains(&500) && seen.contains(&503), "{seen:?}");
    assert!(ts.sandbox.commits_by_name().is_empty());
    let stats = ts.sandbox.stats();
    assert_eq!(
        (
            stats.creates_committed,
            stats.faults_injected,
            stats.organizations
        ),
        (0, 6, 0)
    );
    // Reads are not affected.
    let res = ts
        .client
        .get(ts.orgs_url())
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn commit_then_fail_answers_502_or_drops_the_connection() {
    let ts = start_sandbox(SandboxConfig {
        faults: Faults {
            seed: 7,
            commit_then_fail_rate: 1.0,
            ..Faults::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    let token = ts.token().await;
    let (mut bad_gateway, mut dropped) = (0, 0);
    for i in 0..8 {
        let id = format!("ctf-{i}");
        match ts
            .create(&token, &json!({"id": id, "name": "Ambiguous"}))
            .await
        {
            Ok(res) => {
                assert_api_error(res, 502, "bad_gateway").await;
                bad_gateway += 1;
            }
            Err(e) => {
                assert!(e.status().is_none() && !e.is_timeout(), "{e:?}");
                dropped += 1;
            }
        }
        assert!(ts.sandbox.organization(&id).is_some(), "{id} not committed");
    }
    assert!(
        bad_gateway > 0 && dropped > 0,
        "{bad_gateway} 502s, {dropped} drops"
    );

    // A retry with the idempotency key learns the organization exists, without a duplicate.
    let key = "ctf-key-0123456789abcdef0123456789abcdef";
    let post = || {
        ts.client
            .post(ts.orgs_url())
            .bearer_auth(&token)
            .header("x-idempotency-key", key)
            .json(&json!({"id": "keyed", "name": "Keyed"}))
            .send()
    };
    let first = post().await;
    assert!(first.map_or(true, |r| r.status() == 502));
    let retry = post().await.unwrap();
    assert_eq!(retry.headers()["x-idempotent-replayed"], "true");
    assert_eq!(retry.status(), 201);

    assert_eq!(ts.sandbox.commits_by_name()["Ambiguous"], 8);
    assert_eq!(ts.sandbox.commits_by_name()["Keyed"], 1);
    let stats = ts.sandbox.stats();
    assert_eq!((stats.creates_committed, stats.faults_injected), (9, 9));
}

#[tokio::test]
async fn forbidden_bursts_refuse_any_api_request() {
    let ts = start_sandbox(SandboxConfig {
        faults: Faults {
            forbidden_burst_rate: 1.0,
            ..Faults::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    let token = ts.token().await;
    let res = ts
        .create(&token, &json!({"name": "Blocked"}))
        .await
        .unwrap();
    assert_api_error(res, 403, "request_forbidden").await;
    let res = ts
        .client
        .get(ts.orgs_url())
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_api_error(res, 403, "request_forbidden").await;
    assert!(ts.sandbox.commits_by_name().is_empty());
    let stats = ts.sandbox.stats();
    assert_eq!(
        (
            stats.create_requests,
            stats.faults_injected,
            stats.api_requests
        ),
        (0, 2, 2)
    );
}

#[tokio::test]
async fn slow_commit_outlives_the_client_timeout_and_latency_delays_replies() {
    let ts = start_sandbox(SandboxConfig {
        faults: Faults {
            slow_commit_rate: 1.0,
            slow_commit_delay: Duration::from_millis(500),
            latency: Duration::from_millis(100),
            latency_jitter: Duration::from_millis(50),
            ..Faults::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    let token = ts.token().await;

    let started = Instant::now();
    let res = ts
        .client
        .get(ts.orgs_url())
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(100), "{took:?}");

    let err = ts
        .client
        .post(ts.orgs_url())
        .bearer_auth(&token)
        .timeout(Duration::from_millis(250))
        .json(&json!({"id": "slow", "name": "Slow"}))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(ts.sandbox.organization("slow").is_some());
    assert_eq!(ts.sandbox.stats().faults_injected, 1);
}

#[tokio::test]
async fn inspection_endpoints_and_error_shapes() {
    let ts = start_sandbox(SandboxConfig::default()).await;
    let token = ts.token().await;
    assert_eq!(
        ts.create(&token, &json!({"id": "a", "name": "A"}))
            .await
            .unwrap()
            .status(),
        201
    );
    let stats: Stats = ts
        .client
        .get(format!("{}/_sandbox/stats", ts.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats, ts.sandbox.stats());
    assert_eq!((stats.organizations, stats.creates_committed), (1, 1));

    let (status, body) = status_json(
        ts.client
            .get(format!("{}/_sandbox/organizations", ts.base_url))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let orgs = body["organizations"].as_array().unwrap();
    let flags: Vec<_> = orgs.iter().map(|o| (&o["id"], &o["template"])).collect();
    assert_eq!(
        flags,
        [
            (&json!("a"), &json!(false)),
            (&json!("b2b-customer-template"), &json!(true))
        ]
    );
    assert_eq!(ts.sandbox.organizations().len(), 2);

    let res = ts
        .client
        .patch(ts.org_url("a"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_api_error(res, 405, "method_not_allowed").await;
    let res = ts
        .client
        .get(format!("{}/api/nowhere", ts.base_url))
        .send()
        .await
        .unwrap();
    assert_api_error(res, 404, "not_found").await;
    ts.stop().await;
}
