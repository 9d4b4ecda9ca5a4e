//! Many fits of one model from a shared curvature estimate: BFGS on the inverse Hessian,
//! started from the inverse of a given matrix (the expected Fisher information at the point
//! pseudo-experiments are drawn from), with gradient-only evaluations.
//!
//! Gauss-Newton steps need the Jacobian of the rates, which for a batch of B fits costs about NB
//! gradients each; toys of one hypothesis all sit near the same point, so one curvature matrix
//! serves them all and each fit then needs only gradients. Bounds: parameters at a bound whose
//! gradient pushes outward are held, and the step uses the inverse Hessian of the others (a
//! Schur complement of the full inverse).
//!
//! The same BFGS, from each start's own Fisher information ([`fisher_curvatures`],
//! [`minimize_from_curvatures`]), is the first stage of the default fit of smooth models (see
//! [`super::optimize`]), which stops it after 3 rejected trials in a row and has Gauss-Newton
//! certify or redo each fit.
use nalgebra::{DMatrix, DVector};

use super::optimize::{FitOptions, Minimum, Start};
use crate::compute::{CompiledModel, Observations, Result};

struct Row {
    x: Vec<f64>,
    fixed: Vec<bool>,
    f: f64,
    g: Vec<f64>,
    /// Inverse Hessian over all parameters (rows and columns of fixed ones unused).
    inverse: DMatrix<f64>,
    step: Vec<f64>,
    trial: Vec<f64>,
    t: f64,
    iterations: usize,
    evaluations: usize,
    /// Trials the current line search has rejected.
    rejections: usize,
    done: Option<(bool, String)>,
}

/// Minimise from each start with BFGS from `curvature`'s inverse (one matrix for every row;
/// the rows of fixed parameters are ignored). `obs` holds one dataset per start, or one for all.
pub fn minimize_from_curvature(
    model: &CompiledModel,
    obs: &Observations,
    starts: &[Start],
    bounds: &[[f64; 2]],
    curvature: &DMatrix<f64>,
    options: &FitOptions,
) -> Result<Vec<Minimum>> {
    // One inverse per pattern of fixed parameters.
    let mut inverses: Vec<(Vec<bool>, DMatrix<f64>)> = Vec::new();
    let mut per_row = Vec::with_capacity(starts.len());
    for s in starts {
        if !inverses.iter().any(|(f, _)| *f == s.fixed) {
            inverses.push((s.fixed.clone(), inverse_on_free(curvature, &s.fixed)));
        }
        per_row.push(inverses.iter().find(|(f, _)| *f == s.fixed).expect("computed").1.clone());
    }
    bfgs(model, obs, starts, bounds, per_row, None, options)
}

/// Minimise from each start with BFGS from the inverse of its own `curvatures[i]` (as
/// [`fisher_curvatures`] gives). A row whose line search rejects `max_rejections` trials in a
/// row stops there, unconverged (BFGS struggles on a very stiff constraint, where Gauss-Newton
/// does not): the caller continues it by another method.
pub fn minimize_from_curvatures(
    model: &CompiledModel,
    obs: &Observations,
    starts: &[Start],
    bounds: &[[f64; 2]],
    curvatures: &[DMatrix<f64>],
    max_rejections: Option<usize>,
    options: &FitOptions,
) -> Result<Vec<Minimum>> {
    let inverses = starts.iter().zip(curvatures).map(|(s, h)| inverse_on_free(h, &s.fixed)).collect();
    bfgs(model, obs, starts, bounds, inverses, max_rejections, options)
}

