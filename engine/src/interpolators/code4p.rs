//! Code 4p: a polynomial inside |alpha| <= 1 joining linear extrapolations outside, pyhf
//! 0.7's default for histosys. With d_up = hi - nom, d_dn = nom - lo,
//! S = (d_up + d_dn)/2 and A = (d_up - d_dn)/16:
//! delta = alpha S + alpha^2 (15 + alpha^2 (3 alpha^2 - 10)) A inside,
//! alpha d_up for alpha > 1 and alpha d_dn for alpha < -1.
//!
//! Batched: delta = phi_1 S + phi_2 A with phi_1 = alpha and phi_2 the bracket inside, 8|alpha|
//! outside (alpha d_up = alpha (S + 8A)).
use candle_core::{Result, Tensor};

use super::{above, below, Basis};

pub fn delta(alpha: f64, lo: f64, nom: f64, hi: f64) -> f64 {
    let (up, dn) = (hi - nom, nom - lo);
    if alpha > 1.0 {
        alpha * up
    } else if alpha < -1.0 {
        alpha * dn
    } else {
        let s = 0.5 * (up + dn);
        let a = 0.0625 * (up - dn);
        let a2 = alpha * alpha;
        alpha * s + a2 * (a2 * (a2 * 3.0 - 10.0) + 15.0) * a
    }
}

pub fn coefficients(lo: f64, nom: f64, hi: f64) -> [f64; 2] {
    let (up, dn) = (hi - nom, nom - lo);
    [0.5 * (up + dn), 0.0625 * (up - dn)]
}

pub fn basis(alpha: &Tensor) -> Result<Basis> {
    let outside = (above(alpha, 1.0)? + below(alpha, -1.0)?)?;
    let inside = (outside.ones_like()? - &outside)?;
    let a2 = alpha.sqr()?;
    // 15 a^2 - 10 a^4 + 3 a^6 and its derivative 30 a - 40 a^3 + 18 a^5.
    let poly = (&a2 * a2.affine(3.0, -10.0)?.mul(&a2)?.affine(1.0, 15.0)?)?;
    let dpoly = (alpha * (a2.affine(18.0, -40.0)? * &a2)?.affine(1.0, 30.0)?)?;
    let phi2 = ((poly * &inside)? + (alpha.abs()?.affine(8.0, 0.0)? * &outside)?)?;
    let dphi2 = ((dpoly * &inside)? + (alpha.sign()?.affine(8.0, 0.0)? * &outside)?)?;
    Ok(Basis { values: [alpha.clone(), phi2], derivatives: [alpha.ones_like()?, dphi2] })
}
