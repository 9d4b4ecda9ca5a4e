//! The contract between fitfleet's client and its workers, as data: no I/O, no flags.
//!
//! * [`Task`]: what a worker is asked (a workspace digest, a patch, the model settings and the
//!   [`Work`]: a fit, a hypothesis test, an upper limit, a significance or a shard of toys).
//! * [`TaskResult`]: what comes back, with its [`Outcome`], the worker, the attempt and
//!   [`Timings`].
//! * [`codec`]: both as versioned MessagePack ([`PROTOCOL_VERSION`]).
//! * [`JobId`], [`TaskId`], [`WorkspaceDigest`]: the identifiers, checked when parsed.
//! * [`Limits`]: the largest workspace, patch and task message the fleet accepts;
//!   [`Work::check`] and [`JobSize`]: the counts a task and a job may name.
//!
//! The transport (RabbitMQ, Redis) is `fitfleet-fleet`; the processing of a task is
//! `fitfleet-processor`.
pub mod codec;
mod ids;
pub mod limits;
mod result;
mod task;

pub use codec::{DecodeError, EncodeError, PROTOCOL_VERSION};
pub use ids::{IdError, JobId, TaskId, WorkspaceDigest};
pub use limits::{Limit, Limits, ModelTooLarge, TooLarge};
pub use result::{Outcome, Status, TaskResult, Timings, WorkerId};
pub use task::{
    InvalidJob, InvalidWork, JobSize, MAX_IMPACTS_PER_TASK, MAX_PARAMETER_NAME_BYTES, MAX_SCAN_POINTS,
    MAX_TASKS_PER_JOB, MAX_TOYS_PER_PATCH, MAX_TOYS_PER_TASK, Patch, PatchLabel, PatchValue, ScanGrid, Task, Work,
};

/// Milliseconds since the Unix epoch, for `enqueued_at_ms` and the like.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}
