//! A workspace ready for a fit: the background-only workspace, with one signal patch applied
//! when a patchset and a patch name are given.

use std::path::Path;

use serde_json::Value;

use super::error::{SpecError, SpecErrorKind};
use super::load::LoadedWorkspace;
use super::patchset::PatchSet;
use super::workspace::Workspace;

/// A (possibly patched) workspace with what the fleet needs to know about where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchedWorkspace {
    /// Typed and validated, the patch applied.
    pub workspace: Workspace,
    /// The JSON of the workspace, the patch applied (the workspace as read when no patch).
    pub value: Value,
    /// pyhf's sha256 digest of the background-only workspace as read (the patchset's key).
    pub background_digest: String,
    /// The name of the applied patch, if any.
    pub patch: Option<String>,
}

impl PatchedWorkspace {
    /// Applies the named patch of `patchset` (when given) to a loaded background-only workspace,
    /// after checking the patchset was made for it (pyhf's digest).
    pub fn new(
        background: LoadedWorkspace,
        patchset: Option<&PatchSet>,
        patch_name: Option<&str>,
    ) -> Result<Self, SpecError> {
        let LoadedWorkspace { source_name, value, workspace, digest } = background;
        match (patchset, patch_name) {
            (None, None) => Ok(PatchedWorkspace { workspace, value, background_digest: digest, patch: None }),
            (None, Some(name)) => Err(SpecError::new(
                SpecErrorKind::Usage,
                source_name,
                "",
                format!("patch {name:?} asked for, but no patchset given"),
            )),
            (Some(set), None) => {
                let names = set.patch_names();
                let shown = names.iter().take(5).copied().collect::<Vec<_>>().join(", ");
                Err(SpecError::new(
                    SpecErrorKind::Usage,
                    &set.source_name,
                    "",
                    format!(
                        "a patchset needs the name of the patch to apply: one of {shown}{} ({} patches)",
                        if names.len() > 5 { ", ..." } else { "" },
                        names.len()
                    ),
                ))
            }
            (Some(set), Some(name)) => {
                let patch = set.find(name)?;
                set.verify_digest_knowing(&value, Some(&digest))?;
                let patched = set.patched_value(&value, patch)?;
                let workspace = set.check_patched(&value, &patched, patch)?;
                Ok(PatchedWorkspace {
                    workspace,
                    value: patched,
                    background_digest: digest,
                    patch: Some(name.to_string()),
                })
            }
        }
    }
}

/// Reads a workspace file and, when given, a patchset file and applies the named patch.
///
/// The patchset's recorded digest must match the workspace (as `pyhf patchset apply` checks).
/// A patchset without a patch name, or a patch name without a patchset, is an error.
pub fn load_workspace_with_patch(
    workspace_path: impl AsRef<Path>,
    patchset_path: Option<&Path>,
    patch_name: Option<&str>,
) -> Result<PatchedWorkspace, SpecError> {
    let background = LoadedWorkspace::from_path(workspace_path)?;
    let patchset = patchset_path.map(PatchSet::from_path).transpose()?;
    PatchedWorkspace::new(background, patchset.as_ref(), patch_name)
}