fn bfgs(
    model: &CompiledModel,
    obs: &Observations,
    starts: &[Start],
    bounds: &[[f64; 2]],
    inverses: Vec<DMatrix<f64>>,
    max_rejections: Option<usize>,
    options: &FitOptions,
) -> Result<Vec<Minimum>> {
    let p = model.npars();
    let mut rows: Vec<Row> = Vec::with_capacity(starts.len());
    for (s, inverse) in starts.iter().zip(inverses) {
        let x: Vec<f64> = s
            .x
            .iter()
            .zip(bounds)
            .zip(&s.fixed)
            .map(|((v, b), fixed)| if *fixed { *v } else { v.clamp(b[0], b[1]) })
            .collect();
        rows.push(Row {
            trial: x.clone(),
            x,
            fixed: s.fixed.clone(),
            f: f64::NAN,
            g: vec![0.0; p],
            inverse,
            step: vec![0.0; p],
            t: 1.0,
            iterations: 0,
            evaluations: 0,
            rejections: 0,
            done: None,
        });
    }
    let mut first = true;
    loop {
        let pending: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].done.is_none()).collect();
        if pending.is_empty() {
            break;
        }
        let theta: Vec<Vec<f64>> = pending.iter().map(|&i| rows[i].trial.clone()).collect();
        let sub_obs = obs.select(model, &pending)?;
        let eval = model.nll_grad(&model.params(&theta)?, &sub_obs)?;
        for (k, &i) in pending.iter().enumerate() {
            let row = &mut rows[i];
            row.evaluations += 1;
            let f = eval.nll[k];
            let g = &eval.grad[k * p..(k + 1) * p];
            if first {
                if !f.is_finite() {
                    row.done = Some((false, "the likelihood is not finite at the starting point".into()));
                    continue;
                }
            } else {
                let dx: f64 = row.trial.iter().zip(&row.x).zip(&row.g).map(|((t, x), g)| (t - x) * g).sum();
                if !(f.is_finite() && f <= row.f + 1e-4 * dx.min(0.0)) {
                    row.rejections += 1;
                    if max_rejections.is_some_and(|m| row.rejections >= m) {
                        row.done = Some((false, format!("stopped after {} rejected trials in a row", row.rejections)));
                    } else if row.t > 1e-4 {
                        row.t *= 0.25;
                        set_trial(row, bounds);
                    } else if -dx < 1e3 * options.tolerance.max(f64::EPSILON * row.f.abs()) {
                        row.done = Some((true, "converged: no further decrease at numerical precision".into()));
                    } else {
                        row.done = Some((false, "line search failed".into()));
                    }
                    continue;
                }
                row.iterations += 1;
                row.rejections = 0;
                update(row, g);
            }
            row.x = row.trial.clone();
            row.f = f;
            row.g.copy_from_slice(g);
            if row.iterations >= options.max_iterations {
                row.done = Some((false, format!("no convergence in {} steps", row.iterations)));
                continue;
            }
            propose(row, bounds, options);
        }
        first = false;
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let (converged, message) = r.done.expect("every row finished");
            Minimum { x: r.x, nll: r.f, converged, iterations: r.iterations, evaluations: r.evaluations, message }
        })
        .collect())
}

/// The inverse of `h` on the parameters that are not fixed (zero elsewhere), by Cholesky after
/// Jacobi scaling; a tiny ridge keeps parameters the data do not constrain invertible.
fn inverse_on_free(h: &DMatrix<f64>, fixed: &[bool]) -> DMatrix<f64> {
    let free: Vec<usize> = (0..fixed.len()).filter(|&i| !fixed[i]).collect();
    let n = free.len();
    let scale: Vec<f64> = free.iter().map(|&i| if h[(i, i)] > 0.0 { 1.0 / h[(i, i)].sqrt() } else { 1.0 }).collect();
    let mut m = DMatrix::zeros(n, n);
    for a in 0..n {
        for b in 0..n {
            m[(a, b)] = h[(free[a], free[b])] * scale[a] * scale[b];
        }
        m[(a, a)] += 1e-10;
    }
    let inv = m.cholesky().map(|c| spd_inverse(c.l_dirty())).unwrap_or_else(|| DMatrix::identity(n, n));
    let p = fixed.len();
    let mut out = DMatrix::zeros(p, p);
    for a in 0..n {
        for b in 0..n {
            out[(free[a], free[b])] = inv[(a, b)] * scale[a] * scale[b];
        }
    }
    out
}

