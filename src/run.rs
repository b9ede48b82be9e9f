//! The import pipeline: plan the rows, then send the creates concurrently (a cap on requests
//! in flight, one shared rate limiter, one shared token), retrying what may pass, and hand
//! every outcome to the one task that owns the journal and the progress display.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::api::{ApiClient, Backoff, CallError, CreateOrganization};
use crate::config::Config;
use crate::existing::Existing;
use crate::input::{self, Dialect, Mapping};
use crate::on_existing::Hook;
use crate::plan::{self, Plan};
use crate::progress::Progress;
use crate::results::{self, Journal, Outcome, Status};
use crate::session::{self, Stop};
use crate::{Error, RowError};

/// A resend this soon after an unanswered create is safe: the API replays its first answer
/// for the same idempotency key for one minute (less a margin for clocks and transit).
const REPLAY_WINDOW: Duration = Duration::from_secs(50);
/// This many rows failing in a row with the same error stop the run: the cause is not in the
/// rows (an outage, a missing permission), and the rest would only fail the same way.
const SYSTEMIC_FAILURES: usize = 20;
/// Rows read ahead of the workers.
const READ_AHEAD: usize = 1024;
/// Rows handed from the reader to the workers at a time: one wake-up for this many rows.
const CHUNK: usize = 64;

/// What an import did, for the summary line and the exit code.
#[derive(Debug)]
pub struct Summary {
    /// Rows in the input.
    pub rows: usize,
    /// Rows by final status (this run and earlier ones).
    pub counts: HashMap<Status, u64>,
    /// Rows an earlier run had finished, not sent again.
    pub done_before: usize,
    /// Rows of this run for which a create or update was sent.
    pub sent: u64,
    /// Create requests sent in this run, retries included.
    pub requests: u64,
    /// Tokens fetched in this run.
    pub token_fetches: u64,
    /// The whole run's time.
    pub elapsed: Duration,
    /// The time spent sending.
    pub send_elapsed: Duration,
    /// Where the results are.
    pub results: PathBuf,
    /// The error that stopped the run early, if one did.
    pub fatal: Option<Error>,
    /// Whether Ctrl-C stopped the run early.
    pub interrupted: bool,
}

impl Summary {
    /// How many rows ended with `status`.
    pub fn count(&self, status: Status) -> u64 {
        self.counts.get(&status).copied().unwrap_or(0)
    }

