//! Bounded minimisation of the NLL, batched over many fits at once.
//!
//! The default, [`minimize`], depends on the model:
//! - smooth NLL (interpolation codes 4/4p, 2: no kinks): gradient-only BFGS started from the
//!   Fisher information at each start (one batched Jacobian evaluation), then projected
//!   Gauss-Newton from BFGS's minimum: Gauss-Newton's convergence test certifies it, usually at
//!   its first evaluation. Where BFGS does not converge (a line search rejecting 3 trials in a
//!   row stops it, as on ERJR's very stiff constraints), Gauss-Newton makes the fit from the
//!   start. A BFGS step needs only the gradient and O(P^2) work, a Gauss-Newton step the Jacobian
//!   and a Cholesky factorisation: the 1Lbb and tttt fits take 55-60% of the time of
//!   Gauss-Newton alone, at the same minima over the whole parity suite (docs/benchmarks.md);
//! - NLL with kinks (histosys code 0, normsys code 1): projected Gauss-Newton with the kink
//!   handling below, [`minimize_gauss_newton`].
//!
//! Gauss-Newton: each step solves `(H + mu diag H) d = -g` on the free parameters, where `H` is
//! the Gauss-Newton (Fisher) matrix `J^T W J` of the Poisson terms plus the exact curvature of
//! the constraints, and `J = d lambda / d theta` comes from the batched reverse pass. Parameters
//! at a bound whose gradient pushes outward are held (projected Newton, Bertsekas 1982); the step
//! is projected onto the box and accepted by an Armijo test. A fit has converged when the
//! Newton decrement `-g.d / 2` (the predicted distance to the minimum in NLL) is below the
//! tolerance. Rows of the batch move independently: finished fits leave the batch.
use nalgebra::{DMatrix, DVector};

use super::quasi_newton;
use crate::compute::{CompiledModel, Observations, Result};

/// Stopping rules of a fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitOptions {
    /// Give up after this many accepted steps.
    pub max_iterations: usize,
    /// Converged when the predicted NLL decrease to the minimum is below this.
    pub tolerance: f64,
    /// Compute uncertainties from the Hessian at the minimum (one batched evaluation of 2P
    /// points; hypothesis tests do not need them).
    pub uncertainties: bool,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions { max_iterations: 200, tolerance: 1e-9, uncertainties: false }
    }
}

/// Where one fit starts: initial values, and which parameters stay fixed at them.
#[derive(Debug, Clone, PartialEq)]
pub struct Start {
    pub x: Vec<f64>,
    pub fixed: Vec<bool>,
}

/// Where one fit ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Minimum {
    pub x: Vec<f64>,
    /// NLL in deviance form (see [`crate::compute`]); add the data constant for -ln L.
    pub nll: f64,
    pub converged: bool,
    /// Accepted steps.
    pub iterations: usize,
    /// Batched likelihood evaluations this fit took part in.
    pub evaluations: usize,
    pub message: String,
}

/// The state of one row between evaluations.
struct Row {
    x: Vec<f64>,
    fixed: Vec<bool>,
    /// Values at `x`.
    f: f64,
    g: Vec<f64>,
    /// Half-jumps of the derivative at kinks (see `NllGrad::kink`).
    kink: Vec<f64>,
    /// The gradient the step is taken on: one-sided where a parameter leaves a kink.
    g_step: Vec<f64>,
    /// Bounds of the current step: the box, narrowed to one side of each kink.
    step_bounds: Vec<[f64; 2]>,
    /// Whether steps respect kinks. Steps first cross them freely, as a smooth method would;
    /// once the line search stalls (on a kink, typically) they stop at kinks and leave them
    /// only along a descending one-sided derivative.
    kink_aware: bool,
    hessian: DMatrix<f64>,
    /// Secant estimate of the curvature Gauss-Newton leaves out (sum_b r_b d2 lambda_b), updated
    /// by symmetric rank-one steps as in NL2SOL (Dennis, Gay and Welsch 1981).
    correction: DMatrix<f64>,
    /// The proposed direction on the free parameters, and the trial point.
    step: Vec<f64>,
    trial: Vec<f64>,
    /// Step length of the current trial.
    t: f64,
    mu: f64,
    iterations: usize,
    evaluations: usize,
    done: Option<(bool, String)>,
}

