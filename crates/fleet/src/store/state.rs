//! A job's state changes: a worker marking it running (its script, on the worker's keys), the
//! client cancelling it (its own cancel key, which workers and readers honour).
use super::job::{CancelOutcome, JobState};
use super::{Store, StoreError};
use fitfleet_protocol::JobId;
use redis::Script;
use std::sync::LazyLock;

static MARK_RUNNING: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/mark_running.lua")));

impl Store {
    /// Cancel a queued or running job: workers skip its remaining tasks (results already
    /// stored stay, and late results are still recorded but do not end the job).
    ///
    /// Writes the job's cancel key only (SET NX with the TTL): the client may not write the
    /// job's state. Readers see the job cancelled at once; the first worker to touch the job
    /// afterwards records the state and the `job_cancelled` progress event, and
    /// [`super::ProgressFollower`] reports it before that.
    pub async fn cancel_job(&self, job: &JobId) -> Result<CancelOutcome, StoreError> {
        let status = self.job_status(job).await?.ok_or_else(|| StoreError::UnknownJob(job.clone()))?;
        if status.state.is_final() {
            return Ok(CancelOutcome::AlreadyFinal(status.state));
        }
        let set: Option<String> = redis::cmd("SET")
            .arg(self.keys.job_cancel(job))
            .arg(fitfleet_protocol::now_ms())
            .arg("NX")
            .arg("EX")
            .arg(self.ttl_secs)
            .query_async(&mut self.conn())
            .await?;
        if set.is_none() {
            return Ok(CancelOutcome::AlreadyFinal(JobState::Cancelled));
        }
        // The last result may have come in between: a job done first stays done.
        if let Some(JobState::Done) = self.job_state(job).await? {
            return Ok(CancelOutcome::AlreadyFinal(JobState::Done));
        }
        tracing::info!(job = %job, "job cancelled");
        Ok(CancelOutcome::Cancelled)
    }

    /// Note that a worker started one of the job's tasks (moves `queued` to `running`, with
    /// a progress event; a job the client cancelled becomes `cancelled`). Cheap and
    /// idempotent; returns the job's state.
    pub async fn mark_running(&self, job: &JobId) -> Result<JobState, StoreError> {
        let spec = self.job_spec(job).await?.ok_or_else(|| StoreError::UnknownJob(job.clone()))?;
        let k = &self.keys;
        let state: String = MARK_RUNNING
            .key(k.job_state(job))
            .key(k.job_events(job))
            .arg(fitfleet_protocol::now_ms())
            .arg(self.ttl_secs)
            .arg(spec.total)
            .arg(k.job_cancel(job))
            .invoke_async(&mut self.conn())
            .await?;
        state.parse().map_err(|detail| StoreError::CorruptJob { job: job.clone(), detail })
    }
}
