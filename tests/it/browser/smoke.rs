//! The browser harness itself, on a small page of its own: a labelled input, a button, a
//! status line and a download.

use std::time::Duration;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use fantoccini::Locator;

use super::Browser;

const PAGE: &str = r#"<!doctype html><html lang="en"><title>harness</title>
<label for="f">Customer file</label><input id="f" type="file">
<button id="go" type="button">Continue</button>
<p role="status" id="s">waiting</p>
<script>
document.getElementById('go').onclick = () => {
  const f = document.getElementById('f').files[0];
  document.getElementById('s').textContent = f ? 'chose ' + f.name : 'no file';
};
</script>"#;

/// A file chosen through the input labelled "Customer file" reaches the page, the button is
/// found by its accessible name, and a screenshot is a PNG.
#[tokio::test]
async fn the_harness_finds_controls_by_accessible_name_and_uploads_a_file() {
    let Some(browser) = Browser::start("browser harness").await else {
        return;
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let app = Router::new().route("/", get(|| async { Html(PAGE) }));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    browser.client.goto(&url).await.unwrap();
    let input = browser.by_name("input", "Customer file").await;
    let sample = super::repo_file("samples/customers.csv");
    input.send_keys(&sample.to_string_lossy()).await.unwrap();
    browser
        .by_name("button", "Continue")
        .await
        .click()
        .await
        .unwrap();
    browser
        .wait_for(
            "the page saw the file",
            Duration::from_secs(10),
            "return document.querySelector('[role=status]').textContent === 'chose customers.csv'",
        )
        .await;
    let status = browser
        .client
        .find(Locator::Css("[role=status]"))
        .await
        .unwrap();
    assert_eq!(status.text().await.unwrap(), "chose customers.csv");
    browser.screenshot("harness").await;
    browser.close().await;
    server.abort();
}