/// Minimise the NLL of `model` on `obs` from each start. `obs` holds one dataset per start, or
/// one dataset shared by all.
///
/// With piecewise interpolations (code 0, code 1) the NLL has a kink where a nuisance parameter
/// crosses 0, and a local minimum on each side of it is common. After the first descent, the
/// parameters lying close to a kink are tried on its other side (all such trials batched), and
/// the deepest minimum is kept, until no trial improves.
pub fn minimize(
    model: &CompiledModel,
    obs: &Observations,
    starts: &[Start],
    bounds: &[[f64; 2]],
    options: &FitOptions,
) -> Result<Vec<Minimum>> {
    if model.kinked().iter().any(|k| *k) {
        minimize_gauss_newton(model, obs, starts, bounds, options)
    } else {
        minimize_smooth(model, obs, starts, bounds, options)
    }
}

/// [`minimize`] by projected Gauss-Newton alone, with the kink trials: the default where the
/// NLL has kinks, and the method every fit used before BFGS became the default for smooth
/// models (kept for the benchmark that justifies the choice, `fit_gauss_newton`).
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

/// A smooth NLL (no kinks): gradient-only BFGS from the Fisher information at each start, then
/// Gauss-Newton from the minimum BFGS found, which certifies it with its own convergence test
/// (usually at its first evaluation) or finishes it; fits where BFGS did not converge are made
/// by Gauss-Newton from their start.
fn minimize_smooth(
    model: &CompiledModel,
    obs: &Observations,
    starts: &[Start],
    bounds: &[[f64; 2]],
    options: &FitOptions,
) -> Result<Vec<Minimum>> {
    let xs: Vec<Vec<f64>> = starts.iter().map(|s| clamp_free(s, bounds)).collect();
    let curvatures = quasi_newton::fisher_curvatures(model, obs, &xs)?;
    let quick = quasi_newton::minimize_from_curvatures(model, obs, starts, bounds, &curvatures, Some(BFGS_MAX_REJECTIONS), options)?;
    // Where BFGS did not converge, Gauss-Newton starts afresh: from where BFGS gave up on a stiff
    // problem it can crawl for a hundred steps (ERJR's signal patches) where from the start it
    // takes a handful.
    let polish: Vec<Start> = quick
        .iter()
        .zip(starts)
        .map(|(m, s)| Start { x: if m.converged { m.x.clone() } else { s.x.clone() }, fixed: s.fixed.clone() })
        .collect();
    let mut out = descend(model, obs, &polish, bounds, options)?;
    for (m, q) in out.iter_mut().zip(&quick) {
        m.iterations += q.iterations;
        m.evaluations += q.evaluations + 1;
    }
    Ok(out)
}

/// Trials one BFGS line search may reject before the descent hands over to Gauss-Newton. Over
/// the parity suite's smooth fits BFGS rejects at most 3 trials in a whole fit in all but a
/// handful; the stiff constraints of ERJR make it reject hundreds (and, alone, not converge).
const BFGS_MAX_REJECTIONS: usize = 3;

/// The start's values, free ones clamped into `bounds`.
fn clamp_free(s: &Start, bounds: &[[f64; 2]]) -> Vec<f64> {
    s.x.iter()
        .zip(bounds)
        .zip(&s.fixed)
        .map(|((v, b), fixed)| if *fixed { *v } else { v.clamp(b[0], b[1]) })
        .collect()
}

/// How close to a kink a parameter must be for its other side to be tried.
const KINK_NEIGHBOURHOOD: f64 = 0.25;
/// How far onto the other side a trial starts, at least.
const KINK_STEP: f64 = 1e-3;

