//! What a worker reports back for one task.
use crate::codec::{self, DecodeError, EncodeError, Message};
use crate::ids::{JobId, TaskId};
use crate::task::{PatchLabel, Task};
use fitfleet_engine::infer::diagnostics::Impact;
use fitfleet_engine::infer::{FitResult, HypotestResult, SignificanceResult, ToyShard, UpperLimitResult};
use serde::{Deserialize, Serialize};

/// The result of one task, as stored (first writer wins) under its task id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskResult {
    pub job_id: JobId,
    pub task_id: TaskId,
    /// The patch's name and values (`None` when the task used the workspace unpatched).
    pub patch: Option<PatchLabel>,
    pub status: Status,
    /// The engine's answer; `None` exactly when the task failed.
    pub outcome: Option<Outcome>,
    /// Which worker wrote this.
    pub worker: WorkerId,
    /// Which delivery of the task this was: 1 for the first, 2 after one redelivery, ...
    pub attempt: u32,
    pub timings: Timings,
    /// When the result was produced (unix milliseconds).
    pub finished_at_ms: u64,
}

impl Message for TaskResult {
    const KIND: &'static str = "result";
    const READER: &'static str = "client";
}

impl TaskResult {
    /// A success for `task`.
    pub fn succeeded(task: &Task, outcome: Outcome, worker: WorkerId, attempt: u32, timings: Timings) -> Self {
        Self::build(task, Status::Succeeded, Some(outcome), worker, attempt, timings)
    }

    /// A failure for `task`, with a reason a physicist can act on.
    pub fn failed(task: &Task, reason: impl Into<String>, worker: WorkerId, attempt: u32, timings: Timings) -> Self {
        let reason = reason.into();
        Self::build(task, Status::Failed { reason }, None, worker, attempt, timings)
    }

    fn build(
        task: &Task,
        status: Status,
        outcome: Option<Outcome>,
        worker: WorkerId,
        attempt: u32,
        timings: Timings,
    ) -> Self {
        TaskResult {
            job_id: task.job_id.clone(),
            task_id: task.task_id.clone(),
            patch: task.patch.as_ref().map(|p| p.label()),
            status,
            outcome,
            worker,
            attempt,
            timings,
            finished_at_ms: crate::now_ms(),
        }
    }

    pub fn is_success(&self) -> bool {
        matches!(self.status, Status::Succeeded)
    }

    /// The MessagePack bytes stored in Redis.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        codec::encode(self)
    }

    /// Read a stored result; errors say what is wrong with the bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        codec::decode(bytes)
    }
}

/// Whether the task produced an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Succeeded,
    /// The task will not be retried; `reason` says why (fit error, bad patch,
    /// "dead-lettered after 6 deliveries", ...).
    Failed {
        reason: String,
    },
}

/// The engine's answer, one variant per kind of [`crate::Work`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Hypotest(HypotestResult),
    UpperLimit(UpperLimitResult),
    Fit(FitResult),
    Toys(ToyShard),
    Significance(SignificanceResult),
    /// One task's share of a ranking, in the order of its work's parameters.
    Impacts(Vec<Impact>),
}

/// A worker process: host name and process id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WorkerId {
    pub host: String,
    pub pid: u32,
}

impl WorkerId {
    /// This process: the host name from `$HOSTNAME`, `/etc/hostname` or "unknown-host".
    pub fn current() -> Self {
        let host = std::env::var("HOSTNAME")
            .ok()
            .filter(|h| !h.is_empty())
            .or_else(|| {
                std::fs::read_to_string("/etc/hostname").ok().map(|h| h.trim().to_owned()).filter(|h| !h.is_empty())
            })
            .unwrap_or_else(|| "unknown-host".to_owned());
        WorkerId { host, pid: std::process::id() }
    }
}

impl std::fmt::Display for WorkerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.host, self.pid)
    }
}

/// Where a task's wall time went, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Timings {
    /// From publishing to a worker picking the task up (clocks of client and worker host).
    pub queue_wait_s: f64,
    /// Fetching (and decompressing) the workspace from the store; 0 when cached.
    pub workspace_fetch_s: f64,
    /// Parsing the workspace (when the worker had not kept it parsed), patching and compiling
    /// the model; 0 on a cache hit.
    pub compile_s: f64,
    /// Whether the compiled model came from the worker's in-process cache.
    pub model_cache_hit: bool,
    /// The fits and inference proper.
    pub fit_s: f64,
}
