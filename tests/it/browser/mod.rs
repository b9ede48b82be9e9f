//! A real browser for the tests of the console: headless Chromium driven through ChromeDriver
//! (fantoccini speaks WebDriver to it), each test with its own driver, profile and window.
//!
//! Where Chromium or ChromeDriver is missing the browser tests say so and pass without running,
//! so that `cargo test` works on a machine without them; with `ORGIMPORT_REQUIRE_BROWSER=1`
//! (set by `.ci/run`, which installs both) a missing browser fails the test instead.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

mod console_flow;

/// The Chromium and ChromeDriver programs Debian installs (packages `chromium` and
/// `chromium-driver`), unless `CHROMIUM` / `CHROMEDRIVER` name others.
fn programs() -> Option<(PathBuf, PathBuf)> {
    let find = |var: &str, default: &str| {
        let path = std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from);
        path.is_file().then_some(path)
    };
    Some((
        find("CHROMIUM", "/usr/bin/chromium")?,
        find("CHROMEDRIVER", "/usr/bin/chromedriver")?,
    ))
}

/// A headless Chromium, its ChromeDriver and a WebDriver session; all ended when dropped.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    /// ChromeDriver, which ends Chromium with the session.
    driver: Child,
    /// Chromium's profile, empty at the start; downloads go to its `downloads` folder.
    profile: tempfile::TempDir,
    /// Where screenshots go (`ORGIMPORT_SCREENSHOTS`), if anywhere.
    screenshots: Option<PathBuf>,
}

