//! Why an inference could not give an answer.
use thiserror::Error;

#[derive(Debug, Error)]
pub enum InferError {
    /// The model has no parameter of interest (and the question needs one).
    #[error("no parameter of interest: {0}")]
    NoPoi(String),
    #[error("{0}")]
    Invalid(String),
    /// A fit the answer depends on did not converge.
    #[error("fit did not converge: {0}")]
    NotConverged(String),
    /// The work was stopped between two batches (see [`super::interrupt`]).
    #[error("interrupted: {0}")]
    Interrupted(super::interrupt::StopReason),
    #[error("tensor computation failed: {0}")]
    Tensor(#[from] candle_core::Error),
}