    /// 0 when every row exists now, 1 when some failed or are invalid, 2 after a fatal
    /// error, 130 after Ctrl-C.
    pub fn exit_code(&self) -> u8 {
        if self.fatal.is_some() {
            2
        } else if self.interrupted {
            130
        } else if Status::ALL
            .iter()
            .filter(|s| s.is_done())
            .map(|s| self.count(*s))
            .sum::<u64>()
            == self.rows as u64
        {
            0
        } else {
            1
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counts: Vec<String> = Status::ALL
            .iter()
            .filter(|s| self.count(**s) > 0 || matches!(s, Status::Created))
            .map(|s| format!("{} {}", self.count(*s), s.as_str()))
            .collect();
        let rate = self.sent as f64 / self.send_elapsed.as_secs_f64().max(1e-9);
        write!(f, "{} rows: {}", self.rows, counts.join(", "),)?;
        if self.done_before > 0 {
            write!(
                f,
                " ({} done by an earlier run, not sent)",
                self.done_before
            )?;
        }
        write!(
            f,
            "; {} sent in {:.1}s ({rate:.1} rows/s, {} requests); results: {}",
            self.sent,
            self.elapsed.as_secs_f64(),
            self.requests,
            self.results.display()
        )
    }
}

/// A row on its way to the API.
struct Pending {
    /// Its position among the data rows.
    index: usize,
    /// Its key (id, else name), for the journal.
    key: String,
    /// The request body.
    request: CreateOrganization,
    /// An earlier run may have created it without hearing so: look before sending.
    in_doubt: bool,
}

/// What workers tell the results task.
enum Event {
    /// The row `key` is about to be sent for the first time; `written` is answered once that
    /// is in the journal, and only then is the request sent.
    Sending {
        key: String,
        written: oneshot::Sender<()>,
    },
    /// The row at `index` finished.
    Finished {
        index: usize,
        key: String,
        outcome: Outcome,
    },
}

/// Runs an import as `config` says: plan, send, write the results.
///
/// # Errors
/// A fatal [`Error`] found before anything was sent (settings, input, credentials). A fatal
/// error after sending began is returned in [`Summary::fatal`], with the results written.
pub async fn import(config: Config) -> Result<Summary, Error> {
    let started = Instant::now();
    let session = session::connect(&config).await?;
    let (tenant, default_template) = (&session.tenant, session.default_template.clone());

    let Prepared {
        mapping,
        plan,
        in_doubt,
        done_earlier,
    } = prepare(&config, default_template.clone()).await?;
    if done_earlier > plan.done_before {
        keep_earlier_results(&config, done_earlier - plan.done_before)?;
    }

    if plan.outcomes.is_empty() {
        eprintln!(
            "warning: {} has a header but no data rows; nothing to import",
            config.input.display()
        );
    }
    if !config.quiet
        && plan.done_before > 0
        && config.on_existing == crate::on_existing::OnExisting::Update
    {
        eprintln!(
            "{} rows done by an earlier run are not sent or compared again; to update them \
             too, write the results to a new file (--out)",
            plan.done_before
        );
    }
    if !config.quiet {
        for example in &plan.invalid_examples {
            eprintln!("{}: {example}", config.input.display());
        }
        if plan.invalid > plan.invalid_examples.len() {
            eprintln!(
                "{}: {} more invalid rows (see the results file)",
                config.input.display(),
                plan.invalid - plan.invalid_examples.len()
            );
        }
    }

    let (client, tokens) = (&session.client, &session.tokens);
    let mut on_existing = None;
    if plan.to_send > 0 {
        // Credentials, scope and template are checked before any row is sent.
        tokens.token().await?;
        if let Some(template) = &default_template {
            check_template(client, template).await?;
        }
        // One list request per 100 organizations the tenant has; then a row whose
        // organization exists by id or name is never created twice, whatever the mode.
        // Fields are compared only to update.
        let details = config.on_existing == crate::on_existing::OnExisting::Update;
        let existing = Existing::list(client, config.max_attempts.get(), details).await?;
        let hook = Hook::new(config.on_existing, existing, config.max_attempts.get());
        on_existing = Some(Arc::new(hook));
    }

    let send_started = Instant::now();
    let stop = Arc::new(Stop::new());
    let requests = Arc::new(AtomicU64::new(0));
    let parent_ids = Arc::new(ParentIds::new(&plan));
    let Plan {
        outcomes,
        to_send,
        done_before,
        parents,
        waves,
        wave_count,
        ..
    } = plan;
    let rows = outcomes.len();
    let parents = Arc::new(parents);
    let waves = Arc::new(waves);
    let mapping = Arc::new(mapping);
    let in_doubt = Arc::new(in_doubt);

    let send_mask: Arc<Vec<bool>> = Arc::new(outcomes.iter().map(Option::is_none).collect());
    let journal = Journal::open(&config.results)?;
    let (done_tx, done_rx) = mpsc::channel::<Event>(READ_AHEAD);
    let mut progress = Progress::new(to_send as u64, config.quiet);
    progress.count_requests(requests.clone());
    let collector = tokio::spawn(collect(done_rx, outcomes, journal, progress, stop.clone()));

    // The journal holds every finished row and every row in flight, so after a second
    // Ctrl-C a rerun resumes from here without creating anything twice.
    stop.on_ctrl_c(
        "interrupted: finishing the requests in flight, sending no new rows \
         (Ctrl-C again to quit at once)",
        Some("interrupted again: quitting now; rerun the same command to finish"),
    );

    let max_attempts = config.max_attempts.get();
    let tenant_name = tenant.tenant.clone();
    // Parents go before their children: wave n is sent once wave n - 1 has finished.
    for wave in 0..wave_count {
        if stop.is_set() {
            break;
        }
        // The wave's last row: the reader stops there, and a wave with none is not read.
        let in_wave = |index: usize| waves.get(&index).copied().unwrap_or(0) == wave;
        let Some(last) = (0..send_mask.len())
            .rev()
            .find(|&index| send_mask[index] && in_wave(index))
        else {
            continue;
        };
        // A blocking thread reads the input again and feeds this wave's rows, in order, to a
        // fixed pool of `concurrency` workers that take them one at a time.
        let (row_tx, row_rx) = mpsc::channel::<Vec<Pending>>(READ_AHEAD / CHUNK);
        let wanted = WaveRows {
            input: config.input.clone(),
            dialect: config.dialect,
            mapping: mapping.clone(),
            send: send_mask.clone(),
            waves: waves.clone(),
            wave,
            last,
            in_doubt: in_doubt.clone(),
            default_template: default_template.clone(),
        };
        let reader = tokio::task::spawn_blocking(move || wanted.read(row_tx));

        let queue = Arc::new(tokio::sync::Mutex::new(RowQueue {
            chunks: row_rx,
            taken: Vec::new().into_iter(),
        }));
        let mut workers = JoinSet::new();
        for _ in 0..config.concurrency.get() {
            let worker = Worker {
                client: client.clone(),
                events: done_tx.clone(),
                stop: stop.clone(),
                requests: requests.clone(),
                tenant: tenant_name.clone(),
                parents: parents.clone(),
                parent_ids: parent_ids.clone(),
                max_attempts,
                on_existing: on_existing.clone(),
            };
            workers.spawn(worker.take_rows(queue.clone()));
        }
        // The workers hold the only handles on the queue: once they are done, the reader's
        // next send fails and it stops.
        drop(queue);
        while workers.join_next().await.is_some() {}
        if let Ok(Err(e)) = reader.await {
            stop.fatal(e);
        }
    }
    drop(done_tx);
    let send_elapsed = send_started.elapsed();

    let (outcomes, journal) = collector.await.expect("the results task does not panic");
    let fatal = stop.take_fatal();
    let interrupted = stop.is_set() && fatal.is_none();
    let why_unsent = if interrupted {
        "the run was interrupted before this row was sent; rerun to send it".to_string()
    } else {
        "the run stopped before this row was sent; rerun to send it".to_string()
    };
    let outcomes: Vec<Outcome> = outcomes
        .into_iter()
        .map(|o| {
            o.unwrap_or_else(|| {
                Outcome::unsent(
                    Status::NotSent,
                    RowError::NotSent(why_unsent.clone()).to_string(),
                )
            })
        })
        .collect();
    let mut counts = HashMap::new();
    for o in &outcomes {
        *counts.entry(o.status).or_insert(0u64) += 1;
    }
    // Rows of this run that took at least one request: not those the tenant listing settled.
    let sent = outcomes
        .iter()
        .zip(send_mask.iter())
        .filter(|(o, send)| **send && o.attempts > 0)
        .count() as u64;
    let input_path = config.input.clone();
    let results_path = config.results.clone();
    let dialect = config.dialect;
    tokio::task::spawn_blocking(move || -> Result<(), Error> {
        results::write(&input_path, &dialect, &results_path, &outcomes)?;
        journal.remove()
    })
    .await
    .expect("the results writer does not panic")?;

    Ok(Summary {
        rows,
        counts,
        done_before,
        sent,
        requests: requests.load(Ordering::Relaxed),
        token_fetches: tokens.fetches(),
        elapsed: started.elapsed(),
        send_elapsed,
        results: config.results,
        fatal,
        interrupted,
    })
}

/// The results task: the one owner of the outcomes, the journal and the progress display.
/// Each batch of events is journaled and flushed before rows are let go or counted done.
async fn collect(
    mut events: mpsc::Receiver<Event>,
    mut outcomes: Vec<Option<Outcome>>,
    mut journal: Journal,
    mut progress: Progress,
    stop: Arc<Stop>,
) -> (Vec<Option<Outcome>>, Journal) {
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    // The error of the latest failures, and how many rows in a row failed with it.
    let mut streak: (String, usize) = (String::new(), 0);
    while let Some(first) = events.recv().await {
        let mut next = Some(first);
        while let Some(event) = next {
            match event {
                Event::Sending { key, written } => {
                    if let Err(e) = journal.append_pending(&key) {
                        stop.fatal(e);
                    }
                    progress.row_sending();
                    waiting.push(written);
                }
                Event::Finished {
                    index,
                    key,
                    outcome,
                } => {
                    if let Err(e) = journal.append(&key, &outcome) {
                        stop.fatal(e);
                    }
                    if outcome.status == Status::Failed {
                        progress.println(&format!(
                            "failed: {key} ({})",
                            outcome.error.as_deref().unwrap_or("")
                        ));
                    }
                    progress.row_done(outcome.status);
                    if outcome.status == Status::Failed {
                        let error = outcome.error.as_deref().unwrap_or("");
                        // "HTTP 403 forbidden: ..." -> "HTTP 403 forbidden"; trace ids differ,
                        // and all server errors are one kind (an outage answers 500 and 503).
                        let kind = match outcome.http_status {
                            Some(500..) => "HTTP 5xx",
                            _ => error.split(':').next().unwrap_or(error),
                        };
                        if streak.0 == kind {
                            streak.1 += 1;
                        } else {
                            streak = (kind.to_string(), 1);
                        }
                        if streak.1 == SYSTEMIC_FAILURES {
                            stop.fatal(Error::Systemic {
                                count: streak.1,
                                error: error.to_string(),
                            });
                        }
                    } else {
                        streak.1 = 0;
                    }
                    outcomes[index] = Some(outcome);
                }
            }
            next = events.try_recv().ok();
        }
        match journal.flush() {
            // Rows are sent only once the journal holds their `pending` line.
            Ok(()) => waiting.drain(..).for_each(|w| {
                let _ = w.send(());
            }),
            Err(e) => {
                stop.fatal(e);
                waiting.clear();
            }
        }
    }
    progress.finish();
    (outcomes, journal)
}

/// What a reader thread needs to feed one wave's rows to the workers.
struct WaveRows {
    /// The input file.
    input: PathBuf,
    /// Its dialect.
    dialect: Dialect,
    /// Its mapping.
    mapping: Arc<Mapping>,
    /// Which rows are to be sent at all.
    send: Arc<Vec<bool>>,
    /// The wave of each row with an in-file parent (others are in wave 0).
    waves: Arc<HashMap<usize, usize>>,
    /// The wave to read.
    wave: usize,
    /// The index of the wave's last row to send.
    last: usize,
    /// Keys of rows an earlier run may have created.
    in_doubt: Arc<HashSet<String>>,
    /// The template for rows that name none.
    default_template: Option<String>,
}

impl WaveRows {
    /// Reads the input again and sends this wave's rows to `rows`, in order, in chunks.
    fn read(self, rows: mpsc::Sender<Vec<Pending>>) -> Result<(), Error> {
        let mut chunk = Vec::with_capacity(CHUNK);
        let path = &self.input;
        let mut reader = input::reader(path, &self.dialect)?;
        input::read_headers(path, &mut reader)?;
        for (index, row) in
            input::rows(path, &self.dialect, reader, self.mapping.width()).enumerate()
        {
            if index > self.last {
                break;
            }
            let row = row?;
            let in_wave = self.waves.get(&index).copied().unwrap_or(0) == self.wave;
            if !in_wave || !self.send.get(index).copied().unwrap_or(false) {
                continue;
            }
            let changed = || Error::Input {
                path: path.to_path_buf(),
                message: format!("line {}: the file changed during the run", row.line),
            };
            let request = self
                .mapping
                .to_request(&row.record, self.default_template.as_deref())
                .map_err(|_| changed())?;
            let key = self.mapping.key(&row.record).ok_or_else(changed)?;
            let pending = Pending {
                index,
                in_doubt: self.in_doubt.contains(&key),
                key,
                request,
            };
            chunk.push(pending);
            if chunk.len() == CHUNK {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                if rows.blocking_send(full).is_err() {
                    // The workers stopped taking rows (Ctrl-C or a fatal error).
                    return Ok(());
                }
            }
        }
        if !chunk.is_empty() {
            let _ = rows.blocking_send(chunk);
        }
        Ok(())
    }
}

/// A wave's rows on their way to the workers: chunks from the reader, taken a row at a time.
struct RowQueue {
    /// Chunks from the reader.
    chunks: mpsc::Receiver<Vec<Pending>>,
    /// What is left of the chunk being taken.
    taken: std::vec::IntoIter<Pending>,
}

impl RowQueue {
    /// The next row, or `None` once the reader is done.
    async fn next(&mut self) -> Option<Pending> {
        loop {
            if let Some(row) = self.taken.next() {
                return Some(row);
            }
            self.taken = self.chunks.recv().await?.into_iter();
        }
    }
}

/// The organization ids of rows that are parents of other rows, for their children.
struct ParentIds {
    /// Parent row -> its line, and its organization id once it exists (or why it does not).
    /// A std mutex: held only to read or write an entry, never across an await.
    rows: Mutex<HashMap<usize, (u64, Option<ParentState>)>>,
}

/// A parent row's organization id, or why it has none.
type ParentState = Result<String, String>;

impl ParentIds {
    fn new(plan: &Plan) -> Self {
        let rows = plan
            .parents
            .values()
            .map(|&parent| {
                let known = plan.outcomes[parent].as_ref().map(|o| match &o.org_id {
                    Some(id) if o.status.is_done() => Ok(id.clone()),
                    _ => Err(o.error.clone().unwrap_or_else(|| o.status.as_str().into())),
                });
                (parent, (plan.lines[parent], known))
            })
            .collect();
        ParentIds {
            rows: Mutex::new(rows),
        }
    }

