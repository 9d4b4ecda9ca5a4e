//! Shared by the client's CLI tests: the built `fitfleet` binary and the example pallet; the
//! fleet of the test's own and the real worker service come from `fitfleet-testkit`.
#![allow(dead_code, unused_imports)]
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fitfleet_fleet::FleetConfig;
pub use fitfleet_testkit::queues::{tasks_in_queue, wait_tasks_in_queue};
pub use fitfleet_testkit::services::{
    Cleanup, config, keys_under_prefix, require_services_blocking as require_services, runtime,
};
pub use fitfleet_testkit::worker::TestWorker;

pub fn pallet_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/pallet")
}

pub fn pallet_workspace() -> PathBuf {
    pallet_dir().join("BkgOnly.json")
}

pub fn pallet_patchset() -> PathBuf {
    pallet_dir().join("patchset.json")
}

/// The binary with a clean environment for settings: no settings file, the given fleet.
pub fn fitfleet(cfg: Option<&FleetConfig>) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fitfleet"));
    for (k, _) in std::env::vars() {
        if k.starts_with("FITFLEET_") && k != "FITFLEET_BROKER_URL" && k != "FITFLEET_REDIS_URL" {
            c.env_remove(k);
        }
    }
    // No ./fitfleet.toml of the developer's: run where there is none.
    c.current_dir(std::env::temp_dir());
    if let Some(cfg) = cfg {
        c.env("FITFLEET_BROKER_URL", &cfg.broker_url)
            .env("FITFLEET_REDIS_URL", &cfg.redis_url)
            .env("FITFLEET_KEY_PREFIX", &cfg.key_prefix)
            .env("FITFLEET_QUEUE_PREFIX", &cfg.queue_prefix);
    }
    c
}

/// Run and capture; the output's text for assertions.
pub fn run(cmd: &mut Command) -> (Output, String, String) {
    let out = cmd.output().expect("running fitfleet");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stdout, stderr)
}
