//! `histosys`: a correlated shape variation. The sample's yields move additively between
//! `lo_data` (alpha = -1), nominal (0) and `hi_data` (+1), interpolated by the histosys code;
//! alpha has a unit Gaussian constraint.
use std::ops::Range;

use crate::model::paramset::Requirement;
use crate::spec::ModifierType;

/// One histosys acting on one (channel, sample).
#[derive(Debug, Clone, PartialEq)]
pub struct HistosysTerm {
    pub param: usize,
    pub sample: usize,
    pub bins: Range<usize>,
    pub lo: Vec<f64>,
    pub nom: Vec<f64>,
    pub hi: Vec<f64>,
}

pub fn requirement() -> Requirement {
    Requirement::unit_gaussian(ModifierType::Histosys)
}
