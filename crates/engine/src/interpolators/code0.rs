//! Code 0: piecewise linear. delta = alpha (hi - nom) for alpha > 0, alpha (nom - lo) otherwise.
//!
//! Batched: delta = alpha (d_up + d_dn)/2 + |alpha| (d_up - d_dn)/2.
use candle_core::{Result, Tensor};

use super::Basis;

pub fn delta(alpha: f64, lo: f64, nom: f64, hi: f64) -> f64 {
    if alpha > 0.0 { alpha * (hi - nom) } else { alpha * (nom - lo) }
}

pub fn coefficients(lo: f64, nom: f64, hi: f64) -> [f64; 2] {
    let (up, dn) = (hi - nom, nom - lo);
    [0.5 * (up + dn), 0.5 * (up - dn)]
}

pub fn basis(alpha: &Tensor) -> Result<Basis> {
    let sign = alpha.sign()?;
    Ok(Basis {
        values: [alpha.clone(), alpha.abs()?],
        kink: Some(sign.abs()?.affine(-1.0, 1.0)?),
        derivatives: [alpha.ones_like()?, sign],
    })
}
