//! One hypothesis test at a POI value: pyhf's `hypotest` with the expected set.
use super::calculators::{AsymptoticCalculator, Hypotests};
use super::minimize::FitOptions;
use super::{Calculator, HypotestResult, InferError, TestStatistic};
use crate::compute::CompiledModel;

/// Everything a hypothesis test needs besides the model, data and POI value.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HypotestOptions {
    pub test_stat: TestStatistic,
    pub calculator: Calculator,
    pub fit: FitOptions,
}

/// CLs at `mu` for `data` (main then auxiliary data).
pub fn hypotest(
    model: &CompiledModel,
    data: &[f64],
    mu: f64,
    options: &HypotestOptions,
) -> Result<HypotestResult, InferError> {
    match options.calculator {
        Calculator::Asymptotics => {
            let calc = AsymptoticCalculator::new(model, data, options.test_stat, &options.fit)?;
            Ok(calc.hypotests(&[mu])?.remove(0))
        }
        Calculator::Toys { ntoys, seed } => {
            super::calculators::toys::hypotest(model, data, mu, options.test_stat, ntoys, seed, &options.fit)
        }
    }
}
