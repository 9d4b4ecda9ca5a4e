//! From stored workspace bytes, a patch and settings to a compiled model.
use broker::Patch;
use candle_core::Device;
use engine::compute::CompiledModel;
use engine::model::{Model, ModelSettings};
use engine::spec::LoadedWorkspace;

/// Parse and validate the workspace, apply the patch, build and lower the model. Errors say
/// which input is wrong and why (they become the failed result's reason).
pub fn compile(
    workspace: &[u8],
    digest: &str,
    patch: Option<&Patch>,
    settings: &ModelSettings,
    device: &Device,
) -> Result<CompiledModel, String> {
    let source = format!("workspace {}", &digest[..digest.len().min(12)]);
    let loaded = LoadedWorkspace::from_slice(&source, workspace).map_err(|e| e.to_string())?;
    let workspace = match patch {
        None => loaded.workspace,
        // As the client checked it: observations of channels a patch removes may remain.
        Some(p) => engine::spec::apply_operations(&source, &loaded.value, &p.name, &p.operations)
            .map_err(|e| e.to_string())?,
    };
    let model = Model::new(&workspace, settings).map_err(|e| e.to_string())?;
    CompiledModel::new(&model, device).map_err(|e| format!("compiling the model: {e}"))
}
