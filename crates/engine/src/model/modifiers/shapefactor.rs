//! `shapefactor`: one free factor per bin, for data-driven shapes (pyhf's
//! `pyhf/modifiers/shapefactor.py`).
//!
//! - Data: null.
//! - Parameters: one unconstrained factor per bin, initial value 1, bounds [0, 10]
//!   (`requirement`); pyhf counts them from the first sample that declares it.
//! - Validation: nothing beyond its null data, which reading the JSON checks.
//! - Action: multiplicative, bin j of the channel by the j-th factor, also when channels share
//!   it, as pyhf does (`term`): one of the factors the shared rate kernel multiplies (see
//!   `FactorTerm`).
use std::ops::Range;

use super::FactorTerm;
use crate::model::paramset::{ParamsetType, Requirement};
use crate::spec::ModifierType;

/// What a shapefactor on a channel of `nbins` bins asks of its parameters.
pub fn requirement(nbins: usize) -> Requirement {
    Requirement {
        paramset_type: ParamsetType::Unconstrained,
        n_parameters: nbins,
        is_scalar: false,
        inits: Some(vec![1.0; nbins]),
        bounds: Some(vec![[0.0, 10.0]; nbins]),
        fixed: Some(vec![false; nbins]),
        auxdata: None,
        factors: None,
        sigmas: None,
        modifier_type: ModifierType::Shapefactor,
    }
}

/// What a measurement's parameter configuration may set for a shapefactor parameter (it is
/// unconstrained: no auxiliary data).
pub const CONFIGURABLE: &[&str] = &["inits", "bounds", "fixed"];

/// How it acts: bin j of the channel (global bins `bins` of sample row `sample`) is scaled by
/// component j of the shapefactor, which has `n` components from its parameter `offset`. pyhf
/// maps bin j to parameter 0 of the model when the channel has more bins than the shapefactor
/// has components.
pub(crate) fn term(sample: usize, bins: Range<usize>, offset: usize, n: usize) -> FactorTerm {
    FactorTerm {
        modifier_type: ModifierType::Shapefactor,
        sample,
        params: (0..bins.len()).map(|j| if j < n { offset + j } else { 0 }).collect(),
        bins,
    }
}
