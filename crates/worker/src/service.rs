//! The fleet service: tasks from RabbitMQ, fits on blocking threads, results to Redis.
//!
//! For each delivery, in order:
//!
//! 1. A message that is not a task of this protocol version becomes a failed result (the
//!    reason says what is wrong with its bytes) when its `message_id` and `x-fitfleet-job`
//!    header name a task of a job; one that names none is dead-lettered (nothing can be
//!    recorded for it). Either way the worker goes on.
//! 2. A task of a cancelled or expired job, or one that already has a result (a redelivery),
//!    is acknowledged and skipped.
//! 3. A task is checked against its job (docs/security.md): a message whose `message_id` or
//!    `x-fitfleet-job` header disagrees with its body, or whose task the job does not list, is
//!    acknowledged and recorded nowhere; one whose work is not what the job recorded for its
//!    id ([`Task::work_digest`]) becomes a failed result naming the mismatch, and is not run.
//! 4. Otherwise it waits for one of `slots` fit slots, runs [`Processor::process`] on a
//!    blocking thread (fetching the workspace from Redis only on a model-cache miss), stores
//!    the result (first writer wins) and only then acknowledges the message: a task is never
//!    acknowledged without its result stored.
//!
//! Redis under pressure or out of reach (out of memory, busy, loading, disconnected: see
//! [`RedisPressure`]) is waited out: the operation is retried with exponential backoff for up
//! to [`REDIS_PRESSURE_WINDOW`] while the worker keeps the delivery, so that a passing
//! pressure costs the task none of its deliveries (each requeue spends one toward the delivery
//! limit). Only after that is the task given back to the queue, the reason naming the cause.
//!
//! While a task runs, its job is looked up every second: when it is cancelled (or expires) the
//! task's toys or scan stop at their next batch and the task is acknowledged without a
//! result. A task that runs past `task_time_budget_secs` stops the same way and is recorded
//! as failed, its reason naming the budget.
//!
//! On shutdown (the future given to [`Service::run`]: SIGTERM or SIGINT in the binary) the
//! worker cancels its consumer, finishes the fits in flight and those of the tasks RabbitMQ had
//! already delivered (at most the free slots' worth: they run beside the others), up to
//! `drain_timeout_secs`, stores and acknowledges them, and closes its connections. Nothing is
//! given back to be delivered again unless the drain timeout runs out; then the toys and
//! scans still running stop at their next batch and their tasks go back to the queue.
use std::future::Future;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use fitfleet_fleet::amqp::{Source, TaskConsumer, TaskDelivery};
use fitfleet_fleet::store::{RecordOutcome, RedisPressure, Store, StoreError, TaskEntry};
use fitfleet_protocol::{DecodeError, JobId, Status, Task, TaskId, TaskResult, Timings, WorkerId, WorkspaceDigest};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tracing::{debug, error, info, warn};

use crate::metrics::{Metrics, TaskOutcome};
use crate::settings::WorkerSettings;
use fitfleet_engine::infer::{Interrupt, StopReason};
use fitfleet_processor::{FetchError, ModelCache, Processor, StoreUnavailable, Unfinished};

/// How long a Redis operation is retried while Redis is under pressure or out of reach,
/// holding the delivery, before the task is given back to the queue. Well under RabbitMQ's
/// consumer timeout (30 minutes by default), which would take the delivery back.
pub const REDIS_PRESSURE_WINDOW: Duration = Duration::from_secs(300);
/// First wait between two attempts of a Redis operation; each wait doubles.
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(200);
/// Longest wait between two attempts of a Redis operation.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(10);
/// How often a running task's job is looked up, to stop its toys or scan when it is cancelled.
const CANCEL_POLL: Duration = Duration::from_secs(1);
/// After the drain timeout, how long the fits still running have to stop at their interrupt
/// (toys and scans stop within a batch) and give their tasks back, before they are left.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// What a run did, for the last log line and for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Results stored as succeeded / failed by this worker.
    pub succeeded: u64,
    pub failed: u64,
    /// Tasks another delivery had already stored, or skipped (cancelled job, result there).
    pub duplicates: u64,
    pub skipped: u64,
    /// Tasks given back to the queue (Redis not answering, or no slot for one received at
    /// shutdown).
    pub requeued: u64,
    /// Fits still running when the drain timeout ran out (their tasks go back to the queue).
    pub abandoned: usize,
}

