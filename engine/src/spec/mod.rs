//! pyhf JSON: workspaces, patchsets, digests and validation.
mod digest;
mod workspace;

pub use digest::{DigestAlgorithm, digest, digest_with, python_json_dumps, write_python_float};
pub use workspace::{
    Channel, Measurement, MeasurementConfig, Modifier, ModifierKind, Observation, ParameterConfig,
    Sample, Workspace,
};