    /// Records how row `index` ended, if it is a parent.
    fn finished(&self, index: usize, outcome: &Outcome) {
        let mut rows = self.rows.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, known)) = rows.get_mut(&index) {
            *known = Some(match &outcome.org_id {
                Some(id) if outcome.status.is_done() => Ok(id.clone()),
                _ => Err(outcome
                    .error
                    .clone()
                    .unwrap_or_else(|| outcome.status.as_str().into())),
            });
        }
    }

    /// The organization id of parent row `index`, or why there is none.
    fn id_of(&self, index: usize) -> Result<String, String> {
        let rows = self.rows.lock().unwrap_or_else(|e| e.into_inner());
        match rows.get(&index) {
            Some((_, Some(Ok(id)))) => Ok(id.clone()),
            Some((line, Some(Err(why)))) => {
                Err(format!("its parent, line {line}, was not created ({why})"))
            }
            Some((line, None)) => Err(format!("its parent, line {line}, was not sent")),
            None => Err("its parent is unknown".into()),
        }
    }
}

/// One worker's share of the run: what it needs to send one row.
struct Worker {
    client: ApiClient,
    events: mpsc::Sender<Event>,
    stop: Arc<Stop>,
    requests: Arc<AtomicU64>,
    /// The tenant, part of every idempotency key.
    tenant: String,
    parents: Arc<HashMap<usize, usize>>,
    parent_ids: Arc<ParentIds>,
    max_attempts: u32,
    /// The `--on-existing` check against the tenant listing, run before a row is sent.
    on_existing: Option<Arc<Hook>>,
}

