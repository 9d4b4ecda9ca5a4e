//! `shapesys`: an uncorrelated per-bin uncertainty with a Poisson (Barlow-Beeston) constraint
//! (pyhf's `pyhf/modifiers/shapesys.py`).
//!
//! - Data: the absolute uncertainty sigma_i of each bin of the sample.
//! - Parameters: one factor gamma_i per bin, initial value 1, bounds [1e-10, 10], constrained by
//!   an auxiliary count tau_i = (nominal_i / sigma_i)^2 with expected count gamma_i tau_i
//!   (`requirement`). Bins with zero yield or zero uncertainty are fixed at 1 (tau = 1), as pyhf
//!   does. A shapesys belongs to its one sample: its name is never shared.
//! - Validation: one finite uncertainty per bin (`validate`), a name used once
//!   (`check_not_shared`).
//! - Action: multiplicative, bin i by gamma_i (`term`): one of the factors the shared rate kernel
//!   multiplies (see `FactorTerm`). Its Poisson constraint is with the others, in
//!   `compute/constraints.rs`.
use std::ops::Range;

use super::FactorTerm;
use crate::model::paramset::{ParamsetType, Requirement};
use crate::spec::{At, ModifierType, Problems, check_bins};

/// What a shapesys with uncertainties `uncertainty` on a sample of yields `nominal` asks of its
/// parameters.
pub fn requirement(nominal: &[f64], uncertainty: &[f64]) -> Requirement {
    let valid: Vec<bool> = nominal.iter().zip(uncertainty).map(|(n, u)| *n > 0.0 && *u > 0.0).collect();
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

/// What a measurement's parameter configuration may set for a shapesys parameter.
pub const CONFIGURABLE: &[&str] = &["inits", "bounds", "fixed", "auxdata", "factors"];

/// Spec validation: `data` holds one finite uncertainty per bin of the sample.
pub(crate) fn validate(p: &mut Problems, at: At, data: &[f64], nbins: usize) {
    check_bins(p, at, "data", data, nbins);
}

/// Spec validation of a shapesys named `name` at `at` whose name is already used by the shapesys
/// at `first`: pyhf does not share shapesys parameters (each is tied to one sample's yields).
pub(crate) fn check_not_shared(p: &mut Problems, at: At, name: &str, first: At) {
    p.push(
        format!("{}.name", at.path()),
        format!(
            "shapesys {:?} is already used at {}: pyhf does not share shapesys \
             parameters, give each its own name",
            name,
            first.path()
        ),
    );
}

/// The model's own check of the bin count (the spec validation reports it with its path).
pub(crate) fn check_lengths(data: &[f64], nbins: usize) -> Result<(), String> {
    super::check_lengths(ModifierType::Shapesys, data, nbins)
}

/// How it acts: the global bin `b` of `bins` (of sample row `sample`) is scaled by parameter
/// `offset + i`, where `covered[i] == b` lists the bins its parameters cover.
pub(crate) fn term(sample: usize, bins: Range<usize>, offset: usize, covered: &[usize]) -> FactorTerm {
    FactorTerm::per_covered_bin(ModifierType::Shapesys, sample, bins, offset, covered)
}
