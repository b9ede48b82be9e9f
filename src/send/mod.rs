//! Sending the plan's rows: wave by wave (parents before children), a blocking reader feeds the
//! requests the plan kept to a fixed pool of `concurrency` workers (`feed`, `worker`); each row's create runs
//! as `create_steps` says (`create`), with the row's idempotency keys (`idempotency`),
//! through the one rate limiter and the one token; every outcome goes to the one task that owns
//! the journal and the progress display (`collector`).

use std::num::NonZeroUsize;
use std::sync::Arc;
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
use crate::planning::Plan;
use crate::record::{Journal, OrgIds, Outcome, Outcomes};
use crate::report::progress::Progress;
use crate::report::requests::RequestCount;
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
    /// Its parent row, when its parent is another row of the file.
    pub(crate) parent: Option<usize>,
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

/// What sending needs: the plan (which rows to send, in which wave, and their requests) and
/// how to reach the tenant.
pub struct Job {
    /// The plan, its requests kept in row order ([`Plan::requests`]).
    pub plan: Arc<Plan>,
    /// Each row's outcome known before sending (unsent: to send), in input order: the plan's,
    /// taken out of it.
    pub outcomes: Outcomes,
    /// The input as the user named it, for the messages about its rows.
    pub shown_as: std::path::PathBuf,
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
    /// The look-ups among them.
    pub look_ups: u64,
    /// The time spent sending.
    pub elapsed: Duration,
}

/// Sends `job`'s rows, parents before children, and hands back every outcome. A fatal error
/// on the way sets `job.stop` (with the error) and the rows not yet sent stay `None`.
pub async fn run(job: Job) -> Sent {
    let started = Instant::now();
    let stop = job.control.stop.clone();
    let requests = Arc::new(RequestCount::default());
    let plan = job.plan.clone();
    let parent_ids = Arc::new(ParentIds::new(&plan.parents, &job.outcomes, &plan.lines));
    let send = (0..job.outcomes.len()).map(|i| job.outcomes.is_unsent(i));
    let send = Arc::new(send.collect::<Vec<bool>>());
    let (events, recorded) = mpsc::channel::<Event>(READ_AHEAD);
    let mut progress = Progress::new(plan.to_send as u64, job.quiet);
    progress.count_requests(requests.clone());
    progress.show_pace(job.client.throttle().clone());
    progress.publish_to(job.control.progress_sender());
    // Nothing to send, nothing to claim: a finished rerun does not index its million ids.
    let org_ids = if plan.to_send > 0 {
        OrgIds::new(&job.outcomes, &plan.lines)
    } else {
        OrgIds::default()
    };
    let display = collector::Display {
        progress,
        numbering: plan.numbering.clone(),
        shown_as: job.shown_as,
    };
    let collector = tokio::spawn(collect(
        recorded,
        job.outcomes,
        org_ids,
        parent_ids.clone(),
        job.journal,
        display,
        stop.clone(),
    ));
    let sending = Waves {
        plan: plan.clone(),
        send,
        concurrency: job.concurrency,
        worker: Worker {
            client: job.client,
            events,
            stop: stop.clone(),
            control: job.control,
            requests: requests.clone(),
            tenant: job.tenant,
            parent_ids,
            policy: job.policy,
            on_existing: job.on_existing,
        },
    };
    // Parents go before their children: wave n is sent once wave n - 1 has finished.
    for wave in 0..plan.wave_count {
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
        requests: requests.all(),
        look_ups: requests.look_ups(),
        elapsed,
    }
}

/// What every wave of a run shares: the plan its rows come from, and the worker each of the
/// pool's workers is a copy of.
struct Waves {
    /// The plan: each row's wave, parent and request.
    plan: Arc<Plan>,
    /// Which rows are to be sent at all.
    send: Arc<Vec<bool>>,
    /// Workers in the pool.
    concurrency: NonZeroUsize,
    /// The worker each of the pool's is a copy of.
    worker: Worker,
}

impl Waves {
    /// Sends the rows of `wave`, and waits until the results task has recorded every one.
    async fn send(&self, wave: usize) {
        // The wave's last row: the reader stops there, and a wave with none is not read.
        let in_wave = |index: usize| self.plan.waves.get(&index).copied().unwrap_or(0) == wave;
        let Some(last) = (0..self.send.len())
            .rev()
            .find(|&index| self.send[index] && in_wave(index))
        else {
            return;
        };
        // A blocking thread reads the wave's requests as the plan kept them and feeds them, in
        // order, to a fixed pool of `concurrency` workers that take them one at a time.
        let (row_tx, row_rx) = mpsc::channel::<Vec<Pending>>(READ_AHEAD / CHUNK);
        let wanted = WaveRows {
            plan: self.plan.clone(),
            send: self.send.clone(),
            wave,
            last,
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