/// A connected worker, ready to [`run`](Service::run).
pub struct Service {
    settings: WorkerSettings,
    store: Store,
    consumer: TaskConsumer,
    processor: Arc<Processor>,
    metrics: Arc<Metrics>,
    listener: TcpListener,
    metrics_addr: SocketAddr,
}

/// Connect, serve metrics and process tasks until `shutdown` completes; then drain.
pub async fn run(settings: WorkerSettings, shutdown: impl Future<Output = ()>) -> anyhow::Result<Summary> {
    Service::start(settings).await?.run(shutdown).await
}

impl Service {
    /// Bind the metrics endpoint and connect to Redis and RabbitMQ (one attempt each, so that
    /// a misconfiguration shows at once).
    pub async fn start(settings: WorkerSettings) -> anyhow::Result<Self> {
        settings.validate()?;
        let addr = settings.metrics_socket()?;
        let listener = match TcpListener::bind(addr).await {
            Ok(listener) => listener,
            // A second worker on the host: it still works, its metrics move to a free port.
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && addr.port() != 0 => {
                let listener = TcpListener::bind(SocketAddr::new(addr.ip(), 0))
                    .await
                    .with_context(|| format!("cannot serve metrics on {} (metrics_addr)", addr.ip()))?;
                warn!(
                    wanted = %addr,
                    serving = %listener.local_addr()?,
                    "metrics_addr is taken (another worker on this host?): serving metrics on a free port instead"
                );
                listener
            }
            Err(e) => return Err(e).with_context(|| format!("cannot serve metrics on {addr} (metrics_addr)")),
        };
        let metrics_addr = listener.local_addr()?;
        let store = Store::connect(&settings.broker).await?;
        let consumer = TaskConsumer::connect(&settings.broker, Source::Tasks, settings.slots).await?;
        let processor = Arc::new(
            Processor::new(ModelCache::new(settings.cache_models, settings.cache_bytes), WorkerId::current())
                .with_limits(settings.broker.limits())
                .with_device(settings.device_choice()?)?,
        );
        let metrics = Arc::new(Metrics::new(processor.clone(), settings.slots));
        info!(
            worker = %processor.worker,
            slots = settings.slots,
            queue = consumer.topology().tasks_queue,
            broker = %settings.broker.broker_url_redacted(),
            redis = %settings.broker.redis_url_redacted(),
            key_prefix = settings.broker.key_prefix,
            cache_models = settings.cache_models,
            cache_bytes = settings.cache_bytes,
            device = %processor.device_choice,
            max_task_bytes = settings.broker.max_task_bytes,
            max_workspace_bytes = settings.broker.max_workspace_bytes,
            max_patch_bytes = settings.broker.max_patch_bytes,
            metrics = %metrics_addr,
            dead_letter_recorder = settings.dead_letter_recorder,
            "fitfleet-worker started"
        );
        Ok(Service { settings, store, consumer, processor, metrics, listener, metrics_addr })
    }

    /// Where `/metrics` and `/healthz` are served (the port chosen when `metrics_addr` ends in `:0`).
    pub fn metrics_addr(&self) -> SocketAddr {
        self.metrics_addr
    }

    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// The processor, whose model cache statistics tests read.
    pub fn processor(&self) -> Arc<Processor> {
        self.processor.clone()
    }

