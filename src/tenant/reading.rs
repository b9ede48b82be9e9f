//! How a run reads the tenant: the whole tenant listed before the first row, or each row's
//! organization looked up by itself, whichever costs fewer requests.
//!
//! A listing costs a request per 100 organizations the tenant has; look-ups cost a request per
//! row to check (a name that more than 100 organizations contain costs a request more per
//! 100). The tenant's size is not known until it is listed, so the listing starts with a
//! budget of a quarter as many pages as there are rows to check ([`listing_budget`]): a
//! tenant that fits is listed whole, for at most a quarter of what the look-ups would cost; a
//! larger one is looked up row by row, and the pages read were the price of finding out (a
//! quarter of the look-ups' cost at most). A 50-row import into a tenant of 100,000
//! organizations reads 13 pages, then makes 50 look-ups, instead of listing 1,000 pages.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::Error;
use crate::api::{ApiClient, CallError, RetryPolicy};
use crate::report::listing::ListingProgress;
use crate::stop::Stop;
use crate::tenant::existing::{Existing, Listed};
use crate::tenant::lookup::{self, Keys, LookUpsEnded};

/// How the tenant is read.
#[derive(Debug)]
pub enum Reading {
    /// Listed whole: every row is matched against this.
    Listed(Existing),
    /// Too large to list for the rows to check: each row's organization is looked up by
    /// itself (`tenant::lookup`).
    LookUps {
        /// Requests the listing that was given up took.
        listing_requests: u64,
        /// Organizations it had read.
        listed: u64,
    },
}

/// The most pages listed before looking rows up instead, for `rows` rows to check: a quarter
/// as many, at least one (a tenant of fewer than 100 organizations is one request).
pub(crate) fn listing_budget(rows: usize) -> u64 {
    (rows as u64).div_ceil(4).max(1)
}

/// Reads the tenant for `rows` rows to check, as the module says, showing the listing on
/// `progress`; `None` when `stop` was set meanwhile (Ctrl-C). `details` as in
/// [`Existing::list`].
///
/// # Errors
/// As [`Existing::list`].
pub(crate) async fn read(
    client: &ApiClient,
    policy: RetryPolicy,
    stop: &Stop,
    rows: usize,
    details: bool,
    progress: &ListingProgress,
) -> Result<Option<Reading>, Error> {
    let budget = listing_budget(rows);
    let listed = Existing::list_up_to(client, policy, stop, details, budget, progress).await?;
    progress.finish();
    Ok(listed.map(|listed| match listed {
        Listed::Whole(existing) => Reading::Listed(existing),
        Listed::Cut { requests, read } => {
            progress.looking_up_instead(read, rows);
            Reading::LookUps {
                listing_requests: requests,
                listed: read,
            }
        }
    }))
}

/// The tenant as `keys` need it, in one index (`plan`'s way): read as [`read`] says, and when
/// it is not listed whole, every key looked up, `concurrency` at a time; with the number of
/// look-ups made (0 when it was listed). Its `requests` count the pages and the look-ups.
///
/// # Errors
/// [`Error::Listing`] when a page or a look-up cannot be read, or Ctrl-C stopped it; the
/// token's own errors as they are.
pub(crate) async fn read_index(
    client: &ApiClient,
    policy: RetryPolicy,
    stop: &Arc<Stop>,
    keys: &Keys,
    concurrency: usize,
    progress: &ListingProgress,
) -> Result<(Existing, u64), Error> {
    let started = Instant::now();
    let interrupted = || Error::Listing("interrupted".into());
    let read = read(client, policy, stop, keys.len(), true, progress).await?;
    let listing_requests = match read.ok_or_else(interrupted)? {
        Reading::Listed(existing) => return Ok((existing, 0)),
        Reading::LookUps {
            listing_requests, ..
        } => listing_requests,
    };
    let reads = Arc::new(AtomicU64::new(0));
    let found = lookup::look_up_all(client, policy, stop, keys, concurrency, &reads).await;
    let mut existing = found.map_err(|ended| match ended {
        LookUpsEnded::Stopped => interrupted(),
        LookUpsEnded::Failed(key, gave_up) => match gave_up.error {
            CallError::Auth(e) => e,
            _ if gave_up.interrupted => interrupted(),
            _ => Error::Listing(format!(
                "the look-up of {key} failed: {}",
                gave_up.into_row_error()
            )),
        },
    })?;
    existing.requests = listing_requests + reads.load(Ordering::Relaxed);
    existing.elapsed = started.elapsed();
    Ok((existing, keys.len() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_a_quarter_of_the_rows_in_pages() {
        assert_eq!(listing_budget(0), 1);
        assert_eq!(listing_budget(1), 1);
        assert_eq!(listing_budget(4), 1);
        assert_eq!(listing_budget(5), 2);
        assert_eq!(listing_budget(50), 13);
        // 50 rows into 100,000 organizations: 13 pages and 50 look-ups, not 1,000 pages.
        assert!(listing_budget(50) + 50 < 100);
        // 2,000 rows into 21,000 organizations: 211 pages fit the budget of 500.
        assert!(listing_budget(2_000) >= 211);
    }
}
