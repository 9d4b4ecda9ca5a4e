//! The fleet's command-line flags, defined once: `fitfleet` and `fitfleet-worker` both
//! flatten [`BrokerArgs`], and [`BrokerArgs::apply`] lays the flags given over the settings
//! loaded from the defaults, the settings file and the `FITFLEET_*` variables.
//!
//! Each flag is named after its settings key (`--delivery-limit` for `delivery_limit`), and
//! docs/configuration.md documents each with its default (checked by
//! `tests/config_reference.rs`).
use std::path::PathBuf;

use clap::Args;

use crate::BrokerConfig;

/// Where the fleet's RabbitMQ and Redis are and how the fleet uses them. Flags win over
/// `FITFLEET_*` variables, variables over the settings file.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "The fleet (also from FITFLEET_* variables and the settings file)")]
pub struct BrokerArgs {
    /// TOML settings file (keys as below, e.g. delivery_limit = 5) [default: $FITFLEET_CONFIG, else ./fitfleet.toml if present]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// RabbitMQ URL, e.g. amqp://user:pass@host:5672/%2f (amqps:// for TLS) [default: amqp://guest:guest@127.0.0.1:5672/%2f] [key broker_url]
    #[arg(long, value_name = "URL")]
    pub broker_url: Option<String>,
    /// Redis URL, e.g. redis://:password@host:6379/ (rediss:// for TLS) [default: redis://127.0.0.1:6379/] [key redis_url]
    #[arg(long, value_name = "URL")]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key, to share one Redis between fleets [default: fitfleet:] [key key_prefix]
    #[arg(long, value_name = "PREFIX")]
    pub key_prefix: Option<String>,
    /// Prefix of every queue and exchange, to share one vhost between fleets [default: fitfleet.] [key queue_prefix]
    #[arg(long, value_name = "PREFIX")]
    pub queue_prefix: Option<String>,
    /// Seconds jobs, results and workspaces stay in Redis after their last write [default: 604800] [key ttl_secs]
    #[arg(long, value_name = "SECS")]
    pub ttl_secs: Option<u64>,
    /// Deliveries of a task before RabbitMQ dead-letters it (the same across the fleet) [default: 5] [key delivery_limit]
    #[arg(long, value_name = "N")]
    pub delivery_limit: Option<u32>,
    /// AMQP heartbeat in seconds [default: 30] [key heartbeat_secs]
    #[arg(long, value_name = "SECS")]
    pub heartbeat_secs: Option<u16>,
    /// Seconds a task may stay unacknowledged before RabbitMQ redelivers it (RabbitMQ 3.12+) [default: 1800] [key consumer_timeout_secs]
    #[arg(long, value_name = "SECS")]
    pub consumer_timeout_secs: Option<u64>,
    /// Longest wait between reconnection attempts, in seconds [default: 30] [key reconnect_max_delay_secs]
    #[arg(long, value_name = "SECS")]
    pub reconnect_max_delay_secs: Option<u64>,
    /// PEM file of the CA of RabbitMQ's and Redis's TLS certificates (amqps://, rediss://) [default: the system's CAs] [key tls_ca_file]
    #[arg(long, value_name = "FILE")]
    pub tls_ca_file: Option<String>,
    /// Largest workspace accepted, in bytes [default: 67108864] [key max_workspace_bytes]
    #[arg(long, value_name = "BYTES")]
    pub max_workspace_bytes: Option<u64>,
    /// Largest patch (JSON Patch operations) accepted, in bytes [default: 16777216] [key max_patch_bytes]
    #[arg(long, value_name = "BYTES")]
    pub max_patch_bytes: Option<u64>,
    /// Largest task message accepted, in bytes [default: 33554432] [key max_task_bytes]
    #[arg(long, value_name = "BYTES")]
    pub max_task_bytes: Option<u64>,
}

impl BrokerArgs {
    /// Put the flags given over `config` (the last layer).
    ///
    /// Typed rather than as text overrides of [`crate::settings::load`]: through
    /// `#[serde(flatten)]` a text override cannot become a number (`--delivery-limit 9` would
    /// fail with "invalid type: string").
    pub fn apply(&self, config: &mut BrokerConfig) {
        let c = config;
        set(&mut c.broker_url, &self.broker_url);
        set(&mut c.redis_url, &self.redis_url);
        set(&mut c.key_prefix, &self.key_prefix);
        set(&mut c.queue_prefix, &self.queue_prefix);
        set(&mut c.ttl_secs, &self.ttl_secs);
        set(&mut c.delivery_limit, &self.delivery_limit);
        set(&mut c.heartbeat_secs, &self.heartbeat_secs);
        set(&mut c.consumer_timeout_secs, &self.consumer_timeout_secs);
        set(&mut c.reconnect_max_delay_secs, &self.reconnect_max_delay_secs);
        set(&mut c.tls_ca_file, &self.tls_ca_file);
        set(&mut c.max_workspace_bytes, &self.max_workspace_bytes);
        set(&mut c.max_patch_bytes, &self.max_patch_bytes);
        set(&mut c.max_task_bytes, &self.max_task_bytes);
    }
}

/// `field = flag` when the flag was given.
pub fn set<T: Clone>(field: &mut T, flag: &Option<T>) {
    if let Some(v) = flag {
        *field = v.clone();
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        fleet: BrokerArgs,
    }

    /// Every setting of `BrokerConfig` has its flag, named after its key, and no flag is
    /// without a setting (besides --config).
    #[test]
    fn one_flag_per_setting() {
        let keys: Vec<String> = match serde_json::to_value(BrokerConfig::default()).unwrap() {
            serde_json::Value::Object(fields) => fields.keys().cloned().collect(),
            _ => unreachable!(),
        };
        let mut flags: Vec<String> =
            Cli::command().get_arguments().filter_map(|a| a.get_long()).map(|l| l.replace('-', "_")).collect();
        flags.retain(|f| f != "config");
        flags.sort();
        let mut keys = keys;
        keys.sort();
        assert_eq!(flags, keys);
    }

    #[test]
    fn flags_given_win_and_the_others_keep_the_loaded_values() {
        let cli = Cli::try_parse_from(["x", "--delivery-limit", "9", "--broker-url", "amqp://a/", "--max-task-bytes", "4096"])
            .unwrap();
        let mut c = BrokerConfig { key_prefix: "file:".into(), ..BrokerConfig::default() };
        cli.fleet.apply(&mut c);
        assert_eq!((c.delivery_limit, c.broker_url.as_str(), c.max_task_bytes), (9, "amqp://a/", 4096));
        assert_eq!(c.key_prefix, "file:");
        assert_eq!(c.max_workspace_bytes, BrokerConfig::default().max_workspace_bytes);
    }
}
