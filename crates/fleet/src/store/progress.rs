//! Per-job progress streams: every result, state change and the end of the job, in order,
//! readable from any point onward (a client that lost its connection resumes from the id
//! of the last event it saw).
use super::{Store, StoreError};
use fitfleet_protocol::{JobId, TaskId};
use redis::AsyncConnectionConfig;
use redis::streams::{StreamId, StreamRangeReply, StreamReadReply};
use std::time::Duration;

/// One progress event. Every event carries the job's counts right after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgressEvent {
    /// The job was created with `total` tasks.
    JobQueued {
        total: u64,
    },
    /// The first task started or finished.
    JobRunning {
        done: u64,
        failed: u64,
        total: u64,
    },
    TaskSucceeded {
        task_id: TaskId,
        /// The patch name ("" for an unpatched workspace).
        patch: String,
        done: u64,
        failed: u64,
        total: u64,
    },
    TaskFailed {
        task_id: TaskId,
        patch: String,
        reason: String,
        done: u64,
        failed: u64,
        total: u64,
    },
    /// Every task has a result; no more events follow.
    JobDone {
        done: u64,
        failed: u64,
        total: u64,
    },
    /// The job was cancelled; results may still trickle in from tasks already running.
    JobCancelled {
        done: u64,
        failed: u64,
        total: u64,
    },
    /// An event this version does not know (written by a newer fitfleet).
    Other {
        event: String,
    },
}

impl ProgressEvent {
    /// Whether this event ends the job.
    pub fn is_final(&self) -> bool {
        matches!(self, ProgressEvent::JobDone { .. } | ProgressEvent::JobCancelled { .. })
    }
}

/// A progress event with its stream id (resume after it with [`Store::progress`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressEntry {
    /// Redis stream id, e.g. "1700000000000-0".
    pub id: String,
    pub event: ProgressEvent,
}

impl Store {
    /// Up to `count` progress events of the job after the event `after` (`None`: from the
    /// beginning). Returns immediately, possibly with nothing.
    pub async fn progress(
        &self,
        job: &JobId,
        after: Option<&str>,
        count: usize,
    ) -> Result<Vec<ProgressEntry>, StoreError> {
        let start = match after {
            None => "-".to_owned(),
            Some(id) => format!("({id}"),
        };
        let reply: StreamRangeReply = redis::cmd("XRANGE")
            .arg(self.keys.job_events(job))
            .arg(start)
            .arg("+")
            .arg("COUNT")
            .arg(count.max(1))
            .query_async(&mut self.conn())
            .await?;
        reply.ids.iter().map(parse_entry).collect()
    }

    /// A reader that waits for new events of a job, on a connection of its own (waiting
    /// would otherwise hold up every other command of this store).
    pub async fn follow(&self, job: &JobId, after: Option<&str>) -> Result<ProgressFollower, StoreError> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(None);
        let conn = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|source| StoreError::Connect { url: self.url.clone(), source })?;
        Ok(ProgressFollower { conn, key: self.keys.job_events(job), last_id: after.unwrap_or("0-0").to_owned() })
    }
}

/// Waits for a job's progress events; see [`Store::follow`].
pub struct ProgressFollower {
    conn: redis::aio::MultiplexedConnection,
    key: String,
    last_id: String,
}

impl ProgressFollower {
    /// The id of the last event returned ("0-0" before any): save it to resume later with
    /// [`Store::follow`] or [`Store::progress`].
    pub fn last_id(&self) -> &str {
        &self.last_id
    }

    /// The next events (up to `count`), waiting up to `wait` for at least one. Returns an
    /// empty list when nothing happened within `wait`.
    pub async fn next_events(&mut self, wait: Duration, count: usize) -> Result<Vec<ProgressEntry>, StoreError> {
        let block_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
        let reply: Option<StreamReadReply> = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(count.max(1))
            .arg("BLOCK")
            .arg(block_ms)
            .arg("STREAMS")
            .arg(&self.key)
            .arg(&self.last_id)
            .query_async(&mut self.conn)
            .await?;
        let entries: Vec<ProgressEntry> = reply
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .map(|id| parse_entry(&id))
            .collect::<Result<_, _>>()?;
        if let Some(last) = entries.last() {
            self.last_id.clone_from(&last.id);
        }
        Ok(entries)
    }
}

fn parse_entry(s: &StreamId) -> Result<ProgressEntry, StoreError> {
    let text = |k: &str| s.get::<String>(k).unwrap_or_default();
    let num = |k: &str| s.get::<u64>(k).unwrap_or(0);
    let task_id =
        || TaskId::parse(&text("task_id")).map_err(|e| StoreError::Reply(format!("progress event {}: {e}", s.id)));
    let (done, failed, total) = (num("done"), num("failed"), num("total"));
    let event = match text("event").as_str() {
        "job_queued" => ProgressEvent::JobQueued { total },
        "job_running" => ProgressEvent::JobRunning { done, failed, total },
        "task_succeeded" => {
            ProgressEvent::TaskSucceeded { task_id: task_id()?, patch: text("patch"), done, failed, total }
        }
        "task_failed" => ProgressEvent::TaskFailed {
            task_id: task_id()?,
            patch: text("patch"),
            reason: text("reason"),
            done,
            failed,
            total,
        },
        "job_done" => ProgressEvent::JobDone { done, failed, total },
        "job_cancelled" => ProgressEvent::JobCancelled { done, failed, total },
        other => ProgressEvent::Other { event: other.to_owned() },
    };
    Ok(ProgressEntry { id: s.id.clone(), event })
}
