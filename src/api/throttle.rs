//! Slowing the whole run down when the tenant answers 429, and speeding it up again.
//!
//! The governor limiter holds the configured rate, but its quota cannot change while it runs;
//! this gate sits behind it and, after a 429, spaces requests further apart for every worker
//! (a 30 % cut), then shortens the spacing a little each second without a 429 (5 % more), until
//! only the configured rate applies again. Both steps are fractions of the rate allowed now,
//! not of the configured one: a run configured at 50/s against a tenant that allows 5/s then
//! settles near 5/s instead of swinging back over it within a second. It is a few lines of
//! arithmetic under a lock, so no crate is brought in for it.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Each 429 cuts the rate to this fraction of what it was.
const DECREASE: f64 = 0.7;
/// Each second without a 429 raises the rate by this fraction of itself.
const INCREASE: f64 = 0.05;
/// Several 429s within this time count as one (they answer the same overload).
const COOLDOWN: Duration = Duration::from_secs(1);
/// The rate never falls below this many requests per second.
const FLOOR: f64 = 0.2;

/// The gate every request passes after the rate limiter.
pub struct Throttle {
    /// The configured rate, requests per second.
    configured: f64,
    /// A std mutex: held for arithmetic only, never across an await.
    state: Mutex<State>,
}

struct State {
    /// The rate allowed now; `configured` when no 429 came lately.
    rate: f64,
    /// The earliest time the next request may go.
    next: Instant,
    /// When the rate was last cut or raised: it is raised after a second without either.
    changed: Instant,
    /// When the rate was last cut: a raise since does not hold back the next cut.
    cut_at: Instant,
    /// How many times a 429 cut the rate, for the summary.
    cuts: u64,
}

impl Throttle {
    /// A gate that lets the configured rate through until the first 429.
    pub fn new(configured_per_second: f64) -> Self {
        let now = Instant::now();
        Throttle {
            configured: configured_per_second,
            state: Mutex::new(State {
                rate: configured_per_second,
                next: now,
                changed: now,
                cut_at: now,
                cuts: 0,
            }),
        }
    }

    /// Waits for this request's turn.
    pub async fn ready(&self) {
        let turn = {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            // Recover: each whole second since the last change gives some rate back.
            let quiet = now.saturating_duration_since(s.changed).as_secs_f64();
            if s.rate < self.configured && quiet >= 1.0 {
                let seconds = quiet.floor().min(1000.0) as i32;
                s.rate = (s.rate * (1.0 + INCREASE).powi(seconds)).min(self.configured);
                s.changed = now;
            }
            if s.rate >= self.configured {
                return; // The limiter alone paces requests.
            }
            let turn = s.next.max(now);
            s.next = turn + Duration::from_secs_f64(1.0 / s.rate);
            turn
        };
        tokio::time::sleep_until(turn).await;
    }

    /// The tenant answered 429: slow every worker down. (The row that got the 429 waits for
    /// its `Retry-After` before it is retried; the others go on at the lower rate, since the
    /// header's whole seconds are far coarser than a rate limiter's refill.)
    pub fn too_many_requests(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if s.cuts == 0 || now.saturating_duration_since(s.cut_at) >= COOLDOWN {
            s.rate = (s.rate * DECREASE).max(FLOOR);
            s.changed = now;
            s.cut_at = now;
            s.cuts += 1;
            tracing::warn!(
                rate = format!("{:.1}/s", s.rate),
                "the tenant answered 429: slowing down"
            );
        }
    }

    /// How often a 429 slowed the run down.
    pub fn cuts(&self) -> u64 {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).cuts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_429_slows_every_request_and_the_rate_recovers() {
        let throttle = Throttle::new(100.0);
        throttle.ready().await; // no 429 yet: no wait
        throttle.too_many_requests();
        let start = Instant::now();
        throttle.ready().await;
        throttle.ready().await;
        let spacing = start.elapsed();
        assert!(
            spacing >= Duration::from_millis(14),
            "spaced at 70/s: {spacing:?}"
        );
        // A second 429 right after the first counts once.
        throttle.too_many_requests();
        assert_eq!(throttle.cuts(), 1);
        tokio::time::advance(Duration::from_secs(30)).await;
        throttle.ready().await;
        let before = Instant::now();
        throttle.ready().await;
        assert_eq!(
            before.elapsed(),
            Duration::ZERO,
            "back to the configured rate"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_settles_near_what_the_tenant_allows() {
        // Configured at 50/s against a tenant that allows about 5/s: cut down to it, the
        // rate then grows by a twentieth of itself a second, not by a twentieth of 50/s.
        let throttle = Throttle::new(50.0);
        for _ in 0..7 {
            tokio::time::advance(COOLDOWN).await;
            throttle.too_many_requests();
        }
        let cut = throttle.state.lock().unwrap().rate;
        assert!((4.0..5.0).contains(&cut), "50 * 0.7^7 = {cut}");
        tokio::time::advance(Duration::from_secs(1)).await;
        throttle.ready().await;
        let raised = throttle.state.lock().unwrap().rate;
        assert!(
            (raised - cut * (1.0 + INCREASE)).abs() < 1e-9,
            "{cut} -> {raised}"
        );
        // A raise just before a 429 does not hold the cut back.
        throttle.too_many_requests();
        assert_eq!(throttle.cuts(), 8);
        assert!(throttle.state.lock().unwrap().rate < cut);
    }
}
