//! The sandbox's organizations API over real HTTP: create, list, delete, idempotency.

use orgimport::sandbox::{Organization, SandboxConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::util::start_sandbox;

/// Status and parsed JSON body of a reply.
pub(crate) async fn status_json(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let body = res.json().await.expect("JSON body");
    (status, body)
}

/// Asserts a System API error reply: status, `error_code`, and a body in the documented shape.
pub(crate) async fn assert_api_error(res: reqwest::Response, status: u16, code: &str) -> Value {
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
async fn a_sandbox_that_ignores_idempotency_keys_creates_every_resend() {
    let ts = start_sandbox(SandboxConfig {
        ignore_idempotency_keys: true,
        ..SandboxConfig::default()
    })
    .await;
    let token = ts.token().await;
    let post = |key: &'static str| {
        ts.client
            .post(ts.orgs_url())
            .bearer_auth(&token)
            .header("x-idempotency-key", key)
            .json(&json!({"name": "Twice Inc"}))
            .send()
    };
    let key = "0123456789abcdef0123456789abcdef-row-1";
    for _ in 0..2 {
        let res = post(key).await.unwrap();
        assert!(res.headers().get("x-idempotent-replayed").is_none());
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    // Not even read: a key the sandbox would otherwise refuse passes.
    assert_eq!(post("short").await.unwrap().status(), StatusCode::CREATED);
    assert_eq!(ts.sandbox.commits_by_name()["Twice Inc"], 3);
    assert_eq!(ts.sandbox.stats().idempotent_replays, 0);
}
