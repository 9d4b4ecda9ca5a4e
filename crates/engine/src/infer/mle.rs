//! Maximum-likelihood fits: free, with the POI fixed, and batched; uncertainties from the
//! inverse Hessian at the minimum.
use nalgebra::DMatrix;

use super::minimize::{FitOptions, Minimum, Start, dense_curvature, minimize, structured_curvature};
use super::{FitResult, InferError};
use crate::compute::{CompiledModel, Observations};

/// A free fit to `data` (main then auxiliary data) from the suggested initial values.
pub fn fit(model: &CompiledModel, data: &[f64], options: &FitOptions) -> Result<FitResult, InferError> {
    let obs = model.observations(&[data.to_vec()])?;
    let start = suggested_start(model);
    fit_from(model, &obs, start, options)
}

/// A fit with the parameter of interest fixed at `mu`.
pub fn fixed_poi_fit(
    model: &CompiledModel,
    data: &[f64],
    mu: f64,
    options: &FitOptions,
) -> Result<FitResult, InferError> {
    let obs = model.observations(&[data.to_vec()])?;
    let start = with_poi_fixed(model, suggested_start(model), mu)?;
    fit_from(model, &obs, start, options)
}

/// Fit from `start`, and report the minimum with its uncertainties.
pub fn fit_from(
    model: &CompiledModel,
    obs: &Observations,
    start: Start,
    options: &FitOptions,
) -> Result<FitResult, InferError> {
    let fixed = start.fixed.clone();
    let min = minimize(model, obs, &[start], &model.config().suggested_bounds, options)?.remove(0);
    let uncertainties =
        if options.uncertainties { uncertainties(model, obs, &min.x, &fixed)? } else { vec![f64::NAN; min.x.len()] };
    Ok(result(model, obs, min, uncertainties))
}

/// Many fits at once, one per start (and per dataset of `obs`, or all on its one dataset).
pub fn fit_batch(
    model: &CompiledModel,
    obs: &Observations,
    starts: &[Start],
    options: &FitOptions,
) -> Result<Vec<Minimum>, InferError> {
    Ok(minimize(model, obs, starts, &model.config().suggested_bounds, options)?)
}

/// The suggested initial values and fixed flags of the model.
pub fn suggested_start(model: &CompiledModel) -> Start {
    let c = model.config();
    Start { x: c.suggested_init.clone(), fixed: c.suggested_fixed.clone() }
}

/// `start` with the POI set to `mu` and fixed.
pub fn with_poi_fixed(model: &CompiledModel, mut start: Start, mu: f64) -> Result<Start, InferError> {
    let poi = poi_index(model)?;
    start.x[poi] = mu;
    start.fixed[poi] = true;
    Ok(start)
}

/// The POI's index, or why there is none.
pub fn poi_index(model: &CompiledModel) -> Result<usize, InferError> {
    let c = model.config();
    c.poi_index.ok_or_else(|| {
        InferError::NoPoi(c.poi_note.clone().unwrap_or_else(|| "the model has no parameter of interest".to_string()))
    })
}

fn result(model: &CompiledModel, obs: &Observations, min: Minimum, uncertainties: Vec<f64>) -> FitResult {
    let c = model.config();
    FitResult {
        par_names: c.par_names.clone(),
        twice_nll: model.twice_nll_from(&[min.nll], obs)[0],
        bestfit: min.x,
        uncertainties,
        poi: c.poi_name.clone(),
        converged: min.converged,
        iterations: min.iterations,
        message: min.message,
    }
}

/// Uncertainties sqrt(diag(H^-1)) at `x`, with H the Hessian of the NLL from central
/// differences of the analytic gradient (one batched evaluation of 2P points); for large models
/// ([`dense_curvature`] false) H is the Gauss-Newton matrix, whose inverse's diagonal comes from
/// its structure without a P x P matrix. Fixed parameters get 0.
pub fn uncertainties(
    model: &CompiledModel,
    obs: &Observations,
    x: &[f64],
    fixed: &[bool],
) -> Result<Vec<f64>, InferError> {
    let free: Vec<usize> = (0..x.len()).filter(|&i| !fixed[i]).collect();
    let mut out = vec![0.0; x.len()];
    if free.is_empty() {
        return Ok(out);
    }
    if !dense_curvature(model) {
        let diagonal = structured_curvature(model, obs, x, false)?.inverse_diagonal(&free);
        for &i in &free {
            out[i] = diagonal.as_ref().map_or(f64::NAN, |d| if d[i] > 0.0 { d[i].sqrt() } else { f64::NAN });
        }
        return Ok(out);
    }
    let h = hessian(model, obs, x, &free)?;
    if let Some(inv) = h.clone().cholesky().map(|c| c.inverse()).or_else(|| h.try_inverse()) {
        for (a, &i) in free.iter().enumerate() {
            let v = inv[(a, a)];
            out[i] = if v > 0.0 { v.sqrt() } else { f64::NAN };
        }
    } else {
        for &i in &free {
            out[i] = f64::NAN;
        }
    }
    Ok(out)
}

/// Hessian of the NLL over the `free` parameters at `x`.
pub fn hessian(
    model: &CompiledModel,
    obs: &Observations,
    x: &[f64],
    free: &[usize],
) -> Result<DMatrix<f64>, InferError> {
    // Step per parameter from the curvature scale of the Gauss-Newton diagonal.
    let base = model.nll_grad_jacobian(&model.params(&[x.to_vec()])?, obs)?;
    let (p, nb) = (x.len(), model.nbins());
    let data = obs.row(0);
    let curv = model.constraint_curvature(x, data);
    let steps: Vec<f64> = free
        .iter()
        .map(|&i| {
            let mut d = curv[i];
            for b in 0..nb {
                let j = base.jacobian[b * p + i];
                let l = base.lambda[b];
                if l > 0.0 {
                    d += j * j / l;
                }
            }
            let width = if d > 0.0 { 1.0 / d.sqrt() } else { 1.0 };
            1e-4 * width
        })
        .collect();
    let mut points = Vec::with_capacity(2 * free.len());
    for (k, &i) in free.iter().enumerate() {
        for sign in [1.0, -1.0] {
            let mut y = x.to_vec();
            y[i] += sign * steps[k];
            points.push(y);
        }
    }
    let grads = model.nll_grad(&model.params(&points)?, obs)?.grad;
    let n = free.len();
    let mut h = DMatrix::zeros(n, n);
    for k in 0..n {
        for (a, &j) in free.iter().enumerate() {
            h[(k, a)] = (grads[2 * k * p + j] - grads[(2 * k + 1) * p + j]) / (2.0 * steps[k]);
        }
    }
    Ok((&h + h.transpose()) * 0.5)
}
