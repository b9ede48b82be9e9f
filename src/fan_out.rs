//! Fanning out: one task per item, at most a given number at a time, the place taken before
//! the task is spawned; each result handed back as it finishes; a stop starts no new task.
//! Every command that runs requests side by side (the tenant's look-ups, verify's reads,
//! undo's look-ups and deletes) goes through [`fan_out`].

use std::future::Future;
use std::ops::ControlFlow;

use tokio::task::{JoinError, JoinSet};

use crate::stop::Stop;

/// How a [`fan_out`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fanned {
    /// Tasks started: the first `started` items (they are taken in order).
    pub started: usize,
    /// Why not every item was started, if one was not.
    pub cut: Option<Cut>,
}

/// What ended a [`fan_out`] before every item was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cut {
    /// The stop signal: the tasks already started were waited for and handed back.
    Stopped,
    /// The caller's `done` said so: the tasks still running were aborted.
    Broken,
}

/// Runs `task(item)` for each of `items`, in order, at most `limit` (at least 1) tasks at a
/// time: an item's task is spawned only once a place is free, so that no more than `limit`
/// tasks ever exist. Each result goes to `done` as it finishes (in the order they finish);
/// `done` returning [`ControlFlow::Break`] aborts the tasks still running and starts no more.
/// Once `stop` is set no task is started (a wait for a place ends at once), and those
/// already running are waited for and handed to `done`.
///
/// A task that panics is a bug: its panic goes on in the caller.
pub(crate) async fn fan_out<I, T, Fut>(
    limit: usize,
    stop: &Stop,
    items: I,
    mut task: impl FnMut(I::Item) -> Fut,
    mut done: impl FnMut(T) -> ControlFlow<()>,
) -> Fanned
where
    I: IntoIterator,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let limit = limit.max(1);
    let mut tasks = JoinSet::new();
    let mut started = 0;
    let mut cut = None;
    'items: for item in items {
        // Finished tasks are handed back as they come, so that progress moves while spawning.
        while let Some(finished) = tasks.try_join_next() {
            if done(joined(finished)).is_break() {
                return broken(tasks, started);
            }
        }
        while tasks.len() >= limit {
            tokio::select! {
                biased;
                () = stop.wait() => break,
                Some(finished) = tasks.join_next() => {
                    if done(joined(finished)).is_break() {
                        return broken(tasks, started);
                    }
                }
            }
        }
        if stop.is_set() {
            cut = Some(Cut::Stopped);
            break 'items;
        }
        tasks.spawn(task(item));
        started += 1;
    }
    while let Some(finished) = tasks.join_next().await {
        if done(joined(finished)).is_break() {
            return broken(tasks, started);
        }
    }
    Fanned { started, cut }
}

/// A finished task's result; its panic goes on here.
fn joined<T>(finished: Result<T, JoinError>) -> T {
    match finished {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Tasks are aborted only when the set is given up, never before they are joined.
        Err(e) => unreachable!("a fanned-out task was cancelled while joined: {e}"),
    }
}

/// Ends a fan-out that `done` broke off: the tasks still running are aborted.
fn broken<T: 'static>(mut tasks: JoinSet<T>, started: usize) -> Fanned {
    tasks.abort_all();
    Fanned {
        started,
        cut: Some(Cut::Broken),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    /// Counts the tasks that exist (spawned and not yet handed back) and the most at once.
    #[derive(Default)]
    struct Census {
        now: AtomicUsize,
        most: AtomicUsize,
    }

    impl Census {
        fn born(&self) {
            let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
        }
        fn gone(&self) {
            self.now.fetch_sub(1, Ordering::SeqCst);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn no_more_than_the_limit_of_tasks_ever_exist_and_every_place_is_used() {
        let census = Arc::new(Census::default());
        let mut results = Vec::new();
        let fanned = fan_out(
            4,
            &Stop::new(),
            0..50u64,
            |i| {
                // Counted when the task is made, just before it is spawned.
                census.born();
                async move {
                    tokio::time::sleep(Duration::from_millis(10 + i % 7)).await;
                    i
                }
            },
            |i| {
                census.gone();
                results.push(i);
                ControlFlow::Continue(())
            },
        )
        .await;
        assert_eq!(
            fanned,
            Fanned {
                started: 50,
                cut: None
            }
        );
        assert_eq!(census.most.load(Ordering::SeqCst), 4);
        results.sort_unstable();
        assert_eq!(results, (0..50).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn results_and_errors_all_come_back_as_they_finish() {
        let mut seen = Vec::new();
        let fanned = fan_out(
            3,
            &Stop::new(),
            0..20u32,
            |i| async move {
                tokio::task::yield_now().await;
                if i % 5 == 0 {
                    Err(format!("row {i}"))
                } else {
                    Ok(i)
                }
            },
            |result| {
                seen.push(result);
                ControlFlow::Continue(())
            },
        )
        .await;
        assert_eq!(fanned.started, 20);
        assert_eq!(fanned.cut, None);
        let errors: Vec<_> = seen.iter().filter_map(|r| r.clone().err()).collect();
        assert_eq!(errors.len(), 4, "{errors:?}");
        let mut all: Vec<u32> = seen
            .iter()
            .map(|r| r.clone().unwrap_or_else(|e| e[4..].parse().unwrap()))
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..20).collect::<Vec<_>>());
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_starts_no_new_task_and_the_running_ones_come_back() {
        let stop = Arc::new(Stop::new());
        let mut back = 0;
        // Endless items: only the stop can end it. The tenth task sets it, while the others
        // wait for a place.
        let fanned = fan_out(
            2,
            &stop,
            0u64..,
            |i| {
                let stop = stop.clone();
                async move {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    if i == 9 {
                        stop.set();
                    }
                }
            },
            |()| {
                back += 1;
                ControlFlow::Continue(())
            },
        )
        .await;
        assert_eq!(fanned.cut, Some(Cut::Stopped));
        assert!((10..=11).contains(&fanned.started), "{fanned:?}");
        assert_eq!(back, fanned.started, "every started task is handed back");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_ends_a_wait_for_a_place_at_once() {
        let stop = Arc::new(Stop::new());
        let setter = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            setter.set();
        });
        let started = tokio::time::Instant::now();
        let fanned = fan_out(
            1,
            &stop,
            [Duration::from_secs(2), Duration::from_secs(3600)],
            |pause| tokio::time::sleep(pause),
            |()| ControlFlow::Continue(()),
        )
        .await;
        // The first task runs out its 2 s; the second never starts.
        assert_eq!(
            fanned,
            Fanned {
                started: 1,
                cut: Some(Cut::Stopped)
            }
        );
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn breaking_off_aborts_the_running_tasks_and_starts_no_more() {
        let finished = Arc::new(AtomicUsize::new(0));
        let fanned = fan_out(
            3,
            &Stop::new(),
            0..100u64,
            |i| {
                let finished = finished.clone();
                async move {
                    // The first task fails at once; the others take a minute.
                    if i > 0 {
                        tokio::time::sleep(Duration::from_secs(60)).await;
                    }
                    finished.fetch_add(1, Ordering::SeqCst);
                    i
                }
            },
            |i| {
                if i == 0 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        )
        .await;
        assert_eq!(fanned.cut, Some(Cut::Broken));
        assert!(fanned.started <= 4, "{fanned:?}");
        tokio::time::sleep(Duration::from_secs(120)).await;
        assert_eq!(
            finished.load(Ordering::SeqCst),
            1,
            "the others were aborted"
        );
    }
}
