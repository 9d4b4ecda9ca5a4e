//! `histosys`: a correlated shape variation. The sample's yields move additively between
//! `lo_data` (alpha = -1), nominal (0) and `hi_data` (+1), interpolated by the histosys code;
//! alpha has a unit Gaussian constraint.
use std::ops::Range;

use crate::model::paramset::Requirement;
use crate::spec::{At, ModifierType, Problems, check_bins};

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

/// What a measurement's parameter configuration may set for a histosys parameter.
pub const CONFIGURABLE: &[&str] = &["inits", "bounds", "fixed", "auxdata"];

/// Spec validation: `lo_data` and `hi_data` hold one finite value per bin of the sample.
pub(crate) fn validate(p: &mut Problems, at: At, lo_data: &[f64], hi_data: &[f64], nbins: usize) {
    check_bins(p, at, "data.lo_data", lo_data, nbins);
    check_bins(p, at, "data.hi_data", hi_data, nbins);
}

/// The model's own check of the bin counts (the spec validation reports them with their paths).
pub(crate) fn check_lengths(lo_data: &[f64], hi_data: &[f64], nbins: usize) -> Result<(), String> {
    if lo_data.len() != nbins || hi_data.len() != nbins {
        return Err(format!(
            "histosys has {} lo_data and {} hi_data values for {} bins",
            lo_data.len(),
            hi_data.len(),
            nbins
        ));
    }
    Ok(())
}