/// The inverse `L^-T L^-1` of the matrix whose Cholesky factor is the lower triangle of `l`
/// (what lies above the diagonal is ignored), by column-oriented loops over contiguous
/// columns: several times faster than nalgebra's `Cholesky::inverse` at the sizes of published
/// models (0.8 ms for P = 126).
fn spd_inverse(l: &DMatrix<f64>) -> DMatrix<f64> {
    let n = l.nrows();
    let ls = l.as_slice(); // column-major: L_ik = ls[k * n + i]
    // Column j of L^-1, by forward substitution of e_j (zero above j).
    let mut linv = vec![0.0; n * n];
    for (j, x) in linv.chunks_exact_mut(n).enumerate() {
        x[j] = 1.0;
        for k in j..n {
            let xk = x[k] / ls[k * n + k];
            x[k] = xk;
            if xk != 0.0 {
                for (xi, li) in x[k + 1..].iter_mut().zip(&ls[k * n + k + 1..(k + 1) * n]) {
                    *xi -= xk * li;
                }
            }
        }
    }
    // (L^-T L^-1)_ij = sum_{k >= max(i, j)} Linv_ki Linv_kj: dots of contiguous columns.
    let mut inv = DMatrix::zeros(n, n);
    for j in 0..n {
        for i in j..n {
            let a = &linv[i * n + i..(i + 1) * n];
            let b = &linv[j * n + i..(j + 1) * n];
            let v: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
            inv[(i, j)] = v;
            inv[(j, i)] = v;
        }
    }
    inv
}

/// BFGS update of the inverse Hessian with the accepted step s and gradient change y.
fn update(row: &mut Row, g_new: &[f64]) {
    let p = row.x.len();
    let s = DVector::from_iterator(p, row.trial.iter().zip(&row.x).map(|(a, b)| a - b));
    let y = DVector::from_iterator(p, g_new.iter().zip(&row.g).map(|(a, b)| a - b));
    let sy = s.dot(&y);
    if sy <= 1e-12 * s.norm() * y.norm() {
        return;
    }
    let rho = 1.0 / sy;
    let hy = &row.inverse * &y;
    let yhy = y.dot(&hy);
    // H+ = H - rho (s hy^T + hy s^T) + (rho^2 y.Hy + rho) s s^T
    let c = rho * rho * yhy + rho;
    row.inverse.ger(-rho, &s, &hy, 1.0);
    row.inverse.ger(-rho, &hy, &s, 1.0);
    row.inverse.ger(c, &s, &s, 1.0);
}

/// Hold parameters at bounds pushed outward, take the quasi-Newton step on the others.
fn propose(row: &mut Row, bounds: &[[f64; 2]], options: &FitOptions) {
    let p = row.x.len();
    let held: Vec<usize> = (0..p)
        .filter(|&i| {
            let [lo, hi] = bounds[i];
            let eps = 1e-10 * (1.0 + (hi - lo).abs());
            !row.fixed[i] && ((row.x[i] <= lo + eps && row.g[i] > 0.0) || (row.x[i] >= hi - eps && row.g[i] < 0.0))
        })
        .collect();
    let mut g = DVector::from_iterator(p, row.g.iter().zip(&row.fixed).map(|(g, f)| if *f { 0.0 } else { *g }));
    for &i in &held {
        g[i] = 0.0;
    }
    // d = -(H^-1)_FF g_F = -[H^-1 g - H^-1_.A (H^-1_AA)^-1 (H^-1 g)_A] on the free set F.
    let mut hg = &row.inverse * &g;
    if !held.is_empty() {
        let a = held.len();
        let mut haa = DMatrix::zeros(a, a);
        for (x, &i) in held.iter().enumerate() {
            for (y, &j) in held.iter().enumerate() {
                haa[(x, y)] = row.inverse[(i, j)];
            }
        }
        let rhs = DVector::from_iterator(a, held.iter().map(|&i| hg[i]));
        if let Some(z) = haa.lu().solve(&rhs) {
            for i in 0..p {
                let corr: f64 = held.iter().zip(z.iter()).map(|(&j, zj)| row.inverse[(i, j)] * zj).sum();
                hg[i] -= corr;
            }
        }
        for &i in &held {
            hg[i] = 0.0;
        }
    }
    let decrement = g.dot(&hg);
    if g.iter().all(|v| *v == 0.0) {
        row.done = Some((true, "converged: zero gradient on the free parameters".into()));
        return;
    }
    if decrement <= 0.0 {
        // Not a descent direction: fall back to steepest descent scaled by the diagonal.
        for i in 0..p {
            hg[i] = g[i] * row.inverse[(i, i)].abs().max(1e-12);
        }
    } else if 0.5 * decrement < options.tolerance {
        row.done = Some((true, format!("converged: predicted distance {:.1e}", 0.5 * decrement)));
        return;
    }
    for i in 0..p {
        row.step[i] = if row.fixed[i] { 0.0 } else { -hg[i] };
    }
    row.t = 1.0;
    set_trial(row, bounds);
}

