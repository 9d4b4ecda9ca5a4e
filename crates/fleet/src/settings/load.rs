//! Loading settings for the binaries: defaults, then a TOML file, then `FITFLEET_*`
//! environment variables, then command-line flags, each overriding the one before.
//!
//! The file is `--config FILE`, else `$FITFLEET_CONFIG`, else `fitfleet.toml` in the working
//! directory when it exists. Keys are the settings' field names (`broker_url`, `slots`, ...);
//! the variable of a key is `FITFLEET_` and the key in capitals (`FITFLEET_BROKER_URL`).
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The prefix of every environment variable fitfleet reads.
pub const ENV_PREFIX: &str = "FITFLEET";

/// Why settings could not be loaded: names the file or variable and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("settings: {0}")]
pub struct SettingsError(String);

/// The settings file to read, if any.
pub fn settings_file(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("FITFLEET_CONFIG") {
        return Some(PathBuf::from(p));
    }
    let local = PathBuf::from("fitfleet.toml");
    local.is_file().then_some(local)
}

/// Load `T`: its `Default`, overridden by the settings file, by `FITFLEET_*` variables and by
/// `flags` (key, value) given on the command line.
pub fn load<T: DeserializeOwned + Serialize + Default>(
    file: Option<&Path>,
    flags: &[(&str, String)],
) -> Result<T, SettingsError> {
    let defaults = config::Config::try_from(&T::default()).map_err(|e| SettingsError(e.to_string()))?;
    let mut builder = config::Config::builder().add_source(defaults);
    if let Some(path) = settings_file(file) {
        if !path.is_file() {
            return Err(SettingsError(format!("{}: no such settings file", path.display())));
        }
        builder = builder.add_source(config::File::from(path).format(config::FileFormat::Toml));
    }
    // FITFLEET_CONFIG (the file) and FITFLEET_LOG (the log filter) are not settings; an empty
    // variable means "unset".
    let env: config::Map<String, String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("FITFLEET_") && k != "FITFLEET_CONFIG" && k != "FITFLEET_LOG")
        .collect();
    builder = builder.add_source(
        config::Environment::with_prefix(ENV_PREFIX).try_parsing(true).ignore_empty(true).source(Some(env)),
    );
    for (key, value) in flags {
        builder = builder.set_override(*key, value.clone()).map_err(|e| SettingsError(e.to_string()))?;
    }
    let built = builder.build().map_err(|e| SettingsError(e.to_string()))?;
    built.try_deserialize().map_err(|e| SettingsError(e.to_string()))
}
