//! Projected Gauss-Newton: each step solves `(H + mu diag H) d = -g` on the free parameters,
//! where `H` is the Gauss-Newton (Fisher) matrix `J^T W J` of the Poisson terms plus the exact
//! curvature of the constraints, and `J = d lambda / d theta` comes from the batched reverse
//! pass. Parameters at a bound whose gradient pushes outward are held (projected Newton,
//! Bertsekas 1982); the step is projected onto the box and accepted by an Armijo test. A fit has
//! converged when the Newton decrement `-g.d / 2` (the predicted distance to the minimum in NLL)
//! is below the tolerance. Rows of the batch move independently: finished fits leave the batch.
use nalgebra::{DMatrix, DVector};

use super::curvature::{gauss_newton_matrix, gauss_newton_weights};
use super::linalg::solve;
use super::step::{Evaluation, Row, evaluate_until_done};
use super::structured::StructuredCurvature;
use super::types::{FitOptions, Minimum, Start};
use crate::compute::{CompiledModel, NllGradJacobian, NllGradSparseJacobian, Observations, Result};

/// [`super::minimize`] by projected Gauss-Newton alone, with the kink trials: the default where
/// the NLL has kinks, and the method every fit used before BFGS became the default for smooth
/// models (kept for the benchmark that justifies the choice, `fit_gauss_newton`).
///
/// With piecewise interpolations (code 0, code 1) the NLL has a kink where a nuisance parameter
/// crosses 0, and a local minimum on each side of it is common. After the first descent, the
/// parameters lying close to a kink are tried on its other side (all such trials batched), and
/// the deepest minimum is kept, until no trial improves.
pub fn minimize_gauss_newton(
    model: &CompiledModel,
    obs: &Observations,
    starts: &[Start],
    bounds: &[[f64; 2]],
    options: &FitOptions,
) -> Result<Vec<Minimum>> {
    let mut best = descend(model, obs, starts, bounds, options)?;
    if !model.kinked().iter().any(|k| *k) {
        return Ok(best);
    }
    for _round in 0..4 {
        // Candidates: for each fit, each kinked parameter near 0. A candidate is promising when,
        // with it moved onto the kink, its one-sided derivative descends into the other side.
        let mut probes = Vec::new();
        let mut probe_of = Vec::new();
        for (r, (min, start)) in best.iter().zip(starts).enumerate() {
            if !min.converged {
                continue;
            }
            for i in (0..min.x.len()).filter(|&i| model.kinked()[i] && !start.fixed[i]) {
                if min.x[i] != 0.0 && min.x[i].abs() <= KINK_NEIGHBOURHOOD {
                    let mut x = min.x.clone();
                    x[i] = 0.0;
                    probes.push(x);
                    probe_of.push((r, i));
                }
            }
        }
        if probes.is_empty() {
            break;
        }
        let probe_obs = if obs.rows() == 1 {
            obs.clone()
        } else {
            obs.select(model, &probe_of.iter().map(|(r, _)| *r).collect::<Vec<_>>())?
        };
        let slopes = model.nll_grad(&model.params(&probes)?, &probe_obs)?;
        let p = model.npars();
        let mut trials = Vec::new();
        let mut owners = Vec::new();
        for (k, &(r, i)) in probe_of.iter().enumerate() {
            let (g, kink) = (slopes.grad[k * p + i], slopes.kink[k * p + i]);
            let x = best[r].x[i];
            let other_side_descends = if x > 0.0 { g - kink > 0.0 } else { g + kink < 0.0 };
            if other_side_descends {
                let mut t = Start { x: best[r].x.clone(), fixed: starts[r].fixed.clone() };
                t.x[i] = (-x.signum() * x.abs().max(KINK_STEP)).clamp(bounds[i][0], bounds[i][1]);
                trials.push(t);
                owners.push(r);
            }
        }
        if trials.is_empty() {
            break;
        }
        let trial_obs = if obs.rows() == 1 { obs.clone() } else { obs.select(model, &owners)? };
        let found = descend(model, &trial_obs, &trials, bounds, options)?;
        let mut improved = false;
        for (m, &r) in found.into_iter().zip(&owners) {
            if m.converged && m.nll < best[r].nll - 1e-9 {
                let evaluations = best[r].evaluations + m.evaluations;
                best[r] = Minimum { evaluations, ..m };
                improved = true;
            }
        }
        if !improved {
            break;
        }
    }
    Ok(best)
}

