//! `fitfleet wait`: follow a job's progress stream to its end with a progress bar. When Redis
//! goes away (a restart, a network cut) it reconnects and resumes after the last event seen,
//! so no event is missed and none counted twice. When no result comes for `--stall-secs`, it
//! says why ([`crate::stall`]): Redis unreachable or refusing writes, no worker consuming,
//! tasks queued behind others or held by busy workers. Exits 0 when every task succeeded, 1
//! when some failed or the job was cancelled.
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;
use fitfleet_fleet::store::{JobState, ProgressEvent, Store};
use fitfleet_protocol::JobId;
use indicatif::ProgressBar;

use crate::args::WaitArgs;
use crate::settings::ClientSettings;
use crate::{fleet, progress, stall};

/// How long one read of the stream waits before the job's record is checked again.
const BLOCK: Duration = Duration::from_secs(5);
/// Events read at once.
const EVENTS_PER_READ: usize = 256;
/// Longest pause between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

pub fn run(args: &WaitArgs) -> Result<ExitCode> {
    let job = fleet::job_id(&args.job.id)?;
    let settings = ClientSettings::load(&args.connection)?;
    fleet::block_on(async {
        let store = fleet::store(&settings.broker).await?;
        let (state, (done, failed, total)) =
            follow_with_bar(&settings, &store, &job, Duration::from_secs(args.stall_secs.max(1))).await?;
        // After a reconnection the store's first command may fail while it reconnects.
        let mut elapsed = None;
        for _ in 0..3 {
            if let Ok(s) = fleet::job_status(&store, &job).await {
                elapsed = Some(fleet::human_duration(fleet::between(
                    s.created_ms,
                    s.finished_ms.unwrap_or_else(fitfleet_protocol::now_ms),
                )));
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let took = elapsed.map_or_else(String::new, |e| format!(" after {e}"));
        match state {
            JobState::Cancelled => {
                eprintln!("fitfleet: job {job} was cancelled{took}: {done} succeeded, {failed} failed of {total}");
                Ok(ExitCode::from(1))
            }
            _ if failed > 0 => {
                eprintln!(
                    "fitfleet: job {job} done{took}: {done} succeeded, {failed} failed of {total} (`fitfleet status {job}` says why)"
                );
                Ok(ExitCode::from(1))
            }
            _ => {
                eprintln!("fitfleet: job {job} done{took}: all {total} tasks succeeded");
                Ok(ExitCode::SUCCESS)
            }
        }
    })?
}

/// Follow `job` to its end with a progress bar over its tasks, saying why when no result comes
/// for `stall`: its final state and (done, failed, total).
pub(crate) async fn follow_with_bar(
    settings: &ClientSettings,
    store: &Store,
    job: &JobId,
    stall: Duration,
) -> Result<(JobState, (u64, u64, u64))> {
    let status = fleet::job_status(store, job).await?;
    let bar = progress::tasks_bar(status.total);
    let watch = Stall { cfg: &settings.broker, after: stall };
    let end = follow(store, job, &bar, &watch).await;
    bar.finish_and_clear();
    let end = end?;
    Ok((end.state, end.counts))
}

/// How the job ended: final state and (done, failed, total).
struct End {
    state: JobState,
    counts: (u64, u64, u64),
}

/// When and how to say why a job makes no progress.
struct Stall<'a> {
    cfg: &'a fitfleet_fleet::FleetConfig,
    /// Without a result for this long, say why; then again after each such span.
    after: Duration,
}

impl Stall<'_> {
    /// Print why nothing has come since `since`, if that is long enough and nothing was said
    /// for as long; `remaining` tasks have no result.
    async fn check(&self, since: &mut Instant, store: &Store, bar: &ProgressBar, remaining: u64) {
        if since.elapsed() < self.after {
            return;
        }
        let why = stall::diagnose(self.cfg, store, remaining).await;
        let quiet = fleet::human_duration(since.elapsed());
        say(bar, format!("fitfleet: no progress for {quiet}: {why}"));
        *since = Instant::now();
    }
}

/// A line on standard error above the bar (also when the bar is hidden: no terminal).
fn say(bar: &ProgressBar, line: String) {
    bar.suspend(|| eprintln!("{line}"));
}

/// Read progress events until the job ends, reconnecting (with backoff) when Redis is lost.
async fn follow(store: &Store, job: &JobId, bar: &ProgressBar, stall: &Stall<'_>) -> Result<End> {
    let mut last_id: Option<String> = None;
    let mut backoff = Duration::from_millis(200);
    let mut first_batch = true;
    // Since the last result, or the last time wait said why none came.
    let mut quiet_since = Instant::now();
    let mut remaining = u64::MAX;
    loop {
        let mut follower = match store.follow(job, last_id.as_deref()).await {
            Ok(f) => f,
            Err(e) => {
                if quiet_since.elapsed() >= stall.after {
                    let quiet = fleet::human_duration(quiet_since.elapsed());
                    let redis = stall.cfg.redis_url_redacted();
                    say(
                        bar,
                        format!(
                            "fitfleet: no progress for {quiet}: Redis at {redis} cannot be reached ({e}); retrying"
                        ),
                    );
                    quiet_since = Instant::now();
                }
                tracing::warn!(error = %e, "cannot reach Redis; retrying in {backoff:?}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        loop {
            let events = match follower.next_events(BLOCK, EVENTS_PER_READ).await {
                Ok(events) => events,
                Err(e) => {
                    tracing::warn!(error = %e, after = follower.last_id(), "lost the progress stream; resuming");
                    break;
                }
            };
            backoff = Duration::from_millis(200);
            last_id = Some(follower.last_id().to_string());
            for entry in &events {
                let counts = match &entry.event {
                    ProgressEvent::JobQueued { total } => Some((0, 0, *total)),
                    ProgressEvent::JobRunning { done, failed, total }
                    | ProgressEvent::TaskSucceeded { done, failed, total, .. }
                    | ProgressEvent::JobDone { done, failed, total }
                    | ProgressEvent::JobCancelled { done, failed, total } => Some((*done, *failed, *total)),
                    ProgressEvent::TaskFailed { done, failed, total, patch, reason, .. } => {
                        tracing::info!(patch, "task failed: {reason}");
                        Some((*done, *failed, *total))
                    }
                    ProgressEvent::Other { .. } => None,
                };
                if let Some((done, failed, total)) = counts {
                    if total.saturating_sub(done + failed) < remaining {
                        quiet_since = Instant::now();
                    }
                    remaining = total.saturating_sub(done + failed);
                    bar.set_length(total);
                    bar.set_position(done + failed);
                    bar.set_message(progress::failures_message(failed));
                }
                match &entry.event {
                    ProgressEvent::JobDone { done, failed, total } => {
                        return Ok(End { state: JobState::Done, counts: (*done, *failed, *total) });
                    }
                    ProgressEvent::JobCancelled { done, failed, total } => {
                        return Ok(End { state: JobState::Cancelled, counts: (*done, *failed, *total) });
                    }
                    _ => {}
                }
            }
            if std::mem::take(&mut first_batch) || events.len() == EVENTS_PER_READ {
                // Rate and ETA from what happens while we watch, not from the backlog.
                bar.reset_eta();
            }
            if events.is_empty() {
                // Nothing for a while: check the job is still there.
                match store.job_status(job).await {
                    Ok(Some(status)) => stall.check(&mut quiet_since, store, bar, status.remaining()).await,
                    Ok(None) => anyhow::bail!("job {job} is no longer in the store (expired, or Redis lost its data)"),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read the job's record; resuming");
                        break;
                    }
                }
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}