impl Browser {
    /// Starts a browser, or `None` (with a line saying why) where Chromium is not installed
    /// and `ORGIMPORT_REQUIRE_BROWSER` is not set.
    pub async fn start(test: &str) -> Option<Browser> {
        let Some((chromium, chromedriver)) = programs() else {
            assert!(
                std::env::var_os("ORGIMPORT_REQUIRE_BROWSER").is_none(),
                "{test}: Chromium and ChromeDriver are required (ORGIMPORT_REQUIRE_BROWSER is \
                 set) but missing: apt-get install chromium chromium-driver"
            );
            eprintln!(
                "{test}: skipped: no Chromium here (apt-get install chromium chromium-driver)"
            );
            return None;
        };
        let port = free_port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().expect("a profile folder");
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": chromium,
                // Headless, and quiet on a machine without a network: no background
                // connections, no first-run pages, no sync.
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": {
                    "download.default_directory": profile.path().join("downloads"),
                    "download.prompt_for_download": false,
                },
            }
        });
        let capabilities = match capabilities {
            serde_json::Value::Object(map) => map,
            _ => unreachable!("an object"),
        };
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("{test}: no WebDriver session within 30 s: {e}"),
            }
        };
        Some(Browser {
            client,
            driver,
            profile,
            screenshots: std::env::var_os("ORGIMPORT_SCREENSHOTS").map(PathBuf::from),
        })
    }

    /// Saves a screenshot of the window as `NAME.png` where `ORGIMPORT_SCREENSHOTS` says
    /// (the README's pictures are made so), and checks that one can be taken at all.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a screenshot is a PNG");
        if let Some(dir) = &self.screenshots {
            std::fs::create_dir_all(dir).expect("the screenshots folder");
            std::fs::write(dir.join(format!("{name}.png")), png).expect("write the screenshot");
        }
    }

    /// The element whose accessible name is `name` (as assistive technology computes it)
    /// among those `css` selects, waiting up to 10 s for it to appear.
    pub async fn by_name(&self, css: &str, name: &str) -> Element {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            for element in self
                .client
                .find_all(Locator::Css(css))
                .await
                .unwrap_or_default()
            {
                if accessible_name(&self.client, &element).await.as_deref() == Some(name) {
                    return element;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no `{css}` named {name:?} within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The region (a `section` named by its heading, as assistive technology lists a page's
    /// regions) whose accessible name is `name`, waiting up to 10 s for it.
    pub async fn region(&self, name: &str) -> Element {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            for element in self
                .client
                .find_all(Locator::Css("section, [role=region]"))
                .await
                .unwrap_or_default()
            {
                if accessible_name(&self.client, &element).await.as_deref() == Some(name) {
                    return element;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no region named {name:?} within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The element whose accessible name is `name` among those `css` selects in the region
    /// named `region` (where the page has more than one control of that name), waiting up to
    /// 10 s for it.
    pub async fn in_region(&self, region: &str, css: &str, name: &str) -> Element {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            // Found again each time: the page replaces a section when it changes.
            let within = self.region(region).await;
            for element in within.find_all(Locator::Css(css)).await.unwrap_or_default() {
                if accessible_name(&self.client, &element).await.as_deref() == Some(name) {
                    return element;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no `{css}` named {name:?} in {region:?} within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The text of the elements `css` selects in the region named `region`, one per line.
    pub async fn texts(&self, region: &str, css: &str) -> String {
        let within = self.region(region).await;
        let mut texts = Vec::new();
        for element in within.find_all(Locator::Css(css)).await.unwrap_or_default() {
            texts.push(element.text().await.unwrap_or_default());
        }
        texts.join("\n")
    }

    /// Waits up to `within` for the text of an element `css` selects in the region `region`
    /// to hold `wanted`, and hands back that text.
    pub async fn wait_text(
        &self,
        region: &str,
        css: &str,
        wanted: &str,
        within: Duration,
    ) -> String {
        let deadline = Instant::now() + within;
        loop {
            let texts = self.texts(region, css).await;
            if let Some(text) = texts.lines().find(|t| t.contains(wanted)) {
                return text.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "{region}: no `{css}` says {wanted:?} within {within:?}; they say {texts:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Brings the region named `region` to the top of the window (for a screenshot of it).
    pub async fn show(&self, region: &str) {
        let element = self.region(region).await;
        let element = serde_json::to_value(&element).expect("an element reference");
        self.client
            .execute("arguments[0].scrollIntoView();", vec![element])
            .await
            .expect("scroll the region into view");
    }

    /// Waits up to `within` for a download to finish, and hands back the file.
    pub async fn downloaded(&self, within: Duration) -> PathBuf {
        let folder = self.profile.path().join("downloads");
        let deadline = Instant::now() + within;
        loop {
            let done = std::fs::read_dir(&folder)
                .into_iter()
                .flatten()
                .flatten()
                .find(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    // Chromium writes a download as NAME.crdownload, renamed when complete.
                    !name.ends_with(".crdownload") && e.metadata().is_ok_and(|m| m.len() > 0)
                });
            if let Some(entry) = done {
                return entry.path();
            }
            assert!(
                Instant::now() < deadline,
                "no download finished in {} within {within:?}",
                folder.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Ends the session (and with it Chromium) and ChromeDriver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A failed test drops the browser without `close`: ChromeDriver must not outlive it.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// An element's accessible name, as Chromium computes it (WebDriver's Get Computed Label).
pub async fn accessible_name(client: &Client, element: &Element) -> Option<String> {
    let label = ComputedLabel(element.element_id().to_string());
    match client.issue_cmd(label).await {
        Ok(serde_json::Value::String(name)) => Some(name),
        _ => None,
    }
}

/// WebDriver's Get Computed Label, which fantoccini does not wrap.
#[derive(Debug)]
struct ComputedLabel(String);

impl fantoccini::wd::WebDriverCompatibleCommand for ComputedLabel {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let session = session.unwrap_or_default();
        base.join(&format!(
            "session/{session}/element/{}/computedlabel",
            self.0
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        (axum::http::Method::GET, None)
    }
}

/// A port free on 127.0.0.1 at the time of asking, for ChromeDriver (which cannot be handed a
/// bound socket).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// The path of a file of the repository.
pub fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}