/// How close to a kink a parameter must be for its other side to be tried.
const KINK_NEIGHBOURHOOD: f64 = 0.25;
/// How far onto the other side a trial starts, at least.
const KINK_STEP: f64 = 1e-3;
/// A rejected trial is shortened while its step length is above this; then the step is damped.
const SHORTEST_STEP: f64 = 1.0 / 64.0;

/// The damping a singular curvature matrix gets first. A step solved with this damping or less
/// (within the rounding of a damping that grew and shrank by tenfold steps) still certifies
/// convergence by its decrement: where the matrix is singular to working precision (a nearly
/// flat direction, or one bin's weight dwarfing the rest), the undamped solve fails at every
/// step, and a fit at its minimum would otherwise cycle between this damping and none until it
/// runs out of steps.
const SINGULAR_DAMPING: f64 = 1e-6;

/// Gauss-Newton's own state of a fit.
struct GaussNewton {
    /// Half-jumps of the derivative at kinks (see `NllGrad::kink`).
    kink: Vec<f64>,
    /// The gradient the step is taken on: one-sided where a parameter leaves a kink.
    g_step: Vec<f64>,
    /// Whether steps respect kinks. Steps first cross them freely, as a smooth method would;
    /// once the line search stalls (on a kink, typically) they stop at kinks and leave them
    /// only along a descending one-sided derivative.
    kink_aware: bool,
    curvature: Curvature,
    /// Levenberg-Marquardt damping.
    mu: f64,
    /// The expected counts at `x`, for the step back inside the likelihood's domain.
    lambda: Vec<f64>,
    /// The rate Jacobian rows `d lambda_b / d theta` at `x` of the empty bins on the edge of the
    /// domain (expecting less than [`DOMAIN_EDGE`] events); dense curvature only.
    edge: Vec<Vec<f64>>,
}

/// The Gauss-Newton matrix of a fit: dense for small models, by its structure for large ones
/// (see [`super::dense_curvature`]).
enum Curvature {
    Dense {
        hessian: DMatrix<f64>,
        /// Secant estimate of the curvature Gauss-Newton leaves out (sum_b r_b d2 lambda_b),
        /// updated by symmetric rank-one steps as in NL2SOL (Dennis, Gay and Welsch 1981).
        correction: DMatrix<f64>,
    },
    /// Large models: no P x P matrix, and no secant correction (it would be one).
    Structured(StructuredCurvature),
}

impl Curvature {
    fn diagonal(&self, i: usize) -> f64 {
        match self {
            Curvature::Dense { hessian, .. } => hessian[(i, i)],
            Curvature::Structured(s) => s.diagonal(i),
        }
    }
}

/// A batched evaluation with the rate Jacobian in the form the fit's curvature takes.
enum Evaluated {
    Dense(NllGradJacobian),
    Sparse(NllGradSparseJacobian),
}

impl Evaluation for Evaluated {
    fn nll(&self) -> &[f64] {
        match self {
            Evaluated::Dense(e) => &e.nll,
            Evaluated::Sparse(e) => &e.nll,
        }
    }
    fn grad(&self) -> &[f64] {
        match self {
            Evaluated::Dense(e) => &e.grad,
            Evaluated::Sparse(e) => &e.grad,
        }
    }
}

impl Evaluated {
    /// The expected counts `[B * NB]`.
    fn lambda(&self) -> &[f64] {
        match self {
            Evaluated::Dense(e) => &e.lambda,
            Evaluated::Sparse(e) => &e.lambda,
        }
    }
}