/// One descent from each start.
fn descend(
    model: &CompiledModel,
    obs: &Observations,
    starts: &[Start],
    bounds: &[[f64; 2]],
    options: &FitOptions,
) -> Result<Vec<Minimum>> {
    let p = model.npars();
    let mut rows: Vec<Row> = starts
        .iter()
        .map(|s| Row {
            // Free parameters start inside their bounds; fixed ones stay where they are asked
            // to be (a hypothesis test may fix the POI beyond its fit range).
            x: s.x
                .iter()
                .zip(bounds)
                .zip(&s.fixed)
                .map(|((v, b), fixed)| if *fixed { *v } else { v.clamp(b[0], b[1]) })
                .collect(),
            fixed: s.fixed.clone(),
            f: f64::NAN,
            g: vec![0.0; p],
            kink: vec![0.0; p],
            g_step: vec![0.0; p],
            step_bounds: bounds.to_vec(),
            kink_aware: false,
            hessian: DMatrix::zeros(p, p),
            correction: DMatrix::zeros(p, p),
            step: vec![0.0; p],
            trial: Vec::new(),
            t: 1.0,
            mu: 0.0,
            iterations: 0,
            evaluations: 0,
            done: None,
        })
        .collect();
    for r in rows.iter_mut() {
        r.trial = r.x.clone();
    }

    // The first evaluation is at the starting points; after that, at the trials.
    let mut first = true;
    loop {
        let pending: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].done.is_none()).collect();
        if pending.is_empty() {
            break;
        }
        let theta: Vec<Vec<f64>> = pending.iter().map(|&i| rows[i].trial.clone()).collect();
        let sub_obs = obs.select(model, &pending)?;
        let eval = model.nll_grad_jacobian(&model.params(&theta)?, &sub_obs)?;
        let nb = model.nbins();
        for (k, &i) in pending.iter().enumerate() {
            let data = obs.row(if obs.rows() == 1 { 0 } else { i });
            let row = &mut rows[i];
            row.evaluations += 1;
            let f = eval.nll[k];
            let g = &eval.grad[k * p..(k + 1) * p];
            let accept = if first {
                true
            } else {
                let dx: f64 =
                    row.trial.iter().zip(&row.x).zip(&row.g_step).map(|((t, x), g)| (t - x) * g).sum();
                f.is_finite() && f <= row.f + 1e-4 * dx.min(0.0)
            };
            if !accept {
                reject(row, model.kinked(), bounds, options);
                continue;
            }
            if first && !f.is_finite() {
                row.done = Some((false, "the likelihood is not finite at the starting point".into()));
                continue;
            }
            if !first {
                row.iterations += 1;
                row.mu = if row.t == 1.0 { row.mu / 10.0 } else { row.mu };
                if row.mu < 1e-8 {
                    row.mu = 0.0;
                }
            }
            tracing::trace!(iteration = row.iterations, nll = f, step = row.t, damping = row.mu, "Gauss-Newton step");
            let previous = (row.x.clone(), row.g.clone());
            row.x = row.trial.clone();
            row.f = f;
            row.g.copy_from_slice(g);
            row.kink.copy_from_slice(&eval.kink[k * p..(k + 1) * p]);
            gauss_newton_matrix(
                &mut row.hessian,
                &eval.jacobian[k * nb * p..(k + 1) * nb * p],
                &eval.lambda[k * nb..(k + 1) * nb],
                &data[..nb],
                &model.constraint_curvature(&row.x, data),
            );
            if !first {
                secant_update(row, &previous.0, &previous.1);
            }
            if row.iterations >= options.max_iterations {
                row.done = Some((false, format!("no convergence in {} steps", row.iterations)));
                continue;
            }
            propose(row, model.kinked(), bounds, options);
        }
        first = false;
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let (converged, message) = r.done.expect("every row finished");
            Minimum {
                x: r.x,
                nll: r.f,
                converged,
                iterations: r.iterations,
                evaluations: r.evaluations,
                message,
            }
        })
        .collect())
}