    /// Process tasks until `shutdown` completes, then drain: see the [module docs](self).
    /// Returns an error only when RabbitMQ refuses the worker for good (credentials, queue
    /// arguments), after draining.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<Summary> {
        let Service { settings, store, mut consumer, processor, metrics, listener, metrics_addr: _ } = self;
        let (stop_tx, stop_rx) = watch::channel(false);
        let stopped = move || {
            let mut rx = stop_rx.clone();
            async move {
                let _ = rx.wait_for(|s| *s).await;
            }
        };
        let server = tokio::spawn(crate::http::serve(listener, metrics.clone(), stopped()));
        let recorder = settings.dead_letter_recorder.then(|| {
            let (cfg, store, stop) = (settings.broker.clone(), store.clone(), stopped());
            tokio::spawn(async move {
                if let Err(e) = fitfleet_fleet::run_dead_letter_recorder(&cfg, store, stop).await {
                    error!(error = %e, "the dead-letter recorder stopped; dead-lettered tasks are not recorded by this worker");
                }
            })
        });
        let (abandon_tx, abandon) = watch::channel(false);
        let ctx =
            Arc::new(Ctx { store, processor, metrics: metrics.clone(), budget: settings.task_time_budget(), abandon });
        let slots = Arc::new(Semaphore::new(usize::from(settings.slots)));
        let mut tasks = JoinSet::new();
        let mut summary = Summary::default();

        tokio::pin!(shutdown);
        let fatal = loop {
            while let Some(done) = tasks.try_join_next() {
                account(&mut summary, done);
            }
            // Take a task only with a free slot: prefetched tasks never wait behind fits.
            let permit = tokio::select! {
                biased;
                () = &mut shutdown => break None,
                p = slots.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            };
            let delivery = tokio::select! {
                biased;
                () = &mut shutdown => break None,
                d = consumer.next() => match d {
                    Ok(d) => d,
                    Err(e) => break Some(e),
                },
            };
            tasks.spawn(handle(ctx.clone(), delivery, permit));
        };

        // Drain.
        metrics.set_draining();
        let drain_timeout = settings.drain_timeout();
        match &fatal {
            None => info!(
                in_flight = tasks.len(),
                timeout_s = drain_timeout.as_secs(),
                "shutting down: taking no new tasks, finishing the fits in flight"
            ),
            Some(e) => {
                error!(error = %e, in_flight = tasks.len(), "RabbitMQ refused the worker; finishing the fits in flight")
            }
        }
        // Tasks RabbitMQ delivered before the cancel are ours already: finish them too, so that
        // a drain gives nothing back to be delivered again. There is a free slot for each (the
        // prefetch equals the slots, and a delivery is taken only with a free slot), so they run
        // beside the fits in flight and the drain takes no longer; one without a slot (never
        // expected) is requeued.
        for unstarted in consumer.stop_consuming().await {
            match slots.clone().try_acquire_owned() {
                Ok(permit) => {
                    tasks.spawn(handle(ctx.clone(), unstarted, permit));
                }
                Err(_) => match unstarted.requeue().await {
                    Ok(()) => {
                        summary.requeued += 1;
                        metrics.task(TaskOutcome::requeued);
                    }
                    Err(e) => {
                        warn!(error = %e, "could not requeue an unstarted task; RabbitMQ requeues it when we close")
                    }
                },
            }
        }
        let deadline = tokio::time::Instant::now() + drain_timeout;
        loop {
            match tokio::time::timeout_at(deadline, tasks.join_next()).await {
                Ok(Some(done)) => account(&mut summary, done),
                Ok(None) => break,
                Err(_) => {
                    summary.abandoned = tasks.len();
                    warn!(
                        abandoned = summary.abandoned,
                        "drain timeout: stopping the fits still running; their tasks go back to the queue"
                    );
                    // Toys and scans stop at their next batch and requeue their tasks; what is
                    // still running after the grace is left (RabbitMQ requeues it at the close).
                    let _ = abandon_tx.send(true);
                    let grace = tokio::time::Instant::now() + STOP_GRACE;
                    while let Ok(Some(done)) = tokio::time::timeout_at(grace, tasks.join_next()).await {
                        account(&mut summary, done);
                    }
                    tasks.abort_all();
                    while tasks.join_next().await.is_some() {}
                    break;
                }
            }
        }
        consumer.close().await;
        let _ = stop_tx.send(true);
        if let Some(r) = recorder {
            let _ = tokio::time::timeout(Duration::from_secs(10), r).await;
        }
        let _ = server.await;
        info!(
            succeeded = summary.succeeded,
            failed = summary.failed,
            duplicates = summary.duplicates,
            skipped = summary.skipped,
            requeued = summary.requeued,
            abandoned = summary.abandoned,
            "fitfleet-worker stopped"
        );
        match fatal {
            None => Ok(summary),
            Some(e) => Err(anyhow::Error::new(e).context("consuming tasks")),
        }
    }
}