/// One descent from each start.
pub(super) fn descend(
    model: &CompiledModel,
    obs: &Observations,
    starts: &[Start],
    bounds: &[[f64; 2]],
    options: &FitOptions,
) -> Result<Vec<Minimum>> {
    let (p, nb) = (model.npars(), model.nbins());
    let dense = super::dense_curvature(model);
    let mut rows: Vec<Row<GaussNewton>> = starts
        .iter()
        .map(|s| {
            let curvature = if dense {
                Curvature::Dense { hessian: DMatrix::zeros(p, p), correction: DMatrix::zeros(p, p) }
            } else {
                Curvature::Structured(StructuredCurvature::default())
            };
            let own = GaussNewton {
                kink: vec![0.0; p],
                g_step: vec![0.0; p],
                kink_aware: false,
                curvature,
                mu: 0.0,
                lambda: vec![0.0; nb],
                edge: Vec::new(),
            };
            Row::new(s, bounds, p, own)
        })
        .collect();
    let evaluate = |theta: &_, sub: &_| -> Result<Evaluated> {
        Ok(if dense {
            Evaluated::Dense(model.nll_grad_jacobian(theta, sub)?)
        } else {
            Evaluated::Sparse(model.nll_grad_sparse_jacobian(theta, sub)?)
        })
    };
    evaluate_until_done(model, obs, &mut rows, evaluate, |row, e| {
        let data = obs.row(if obs.rows() == 1 { 0 } else { e.i });
        let lambda = &e.eval.lambda()[e.k * nb..(e.k + 1) * nb];
        if !e.first {
            if !row.sufficient_decrease(e.f, &row.own.g_step).0 {
                if !(e.f.is_nan() && step_inside_domain(row, lambda)) {
                    reject(row, model.kinked(), bounds, options);
                }
                return;
            }
            row.iterations += 1;
            let gn = &mut row.own;
            gn.mu = if row.t == 1.0 { gn.mu / 10.0 } else { gn.mu };
            if gn.mu < 1e-8 {
                gn.mu = 0.0;
            }
        }
        let (iteration, step, damping) = (row.iterations, row.t, row.own.mu);
        tracing::trace!(iteration, nll = e.f, step, damping, "Gauss-Newton step");
        let previous = (row.x.clone(), row.g.clone());
        row.accept(e.f, e.g);
        row.own.lambda.copy_from_slice(lambda);
        let k = e.k;
        let c = model.constraint_curvature(&row.x, data);
        match (&mut row.own.curvature, e.eval) {
            (Curvature::Dense { hessian, .. }, Evaluated::Dense(eval)) => {
                row.own.kink.copy_from_slice(&eval.kink[k * p..(k + 1) * p]);
                let jac = &eval.jacobian[k * nb * p..(k + 1) * nb * p];
                gauss_newton_matrix(hessian, jac, lambda, &data[..nb], &c);
                row.own.edge = (0..nb)
                    .filter(|&b| data[b] == 0.0 && lambda[b] < DOMAIN_EDGE)
                    .map(|b| jac[b * p..(b + 1) * p].to_vec())
                    .collect();
            }
            (Curvature::Structured(s), Evaluated::Sparse(eval)) => {
                row.own.kink.copy_from_slice(&eval.kink[k * p..(k + 1) * p]);
                let weights = gauss_newton_weights(lambda, &data[..nb]);
                *s = StructuredCurvature::new(eval.jacobians[k].clone(), weights, &c);
            }
            _ => unreachable!("the evaluation matches the curvature's form"),
        }
        if !e.first {
            secant_update(row, &previous.0, &previous.1);
        }
        if row.out_of_iterations(options) {
            return;
        }
        propose(row, model.kinked(), bounds, options);
    })?;
    Ok(rows.into_iter().map(Row::into_minimum).collect())
}

/// Symmetric rank-one update of the correction so that (H_GN + S) maps the last step onto the
/// last change of the gradient.
fn secant_update(row: &mut Row<GaussNewton>, x_prev: &[f64], g_prev: &[f64]) {
    let p = row.x.len();
    let Curvature::Dense { hessian, correction } = &mut row.own.curvature else { return };
    let s = DVector::from_iterator(p, row.x.iter().zip(x_prev).map(|(a, b)| a - b));
    let y = DVector::from_iterator(p, row.g.iter().zip(g_prev).map(|(a, b)| a - b));
    // v = y - (H_GN + S) s
    let v = &y - &*hessian * &s - &*correction * &s;
    let vs = v.dot(&s);
    let (vv, ss) = (v.norm(), s.norm());
    if vs.abs() <= 1e-8 * vv * ss || vv == 0.0 {
        return;
    }
    correction.ger(1.0 / vs, &v, &v, 1.0);
}

