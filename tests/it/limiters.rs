//! The sandbox's limiters over real HTTP, as the platforms document them: fixed windows with
//! an allowance each (Okta's headers), windows that block the next one when exceeded, a
//! concurrency limit, a rate that changes while the sandbox runs, and a limit on writes only.
//! What the client makes of them is in `rate.rs` and measured by `bench/run.sh rate`.

use std::num::NonZeroU32;
use std::time::Duration;

use orgimport::api::throttle::Learned;
use orgimport::sandbox::{Faults, HeaderStyle, RateLimit, RateLimitMode, SandboxConfig};
use serde_json::json;

use crate::util::{TestSandbox, start_sandbox};

fn n(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

/// A sandbox of fixed 30-second windows allowing `per_second` × 30 each.
async fn windows(per_second: u32, mode: RateLimitMode, style: HeaderStyle) -> TestSandbox {
    start_sandbox(SandboxConfig {
        rate_limit: Some(RateLimit {
            per_second: n(per_second),
            burst: n(per_second),
        }),
        rate_limit_mode: mode,
        rate_limit_window: Duration::from_secs(30),
        rate_limit_headers: true,
        rate_limit_header_style: style,
        ..SandboxConfig::default()
    })
    .await
}

/// What one `GET /organizations` was answered.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    fn number(&self, name: &str) -> u64 {
        self.header(name)
            .unwrap_or_else(|| panic!("{name} missing: {self:?}"))
            .parse()
            .unwrap()
    }
}

async fn list(sandbox: &TestSandbox, token: &str) -> Reply {
    let reply = sandbox
        .client
        .get(sandbox.orgs_url())
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    Reply {
        status: reply.status().as_u16(),
        headers: reply.headers().clone(),
    }
}

/// `count` list requests one after another against a fresh sandbox from `make`, all in one
/// window: a round whose admitted requests name two windows' ends (a window ended during it)
/// is played again, up to three times.
async fn in_one_window<F, Fut>(make: F, count: usize, reset: &str) -> (TestSandbox, Vec<Reply>)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = TestSandbox>,
{
    for _ in 0..3 {
        let sandbox = make().await;
        let token = sandbox.token().await;
        let mut replies = Vec::new();
        for _ in 0..count {
            replies.push(list(&sandbox, &token).await);
        }
        let first_end = replies[0].number(reset);
        if replies
            .iter()
            .filter(|r| r.status == 200)
            .all(|r| r.number(reset) == first_end)
        {
            return (sandbox, replies);
        }
    }
    panic!("three rounds of {count} requests each crossed a window's end");
}

#[tokio::test]
async fn okta_windows_allow_their_allowance_and_say_when_the_window_ends() {
    let (sandbox, replies) = in_one_window(
        || windows(1, RateLimitMode::Window, HeaderStyle::Okta),
        31,
        "x-rate-limit-reset",
    )
    .await;
    for (i, reply) in replies[..30].iter().enumerate() {
        assert_eq!(reply.status, 200, "request {i}: {reply:?}");
        assert_eq!(reply.header("x-rate-limit-limit"), Some("30"), "per window");
        assert_eq!(reply.number("x-rate-limit-remaining"), 29 - i as u64);
    }
    let end = replies[0].number("x-rate-limit-reset");
    assert_eq!(end % 30, 0, "windows end on whole epoch seconds: {end}");
    let refused = &replies[30];
    assert_eq!(refused.status, 429, "{refused:?}");
    assert_eq!(refused.header("x-rate-limit-remaining"), Some("0"));
    let retry_after = refused.number("retry-after");
    assert!(
        (1..=30).contains(&retry_after),
        "until the window ends: {retry_after}"
    );
    for name in ["ratelimit-limit", "x-ratelimit-limit", "ratelimit-policy"] {
        assert_eq!(refused.header(name), None, "only Okta's form: {name}");
    }
    let stats = sandbox.sandbox.stats();
    assert_eq!(
        (stats.rate_limited, stats.windows_blocked),
        (1, 0),
        "{stats:?}"
    );
}

