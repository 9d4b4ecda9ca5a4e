//! The free fit with its full covariance and correlation matrices, and the parameters' pre-fit
//! widths.
use nalgebra::DMatrix;

use crate::compute::CompiledModel;
use crate::infer::minimize::dense_curvature;
use crate::infer::mle::{fit, hessian, suggested_start};
use crate::infer::{FitOptions, FitResult, InferError};
use crate::model::Model;

/// A free fit and what the diagnostics need of it.
#[derive(Debug, Clone)]
pub struct PostFit {
    /// The best fit; `uncertainties` are `sqrt(diag(covariance))`.
    pub fit: FitResult,
    /// The inverse Hessian of the NLL at the best fit, `P x P` (rows and columns of fixed
    /// parameters are 0).
    pub covariance: DMatrix<f64>,
    /// `covariance_ij / (sigma_i sigma_j)`; 0 for fixed parameters (as pyhf stitches them in).
    pub correlations: DMatrix<f64>,
}

/// Fit `data` from the suggested start and compute the covariance at the minimum. Models too
/// large for dense curvature (over 1,000 parameters) are refused: their covariance is a P x P
/// matrix the engine never forms.
pub fn postfit(model: &CompiledModel, data: &[f64], options: &FitOptions) -> Result<PostFit, InferError> {
    if !dense_curvature(model) {
        return Err(InferError::Invalid(format!(
            "the covariance of a model of {} parameters and {} bins is not computed (at most {} parameters)",
            model.npars(),
            model.nbins(),
            crate::infer::minimize::DENSE_MAX_PARAMS
        )));
    }
    let mut fit = fit(model, data, &FitOptions { uncertainties: false, ..*options })?;
    let obs = model.observations(&[data.to_vec()])?;
    let fixed = suggested_start(model).fixed;
    let covariance = covariance(model, &obs, &fit.bestfit, &fixed)?;
    fit.uncertainties = (0..covariance.nrows()).map(|i| checked_sqrt(covariance[(i, i)])).collect();
    for (i, &f) in fixed.iter().enumerate() {
        if f {
            fit.uncertainties[i] = 0.0;
        }
    }
    let correlations = correlation_matrix(&covariance, &fit.uncertainties);
    Ok(PostFit { fit, covariance, correlations })
}

fn checked_sqrt(v: f64) -> f64 {
    if v > 0.0 { v.sqrt() } else { f64::NAN }
}

/// The covariance matrix `H^-1` over the free parameters at `x`, embedded in `P x P` with zeros
/// for the fixed ones; NaN everywhere when the Hessian is singular.
pub fn covariance(
    model: &CompiledModel,
    obs: &crate::compute::Observations,
    x: &[f64],
    fixed: &[bool],
) -> Result<DMatrix<f64>, InferError> {
    let p = x.len();
    let free: Vec<usize> = (0..p).filter(|&i| !fixed[i]).collect();
    let mut out = DMatrix::zeros(p, p);
    if free.is_empty() {
        return Ok(out);
    }
    let h = hessian(model, obs, x, &free)?;
    let inverse = h.clone().cholesky().map(|c| c.inverse()).or_else(|| h.try_inverse());
    match inverse {
        Some(inv) => {
            for (a, &i) in free.iter().enumerate() {
                for (b, &j) in free.iter().enumerate() {
                    out[(i, j)] = inv[(a, b)];
                }
            }
        }
        None => {
            tracing::warn!("the Hessian at the best fit is singular: no covariance");
            for &i in &free {
                for &j in &free {
                    out[(i, j)] = f64::NAN;
                }
            }
        }
    }
    Ok(out)
}

fn correlation_matrix(cov: &DMatrix<f64>, sigma: &[f64]) -> DMatrix<f64> {
    DMatrix::from_fn(cov.nrows(), cov.ncols(), |i, j| {
        if sigma[i] > 0.0 && sigma[j] > 0.0 {
            if i == j { 1.0 } else { cov[(i, j)] / (sigma[i] * sigma[j]) }
        } else {
            0.0
        }
    })
}

/// The pre-fit width of each parameter: [`Model::prefit_widths`].
pub fn prefit_widths(model: &Model) -> Vec<f64> {
    model.prefit_widths()
}