/// What every task handler shares.
struct Ctx {
    store: Store,
    processor: Arc<Processor>,
    metrics: Arc<Metrics>,
    /// How long one task may run (`task_time_budget_secs`).
    budget: Option<Duration>,
    /// Becomes true when the drain timeout runs out: running work stops and is requeued.
    abandon: watch::Receiver<bool>,
}

fn account(summary: &mut Summary, done: Result<TaskOutcome, tokio::task::JoinError>) {
    match done {
        Ok(TaskOutcome::succeeded) => summary.succeeded += 1,
        Ok(TaskOutcome::failed) => summary.failed += 1,
        Ok(TaskOutcome::duplicate) => summary.duplicates += 1,
        Ok(TaskOutcome::skipped) => summary.skipped += 1,
        Ok(TaskOutcome::requeued) => summary.requeued += 1,
        Ok(TaskOutcome::dropped | TaskOutcome::rejected) => {}
        Err(e) if e.is_panic() => error!(error = %e, "a task handler panicked; its task goes back to the queue"),
        Err(_) => {}
    }
}

/// Settle one delivery; holds its fit slot until done.
async fn handle(ctx: Arc<Ctx>, delivery: TaskDelivery, _slot: OwnedSemaphorePermit) -> TaskOutcome {
    let outcome = match &delivery.task {
        Ok(task) => settle(&ctx, &delivery, task.clone()).await,
        Err(e) => unreadable(&ctx, &delivery, e).await,
    };
    ctx.metrics.task(outcome);
    outcome
}

