//! What crosses the network, against hostile servers over HTTP: no credential follows a
//! redirect to another origin and no redirected write is taken for done; plain http to
//! another host is refused unless allowed; replies are bounded.

use orgimport::record::Status;
use orgimport::sandbox::SandboxConfig;
use serde_json::json;

use crate::fixture::{Fixture, customers, import_with};
use crate::hostile::{self, Hostile, json as reply, redirect};
use crate::ops::{bin, run, text};
use crate::util::{TestSandbox, start_sandbox};

/// A server elsewhere that answers whatever reaches it as a success: a token for a token
/// request, an organization for anything else.
pub(crate) async fn elsewhere() -> Hostile {
    hostile::serve(None, |seen| {
        Some(if seen.path.ends_with("/token") {
            reply(
                200,
                &json!({"access_token": "stolen-token", "token_type": "bearer", "expires_in": 3600}),
            )
        } else {
            reply(200, &json!({"id": "elsewhere-org", "name": "customer-00000"}))
        })
    })
    .await
}

/// The import command line of `fixture` through `front` rather than straight to `sandbox`.
pub(crate) fn args_via(
    fixture: &Fixture,
    sandbox: &TestSandbox,
    front: &str,
    extra: &[&str],
) -> Vec<String> {
    let mut args = fixture.args(sandbox, &sandbox.secret(), extra);
    let at = args.iter().position(|a| a == "--base-url").unwrap() + 1;
    args[at] = front.to_string();
    args
}

