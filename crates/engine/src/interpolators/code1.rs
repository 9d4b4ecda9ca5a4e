//! Code 1: piecewise exponential, HistFactory's classic normsys. The factor is hi^alpha for
//! alpha > 0 and lo^(-alpha) otherwise.
//!
//! Batched: ln f = alpha (ln hi - ln lo)/2 + |alpha| (ln hi + ln lo)/2, linear in the basis
//! (alpha, |alpha|), so a model's normsys factors are one matrix product and one exp.
use super::ln_kappa;

pub use super::code0::basis;

pub fn factor(alpha: f64, lo: f64, hi: f64) -> f64 {
    if alpha > 0.0 { hi.powf(alpha) } else { lo.powf(-alpha) }
}

/// Coefficients of (alpha, |alpha|) in ln f.
pub fn coefficients(lo: f64, hi: f64) -> [f64; 2] {
    let (ln_hi, ln_lo) = (ln_kappa(hi), ln_kappa(lo));
    [0.5 * (ln_hi - ln_lo), 0.5 * (ln_hi + ln_lo)]
}
