//! Sending the plan's rows: wave by wave (parents before children), a blocking reader feeds the
//! rows to a fixed pool of `concurrency` workers (`feed`, `worker`); each row's create runs
//! as `create_steps` says (`create`), with the row's idempotency keys (`idempotency`),
//! through the one rate limiter and the one token; every outcome goes to the one task that owns
//! the journal and the progress display (`collector`).

use std::collections::{HashMap, HashSet};
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

mod collector;
mod control;
mod create;
mod create_steps;
mod feed;
mod idempotency;
mod worker;

use crate::api::{ApiClient, CreateOrganization, RetryPolicy};
use crate::input::{Mapping, Source};
use crate::record::{Journal, OrgIds, Outcome, Outcomes};
use crate::report::progress::Progress;
use crate::stop::Stop;
use crate::tenant::on_existing::ExistingCheck;
use collector::collect;
pub use control::RunControl;
use feed::{RowQueue, WaveRows};
use worker::{ParentIds, Worker};

/// Rows read ahead of the workers.
pub(crate) const READ_AHEAD: usize = 1024;
/// Rows handed from the reader to the workers at a time: one wake-up for this many rows.
pub(crate) const CHUNK: usize = 64;

/// A row on its way to the API.
pub(crate) struct Pending {
    /// Its position among the data rows.
    pub(crate) index: usize,
    /// The line of the input where it starts, for the messages about it.
    pub(crate) line: u64,
    /// Its key (id, else name), for the journal.
    pub(crate) key: String,
    /// The request body.
    pub(crate) request: CreateOrganization,
    /// An earlier run may have created it without hearing so: look before sending.
    pub(crate) in_doubt: bool,
}

/// What workers tell the results task.
pub(crate) enum Event {
    /// The row `key` is about to be sent for the first time; `written` is answered once that
    /// is in the journal, and only then is the request sent.
    Sending {
        key: String,
        written: oneshot::Sender<()>,
    },
    /// The row at `index` (starting at `line`) finished; `update` when its outcome came
    /// from the `--on-existing` check (an update, or the read before one) rather than a
    /// create.
    Finished {
        index: usize,
        line: u64,
        key: String,
        outcome: Outcome,
        update: bool,
    },
    /// Answered once every event before it is recorded: a wave's rows, before the next wave's
    /// children are given their parents' ids.
    Recorded(oneshot::Sender<()>),
}

/// What sending needs: the plan's rows, how to read them again, and how to reach the tenant.
pub struct Job<'a> {
    /// The input, read again wave by wave.
    pub source: Source,
    /// The input as the user named it, for the messages about its rows.
    pub shown_as: std::path::PathBuf,
    /// Its mapping.
    pub mapping: Mapping,
    /// The template for rows that name none.
    pub default_template: Option<String>,
    /// Each row's outcome known before sending (unsent: to send), in input order.
    pub outcomes: Outcomes,
    /// The line where each row starts.
    pub lines: &'a [u64],
    /// Rows whose parent is another row of the file: child index -> parent index.
    pub parents: HashMap<usize, usize>,
    /// The wave of each row with an in-file parent; other rows are in wave 0.
    pub waves: HashMap<usize, usize>,
    /// How many waves there are.
    pub wave_count: usize,
    /// How many rows are to be sent.
    pub to_send: usize,
    /// Keys of rows an earlier run may have created without hearing so.
    pub in_doubt: HashSet<String>,
    /// The organizations API, through the shared limiter and token.
    pub client: ApiClient,
    /// The tenant, part of every idempotency key.
    pub tenant: String,
    /// How each request is retried.
    pub policy: RetryPolicy,
    /// Workers, so requests in flight, at most.
    pub concurrency: NonZeroUsize,
    /// The `--on-existing` check, when the tenant was listed.
    pub on_existing: Option<Arc<ExistingCheck>>,
    /// The journal every row goes to before it is sent and when it finishes.
    pub journal: Journal,
    /// No progress display.
    pub quiet: bool,
    /// Its stop signal (Ctrl-C or a fatal error: no new row is started once it is set) and
    /// its pause switch (no new row is started while it is on).
    pub control: RunControl,
}

/// What sending did.
pub struct Sent {
    /// Each row's outcome (unsent: the run stopped before it was sent), in input order.
    pub outcomes: Outcomes,
    /// The journal, to be removed once the results file is written.
    pub journal: Journal,
    /// Requests sent, retries and look-ups included.
    pub requests: u64,
    /// The time spent sending.
    pub elapsed: Duration,
}