impl Worker {
    /// Takes rows from `queue` and sends them one at a time, until the queue is empty or the
    /// run stops.
    async fn take_rows(self, queue: Arc<tokio::sync::Mutex<RowQueue>>) {
        loop {
            let pending = {
                // The worker holding the lock waits for the reader and watches for a stop;
                // the others wait for the lock.
                let mut rows = queue.lock().await;
                if self.stop.is_set() {
                    return;
                }
                tokio::select! {
                    biased;
                    _ = self.stop.wait() => return,
                    row = rows.next() => match row {
                        Some(row) => row,
                        None => return,
                    },
                }
            };
            self.run(pending).await;
        }
    }

    /// Sends `pending` (once the journal has it) and reports how it ended.
    async fn run(&self, pending: Pending) {
        let Pending {
            index,
            key,
            mut request,
            in_doubt,
        } = pending;
        let mut outcome = match self.parents.get(&index).map(|p| self.parent_ids.id_of(*p)) {
            Some(Err(why)) => Some(Outcome::unsent(
                Status::NotSent,
                RowError::NotSent(format!("{why}; rerun once it exists")).to_string(),
            )),
            Some(Ok(parent_id)) => {
                request.parent_id = Some(parent_id);
                None
            }
            None => None,
        };
        // A row an earlier attempt may have created is left to the lookup before resending.
        if let Some(hook) = self
            .on_existing
            .as_ref()
            .filter(|_| outcome.is_none() && !in_doubt)
        {
            outcome = hook
                .before_send(&self.client, &request, &self.stop, &self.requests)
                .await;
        }
        let outcome = match outcome {
            Some(outcome) => outcome,
            None => {
                // The journal learns of the row before the API does, so that a crash in
                // between is followed by a lookup rather than a blind resend.
                let (written, journaled) = oneshot::channel();
                let announced = self
                    .events
                    .send(Event::Sending {
                        key: key.clone(),
                        written,
                    })
                    .await;
                if announced.is_err() || journaled.await.is_err() {
                    return; // The results task is gone; the run is failing already.
                }
                // The body is serialized once, and the same bytes are hashed into the
                // idempotency key and sent on every attempt.
                let body =
                    Bytes::from(serde_json::to_vec(&request).expect("a request always serialises"));
                let idempotency_key = idempotency_key(&self.tenant, &key, &body);
                let row = Row {
                    request: &request,
                    body: &body,
                    idempotency_key: &idempotency_key,
                    in_doubt,
                };
                send_row(
                    &self.client,
                    row,
                    self.max_attempts,
                    &self.stop,
                    &self.requests,
                )
                .await
            }
        };
        self.parent_ids.finished(index, &outcome);
        // The results task outlives the workers; a send fails only if it died, and then the
        // results cannot be written anyway.
        let _ = self
            .events
            .send(Event::Finished {
                index,
                key,
                outcome,
            })
            .await;
    }
}