/// `J^T W J + diag(constraint curvature)`, with the Poisson weight n / lambda^2 (the observed
/// curvature in lambda), or 1 / lambda in bins with no events (the expected one).
fn gauss_newton_matrix(h: &mut DMatrix<f64>, jac: &[f64], lambda: &[f64], n: &[f64], c: &[f64]) {
    let p = c.len();
    h.fill(0.0);
    // H = Jw^T Jw with Jw_b. = sqrt(w_b) J_b., one bin at a time over the columns its row
    // touches (most parameters act on few bins), on and below the diagonal, then mirrored.
    let mut jw = vec![0.0; p];
    for (b, (&l, &nb_count)) in lambda.iter().zip(n).enumerate() {
        let w = if nb_count > 0.0 { nb_count / (l * l) } else { 1.0 / l.max(1e-300) };
        if !w.is_finite() || w == 0.0 {
            continue;
        }
        let sw = w.sqrt();
        for (v, j) in jw.iter_mut().zip(&jac[b * p..(b + 1) * p]) {
            *v = sw * j;
        }
        let hs = h.as_mut_slice();
        for (j, &wj) in jw.iter().enumerate() {
            if wj == 0.0 {
                continue;
            }
            for (hij, &wi) in hs[j * p + j..(j + 1) * p].iter_mut().zip(&jw[j..]) {
                *hij += wi * wj;
            }
        }
    }
    quasi_newton::mirror_lower(h);
    for i in 0..p {
        h[(i, i)] += c[i];
    }
}

/// Symmetric rank-one update of the correction so that (H_GN + S) maps the last step onto the
/// last change of the gradient.
fn secant_update(row: &mut Row, x_prev: &[f64], g_prev: &[f64]) {
    let p = row.x.len();
    let s = DVector::from_iterator(p, row.x.iter().zip(x_prev).map(|(a, b)| a - b));
    let y = DVector::from_iterator(p, row.g.iter().zip(g_prev).map(|(a, b)| a - b));
    // v = y - (H_GN + S) s
    let v = &y - &row.hessian * &s - &row.correction * &s;
    let vs = v.dot(&s);
    let (vv, ss) = (v.norm(), s.norm());
    if vs.abs() <= 1e-8 * vv * ss || vv == 0.0 {
        return;
    }
    row.correction.ger(1.0 / vs, &v, &v, 1.0);
}

/// Choose the free parameters, test for convergence and propose a step from `row.x`.
fn propose(row: &mut Row, kinked: &[bool], bounds: &[[f64; 2]], options: &FitOptions) {
    let p = row.x.len();
    // Kinks act as boundaries: a step stays on its side of 0; a parameter on the kink leaves it
    // to the side its one-sided derivative descends to, or stays.
    row.step_bounds.copy_from_slice(bounds);
    row.g_step.copy_from_slice(&row.g);
    let mut held = vec![false; p];
    for i in (0..p).filter(|&i| row.kink_aware && kinked[i] && !row.fixed[i]) {
        let b = &mut row.step_bounds[i];
        if row.x[i] > 0.0 {
            b[0] = b[0].max(0.0);
        } else if row.x[i] < 0.0 {
            b[1] = b[1].min(0.0);
        } else {
            let (up, down) = (row.g[i] + row.kink[i], row.g[i] - row.kink[i]);
            // Where both sides descend, take the steeper (the side plain Newton would take).
            if up < 0.0 && (down <= 0.0 || -up >= down) {
                b[0] = b[0].max(0.0);
                row.g_step[i] = up;
            } else if down > 0.0 {
                b[1] = b[1].min(0.0);
                row.g_step[i] = down;
            } else {
                held[i] = true;
            }
        }
    }
    let at_bound = |i: usize| {
        let [lo, hi] = row.step_bounds[i];
        let eps = 1e-10 * (1.0 + (bounds[i][1] - bounds[i][0]).abs());
        (row.x[i] <= lo + eps && row.g_step[i] > 0.0) || (row.x[i] >= hi - eps && row.g_step[i] < 0.0)
    };
    let free: Vec<usize> = (0..p)
        .filter(|&i| {
            !row.fixed[i] && !held[i] && !at_bound(i) && (row.hessian[(i, i)] > 0.0 || row.g_step[i] != 0.0)
        })
        .collect();
    row.step.iter_mut().for_each(|s| *s = 0.0);
    row.t = 1.0;
    if free.is_empty() {
        row.done = Some((true, "every parameter is fixed or held at a bound".into()));
        return;
    }
    loop {
        let h = &row.hessian + &row.correction;
        let solved = solve(&h, &row.g_step, &free, row.mu).or_else(|| {
            // The secant correction made the model indefinite: start it afresh.
            row.correction.fill(0.0);
            solve(&row.hessian, &row.g_step, &free, row.mu)
        });
        match solved {
            Some(d) => {
                let decrement: f64 = -free.iter().zip(&d).map(|(&i, di)| row.g_step[i] * di).sum::<f64>();
                if row.mu == 0.0 && decrement.abs() * 0.5 < options.tolerance {
                    row.done = Some((true, format!("converged: predicted distance {:.1e}", decrement * 0.5)));
                    return;
                }
                for (&i, di) in free.iter().zip(d) {
                    row.step[i] = di;
                }
                set_trial(row);
                return;
            }
            None => {
                row.mu = if row.mu == 0.0 { 1e-6 } else { row.mu * 10.0 };
                if row.mu > 1e10 {
                    row.done = Some((false, "the curvature matrix is singular".into()));
                    return;
                }
            }
        }
    }
}

