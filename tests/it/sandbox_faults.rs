//! The sandbox's rate limit and fault injection over real HTTP.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use orgimport::sandbox::{Faults, RateLimit, SandboxConfig, Stats};
use serde_json::json;

use crate::sandbox::{assert_api_error, status_json};
use crate::util::start_sandbox;

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
        .bearer_auth(&token)
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
    // They show a rehearsal's data: only to a holder of a token the sandbox issued.
    for path in ["stats", "organizations"] {
        let url = format!("{}/_sandbox/{path}", ts.base_url);
        let res = ts.client.get(&url).send().await.unwrap();
        assert_api_error(res, 401, "invalid_access_token").await;
        let res = ts
            .client
            .get(&url)
            .bearer_auth("forged")
            .send()
            .await
            .unwrap();
        assert_api_error(res, 401, "invalid_access_token").await;
    }
    let stats: Stats = ts
        .client
        .get(format!("{}/_sandbox/stats", ts.base_url))
        .bearer_auth(&token)
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
            .bearer_auth(&token)
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
