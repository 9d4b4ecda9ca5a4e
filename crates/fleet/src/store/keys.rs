//! The Redis key layout. Every key starts with the configured prefix (default `fitfleet:`).
//!
//! Keys are split by who writes them, so that an ACL can give each user write access to its own
//! keys only (deploy/compose/redis-users.acl): a Lua script runs its commands with the caller's
//! permissions, so the separation cannot come from the scripts, only from key patterns.
//!
//! Written by the client (`fitfleet`), with SET/ZADD only, each with its TTL set by the write
//! itself (`SET .. EX`: the client may not EXPIRE), and read by everyone:
//!
//! | key                         | type   | holds                                                      |
//! |-----------------------------|--------|------------------------------------------------------------|
//! | `{p}ws:{sha256}`            | string | the workspace, gzip-compressed, written once (SET NX EX)   |
//! | `{p}job:{job}`              | string | JSON job spec: label, workspace, settings, work, total, created_ms, chunks (SET NX EX) |
//! | `{p}job:{job}:tasks:{n}`    | string | JSON task id -> `{"patch": .., "digest": ..}`, chunk n of the task list (SET NX EX) |
//! | `{p}cancel:{job}`           | string | when the job was cancelled (unix ms) (SET NX EX)           |
//! | `{p}jobs`                   | zset   | job ids scored by creation time (unix ms); no TTL, pruned of expired jobs by every listing and creation |
//! | `{p}probe`                  | string | a write probe of `fitfleet wait` (expires in 10 s)         |
//!
//! Written by the workers (and the dead-letter recorder) only, through the store's scripts, TTL
//! refreshed by every write; read by everyone:
//!
//! | key                         | type   | holds                                                      |
//! |-----------------------------|--------|------------------------------------------------------------|
//! | `{p}state:{job}`            | hash   | state (running/done/cancelled), done, failed, started_ms, finished_ms; absent: queued |
//! | `{p}results:{job}`          | hash   | task id -> MessagePack `TaskResult` (first writer wins)    |
//! | `{p}events:{job}`           | stream | progress events, readable from any id onward               |
//!
//! A job's state is read from both: queued until a worker writes its state, cancelled once the
//! client wrote its cancel key (unless it was done before).
use fitfleet_protocol::{JobId, WorkspaceDigest};

/// Builds the keys of one fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Keys { prefix: prefix.to_owned() }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Written by [`super::Store::probe_write`].
    pub fn probe(&self) -> String {
        format!("{}probe", self.prefix)
    }

    pub fn workspace(&self, digest: &WorkspaceDigest) -> String {
        format!("{}ws:{}", self.prefix, digest)
    }

    /// The job's spec (client).
    pub fn job(&self, job: &JobId) -> String {
        format!("{}job:{}", self.prefix, job)
    }

    /// Chunk `n` of the job's task list (client).
    pub fn job_tasks_chunk(&self, job: &JobId, n: u32) -> String {
        format!("{}job:{}:tasks:{}", self.prefix, job, n)
    }

    /// The job's cancellation (client).
    pub fn job_cancel(&self, job: &JobId) -> String {
        format!("{}cancel:{}", self.prefix, job)
    }

    /// The job's state and counters (workers).
    pub fn job_state(&self, job: &JobId) -> String {
        format!("{}state:{}", self.prefix, job)
    }

    /// The job's results (workers).
    pub fn job_results(&self, job: &JobId) -> String {
        format!("{}results:{}", self.prefix, job)
    }

    /// The job's progress stream (workers).
    pub fn job_events(&self, job: &JobId) -> String {
        format!("{}events:{}", self.prefix, job)
    }

    pub fn jobs_index(&self) -> String {
        format!("{}jobs", self.prefix)
    }
}
