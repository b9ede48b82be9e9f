//! What the user reads: the progress display while a run goes on ([`progress`]) and the
//! end-of-run summary ([`summary`]), and the wording they share ([`plural`]).

pub(crate) mod listing;
pub mod live;
pub mod progress;
pub mod requests;
pub mod summary;

/// `n thing` or `n things`.
pub(crate) fn plural(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}