/// Everything about an import that can be known without the network.
pub struct Prepared {
    /// The input's mapping.
    pub mapping: Mapping,
    /// What to do with each row.
    pub plan: Plan,
    /// Keys of rows an earlier run may have created without hearing so.
    pub in_doubt: HashSet<String>,
    /// How many rows earlier runs finished, in this input or not.
    pub done_earlier: usize,
}

/// Reads the input's header, builds its mapping, reads what earlier runs left, and checks
/// every row.
///
/// # Errors
/// A fatal [`Error`] for unreadable input, a mapping that does not fit the header, or a
/// results file that is not orgimport's.
pub async fn prepare(config: &Config, default_template: Option<String>) -> Result<Prepared, Error> {
    let input_path = config.input.clone();
    let results_path = config.results.clone();
    let dialect = config.dialect;
    let spec = config.mapping.clone();
    tokio::task::spawn_blocking(move || -> Result<_, Error> {
        let mapping = input::mapping_for(&input_path, &dialect, &spec)?;
        let previous = results::load_previous(&results_path, &mapping)?;
        let plan = plan::build(
            &input_path,
            &dialect,
            &mapping,
            &previous,
            default_template.as_deref(),
            &mut |_| {},
        )?;
        Ok(Prepared {
            mapping,
            plan,
            done_earlier: previous.done.len(),
            in_doubt: previous.in_doubt,
        })
    })
    .await
    .expect("the planning thread does not panic")
}

