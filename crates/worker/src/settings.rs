//! The worker's settings: where the fleet is ([`FleetConfig`]), how many fits run at once,
//! the model cache's bounds, the metrics endpoint and the drain on shutdown.
//!
//! Loaded by [`load`]: defaults, then the TOML file (`--config`, `$FITFLEET_CONFIG` or
//! `./fitfleet.toml`), then `FITFLEET_*` variables, then flags; each key's variable is
//! `FITFLEET_` and the key in capitals (`slots` → `FITFLEET_SLOTS`), its flag the key with
//! dashes (`--slots`).
use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use fitfleet_engine::compute::{DeviceChoice, DeviceError};
use fitfleet_fleet::settings::flags::flag_help;
use fitfleet_fleet::settings::set;
use fitfleet_fleet::{FleetArgs, FleetConfig};
use fitfleet_processor::ModelCache;
use serde::{Deserialize, Serialize};

/// Everything a `fitfleet-worker` needs to know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkerSettings {
    /// RabbitMQ, Redis, prefixes and delivery policy: shared with the client.
    #[serde(flatten)]
    pub broker: FleetConfig,
    /// Fits run at once (and tasks taken from RabbitMQ at once). Default: the cores available.
    pub slots: u16,
    /// Compiled models kept in memory at most. Default 64.
    pub cache_models: usize,
    /// Bytes of compiled models kept in memory at most. Default 1 GiB.
    pub cache_bytes: u64,
    /// Where `/metrics` (Prometheus text) and `/healthz` are served. Default `127.0.0.1:9898`;
    /// port 0 picks a free port (logged), and so does a taken port (with a warning), so that a
    /// second worker on one host starts.
    pub metrics_addr: String,
    /// On SIGTERM or SIGINT, how long to wait for fits in flight before exiting anyway, in
    /// seconds (their tasks then go back to the queue). Default 600.
    pub drain_timeout_secs: u64,
    /// Seconds a task may run before it is stopped and recorded as failed for it, checked
    /// between batches of toys and scan points; 0 for no budget. Default 1500, under
    /// RabbitMQ's consumer timeout (30 minutes by default), which would take the task back.
    pub task_time_budget_secs: u64,
    /// Also record dead-lettered tasks as failed on their job (the fleet needs at least one
    /// recorder; running one in every worker is harmless). Default true.
    pub dead_letter_recorder: bool,
    /// Log lines as `plain` text or `json` objects. Default `plain`.
    pub log_format: LogFormat,
    /// Where models are compiled and fitted: `cpu`, `cuda` (the first GPU) or `cuda:N`.
    /// Default `cpu`.
    pub device: String,
}

/// How log lines are written (to standard error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Plain,
    Json,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            broker: FleetConfig::default(),
            slots: default_slots(),
            cache_models: ModelCache::DEFAULT_MODELS,
            cache_bytes: ModelCache::DEFAULT_BYTES,
            metrics_addr: "127.0.0.1:9898".to_owned(),
            drain_timeout_secs: 600,
            task_time_budget_secs: 1500,
            dead_letter_recorder: true,
            log_format: LogFormat::Plain,
            device: "cpu".to_owned(),
        }
    }
}

/// The cores this process may use (cgroup and affinity limits included), at least 1.
pub fn default_slots() -> u16 {
    std::thread::available_parallelism().map_or(1, |n| u16::try_from(n.get()).unwrap_or(u16::MAX)).max(1)
}

impl WorkerSettings {
    pub fn drain_timeout(&self) -> Duration {
        Duration::from_secs(self.drain_timeout_secs)
    }

    /// How long one task may run, if bounded.
    pub fn task_time_budget(&self) -> Option<Duration> {
        (self.task_time_budget_secs > 0).then(|| Duration::from_secs(self.task_time_budget_secs))
    }

    /// The metrics address, parsed.
    pub fn metrics_socket(&self) -> Result<SocketAddr, SettingsError> {
        self.metrics_addr.parse().map_err(|e: std::net::AddrParseError| SettingsError::Invalid {
            key: "metrics_addr",
            reason: format!("{:?} is not an address like 127.0.0.1:9898: {e}", self.metrics_addr),
        })
    }

    /// The device, by name.
    pub fn device_choice(&self) -> Result<DeviceChoice, SettingsError> {
        self.device.parse().map_err(|e: DeviceError| SettingsError::Invalid { key: "device", reason: e.to_string() })
    }

