//! Job records: what was submitted, how far it got, listing and cancelling.
use super::{Store, StoreError};
use fitfleet_engine::model::ModelSettings;
use fitfleet_protocol::{JobId, TaskId, WorkspaceDigest};
use fitfleet_protocol::{PatchLabel, Task};
use redis::Script;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::LazyLock;

pub(super) static CREATE_JOB: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/create_job.lua")));
pub(super) static SET_STATE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/set_state.lua")));

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Created, no task started yet.
    Queued,
    /// At least one task started or finished.
    Running,
    /// Every task has a result (succeeded or failed).
    Done,
    /// Cancelled by the user: workers skip its remaining tasks.
    Cancelled,
}

impl JobState {
    pub fn as_str(&self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Cancelled => "cancelled",
        }
    }

    /// Done or cancelled: no more progress will come.
    pub fn is_final(&self) -> bool {
        matches!(self, JobState::Done | JobState::Cancelled)
    }
}

impl std::str::FromStr for JobState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "done" => JobState::Done,
            "cancelled" => JobState::Cancelled,
            _ => return Err(format!("unknown job state {s:?}")),
        })
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One task of a job as the job record lists it: id and patch (for plots of partial
/// results and for telling which patches are still missing), and the digest of what it asks
/// ([`Task::work_digest`]), against which workers check each delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskEntry {
    pub task_id: TaskId,
    pub patch: Option<PatchLabel>,
    /// `None` in records written before digests were recorded: such tasks are not checked.
    #[serde(default)]
    pub digest: Option<String>,
}

impl TaskEntry {
    /// The entry of `task` as the client records it.
    pub fn of(task: &Task) -> Self {
        TaskEntry {
            task_id: task.task_id.clone(),
            patch: task.patch.as_ref().map(|p| p.label()),
            digest: Some(task.work_digest()),
        }
    }
}

/// A task entry as stored in the job's task hash (the id is the field).
#[derive(Serialize, Deserialize)]
struct StoredEntry {
    patch: Option<PatchLabel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    digest: Option<String>,
}

/// What the client records when it submits a job (before publishing its tasks).
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    pub job_id: JobId,
    /// Free text shown by `fitfleet jobs`, e.g. the command line or the patchset's name.
    pub label: String,
    pub workspace: WorkspaceDigest,
    pub settings: ModelSettings,
    /// The kind of work ("hypotest", "upper_limit", ...).
    pub work: String,
    pub tasks: Vec<TaskEntry>,
}

impl JobSpec {
    /// The job record for these tasks (all of one job, one workspace and one setting).
    ///
    /// # Panics
    /// If `tasks` is empty or mixes jobs, workspaces or settings: that is a client bug.
    pub fn from_tasks(label: impl Into<String>, tasks: &[Task]) -> Self {
        let first = tasks.first().expect("a job has at least one task");
        assert!(
            tasks
                .iter()
                .all(|t| t.job_id == first.job_id && t.workspace == first.workspace && t.settings == first.settings),
            "tasks of one job share job id, workspace and settings"
        );
        let mut kinds: Vec<&str> = tasks.iter().map(|t| t.work.kind()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        JobSpec {
            job_id: first.job_id.clone(),
            label: label.into(),
            workspace: first.workspace.clone(),
            settings: first.settings.clone(),
            work: kinds.join("+"),
            tasks: tasks.iter().map(TaskEntry::of).collect(),
        }
    }
}

/// A task entry read back from its JSON in the job's task hash.
fn entry(job: &JobId, task_id: TaskId, json: &str) -> Result<TaskEntry, StoreError> {
    let stored: StoredEntry = serde_json::from_str(json)
        .map_err(|e| StoreError::CorruptJob { job: job.clone(), detail: format!("task {task_id}: {e}") })?;
    Ok(TaskEntry { task_id, patch: stored.patch, digest: stored.digest })
}

/// A job's record as stored, without its task list.
#[derive(Debug, Clone, PartialEq)]
pub struct JobStatus {
    pub job_id: JobId,
    pub state: JobState,
    pub label: String,
    pub workspace: WorkspaceDigest,
    pub settings: ModelSettings,
    pub work: String,
    /// Distinct tasks in the job.
    pub total: u64,
    /// Tasks that succeeded.
    pub done: u64,
    /// Tasks that failed (including dead-lettered ones).
    pub failed: u64,
    pub created_ms: u64,
    /// When the first task started or finished.
    pub started_ms: Option<u64>,
    /// When the last task finished, or when the job was cancelled.
    pub finished_ms: Option<u64>,
}

impl JobStatus {
    /// Tasks without a result yet.
    pub fn remaining(&self) -> u64 {
        self.total.saturating_sub(self.done + self.failed)
    }
}

/// What [`Store::cancel_job`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The job was queued or running and is now cancelled.
    Cancelled,
    /// The job had already ended (done or cancelled); nothing changed.
    AlreadyFinal(JobState),
}

