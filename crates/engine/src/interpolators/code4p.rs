//! Code 4p: a polynomial inside |alpha| <= 1 joining linear extrapolations outside, pyhf
//! 0.7's default for histosys. With d_up = hi - nom, d_dn = nom - lo,
//! S = (d_up + d_dn)/2 and A = (d_up - d_dn)/16:
//! delta = alpha S + alpha^2 (15 + alpha^2 (3 alpha^2 - 10)) A inside,
//! alpha d_up for alpha > 1 and alpha d_dn for alpha < -1.
//!
//! Batched: delta = phi_1 S + phi_2 A with phi_1 = alpha and phi_2 the bracket inside, 8|alpha|
//! outside (alpha d_up = alpha (S + 8A)).
use candle_core::{Result, Tensor};

use super::Basis;

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
    // The bracket's linear continuation outside |alpha| <= 1 has the same value (8) and slope
    // (+-8) at the joins, so phi_2 = poly(c) + 8 (|alpha| - |c|) with c = clamp(alpha, -1, 1)
    // and phi_2' = poly'(c), without masks.
    let c = alpha.clamp(-1.0, 1.0)?;
    let c2 = c.sqr()?;
    // poly = c^2 (15 + c^2 (3 c^2 - 10)), poly' = c (30 + c^2 (18 c^2 - 40)).
    let poly = (&c2 * (&c2 * c2.affine(3.0, -10.0)?)?.affine(1.0, 15.0)?)?;
    let dpoly = (&c * (&c2 * c2.affine(18.0, -40.0)?)?.affine(1.0, 30.0)?)?;
    let beyond = (alpha.abs()? - c.abs()?)?.affine(8.0, 0.0)?;
    Ok(Basis { values: [alpha.clone(), (poly + beyond)?], derivatives: [alpha.ones_like()?, dpoly], kink: None })
}