/// The binary pointed at `base_url` with the sandbox's tenant and credentials.
pub(crate) fn bin_at(
    sandbox: &TestSandbox,
    base_url: &str,
    dir: &std::path::Path,
) -> assert_cmd::Command {
    let c = sandbox.sandbox.config();
    let mut cmd = bin(dir);
    cmd.env("ORGIMPORT_BASE_URL", base_url)
        .env("ORGIMPORT_TENANT", &c.tenant)
        .env("ORGIMPORT_CLIENT_ID", &c.client_id)
        .env("ORGIMPORT_CLIENT_SECRET", sandbox.secret())
        .env("ORGIMPORT_TEMPLATE_ID", &c.template_id);
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_request_follows_no_redirect_to_another_origin() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    for status in [307, 308, 302] {
        let away = elsewhere().await;
        let target = format!("{}/t/system/oauth2/token?client_secret=leaked", away.url);
        let front = hostile::serve(None, move |_| Some(redirect(status, &target))).await;

        let out = run(bin_at(&sandbox, &front.url, dir.path()), &["token"]).await;

        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{status}: {stderr}");
        assert!(away.seen().is_empty(), "{status}: {:?}", away.seen());
        assert_eq!(front.seen().len(), 1, "{status}: not retried");
        assert!(
            stderr.contains(&format!("redirected (HTTP {status} "))
                && stderr.contains(&format!("to {}/t/system/oauth2/token", away.url))
                && stderr.contains("another origin"),
            "{status}: {stderr}"
        );
        assert!(!stderr.contains("leaked"), "{stderr}");
        assert!(!stderr.contains(&sandbox.secret()), "{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_redirected_elsewhere_or_into_a_get_is_not_sent_nor_taken_for_done() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let c = sandbox.sandbox.config();
    let orgs = format!("/api/system/{}/organizations", c.tenant);
    for status in [307, 308, 303] {
        let away = elsewhere().await;
        // A 303 to the same origin, whose GET answers an organization: a create taken for
        // done if the redirect were followed.
        let target = match status {
            303 => format!("{orgs}/elsewhere-org"),
            _ => format!("{}{orgs}", away.url),
        };
        let posts = orgs.clone();
        let front = hostile::serve(Some(sandbox.base_url.clone()), move |seen| {
            if seen.method == "POST" && seen.path == posts {
                Some(redirect(status, &target))
            } else if seen.path.ends_with("/elsewhere-org") {
                Some(reply(
                    200,
                    &json!({"id": "elsewhere-org", "name": "customer-00000"}),
                ))
            } else {
                None
            }
        })
        .await;
        let fixture = Fixture::new(&customers(1));

        let summary = import_with(args_via(&fixture, &sandbox, &front.url, &[]))
            .await
            .unwrap();

        assert_eq!(summary.count(Status::Unconfirmed), 1, "{status}: {summary}");
        assert!(away.seen().is_empty(), "{status}: {:?}", away.seen());
        assert!(
            front
                .seen()
                .iter()
                .all(|s| !s.path.ends_with("/elsewhere-org")),
            "{status}: the 303 was followed"
        );
        let row = &fixture.results_rows()[0];
        assert_eq!(row["org_id"], "", "{row:?}");
        assert!(
            row["error"].contains(&format!("redirected (HTTP {status} ")),
            "{status}: {row:?}"
        );
    }
    assert_eq!(sandbox.sandbox.stats().creates_committed, 0);

    // A 307 to the same origin, even into a loop: not followed, the create sent once, in
    // doubt.
    let posts = orgs.clone();
    let moved = format!("{}{orgs}", hostile::MOVED);
    let front = hostile::serve(Some(sandbox.base_url.clone()), move |seen| {
        (seen.method == "POST" && seen.path.ends_with(&posts)).then(|| redirect(307, &moved))
    })
    .await;
    let fixture = Fixture::new(&customers(1));
    let summary = import_with(args_via(
        &fixture,
        &sandbox,
        &front.url,
        &["--max-attempts", "1"],
    ))
    .await
    .unwrap();
    assert_eq!(summary.count(Status::Unconfirmed), 1, "{summary}");
    let posted = front
        .seen()
        .iter()
        .filter(|s| s.method == "POST" && s.path.ends_with(&orgs))
        .count();
    assert_eq!(posted, 1, "the same-origin 307 was not followed");
    let row = &fixture.results_rows()[0];
    assert!(
        row["error"].contains("redirected (HTTP 307 ")
            && row["error"].contains("follows no redirect"),
        "{row:?}"
    );
    assert_eq!(sandbox.sandbox.stats().creates_committed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_redirected_to_the_same_origin_is_not_followed() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let c = sandbox.sandbox.config();
    let orgs = format!("/api/system/{}/organizations", c.tenant);
    let template = format!("{orgs}/{}", c.template_id);
    // Each DELETE is sent to another path: the template, the collection, the API's root, or
    // the same path again (a loop).
    let targets = [
        template.clone(),
        orgs.clone(),
        format!("{orgs}/.."),
        String::new(),
    ];
    let n = std::sync::atomic::AtomicUsize::new(0);
    let front = hostile::serve(Some(sandbox.base_url.clone()), move |seen| {
        (seen.method == "DELETE").then(|| {
            let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let to = match &targets[i % targets.len()] {
                t if t.is_empty() => seen.path.clone(),
                t => t.clone(),
            };
            redirect(307, &to)
        })
    })
    .await;

    // Imported through the same address undo uses.
    let fixture = Fixture::new(&customers(4));
    let summary = import_with(args_via(
        &fixture,
        &sandbox,
        &front.url,
        &["--rate", "1000"],
    ))
    .await
    .unwrap();
    assert_eq!(summary.count(Status::Created), 4, "{summary}");
    let before = sandbox.sandbox.stats().organizations;
    let dir = fixture.dir.path();
    let out = run(
        bin_at(&sandbox, &front.url, dir),
        &["undo", "customers.results.csv", "--yes"],
    )
    .await;

    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let deletes = front.seen().iter().filter(|s| s.method == "DELETE").count();
    assert_eq!(
        deletes, 4,
        "one DELETE per organization, none followed: {stderr}"
    );
    assert_eq!(
        sandbox.sandbox.stats().organizations,
        before,
        "nothing deleted"
    );
    let report = std::fs::read_to_string(dir.join("customers.undo.csv")).unwrap();
    assert!(!report.contains(",deleted,"), "{report}");
    assert!(!report.contains("already_gone"), "{report}");
    assert_eq!(
        report.matches("redirected (HTTP 307 ").count(),
        4,
        "{report}"
    );
    let rows = fixture.results_rows();
    assert!(rows.iter().all(|r| r["status"] == "created"), "{rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_redirected_elsewhere_and_answered_there_is_not_deleted() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let away = elsewhere().await;
    let target = away.url.clone();
    let front = hostile::serve(Some(sandbox.base_url.clone()), move |seen| {
        (seen.method == "DELETE").then(|| redirect(307, &format!("{target}{}", seen.path)))
    })
    .await;
    // Imported through the same address undo uses: a results file belongs to its tenant's.
    let fixture = Fixture::new(&customers(3));
    let summary = import_with(args_via(
        &fixture,
        &sandbox,
        &front.url,
        &["--rate", "1000"],
    ))
    .await
    .unwrap();
    assert_eq!(summary.count(Status::Created), 3, "{summary}");
    let dir = fixture.dir.path();

    let out = run(
        bin_at(&sandbox, &front.url, dir),
        &["undo", "customers.results.csv", "--yes"],
    )
    .await;

    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(away.seen().is_empty(), "{:?}", away.seen());
    assert_eq!(sandbox.sandbox.stats().organizations, 3, "nothing deleted");
    let report = std::fs::read_to_string(dir.join("customers.undo.csv")).unwrap();
    assert!(!report.contains(",deleted,"), "{report}");
    assert!(report.contains("redirected (HTTP 307 "), "{report}");
    let rows = fixture.results_rows();
    assert!(rows.iter().all(|r| r["status"] == "created"), "{rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_another_host_is_refused_unless_allowed_and_a_proxy_is_named() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    // A proxy on this machine in front of the sandbox: the tenant's host is never resolved.
    let proxy = hostile::serve(Some(sandbox.base_url.clone()), |_| None).await;
    let proxy_port = proxy.url.rsplit(':').next().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let remote = "http://tenant.example";
    let with_proxy = || {
        let mut cmd = bin_at(&sandbox, remote, dir.path());
        cmd.env(
            "HTTP_PROXY",
            format!("http://proxyuser:pr0xy-pw@127.0.0.1:{proxy_port}"),
        );
        cmd
    };

    let out = run(with_proxy(), &["token"]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--base-url http://tenant.example/ is plain http to tenant.example")
            && stderr.contains("--allow-insecure-http"),
        "{stderr}"
    );
    assert!(proxy.seen().is_empty(), "nothing sent: {:?}", proxy.seen());

    for allowed in [
        run(with_proxy(), &["token", "--allow-insecure-http", "-v"]).await,
        run(
            {
                let mut cmd = with_proxy();
                cmd.env("ORGIMPORT_ALLOW_INSECURE_HTTP", "1");
                cmd
            },
            &["token", "-v"],
        )
        .await,
    ] {
        let stderr = text(&allowed.stderr);
        assert_eq!(allowed.status.code(), Some(0), "{stderr}");
        assert!(
            stderr.contains("warning: --base-url http://tenant.example/ is plain http")
                && stderr.contains("cross the network in clear"),
            "{stderr}"
        );
        let named = format!("go through the proxy 127.0.0.1:{proxy_port}");
        assert_eq!(stderr.matches(&named).count(), 1, "{stderr}");
        assert!(!stderr.contains("pr0xy-pw"), "{stderr}");
    }
    assert!(
        !proxy.seen().is_empty(),
        "the requests went through the proxy"
    );

    // This machine's own addresses need no flag.
    for local in ["http://localhost", "http://127.1.2.3", "http://[::1]"] {
        let out = run(bin_at(&sandbox, local, dir.path()), &["config"]).await;
        assert!(
            !text(&out.stderr).contains("plain http"),
            "{local}: {}",
            text(&out.stderr)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_this_machine_through_a_proxy_is_refused_unless_allowed() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let proxy = hostile::serve(Some(sandbox.base_url.clone()), |_| None).await;
    let dir = tempfile::tempdir().unwrap();
    let via_proxy = |extra: Option<(&str, &str)>| {
        let mut cmd = bin_at(&sandbox, &sandbox.base_url, dir.path());
        cmd.env("HTTP_PROXY", &proxy.url);
        if let Some((k, v)) = extra {
            cmd.env(k, v);
        }
        cmd
    };

    let out = run(via_proxy(None), &["token"]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("is plain http to 127.0.0.1 through the proxy 127.0.0.1:")
            && stderr.contains("NO_PROXY")
            && stderr.contains("--allow-insecure-http"),
        "{stderr}"
    );
    assert!(proxy.seen().is_empty(), "nothing sent: {:?}", proxy.seen());
    assert!(!stderr.contains(&sandbox.secret()), "{stderr}");

    // NO_PROXY for the host: sent direct, no flag needed.
    let out = run(via_proxy(Some(("NO_PROXY", "127.0.0.1"))), &["token"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(proxy.seen().is_empty(), "direct: {:?}", proxy.seen());

    let out = run(via_proxy(None), &["token", "--allow-insecure-http"]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("warning: --base-url") && stderr.contains("cross the network in clear"),
        "{stderr}"
    );
    assert!(!proxy.seen().is_empty(), "sent through the proxy");
}
