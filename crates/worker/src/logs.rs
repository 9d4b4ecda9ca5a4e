//! Log lines to standard error, plain or JSON, filtered by `FITFLEET_LOG` (else `RUST_LOG`,
//! else `info` with the AMQP and Redis libraries at `warn`), e.g.
//! `FITFLEET_LOG=worker=debug,info`.
use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::settings::LogFormat;

/// The filter used when neither `FITFLEET_LOG` nor `RUST_LOG` is set.
pub const DEFAULT_FILTER: &str = "info,lapin=warn,redis=warn";

/// Install the global subscriber (once; later calls do nothing).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_env("FITFLEET_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    // Colours only for a person at a terminal, not in log files and collectors.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match format {
        LogFormat::Plain => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