async fn settle(ctx: &Ctx, delivery: &TaskDelivery, task: Task) -> TaskOutcome {
    let store = &ctx.store;
    let (job, id) = (&task.job_id, &task.task_id);
    if let Some(why) = ids_disagree(delivery, &task) {
        // Which of the two names the real task is unknown: record nothing for either.
        warn!(job = %job, task = %id, reason = why, "rejecting a forged message");
        ack(delivery, job, id).await;
        return TaskOutcome::rejected;
    }
    let checked = retry(&ctx.metrics, "checking the job", || async {
        Ok((store.should_skip(job).await?, store.has_result(job, id).await?))
    })
    .await;
    match checked {
        Ok((false, false)) => {}
        Ok((cancelled, _)) => {
            debug!(job = %job, task = %id, cancelled, "skipping: job cancelled or expired, or result already stored");
            ack(delivery, job, id).await;
            return TaskOutcome::skipped;
        }
        Err(e) => return requeue(delivery, job, id, &format!("cannot check the job: {}", explain(&e))).await,
    }
    match retry(&ctx.metrics, "checking the task against its job", || store.job_task(job, id)).await {
        Ok(Some(entry)) => {
            if let Some(why) = forged_work(&entry, &task) {
                return reject_forged_work(ctx, delivery, &task, entry, why).await;
            }
        }
        Ok(None) => {
            warn!(job = %job, task = %id, "rejecting a task its job does not list");
            ack(delivery, job, id).await;
            return TaskOutcome::rejected;
        }
        Err(e) => return requeue(delivery, job, id, &format!("cannot check the task: {}", explain(&e))).await,
    }
    match retry(&ctx.metrics, "marking the job running", || store.mark_running(job)).await {
        Ok(_) => {}
        Err(e @ StoreError::UnknownJob(_)) => {
            warn!(job = %job, task = %id, error = %e, "dropping the task");
            ack(delivery, job, id).await;
            return TaskOutcome::dropped;
        }
        Err(e) => return requeue(delivery, job, id, &format!("cannot mark the job running: {}", explain(&e))).await,
    }

    let _in_flight = ctx.metrics.in_flight();
    let attempt = delivery.attempt;
    let (processor, fetch_store, metrics) = (ctx.processor.clone(), ctx.store.clone(), ctx.metrics.clone());
    let runtime = tokio::runtime::Handle::current();
    let worker = processor.worker.clone();
    let blocking_task = task.clone();
    let interrupt = Interrupt::new(ctx.budget);
    let watcher = tokio::spawn(watch_for_stop(store.clone(), job.clone(), interrupt.clone(), ctx.abandon.clone()));
    let processed = tokio::task::spawn_blocking(move || {
        let task = blocking_task;
        catch_unwind(AssertUnwindSafe(|| {
            processor.process(&task, attempt, &interrupt, || {
                fetch_workspace(&runtime, &fetch_store, &metrics, &task.workspace)
            })
        }))
        .unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Ok(TaskResult::failed(&task, format!("the worker panicked: {what}"), worker, attempt, Timings::default()))
        })
    })
    .await;
    watcher.abort();
    let result = match processed {
        Ok(Ok(result)) => result,
        Ok(Err(Unfinished::StoreUnavailable(unavailable))) => {
            // Redis did not answer: the task is fine, give it to a worker that can fetch it.
            tokio::time::sleep(Duration::from_secs(1)).await;
            return requeue(delivery, job, id, &format!("cannot fetch the workspace: {unavailable}")).await;
        }
        Ok(Err(Unfinished::Stopped(StopReason::Cancelled))) => {
            info!(job = %job, task = %id, "stopped: the job was cancelled (or expired)");
            ack(delivery, job, id).await;
            return TaskOutcome::skipped;
        }
        Ok(Err(Unfinished::Stopped(reason))) => {
            return requeue(delivery, job, id, &format!("the worker is shutting down: the task was {reason}")).await;
        }
        Err(e) => return requeue(delivery, job, id, &format!("the fit thread failed: {e}")).await,
    };
    if result.timings.fit_s > 0.0 {
        ctx.metrics.fit_seconds(result.timings.fit_s);
    }
    let t = &result.timings;
    let recorded = retry(&ctx.metrics, "storing a result", || store.record_result(&result)).await;
    let outcome = match &recorded {
        Ok(RecordOutcome::Recorded(counts)) => {
            if counts.job_finished() {
                info!(job = %job, done = counts.done, failed = counts.failed, total = counts.total, "job finished");
            }
            if result.is_success() { TaskOutcome::succeeded } else { TaskOutcome::failed }
        }
        Ok(RecordOutcome::Duplicate(_)) => TaskOutcome::duplicate,
        Err(e @ (StoreError::UnknownJob(_) | StoreError::UnknownTask { .. })) => {
            warn!(job = %job, task = %id, error = %e, "dropping the result");
            TaskOutcome::dropped
        }
        Err(e) => return requeue(delivery, job, id, &format!("cannot store the result: {}", explain(e))).await,
    };
    match &result.status {
        Status::Succeeded => info!(
            job = %job, task = %id, patch = task.label(), attempt, outcome = ?outcome,
            cache_hit = t.model_cache_hit, fetch_s = t.workspace_fetch_s, compile_s = t.compile_s, fit_s = t.fit_s,
            "task succeeded"
        ),
        Status::Failed { reason } => warn!(
            job = %job, task = %id, patch = task.label(), attempt, outcome = ?outcome, reason,
            "task failed"
        ),
    }
    ack(delivery, job, id).await;
    outcome
}

