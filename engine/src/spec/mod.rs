//! pyhf JSON: workspaces, patchsets, digests and validation.
mod workspace;

pub use workspace::{
    Channel, Measurement, MeasurementConfig, Modifier, ModifierKind, Observation, ParameterConfig,
    Sample, Workspace,
};
