//! `shapesys`: uncorrelated per-bin uncertainty with a Poisson (Barlow-Beeston) constraint.
//! Bin i gets a factor gamma_i with auxiliary count tau_i = (nominal_i / sigma_i)^2 and
//! expected count gamma_i * tau_i. Bins with zero yield or zero uncertainty are fixed at 1
//! (tau = 1), as pyhf does.
use crate::model::paramset::{ParamsetType, Requirement};
use crate::spec::ModifierType;

pub fn requirement(nominal: &[f64], uncertainty: &[f64]) -> Requirement {
    let valid: Vec<bool> =
        nominal.iter().zip(uncertainty).map(|(n, u)| *n > 0.0 && *u > 0.0).collect();
    let factors: Vec<f64> = nominal
        .iter()
        .zip(uncertainty)
        .zip(&valid)
        .map(|((n, u), ok)| if *ok { (n * n) / (u * u) } else { 1.0 })
        .collect();
    let n = factors.len();
    Requirement {
        paramset_type: ParamsetType::ConstrainedByPoisson,
        n_parameters: n,
        is_scalar: false,
        inits: Some(vec![1.0; n]),
        bounds: Some(vec![[1e-10, 10.0]; n]),
        fixed: Some(valid.iter().map(|v| !v).collect()),
        auxdata: Some(factors.clone()),
        factors: Some(factors),
        sigmas: None,
        modifier_type: ModifierType::Shapesys,
    }
}
