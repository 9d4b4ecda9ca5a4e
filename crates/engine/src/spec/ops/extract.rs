//! A patch of a patchset as `pyhf patchset extract` writes it, and `pyhf patchset apply`.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::super::error::{SpecError, SpecErrorKind};
use super::super::patchset::{Patch, PatchSet};
use super::Checked;

/// The patch's operations (a JSON list); `with_metadata`: `{"metadata": ..., "patch": ...}`,
/// the patch's metadata updated with the patchset's (its keys win), as pyhf's
/// `--with-metadata` writes it.
pub fn extract(set: &PatchSet, patch: &Patch, with_metadata: bool) -> Result<Value, SpecError> {
    let operations: Value = serde_json::from_str(patch.operations_json()).map_err(|e| {
        SpecError::new(
            SpecErrorKind::Format,
            &set.source_name,
            format!("patches[{}].patch", patch.index),
            e.to_string(),
        )
    })?;
    if !with_metadata {
        return Ok(operations);
    }
    let mut metadata = Map::new();
    metadata.insert("name".into(), Value::String(patch.name().to_string()));
    metadata.insert("values".into(), serde_json::to_value(patch.values()).unwrap_or(Value::Null));
    metadata.extend(patch.metadata.extra.clone());
    let m = &set.metadata;
    if let Some(name) = &m.name {
        metadata.insert("name".into(), Value::String(name.clone()));
    }
    metadata.insert("description".into(), Value::String(m.description.clone()));
    metadata.insert("digests".into(), serde_json::to_value(&m.digests).unwrap_or(Value::Null));
    metadata.insert("labels".into(), serde_json::to_value(&m.labels).unwrap_or(Value::Null));
    metadata.insert("references".into(), serde_json::to_value(&m.references).unwrap_or(Value::Null));
    metadata.extend(m.extra.clone());
    let mut out = Map::new();
    out.insert("metadata".into(), Value::Object(metadata));
    out.insert("patch".into(), operations);
    Ok(Value::Object(out))
}

/// `pyhf patchset apply`: checks the patchset was made for `workspace` (every digest it
/// records), applies the patch named (by name or values, [`PatchSet::find`]) and checks the
/// result as pyhf's schema does.
pub fn apply_patch(set: &PatchSet, workspace: &Value, key: &str) -> Result<Checked, SpecError> {
    let patch = set.find(key)?;
    set.verify_digest(workspace)?;
    let patched = set.patched_value(workspace, patch)?;
    let source = format!("{} patched with {}", set.source_name, patch.name());
    let kept: HashSet<&str> = super::items(&patched, "channels").iter().map(super::name_of).collect();
    let removed: HashSet<&str> =
        super::items(workspace, "channels").iter().map(super::name_of).filter(|n| !kept.contains(n)).collect();
    Checked::with_removed(&source, patched, &removed)
}
