//! `staterror`: the statistical uncertainty of the simulated samples, one Gaussian-constrained
//! factor per bin shared by every sample that declares it. The relative width of bin b is
//! sqrt(sum_s sigma_sb^2) / sum_s nominal_sb over those samples; bins with zero width are fixed.
use crate::model::paramset::{ParamsetType, Requirement};
use crate::spec::{At, ModifierType, Problems, check_bins};

/// `uncertainties[s]` and `nominals[s]` are global-bin rows of each sample declaring this
/// staterror (zero outside its channels); `mask` the global bins it covers.
pub fn requirement(nominals: &[Vec<f64>], uncertainties: &[Vec<f64>], mask: &[bool]) -> Requirement {
    let nbins = mask.len();
    let total: Vec<f64> =
        (0..nbins).map(|b| nominals.iter().map(|row| row[b]).sum::<f64>()).collect();
    let relative: Vec<f64> = (0..nbins)
        .map(|b| {
            uncertainties
                .iter()
                .map(|row| if total[b] > 0.0 { (row[b] / total[b]).powi(2) } else { 0.0 })
                .sum::<f64>()
                .sqrt()
        })
        .collect();
    let mut sigmas: Vec<f64> =
        relative.iter().zip(mask).filter(|(_, m)| **m).map(|(r, _)| *r).collect();
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
