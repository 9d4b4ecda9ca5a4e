//! Redis: workspaces by digest, job records, results (first writer wins), per-job progress
//! streams. See [`keys`] for the key layout.
//!
//! The client writes only keys of its own, each once with its TTL (workspaces, the job's spec
//! and task list, its cancellation, the jobs index); the workers write only theirs (state,
//! results, progress), each write to a job one Lua script, so that counters, results, progress
//! events and TTLs never disagree, even with redelivered tasks and several workers writing at
//! once. The key patterns let Redis ACLs hold each side to its keys ([`keys`]).
mod error;
mod job;
pub mod keys;
mod progress;
mod record;
mod results;
mod state;
mod workspace;

pub use error::{RedisPressure, StoreError};
pub use job::{CancelOutcome, JobSpec, JobState, JobStatus, TaskEntry};
pub use keys::Keys;
pub use progress::{ProgressEntry, ProgressEvent, ProgressFollower};
pub use results::{Counts, RecordOutcome};
pub use workspace::PutWorkspace;

use crate::settings::FleetConfig;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::time::Duration;

/// A handle on the fleet's Redis; cheap to clone, reconnects by itself.
#[derive(Clone)]
pub struct Store {
    conn: ConnectionManager,
    client: redis::Client,
    keys: Keys,
    ttl_secs: u64,
    /// Stored workspaces unpack to at most this (`max_workspace_bytes`).
    max_workspace_bytes: u64,
    url: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("url", &self.url)
            .field("keys", &self.keys)
            .field("ttl_secs", &self.ttl_secs)
            .finish()
    }
}

/// A Redis client for `redis_url`; for `rediss://` with `tls_ca_file` set, verifying the
/// server against that CA.
pub fn client(cfg: &FleetConfig) -> Result<redis::Client, StoreError> {
    let client = match crate::tls::ca_pem(cfg)? {
        Some(pem) if cfg.redis_url.starts_with("rediss://") => redis::Client::build_with_tls(
            cfg.redis_url.as_str(),
            redis::TlsCertificates { client_tls: None, root_cert: Some(pem.into_bytes()) },
        ),
        _ => redis::Client::open(cfg.redis_url.as_str()),
    };
    client.map_err(|source| StoreError::Connect { url: cfg.redis_url_redacted(), source })
}

impl Store {
    /// How long one Redis command may take (large workspaces travel in one command).
    const RESPONSE_TIMEOUT: Duration = Duration::from_secs(60);

    /// Connect and check that Redis answers.
    pub async fn connect(cfg: &FleetConfig) -> Result<Self, StoreError> {
        let url = cfg.redis_url_redacted();
        let connect_err = |source: redis::RedisError| match crate::tls::handshake_hint(&source.to_string(), cfg) {
            hint if !hint.is_empty() && cfg.redis_url.starts_with("rediss://") => {
                StoreError::Tls { url: url.clone(), hint, source }
            }
            _ => StoreError::Connect { url: url.clone(), source },
        };
        let client = client(cfg)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(Self::RESPONSE_TIMEOUT))
            .set_number_of_retries(4)
            .set_max_delay(Duration::from_secs(5));
        let mut conn = ConnectionManager::new_with_config(client.clone(), config).await.map_err(connect_err)?;
        let _: String = redis::cmd("PING").query_async(&mut conn).await.map_err(connect_err)?;
        tracing::debug!(url = %url, prefix = cfg.key_prefix, "connected to Redis");
        Ok(Store {
            conn,
            client,
            keys: Keys::new(&cfg.key_prefix),
            ttl_secs: cfg.ttl_secs.max(1),
            max_workspace_bytes: cfg.max_workspace_bytes,
            url,
        })
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The TTL given to every key, in seconds.
    pub fn ttl_secs(&self) -> u64 {
        self.ttl_secs
    }

    /// Whether Redis takes writes now: one tiny key that expires in 10 s. A full Redis
    /// (`maxmemory`) answers with the error whose [`StoreError::pressure`] says so.
    pub async fn probe_write(&self) -> Result<(), StoreError> {
        let now = fitfleet_protocol::now_ms();
        redis::cmd("SET").arg(self.keys.probe()).arg(now).arg("EX").arg(10).query_async::<()>(&mut self.conn()).await?;
        Ok(())
    }

    fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }
}