    /// Check what serde cannot: at least one slot, a parseable metrics address, a device this
    /// binary and machine have (a CUDA GPU is looked for now: a worker never starts
    /// half-working).
    pub fn validate(&self) -> Result<(), SettingsError> {
        if let Err(e) = self.device_choice()?.open() {
            return Err(SettingsError::Invalid { key: "device", reason: e.to_string() });
        }
        let at_least_one = |key| SettingsError::Invalid { key, reason: "must be at least 1".into() };
        if self.slots == 0 {
            return Err(at_least_one("slots"));
        }
        if self.cache_models == 0 {
            return Err(at_least_one("cache_models"));
        }
        self.metrics_socket().map(drop)
    }
}

/// Why the worker's settings are not usable.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file or the variables could not be read.
    #[error(transparent)]
    Load(#[from] fitfleet_fleet::settings::SettingsError),
    /// A setting has a value the worker cannot use.
    #[error("settings: {key} {reason}")]
    Invalid { key: &'static str, reason: String },
}

/// `fitfleet-worker`: takes fit tasks from RabbitMQ, fits, stores results in Redis.
///
/// Every setting can also come from the settings file (key as written below with `_`) or from
/// a `FITFLEET_*` variable; flags win over variables, variables over the file.
#[derive(Debug, Clone, Default, Parser)]
#[command(name = "fitfleet-worker", version, about, long_about = None)]
pub struct WorkerArgs {
    /// Print the settings in effect (passwords hidden) as JSON and exit
    #[arg(long)]
    pub print_settings: bool,
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[arg(long, value_name = "N", help = flag_help::<WorkerSettings>("Fits run at once (by default one per core available)", "slots"))]
    pub slots: Option<u16>,
    #[arg(long, value_name = "N", help = flag_help::<WorkerSettings>("Compiled models kept in memory at most", "cache_models"))]
    pub cache_models: Option<usize>,
    #[arg(long, value_name = "BYTES", help = flag_help::<WorkerSettings>("Bytes of compiled models kept in memory at most", "cache_bytes"))]
    pub cache_bytes: Option<u64>,
    #[arg(long, value_name = "HOST:PORT", help = flag_help::<WorkerSettings>("Address of the /metrics and /healthz endpoint", "metrics_addr"))]
    pub metrics_addr: Option<String>,
    #[arg(long, value_name = "SECS", help = flag_help::<WorkerSettings>("Seconds to wait for fits in flight on SIGTERM/SIGINT", "drain_timeout_secs"))]
    pub drain_timeout_secs: Option<u64>,
    #[arg(long, value_name = "SECS", help = flag_help::<WorkerSettings>("Seconds a task may run before it fails for it (0: no budget)", "task_time_budget_secs"))]
    pub task_time_budget_secs: Option<u64>,
    #[arg(long, value_name = "BOOL", help = flag_help::<WorkerSettings>("Record dead-lettered tasks as failed (true or false)", "dead_letter_recorder"))]
    pub dead_letter_recorder: Option<bool>,
    #[arg(long, value_enum, value_name = "FORMAT", help = flag_help::<WorkerSettings>("Log format", "log_format"))]
    pub log_format: Option<LogFormat>,
    #[arg(long, value_name = "DEVICE", help = flag_help::<WorkerSettings>("Where fits run: cpu, cuda or cuda:N", "device"))]
    pub device: Option<String>,
}

impl WorkerArgs {
    /// Put the flags given over `settings` (the last layer), typed as [`FleetArgs::apply`]
    /// explains.
    pub fn apply(&self, s: &mut WorkerSettings) {
        self.fleet.apply(&mut s.broker);
        set(&mut s.slots, &self.slots);
        set(&mut s.cache_models, &self.cache_models);
        set(&mut s.cache_bytes, &self.cache_bytes);
        set(&mut s.metrics_addr, &self.metrics_addr);
        set(&mut s.drain_timeout_secs, &self.drain_timeout_secs);
        set(&mut s.task_time_budget_secs, &self.task_time_budget_secs);
        set(&mut s.dead_letter_recorder, &self.dead_letter_recorder);
        set(&mut s.log_format, &self.log_format);
        set(&mut s.device, &self.device);
    }
}

/// Load the settings: defaults, file, `FITFLEET_*` variables, then the flags in `args`.
pub fn load(args: &WorkerArgs) -> Result<WorkerSettings, SettingsError> {
    let mut settings: WorkerSettings = fitfleet_fleet::settings::load(args.fleet.config.as_deref(), &[])?;
    args.apply(&mut settings);
    settings.validate()?;
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let s = WorkerSettings::default();
        assert_eq!(s.slots, default_slots());
        assert!(s.slots >= 1);
        assert_eq!((s.cache_models, s.cache_bytes), (64, 1 << 30));
        assert_eq!(s.metrics_addr, "127.0.0.1:9898");
        assert_eq!(s.drain_timeout(), Duration::from_secs(600));
        assert_eq!(s.task_time_budget(), Some(Duration::from_secs(1500)));
        assert_eq!(WorkerSettings { task_time_budget_secs: 0, ..s.clone() }.task_time_budget(), None);
        assert!(s.dead_letter_recorder);
        assert_eq!(s.broker, FleetConfig::default());
        s.validate().unwrap();
    }

    #[test]
    fn keys_are_flat_and_partial_documents_keep_defaults() {
        let v = serde_json::to_value(WorkerSettings::default()).unwrap();
        for key in [
            "broker_url",
            "redis_url",
            "key_prefix",
            "queue_prefix",
            "ttl_secs",
            "delivery_limit",
            "heartbeat_secs",
            "consumer_timeout_secs",
            "reconnect_max_delay_secs",
            "tls_ca_file",
            "max_workspace_bytes",
            "max_patch_bytes",
            "max_task_bytes",
            "slots",
            "cache_models",
            "cache_bytes",
            "metrics_addr",
            "drain_timeout_secs",
            "task_time_budget_secs",
            "dead_letter_recorder",
            "log_format",
            "device",
        ] {
            assert!(v.get(key).is_some(), "{key}");
        }
        let s: WorkerSettings =
            serde_json::from_str(r#"{"slots": 3, "delivery_limit": 2, "log_format": "json"}"#).unwrap();
        assert_eq!((s.slots, s.broker.delivery_limit, s.log_format), (3, 2, LogFormat::Json));
        assert_eq!(s.cache_models, 64);
        assert_eq!(s.broker.key_prefix, "fitfleet:");
    }

    #[test]
    fn flags_win_over_the_file() {
        let dir = std::env::temp_dir().join(format!("fitfleet-worker-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("worker.toml");
        std::fs::write(
            &file,
            "slots = 3\ncache_models = 7\ndelivery_limit = 4\nqueue_prefix = \"file.\"\nmetrics_addr = \"0.0.0.0:9100\"\n",
        )
        .unwrap();
        let args = WorkerArgs::try_parse_from([
            "fitfleet-worker",
            "--config",
            file.to_str().unwrap(),
            "--slots",
            "5",
            "--delivery-limit",
            "9",
            "--heartbeat-secs",
            "7",
            "--max-task-bytes",
            "4096",
            "--dead-letter-recorder",
            "false",
            "--log-format",
            "json",
        ])
        .unwrap();
        let s = load(&args).unwrap();
        assert_eq!(s.slots, 5);
        assert_eq!(s.cache_models, 7);
        assert_eq!(s.broker.delivery_limit, 9);
        assert_eq!(s.broker.heartbeat_secs, 7);
        assert_eq!(s.broker.max_task_bytes, 4096);
        assert_eq!(s.broker.max_workspace_bytes, 64 << 20);
        assert_eq!(s.broker.queue_prefix, "file.");
        assert_eq!(s.metrics_addr, "0.0.0.0:9100");
        assert!(!s.dead_letter_recorder);
        assert_eq!(s.log_format, LogFormat::Json);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_values_are_refused_with_the_key() {
        let bad = WorkerSettings { slots: 0, ..Default::default() };
        assert!(bad.validate().unwrap_err().to_string().contains("slots"));
        let bad = WorkerSettings { metrics_addr: "localhost".into(), ..Default::default() };
        assert!(bad.validate().unwrap_err().to_string().contains("metrics_addr"));
        let args = WorkerArgs::try_parse_from(["fitfleet-worker", "--slots", "0"]).unwrap();
        assert_eq!(load(&args).unwrap_err().to_string(), "settings: slots must be at least 1");
        assert!(WorkerArgs::try_parse_from(["fitfleet-worker", "--slots", "many"]).is_err());
    }
}
