//! Fits with some parameters fixed at given values: the points of a profile likelihood, of
//! which the ranking (impacts) and the likelihood scans are made.
//!
//! A HistFactory likelihood with several free normalisations can have more than one basin once
//! a parameter is pushed away from its best fit, and a local minimiser stops in the basin of
//! its start. pyhf starts every fixed fit from the suggested initial values; one start is not
//! enough to be sure of the deepest minimum (on the 1Lbb pallet, `mu_ST` fixed at its post-fit
//! +1 sigma, the suggested start and the best-fit start stop 0.018 above the minimum that pyhf
//! finds). Each point is therefore fitted from several starts, all in one batch:
//! 1. the suggested initial values with the point's fixed values (pyhf's start);
//! 2. the best fit with the point's fixed values;
//! 3. the best fit moved along the linear response of the other parameters to the fixed ones,
//!    `x = x_hat + C[:,K] C[K,K]^-1 (v - x_hat[K])` with C the covariance at the best fit: the
//!    profile's first-order path, which lands near the minimum where the shift is large;
//!
//! then from the minima of the point's neighbours (the other fits of one parameter, the
//! adjacent points of a scan) with the point's values, for as long as that lowers some point.
//! The deepest converged minimum is kept (the deepest of all when none converged).
use nalgebra::DMatrix;

use crate::compute::{CompiledModel, Observations};
use crate::infer::minimize::{FitOptions, Minimum, Start, minimize};
use crate::infer::{InferError, Interrupt};

/// Where the starts are made from: the free fit and, when the model is small enough for it,
/// its covariance.
#[derive(Debug, Clone, Copy)]
pub struct Anchor<'a> {
    pub bestfit: &'a [f64],
    pub covariance: Option<&'a DMatrix<f64>>,
}

/// One point of a profile: which parameters are fixed, at which values.
pub type Fixes = Vec<(usize, f64)>;

/// Most rounds of starts from neighbours.
const NEIGHBOUR_ROUNDS: usize = 3;
/// A neighbour's start replaces a minimum only when it is deeper by more than this (NLL).
const DEEPER: f64 = 1e-7;
/// Fits evaluated together: a 100 x 100 scan has 40,000 starts from neighbours in a round, which
/// are fitted this many at a time so that memory does not grow with the grid.
const FITS_PER_BATCH: usize = 96;

/// Fit every point of `points`, each from the starts above; `neighbours[i]` lists the points
/// whose minima also start point `i`. Every fixed value must be within its parameter's bounds.
/// The interrupt is checked between batches.
pub fn profile_fits(
    model: &CompiledModel,
    obs: &Observations,
    anchor: Anchor<'_>,
    points: &[Fixes],
    neighbours: &[Vec<usize>],
    options: &FitOptions,
    interrupt: &Interrupt,
) -> Result<Vec<Minimum>, InferError> {
    let best = first_fits(model, obs, anchor, points, options, interrupt)?;
    refine(model, obs, points, neighbours, best, options, interrupt)
}

/// The first round of [`profile_fits`]: each point from its own three starts, the deepest kept.
pub fn first_fits(
    model: &CompiledModel,
    obs: &Observations,
    anchor: Anchor<'_>,
    points: &[Fixes],
    options: &FitOptions,
    interrupt: &Interrupt,
) -> Result<Vec<Minimum>, InferError> {
    let c = model.config();
    let bounds = &c.suggested_bounds;
    for fixes in points {
        for &(i, v) in fixes {
            let [lo, hi] = *bounds.get(i).ok_or_else(|| InferError::Invalid(format!("no parameter {i}")))?;
            if !(v >= lo && v <= hi) {
                return Err(InferError::Invalid(format!(
                    "{} = {v} is outside its bounds [{lo}, {hi}]",
                    c.par_names[i]
                )));
            }
        }
    }
    interrupt.check()?;
    let mut starts = Vec::with_capacity(points.len() * 3);
    let mut owner = Vec::with_capacity(points.len() * 3);
    for (p, fixes) in points.iter().enumerate() {
        let suggested = Start { x: c.suggested_init.clone(), fixed: c.suggested_fixed.clone() };
        let best = Start { x: anchor.bestfit.to_vec(), fixed: c.suggested_fixed.clone() };
        starts.push(fixed_at(suggested, fixes));
        starts.push(fixed_at(best, fixes));
        owner.extend([p, p]);
        if let Some(x) = anchor.covariance.and_then(|cov| linear_response(anchor.bestfit, cov, fixes, bounds)) {
            starts.push(fixed_at(Start { x, fixed: c.suggested_fixed.clone() }, fixes));
            owner.push(p);
        }
    }
    let mut best: Vec<Option<Minimum>> = vec![None; points.len()];
    for (starts, owner) in starts.chunks(FITS_PER_BATCH).zip(owner.chunks(FITS_PER_BATCH)) {
        interrupt.check()?;
        let minima = minimize(model, obs, starts, bounds, options)?;
        for (m, &p) in minima.into_iter().zip(owner) {
            if better(&m, best[p].as_ref(), 0.0) {
                best[p] = Some(m);
            }
        }
    }
    Ok(best.into_iter().map(|m| m.expect("every point has starts")).collect())
}