/// Choose the free parameters, test for convergence and propose a step from `row.x`.
fn propose(row: &mut Row<GaussNewton>, kinked: &[bool], bounds: &[[f64; 2]], options: &FitOptions) {
    let p = row.x.len();
    // Kinks act as boundaries: a step stays on its side of 0; a parameter on the kink leaves it
    // to the side its one-sided derivative descends to, or stays.
    row.step_bounds.copy_from_slice(bounds);
    row.own.g_step.copy_from_slice(&row.g);
    let mut held = vec![false; p];
    for i in (0..p).filter(|&i| row.own.kink_aware && kinked[i] && !row.fixed[i]) {
        let b = &mut row.step_bounds[i];
        if row.x[i] > 0.0 {
            b[0] = b[0].max(0.0);
        } else if row.x[i] < 0.0 {
            b[1] = b[1].min(0.0);
        } else {
            let (up, down) = (row.g[i] + row.own.kink[i], row.g[i] - row.own.kink[i]);
            // Where both sides descend, take the steeper (the side plain Newton would take).
            if up < 0.0 && (down <= 0.0 || -up >= down) {
                b[0] = b[0].max(0.0);
                row.own.g_step[i] = up;
            } else if down > 0.0 {
                b[1] = b[1].min(0.0);
                row.own.g_step[i] = down;
            } else {
                held[i] = true;
            }
        }
    }
    let free: Vec<usize> = (0..p)
        .filter(|&i| {
            let (g, h) = (row.own.g_step[i], row.own.curvature.diagonal(i));
            !row.fixed[i] && !held[i] && !row.pushed_out(i, g, bounds[i]) && (h > 0.0 || g != 0.0)
        })
        .collect();
    row.step.iter_mut().for_each(|s| *s = 0.0);
    row.t = 1.0;
    if free.is_empty() {
        row.finish(true, "every parameter is fixed or held at a bound");
        return;
    }
    loop {
        let gn = &mut row.own;
        let solved = match &mut gn.curvature {
            Curvature::Dense { hessian, correction } => {
                let corrected = &*hessian + &*correction;
                solve(&corrected, &gn.g_step, &free, gn.mu)
                    .map(|d| (d, corrected))
                    .or_else(|| {
                        // The secant correction made the model indefinite: start it afresh.
                        correction.fill(0.0);
                        solve(hessian, &gn.g_step, &free, gn.mu).map(|d| (d, hessian.clone()))
                    })
                    .map(|(d, matrix)| along_domain_edge(&matrix, &free, gn.mu, &gn.edge, d))
            }
            Curvature::Structured(s) => s.solve(&gn.g_step, &free, gn.mu),
        };
        match solved {
            Some(d) => {
                let decrement: f64 = -free.iter().zip(&d).map(|(&i, di)| gn.g_step[i] * di).sum::<f64>();
                if gn.mu <= SINGULAR_DAMPING * (1.0 + 1e-9) && decrement.abs() * 0.5 < options.tolerance {
                    row.converged_at(decrement * 0.5);
                    return;
                }
                for (&i, di) in free.iter().zip(d) {
                    row.step[i] = di;
                }
                row.set_trial();
                return;
            }
            None => {
                gn.mu = if gn.mu == 0.0 { SINGULAR_DAMPING } else { gn.mu * 10.0 };
                if gn.mu > 1e10 {
                    row.finish(false, "the curvature matrix is singular");
                    return;
                }
            }
        }
    }
}

/// An empty bin expecting fewer events than this is on the edge of the likelihood's domain: a
/// step that would lower its count further keeps it where it is (to first order) instead.
const DOMAIN_EDGE: f64 = 1e-10;

/// The step `d` (on the parameters `free`, solving the damped system `matrix`) with the empty
/// bins on the domain's edge (rows `edge` of the rate Jacobian) held there: where `d` would take
/// such a bin's count below its (already negligible) value, the step is the minimum of the same
/// quadratic model subject to `J_b d = 0` for those bins, `d - V nu` with `V = M^-1 J^T` and
/// `nu = (J V)^-1 J d`. That is the active-set step of a minimum on the edge: shortening each
/// step to stay inside the domain alone stalls there, with every parameter moving only as far
/// as the bin's count allows.
fn along_domain_edge(matrix: &DMatrix<f64>, free: &[usize], mu: f64, edge: &[Vec<f64>], d: Vec<f64>) -> Vec<f64> {
    let along = |row: &[f64], v: &[f64]| free.iter().zip(v).map(|(&i, vi)| row[i] * vi).sum::<f64>();
    let active: Vec<&Vec<f64>> = edge.iter().filter(|row| along(row, &d) < 0.0).collect();
    if active.is_empty() {
        return d;
    }
    // V_b = M^-1 J_b: `solve` answers -M^-1 times its right-hand side.
    let v: Option<Vec<Vec<f64>>> =
        active.iter().map(|row| solve(matrix, &row.iter().map(|x| -x).collect::<Vec<_>>(), free, mu)).collect();
    let Some(v) = v else { return d };
    let n = active.len();
    let jv = DMatrix::from_fn(n, n, |a, b| along(active[a], &v[b]));
    let jd = DVector::from_iterator(n, active.iter().map(|row| along(row, &d)));
    let Some(nu) = jv.lu().solve(&jd) else { return d };
    let mut held = d;
    for (vb, nub) in v.iter().zip(nu.iter()) {
        for (h, x) in held.iter_mut().zip(vb) {
            *h -= nub * x;
        }
    }
    held
}

