//! The ranking of the nuisance parameters by their impact on the POI, as cabinetry's
//! `fit.ranking` computes it over pyhf.
//!
//! For each free parameter `k` but the POI, four fits with `k` fixed:
//! - post-fit: at `theta_hat_k +- sigma_hat_k` (the uncertainty from the free fit);
//! - pre-fit: at `theta_hat_k +- Delta_k` (the constraint's width; none for unconstrained
//!   parameters, whose pre-fit impacts are absent);
//!
//! each value clipped into the parameter's bounds. An impact is the POI of the fixed fit minus
//! the POI of the free fit. The fits are profile fits ([`super::profile`]): several starts each,
//! the four fits of one parameter starting each other, the deepest minimum kept. The parameters
//! are ranked by `|post-fit up| + |post-fit down|`, largest first.
use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

use super::profile::{Anchor, Fixes, profile_fits};
use crate::compute::{CompiledModel, Observations};
use crate::infer::minimize::dense_curvature;
use crate::infer::mle::{fit, poi_index};
use crate::infer::{FitOptions, FitResult, InferError, Interrupt};

/// One parameter's impacts on the POI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Impact {
    pub parameter: String,
    /// The free fit's value and uncertainty of the parameter, and its constraint's width.
    pub bestfit: f64,
    pub uncertainty: f64,
    pub prefit_width: f64,
    /// The pull `(bestfit - initial) / prefit_width` and constraint `uncertainty /
    /// prefit_width` of a constrained parameter (as `fitfleet pulls`), for the ranking figure.
    pub pull: Option<f64>,
    pub constraint: Option<f64>,
    /// POI(theta_k fixed at bestfit + uncertainty) - POI_hat.
    pub postfit_up: f64,
    /// POI(theta_k fixed at bestfit - uncertainty) - POI_hat.
    pub postfit_down: f64,
    /// POI(theta_k fixed at bestfit + prefit_width) - POI_hat; `None` for an unconstrained
    /// parameter.
    pub prefit_up: Option<f64>,
    pub prefit_down: Option<f64>,
    /// The values the parameter was fixed at (post-fit up, down, then pre-fit up, down), after
    /// clipping into its bounds.
    pub fixed_at: Vec<f64>,
    /// Twice the NLL of each fixed fit, in the same order.
    pub twice_nll: Vec<f64>,
    /// Whether every fixed fit converged.
    pub converged: bool,
}

impl Impact {
    /// What the ranking sorts by: `|post-fit up| + |post-fit down|` (NaN counts as 0).
    pub fn size(&self) -> f64 {
        let a = |v: f64| if v.is_finite() { v.abs() } else { 0.0 };
        a(self.postfit_up) + a(self.postfit_down)
    }
}

/// The free fit every impact is measured from.
#[derive(Debug, Clone)]
pub struct Reference {
    pub fit: FitResult,
    /// The covariance at the best fit, for models small enough for a dense Hessian.
    pub covariance: Option<DMatrix<f64>>,
}

impl Reference {
    /// The free fit of `data`, with uncertainties and, where the model allows, covariance.
    pub fn fit(model: &CompiledModel, data: &[f64], options: &FitOptions) -> Result<Reference, InferError> {
        if dense_curvature(model) {
            let post = super::postfit(model, data, options)?;
            return Ok(Reference { fit: post.fit, covariance: Some(post.covariance) });
        }
        let fit = fit(model, data, &FitOptions { uncertainties: true, ..*options })?;
        Ok(Reference { fit, covariance: None })
    }

    /// Where the profile fits start from: the best fit and its covariance.
    pub fn anchor(&self) -> Anchor<'_> {
        Anchor { bestfit: &self.fit.bestfit, covariance: self.covariance.as_ref() }
    }
}

/// A ranking: the free fit's POI and the impacts, largest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ranking {
    pub poi: String,
    pub poi_bestfit: f64,
    pub poi_uncertainty: f64,
    /// Twice the NLL of the free fit.
    pub twice_nll: f64,
    pub converged: bool,
    pub impacts: Vec<Impact>,
}

impl Ranking {
    /// The ranking of `impacts` (in any order, e.g. gathered from a fleet's tasks) against the
    /// free fit `reference`.
    pub fn new(model: &CompiledModel, reference: &Reference, mut impacts: Vec<Impact>) -> Result<Ranking, InferError> {
        let poi = poi_index(model)?;
        impacts.sort_by(|a, b| b.size().total_cmp(&a.size()).then_with(|| a.parameter.cmp(&b.parameter)));
        Ok(Ranking {
            poi: model.config().par_names[poi].clone(),
            poi_bestfit: reference.fit.bestfit[poi],
            poi_uncertainty: reference.fit.uncertainties[poi],
            twice_nll: reference.fit.twice_nll,
            converged: reference.fit.converged,
            impacts,
        })
    }
}

