//! The connection that `verify`, `undo` and `token` open to a tenant: one HTTP client, one
//! shared token, one rate limiter; and the Ctrl-C flag they stop on.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use governor::RateLimiter;

use crate::Error;
use crate::api::{ApiClient, Throttle, TokenSource};
use crate::cli::RateArg;
use crate::config::{Tenant, quota};

/// An API client for `tenant` at `rate`, and its token source.
///
/// # Errors
/// [`Error::Config`] when the HTTP client cannot be built.
pub fn connect(
    tenant: &Tenant,
    rate: RateArg,
    timeout: Duration,
) -> Result<(ApiClient, TokenSource), Error> {
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("orgimport/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Config(format!("cannot set up HTTP: {e}")))?;
    let tokens = TokenSource::new(http.clone(), tenant.credentials.clone());
    let burst =
        NonZeroU32::new((rate.per_second() / 10.0).ceil() as u32).unwrap_or(NonZeroU32::MIN);
    let client = ApiClient::new(
        http,
        &tenant.base_url,
        &tenant.tenant,
        tokens.clone(),
        Arc::new(RateLimiter::direct(quota(rate, burst))),
        Arc::new(Throttle::new(rate.per_second())),
    );
    Ok((client, tokens))
}

/// Set by the first Ctrl-C: start no new request, finish those in flight, write the report.
pub fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = flag.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "interrupted: finishing the requests in flight, then writing the report \
                 (Ctrl-C again to quit at once, without a report)"
            );
            set.store(true, Ordering::SeqCst);
        }
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(130);
        }
    });
    flag
}

/// `customers.results.csv` -> `customers.{what}.csv` beside it (else `<stem>.{what}.csv`).
pub fn report_path(results: &Path, what: &str) -> PathBuf {
    let name = results
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name
        .strip_suffix(".results.csv")
        .map(str::to_string)
        .unwrap_or_else(|| {
            results
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "results".into())
        });
    results.with_file_name(format!("{stem}.{what}.csv"))
}
