//! `normsys`: a normalisation variation. The sample scales by a factor that is `lo` at
//! alpha = -1, 1 at 0 and `hi` at +1, interpolated by the normsys code; alpha has a unit
//! Gaussian constraint.
use std::ops::Range;

use crate::model::paramset::Requirement;
use crate::spec::ModifierType;

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
