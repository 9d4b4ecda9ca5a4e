//! How a job is stored: the client's spec and task-list chunks (JSON strings written once), and
//! the reading of a job's status from them, the workers' state hash and the cancel key.
use super::StoreError;
use super::job::{JobState, JobStatus, TaskEntry};
use fitfleet_engine::model::ModelSettings;
use fitfleet_protocol::{JobId, PatchLabel, TaskId, WorkspaceDigest};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Tasks per chunk of a job's task list: a worker reads one chunk to check a delivery.
pub(super) const TASKS_PER_CHUNK: usize = 256;

/// Chunks outlive the spec by this much, so that a job that still has its spec has its tasks.
pub(super) const CHUNK_EXTRA_TTL_SECS: u64 = 60;

/// The job's spec as the client stores it at `{p}job:{job}` (a JSON string, SET NX EX).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct StoredSpec {
    pub job_id: String,
    pub label: String,
    pub workspace: String,
    pub settings: ModelSettings,
    pub work: String,
    /// Distinct tasks.
    pub total: u64,
    pub created_ms: u64,
    /// Chunks of the task list: `{p}job:{job}:tasks:0` to `..:{chunks - 1}`.
    pub chunks: u32,
}

/// A task entry as stored in a chunk of the task list (the task id is the key).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct StoredEntry {
    pub patch: Option<PatchLabel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// A chunk of the task list: task id -> entry.
pub(super) type Chunk = BTreeMap<String, StoredEntry>;

/// How many chunks a task list of `total` tasks is stored in.
pub(super) fn chunk_count(total: usize) -> u32 {
    u32::try_from(total.div_ceil(TASKS_PER_CHUNK)).unwrap_or(u32::MAX)
}

/// The chunk holding `task` (FNV-1a of its id): the same in every fitfleet version.
pub(super) fn chunk_of(task: &str, chunks: u32) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in task.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h % u64::from(chunks.max(1))) as u32
}

/// The error for a job key of another type: a job record written by an older fitfleet (a hash).
pub(super) fn wrong_type(job: &JobId, e: redis::RedisError) -> StoreError {
    let wrong = e.code() == Some("WRONGTYPE")
        || e.clone().into_server_errors().is_some_and(|errors| errors.iter().any(|(_, s)| s.code() == "WRONGTYPE"));
    if wrong {
        StoreError::CorruptJob {
            job: job.clone(),
            detail: "not a job record of this fitfleet version (created by an older fitfleet?)".into(),
        }
    } else {
        StoreError::Redis(e)
    }
}

pub(super) fn parse_spec(job: &JobId, json: &str) -> Result<StoredSpec, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::CorruptJob { job: job.clone(), detail: format!("spec: {e}") })
}

pub(super) fn parse_chunk(job: &JobId, n: u32, json: &str) -> Result<Chunk, StoreError> {
    serde_json::from_str(json)
        .map_err(|e| StoreError::CorruptJob { job: job.clone(), detail: format!("task list chunk {n}: {e}") })
}

pub(super) fn entry(job: &JobId, task_id: &str, stored: StoredEntry) -> Result<TaskEntry, StoreError> {
    let task_id =
        TaskId::parse(task_id).map_err(|e| StoreError::CorruptJob { job: job.clone(), detail: e.to_string() })?;
    Ok(TaskEntry { task_id, patch: stored.patch, digest: stored.digest })
}

/// The fields of the workers' state hash `{p}state:{job}` that a status reads.
pub(super) const STATE_FIELDS: [&str; 5] = ["state", "done", "failed", "started_ms", "finished_ms"];

/// A job's status from its spec (`None`: no such job), the `STATE_FIELDS` of its state hash
/// and its cancel key's value.
pub(super) fn status(
    job: &JobId,
    spec: Option<&str>,
    state: &[Option<String>],
    cancelled_ms: Option<&str>,
) -> Result<Option<JobStatus>, StoreError> {
    let Some(spec) = spec else {
        return Ok(None);
    };
    let spec = parse_spec(job, spec)?;
    let corrupt = |detail: String| StoreError::CorruptJob { job: job.clone(), detail };
    let num = |i: usize| -> Result<Option<u64>, StoreError> {
        state
            .get(i)
            .cloned()
            .flatten()
            .map(|s| s.parse::<u64>().map_err(|e| corrupt(format!("{}: {e}", STATE_FIELDS[i]))))
            .transpose()
    };
    let cancelled_ms =
        cancelled_ms.map(|s| s.parse::<u64>().map_err(|e| corrupt(format!("cancelled: {e}")))).transpose()?;
    let (mut state_now, mut finished_ms) = match state.first().cloned().flatten() {
        Some(s) => (s.parse::<JobState>().map_err(corrupt)?, num(4)?),
        // No task of an empty job is left to wait for.
        None if spec.total == 0 => (JobState::Done, Some(spec.created_ms)),
        None => (JobState::Queued, None),
    };
    match cancelled_ms {
        Some(at) if !state_now.is_final() => {
            state_now = JobState::Cancelled;
            finished_ms = Some(at);
        }
        _ => {}
    }
    Ok(Some(JobStatus {
        job_id: job.clone(),
        state: state_now,
        label: spec.label,
        workspace: WorkspaceDigest::parse(&spec.workspace).map_err(|e| corrupt(e.to_string()))?,
        settings: spec.settings,
        work: spec.work,
        total: spec.total,
        done: num(1)?.unwrap_or(0),
        failed: num(2)?.unwrap_or(0),
        created_ms: spec.created_ms,
        started_ms: num(3)?,
        finished_ms,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_hold_at_most_about_a_chunk_of_tasks() {
        assert_eq!(chunk_count(0), 0);
        assert_eq!(chunk_count(1), 1);
        assert_eq!(chunk_count(TASKS_PER_CHUNK), 1);
        assert_eq!(chunk_count(TASKS_PER_CHUNK + 1), 2);
        // Stable across versions: workers and clients of one fleet must agree.
        assert_eq!(chunk_of("a", 7), (0xaf63_dc4c_8601_ec8c_u64 % 7) as u32);
        assert_eq!(chunk_of("anything", 1), 0);
        assert_eq!(chunk_of("anything", 0), 0);
    }
}
