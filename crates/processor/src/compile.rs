//! From stored workspace bytes, a patch and settings to a compiled model, in two steps: the
//! background workspace is parsed and validated once per digest ([`parse_workspace`]), then
//! each patch is applied to it and the model built and lowered ([`compile`]).
use candle_core::Device;
use fitfleet_engine::compute::CompiledModel;
use fitfleet_engine::model::Footprint;
use fitfleet_engine::model::ModelError;
use fitfleet_engine::model::{Model, ModelSettings};
use fitfleet_engine::spec::{LoadedWorkspace, SpecError};
use fitfleet_protocol::{Limits, ModelTooLarge, Patch};

/// Why a task's model could not be made: each says which input is wrong and why, and becomes
/// the failed result's reason.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The workspace or the patched workspace is not a valid pyhf workspace.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The workspace is valid but its model cannot be built (pyhf would refuse it too).
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The model could not be lowered to tensors.
    #[error("compiling the model: {0}")]
    Tensors(#[from] candle_core::Error),
    /// The model would take more memory than `max_model_bytes` allows: refused unbuilt.
    #[error(transparent)]
    TooLarge(#[from] ModelTooLarge),
}

/// Whose model a budget error names: the patch, or the workspace without one.
pub fn whose(patch: Option<&Patch>, digest: &str) -> String {
    match patch {
        Some(p) => format!("patch {}", p.name),
        None => source_name(digest),
    }
}

/// How a workspace is named in errors: `workspace <first 12 digits of its digest>`.
fn source_name(digest: &str) -> String {
    format!("workspace {}", &digest[..digest.len().min(12)])
}

/// Parse and validate stored workspace bytes; gzip-compressed bytes may unpack to at most
/// `max_unpacked` (`max_workspace_bytes`). Errors say what is wrong and where (they become the
/// failed result's reason).
pub fn parse_workspace(workspace: &[u8], digest: &str, max_unpacked: u64) -> Result<LoadedWorkspace, CompileError> {
    Ok(LoadedWorkspace::from_slice_within(&source_name(digest), workspace, max_unpacked)?)
}

/// Apply the patch to the parsed workspace, check the model's estimated memory with `batch`
/// fits at once against the budget of `limits` (`max_model_bytes`), build and lower the
/// model; with its footprint, for checks of other work on it. Errors say which input is wrong
/// and why.
pub fn compile(
    loaded: &LoadedWorkspace,
    digest: &str,
    patch: Option<&Patch>,
    settings: &ModelSettings,
    device: &Device,
    limits: &Limits,
    batch: u64,
) -> Result<(CompiledModel, Footprint), CompileError> {
    let patched;
    let workspace = match patch {
        None => &loaded.workspace,
        // As the client checked it: observations of channels a patch removes may remain.
        Some(p) => {
            patched = fitfleet_engine::spec::apply_operations(&source_name(digest), loaded, &p.name, &p.operations)?;
            &patched
        }
    };
    let footprint = Footprint::of(workspace);
    limits.check_model(whose(patch, digest), &footprint, batch)?;
    let model = Model::new(workspace, settings)?;
    Ok((CompiledModel::new(&model, device)?, footprint))
}