/// The results file names organizations that rows of this input do not: it belongs to
/// another input, or rows were removed. It is about to be replaced, so a copy is kept.
fn keep_earlier_results(config: &Config, missing: usize) -> Result<(), Error> {
    if !config.results.exists() {
        return Ok(());
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut name = config.results.as_os_str().to_owned();
    name.push(format!(".{stamp}.bak"));
    let copy = PathBuf::from(name);
    std::fs::copy(&config.results, &copy).map_err(|e| Error::io(&copy, e))?;
    eprintln!(
        "warning: {} lists {missing} organizations created by earlier runs for rows that are \
         not in {}; the results file is about to be rewritten for this input, so a copy \
         was kept as {}",
        config.results.display(),
        config.input.display(),
        copy.display()
    );
    Ok(())
}

/// A row as a worker sends it.
#[derive(Clone, Copy)]
struct Row<'a> {
    /// The request, for lookups.
    request: &'a CreateOrganization,
    /// The request as JSON, as sent.
    body: &'a Bytes,
    /// The same for every attempt at this row, in this run and later ones.
    idempotency_key: &'a str,
    /// An earlier run may have created it.
    in_doubt: bool,
}

/// Sends one row until it is created, refused, or out of attempts.
///
/// A retry after an ambiguous failure (5xx, timeout, dropped connection) carries the same
/// idempotency key, so within the server's replay window it gets the first answer instead of
/// creating again. Past that window, and for rows an earlier run may have created, a row
/// with an id relies on the 409 that a second create would get; a row without one is looked
/// up by name before it is sent again.
async fn send_row(
    client: &ApiClient,
    row: Row<'_>,
    max_attempts: u32,
    stop: &Stop,
    requests: &AtomicU64,
) -> Outcome {
    let request = row.request;
    let mut backoff = Backoff::default();
    let mut attempts = 0;
    // Since when a create of ours may have gone through unheard.
    let mut in_doubt_since: Option<Instant> = None;
    let mut maybe_created = row.in_doubt;
    loop {
        let must_look = request.id.is_none()
            && ((attempts == 0 && row.in_doubt)
                || in_doubt_since.is_some_and(|t| t.elapsed() >= REPLAY_WINDOW));
        if must_look {
            match look_up_by_name(client, request, attempts).await {
                Some(outcome) => return outcome,
                None => in_doubt_since = None,
            }
        }
        attempts += 1;
        requests.fetch_add(1, Ordering::Relaxed);
        let error = match client
            .create_json(row.body.clone(), row.idempotency_key)
            .await
        {
            Ok(org) => {
                return Outcome {
                    status: Status::Created,
                    org_id: Some(org.id),
                    http_status: Some(201),
                    error: None,
                    attempts,
                    changes: None,
                };
            }
            Err(e) => e,
        };
        if error.status() == Some(409)
            && let Some(id) = &request.id
        {
            return adopt_existing(client, request, id, maybe_created, attempts).await;
        }
        if let CallError::Auth(Error::AuthRejected { .. }) = &error {
            let CallError::Auth(fatal) = error else {
                unreachable!()
            };
            let message = fatal.to_string();
            stop.fatal(fatal);
            return Outcome::failed(None, RowError::Transport(message), attempts);
        }
        if error.is_ambiguous() {
            maybe_created = true;
            in_doubt_since.get_or_insert_with(Instant::now);
        }
        let retry = stop.retry_after(
            &mut backoff,
            error,
            attempts,
            max_attempts,
            "a create",
            &request.name,
        );
        if let Err((status, row_error)) = retry.await {
            return Outcome::failed(status, row_error, attempts);
        }
    }
}

