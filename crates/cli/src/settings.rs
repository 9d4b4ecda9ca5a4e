//! The client's settings: where the fleet is (RabbitMQ, Redis, prefixes) and how the embedded
//! run uses this machine. Loaded by [`fitfleet_fleet::settings::load`]: defaults, then the settings
//! file, then `FITFLEET_*` variables, then the command-line flags.
use anyhow::{Context, Result};
use fitfleet_fleet::{FleetArgs, FleetConfig};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ClientSettings {
    /// RabbitMQ, Redis, prefixes, TTLs: shared with the workers.
    #[serde(flatten)]
    pub broker: FleetConfig,
    /// Fits at once in `fitfleet run`; 0 for one per CPU core (`FITFLEET_SLOTS`).
    pub slots: usize,
}

impl ClientSettings {
    /// Load the settings with the command line's flags on top.
    pub fn load(args: &FleetArgs) -> Result<Self> {
        let mut settings: ClientSettings =
            fitfleet_fleet::settings::load(args.config.as_deref(), &[]).context("loading the client's settings")?;
        args.apply(&mut settings.broker);
        tracing::debug!(
            broker = %settings.broker.broker_url_redacted(),
            redis = %settings.broker.redis_url_redacted(),
            key_prefix = settings.broker.key_prefix,
            queue_prefix = settings.broker.queue_prefix,
            "settings"
        );
        Ok(settings)
    }

    /// Settings without a command line: the file named by `FITFLEET_CONFIG` or ./fitfleet.toml,
    /// and `FITFLEET_*` variables.
    pub fn from_environment() -> Result<Self> {
        fitfleet_fleet::settings::load(None, &[]).context("loading the client's settings")
    }
}
