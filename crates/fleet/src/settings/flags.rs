//! The fleet's command-line flags, defined once: `fitfleet` and `fitfleet-worker` both
//! flatten [`FleetArgs`], and [`FleetArgs::apply`] lays the flags given over the settings
//! loaded from the defaults, the settings file and the `FITFLEET_*` variables.
//!
//! Each flag is named after its settings key (`--delivery-limit` for `delivery_limit`), and
//! docs/configuration.md documents each with its default (checked by
//! `tests/config_reference.rs`). A flag's help shows the default from the code
//! ([`flag_help`]), never a copy typed into the text.
use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::FleetConfig;

/// Where the fleet's RabbitMQ and Redis are and how the fleet uses them. Flags win over
/// `FITFLEET_*` variables, variables over the settings file.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "The fleet (also from FITFLEET_* variables and the settings file)")]
pub struct FleetArgs {
    /// TOML settings file (keys as below, e.g. delivery_limit = 5) [default: $FITFLEET_CONFIG, else ./fitfleet.toml if present]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[arg(long, value_name = "URL", help = flag_help::<FleetConfig>("RabbitMQ URL, e.g. amqp://user:pass@host:5672/%2f (amqps:// for TLS)", "broker_url"))]
    pub broker_url: Option<String>,
    #[arg(long, value_name = "URL", help = flag_help::<FleetConfig>("Redis URL, e.g. redis://:password@host:6379/ (rediss:// for TLS)", "redis_url"))]
    pub redis_url: Option<String>,
    #[arg(long, value_name = "PREFIX", help = flag_help::<FleetConfig>("Prefix of every Redis key, to share one Redis between fleets", "key_prefix"))]
    pub key_prefix: Option<String>,
    #[arg(long, value_name = "PREFIX", help = flag_help::<FleetConfig>("Prefix of every queue and exchange, to share one vhost between fleets", "queue_prefix"))]
    pub queue_prefix: Option<String>,
    #[arg(long, value_name = "SECS", help = flag_help::<FleetConfig>("Seconds jobs, results and workspaces stay in Redis after their last write", "ttl_secs"))]
    pub ttl_secs: Option<u64>,
    #[arg(long, value_name = "N", help = flag_help::<FleetConfig>("Deliveries of a task before RabbitMQ dead-letters it (the same across the fleet)", "delivery_limit"))]
    pub delivery_limit: Option<u32>,
    #[arg(long, value_name = "SECS", help = flag_help::<FleetConfig>("AMQP heartbeat in seconds", "heartbeat_secs"))]
    pub heartbeat_secs: Option<u16>,
    #[arg(long, value_name = "SECS", help = flag_help::<FleetConfig>("Seconds a task may stay unacknowledged before RabbitMQ redelivers it (RabbitMQ 3.12+)", "consumer_timeout_secs"))]
    pub consumer_timeout_secs: Option<u64>,
    #[arg(long, value_name = "SECS", help = flag_help::<FleetConfig>("Longest wait between reconnection attempts, in seconds", "reconnect_max_delay_secs"))]
    pub reconnect_max_delay_secs: Option<u64>,
    #[arg(long, value_name = "FILE", help = flag_help::<FleetConfig>("PEM file of the CA of RabbitMQ's and Redis's TLS certificates (amqps://, rediss://); none: the system's CAs", "tls_ca_file"))]
    pub tls_ca_file: Option<String>,
    #[arg(long, value_name = "BYTES", help = flag_help::<FleetConfig>("Largest workspace accepted, in bytes", "max_workspace_bytes"))]
    pub max_workspace_bytes: Option<u64>,
    #[arg(long, value_name = "BYTES", help = flag_help::<FleetConfig>("Largest patch (JSON Patch operations) accepted, in bytes", "max_patch_bytes"))]
    pub max_patch_bytes: Option<u64>,
    #[arg(long, value_name = "BYTES", help = flag_help::<FleetConfig>("Largest task message accepted, in bytes", "max_task_bytes"))]
    pub max_task_bytes: Option<u64>,
    #[arg(long, value_name = "BYTES", help = flag_help::<FleetConfig>("Most memory a model may be estimated to take, in bytes (0: a quarter of this machine's)", "max_model_bytes"))]
    pub max_model_bytes: Option<u64>,
}

impl FleetArgs {
    /// Put the flags given over `config` (the last layer).
    ///
    /// Typed rather than as text overrides of [`super::load()`]: through
    /// `#[serde(flatten)]` a text override cannot become a number (`--delivery-limit 9` would
    /// fail with "invalid type: string").
    pub fn apply(&self, config: &mut FleetConfig) {
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
        set(&mut c.max_model_bytes, &self.max_model_bytes);
    }
}

/// A settings flag's help: `text`, then the default of `key` as the settings struct `T`
/// serialises it (`none` for an empty text) and the key, e.g.
/// `AMQP heartbeat in seconds [default: 30] [key heartbeat_secs]`.
pub fn flag_help<T: Serialize + Default>(text: &str, key: &str) -> String {
    let defaults = serde_json::to_value(T::default()).expect("settings serialise");
    let default = match defaults.get(key) {
        Some(serde_json::Value::String(s)) if s.is_empty() => "none".to_owned(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => panic!("flag_help: {key} is not a setting"),
    };
    format!("{text} [default: {default}] [key {key}]")
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
        fleet: FleetArgs,
    }

    /// Every setting of `FleetConfig` has its flag, named after its key, and no flag is
    /// without a setting (besides --config).
    #[test]
    fn one_flag_per_setting() {
        let keys: Vec<String> = match serde_json::to_value(FleetConfig::default()).unwrap() {
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
    fn help_shows_the_default_from_the_code() {
        let help = Cli::command().render_help().to_string();
        assert!(help.contains("[default: 5] [key delivery_limit]"), "{help}");
        let c = FleetConfig { heartbeat_secs: 31, ..FleetConfig::default() };
        assert_eq!(c.heartbeat_secs, 31);
        assert!(
            flag_help::<FleetConfig>("x", "heartbeat_secs")
                .ends_with(&format!("[default: {}] [key heartbeat_secs]", FleetConfig::default().heartbeat_secs))
        );
        assert!(flag_help::<FleetConfig>("x", "tls_ca_file").contains("[default: none]"));
    }

    #[test]
    fn flags_given_win_and_the_others_keep_the_loaded_values() {
        let cli = Cli::try_parse_from([
            "x",
            "--delivery-limit",
            "9",
            "--broker-url",
            "amqp://a/",
            "--max-task-bytes",
            "4096",
        ])
        .unwrap();
        let mut c = FleetConfig { key_prefix: "file:".into(), ..FleetConfig::default() };
        cli.fleet.apply(&mut c);
        assert_eq!((c.delivery_limit, c.broker_url.as_str(), c.max_task_bytes), (9, "amqp://a/", 4096));
        assert_eq!(c.key_prefix, "file:");
        assert_eq!(c.max_workspace_bytes, FleetConfig::default().max_workspace_bytes);
    }
}