/// Makes sure the default template exists and is a template, so that a typo in
/// `--template-id` stops the run instead of failing every row.
async fn check_template(client: &ApiClient, id: &str) -> Result<(), Error> {
    let problem = match client.get(id).await {
        Ok(Some(org)) if org.template => return Ok(()),
        Ok(Some(_)) => "is an organization, not a template (its `template` is false)".to_string(),
        Ok(None) => "does not exist in this tenant (check --template-id)".to_string(),
        Err(e) => format!("could not be read: {}", e.into_row_error()),
    };
    Err(Error::Template {
        id: id.to_string(),
        problem,
    })
}

/// Looks for the organization a create of ours may have made: `None` when there is none (so
/// the row is to be sent), else the row's outcome.
async fn look_up_by_name(
    client: &ApiClient,
    request: &CreateOrganization,
    attempts: u32,
) -> Option<Outcome> {
    match client.find_by_name(&request.name).await {
        Ok(found) if found.is_empty() => None,
        Ok(mut found) if found.len() == 1 => {
            let org = found.pop().expect("one organization");
            Some(Outcome {
                status: Status::Created,
                org_id: Some(org.id),
                http_status: Some(200),
                error: None,
                attempts,
                changes: None,
            })
        }
        Ok(found) => Some(Outcome::failed(
            Some(200),
            RowError::Api {
                status: 200,
                code: "ambiguous_name".into(),
                message: format!(
                    "{} organizations are named {:?} ({}); not sent again, to create no \
                     duplicate: give the row an id, or remove the extra organizations",
                    found.len(),
                    request.name,
                    found
                        .iter()
                        .map(|o| o.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                trace_id: None,
            },
            attempts,
        )),
        Err(e) => {
            let status = e.status();
            Some(Outcome::failed(
                status,
                RowError::Transport(format!(
                    "could not check whether an earlier attempt created it, so it was not \
                     sent again: {}",
                    e.into_row_error()
                )),
                attempts,
            ))
        }
    }
}

/// After a 409 for a row with an id: fetch the organization with that id and take it as the
/// row's if its name matches.
async fn adopt_existing(
    client: &ApiClient,
    request: &CreateOrganization,
    id: &str,
    maybe_created: bool,
    attempts: u32,
) -> Outcome {
    match client.get(id).await {
        Ok(Some(org)) if org.name == request.name => Outcome {
            // After an ambiguous attempt of ours, the organization is the one we created.
            status: if maybe_created {
                Status::Created
            } else {
                Status::Exists
            },
            org_id: Some(org.id),
            http_status: Some(409),
            error: None,
            attempts,
            changes: None,
        },
        Ok(Some(org)) => Outcome::failed(
            Some(409),
            RowError::Api {
                status: 409,
                code: "conflict".into(),
                message: format!(
                    "id {id:?} already belongs to an organization named {:?}, not {:?}",
                    org.name, request.name
                ),
                trace_id: None,
            },
            attempts,
        ),
        Ok(None) => Outcome::failed(
            Some(409),
            RowError::Api {
                status: 409,
                code: "conflict".into(),
                message: format!("the API reported id {id:?} as taken but cannot find it"),
                trace_id: None,
            },
            attempts,
        ),
        Err(e) => Outcome::failed(e.status(), e.into_row_error(), attempts),
    }
}

/// A key the server uses to recognise a resend of the same create: the same row (tenant, key
/// and body, as JSON) always gives the same key; a changed row gives a new one.
fn idempotency_key(tenant: &str, key: &str, body: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hash = Sha256::new();
    hash.update(b"orgimport/1\0");
    hash.update(tenant.as_bytes());
    hash.update(b"\0");
    hash.update(key.as_bytes());
    hash.update(b"\0");
    hash.update(body);
    let mut hex = String::with_capacity(64);
    for b in hash.finalize() {
        hex.push(char::from(HEX[usize::from(b >> 4)]));
        hex.push(char::from(HEX[usize::from(b & 15)]));
    }
    hex
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_the_hex_sha256_of_tenant_key_and_body() {
        let body = br#"{"name":"acme"}"#;
        let key = idempotency_key("demo", "name:acme", body);
        // The same key as earlier versions made, so a run resumed by a newer build still
        // gets the replay of its first answer.
        let mut hash = Sha256::new();
        hash.update(b"orgimport/1\0demo\0name:acme\0");
        hash.update(body);
        let expected: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(key, expected);
        assert_ne!(
            key,
            idempotency_key("demo", "name:acme", br#"{"name":"acme2"}"#)
        );
    }
}
