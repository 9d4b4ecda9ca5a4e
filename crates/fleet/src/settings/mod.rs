//! The fleet's settings in one place: where RabbitMQ and Redis are and how the fleet uses
//! them ([`FleetConfig`], this file), the flags that set them ([`flags::FleetArgs`]) and how
//! the binaries load any settings struct from defaults, a TOML file and `FITFLEET_*`
//! variables ([`load::load`]).
//!
//! Every field has a default that works on a developer's machine (RabbitMQ and Redis on
//! loopback, guest/guest), so a bare `fitfleet-worker` and `fitfleet` find each other.
pub mod flags;
pub mod load;
pub mod memory;

pub use flags::{FleetArgs, set};
pub use load::{ENV_PREFIX, SettingsError, load, settings_file};

use fitfleet_protocol::Limits;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Connection and policy settings shared by client, workers and the dead-letter recorder.
///
/// Client and workers of one fleet must agree on `key_prefix`, `queue_prefix` and
/// `delivery_limit` (the queue is declared with it; RabbitMQ refuses a second declaration
/// with a different limit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FleetConfig {
    /// AMQP URL of RabbitMQ, e.g. `amqp://user:pass@rabbit.example:5672/%2f`
    /// (`amqps://` for TLS). A `heartbeat=` query parameter overrides `heartbeat_secs`.
    pub broker_url: String,
    /// Redis URL, e.g. `redis://127.0.0.1:6379/` (`rediss://` for TLS).
    pub redis_url: String,
    /// Prefix of every Redis key, so several fleets can share one Redis.
    pub key_prefix: String,
    /// Prefix of every queue and exchange name, so several fleets can share one vhost.
    pub queue_prefix: String,
    /// How long jobs, results, progress streams and workspaces stay in Redis after their
    /// last write, in seconds. Default 7 days.
    pub ttl_secs: u64,
    /// How many times a task is delivered before RabbitMQ gives up and dead-letters it
    /// (a worker crash or a nack counts as a delivery). Default 5.
    pub delivery_limit: u32,
    /// AMQP heartbeat in seconds: a dead peer is noticed after about twice this (a frozen
    /// worker's tasks go back to the queue then). Default 10.
    pub heartbeat_secs: u16,
    /// How long a worker may hold an unacknowledged task before RabbitMQ closes its channel
    /// and redelivers the task, in seconds. Default 30 minutes. Set per queue on RabbitMQ
    /// 3.12 and later; on older servers (Debian's 3.10) the server-wide `consumer_timeout`
    /// of rabbitmq.conf applies instead (also 30 minutes by default).
    pub consumer_timeout_secs: u64,
    /// Longest wait between two reconnection attempts to RabbitMQ, in seconds. Default 30.
    pub reconnect_max_delay_secs: u64,
    /// PEM file of the CA that signed the TLS certificates of RabbitMQ (`amqps://`) and Redis
    /// (`rediss://`); empty for the system's CA certificates.
    pub tls_ca_file: String,
    /// Largest workspace file accepted, in bytes (as stored: gzip or not). Checked by the client
    /// before uploading and by workers before parsing. Default 64 MiB.
    pub max_workspace_bytes: u64,
    /// Largest patch accepted (its JSON Patch operations as JSON text), in bytes. Checked by the
    /// client before publishing and by workers before applying. Default 16 MiB.
    pub max_patch_bytes: u64,
    /// Largest task message accepted (MessagePack), in bytes. Checked by the client and the
    /// publisher before publishing and by workers before decoding. Default 32 MiB.
    pub max_task_bytes: u64,
    /// The most memory a model may be estimated to take, in bytes (its compiled tensors and a
    /// batch of fits; `fitfleet_engine::model::Footprint`). Checked by the client at submit
    /// and by workers and `fitfleet run` before building a model. 0 (the default): a quarter of
    /// the memory of the machine (or of its cgroup, when that is less).
    pub max_model_bytes: u64,
}

impl Default for FleetConfig {
    fn default() -> Self {
        FleetConfig {
            broker_url: "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned(),
            redis_url: "redis://127.0.0.1:6379/".to_owned(),
            key_prefix: "fitfleet:".to_owned(),
            queue_prefix: "fitfleet.".to_owned(),
            ttl_secs: 7 * 24 * 3600,
            delivery_limit: 5,
            heartbeat_secs: 10,
            consumer_timeout_secs: 30 * 60,
            reconnect_max_delay_secs: 30,
            tls_ca_file: String::new(),
            max_workspace_bytes: Limits::DEFAULT.workspace,
            max_patch_bytes: Limits::DEFAULT.patch,
            max_task_bytes: Limits::DEFAULT.task,
            max_model_bytes: 0,
        }
    }
}

impl FleetConfig {
    pub fn ttl(&self) -> Duration {
        Duration::from_secs(self.ttl_secs)
    }

    pub fn consumer_timeout(&self) -> Duration {
        Duration::from_secs(self.consumer_timeout_secs)
    }

    pub fn reconnect_max_delay(&self) -> Duration {
        Duration::from_secs(self.reconnect_max_delay_secs.max(1))
    }

    /// The maximum sizes of workspaces, patches and task messages, and the model budget
    /// (`max_model_bytes`, or a quarter of this machine's memory when it is 0).
    pub fn limits(&self) -> Limits {
        Limits {
            workspace: self.max_workspace_bytes,
            patch: self.max_patch_bytes,
            task: self.max_task_bytes,
            model: match self.max_model_bytes {
                0 => memory::machine_bytes().map_or(Limits::DEFAULT.model, |m| m / 4),
                bytes => bytes,
            },
        }
    }

    /// The broker URL with any password replaced by `***`, for logs.
    pub fn broker_url_redacted(&self) -> String {
        redact_url(&self.broker_url)
    }

    /// The Redis URL with any password replaced by `***`, for logs.
    pub fn redis_url_redacted(&self) -> String {
        redact_url(&self.redis_url)
    }
}

fn redact_url(url: &str) -> String {
    // scheme://user:password@host...
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_config_keeps_defaults() {
        let c: FleetConfig = serde_json::from_str(r#"{"delivery_limit": 3}"#).unwrap();
        assert_eq!(c.delivery_limit, 3);
        assert_eq!(c.key_prefix, "fitfleet:");
        assert_eq!(c.ttl_secs, 604800);
    }

    #[test]
    fn redacts_passwords() {
        let c = FleetConfig::default();
        assert_eq!(c.broker_url_redacted(), "amqp://guest:***@127.0.0.1:5672/%2f");
        assert_eq!(c.redis_url_redacted(), "redis://127.0.0.1:6379/");
    }
}
