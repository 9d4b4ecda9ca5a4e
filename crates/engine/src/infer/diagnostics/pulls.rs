//! Pulls and constraints of the nuisance parameters, as cabinetry's `pulls` plot shows them.
use serde::Serialize;

use super::postfit::{PostFit, prefit_widths};
use crate::model::Model;

/// What kind of parameter a row is: pulls are defined for constrained ones only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamKind {
    /// The parameter of interest.
    Poi,
    /// Constrained by an auxiliary measurement (normsys, histosys, lumi, staterror, shapesys).
    Constrained,
    /// Free (normfactor, shapefactor) other than the POI.
    Free,
    /// Fixed in the fit.
    Fixed,
}

/// One parameter's pull.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pull {
    pub name: String,
    pub kind: ParamKind,
    /// The suggested initial value, theta_0 (the constraint's centre for constrained ones).
    pub init: f64,
    /// The constraint's width (0 for free and fixed parameters).
    pub prefit_width: f64,
    pub bestfit: f64,
    pub uncertainty: f64,
    /// `(theta_hat - theta_0) / prefit_width`; `None` unless constrained.
    pub pull: Option<f64>,
    /// `sigma_post / prefit_width`; `None` unless constrained.
    pub constraint: Option<f64>,
}

/// One row per parameter, in pyhf's parameter order.
pub fn pulls(model: &Model, post: &PostFit) -> Vec<Pull> {
    let widths = prefit_widths(model);
    let init = model.suggested_init();
    let fixed = model.suggested_fixed();
    let names = model.par_names();
    (0..names.len())
        .map(|i| {
            let kind = if fixed[i] {
                ParamKind::Fixed
            } else if model.poi_index == Some(i) {
                ParamKind::Poi
            } else if model.paramset_of(i).is_constrained() {
                ParamKind::Constrained
            } else {
                ParamKind::Free
            };
            let (bestfit, uncertainty) = (post.fit.bestfit[i], post.fit.uncertainties[i]);
            let constrained = kind == ParamKind::Constrained && widths[i] > 0.0;
            Pull {
                name: names[i].clone(),
                kind,
                init: init[i],
                prefit_width: widths[i],
                bestfit,
                uncertainty,
                pull: constrained.then(|| (bestfit - init[i]) / widths[i]),
                constraint: constrained.then(|| uncertainty / widths[i]),
            }
        })
        .collect()
}