fn set_trial(row: &mut Row, bounds: &[[f64; 2]]) {
    row.trial = row
        .x
        .iter()
        .zip(&row.step)
        .zip(bounds)
        .zip(&row.fixed)
        .map(|(((x, s), b), fixed)| if *fixed { *x } else { (x + row.t * s).clamp(b[0], b[1]) })
        .collect();
}

/// The expected Fisher information at `x` (Asimov data of `x`): J^T diag(1/lambda) J plus the
/// constraints' curvature at their expected auxiliary data.
pub fn expected_curvature(model: &CompiledModel, x: &[f64]) -> Result<DMatrix<f64>> {
    let asimov = model.expected_data(&[x.to_vec()])?.remove(0);
    let obs = model.observations(std::slice::from_ref(&asimov))?;
    let e = model.nll_grad_jacobian(&model.params(&[x.to_vec()])?, &obs)?;
    let (p, nb) = (model.npars(), model.nbins());
    let mut h = DMatrix::zeros(p, p);
    fisher_add(&mut h, &e.jacobian[..nb * p], &e.lambda[..nb]);
    for (i, c) in model.constraint_curvature(x, &asimov).into_iter().enumerate() {
        h[(i, i)] += c;
    }
    Ok(h)
}

/// The Fisher information of each dataset's NLL at each point `xs[i]` (clamped to `bounds` where
/// free): J^T diag(1/lambda) J from one batched Jacobian evaluation, plus the constraints'
/// curvature at the dataset's auxiliary data. `obs` holds one dataset per point or one for all.
pub fn fisher_curvatures(
    model: &CompiledModel,
    obs: &Observations,
    xs: &[Vec<f64>],
) -> Result<Vec<DMatrix<f64>>> {
    let e = model.nll_grad_jacobian(&model.params(xs)?, obs)?;
    let (p, nb) = (model.npars(), model.nbins());
    Ok(xs
        .iter()
        .enumerate()
        .map(|(k, x)| {
            let jac = &e.jacobian[k * nb * p..(k + 1) * nb * p];
            let lambda = &e.lambda[k * nb..(k + 1) * nb];
            let data = obs.row(if obs.rows() == 1 { 0 } else { k });
            let mut h = DMatrix::zeros(p, p);
            fisher_add(&mut h, jac, lambda);
            for (i, c) in model.constraint_curvature(x, data).into_iter().enumerate() {
                h[(i, i)] += c;
            }
            h
        })
        .collect())
}

/// h += J^T diag(1/lambda) J for the rate Jacobian `jac` `[NB * P]`, row-major; `h` must be
/// symmetric (the lower triangle is accumulated, then mirrored).
fn fisher_add(h: &mut DMatrix<f64>, jac: &[f64], lambda: &[f64]) {
    let p = h.nrows();
    let hs = h.as_mut_slice(); // column-major: h_ij = hs[j * p + i]
    for (b, l) in lambda.iter().enumerate() {
        let w = 1.0 / l.max(1e-300);
        let row = &jac[b * p..(b + 1) * p];
        for (j, &rj) in row.iter().enumerate() {
            if rj == 0.0 {
                continue;
            }
            // Column j of h, on and below the diagonal: h[i, j] += w J_bi J_bj.
            for (hij, &ri) in hs[j * p + j..(j + 1) * p].iter_mut().zip(&row[j..]) {
                *hij += w * ri * rj;
            }
        }
    }
    mirror_lower(h);
}

/// Copy the lower triangle of `h` onto its upper triangle.
pub(crate) fn mirror_lower(h: &mut DMatrix<f64>) {
    let p = h.nrows();
    for j in 0..p {
        for i in j + 1..p {
            h[(j, i)] = h[(i, j)];
        }
    }
}
