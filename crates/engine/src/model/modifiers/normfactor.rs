//! `normfactor`: a free normalisation (the signal strength mu is one), initial value 1,
//! bounds [0, 10] unless the measurement says otherwise.
use std::ops::Range;

use super::FactorTerm;
use crate::model::paramset::{ParamsetType, Requirement};
use crate::spec::ModifierType;

pub fn requirement() -> Requirement {
    Requirement {
        paramset_type: ParamsetType::Unconstrained,
        n_parameters: 1,
        is_scalar: true,
        inits: Some(vec![1.0]),
        bounds: Some(vec![[0.0, 10.0]]),
        fixed: Some(vec![false]),
        auxdata: None,
        factors: None,
        sigmas: None,
        modifier_type: ModifierType::Normfactor,
    }
}

/// What a measurement's parameter configuration may set for a normfactor parameter (it is
/// unconstrained: no auxiliary data).
pub const CONFIGURABLE: &[&str] = &["inits", "bounds", "fixed"];

// Spec validation: its data is null, which reading the JSON checks (`spec/modifier_serde.rs`).

/// How it acts: its one parameter scales every bin `bins` of sample row `sample`.
pub(crate) fn term(sample: usize, bins: Range<usize>, param: usize) -> FactorTerm {
    FactorTerm { modifier_type: ModifierType::Normfactor, sample, params: vec![param; bins.len()], bins }
}
