//! Job records: what was submitted, how far it got, listing. See [`super::keys`] for how a
//! job is stored, and [`super::state`] for cancelling.
use super::record::{self, Chunk, STATE_FIELDS, StoredEntry, StoredSpec};
use super::{Store, StoreError};
use fitfleet_engine::model::ModelSettings;
use fitfleet_protocol::{JobId, TaskId, WorkspaceDigest};
use fitfleet_protocol::{PatchLabel, Task};
use serde::{Deserialize, Serialize};

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

impl Store {
    /// Record a new job (state `queued`) with its task list: the task list's chunks, then the
    /// spec that makes the job exist (both SET NX with the TTL), then its entry in the jobs
    /// index. Create it before publishing its tasks, so that no result arrives for an unknown
    /// job. Fails with [`StoreError::JobExists`] when the job id is taken.
    pub async fn create_job(&self, spec: &JobSpec) -> Result<(), StoreError> {
        let k = &self.keys;
        let mut conn = self.conn();
        let spec_key = k.job(&spec.job_id);
        let exists: i64 = redis::cmd("EXISTS").arg(&spec_key).query_async(&mut conn).await?;
        if exists == 1 {
            return Err(StoreError::JobExists(spec.job_id.clone()));
        }
        // Distinct task ids, the first entry of each kept.
        let mut entries: Vec<(&str, StoredEntry)> = Vec::with_capacity(spec.tasks.len());
        let mut seen = std::collections::HashSet::with_capacity(spec.tasks.len());
        for t in &spec.tasks {
            if seen.insert(t.task_id.as_str()) {
                entries.push((t.task_id.as_str(), StoredEntry { patch: t.patch.clone(), digest: t.digest.clone() }));
            }
        }
        let total = entries.len() as u64;
        let chunks = record::chunk_count(entries.len());
        let mut chunk_maps: Vec<Chunk> = vec![Chunk::new(); chunks as usize];
        for (id, entry) in entries {
            chunk_maps[record::chunk_of(id, chunks) as usize].insert(id.to_owned(), entry);
        }
        let now = fitfleet_protocol::now_ms();
        let stored = StoredSpec {
            job_id: spec.job_id.as_str().to_owned(),
            label: spec.label.clone(),
            workspace: spec.workspace.as_str().to_owned(),
            settings: spec.settings.clone(),
            work: spec.work.clone(),
            total,
            created_ms: now,
            chunks,
        };
        let encode = |e: serde_json::Error| StoreError::Reply(format!("encoding the job record: {e}"));
        let mut pipe = redis::pipe();
        for (n, chunk) in chunk_maps.iter().enumerate() {
            pipe.cmd("SET")
                .arg(k.job_tasks_chunk(&spec.job_id, n as u32))
                .arg(serde_json::to_string(chunk).map_err(encode)?)
                .arg("NX")
                .arg("EX")
                .arg(self.ttl_secs + record::CHUNK_EXTRA_TTL_SECS)
                .ignore();
        }
        pipe.cmd("SET")
            .arg(&spec_key)
            .arg(serde_json::to_string(&stored).map_err(encode)?)
            .arg("NX")
            .arg("EX")
            .arg(self.ttl_secs);
        let (created,): (Option<String>,) = pipe.query_async(&mut conn).await?;
        if created.is_none() {
            return Err(StoreError::JobExists(spec.job_id.clone()));
        }
        let index = k.jobs_index();
        let oldest = now.saturating_sub(self.ttl_secs.saturating_mul(1000));
        redis::pipe()
            .cmd("ZADD")
            .arg(&index)
            .arg(now)
            .arg(spec.job_id.as_str())
            .ignore()
            .cmd("ZREMRANGEBYSCORE")
            .arg(&index)
            .arg("-inf")
            .arg(format!("({oldest}"))
            .ignore()
            .query_async::<()>(&mut conn)
            .await?;
        tracing::info!(job = %spec.job_id, tasks = spec.tasks.len(), work = spec.work, "job created");
        Ok(())
    }

    /// The job's spec, or `None` if there is no such job (never created, or expired).
    pub(super) async fn job_spec(&self, job: &JobId) -> Result<Option<StoredSpec>, StoreError> {
        let json: Option<String> = redis::cmd("GET")
            .arg(self.keys.job(job))
            .query_async(&mut self.conn())
            .await
            .map_err(|e| record::wrong_type(job, e))?;
        json.map(|j| record::parse_spec(job, &j)).transpose()
    }

    /// The job's record, or `None` if there is no such job (never created, or expired).
    pub async fn job_status(&self, job: &JobId) -> Result<Option<JobStatus>, StoreError> {
        let mut pipe = redis::pipe();
        self.status_commands(&mut pipe, job);
        let (spec, state, cancelled): (Option<String>, Vec<Option<String>>, Option<String>) =
            pipe.query_async(&mut self.conn()).await.map_err(|e| record::wrong_type(job, e))?;
        record::status(job, spec.as_deref(), &state, cancelled.as_deref())
    }

