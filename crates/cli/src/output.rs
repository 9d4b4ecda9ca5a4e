//! Writing results: pretty JSON to standard output or to a file.
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

/// Print `value` as indented JSON, to `out` when given.
pub fn json<T: Serialize>(value: &T, out: Option<&Path>) -> Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    match out {
        Some(path) => std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display())),
        None => {
            println!("{text}");
            Ok(())
        }
    }
}