/// Why a delivery's message ids (`message_id`, `x-fitfleet-job`) do not name the task its body
/// holds, if they do not: a message published by anything but the client's publisher.
fn ids_disagree(delivery: &TaskDelivery, task: &Task) -> Option<String> {
    let header = |value: &Option<String>, body: &str, what: &str| match value.as_deref() {
        Some(v) if v == body => None,
        Some(v) => Some(format!("its {what} {v:?} differs from its body's {body:?}")),
        None => Some(format!("it has no {what} (the body names {body:?})")),
    };
    header(&delivery.message_id, task.task_id.as_str(), "message_id")
        .or_else(|| header(&delivery.job_header, task.job_id.as_str(), "x-fitfleet-job header"))
}

/// Why `task` is not the task its job recorded under its id, if it is not: its work digest
/// ([`Task::work_digest`]) differs from the one the client recorded at submit.
fn forged_work(entry: &TaskEntry, task: &Task) -> Option<String> {
    let recorded = entry.digest.as_deref()?;
    let digest = task.work_digest();
    (digest != recorded).then(|| {
        format!(
            "the task message does not match its job record: what it asks (workspace, patch, settings, work) \
             digests to {digest}, the job recorded {recorded} for task {}; a forged or corrupted task, not run",
            task.task_id
        )
    })
}

/// A task whose work is not what its job recorded: its failed result names the mismatch (as
/// the job record's patch, not the message's), and it is never run.
async fn reject_forged_work(
    ctx: &Ctx,
    delivery: &TaskDelivery,
    task: &Task,
    entry: TaskEntry,
    why: String,
) -> TaskOutcome {
    let (job, id) = (&task.job_id, &task.task_id);
    warn!(job = %job, task = %id, reason = why, "rejecting a forged task");
    let mut result = TaskResult::failed(task, why, ctx.processor.worker.clone(), delivery.attempt, Timings::default());
    result.patch = entry.patch;
    match retry(&ctx.metrics, "storing a result", || ctx.store.record_result(&result)).await {
        Ok(_) | Err(StoreError::UnknownJob(_) | StoreError::UnknownTask { .. }) => {}
        Err(e) => return requeue(delivery, job, id, &format!("cannot store the result: {}", explain(&e))).await,
    }
    ack(delivery, job, id).await;
    TaskOutcome::rejected
}

/// Stop `interrupt` when the job is cancelled or expires (looked up every [`CANCEL_POLL`]), or
/// when the drain timeout runs out (`abandon`). Aborted when the task ends.
async fn watch_for_stop(store: Store, job: JobId, interrupt: Interrupt, mut abandon: watch::Receiver<bool>) {
    let mut poll = tokio::time::interval(CANCEL_POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = poll.tick() => {
                // A store that does not answer stops nothing: the task goes on.
                if let Ok(true) = store.should_skip(&job).await {
                    interrupt.stop(StopReason::Cancelled);
                    return;
                }
            }
            // The guard `wait_for` gives is not `Send`: dropped inside.
            abandoned = async { abandon.wait_for(|a| *a).await.is_ok() } => {
                if abandoned {
                    interrupt.stop(StopReason::Shutdown);
                }
                return;
            }
        }
    }
}

