//! Interpolation codes, one file each, as pyhf's `interpolators`.
//!
//! Each file holds the scalar formula exactly as pyhf writes it (the reference the tests
//! check against) and its batched form on tensors. The batched forms write every code as a
//! sum of two basis functions of alpha times per-bin coefficients,
//! `delta = phi_1(alpha) c_1 + phi_2(alpha) c_2` (histosys, additive) or
//! `ln f = phi_1(alpha) c_1 + phi_2(alpha) c_2` (normsys code1), so that a whole model's
//! modifiers apply as one matrix product over a batch of parameter vectors. Code4's polynomial
//! inside |alpha| < 1 is evaluated per (modifier, sample) instead.
pub mod code0;
pub mod code1;
pub mod code2;
pub mod code4;
pub mod code4p;

use candle_core::{Result, Tensor};

use crate::model::HistosysInterp;

/// Two basis functions of alpha and their derivatives, elementwise over a tensor of alphas.
pub struct Basis {
    pub values: [Tensor; 2],
    pub derivatives: [Tensor; 2],
    /// For bases whose phi_2 = |alpha| has a kink at 0: 1 where alpha is exactly 0, else 0.
    /// There `derivatives[1]` is 0 (the mean of the one-sided slopes -1 and +1).
    pub kink: Option<Tensor>,
}

/// The coefficients (c_1, c_2) of a histosys bin for `code`.
pub fn histosys_coefficients(code: HistosysInterp, lo: f64, nom: f64, hi: f64) -> [f64; 2] {
    match code {
        HistosysInterp::Code0 => code0::coefficients(lo, nom, hi),
        HistosysInterp::Code2 => code2::coefficients(lo, nom, hi),
        HistosysInterp::Code4p => code4p::coefficients(lo, nom, hi),
    }
}

/// The basis functions of `code` at `alpha`.
pub fn histosys_basis(code: HistosysInterp, alpha: &Tensor) -> Result<Basis> {
    match code {
        HistosysInterp::Code0 => code0::basis(alpha),
        HistosysInterp::Code2 => code2::basis(alpha),
        HistosysInterp::Code4p => code4p::basis(alpha),
    }
}

/// The scalar histosys delta of `code`, as pyhf computes it.
pub fn histosys_delta(code: HistosysInterp, alpha: f64, lo: f64, nom: f64, hi: f64) -> f64 {
    match code {
        HistosysInterp::Code0 => code0::delta(alpha, lo, nom, hi),
        HistosysInterp::Code2 => code2::delta(alpha, lo, nom, hi),
        HistosysInterp::Code4p => code4p::delta(alpha, lo, nom, hi),
    }
}

/// d/d alpha from d/d(phi_1, phi_2): `d_phi` `[2M, R]` times the basis derivatives; and the
/// half-jump d/d phi_2 where phi_2 has a kink at alpha (zero elsewhere). `expand` repeats the
/// basis's columns (one per point) for the `R` upstream columns.
pub(crate) fn combine_basis(
    d_phi: &Tensor,
    basis: &Basis,
    expand: &dyn Fn(&Tensor) -> Result<Tensor>,
) -> Result<(Tensor, Tensor)> {
    let m = d_phi.dim(0)? / 2;
    let first = d_phi.narrow(0, 0, m)?.broadcast_mul(&expand(&basis.derivatives[0])?)?;
    let d_phi2 = d_phi.narrow(0, m, m)?;
    let second = d_phi2.broadcast_mul(&expand(&basis.derivatives[1])?)?;
    let kink = match &basis.kink {
        Some(at_kink) => d_phi2.broadcast_mul(&expand(at_kink)?)?,
        None => d_phi2.zeros_like()?,
    };
    Ok(((first + second)?, kink))
}

/// 1 where `alpha` > `threshold` (as f64), else 0.
fn above(alpha: &Tensor, threshold: f64) -> Result<Tensor> {
    alpha.gt(threshold)?.to_dtype(alpha.dtype())
}

/// 1 where `alpha` < `threshold`, else 0.
fn below(alpha: &Tensor, threshold: f64) -> Result<Tensor> {
    alpha.lt(threshold)?.to_dtype(alpha.dtype())
}

/// The natural log of a normsys factor, bounded below so that a factor of 0 gives a rate of
/// (practically) 0 instead of NaN at alpha = 0.
pub(crate) fn ln_kappa(kappa: f64) -> f64 {
    kappa.max(0.0).ln().max(-700.0)
}
