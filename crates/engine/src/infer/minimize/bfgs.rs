//! BFGS on the inverse Hessian, started from the inverse of a given curvature matrix, with
//! gradient-only evaluations.
//!
//! Gauss-Newton steps need the Jacobian of the rates, which for a batch of B fits costs about NB
//! gradients each; given a good curvature at the start each fit needs only gradients. Toys of
//! one hypothesis all sit near the same point, so one matrix (the expected Fisher information at
//! the point they are drawn from, [`super::expected_curvature`]) serves them all; the default
//! fit of smooth models starts each fit from its own Fisher information
//! ([`super::fisher_curvatures`]), stops BFGS after 3 rejected trials in a row and has
//! Gauss-Newton certify or redo each fit (see [`super`]). Bounds: parameters at a bound whose
//! gradient pushes outward are held, and the step uses the inverse Hessian of the others (a
//! Schur complement of the full inverse).
use nalgebra::{DMatrix, DVector};

use super::linalg::inverse_on_free;
use super::step::{Row, evaluate_until_done};
use super::types::{FitOptions, Minimum, Start};
use crate::compute::{CompiledModel, Observations, Result};

/// A rejected trial is shortened while its step length is above this; then the search gives up.
const SHORTEST_STEP: f64 = 1e-4;

/// BFGS's own state of a fit.
struct Bfgs {
    /// Inverse Hessian over all parameters (rows and columns of fixed ones unused).
    inverse: DMatrix<f64>,
    /// Trials the current line search has rejected.
    rejections: usize,
}

/// Minimise from each start with BFGS from the inverse of a curvature matrix: `curvatures`
/// holds one per start (as [`super::fisher_curvatures`] gives), or one for every start (as
/// [`super::expected_curvature`] gives for toys); the rows and columns of fixed parameters are
/// ignored. `obs` holds one dataset per start, or one for all.
///
/// With `max_rejections`, a row whose line search rejects that many trials in a row stops there,
/// unconverged (BFGS struggles on a very stiff constraint, where Gauss-Newton does not): the
/// caller continues it by another method.
pub fn minimize_from_curvatures(
    model: &CompiledModel,
    obs: &Observations,
    starts: &[Start],
    bounds: &[[f64; 2]],
    curvatures: &[DMatrix<f64>],
    max_rejections: Option<usize>,
    options: &FitOptions,
) -> Result<Vec<Minimum>> {
    assert!(
        curvatures.len() == starts.len() || curvatures.len() == 1,
        "{} curvature matrices for {} starts: give one per start, or one for all",
        curvatures.len(),
        starts.len()
    );
    let p = model.npars();
    let mut rows: Vec<Row<Bfgs>> = Vec::with_capacity(starts.len());
    for (k, s) in starts.iter().enumerate() {
        let inverse = if curvatures.len() == starts.len() {
            inverse_on_free(&curvatures[k], &s.fixed)
        } else {
            // One matrix for all: one inverse per pattern of fixed parameters.
            match starts[..k].iter().position(|t| t.fixed == s.fixed) {
                Some(j) => rows[j].own.inverse.clone(),
                None => inverse_on_free(&curvatures[0], &s.fixed),
            }
        };
        rows.push(Row::new(s, bounds, p, Bfgs { inverse, rejections: 0 }));
    }
    let evaluate = |theta: &_, sub: &_| model.nll_grad(theta, sub);
    evaluate_until_done(model, obs, &mut rows, evaluate, |row, e| {
        if !e.first {
            let (decreased, dx) = row.sufficient_decrease(e.f, &row.g);
            if !decreased {
                row.own.rejections += 1;
                if max_rejections.is_some_and(|m| row.own.rejections >= m) {
                    let message = format!("stopped after {} rejected trials in a row", row.own.rejections);
                    row.finish(false, message);
                } else if !row.backtrack(SHORTEST_STEP) && !row.converged_at_precision(-dx, options) {
                    row.finish(false, "line search failed");
                }
                return;
            }
            row.iterations += 1;
            row.own.rejections = 0;
            update(row, e.g);
        }
        row.accept(e.f, e.g);
        if row.out_of_iterations(options) {
            return;
        }
        propose(row, bounds, options);
    })?;
    Ok(rows.into_iter().map(Row::into_minimum).collect())
}

/// BFGS update of the inverse Hessian with the accepted step s (to the trial point) and
/// gradient change y.
fn update(row: &mut Row<Bfgs>, g_new: &[f64]) {
    let p = row.x.len();
    let s = DVector::from_iterator(p, row.trial.iter().zip(&row.x).map(|(a, b)| a - b));
    let y = DVector::from_iterator(p, g_new.iter().zip(&row.g).map(|(a, b)| a - b));
    let sy = s.dot(&y);
    if sy <= 1e-12 * s.norm() * y.norm() {
        return;
    }
    let rho = 1.0 / sy;
    let inverse = &mut row.own.inverse;
    let hy = &*inverse * &y;
    let yhy = y.dot(&hy);
    // H+ = H - rho (s hy^T + hy s^T) + (rho^2 y.Hy + rho) s s^T
    let c = rho * rho * yhy + rho;
    inverse.ger(-rho, &s, &hy, 1.0);
    inverse.ger(-rho, &hy, &s, 1.0);
    inverse.ger(c, &s, &s, 1.0);
}

/// Hold parameters at bounds pushed outward, take the quasi-Newton step on the others.
fn propose(row: &mut Row<Bfgs>, bounds: &[[f64; 2]], options: &FitOptions) {
    let p = row.x.len();
    let held: Vec<usize> = (0..p).filter(|&i| !row.fixed[i] && row.pushed_out(i, row.g[i], bounds[i])).collect();
    let inverse = &row.own.inverse;
    let mut g = DVector::from_iterator(p, row.g.iter().zip(&row.fixed).map(|(g, f)| if *f { 0.0 } else { *g }));
    for &i in &held {
        g[i] = 0.0;
    }
    // d = -(H^-1)_FF g_F = -[H^-1 g - H^-1_.A (H^-1_AA)^-1 (H^-1 g)_A] on the free set F.
    let mut hg = inverse * &g;
    if !held.is_empty() {
        let a = held.len();
        let mut haa = DMatrix::zeros(a, a);
        for (x, &i) in held.iter().enumerate() {
            for (y, &j) in held.iter().enumerate() {
                haa[(x, y)] = inverse[(i, j)];
            }
        }
        let rhs = DVector::from_iterator(a, held.iter().map(|&i| hg[i]));
        if let Some(z) = haa.lu().solve(&rhs) {
            for i in 0..p {
                let corr: f64 = held.iter().zip(z.iter()).map(|(&j, zj)| inverse[(i, j)] * zj).sum();
                hg[i] -= corr;
            }
        }
        for &i in &held {
            hg[i] = 0.0;
        }
    }
    let decrement = g.dot(&hg);
    if g.iter().all(|v| *v == 0.0) {
        row.finish(true, "converged: zero gradient on the free parameters");
        return;
    }
    if decrement <= 0.0 {
        // Not a descent direction: fall back to steepest descent scaled by the diagonal.
        for i in 0..p {
            hg[i] = g[i] * inverse[(i, i)].abs().max(1e-12);
        }
    } else if 0.5 * decrement < options.tolerance {
        row.converged_at(0.5 * decrement);
        return;
    }
    for i in 0..p {
        row.step[i] = if row.fixed[i] { 0.0 } else { -hg[i] };
    }
    row.t = 1.0;
    row.set_trial();
}