/// Sends `job`'s rows, parents before children, and hands back every outcome. A fatal error
/// on the way sets `job.stop` (with the error) and the rows not yet sent stay `None`.
pub async fn run(job: Job<'_>) -> Sent {
    let started = Instant::now();
    let Job {
        source,
        shown_as,
        mapping,
        default_template,
        outcomes,
        lines,
        parents,
        waves,
        wave_count,
        to_send,
        in_doubt,
        client,
        tenant,
        policy,
        concurrency,
        on_existing,
        journal,
        quiet,
        control,
    } = job;
    let stop = control.stop.clone();
    let requests = Arc::new(AtomicU64::new(0));
    let parent_ids = Arc::new(ParentIds::new(&parents, &outcomes, lines));
    let send_mask: Arc<Vec<bool>> =
        Arc::new((0..outcomes.len()).map(|i| outcomes.is_unsent(i)).collect());
    let (done_tx, done_rx) = mpsc::channel::<Event>(READ_AHEAD);
    let mut progress = Progress::new(to_send as u64, quiet);
    progress.count_requests(requests.clone());
    progress.show_pace(client.throttle().clone());
    progress.publish_to(control.progress_sender());
    // Nothing to send, nothing to claim: a finished rerun does not index its million ids.
    let org_ids = if to_send > 0 {
        OrgIds::new(&outcomes, lines)
    } else {
        OrgIds::default()
    };
    let collector = tokio::spawn(collect(
        done_rx,
        outcomes,
        org_ids,
        parent_ids.clone(),
        journal,
        collector::Display {
            progress,
            numbering: source.numbering().clone(),
            shown_as,
        },
        stop.clone(),
    ));
    let sending = Waves {
        source,
        mapping: Arc::new(mapping),
        send: send_mask,
        waves: Arc::new(waves),
        in_doubt: Arc::new(in_doubt),
        default_template,
        concurrency,
        worker: Worker {
            client,
            events: done_tx,
            stop: stop.clone(),
            control,
            requests: requests.clone(),
            tenant,
            parents: Arc::new(parents),
            parent_ids,
            policy,
            on_existing,
        },
    };
    // Parents go before their children: wave n is sent once wave n - 1 has finished.
    for wave in 0..wave_count {
        if stop.is_set() {
            break;
        }
        sending.send(wave).await;
    }
    // The workers' last handle on the results task: it ends once the events are recorded.
    drop(sending);
    let elapsed = started.elapsed();
    let (outcomes, journal) = collector.await.expect("the results task does not panic");
    Sent {
        outcomes,
        journal,
        requests: requests.load(Ordering::Relaxed),
        elapsed,
    }
}

/// What every wave of a run shares: how to read its rows, and the worker each of the pool's
/// workers is a copy of.
struct Waves {
    /// The input, read again wave by wave.
    source: Source,
    /// Its mapping.
    mapping: Arc<Mapping>,
    /// Which rows are to be sent at all.
    send: Arc<Vec<bool>>,
    /// The wave of each row with an in-file parent (others are in wave 0).
    waves: Arc<HashMap<usize, usize>>,
    /// Keys of rows an earlier run may have created.
    in_doubt: Arc<HashSet<String>>,
    /// The template for rows that name none.
    default_template: Option<String>,
    /// Workers in the pool.
    concurrency: NonZeroUsize,
    /// The worker each of the pool's is a copy of.
    worker: Worker,
}

impl Waves {
    /// Sends the rows of `wave`, and waits until the results task has recorded every one.
    async fn send(&self, wave: usize) {
        // The wave's last row: the reader stops there, and a wave with none is not read.
        let in_wave = |index: usize| self.waves.get(&index).copied().unwrap_or(0) == wave;
        let Some(last) = (0..self.send.len())
            .rev()
            .find(|&index| self.send[index] && in_wave(index))
        else {
            return;
        };
        // A blocking thread reads the input again and feeds this wave's rows, in order, to a
        // fixed pool of `concurrency` workers that take them one at a time.
        let (row_tx, row_rx) = mpsc::channel::<Vec<Pending>>(READ_AHEAD / CHUNK);
        let wanted = WaveRows {
            source: self.source.clone(),
            mapping: self.mapping.clone(),
            send: self.send.clone(),
            waves: self.waves.clone(),
            wave,
            last,
            in_doubt: self.in_doubt.clone(),
            default_template: self.default_template.clone(),
        };
        let reader = tokio::task::spawn_blocking(move || wanted.read(row_tx));
        let queue = Arc::new(tokio::sync::Mutex::new(RowQueue {
            chunks: row_rx,
            taken: Vec::new().into_iter(),
        }));
        let mut workers = JoinSet::new();
        for _ in 0..self.concurrency.get() {
            workers.spawn(self.worker.clone().take_rows(queue.clone()));
        }
        // The workers hold the only handles on the queue: once they are done, the reader's
        // next send fails and it stops.
        drop(queue);
        while workers.join_next().await.is_some() {}
        if let Ok(Err(e)) = reader.await {
            self.worker.stop.fatal(e);
        }
        // A parent's id is the one recorded for it: not one the results task refuses as
        // another row's organization ([`OrgIds::claim`]).
        let (recorded, all_recorded) = oneshot::channel();
        let events = &self.worker.events;
        if events.send(Event::Recorded(recorded)).await.is_ok() {
            let _ = all_recorded.await;
        }
    }
}
