//! Code 2: quadratic inside |alpha| <= 1, linear outside, exactly as pyhf 0.7 writes it:
//! with a = (hi + lo)/2 - nom and b = (hi - lo)/2,
//! delta = (b + 2a)(alpha - 1) for alpha > 1, a alpha^2 + b alpha for |alpha| <= 1 and
//! (b - 2a)(alpha + 1) for alpha < -1. (pyhf's outer branches lack ROOT's offsets hi - nom and
//! lo - nom, so the delta jumps at |alpha| = 1; fitfleet follows pyhf, the reference.)
//!
//! Batched: delta = phi_1 b + phi_2 a with phi_1 = alpha -+ 1 and phi_2 = +-2(alpha -+ 1)
//! outside, alpha and alpha^2 inside.
use candle_core::{Result, Tensor};

use super::{Basis, above, below};

pub fn delta(alpha: f64, lo: f64, nom: f64, hi: f64) -> f64 {
    let a = 0.5 * (hi + lo) - nom;
    let b = 0.5 * (hi - lo);
    if alpha > 1.0 {
        (b + 2.0 * a) * (alpha - 1.0)
    } else if alpha >= -1.0 {
        a * alpha * alpha + b * alpha
    } else {
        (b - 2.0 * a) * (alpha + 1.0)
    }
}

pub fn coefficients(lo: f64, nom: f64, hi: f64) -> [f64; 2] {
    [0.5 * (hi - lo), 0.5 * (hi + lo) - nom]
}

pub fn basis(alpha: &Tensor) -> Result<Basis> {
    let up = above(alpha, 1.0)?;
    let dn = below(alpha, -1.0)?;
    // phi_1 = alpha - up + dn; phi_2 = alpha^2 inside, 2(alpha - 1) above, -2(alpha + 1) below.
    let phi1 = ((alpha - &up)? + &dn)?;
    let inside = ((up.ones_like()? - &up)? - &dn)?;
    let phi2 = ((alpha.sqr()? * &inside)? + ((alpha.affine(2.0, -2.0)? * &up)? + (alpha.affine(-2.0, -2.0)? * &dn)?)?)?;
    let dphi2 = (((alpha.affine(2.0, 0.0)? * &inside)? + up.affine(2.0, 0.0)?)? + dn.affine(-2.0, 0.0)?)?;
    Ok(Basis { values: [phi1, phi2], derivatives: [alpha.ones_like()?, dphi2], kink: None })
}
