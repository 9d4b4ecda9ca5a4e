//! Reading and writing for `fitfleet workspace ...` and `fitfleet patchset ...`: workspaces and
//! patchsets from files, pallet directories or archives; JSON written as pyhf writes it.
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use fitfleet_engine::spec::ops::Checked;
use fitfleet_engine::spec::{PatchSet, parse_value, python_json_dumps_pretty, read_file};
use serde_json::Value;

use crate::pallet_files::{Inputs, resolve};

/// A workspace as pyhf's schema accepts it, read from `path` (a workspace file, plain or
/// gzip, or a pallet directory or archive: its background-only workspace). What fitfleet
/// would further refuse in it is logged as a warning: pyhf's operations accept it too.
pub fn read_workspace(path: &Path) -> Result<Checked> {
    let inputs = resolve(path, None)?;
    read_workspace_file(&inputs.workspace, path)
}

/// The workspace file `file`, named `shown` in messages.
pub fn read_workspace_file(file: &Path, shown: &Path) -> Result<Checked> {
    let name = shown.display().to_string();
    let bytes = read_file(file).map_err(|e| e.with_source(&name))?;
    let value = parse_value(&name, &bytes)?;
    let checked = Checked::new(&name, value)?;
    warn_about(&checked, "read");
    Ok(checked)
}

/// The patchset at `path`: a patchset file, or the one in a pallet directory or archive.
pub fn read_patchset(path: &Path) -> Result<PatchSet> {
    let inputs = resolve(path, None)?;
    let file = inputs.patchset.clone().unwrap_or_else(|| inputs.workspace.clone());
    read_patchset_file(&file, path)
}

fn read_patchset_file(file: &Path, shown: &Path) -> Result<PatchSet> {
    let name = shown.display().to_string();
    let bytes = read_file(file).map_err(|e| e.with_source(&name))?;
    Ok(PatchSet::from_slice(&name, &bytes)?)
}

/// The background-only workspace and its patchset: `patchset` when given, else the one in the
/// pallet `workspace` names.
pub fn read_background_and_patchset(workspace: &Path, patchset: Option<&Path>) -> Result<(Checked, PatchSet)> {
    let inputs: Inputs = resolve(workspace, patchset)?;
    let shown_ws: PathBuf = if inputs.workspace == workspace {
        workspace.to_path_buf()
    } else {
        pallet_member(workspace, "background-only workspace")
    };
    let checked = read_workspace_file(&inputs.workspace, &shown_ws)?;
    let Some(patchset_file) = inputs.patchset.as_deref() else {
        anyhow::bail!(
            "{}: no patchset: give PATCHSET after the workspace, or a pallet directory or archive holding both",
            workspace.display()
        );
    };
    let shown_ps = match patchset {
        Some(p) => p.to_path_buf(),
        None => pallet_member(workspace, "patchset"),
    };
    let set = read_patchset_file(patchset_file, &shown_ps)?;
    Ok((checked, set))
}

/// How a file found in a pallet is named in messages: `pallet.tar.gz (its patchset)`.
fn pallet_member(pallet: &Path, what: &str) -> PathBuf {
    PathBuf::from(format!("{} ({what})", pallet.display()))
}

/// Logs what fitfleet would refuse in a workspace pyhf accepts.
pub fn warn_about(checked: &Checked, how: &str) {
    if let Some(w) = &checked.warnings {
        tracing::warn!("the workspace {how} is valid pyhf JSON, but cannot be fitted as it is:\n{w}");
    }
}

/// Writes `value` as pyhf's CLI does (`json.dumps(value, indent=4, sort_keys=True)`): to
/// `output_file` as it is, or to standard output with a newline.
pub fn write_json(value: &Value, output_file: Option<&Path>) -> Result<()> {
    let text = python_json_dumps_pretty(value);
    match output_file {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
            tracing::info!("written to {}", path.display());
        }
        None => println!("{text}"),
    }
    Ok(())
}