const STATUS_FIELDS: [&str; 12] = [
    "state",
    "label",
    "workspace",
    "settings",
    "work",
    "total",
    "done",
    "failed",
    "created_ms",
    "started_ms",
    "finished_ms",
    "job_id",
];

impl Store {
    /// Record a new job (state `queued`), its task list and the first progress event.
    /// Create it before publishing its tasks, so that no result arrives for an unknown job.
    pub async fn create_job(&self, spec: &JobSpec) -> Result<(), StoreError> {
        let k = &self.keys;
        let settings =
            serde_json::to_string(&spec.settings).map_err(|e| StoreError::Reply(format!("encoding settings: {e}")))?;
        let fields: [(&str, &str); 5] = [
            ("job_id", spec.job_id.as_str()),
            ("label", &spec.label),
            ("workspace", spec.workspace.as_str()),
            ("settings", &settings),
            ("work", &spec.work),
        ];
        let mut inv = CREATE_JOB.prepare_invoke();
        inv.key(k.job(&spec.job_id))
            .key(k.job_tasks(&spec.job_id))
            .key(k.job_events(&spec.job_id))
            .key(k.jobs_index())
            .arg(self.ttl_secs)
            .arg(fitfleet_protocol::now_ms())
            .arg(spec.job_id.as_str())
            .arg(fields.len());
        for (f, v) in fields {
            inv.arg(f).arg(v);
        }
        for t in &spec.tasks {
            let entry = StoredEntry { patch: t.patch.clone(), digest: t.digest.clone() };
            let entry =
                serde_json::to_string(&entry).map_err(|e| StoreError::Reply(format!("encoding a task: {e}")))?;
            inv.arg(t.task_id.as_str()).arg(entry);
        }
        let created: i64 = inv.invoke_async(&mut self.conn()).await?;
        if created == 0 {
            return Err(StoreError::JobExists(spec.job_id.clone()));
        }
        tracing::info!(job = %spec.job_id, tasks = spec.tasks.len(), work = spec.work, "job created");
        Ok(())
    }

    /// The job's record, or `None` if there is no such job (never created, or expired).
    pub async fn job_status(&self, job: &JobId) -> Result<Option<JobStatus>, StoreError> {
        let values: Vec<Option<String>> =
            redis::cmd("HMGET").arg(self.keys.job(job)).arg(&STATUS_FIELDS[..]).query_async(&mut self.conn()).await?;
        parse_status(job, &values)
    }

    /// The job's state only (what a worker checks before starting a task).
    pub async fn job_state(&self, job: &JobId) -> Result<Option<JobState>, StoreError> {
        let s: Option<String> =
            redis::cmd("HGET").arg(self.keys.job(job)).arg("state").query_async(&mut self.conn()).await?;
        s.map(|s| s.parse().map_err(|detail| StoreError::CorruptJob { job: job.clone(), detail })).transpose()
    }

    /// Whether the job was cancelled (or has expired): a worker then acks and skips the task.
    pub async fn should_skip(&self, job: &JobId) -> Result<bool, StoreError> {
        Ok(matches!(self.job_state(job).await?, None | Some(JobState::Cancelled)))
    }

    /// The job's tasks with their patches, in no particular order.
    pub async fn job_tasks(&self, job: &JobId) -> Result<Vec<TaskEntry>, StoreError> {
        let map: HashMap<String, String> =
            redis::cmd("HGETALL").arg(self.keys.job_tasks(job)).query_async(&mut self.conn()).await?;
        map.into_iter()
            .map(|(id, json)| {
                let task_id = TaskId::parse(&id)
                    .map_err(|e| StoreError::CorruptJob { job: job.clone(), detail: e.to_string() })?;
                entry(job, task_id, &json)
            })
            .collect()
    }

    /// The job record's entry for one task: `None` when the job (or its record) does not list
    /// it.
    pub async fn job_task(&self, job: &JobId, task: &TaskId) -> Result<Option<TaskEntry>, StoreError> {
        let json: Option<String> =
            redis::cmd("HGET").arg(self.keys.job_tasks(job)).arg(task.as_str()).query_async(&mut self.conn()).await?;
        json.map(|json| entry(job, task.clone(), &json)).transpose()
    }