/// The workspace bytes for [`Processor::process`], called on a blocking thread on a model
/// cache miss. Redis under pressure is retried as by [`retry`]; if it still does not answer,
/// the error is [`FetchError::Unavailable`] (the task is requeued rather than failed).
fn fetch_workspace(
    runtime: &tokio::runtime::Handle,
    store: &Store,
    metrics: &Metrics,
    digest: &WorkspaceDigest,
) -> Result<(Vec<u8>, f64), FetchError> {
    let start = Instant::now();
    let fetched = runtime.block_on(retry(metrics, "fetching a workspace", || store.get_workspace(digest)));
    match fetched {
        Ok(Some(bytes)) => Ok((bytes, start.elapsed().as_secs_f64())),
        Ok(None) => Err(FetchError::Missing(digest.clone())),
        Err(e) if e.pressure().is_some() => Err(StoreUnavailable(explain(&e)).into()),
        Err(e) => Err(FetchError::Store(e.to_string())),
    }
}

/// A message that is not a readable task: record a failed result if it names its task,
/// otherwise dead-letter it.
async fn unreadable(ctx: &Ctx, delivery: &TaskDelivery, error: &DecodeError) -> TaskOutcome {
    let job = delivery.job_header.as_deref().and_then(|j| JobId::parse(j).ok());
    let task = delivery.message_id.as_deref().and_then(|t| TaskId::parse(t).ok());
    let (Some(job), Some(task)) = (job, task) else {
        error!(
            error = %error,
            message_id = delivery.message_id.as_deref().unwrap_or(""),
            job = delivery.job_header.as_deref().unwrap_or(""),
            bytes = delivery.payload.len(),
            "unreadable message naming no task; dead-lettering it"
        );
        if let Err(e) = delivery.dead_letter().await {
            warn!(error = %e, "could not dead-letter the message; it will come again");
        }
        return TaskOutcome::dropped;
    };
    warn!(job = %job, task = %task, error = %error, "unreadable task; recording it as failed");
    let result = TaskResult {
        job_id: job.clone(),
        task_id: task.clone(),
        patch: None,
        status: Status::Failed { reason: format!("the task message could not be read: {error}") },
        outcome: None,
        worker: ctx.processor.worker.clone(),
        attempt: delivery.attempt,
        timings: Timings::default(),
        finished_at_ms: fitfleet_protocol::now_ms(),
    };
    let outcome = match retry(&ctx.metrics, "storing a result", || ctx.store.record_result(&result)).await {
        Ok(RecordOutcome::Recorded(_)) => TaskOutcome::failed,
        Ok(RecordOutcome::Duplicate(_)) => TaskOutcome::duplicate,
        Err(e @ (StoreError::UnknownJob(_) | StoreError::UnknownTask { .. })) => {
            warn!(job = %job, task = %task, error = %e, "dropping the unreadable task");
            TaskOutcome::dropped
        }
        Err(e) => return requeue(delivery, &job, &task, &format!("cannot store the result: {}", explain(&e))).await,
    };
    ack(delivery, &job, &task).await;
    outcome
}

async fn ack(delivery: &TaskDelivery, job: &JobId, task: &TaskId) {
    if let Err(e) = delivery.ack().await {
        // The channel is gone: RabbitMQ redelivers the task, and the result already stored
        // makes that delivery a skip.
        warn!(job = %job, task = %task, error = %e, "could not acknowledge the task; it will be redelivered and skipped");
    }
}

async fn requeue(delivery: &TaskDelivery, job: &JobId, task: &TaskId, why: &str) -> TaskOutcome {
    warn!(job = %job, task = %task, reason = why, "giving the task back to the queue");
    if let Err(e) = delivery.requeue().await {
        warn!(job = %job, task = %task, error = %e, "could not requeue the task; RabbitMQ redelivers it anyway");
    }
    TaskOutcome::requeued
}

/// A store error for a log line or a requeue reason, led by the pressure behind it if any
/// ("Redis is out of memory (maxmemory reached): Redis: OOM command not allowed ...").
fn explain(e: &StoreError) -> String {
    match e.pressure() {
        Some(cause) => format!("{cause}: {e}"),
        None => e.to_string(),
    }
}

