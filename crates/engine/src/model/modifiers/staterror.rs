//! `staterror`: the statistical uncertainty of the simulated samples (pyhf's
//! `pyhf/modifiers/staterror.py`).
//!
//! - Data: the absolute uncertainty sigma_sb of each bin of the sample.
//! - Parameters: one Gaussian-constrained factor per bin, shared by every sample that declares
//!   it, initial value 1, bounds [1e-10, 10]. The relative width of bin b is
//!   sqrt(sum_s sigma_sb^2) / sum_s nominal_sb over those samples; bins with zero width are fixed
//!   (`requirement_of`, `requirement`).
//! - Validation: one finite uncertainty per bin (`validate`).
//! - Action: multiplicative, each bin by its factor (`term`): one of the factors the shared rate
//!   kernel multiplies (see `FactorTerm`). Its Gaussian constraint is with the others, in
//!   `compute/constraints.rs`.
use std::ops::Range;

use super::FactorTerm;
use crate::model::ModelError;
use crate::model::paramset::{ParamsetType, Requirement};
use crate::spec::{At, ModifierType, Problems, check_bins};

/// One declaration of a staterror: on sample row `sample`, over the global bins `bins`, with the
/// absolute uncertainties `data`.
pub(crate) struct Declaration<'a> {
    pub sample: usize,
    pub bins: Range<usize>,
    pub data: &'a [f64],
}

/// The requirement of the staterror `name` from all its `declarations` (in pyhf's order), and
/// the global bins its parameters cover. Every sample declaring it must cover the same bins.
/// `nominal` is the model's mega-sample rows, of `nbins_total` global bins.
pub(crate) fn requirement_of(
    name: &str,
    declarations: &[Declaration],
    nominal: &[Vec<f64>],
    nbins_total: usize,
) -> Result<(Requirement, Vec<usize>), ModelError> {
    let mut nominals = Vec::new();
    let mut uncertainties = Vec::new();
    let mut mask: Option<Vec<bool>> = None;
    for (s, nominal_row) in nominal.iter().enumerate() {
        let mut unc = vec![0.0; nbins_total];
        let mut this_mask = vec![false; nbins_total];
        for d in declarations.iter().filter(|d| d.sample == s) {
            unc[d.bins.clone()].copy_from_slice(d.data);
            this_mask[d.bins.clone()].iter_mut().for_each(|m| *m = true);
        }
        if this_mask.iter().any(|m| *m) {
            nominals.push(nominal_row.clone());
            match &mask {
                None => mask = Some(this_mask),
                Some(m) if *m != this_mask => {
                    return Err(ModelError::Config {
                        parameter: name.to_string(),
                        reason: "staterror declared on different bins by different samples".into(),
                    });
                }
                Some(_) => {}
            }
        }
        uncertainties.push(unc);
    }
    let mask = mask.expect("a declared staterror covers some bins");
    let req = requirement(&nominals, &uncertainties, &mask);
    Ok((req, (0..nbins_total).filter(|b| mask[*b]).collect()))
}

/// `uncertainties[s]` and `nominals[s]` are global-bin rows of each sample declaring this
/// staterror (zero outside its channels); `mask` the global bins it covers.
pub fn requirement(nominals: &[Vec<f64>], uncertainties: &[Vec<f64>], mask: &[bool]) -> Requirement {
    let nbins = mask.len();
    let total: Vec<f64> = (0..nbins).map(|b| nominals.iter().map(|row| row[b]).sum::<f64>()).collect();
    let relative: Vec<f64> = (0..nbins)
        .map(|b| {
            uncertainties
                .iter()
                .map(|row| if total[b] > 0.0 { (row[b] / total[b]).powi(2) } else { 0.0 })
                .sum::<f64>()
                .sqrt()
        })
        .collect();
    let mut sigmas: Vec<f64> = relative.iter().zip(mask).filter(|(_, m)| **m).map(|(r, _)| *r).collect();
    let fixed: Vec<bool> = sigmas.iter().map(|s| *s == 0.0).collect();
    for (s, f) in sigmas.iter_mut().zip(&fixed) {
        if *f {
            *s = 1.0;
        }
    }
    let n = sigmas.len();
    Requirement {
        paramset_type: ParamsetType::ConstrainedByNormal,
        n_parameters: n,
        is_scalar: false,
        inits: Some(vec![1.0; n]),
        bounds: Some(vec![[1e-10, 10.0]; n]),
        fixed: Some(fixed),
        auxdata: Some(vec![1.0; n]),
        factors: None,
        sigmas: Some(sigmas),
        modifier_type: ModifierType::Staterror,
    }
}

/// What a measurement's parameter configuration may set for a staterror parameter.
pub const CONFIGURABLE: &[&str] = &["inits", "bounds", "fixed", "auxdata", "sigmas"];

/// Spec validation: `data` holds one finite uncertainty per bin of the sample.
pub(crate) fn validate(p: &mut Problems, at: At, data: &[f64], nbins: usize) {
    check_bins(p, at, "data", data, nbins);
}

/// The model's own check of the bin count (the spec validation reports it with its path).
pub(crate) fn check_lengths(data: &[f64], nbins: usize) -> Result<(), String> {
    super::check_lengths(ModifierType::Staterror, data, nbins)
}

/// How it acts: the global bin `b` of `bins` (of sample row `sample`) is scaled by parameter
/// `offset + i`, where `covered[i] == b` lists the bins its parameters cover.
pub(crate) fn term(sample: usize, bins: Range<usize>, offset: usize, covered: &[usize]) -> FactorTerm {
    FactorTerm::per_covered_bin(ModifierType::Staterror, sample, bins, offset, covered)
}