    /// The three reads [`record::status`] needs: spec, state hash, cancel key.
    fn status_commands(&self, pipe: &mut redis::Pipeline, job: &JobId) {
        let k = &self.keys;
        pipe.cmd("GET").arg(k.job(job));
        pipe.cmd("HMGET").arg(k.job_state(job)).arg(&STATE_FIELDS[..]);
        pipe.cmd("GET").arg(k.job_cancel(job));
    }

    /// The job's state only (what a worker checks before starting a task).
    pub async fn job_state(&self, job: &JobId) -> Result<Option<JobState>, StoreError> {
        Ok(self.job_status(job).await?.map(|s| s.state))
    }

    /// Whether the job was cancelled (or has expired): a worker then acks and skips the task.
    pub async fn should_skip(&self, job: &JobId) -> Result<bool, StoreError> {
        Ok(matches!(self.job_state(job).await?, None | Some(JobState::Cancelled)))
    }

    /// The job's tasks with their patches, in no particular order.
    pub async fn job_tasks(&self, job: &JobId) -> Result<Vec<TaskEntry>, StoreError> {
        let Some(spec) = self.job_spec(job).await? else {
            return Ok(vec![]);
        };
        if spec.chunks == 0 {
            return Ok(vec![]);
        }
        let keys: Vec<String> = (0..spec.chunks).map(|n| self.keys.job_tasks_chunk(job, n)).collect();
        let chunks: Vec<Option<String>> = redis::cmd("MGET").arg(&keys).query_async(&mut self.conn()).await?;
        let mut out = Vec::with_capacity(spec.total as usize);
        for (n, json) in chunks.into_iter().enumerate() {
            let Some(json) = json else {
                return Err(StoreError::CorruptJob {
                    job: job.clone(),
                    detail: format!("task list chunk {n} is missing"),
                });
            };
            for (id, stored) in record::parse_chunk(job, n as u32, &json)? {
                out.push(record::entry(job, &id, stored)?);
            }
        }
        Ok(out)
    }

    /// The job record's entry for one task: `None` when the job (or its record) does not list
    /// it.
    pub async fn job_task(&self, job: &JobId, task: &TaskId) -> Result<Option<TaskEntry>, StoreError> {
        let Some(spec) = self.job_spec(job).await? else {
            return Ok(None);
        };
        self.task_of(job, &spec, task).await
    }

    /// `task`'s entry in the task list of `spec`.
    pub(super) async fn task_of(
        &self,
        job: &JobId,
        spec: &StoredSpec,
        task: &TaskId,
    ) -> Result<Option<TaskEntry>, StoreError> {
        if spec.chunks == 0 {
            return Ok(None);
        }
        let n = record::chunk_of(task.as_str(), spec.chunks);
        let json: Option<String> =
            redis::cmd("GET").arg(self.keys.job_tasks_chunk(job, n)).query_async(&mut self.conn()).await?;
        let Some(json) = json else {
            return Ok(None);
        };
        let mut chunk = record::parse_chunk(job, n, &json)?;
        chunk.remove(task.as_str()).map(|stored| record::entry(job, task.as_str(), stored)).transpose()
    }

    /// Jobs still in the store, newest first. Forgets index entries of expired jobs (and any
    /// entry that is not a job id); skips jobs recorded by an older fitfleet (another layout).
    pub async fn list_jobs(&self) -> Result<Vec<JobStatus>, StoreError> {
        let mut conn = self.conn();
        let index = self.keys.jobs_index();
        let ids: Vec<String> = redis::cmd("ZREVRANGE").arg(&index).arg(0).arg(-1).query_async(&mut conn).await?;
        let mut pipe = redis::pipe();
        let mut jobs = Vec::with_capacity(ids.len());
        let mut forget = Vec::new();
        for id in ids {
            match JobId::parse(&id) {
                Ok(job) => {
                    self.status_commands(&mut pipe, &job);
                    jobs.push(job);
                }
                Err(e) => {
                    tracing::warn!(entry = id, "the jobs index holds a bad job id ({e}); forgetting it");
                    forget.push(id);
                }
            }
        }
        let mut out = Vec::with_capacity(jobs.len());
        if !jobs.is_empty() {
            let rows: Vec<redis::RedisResult<redis::Value>> = pipe.ignore_errors().query_async(&mut conn).await?;
            for (job, row) in jobs.iter().zip(rows.chunks(3)) {
                let spec = match &row[0] {
                    Err(e) if e.code() == Some("WRONGTYPE") => {
                        tracing::warn!(job = %job, "skipping a job record of an older fitfleet");
                        continue;
                    }
                    other => other.clone()?,
                };
                let parse = |e: redis::ParsingError| StoreError::Redis(e.into());
                let spec: Option<String> = redis::from_redis_value_ref(&spec).map_err(parse)?;
                let state: Vec<Option<String>> = redis::from_redis_value_ref(&row[1].clone()?).map_err(parse)?;
                let cancelled: Option<String> = redis::from_redis_value_ref(&row[2].clone()?).map_err(parse)?;
                match record::status(job, spec.as_deref(), &state, cancelled.as_deref())? {
                    Some(s) => out.push(s),
                    None => forget.push(job.as_str().to_owned()),
                }
            }
        }
        if !forget.is_empty() {
            let _: i64 = redis::cmd("ZREM").arg(&index).arg(&forget).query_async(&mut conn).await?;
        }
        Ok(out)
    }
}