/// Run a Redis operation until it succeeds, fails for good, or Redis has been under pressure
/// for [`REDIS_PRESSURE_WINDOW`]: see [`retry_within`].
async fn retry<T, F, Fut>(metrics: &Metrics, what: &str, op: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    retry_within(REDIS_PRESSURE_WINDOW, metrics, what, op).await
}

/// Run a Redis operation until it succeeds or fails for good, retrying it while Redis is under
/// pressure ([`StoreError::pressure`]) with waits of 0.2 s, 0.4 s, ... up to
/// [`MAX_RETRY_DELAY`], for at most `window`; then the last error is returned.
async fn retry_within<T, F, Fut>(window: Duration, metrics: &Metrics, what: &str, mut op: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let started = Instant::now();
    let mut delay = FIRST_RETRY_DELAY;
    let mut retries = 0u32;
    let mut first_cause: Option<RedisPressure> = None;
    loop {
        let e = match op().await {
            Ok(v) => {
                if let Some(cause) = first_cause {
                    info!(
                        %cause, retries, waited_s = started.elapsed().as_secs_f64(),
                        "Redis: {what} succeeded after retrying"
                    );
                }
                return Ok(v);
            }
            Err(e) => e,
        };
        let Some(cause) = e.pressure() else { return Err(e) };
        first_cause.get_or_insert(cause);
        if started.elapsed() + delay > window {
            error!(
                error = %e, %cause, retries, waited_s = started.elapsed().as_secs_f64(),
                "Redis: {what} still failing; giving up"
            );
            metrics.store_gave_up(cause);
            return Err(e);
        }
        metrics.store_retry();
        retries += 1;
        warn!(error = %e, %cause, retry_in = ?delay, "Redis: {what} failed; retrying");
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(MAX_RETRY_DELAY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn metrics() -> Metrics {
        Metrics::new(Arc::new(Processor::new(ModelCache::new(1, 1 << 20), WorkerId::current())), 1)
    }

    /// The error Redis answers a write with when `maxmemory` is reached.
    fn out_of_memory() -> StoreError {
        let reply = b"-OOM command not allowed when used memory > 'maxmemory'.\r\n";
        StoreError::Redis(redis::parse_redis_value(reply).unwrap().extract_error().unwrap_err())
    }

    #[tokio::test]
    async fn out_of_memory_is_waited_out_without_giving_up() {
        let (m, calls) = (metrics(), AtomicU32::new(0));
        let r = retry_within(Duration::from_secs(5), &m, "storing a result", || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 2 { Err(out_of_memory()) } else { Ok(7) }
        })
        .await;
        assert_eq!(r.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3, "two refusals, then stored");
    }

    #[tokio::test]
    async fn lasting_out_of_memory_gives_up_after_the_window_naming_the_cause() {
        let (m, calls) = (metrics(), AtomicU32::new(0));
        let window = Duration::from_millis(900);
        let started = Instant::now();
        let r: Result<(), _> = retry_within(window, &m, "storing a result", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(out_of_memory())
        })
        .await;
        let e = r.unwrap_err();
        assert!(started.elapsed() <= window + Duration::from_millis(500), "bounded: {:?}", started.elapsed());
        // 0.2 s, 0.4 s, then 0.8 s would pass the window.
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!(m.store_gave_up_count(RedisPressure::OutOfMemory), 1);
        assert_eq!(e.pressure(), Some(RedisPressure::OutOfMemory));
        assert!(explain(&e).starts_with("Redis is out of memory (maxmemory reached): "), "{}", explain(&e));
    }

    #[tokio::test]
    async fn request_errors_are_not_retried() {
        let (m, calls) = (metrics(), AtomicU32::new(0));
        let r: Result<(), _> = retry_within(Duration::from_secs(5), &m, "storing a result", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(StoreError::Reply("odd".into()))
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
