//! `normsys`: a normalisation variation. The sample scales by a factor that is `lo` at
//! alpha = -1, 1 at 0 and `hi` at +1, interpolated by the normsys code; alpha has a unit
//! Gaussian constraint.
use std::ops::Range;

use crate::model::paramset::Requirement;
use crate::spec::{At, ModifierType, Problems, not_finite};

/// One normsys acting on one (channel, sample).
#[derive(Debug, Clone, PartialEq)]
pub struct NormsysTerm {
    pub param: usize,
    pub sample: usize,
    pub bins: Range<usize>,
    pub lo: f64,
    pub hi: f64,
}

pub fn requirement() -> Requirement {
    Requirement::unit_gaussian(ModifierType::Normsys)
}

/// What a measurement's parameter configuration may set for a normsys parameter.
pub const CONFIGURABLE: &[&str] = &["inits", "bounds", "fixed", "auxdata"];

/// Spec validation: `lo` and `hi` are finite numbers.
pub(crate) fn validate(p: &mut Problems, at: At, lo: f64, hi: f64) {
    for (field, v) in [("lo", lo), ("hi", hi)] {
        if !v.is_finite() {
            p.push(format!("{}.data.{field}", at.path()), not_finite(v));
        }
    }
}
