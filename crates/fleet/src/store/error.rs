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
    /// Refused as soon as its unpacking passed the bound, holding no more than that.
    #[error("workspace {digest} unpacks to more than {limit} bytes, more than max_workspace_bytes allows")]
    WorkspaceTooLarge { digest: WorkspaceDigest, limit: u64 },
    #[error("stored job record {job} is corrupt: {detail}")]
    CorruptJob { job: JobId, detail: String },
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error("compressing or decompressing a workspace: {0}")]
    Compression(String),
    #[error("unexpected reply from Redis: {0}")]
    Reply(String),
}

/// Why Redis refused or missed an operation that may well succeed later, unchanged: the
/// server is under pressure or out of reach, the request itself is fine. Told apart by the
/// error code of the server's reply (`OOM`, `BUSY`, ...) or by the kind of I/O failure,
/// never by the wording of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedisPressure {
    /// `OOM`: `maxmemory` reached, writes refused until memory is freed or the limit raised.
    OutOfMemory,
    /// `BUSY`: a script or function runs past `busy-reply-threshold`.
    Busy,
    /// `LOADING`: the server is loading its data set (after a restart).
    Loading,
    /// `TRYAGAIN`, `CLUSTERDOWN`, `MASTERDOWN`, `READONLY` (a write to a master just demoted
    /// in a failover): a replica or cluster not ready to serve.
    NotReady,
    /// The connection failed, broke or timed out.
    Unreachable,
}

impl std::fmt::Display for RedisPressure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RedisPressure::OutOfMemory => "Redis is out of memory (maxmemory reached)",
            RedisPressure::Busy => "Redis is busy running a script",
            RedisPressure::Loading => "Redis is loading its data",
            RedisPressure::NotReady => "Redis is not ready to serve (replica or cluster down)",
            RedisPressure::Unreachable => "Redis is unreachable",
        })
    }
}

impl RedisPressure {
    /// The pressure a server error code names, if any.
    pub fn of_code(code: &str) -> Option<Self> {
        match code {
            "OOM" => Some(RedisPressure::OutOfMemory),
            "BUSY" => Some(RedisPressure::Busy),
            "LOADING" => Some(RedisPressure::Loading),
            "TRYAGAIN" | "CLUSTERDOWN" | "MASTERDOWN" | "READONLY" => Some(RedisPressure::NotReady),
            _ => None,
        }
    }

    /// The pressure behind a Redis client error: a server reply's code (also inside a
    /// pipeline or a transaction), or a connection failure.
    pub fn of(e: &redis::RedisError) -> Option<Self> {
        let from_server = e
            .clone()
            .into_server_errors()
            .and_then(|errors| errors.iter().find_map(|(_, server)| Self::of_code(server.code())));
        if from_server.is_some() {
            return from_server;
        }
        if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal() {
            return Some(RedisPressure::Unreachable);
        }
        // What the client itself deems worth a retry (a broken reply stream, a reconnection).
        match e.kind() {
            redis::ErrorKind::Server(_) | redis::ErrorKind::Extension => None,
            _ if matches!(e.retry_method(), redis::RetryMethod::NoRetry) => None,
            _ => Some(RedisPressure::Unreachable),
        }
    }
}

impl StoreError {
    /// Whether trying again later may help, and why: see [`RedisPressure`]. `None` for an
    /// error that retrying cannot cure (a script error, an unknown job, corrupt data).
    pub fn pressure(&self) -> Option<RedisPressure> {
        match self {
            StoreError::Connect { .. } => Some(RedisPressure::Unreachable),
            StoreError::Redis(e) => RedisPressure::of(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Redis client error as the client makes it from the server's reply `line`.
    fn reply_error(line: &str) -> StoreError {
        let value = redis::parse_redis_value(format!("{line}\r\n").as_bytes()).expect("a RESP error line");
        StoreError::Redis(value.extract_error().expect_err("an error reply"))
    }

    #[test]
    fn server_pressure_is_told_by_the_reply_code() {
        let cases = [
            ("-OOM command not allowed when used memory > 'maxmemory'.", RedisPressure::OutOfMemory),
            (
                "-OOM command not allowed when used memory > 'maxmemory'. script: 0123abcd, on @user_script:9.",
                RedisPressure::OutOfMemory,
            ),
            ("-BUSY Redis is busy running a script.", RedisPressure::Busy),
            ("-LOADING Redis is loading the dataset in memory", RedisPressure::Loading),
            ("-TRYAGAIN Multiple keys request during rehashing of slot", RedisPressure::NotReady),
            ("-MASTERDOWN Link with MASTER is down", RedisPressure::NotReady),
        ];
        for (line, want) in cases {
            assert_eq!(reply_error(line).pressure(), Some(want), "{line}");
        }
    }

    #[test]
    fn request_errors_are_not_pressure() {
        for line in [
            "-ERR wrong number of arguments for 'hset' command",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
            "-NOSCRIPT No matching script.",
            "-NOPERM this user has no permissions",
        ] {
            assert_eq!(reply_error(line).pressure(), None, "{line}");
        }
        assert_eq!(StoreError::Reply("odd".into()).pressure(), None);
    }

    #[test]
    fn connection_failures_are_pressure() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        assert_eq!(StoreError::Redis(io.into()).pressure(), Some(RedisPressure::Unreachable));
        let timeout = std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out");
        assert_eq!(StoreError::Redis(timeout.into()).pressure(), Some(RedisPressure::Unreachable));
    }
}
