//! `histosys`: a correlated shape variation (pyhf's `pyhf/modifiers/histosys.py`).
//!
//! - Data: `{"lo_data": [...], "hi_data": [...]}` (`HistosysData`), the sample's yields in each
//!   bin with the nuisance parameter alpha at -1 and at +1.
//! - Parameter: one scalar alpha per name, initial value 0, bounds [-5, 5], a unit Gaussian
//!   constraint with auxiliary datum 0 (`requirement`); histosys and normsys may share it. The
//!   measurement may configure what `CONFIGURABLE` lists.
//! - Validation (`validate`): `lo_data` and `hi_data` have one finite value per bin.
//! - Action: additive. The yields move from nominal (alpha = 0) to `lo_data` and `hi_data`,
//!   `rate = nominal + delta(alpha)`, delta interpolated bin by bin by the histosys code
//!   (`interpolators/`: code 0, 2 or 4p). `HistosysTensors` lowers every histosys of the model
//!   into one matrix of coefficients, so that their deltas over a batch of points are one matrix
//!   product; the shared rate kernel (`compute/rates.rs`) adds them to the nominal rates before
//!   the multiplicative modifiers apply.
use std::ops::Range;

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::{distinct, ordered};
use crate::compute::with_transpose;
use crate::interpolators::{self, Basis, combine_basis};
use crate::model::HistosysInterp;
use crate::model::paramset::Requirement;
use crate::spec::{At, ModifierType, Problems, check_bins};

/// A histosys's `data` in the JSON (generic so that it is written from references).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HistosysData<T> {
    pub lo_data: T,
    pub hi_data: T,
}

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

/// What a histosys asks of its parameter.
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

/// The parameters of `terms` have a kink at alpha = 0 under code 0 (piecewise linear).
pub(crate) fn mark_kinked(terms: &[HistosysTerm], code: HistosysInterp, kinked: &mut [bool]) {
    if code == HistosysInterp::Code0 {
        terms.iter().for_each(|t| kinked[t.param] = true);
    }
}

/// The histosys terms lowered for the batched rates: the deltas of every (sample, bin) are
/// `C^T [phi_1(alpha); phi_2(alpha)]`, with the basis functions phi of the interpolation code and
/// one (phi_1, phi_2) row pair of coefficients per parameter.
#[derive(Debug, Clone)]
pub(crate) struct HistosysTensors {
    code: HistosysInterp,
    /// `[2H, S*NB]`: coefficients of (phi_1, phi_2) for each histosys parameter, and its
    /// transpose.
    coeffs: Tensor,
    coeffs_t: Tensor,
}

impl HistosysTensors {
    /// Lowers `terms` onto the mega-sample grid (`nbins` global bins, `nsb` = samples x bins
    /// mega-bins), with the parameter each row of alpha reads (for the model's gather); `None`
    /// when there are none.
    pub(crate) fn new(
        terms: &[HistosysTerm],
        code: HistosysInterp,
        nbins: usize,
        nsb: usize,
        device: &Device,
    ) -> candle_core::Result<Option<(HistosysTensors, Vec<Option<usize>>)>> {
        if terms.is_empty() {
            return Ok(None);
        }
        let params = distinct(terms.iter().map(|t| t.param));
        let h = params.len();
        let mut coeffs = vec![0.0; 2 * h * nsb];
        for t in terms {
            let row = params[&t.param];
            for (j, b) in t.bins.clone().enumerate() {
                let c = interpolators::histosys_coefficients(code, t.lo[j], t.nom[j], t.hi[j]);
                let col = t.sample * nbins + b;
                coeffs[row * nsb + col] += c[0];
                coeffs[(h + row) * nsb + col] += c[1];
            }
        }
        let (coeffs, coeffs_t) = with_transpose(Tensor::from_vec(coeffs, (2 * h, nsb), device)?)?;
        Ok(Some((HistosysTensors { code, coeffs, coeffs_t }, ordered(&params, h))))
    }

    /// How it acts: the additive deltas `[S*NB, B]` at alphas `[H, B]`, and the basis the
    /// reverse pass reuses.
    pub(crate) fn delta(&self, alpha: &Tensor) -> candle_core::Result<(Tensor, Basis)> {
        let basis = interpolators::histosys_basis(self.code, alpha)?;
        let delta = self.coeffs_t.matmul(&Tensor::cat(&basis.values, 0)?)?;
        Ok((delta, basis))
    }

    /// Reverse pass: from d/d delta `[S*NB, R]`, d/d alpha `[H, R]` and the half-jumps at the
    /// kinks (see [`combine_basis`]).
    pub(crate) fn delta_vjp(
        &self,
        d_delta: &Tensor,
        basis: &Basis,
        expand: &dyn Fn(&Tensor) -> candle_core::Result<Tensor>,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        let d_phi = self.coeffs.matmul(d_delta)?;
        combine_basis(&d_phi, basis, expand)
    }

    /// The coefficients `[2H * S*NB]`, row-major: (phi_1, phi_2) rows of each parameter.
    pub(crate) fn coefficient_rows(&self) -> candle_core::Result<Vec<f64>> {
        self.coeffs.flatten_all()?.to_vec1()
    }

    /// Bytes held by the tensors.
    pub(crate) fn memory_bytes(&self) -> usize {
        let size = |t: &Tensor| t.elem_count() * t.dtype().size_in_bytes();
        size(&self.coeffs) + size(&self.coeffs_t)
    }
}