    /// Jobs still in the store, newest first. Forgets index entries of expired jobs.
    pub async fn list_jobs(&self) -> Result<Vec<JobStatus>, StoreError> {
        let mut conn = self.conn();
        let index = self.keys.jobs_index();
        let ids: Vec<String> = redis::cmd("ZREVRANGE").arg(&index).arg(0).arg(-1).query_async(&mut conn).await?;
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let mut pipe = redis::pipe();
        let mut jobs = Vec::with_capacity(ids.len());
        for id in &ids {
            let job = JobId::parse(id).map_err(|e| StoreError::Reply(format!("jobs index holds {id:?}: {e}")))?;
            pipe.cmd("HMGET").arg(self.keys.job(&job)).arg(&STATUS_FIELDS[..]);
            jobs.push(job);
        }
        let rows: Vec<Vec<Option<String>>> = pipe.query_async(&mut conn).await?;
        let mut out = Vec::with_capacity(jobs.len());
        let mut expired = Vec::new();
        for (job, row) in jobs.iter().zip(rows) {
            match parse_status(job, &row)? {
                Some(s) => out.push(s),
                None => expired.push(job.as_str().to_owned()),
            }
        }
        if !expired.is_empty() {
            let _: i64 = redis::cmd("ZREM").arg(&index).arg(&expired).query_async(&mut conn).await?;
        }
        Ok(out)
    }

    /// Cancel a queued or running job: workers skip its remaining tasks (results already
    /// stored stay, and late results are still recorded but do not end the job).
    pub async fn cancel_job(&self, job: &JobId) -> Result<CancelOutcome, StoreError> {
        match self
            .set_state(job, JobState::Cancelled, "job_cancelled", "finished_ms", &[JobState::Queued, JobState::Running])
            .await?
        {
            (_, true) => {
                tracing::info!(job = %job, "job cancelled");
                Ok(CancelOutcome::Cancelled)
            }
            (previous, false) => Ok(CancelOutcome::AlreadyFinal(previous)),
        }
    }

    /// Note that a worker started one of the job's tasks (moves `queued` to `running`, with
    /// a progress event). Cheap and idempotent; returns the job's state.
    pub async fn mark_running(&self, job: &JobId) -> Result<JobState, StoreError> {
        let (previous, changed) =
            self.set_state(job, JobState::Running, "job_running", "started_ms", &[JobState::Queued]).await?;
        Ok(if changed { JobState::Running } else { previous })
    }

    async fn set_state(
        &self,
        job: &JobId,
        new: JobState,
        event: &str,
        time_field: &str,
        allowed_from: &[JobState],
    ) -> Result<(JobState, bool), StoreError> {
        let k = &self.keys;
        let mut inv = SET_STATE.prepare_invoke();
        inv.key(k.job(job))
            .key(k.job_tasks(job))
            .key(k.job_results(job))
            .key(k.job_events(job))
            .key(k.jobs_index())
            .arg(new.as_str())
            .arg(event)
            .arg(fitfleet_protocol::now_ms())
            .arg(self.ttl_secs)
            .arg(time_field);
        for s in allowed_from {
            inv.arg(s.as_str());
        }
        let (previous, changed): (String, i64) = inv.invoke_async(&mut self.conn()).await?;
        if previous.is_empty() {
            return Err(StoreError::UnknownJob(job.clone()));
        }
        let previous = previous.parse().map_err(|detail| StoreError::CorruptJob { job: job.clone(), detail })?;
        Ok((previous, changed == 1))
    }
}

fn parse_status(job: &JobId, v: &[Option<String>]) -> Result<Option<JobStatus>, StoreError> {
    let corrupt = |detail: String| StoreError::CorruptJob { job: job.clone(), detail };
    let Some(state) = v.first().cloned().flatten() else {
        return Ok(None);
    };
    let text = |i: usize| v.get(i).cloned().flatten().unwrap_or_default();
    let num = |i: usize| -> Result<Option<u64>, StoreError> {
        v.get(i)
            .cloned()
            .flatten()
            .map(|s| s.parse::<u64>().map_err(|e| corrupt(format!("{}: {e}", STATUS_FIELDS[i]))))
            .transpose()
    };
    let settings: ModelSettings = serde_json::from_str(&text(3)).map_err(|e| corrupt(format!("settings: {e}")))?;
    Ok(Some(JobStatus {
        job_id: job.clone(),
        state: state.parse().map_err(corrupt)?,
        label: text(1),
        workspace: WorkspaceDigest::parse(&text(2)).map_err(|e| corrupt(e.to_string()))?,
        settings,
        work: text(4),
        total: num(5)?.unwrap_or(0),
        done: num(6)?.unwrap_or(0),
        failed: num(7)?.unwrap_or(0),
        created_ms: num(8)?.unwrap_or(0),
        started_ms: num(9)?,
        finished_ms: num(10)?,
    }))
}
