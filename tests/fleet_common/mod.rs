//! Shared by the fleet's end-to-end tests (`tests/fleet_*.rs`): the test kit
//! (`fitfleet-testkit`), and its worker processes started from the binary
//! `fitfleet-worker-e2e`: the worker's own `main.rs` built by this package (see the root
//! Cargo.toml), so cargo builds it fresh before these tests with the same profile and target
//! directory.
#![allow(dead_code, unused_imports)]

use std::path::Path;

use fitfleet_fleet::FleetConfig;
pub use fitfleet_testkit::jobs::*;
pub use fitfleet_testkit::queues::*;
pub use fitfleet_testkit::servers;
pub use fitfleet_testkit::services::{Cleanup, config, require_services, runtime, serial};
pub use fitfleet_testkit::worker::{WorkerProcess, free_port, http_get, metric, rss_kib, wait_in_flight};

/// The binary under test.
pub const WORKER_BIN: &str = env!("CARGO_BIN_EXE_fitfleet-worker-e2e");

/// Start the worker under test with `slots` fit slots and the test's configuration.
pub fn spawn_worker(cfg: &FleetConfig, name: &str, slots: u16, extra: &[&str]) -> WorkerProcess {
    WorkerProcess::spawn(Path::new(WORKER_BIN), cfg, name, slots, extra)
}
