//! `shapefactor`: one free factor per bin (data-driven shapes). A shapefactor shared by
//! channels maps bin j of each channel to its j-th parameter, as pyhf does; pyhf's parameter
//! count comes from the first sample that declares it.
use std::ops::Range;

use super::FactorTerm;
use crate::model::paramset::{ParamsetType, Requirement};
use crate::spec::ModifierType;

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

// Spec validation: its data is null, which reading the JSON checks (`spec/modifier_serde.rs`).

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
