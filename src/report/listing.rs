//! What the user watches while the tenant's organizations are listed: a spinner with the count
//! listed on a terminal, one line otherwise, nothing when quiet.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::plural;
use super::progress::set_active;

/// The listing's display; cleared when dropped.
#[derive(Debug)]
pub struct ListingProgress {
    /// The spinner, when stderr is a terminal and output is not quiet.
    bar: Option<ProgressBar>,
    /// No output at all.
    quiet: bool,
}

impl ListingProgress {
    /// A spinner counting the organizations listed, when stderr is a terminal and `quiet` is
    /// not set; otherwise one line saying the listing started (none when `quiet`).
    pub fn new(quiet: bool) -> ListingProgress {
        if quiet {
            return ListingProgress::hidden();
        }
        if !std::io::stderr().is_terminal() {
            eprintln!("listing the tenant's organizations...");
            return ListingProgress { bar: None, quiet };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{elapsed_precise} {spinner} listing the tenant's organizations: {pos} listed \
                 {msg}",
            )
            .expect("the template is valid"),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        set_active(Some(bar.clone()));
        ListingProgress {
            bar: Some(bar),
            quiet,
        }
    }

    /// No display at all.
    pub fn hidden() -> ListingProgress {
        ListingProgress {
            bar: None,
            quiet: true,
        }
    }

    /// The listing stops after `listed` organizations: the tenant is larger than looking up
    /// the rows' organizations (at most `look_ups` requests) costs, so they are looked up
    /// instead. Says so, unless quiet.
    pub fn looking_up_instead(&self, listed: u64, look_ups: usize) {
        self.finish();
        if !self.quiet {
            eprintln!(
                "the tenant has more than {listed} organizations: looking up the rows' \
                 organizations one by one instead of listing them all (at most {})",
                plural(look_ups, "look-up")
            );
        }
    }

    /// `count` organizations are listed so far, in `pages` pages.
    pub fn listed(&self, count: u64, pages: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(count);
            bar.set_message(format!("({pages} pages)"));
        }
    }

    /// Removes the spinner.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
            set_active(None);
        }
    }
}

impl Drop for ListingProgress {
    fn drop(&mut self) {
        self.finish();
    }
}