/// The parameters a ranking covers, by index: every parameter that is neither the POI nor
/// fixed.
pub fn ranked_parameters(model: &CompiledModel) -> Result<Vec<usize>, InferError> {
    let poi = poi_index(model)?;
    let fixed = &model.config().suggested_fixed;
    Ok((0..model.npars()).filter(|&i| i != poi && !fixed[i]).collect())
}

/// The index of each named parameter, or which name the model does not have.
pub fn parameter_indices(model: &CompiledModel, names: &[String]) -> Result<Vec<usize>, InferError> {
    let c = model.config();
    names
        .iter()
        .map(|n| {
            c.par_names.iter().position(|p| p == n).ok_or_else(|| {
                InferError::Invalid(format!("the model has no parameter {n:?} (names as in `fitfleet inspect`)"))
            })
        })
        .collect()
}

/// The impacts of the parameters `indices` (each neither the POI nor fixed), measured from
/// `reference` on the observations `obs`. `progress(done, total)` counts parameters.
pub fn impacts(
    model: &CompiledModel,
    obs: &Observations,
    reference: &Reference,
    indices: &[usize],
    options: &FitOptions,
    interrupt: &Interrupt,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<Impact>, InferError> {
    let poi = poi_index(model)?;
    let c = model.config();
    for &k in indices {
        if k == poi || c.suggested_fixed.get(k).copied().unwrap_or(true) {
            let name = c.par_names.get(k).map_or("?", String::as_str);
            return Err(InferError::Invalid(format!("{name} is the POI or fixed: it has no impact to rank")));
        }
    }
    let fit = &reference.fit;
    // The values parameter k is fixed at: post-fit up and down, then pre-fit where constrained.
    let fixed_values = |k: usize| {
        let [lo, hi] = c.suggested_bounds[k];
        let (x, s, w) = (fit.bestfit[k], fit.uncertainties[k], c.prefit_widths[k]);
        let mut values = vec![x + s, x - s];
        if w > 0.0 {
            values.extend([x + w, x - w]);
        }
        values.into_iter().map(move |v| v.clamp(lo, hi))
    };
    // Parameters per batch: enough to fill a batch, few enough for a moving progress bar.
    const PER_BATCH: usize = 8;
    let mut out = Vec::with_capacity(indices.len());
    progress(0, indices.len());
    for chunk in indices.chunks(PER_BATCH) {
        // Each parameter's points, and their range among the batch's points.
        let mut points: Vec<Fixes> = Vec::new();
        let mut groups = Vec::with_capacity(chunk.len());
        for &k in chunk {
            let start = points.len();
            points.extend(fixed_values(k).map(|v| vec![(k, v)]));
            groups.push((k, start..points.len()));
        }
        // The fits of one parameter start each other.
        let mut neighbours = vec![Vec::new(); points.len()];
        for (_, range) in &groups {
            for p in range.clone() {
                neighbours[p] = range.clone().filter(|&q| q != p).collect();
            }
        }
        let minima = profile_fits(model, obs, reference.anchor(), &points, &neighbours, options, interrupt)?;
        for (k, range) in groups {
            let ms = &minima[range.clone()];
            let shift = |m: &crate::infer::Minimum| m.x[poi] - fit.bestfit[poi];
            let prefit = ms.len() == 4;
            let width = c.prefit_widths[k];
            out.push(Impact {
                parameter: c.par_names[k].clone(),
                bestfit: fit.bestfit[k],
                uncertainty: fit.uncertainties[k],
                prefit_width: width,
                pull: (width > 0.0).then(|| (fit.bestfit[k] - c.suggested_init[k]) / width),
                constraint: (width > 0.0).then(|| fit.uncertainties[k] / width),
                postfit_up: shift(&ms[0]),
                postfit_down: shift(&ms[1]),
                prefit_up: prefit.then(|| shift(&ms[2])),
                prefit_down: prefit.then(|| shift(&ms[3])),
                fixed_at: points[range].iter().map(|f| f[0].1).collect(),
                twice_nll: model.twice_nll_from(&ms.iter().map(|m| m.nll).collect::<Vec<_>>(), obs),
                converged: ms.iter().all(|m| m.converged),
            });
        }
        progress(out.len(), indices.len());
    }
    Ok(out)
}

/// The whole ranking of `data`: the free fit, then the impacts of every ranked parameter.
pub fn ranking(
    model: &CompiledModel,
    data: &[f64],
    options: &FitOptions,
    interrupt: &Interrupt,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Ranking, InferError> {
    let reference = Reference::fit(model, data, options)?;
    let obs = model.observations(&[data.to_vec()])?;
    let indices = ranked_parameters(model)?;
    let impacts = impacts(model, &obs, &reference, &indices, options, interrupt, progress)?;
    Ranking::new(model, &reference, impacts)
}
