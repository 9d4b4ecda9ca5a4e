//! Discovery significance: the q0 test of the background-only hypothesis.
use super::calculators::{AsymptoticCalculator, Hypotests};
use super::minimize::FitOptions;
use super::{InferError, SignificanceResult, TestStatistic, normal};
use crate::compute::CompiledModel;

/// Observed and expected (median, under mu = 1) p0 and Z from asymptotic formulae.
pub fn significance(
    model: &CompiledModel,
    data: &[f64],
    options: &FitOptions,
) -> Result<SignificanceResult, InferError> {
    let calc = AsymptoticCalculator::new(model, data, TestStatistic::Q0, options)?;
    let r = calc.hypotests(&[0.0])?.remove(0);
    let p0_obs = r.clsb_obs;
    let p0_exp = r.cls_exp[2];
    Ok(SignificanceResult {
        q0_obs: r.test_stat_obs,
        p0_obs,
        z_obs: normal::quantile(1.0 - p0_obs),
        p0_exp,
        z_exp: normal::quantile(1.0 - p0_exp),
    })
}
