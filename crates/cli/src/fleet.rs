//! What the fleet commands share: an async runtime, connections with errors that say what to
//! start, job ids, durations for people.
use std::future::Future;
use std::time::Duration;

use anyhow::{Context, Result};
use fitfleet_fleet::FleetConfig;
use fitfleet_fleet::store::{JobStatus, Store};
use fitfleet_protocol::JobId;

/// Run a fleet command's future to its end.
pub fn block_on<F: Future>(f: F) -> Result<F::Output> {
    let rt =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the async runtime")?;
    Ok(rt.block_on(f))
}

/// Connect to the fleet's Redis.
pub async fn store(cfg: &FleetConfig) -> Result<Store> {
    Store::connect(cfg).await.context("connecting to the fleet's store (Redis; --redis-url, FITFLEET_REDIS_URL)")
}

/// The job id as given on the command line.
pub fn job_id(text: &str) -> Result<JobId> {
    JobId::parse(text.trim()).context("the job id")
}

/// The job's record, or an error saying it is unknown.
pub async fn job_status(store: &Store, job: &JobId) -> Result<JobStatus> {
    store.job_status(job).await.with_context(|| format!("reading job {job}"))?.with_context(|| {
        format!("job {job} is unknown under key prefix {:?} (never submitted, or expired)", store.keys().prefix())
    })
}

/// "2h 03m", "4m 10s", "12.3 s".
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h {:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// Milliseconds between two unix-ms times as a duration (zero if reversed).
pub fn between(from_ms: u64, to_ms: u64) -> Duration {
    Duration::from_millis(to_ms.saturating_sub(from_ms))
}
