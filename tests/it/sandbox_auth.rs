//! The sandbox's token endpoint over real HTTP: client authentication, token errors and
//! expiry, and the scope an organization call needs.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use orgimport::sandbox::SandboxConfig;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::sandbox::{assert_api_error, status_json};
use crate::util::{TestSandbox, start_sandbox};

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
