//! Why a workspace does not make a model.
use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum ModelError {
    #[error("measurements: no measurement named {name:?} (the workspace has {available})")]
    UnknownMeasurement { name: String, available: String },
    #[error("measurements: the workspace defines no measurement")]
    NoMeasurement,
    #[error(
        "parameter {parameter:?}: modifiers of types [{types}] share the name but disagree on \
         {attribute}; use distinct modifier names"
    )]
    NameReuse { parameter: String, attribute: String, types: String },
    #[error("parameter {parameter:?}: {reason}")]
    Config { parameter: String, reason: String },
    #[error("channels[{channel}].samples[{sample}].modifiers[{modifier}]: {reason}")]
    Modifier { channel: usize, sample: usize, modifier: usize, reason: String },
    #[error("observations: {0}")]
    Observation(String),
    #[error("parameter of interest {poi:?}: {reason}")]
    Poi { poi: String, reason: String },
    #[error("the model has no parameters")]
    NoParameters,
}
