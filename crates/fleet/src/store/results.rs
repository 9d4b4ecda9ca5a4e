//! Results: written once per task (first writer wins), read at any time.
use super::{Store, StoreError};
use fitfleet_protocol::{JobId, TaskId};
use fitfleet_protocol::{Status, TaskResult};
use redis::Script;
use std::collections::HashMap;
use std::sync::LazyLock;

static RECORD_RESULT: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/record_result.lua")));

/// What [`Store::record_result`] did, with the job's counts after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOutcome {
    /// This result is the task's result; counters and progress were updated.
    Recorded(Counts),
    /// The task already had a result (a redelivery, or a dead-letter record racing a
    /// worker): nothing was changed.
    Duplicate(Counts),
}

/// A job's counts and state as a result was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts {
    pub done: u64,
    pub failed: u64,
    pub total: u64,
    /// "queued", "running", "done" or "cancelled".
    pub state: String,
}

impl Counts {
    /// Whether this result completed the job.
    pub fn job_finished(&self) -> bool {
        self.done + self.failed >= self.total
    }
}

impl RecordOutcome {
    pub fn counts(&self) -> &Counts {
        match self {
            RecordOutcome::Recorded(c) | RecordOutcome::Duplicate(c) => c,
        }
    }

    pub fn is_duplicate(&self) -> bool {
        matches!(self, RecordOutcome::Duplicate(_))
    }
}

impl Store {
    /// Store a task's result unless the task already has one, atomically with counting it
    /// (done or failed), appending a progress event, marking the job done when every task
    /// is in, and refreshing the TTLs of the job's worker keys. A redelivered task can
    /// therefore never change or double-count a result.
    ///
    /// Fails with [`StoreError::UnknownJob`] when the job does not exist (expired: the
    /// worker should ack and drop the task) and [`StoreError::UnknownTask`] when the task
    /// is not in the job's task list.
    pub async fn record_result(&self, result: &TaskResult) -> Result<RecordOutcome, StoreError> {
        let bytes = result.encode()?;
        let job = &result.job_id;
        let k = &self.keys;
        let (status, reason) = match &result.status {
            Status::Succeeded => ("succeeded", ""),
            Status::Failed { reason } => ("failed", reason.as_str()),
        };
        let patch = result.patch.as_ref().map_or("", |p| p.name.as_str());
        let spec = self.job_spec(job).await?.ok_or_else(|| StoreError::UnknownJob(job.clone()))?;
        if self.task_of(job, &spec, &result.task_id).await?.is_none() {
            return Err(StoreError::UnknownTask { job: job.clone(), task: result.task_id.clone() });
        }
        let (outcome, done, failed, total, state): (String, u64, u64, u64, String) = RECORD_RESULT
            .key(k.job_state(job))
            .key(k.job_results(job))
            .key(k.job_events(job))
            .arg(result.task_id.as_str())
            .arg(bytes)
            .arg(status)
            .arg(self.ttl_secs)
            .arg(fitfleet_protocol::now_ms())
            .arg(patch)
            .arg(reason)
            .arg(spec.total)
            .arg(k.job_cancel(job))
            .invoke_async(&mut self.conn())
            .await?;
        let counts = Counts { done, failed, total, state };
        match outcome.as_str() {
            "recorded" => {
                tracing::debug!(job = %job, task = %result.task_id, status, done, failed, total, "result recorded");
                Ok(RecordOutcome::Recorded(counts))
            }
            "duplicate" => {
                tracing::debug!(job = %job, task = %result.task_id, "result already recorded; keeping the first");
                Ok(RecordOutcome::Duplicate(counts))
            }
            other => Err(StoreError::Reply(format!("record_result returned {other:?}"))),
        }
    }

    /// The task's result, if one is recorded.
    pub async fn result(&self, job: &JobId, task: &TaskId) -> Result<Option<TaskResult>, StoreError> {
        let bytes: Option<Vec<u8>> =
            redis::cmd("HGET").arg(self.keys.job_results(job)).arg(task.as_str()).query_async(&mut self.conn()).await?;
        bytes
            .map(|b| {
                TaskResult::decode(&b).map_err(|source| StoreError::CorruptResult { task: task.to_string(), source })
            })
            .transpose()
    }

    /// Whether the task already has a result (a worker can then ack a redelivery at once).
    pub async fn has_result(&self, job: &JobId, task: &TaskId) -> Result<bool, StoreError> {
        let n: i64 = redis::cmd("HEXISTS")
            .arg(self.keys.job_results(job))
            .arg(task.as_str())
            .query_async(&mut self.conn())
            .await?;
        Ok(n == 1)
    }

    /// Every result recorded so far for the job (partial while it runs), in no order.
    pub async fn results(&self, job: &JobId) -> Result<Vec<TaskResult>, StoreError> {
        let map: HashMap<String, Vec<u8>> =
            redis::cmd("HGETALL").arg(self.keys.job_results(job)).query_async(&mut self.conn()).await?;
        map.into_iter()
            .map(|(task, b)| TaskResult::decode(&b).map_err(|source| StoreError::CorruptResult { task, source }))
            .collect()
    }
}
