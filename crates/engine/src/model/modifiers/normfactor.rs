//! `normfactor`: a free normalisation (pyhf's `pyhf/modifiers/normfactor.py`); the signal
//! strength mu is one.
//!
//! - Data: null.
//! - Parameter: one unconstrained scalar, initial value 1, bounds [0, 10] unless the measurement
//!   says otherwise (`requirement`).
//! - Validation: nothing beyond its null data, which reading the JSON checks.
//! - Action: multiplicative, its parameter scales every bin of the sample (`term`): one of the
//!   factors the shared rate kernel multiplies (see `FactorTerm`).
use std::ops::Range;

use super::FactorTerm;
use crate::model::paramset::{ParamsetType, Requirement};
use crate::spec::ModifierType;

/// What a normfactor asks of its parameter.
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

/// How it acts: its one parameter scales every bin `bins` of sample row `sample`.
pub(crate) fn term(sample: usize, bins: Range<usize>, param: usize) -> FactorTerm {
    FactorTerm { modifier_type: ModifierType::Normfactor, sample, params: vec![param; bins.len()], bins }
}
