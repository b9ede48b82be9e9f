//! The console's security layer: the token, the cookie, the Host, the Origin, and the
//! command's printed URL.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use reqwest::header::{COOKIE, ORIGIN, SET_COOKIE};
use reqwest::{Method, StatusCode};

use super::{refused, start, start_with};

#[tokio::test]
async fn without_the_token_nothing_is_served() {
    let console = start_with(|_| {}).await;
    let page = console.get("/").await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    assert!(page.text().await.unwrap().contains("open the URL"));
    for path in ["/api/file", "/assets/app.js", "/part/file"] {
        let reply = console.get(path).await;
        assert_eq!(reply.status(), StatusCode::FORBIDDEN, "{path}");
    }
    refused(console.get("/api/file").await, StatusCode::FORBIDDEN).await;
    // A cookie of the right name but another value is no better.
    let forged = console
        .client
        .get(format!("{}/", console.base))
        .header(COOKIE, format!("orgimport_console_{}=guess", console.port))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_wrong_token_is_refused_and_the_right_one_still_works_after() {
    let mut console = start_with(|_| {}).await;
    let wrong = console
        .client
        .get(format!("{}/?token=not-{}", console.base, console.token))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    assert!(wrong.headers().get(SET_COOKIE).is_none());
    console.login().await;
    assert_eq!(console.get("/").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_token_becomes_a_strict_http_only_cookie_and_the_address_bar_drops_it() {
    let console = start_with(|_| {}).await;
    let reply = console
        .client
        .get(format!("{}/?token={}", console.base, console.token))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::SEE_OTHER);
    assert_eq!(reply.headers()["location"], "/");
    let cookie = reply.headers()[SET_COOKIE].to_str().unwrap();
    let name = format!("orgimport_console_{}=", console.port);
    assert!(cookie.starts_with(&name), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    // The cookie is not the token: the URL's token opens nothing more than the cookie does.
    assert!(!cookie.contains(&console.token), "{cookie}");
}

#[tokio::test]
async fn the_token_opens_the_page_again_for_the_consoles_life_and_no_other_token_does() {
    let console = start().await;
    let url = format!("{}/?token={}", console.base, console.token);
    // The browser closed and opened again (no cookie left), with the printed URL: the run
    // it left is shown again.
    let again = console.client.get(&url).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    let cookie = again.headers()[SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with(&format!("orgimport_console_{}=", console.port)));
    // A token one character off opens nothing.
    let mut wrong = console.token.clone();
    let last = if wrong.ends_with('a') { 'b' } else { 'a' };
    wrong.pop();
    wrong.push(last);
    let url = format!("{}/?token={wrong}", console.base);
    let refused = console.client.get(&url).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.headers().get(SET_COOKIE).is_none());
    // The browser that opened it, opening it again: to the page.
    let same = console.get(&format!("/?token={}", console.token)).await;
    assert_eq!(same.status(), StatusCode::SEE_OTHER);
    assert!(same.headers().get(SET_COOKIE).is_none());
}

#[tokio::test]
async fn a_request_for_another_host_is_refused_even_with_the_cookie() {
    let console = start().await;
    let port = console.port;
    for host in [
        format!("evil.example:{port}"),
        format!("127.0.0.1:{}", port.wrapping_add(1)),
        "127.0.0.1".to_string(),
        format!("127.0.0.1.nip.io:{port}"),
    ] {
        let reply = console
            .with_host(Method::GET, "/", &host)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::FORBIDDEN, "{host}");
        assert!(reply.text().await.unwrap().contains("Host"), "{host}");
    }
    // DNS rebinding also hands the token to the attacker's name: still refused.
    let fresh = start_with(|_| {}).await;
    let reply = fresh
        .client
        .get(format!("{}/?token={}", fresh.base, fresh.token))
        .header("host", format!("evil.example:{}", fresh.port))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::FORBIDDEN);
    // localhost is this machine too.
    let reply = console
        .with_host(Method::GET, "/", &format!("localhost:{port}"))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_change_from_another_origin_or_none_is_refused() {
    let console = start().await;
    let cookie = console.cookie.clone().unwrap();
    for origin in [
        Some("http://evil.example".to_string()),
        Some(format!("http://127.0.0.1:{}", console.port.wrapping_add(1))),
        Some("null".to_string()),
        None,
    ] {
        let mut request = console
            .client
            .put(format!("{}/api/file?name=a.csv", console.base))
            .header(COOKIE, &cookie)
            .body("name\nAcme\n");
        if let Some(origin) = &origin {
            request = request.header(ORIGIN, origin);
        }
        let error = refused(request.send().await.unwrap(), StatusCode::FORBIDDEN).await;
        assert!(error.contains("Origin"), "{origin:?}: {error}");
    }
    assert!(console.files().is_empty(), "{:?}", console.files());
    // The console's own origin passes.
    let own = console.upload("a.csv", b"name\nAcme\n".to_vec()).await;
    assert_eq!(own.status(), StatusCode::OK);
}

#[tokio::test]
async fn every_reply_forbids_framing_foreign_scripts_referrers_and_caching() {
    let console = start().await;
    for reply in [
        console.get("/").await,
        start_with(|_| {}).await.get("/").await,
    ] {
        let headers = reply.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["cache-control"], "no-store");
    }
}

/// The command itself: one URL on stdout, to 127.0.0.1, that opens the page; `--open`
/// without an opener is a warning, not a failure.
#[tokio::test]
async fn the_command_prints_one_url_that_opens_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_orgimport"))
        .args(["console", "--sandbox", "--open", "--dir"])
        .arg(dir.path())
        .env("PATH", "")
        .env_remove("ORGIMPORT_CLIENT_SECRET")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().to_string();
    let rest = url.strip_prefix("http://127.0.0.1:").expect(&url);
    let (port, token) = rest.split_once("/?token=").expect(&url);
    assert!(port.parse::<u16>().is_ok_and(|p| p > 0), "{url}");
    assert!(token.len() >= 40, "{url}");
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let reply = client.get(&url).send().await.unwrap();
    let status = reply.status();
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    assert_eq!(status, StatusCode::SEE_OTHER);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot open a browser"), "{stderr}");
}

#[tokio::test]
async fn without_a_tenant_the_command_says_what_import_says() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_orgimport"))
        .args(["console", "--dir"])
        .arg(dir.path())
        .current_dir(dir.path())
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no tenant given") && stderr.contains("use --sandbox"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

#[tokio::test]
async fn bad_requests_get_a_json_4xx_never_a_panic() {
    let console = start().await;
    let reply = console
        .request(Method::POST, "/api/columns")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert!(reply.status().is_client_error(), "{}", reply.status());
    let body: serde_json::Value = reply.json().await.unwrap();
    assert!(body["error"].as_str().is_some(), "{body}");
    let error = refused(
        console.get("/api/nothing-here").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(error.contains("/api/nothing-here"), "{error}");
    refused(console.get("/part/nothing").await, StatusCode::NOT_FOUND).await;
    let reply = console.get("/api/review?page=minus-one").await;
    assert_eq!(reply.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = reply.json().await.unwrap();
    assert!(body["error"].as_str().is_some(), "{body}");
}
