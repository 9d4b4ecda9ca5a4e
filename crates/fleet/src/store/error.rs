//! What can go wrong with the store.
use fitfleet_protocol::codec::{DecodeError, EncodeError};
use fitfleet_protocol::{JobId, TaskId, WorkspaceDigest};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot reach Redis at {url}: {source} (is redis-server running?)")]
    Connect {
        url: String,
        #[source]
        source: redis::RedisError,
    },
    #[error("cannot reach Redis at {url} over TLS: {source}{hint}")]
    Tls {
        url: String,
        hint: &'static str,
        #[source]
        source: redis::RedisError,
    },
    #[error(transparent)]
    TlsCa(#[from] crate::tls::TlsCaError),
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("job {0} already exists")]
    JobExists(JobId),
    #[error("job {0} is unknown (never created, or expired)")]
    UnknownJob(JobId),
    #[error("task {task} does not belong to job {job}")]
    UnknownTask { job: JobId, task: TaskId },
    #[error("stored result of task {task}: {source}")]
    CorruptResult {
        task: String,
        #[source]
        source: DecodeError,
    },
    #[error("stored workspace {digest} is corrupt: {detail}")]
    CorruptWorkspace { digest: WorkspaceDigest, detail: String },
    #[error("stored job record {job} is corrupt: {detail}")]
    CorruptJob { job: JobId, detail: String },
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error("compressing or decompressing a workspace: {0}")]
    Compression(String),
    #[error("unexpected reply from Redis: {0}")]
    Reply(String),
}
