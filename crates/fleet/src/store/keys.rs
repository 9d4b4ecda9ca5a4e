//! The Redis key layout. Every key starts with the configured prefix (default `fitfleet:`)
//! and carries a TTL (default 7 days, refreshed by every write to it).
//!
//! | key                         | type   | holds                                                   |
//! |-----------------------------|--------|---------------------------------------------------------|
//! | `{p}ws:{sha256}`            | string | the workspace, gzip-compressed, written once (SET NX)   |
//! | `{p}job:{job}`              | hash   | state, counts (total/done/failed), settings, times      |
//! | `{p}job:{job}:tasks`        | hash   | task id -> JSON `{"patch": {name, values} or null}`     |
//! | `{p}job:{job}:results`      | hash   | task id -> MessagePack `TaskResult` (first writer wins) |
//! | `{p}job:{job}:events`       | stream | progress events, readable from any id onward            |
//! | `{p}jobs`                   | zset   | job ids scored by creation time (unix ms)               |
//! | `{p}probe`                  | string | a write probe of `fitfleet wait` (expires in 10 s)      |
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

    pub fn job(&self, job: &JobId) -> String {
        format!("{}job:{}", self.prefix, job)
    }

    pub fn job_tasks(&self, job: &JobId) -> String {
        format!("{}job:{}:tasks", self.prefix, job)
    }

    pub fn job_results(&self, job: &JobId) -> String {
        format!("{}job:{}:results", self.prefix, job)
    }

    pub fn job_events(&self, job: &JobId) -> String {
        format!("{}job:{}:events", self.prefix, job)
    }

    pub fn jobs_index(&self) -> String {
        format!("{}jobs", self.prefix)
    }
}
