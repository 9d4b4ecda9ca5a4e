//! The toy calculator: pseudo-experiments drawn from the model.
use super::super::optimize::FitOptions;
use super::super::{HypotestResult, InferError, TestStatistic};
use crate::compute::CompiledModel;

pub fn hypotest(
    _model: &CompiledModel,
    _data: &[f64],
    _mu: f64,
    _stat: TestStatistic,
    _ntoys: usize,
    _seed: u64,
    _options: &FitOptions,
) -> Result<HypotestResult, InferError> {
    Err(InferError::Invalid("toys are not available yet".into()))
}
