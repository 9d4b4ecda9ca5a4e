//! The HistFactory model built from a workspace, with pyhf's semantics.
mod settings;

pub use settings::{HistosysInterp, ModelSettings, NormsysInterp};