/// A rejected trial: shorten the step, then damp harder.
fn reject(row: &mut Row, kinked: &[bool], bounds: &[[f64; 2]], options: &FitOptions) {
    if row.t > 1.0 / 64.0 {
        row.t *= 0.25;
        set_trial(row);
        return;
    }
    if !row.kink_aware && kinked.iter().any(|k| *k) {
        row.kink_aware = true;
        propose(row, kinked, bounds, options);
        return;
    }
    let decrement: f64 = -row.g_step.iter().zip(&row.step).map(|(g, s)| g * s).sum::<f64>();
    if decrement.abs() * 0.5 < 1e3 * options.tolerance.max(f64::EPSILON * row.f.abs()) {
        row.done = Some((true, "converged: no further decrease at numerical precision".into()));
        return;
    }
    row.mu = if row.mu == 0.0 { 1e-3 } else { row.mu * 10.0 };
    if row.mu > 1e10 {
        row.done = Some((false, "line search failed: no decrease along the damped step".into()));
        return;
    }
    propose(row, kinked, bounds, options);
}

fn set_trial(row: &mut Row) {
    row.trial = row
        .x
        .iter()
        .zip(&row.step)
        .zip(&row.step_bounds)
        .zip(&row.fixed)
        .map(|(((x, s), b), fixed)| if *fixed { *x } else { (x + row.t * s).clamp(b[0], b[1]) })
        .collect();
}

/// Solve `(H_FF + mu diag H_FF) d = -g_F` by Cholesky after Jacobi scaling.
fn solve(h: &DMatrix<f64>, g: &[f64], free: &[usize], mu: f64) -> Option<Vec<f64>> {
    let n = free.len();
    let scale: Vec<f64> = free
        .iter()
        .map(|&i| {
            let d = h[(i, i)];
            if d > 0.0 { 1.0 / d.sqrt() } else { 1.0 }
        })
        .collect();
    let mut m = DMatrix::zeros(n, n);
    for a in 0..n {
        for b in 0..n {
            m[(a, b)] = h[(free[a], free[b])] * scale[a] * scale[b];
        }
        m[(a, a)] += mu + if h[(free[a], free[a])] > 0.0 { 0.0 } else { 1e-12 };
    }
    let rhs = DVector::from_iterator(n, free.iter().zip(&scale).map(|(&i, s)| -g[i] * s));
    let y = m.cholesky()?.solve(&rhs);
    Some(y.iter().zip(&scale).map(|(v, s)| v * s).collect())
}