#[tokio::test]
async fn one_request_too_many_blocks_the_rest_of_the_window_and_the_next() {
    let (sandbox, replies) = in_one_window(
        || windows(1, RateLimitMode::BlockingWindow, HeaderStyle::Ietf),
        33,
        "ratelimit-reset",
    )
    .await;
    assert!(replies[..30].iter().all(|r| r.status == 200), "{replies:?}");
    assert_eq!(replies[0].header("ratelimit-policy"), Some("30;w=30"));
    let over = &replies[30];
    assert_eq!(over.status, 429, "{over:?}");
    let retry_after = over.number("retry-after");
    assert!(
        (31..=60).contains(&retry_after),
        "the rest of this window and all of the next: {retry_after}"
    );
    assert!(over.number("ratelimit-reset") >= retry_after, "{over:?}");
    assert!(replies[31..].iter().all(|r| r.status == 429), "{replies:?}");
    let stats = sandbox.sandbox.stats();
    assert_eq!(stats.rate_limited, 3, "{stats:?}");
    assert_eq!(
        stats.windows_blocked, 1,
        "one block, however often refused in it"
    );
}

#[tokio::test]
async fn a_schedule_changes_the_limit_while_the_sandbox_runs() {
    // From the start the budget is 1/s instead of 100/s: windows of 30 allow 30.
    let sandbox = start_sandbox(SandboxConfig {
        rate_limit: Some(RateLimit {
            per_second: n(100),
            burst: n(100),
        }),
        rate_limit_mode: RateLimitMode::Window,
        rate_limit_window: Duration::from_secs(30),
        rate_limit_schedule: vec![(Duration::ZERO, n(1))],
        rate_limit_headers: true,
        rate_limit_header_style: HeaderStyle::XRateLimit,
        ..SandboxConfig::default()
    })
    .await;
    let token = sandbox.token().await;
    let reply = list(&sandbox, &token).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("x-ratelimit-limit"), Some("30"), "{reply:?}");
    assert!(
        reply.number("x-ratelimit-reset") > 1_600_000_000,
        "an epoch"
    );
    assert_eq!(reply.header("x-rate-limit-limit"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrency_limit_refuses_one_request_more_than_it_allows_in_flight() {
    // Two in flight at most; each reply takes a second, so three sent at once overlap.
    let sandbox = start_sandbox(SandboxConfig {
        concurrency_limit: Some(n(2)),
        faults: Faults {
            latency: Duration::from_secs(1),
            ..Faults::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    let token = sandbox.token().await;
    let (a, b, c) = tokio::join!(
        list(&sandbox, &token),
        list(&sandbox, &token),
        list(&sandbox, &token)
    );
    let mut statuses = [a.status, b.status, c.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 200, 429], "{a:?} {b:?} {c:?}");
    // Their slots are given back: one more passes.
    assert_eq!(list(&sandbox, &token).await.status, 200);
    let stats = sandbox.sandbox.stats();
    assert_eq!(
        (stats.rate_limited, stats.concurrency_limited),
        (1, 1),
        "{stats:?}"
    );
    // The token endpoint is not an API request: it is never refused for it.
    assert_eq!(stats.token_rejections, 0, "{stats:?}");
}

#[tokio::test]
async fn a_limit_on_writes_leaves_reads_and_deletes_free() {
    let limited = |writes_only| {
        start_sandbox(SandboxConfig {
            rate_limit: Some(RateLimit {
                per_second: n(1),
                burst: n(1),
            }),
            rate_limit_mode: RateLimitMode::Bucket,
            rate_limit_writes_only: writes_only,
            ..SandboxConfig::default()
        })
    };
    let sandbox = limited(true).await;
    let token = sandbox.token().await;
    for _ in 0..5 {
        assert_eq!(list(&sandbox, &token).await.status, 200);
    }
    let body = |id: &str| json!({"id": id, "name": id});
    let first = sandbox.create(&token, &body("w-1")).await.unwrap();
    assert_eq!(first.status(), 201);
    let second = sandbox.create(&token, &body("w-2")).await.unwrap();
    assert_eq!(second.status(), 429, "the one write a second is used");
    let delete = sandbox
        .client
        .delete(sandbox.org_url("w-1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), 204, "{delete:?}");

    // By default reads share the limit.
    let sandbox = limited(false).await;
    let token = sandbox.token().await;
    assert_eq!(list(&sandbox, &token).await.status, 200);
    assert_eq!(list(&sandbox, &token).await.status, 429);
}

/// `orgimport import --rate auto --concurrency 32` of `rows` customers against `sandbox`.
async fn import_auto(sandbox: &TestSandbox, rows: usize) -> orgimport::report::summary::Summary {
    let fixture = crate::fixture::Fixture::new(&crate::fixture::customers(rows));
    fixture
        .import(sandbox, &["--rate", "auto", "--concurrency", "32"])
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_auto_reads_oktas_headers_and_is_never_refused_after_them() {
    // Windows of 2 s allowing 20 each (10/s), told only in Okta's headers; auto starts at
    // 20/s with 32 workers. Read as they are meant, they keep every request inside its
    // window's allowance: the run waits for the next window instead of being refused.
    let sandbox = start_sandbox(SandboxConfig {
        rate_limit: Some(RateLimit {
            per_second: n(10),
            burst: n(10),
        }),
        rate_limit_mode: RateLimitMode::Window,
        rate_limit_window: Duration::from_secs(2),
        rate_limit_headers: true,
        rate_limit_header_style: HeaderStyle::Okta,
        ..SandboxConfig::default()
    })
    .await;
    let summary = import_auto(&sandbox, 45).await;
    assert_eq!(summary.exit_status().code(), 0, "{summary}");
    assert_eq!(
        summary.count(orgimport::record::Status::Created),
        45,
        "{summary}"
    );
    let stats = sandbox.sandbox.stats();
    assert_eq!(stats.rate_limited, 0, "{stats:?}");
    // What it learned is reported: 20 per 2 s window.
    assert_eq!(
        summary.pace.learned,
        Some(Learned::Window {
            allowance: 20,
            window: Duration::from_secs(2)
        }),
        "{summary:?}"
    );
    let json = orgimport::report::summary::RunReport::new(&summary).to_json();
    assert_eq!(json["limiter"]["kind"], "window", "{json}");
    assert_eq!(json["limiter"]["allowance"], 20, "{json}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_auto_learns_a_blocking_window_from_its_one_block_and_stays_under_it() {
    // Windows of 2 s allowing 20 each (10/s) that block the next window when exceeded, and
    // no header but `Retry-After`: slow start from 20/s cannot help exceeding one window.
    // The block it costs teaches the window; the run then waits it out and never exceeds
    // another, where a cut rate kept sending into the block and crawled after it.
    let sandbox = start_sandbox(SandboxConfig {
        rate_limit: Some(RateLimit {
            per_second: n(10),
            burst: n(10),
        }),
        rate_limit_mode: RateLimitMode::BlockingWindow,
        rate_limit_window: Duration::from_secs(2),
        ..SandboxConfig::default()
    })
    .await;
    let summary = import_auto(&sandbox, 70).await;
    assert_eq!(summary.exit_status().code(), 0, "{summary}");
    assert_eq!(
        summary.count(orgimport::record::Status::Created),
        70,
        "{summary}"
    );
    let stats = sandbox.sandbox.stats();
    assert_eq!(stats.windows_blocked, 1, "{stats:?}");
    // The one that blocked, and the few already on their way when its answer came.
    assert!(stats.rate_limited <= 6, "{stats:?}");
    match summary.pace.learned {
        Some(Learned::Window { allowance, window }) => {
            assert_eq!(window, Duration::from_secs(2), "{summary:?}");
            assert!((17..=20).contains(&allowance), "{summary:?}");
        }
        other => panic!("no window learned: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_auto_tells_an_in_flight_limit_from_a_rate_and_caps_the_count_in_flight() {
    // Six in flight at most, replies taking 100 ms: any rate above 60/s has a seventh in
    // flight. Refused only beyond six in flight, never within, the run learns an in-flight
    // limit and keeps six at once instead of cutting its rate again and again.
    let sandbox = start_sandbox(SandboxConfig {
        concurrency_limit: Some(n(6)),
        faults: Faults {
            latency: Duration::from_millis(100),
            ..Faults::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    let summary = import_auto(&sandbox, 240).await;
    assert_eq!(summary.exit_status().code(), 0, "{summary}");
    assert_eq!(
        summary.count(orgimport::record::Status::Created),
        240,
        "{summary}"
    );
    assert_eq!(
        summary.pace.learned,
        Some(Learned::InFlight(6)),
        "{summary:?}"
    );
    let stats = sandbox.sandbox.stats();
    // A few refused while it learned; none once it keeps to six.
    assert!(stats.concurrency_limited <= 8, "{stats:?}");
    let json = orgimport::report::summary::RunReport::new(&summary).to_json();
    assert_eq!(json["limiter"]["kind"], "in_flight", "{json}");
    assert_eq!(json["limiter"]["in_flight"], 6, "{json}");
    // What binds is the count in flight: the pace said is what six at once allow (about
    // 60/s with 100 ms replies), not the controller's ceiling of an unlimited rate.
    let settled = summary.pace.settled.expect("a settled pace is said");
    assert!(
        (20.0..=75.0).contains(&settled),
        "settled at {settled}/s: {summary}"
    );
}