/// Start each point again from its neighbours' minima (with its own fixed values), keeping a
/// minimum that is deeper, for as long as some point gets deeper (at most a few rounds).
pub fn refine(
    model: &CompiledModel,
    obs: &Observations,
    points: &[Fixes],
    neighbours: &[Vec<usize>],
    mut best: Vec<Minimum>,
    options: &FitOptions,
    interrupt: &Interrupt,
) -> Result<Vec<Minimum>, InferError> {
    let c = model.config();
    for _ in 0..NEIGHBOUR_ROUNDS {
        interrupt.check()?;
        let mut starts = Vec::new();
        let mut owner = Vec::new();
        for (p, fixes) in points.iter().enumerate() {
            for &q in neighbours.get(p).map_or(&[][..], |n| n.as_slice()) {
                if q != p && q < best.len() {
                    let from = Start { x: best[q].x.clone(), fixed: c.suggested_fixed.clone() };
                    starts.push(fixed_at(from, fixes));
                    owner.push(p);
                }
            }
        }
        if starts.is_empty() {
            break;
        }
        let mut improved = false;
        for (starts, owner) in starts.chunks(FITS_PER_BATCH).zip(owner.chunks(FITS_PER_BATCH)) {
            interrupt.check()?;
            let minima = minimize(model, obs, starts, &c.suggested_bounds, options)?;
            for (m, &p) in minima.into_iter().zip(owner) {
                if better(&m, Some(&best[p]), DEEPER) {
                    best[p] = m;
                    improved = true;
                }
            }
        }
        if !improved {
            break;
        }
    }
    Ok(best)
}

/// `start` with the parameters of `fixes` set and fixed.
fn fixed_at(mut start: Start, fixes: &Fixes) -> Start {
    for &(i, v) in fixes {
        start.x[i] = v;
        start.fixed[i] = true;
    }
    start
}

/// The best fit moved along the covariance's linear response to the fixed values, clipped
/// into the bounds; `None` when the covariance of the fixed parameters is not invertible.
fn linear_response(bestfit: &[f64], cov: &DMatrix<f64>, fixes: &Fixes, bounds: &[[f64; 2]]) -> Option<Vec<f64>> {
    let k = fixes.len();
    let ckk = DMatrix::from_fn(k, k, |a, b| cov[(fixes[a].0, fixes[b].0)]);
    if ckk.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let shift = nalgebra::DVector::from_fn(k, |a, _| fixes[a].1 - bestfit[fixes[a].0]);
    let w = ckk.try_inverse()? * shift;
    let mut x = bestfit.to_vec();
    for (i, xi) in x.iter_mut().enumerate() {
        let dx: f64 = (0..k).map(|a| cov[(i, fixes[a].0)] * w[a]).sum();
        if dx.is_finite() {
            let [lo, hi] = bounds[i];
            // Strictly inside: a start on a bound of a Poisson constraint is a start at zero.
            let margin = 1e-6 * (hi - lo).abs().min(1.0);
            *xi = (*xi + dx).clamp(lo + margin, hi - margin);
        }
    }
    Some(x)
}

/// Whether `m` is better than `old`: converged over not, then lower by more than `by`.
fn better(m: &Minimum, old: Option<&Minimum>, by: f64) -> bool {
    match old {
        None => true,
        Some(old) => match (m.converged, old.converged) {
            (true, false) => true,
            (false, true) => false,
            _ => m.nll.is_finite() && (!old.nll.is_finite() || m.nll < old.nll - by),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimum(nll: f64, converged: bool) -> Minimum {
        Minimum { x: vec![nll], nll, converged, iterations: 1, evaluations: 1, message: String::new() }
    }

    #[test]
    fn converged_and_deeper_minima_are_better() {
        assert!(better(&minimum(5.0, false), None, 0.0));
        assert!(better(&minimum(7.0, true), Some(&minimum(5.0, false)), 0.0), "converged beats not converged");
        assert!(!better(&minimum(1.0, false), Some(&minimum(7.0, true)), 0.0));
        assert!(better(&minimum(6.0, true), Some(&minimum(7.0, true)), 0.0));
        assert!(!better(&minimum(6.0 - 1e-9, true), Some(&minimum(6.0, true)), 1e-7), "not deeper by enough");
        assert!(!better(&minimum(f64::NAN, true), Some(&minimum(6.0, true)), 0.0));
    }

    #[test]
    fn the_linear_response_follows_the_correlation() {
        // Two parameters with correlation 0.5 and widths 1 and 2: fixing the first at +1
        // moves the second by C01/C00 = 1.
        let cov = DMatrix::from_row_slice(2, 2, &[1.0, 1.0, 1.0, 4.0]);
        let x = linear_response(&[0.0, 0.0], &cov, &vec![(0, 1.0)], &[[-5.0, 5.0], [-5.0, 5.0]]).unwrap();
        assert!((x[0] - 1.0).abs() < 1e-12 && (x[1] - 1.0).abs() < 1e-12, "{x:?}");
        // Clipped into the bounds.
        let x = linear_response(&[0.0, 0.0], &cov, &vec![(0, 3.0)], &[[-5.0, 5.0], [0.0, 2.0]]).unwrap();
        assert!(x[1] < 2.0 && x[1] > 1.99, "{x:?}");
    }
}
