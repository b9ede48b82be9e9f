//! The rate against a tenant's limit, over real HTTP: the sandbox's strict token bucket and
//! its rate-limit headers, `--rate auto` against a limit nobody published, a published limit
//! honoured before the first refusal, and one message on the screen when the run slows down.
//! Behaviour only: how close a run gets to the limit is measured by `bench/run.sh`.

use std::io::Read as _;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use orgimport::record::Status;
use orgimport::sandbox::{Faults, RateLimit, RateLimitMode, SandboxConfig};

use crate::fixture::{Fixture, customers};
use crate::util::{TestSandbox, start_sandbox};

/// A sandbox whose tenant allows `per_second` requests a second, `burst` at once, counted by
/// the strict token bucket; with the rate-limit headers when `headers`.
async fn limited(per_second: u32, burst: u32, headers: bool) -> TestSandbox {
    start_sandbox(SandboxConfig {
        rate_limit: Some(RateLimit {
            per_second: NonZeroU32::new(per_second).unwrap(),
            burst: NonZeroU32::new(burst).unwrap(),
        }),
        rate_limit_mode: RateLimitMode::Bucket,
        rate_limit_headers: headers,
        ..SandboxConfig::default()
    })
    .await
}

/// `GET /organizations` with `token`.
async fn list(sandbox: &TestSandbox, token: &str) -> reqwest::Response {
    sandbox
        .client
        .get(sandbox.orgs_url())
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

fn header<'a>(reply: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    reply.headers().get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn the_sandbox_sends_rate_limit_headers_in_both_forms_on_every_reply() {
    let sandbox = limited(1, 2, true).await;
    let token = sandbox.token().await;
    let first = list(&sandbox, &token).await;
    assert_eq!(first.status(), 200);
    for (name, value) in [
        ("ratelimit-limit", "1"),
        ("ratelimit-remaining", "1"),
        ("ratelimit-policy", "1;w=1"),
        ("x-ratelimit-limit", "1"),
        ("x-ratelimit-remaining", "1"),
    ] {
        assert_eq!(header(&first, name), Some(value), "{name}: {first:?}");
    }
    let reset: u64 = header(&first, "ratelimit-reset").unwrap().parse().unwrap();
    assert!(
        (1..=2).contains(&reset),
        "seconds until the bucket is full: {reset}"
    );
    // X-RateLimit-Reset is a time (epoch seconds), as GitHub sends it.
    let epoch: u64 = header(&first, "x-ratelimit-reset")
        .unwrap()
        .parse()
        .unwrap();
    assert!(epoch > 1_600_000_000, "{epoch}");

    // Until a refusal: it keeps Retry-After and says nothing is left.
    let mut refused = None;
    for _ in 0..4 {
        let reply = list(&sandbox, &token).await;
        if reply.status() == 429 {
            refused = Some(reply);
            break;
        }
    }
    let refused = refused.expect("a bucket of 2 refuses within 5 quick requests at 1/s");
    assert!(header(&refused, "retry-after").is_some(), "{refused:?}");
    assert_eq!(header(&refused, "ratelimit-remaining"), Some("0"));
    assert_eq!(header(&refused, "x-ratelimit-remaining"), Some("0"));

    // Without the switch, no such header (the default sandbox is unchanged).
    let plain = limited(1, 2, false).await;
    let token = plain.token().await;
    let reply = list(&plain, &token).await;
    assert_eq!(reply.status(), 200);
    let names: Vec<&str> = reply.headers().keys().map(|k| k.as_str()).collect();
    assert!(!names.iter().any(|n| n.contains("ratelimit")), "{names:?}");
}

