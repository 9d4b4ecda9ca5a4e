//! `shapefactor`: one free factor per bin (data-driven shapes). A shapefactor shared by
//! channels maps bin j of each channel to its j-th parameter, as pyhf does; pyhf's parameter
//! count comes from the first sample that declares it.
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
