//! pyhf JSON: workspaces, patchsets, digests and validation.
//!
//! A HistFactory likelihood is published as a pyhf *workspace* (channels of binned samples
//! with their modifiers, the observed counts, and measurements saying which parameter is the
//! POI and how parameters are set up) and, for a signal grid, a *patchset* of JSON patches
//! adding each signal hypothesis to the background-only workspace.
//!
//! - `load.rs`: read from files (`.json`, `.json.gz`) or bytes; [`LoadedWorkspace`] keeps the
//!   JSON as parsed and pyhf's digest next to the typed [`Workspace`];
//! - `validate.rs`: what pyhf would reject ([`Workspace::validate`]), each problem with its
//!   JSON path (`error.rs`: [`SpecError`]);
//! - `digest.rs`: [`digest()`], pyhf's `pyhf.utils.digest`, byte for byte;
//! - `patchset.rs`: [`PatchSet`], look-up by name or grid values, digest check, patching;
//! - `patch_limits.rs`: applying patch operations within bounds of size and depth;
//! - `sample_patch.rs`: patches that only add samples, applied to the typed workspace;
//! - `patched.rs`: [`load_workspace_with_patch`], all of it in one call;
//! - `ops/`: pyhf's workspace operations (combine, prune, rename, sort) and patch extraction,
//!   on the JSON, with pyhf's results and errors.
mod digest;
mod error;
mod load;
mod modifier_serde;
pub mod ops;
mod patch_limits;
mod patched;
mod patchset;
mod sample_patch;
mod similar;
mod validate;
mod workspace;

pub use digest::{
    DigestAlgorithm, digest, digest_with, hash_hex, python_json_dumps, python_json_dumps_pretty, write_python_float,
};
/// For the validation rules of each modifier type, in `model/modifiers/`.
pub(crate) use error::Problems;
pub use error::{MAX_REPORTED_PROBLEMS, Problem, SpecError, SpecErrorKind};
pub use load::{LoadedWorkspace, MAX_DECOMPRESSED_BYTES, decompress, decompress_at_most, parse_value, read_file};
pub use patch_limits::{COPY_ALLOWANCE, MAX_POINTER_DEPTH};
pub use patched::{PatchedWorkspace, load_workspace_with_patch};
pub use patchset::{
    Digests, PATCHSET_VERSION, Patch, PatchMetadata, PatchSet, PatchSetMetadata, PatchValue, References,
    VALUE_TOLERANCE, apply_operations, check_patched_workspace,
};
pub use validate::WORKSPACE_VERSION;
pub(crate) use validate::{At, check_bins, not_finite};
pub use workspace::{
    Channel, Measurement, MeasurementConfig, Modifier, ModifierKind, ModifierType, Observation, ParameterConfig,
    Sample, Workspace,
};