#[tokio::test]
async fn a_strict_bucket_refuses_a_burst_beyond_its_capacity() {
    let sandbox = limited(1, 3, false).await;
    let token = sandbox.token().await;
    let start = Instant::now();
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(list(&sandbox, &token).await.status().as_u16());
    }
    // One token a second comes back: whatever the time taken, no more than that passes.
    let refilled = start.elapsed().as_secs();
    let admitted = statuses.iter().filter(|s| **s == 200).count() as u64;
    assert_eq!(&statuses[..3], [200, 200, 200], "{statuses:?}");
    assert!(admitted <= 3 + refilled, "{statuses:?} in {refilled}s");
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(
        sandbox.sandbox.stats().rate_limited,
        8 - admitted,
        "{statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_auto_imports_every_row_and_counts_the_refusals() {
    // auto starts at 20/s against a tenant allowing 10/s one at a time: it is refused at
    // once, and must slow down to get every row through.
    let sandbox = limited(10, 1, false).await;
    let fixture = Fixture::new(&customers(30));
    let summary = fixture
        .import(&sandbox, &["--rate", "auto", "--concurrency", "4"])
        .await
        .unwrap();

    assert_eq!(summary.exit_status().code(), 0, "{summary}");
    assert_eq!(summary.count(Status::Created), 30, "{summary}");
    let rows = fixture.results_rows();
    assert_eq!(rows.len(), 30);
    assert!(rows.iter().all(|r| r["status"] == "created"), "{rows:?}");
    let stats = sandbox.sandbox.stats();
    assert_eq!(stats.organizations, 30, "{stats:?}");
    assert!(stats.rate_limited > 0, "{stats:?}");
    assert_eq!(summary.pace.refused, stats.rate_limited, "{summary:?}");
    let settled = summary.pace.settled.expect("auto reports its pace");
    assert!(settled < 20.0, "it slowed down from 20/s: {settled}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_limit_is_honoured_before_any_refusal() {
    // The tenant says 10/s in its headers and allows no burst beyond 2; the run asks for
    // 100/s. The listing's reply tells the limit before the first create.
    let sandbox = limited(10, 2, true).await;
    let fixture = Fixture::new(&customers(12));
    let summary = fixture.import(&sandbox, &["--rate", "100"]).await.unwrap();

    assert_eq!(summary.count(Status::Created), 12, "{summary}");
    let stats = sandbox.sandbox.stats();
    assert_eq!(stats.rate_limited, 0, "{stats:?}");
    let settled = summary
        .pace
        .settled
        .expect("it slowed down to the published limit");
    assert!((5.0..=10.0).contains(&settled), "{summary:?}");
}

/// Runs an import of 15 rows at 100/s against a tenant allowing 5/s, with `extra` flags and
/// stderr a pipe; returns its stderr.
async fn stderr_of_a_slowed_run(sandbox: &TestSandbox, extra: &[&str]) -> String {
    let fixture = Fixture::new(&customers(15));
    let args = fixture.args(sandbox, &sandbox.secret(), &["--rate", "100"]);
    let args: Vec<&String> = args[1..].iter().filter(|a| *a != "--quiet").collect();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_orgimport"))
        .args(args)
        .args(extra)
        .env_remove("NO_COLOR")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{stderr}");
    stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_lines_sent_to_a_file_have_no_colour_codes_or_module_paths() {
    let sandbox = limited(5, 1, false).await;
    // stderr is a pipe, not a terminal, and NO_COLOR is not set.
    let plain = stderr_of_a_slowed_run(&sandbox, &[]).await;
    assert!(plain.contains("slowing down"), "{plain}");
    assert!(!plain.contains('\x1b'), "{plain:?}");
    assert!(!plain.contains("orgimport::"), "{plain}");
    let never = stderr_of_a_slowed_run(&sandbox, &["--color", "never"]).await;
    assert!(!never.contains('\x1b'), "{never:?}");
    // Asked for, colour is there: the check above can see it.
    let always = stderr_of_a_slowed_run(&sandbox, &["--color", "always"]).await;
    assert!(always.contains("\x1b["), "{always:?}");
    assert!(!always.contains("orgimport::"), "{always}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowing_down_is_said_once() {
    // 100/s against a tenant allowing 5/s: many cuts, one line.
    let sandbox = limited(5, 1, false).await;
    let fixture = Fixture::new(&customers(15));
    let args = fixture.args(&sandbox, &sandbox.secret(), &["--rate", "100"]);
    let args: Vec<&String> = args[1..].iter().filter(|a| *a != "--quiet").collect();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_orgimport"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();

    assert!(status.success(), "{stderr}");
    let stats = sandbox.sandbox.stats();
    assert!(stats.rate_limited > 1, "{stats:?}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("slowing down"))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("429"), "{stderr}");
    // The summary says how many were refused.
    assert!(
        stderr.contains(&format!("{} request(s) answered 429", stats.rate_limited)),
        "{stderr}"
    );

    // With -v every later slow-down is logged too.
    let verbose = stderr_of_a_slowed_run(&sandbox, &["-v"]).await;
    let slowed = verbose.matches("slowing down").count();
    assert!(slowed > 1, "{verbose}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configured_rate_is_never_exceeded_in_any_second_with_jittery_replies() {
    // A strict bucket of two at 20/s (one request of slack, for the millisecond or two a
    // new connection or the loopback adds to one request and not the next) refuses two
    // requests that come early in a row, and replies take 10 to 40 ms, so the workers come
    // back for their turns out of step. A client that bursts, or lets turns bunch up, is
    // refused here.
    let stats = at_the_limit_with_jittery_replies(2).await;
    assert_eq!(stats.rate_limited, 0, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_limit_of_a_bucket_of_one_no_second_sees_more_than_the_rate() {
    // A strict bucket of one at 20/s refuses any request that reaches it less than 50 ms
    // after the one before: the loopback's jitter alone makes that happen now and then, and
    // each refusal slows the run. Whatever it is refused, the server never sees more than 20
    // requests (refused ones included) in any second.
    let stats = at_the_limit_with_jittery_replies(1).await;
    assert!(stats.rate_limited < 25, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_token_endpoint_neither_stalls_the_run_nor_bunches_its_requests() {
    // Tokens live 6 s and the token endpoint takes half a second to answer. Each refresh
    // starts before the token in use expires: the run goes on with that one meanwhile. A
    // client that takes its turns and then waits for the token sends nothing for half a
    // second, then the twenty requests whose turns came meanwhile all at once.
    let sandbox = start_sandbox(SandboxConfig {
        token_lifetime: Duration::from_secs(6),
        record_arrivals: true,
        faults: Faults {
            token_latency: Duration::from_millis(500),
            ..Faults::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    let fixture = Fixture::new(&customers(300));
    let summary = fixture
        .import(&sandbox, &["--rate", "40", "--concurrency", "32"])
        .await
        .unwrap();

    assert_eq!(summary.count(Status::Created), 300, "{summary}");
    let stats = sandbox.sandbox.stats();
    assert!(stats.tokens_issued >= 2, "a token was refreshed: {stats:?}");
    let arrivals = sandbox.sandbox.arrivals();
    let window = Duration::from_millis(950);
    let most = most_within(&arrivals, window);
    assert!(most <= 40, "{most} requests within {window:?} at --rate 40");
    // At 40/s requests are 25 ms apart: no gap near the token endpoint's half second.
    let longest = arrivals
        .windows(2)
        .map(|w| w[1].duration_since(w[0]))
        .max()
        .unwrap();
    assert!(
        longest < Duration::from_millis(300),
        "the run stood still for {longest:?}"
    );
}

/// 50 rows at `--rate 20`, concurrency 8, against a strict bucket of `burst` at 20/s whose
/// replies take 10 to 40 ms: checks that every row was created once and that the server never
/// saw more than 20 requests in any second (less its transit jitter), and hands back the
/// sandbox's counts.
async fn at_the_limit_with_jittery_replies(burst: u32) -> orgimport::sandbox::Stats {
    let sandbox = start_sandbox(SandboxConfig {
        rate_limit: Some(RateLimit {
            per_second: NonZeroU32::new(20).unwrap(),
            burst: NonZeroU32::new(burst).unwrap(),
        }),
        rate_limit_mode: RateLimitMode::Bucket,
        record_arrivals: true,
        faults: Faults {
            latency: Duration::from_millis(10),
            latency_jitter: Duration::from_millis(30),
            ..Faults::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    let fixture = Fixture::new(&customers(50));
    let summary = fixture
        .import(&sandbox, &["--rate", "20", "--concurrency", "8"])
        .await
        .unwrap();

    assert_eq!(summary.count(Status::Created), 50, "{summary}");
    let stats = sandbox.sandbox.stats();
    assert_eq!(stats.creates_committed, 50, "each row once: {stats:?}");
    let arrivals = sandbox.sandbox.arrivals();
    assert!(arrivals.len() >= 50, "{}", arrivals.len());
    // The most requests the server saw in any 950 ms: 20 at 20/s leave at least 1.01 s
    // apart from first to last, and the 60 ms between is what a loaded machine may add to
    // one request's way to the server and not the next's (a second exactly failed runs of
    // the test suite on two busy cores, one request in a few hundred late). A client that
    // bursts two at once puts 21 in such a window.
    let window = Duration::from_millis(950);
    let most = most_within(&arrivals, window);
    assert!(
        most <= 20,
        "{most} requests within {window:?} at --rate 20, burst {burst}"
    );
    stats
}

/// The most of `arrivals` (in order) within any stretch of `window`.
fn most_within(arrivals: &[Instant], window: Duration) -> usize {
    (0..arrivals.len())
        .map(|i| {
            arrivals[i..]
                .iter()
                .take_while(|t| t.duration_since(arrivals[i]) < window)
                .count()
        })
        .max()
        .unwrap_or(0)
}
