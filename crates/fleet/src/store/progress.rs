//! Per-job progress streams: every result, state change and the end of the job, in order,
//! readable from any point onward (a client that lost its connection resumes from the id
//! of the last event it saw).
//!
//! The workers write the stream. Two events come from elsewhere, as the client writes no
//! stream: `job_queued`, read from the job's spec as the first event (id [`QUEUED_ID`], before
//! any the stream holds), and a cancellation, which a [`ProgressFollower`] reports from the
//! job's cancel key when no worker has written it yet.
use super::record::{self, STATE_FIELDS};
use super::{Keys, Store, StoreError};
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

/// The id of the `job_queued` event, before any id of a stream's own.
pub const QUEUED_ID: &str = "0-1";

/// The longest a follower waits on the stream before it looks for a cancellation.
const CANCEL_POLL: Duration = Duration::from_secs(1);

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
        let mut out = Vec::new();
        let from_start = matches!(after, None | Some("0-0"));
        let spec = if from_start { self.job_spec(job).await? } else { None };
        if let Some(spec) = spec {
            out.push(ProgressEntry { id: QUEUED_ID.to_owned(), event: ProgressEvent::JobQueued { total: spec.total } });
        }
        let count = count.max(1);
        if out.len() >= count {
            return Ok(out);
        }
        let start = match after {
            None => "-".to_owned(),
            Some(id) => format!("({id}"),
        };
        let reply: StreamRangeReply = redis::cmd("XRANGE")
            .arg(self.keys.job_events(job))
            .arg(start)
            .arg("+")
            .arg("COUNT")
            .arg(count - out.len())
            .query_async(&mut self.conn())
            .await?;
        for id in &reply.ids {
            out.push(parse_entry(id)?);
        }
        Ok(out)
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
        Ok(ProgressFollower {
            conn,
            keys: self.keys.clone(),
            job: job.clone(),
            key: self.keys.job_events(job),
            last_id: after.unwrap_or("0-0").to_owned(),
            ended: false,
        })
    }
}

/// Waits for a job's progress events; see [`Store::follow`].
pub struct ProgressFollower {
    conn: redis::aio::MultiplexedConnection,
    keys: Keys,
    job: JobId,
    key: String,
    last_id: String,
    /// A final event was returned (read, or made from the cancel key).
    ended: bool,
}

impl ProgressFollower {
    /// The id of the last event returned ("0-0" before any): save it to resume later with
    /// [`Store::follow`] or [`Store::progress`].
    pub fn last_id(&self) -> &str {
        &self.last_id
    }

    /// The next events (up to `count`), waiting up to `wait` for at least one. Returns an
    /// empty list when nothing happened within `wait`. The first call (from the beginning)
    /// returns `job_queued`; a job cancelled by the client that no worker has marked yet gives
    /// one `job_cancelled` (without a stream id of its own: [`Self::last_id`] stays).
    pub async fn next_events(&mut self, wait: Duration, count: usize) -> Result<Vec<ProgressEntry>, StoreError> {
        let spec = if self.last_id == "0-0" { self.spec().await? } else { None };
        if let Some(spec) = spec {
            self.last_id = QUEUED_ID.to_owned();
            return Ok(vec![ProgressEntry {
                id: QUEUED_ID.to_owned(),
                event: ProgressEvent::JobQueued { total: spec.total },
            }]);
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let entries = self.read(left.min(CANCEL_POLL), count).await?;
            if !entries.is_empty() {
                self.ended |= entries.iter().any(|e| e.event.is_final());
                return Ok(entries);
            }
            let cancelled = if self.ended { None } else { self.cancellation().await? };
            if let Some(cancelled) = cancelled {
                self.ended = true;
                return Ok(vec![cancelled]);
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(vec![]);
            }
        }
    }

    async fn read(&mut self, wait: Duration, count: usize) -> Result<Vec<ProgressEntry>, StoreError> {
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

    async fn spec(&mut self) -> Result<Option<record::StoredSpec>, StoreError> {
        let json: Option<String> = redis::cmd("GET")
            .arg(self.keys.job(&self.job))
            .query_async(&mut self.conn)
            .await
            .map_err(|e| record::wrong_type(&self.job, e))?;
        json.map(|j| record::parse_spec(&self.job, &j)).transpose()
    }

    /// A `job_cancelled` event when the client cancelled the job and it was not done first.
    async fn cancellation(&mut self) -> Result<Option<ProgressEntry>, StoreError> {
        let k = &self.keys;
        let (spec, state, cancelled): (Option<String>, Vec<Option<String>>, Option<String>) = redis::pipe()
            .cmd("GET")
            .arg(k.job(&self.job))
            .cmd("HMGET")
            .arg(k.job_state(&self.job))
            .arg(&STATE_FIELDS[..])
            .cmd("GET")
            .arg(k.job_cancel(&self.job))
            .query_async(&mut self.conn)
            .await
            .map_err(|e| record::wrong_type(&self.job, e))?;
        if cancelled.is_none() {
            return Ok(None);
        }
        let status = record::status(&self.job, spec.as_deref(), &state, cancelled.as_deref())?;
        Ok(status.filter(|s| s.state == super::JobState::Cancelled).map(|s| ProgressEntry {
            id: self.last_id.clone(),
            event: ProgressEvent::JobCancelled { done: s.done, failed: s.failed, total: s.total },
        }))
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
