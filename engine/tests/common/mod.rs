//! Shared helpers for the engine's tests: where the reference data lives.
#![allow(dead_code)]
use std::path::PathBuf;

/// `../shared/reference` beside the repository (or `$FITFLEET_REFERENCE`). Tests that need it
/// fail, never skip, when it is missing.
pub fn reference_dir() -> PathBuf {
    let dir = match std::env::var_os("FITFLEET_REFERENCE") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference"),
    };
    assert!(
        dir.join("cases.json").is_file(),
        "reference data not found at {} (set FITFLEET_REFERENCE to the folder holding cases.json)",
        dir.display()
    );
    dir
}
