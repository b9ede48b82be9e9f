//! Listing every organization of the tenant for `export`, page by page through the shared
//! limiter and token, with a spinner and the count on a terminal and a log line every few
//! seconds otherwise. (`tenant::existing` lists for matching rows; this is export's one use
//! of the list call, kept here so the two can be merged when the listing gets a progress
//! hook.)

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::Error;
use crate::api::client::LIST_PAGE;
use crate::api::{ApiClient, CallError, Organization, RetryPolicy};
use crate::stop::Stop;

/// How often a plain progress line is logged when stderr is not a terminal.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// Every organization of the tenant, templates included, and what listing them took.
#[derive(Debug)]
pub(super) struct Listed {
    /// The organizations, in the order the pages gave them.
    pub(super) organizations: Vec<Organization>,
    /// List requests sent, retries included.
    pub(super) requests: u64,
}

/// Lists every organization of the tenant, [`LIST_PAGE`] at a time, each page after the last
/// id of the one before, each page retried as `policy` says.
///
/// # Errors
/// [`Error::Listing`] when a page cannot be read or the pages do not move on; the token's own
/// errors ([`Error::AuthRejected`], ...) as they are.
pub(super) async fn list_all(
    client: &ApiClient,
    policy: RetryPolicy,
    stop: &Stop,
    quiet: bool,
) -> Result<Listed, Error> {
    let mut progress = Progress::new(quiet);
    let mut organizations = Vec::new();
    let mut requests = 0u64;
    let mut after: Option<String> = None;
    loop {
        let page = policy
            .call_counted(stop, "a list page", "the tenant", || {
                client.list_page(after.as_deref())
            })
            .await;
        let page = match page {
            Ok((page, attempts)) => {
                requests += u64::from(attempts);
                page
            }
            Err(gave_up) => {
                progress.finish();
                let attempts = gave_up.attempts;
                return Err(match gave_up.error {
                    CallError::Auth(e) => e,
                    error => Error::Listing(format!(
                        "{} (after {attempts} attempts)",
                        error.into_row_error()
                    )),
                });
            }
        };
        let full = page.len() >= LIST_PAGE;
        let last = page.last().map(|o| o.id.clone());
        organizations.extend(page);
        progress.listed(organizations.len());
        match last {
            Some(last) if full => {
                if after.as_ref().is_some_and(|a| *a >= last) {
                    progress.finish();
                    return Err(Error::Listing(format!(
                        "the page after {last:?} did not move on; the API ignores \
                         after_organization_id"
                    )));
                }
                after = Some(last);
            }
            _ => break,
        }
    }
    progress.finish();
    Ok(Listed {
        organizations,
        requests,
    })
}

/// The listing's progress: a spinner with the count on a terminal, else a line now and then.
struct Progress {
    /// The spinner, when stderr is a terminal and output is not quiet.
    bar: Option<ProgressBar>,
    /// When a plain line was last logged; `None` when quiet.
    last_log: Option<Instant>,
}

impl Progress {
    fn new(quiet: bool) -> Progress {
        if quiet {
            return Progress {
                bar: None,
                last_log: None,
            };
        }
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} listing the tenant's organizations: {pos} so far  {elapsed}",
                )
                .expect("the template is valid"),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            return Progress {
                bar: Some(bar),
                last_log: None,
            };
        }
        eprintln!("listing the tenant's organizations...");
        Progress {
            bar: None,
            last_log: Some(Instant::now()),
        }
    }

    /// `count` organizations are listed so far.
    fn listed(&mut self, count: usize) {
        if let Some(bar) = &self.bar {
            bar.set_position(count as u64);
        } else if let Some(last) = &mut self.last_log
            && last.elapsed() >= LOG_EVERY
        {
            eprintln!("listing the tenant's organizations: {count} so far");
            *last = Instant::now();
        }
    }

    /// Clears the spinner.
    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
