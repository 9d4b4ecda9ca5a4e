//! The client's settings: where the fleet is (RabbitMQ, Redis, prefixes) and how the embedded
//! run uses this machine. Loaded by [`broker::settings::load`]: defaults, then the settings
//! file, then `FITFLEET_*` variables, then the command-line flags.
use anyhow::{Context, Result};
use broker::BrokerConfig;
use serde::{Deserialize, Serialize};

use crate::args::{ConnectionArgs, SizeLimitArgs};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ClientSettings {
    /// RabbitMQ, Redis, prefixes, TTLs: shared with the workers.
    #[serde(flatten)]
    pub broker: BrokerConfig,
    /// Fits at once in `fitfleet run`; 0 for one per CPU core (`FITFLEET_SLOTS`).
    pub slots: usize,
}

impl ClientSettings {
    /// Load the settings with the command line's connection flags on top.
    pub fn load(args: &ConnectionArgs) -> Result<Self> {
        let mut flags: Vec<(&str, String)> = Vec::new();
        for (key, value) in [
            ("broker_url", &args.broker_url),
            ("redis_url", &args.redis_url),
            ("key_prefix", &args.key_prefix),
            ("queue_prefix", &args.queue_prefix),
            ("tls_ca_file", &args.tls_ca_file),
        ] {
            if let Some(v) = value {
                flags.push((key, v.clone()));
            }
        }
        let settings: ClientSettings =
            broker::settings::load(args.config.as_deref(), &flags).context("loading the client's settings")?;
        tracing::debug!(
            broker = %settings.broker.broker_url_redacted(),
            redis = %settings.broker.redis_url_redacted(),
            key_prefix = settings.broker.key_prefix,
            queue_prefix = settings.broker.queue_prefix,
            "settings"
        );
        Ok(settings)
    }

    /// The size limits given as flags over those loaded (typed: through `#[serde(flatten)]` a
    /// text override cannot become a number).
    pub fn with_size_limits(mut self, args: &SizeLimitArgs) -> Self {
        let b = &mut self.broker;
        for (field, flag) in [
            (&mut b.max_workspace_bytes, args.max_workspace_bytes),
            (&mut b.max_patch_bytes, args.max_patch_bytes),
            (&mut b.max_task_bytes, args.max_task_bytes),
        ] {
            if let Some(v) = flag {
                *field = v;
            }
        }
        self
    }

    /// Settings without a command line: the file named by `FITFLEET_CONFIG` or ./fitfleet.toml,
    /// and `FITFLEET_*` variables.
    pub fn from_environment() -> Result<Self> {
        broker::settings::load(None, &[]).context("loading the client's settings")
    }
}
