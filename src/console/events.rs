//! The run's progress pushed to the page: `GET /api/run/events`, server-sent events. Each
//! snapshot the results task publishes (at most five a second) is an `event: progress` with
//! the [`RunProgress`] as JSON; the end is an `event: ended` with how the run ended, and the
//! stream closes. Only counts and times travel here: no credential, no row's content.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::stream::{self, Stream};
use tokio::sync::watch;

use super::run::{Ended, Run};
use super::{ApiError, Console};
use crate::report::live::RunProgress;

/// The step's routes.
pub(super) fn routes() -> Router<Arc<Console>> {
    Router::new().route("/api/run/events", get(events))
}

/// Where the stream is.
enum Next {
    /// The current snapshot is to be sent first.
    First,
    /// Snapshots as they are published.
    Watching,
    /// The end was sent: the stream closes.
    Done,
}

/// What the stream reads from.
struct Watch {
    progress: watch::Receiver<RunProgress>,
    ended: watch::Receiver<Option<Ended>>,
    next: Next,
}

/// `GET /api/run/events`: the current run's progress, then each new snapshot, then its end.
///
/// # Errors
/// A 409 when the console has no run.
async fn events(
    State(console): State<Arc<Console>>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let run = console
        .runs
        .current()
        .ok_or_else(|| ApiError::not_yet("no run was started"))?;
    Ok(Sse::new(stream_of(&run)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// The events of `run`.
fn stream_of(run: &Run) -> impl Stream<Item = Result<Event, Infallible>> + use<> {
    let start = Watch {
        progress: run.control.progress(),
        ended: run.ended_watch(),
        next: Next::First,
    };
    stream::unfold(start, |mut w| async move {
        let event = match w.next {
            Next::Done => return None,
            Next::First => {
                w.next = Next::Watching;
                progress(&mut w.progress)
            }
            Next::Watching => {
                if w.ended.borrow().is_none() {
                    tokio::select! {
                        _ = w.progress.changed() => {},
                        _ = w.ended.changed() => {},
                    }
                }
                match w.ended.borrow().clone() {
                    Some(ended) => {
                        w.next = Next::Done;
                        // The last snapshot goes with the end, so the counts are final.
                        let last = w.progress.borrow_and_update().clone();
                        let body = serde_json::json!({ "progress": last, "ended": ended });
                        Event::default().event("ended").data(body.to_string())
                    }
                    None => progress(&mut w.progress),
                }
            }
        };
        Some((Ok(event), w))
    })
}

/// The latest snapshot as an event.
fn progress(progress: &mut watch::Receiver<RunProgress>) -> Event {
    let now = progress.borrow_and_update().clone();
    let body = serde_json::to_string(&now).expect("a snapshot serializes");
    Event::default().event("progress").data(body)
}
