//! From command-line arguments to a compiled model and its observed data.
use anyhow::{Context, Result};
use fitfleet_engine::compute::CompiledModel;
use fitfleet_engine::model::Model;

use crate::args::ModelArgs;

/// A model ready for inference, with where it came from.
pub struct Loaded {
    pub model: Model,
    pub compiled: CompiledModel,
    /// The observed main and auxiliary data.
    pub data: Vec<f64>,
}

/// Read the workspace (applying the patch, when one is named), build and compile the model.
pub fn load(args: &ModelArgs) -> Result<Loaded> {
    let inputs = crate::pallet_files::resolve(&args.workspace.path, args.patchset.path.as_deref())?;
    let patched = fitfleet_engine::spec::load_workspace_with_patch(
        &inputs.workspace,
        inputs.patchset.as_deref(),
        args.patch.one()?,
    )?;
    let model = Model::new(&patched.workspace, &args.settings())
        .with_context(|| format!("{}: cannot build the model", args.workspace.path.display()))?;
    if let Some(note) = &model.poi_note {
        tracing::warn!("{note}");
    }
    let (_, device) = args.device.open()?;
    let compiled = CompiledModel::new(&model, &device).context("compiling the model")?;
    let data = compiled.config().observed_data.clone();
    Ok(Loaded { model, compiled, data })
}