/// How far towards the edge of the likelihood's domain (a bin expecting no events) a step
/// that crossed it is shortened to, as a fraction of the way there.
const FRACTION_TO_DOMAIN_EDGE: f64 = 0.99;

/// A trial outside the likelihood's domain (some bin expecting a negative count, `lambda` at
/// the trial): shorten the step to go [`FRACTION_TO_DOMAIN_EDGE`] of the way to where the first
/// bin's count, interpolated linearly between `x` and the trial, reaches zero, as interior-point
/// methods do. Quartering the step instead approaches a minimum on that edge (an empty bin
/// whose yield a histosys can take to zero) by a quarter of the way per step, dozens of steps.
/// Whether it shortened the step (not when the edge is no nearer than a quarter step).
fn step_inside_domain(row: &mut Row<GaussNewton>, lambda: &[f64]) -> bool {
    let edge = row
        .own
        .lambda
        .iter()
        .zip(lambda)
        .filter(|(at_x, at_trial)| **at_trial < 0.0 && **at_x > 0.0)
        .map(|(at_x, at_trial)| at_x / (at_x - at_trial))
        .fold(f64::INFINITY, f64::min);
    let t = row.t * FRACTION_TO_DOMAIN_EDGE * edge;
    if !(t > 0.25 * row.t && t < row.t) {
        return false;
    }
    row.t = t;
    row.set_trial();
    true
}

/// A rejected trial: shorten the step, then respect kinks, then damp harder.
fn reject(row: &mut Row<GaussNewton>, kinked: &[bool], bounds: &[[f64; 2]], options: &FitOptions) {
    if row.backtrack(SHORTEST_STEP) {
        return;
    }
    if !row.own.kink_aware && kinked.iter().any(|k| *k) {
        row.own.kink_aware = true;
        propose(row, kinked, bounds, options);
        return;
    }
    let decrement: f64 = -row.own.g_step.iter().zip(&row.step).map(|(g, s)| g * s).sum::<f64>();
    if row.converged_at_precision(decrement.abs() * 0.5, options) {
        return;
    }
    let gn = &mut row.own;
    gn.mu = if gn.mu == 0.0 { 1e-3 } else { gn.mu * 10.0 };
    if gn.mu > 1e10 {
        row.finish(false, "line search failed: no decrease along the damped step");
        return;
    }
    propose(row, kinked, bounds, options);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fit at its minimum (zero gradient) whose curvature is singular: two parameters that only
    /// act together, so the undamped solve fails at every step. It must be certified there, not
    /// cycle between the first damping and none until it runs out of steps.
    #[test]
    fn a_minimum_with_singular_curvature_is_converged() {
        let curvature = Curvature::Dense {
            hessian: DMatrix::from_row_slice(2, 2, &[1.0, 1.0, 1.0, 1.0]),
            correction: DMatrix::zeros(2, 2),
        };
        let own = GaussNewton {
            kink: vec![0.0; 2],
            g_step: vec![0.0; 2],
            kink_aware: false,
            curvature,
            mu: 0.0,
            lambda: vec![],
            edge: vec![],
        };
        let bounds = [[-5.0, 5.0]; 2];
        let mut row = Row::new(&Start { x: vec![1.0, 1.0], fixed: vec![false; 2] }, &bounds, 2, own);
        row.accept(1.0, &[0.0, 0.0]);
        propose(&mut row, &[false; 2], &bounds, &FitOptions::default());
        assert_eq!(row.own.mu, SINGULAR_DAMPING, "the undamped solve fails");
        assert!(matches!(&row.done, Some((true, _))), "{:?}", row.done);
    }

    /// With the identity for curvature, the step (-1, -1) held on the edge of a bin whose count
    /// grows with the first parameter keeps only its component along the second.
    #[test]
    fn a_step_along_the_domain_edge_keeps_the_bin_count() {
        let identity = DMatrix::identity(2, 2);
        let edge = vec![vec![1.0, 0.0]];
        let held = along_domain_edge(&identity, &[0, 1], 0.0, &edge, vec![-1.0, -1.0]);
        assert!(held[0].abs() < 1e-12 && (held[1] + 1.0).abs() < 1e-12, "{held:?}");
        // A step that raises the bin's count is left alone.
        assert_eq!(along_domain_edge(&identity, &[0, 1], 0.0, &edge, vec![1.0, -1.0]), vec![1.0, -1.0]);
    }
}
