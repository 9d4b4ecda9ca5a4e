//! The curvature of the NLL from the Jacobian of the rates `J = d lambda / d theta`: `J^T W J`
//! over the bins plus the exact curvature of the constraints (a diagonal). With the expected
//! weights `W = diag(1 / lambda)` it is the Fisher information, BFGS's starting curvature; with
//! the observed ones (`n / lambda^2`) the Gauss-Newton matrix of a Gauss-Newton step.
use nalgebra::DMatrix;

use crate::compute::{CompiledModel, Observations, Result};

/// The expected Fisher information at `x` (Asimov data of `x`): J^T diag(1/lambda) J plus the
/// constraints' curvature at their expected auxiliary data.
pub fn expected_curvature(model: &CompiledModel, x: &[f64]) -> Result<DMatrix<f64>> {
    let asimov = model.expected_data(&[x.to_vec()])?.remove(0);
    let obs = model.observations(std::slice::from_ref(&asimov))?;
    Ok(fisher_curvatures(model, &obs, &[x.to_vec()])?.remove(0))
}

/// The Fisher information of each dataset's NLL at each point `xs[i]`: J^T diag(1/lambda) J
/// from one batched Jacobian evaluation, plus the constraints' curvature at the dataset's
/// auxiliary data. `obs` holds one dataset per point or one for all.
pub fn fisher_curvatures(model: &CompiledModel, obs: &Observations, xs: &[Vec<f64>]) -> Result<Vec<DMatrix<f64>>> {
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
            // w J_bi J_bj, as (w J_bi) J_bj.
            add_jtwj(&mut h, jac, lambda.iter().map(|l| Some((1.0 / l.max(1e-300), 1.0))));
            add_diagonal(&mut h, &model.constraint_curvature(x, data));
            h
        })
        .collect())
}

/// `J^T W J + diag(constraint curvature c)` into `h`, with the Poisson weight n / lambda^2 (the
/// observed curvature in lambda), or 1 / lambda in bins with no events (the expected one).
pub(super) fn gauss_newton_matrix(h: &mut DMatrix<f64>, jac: &[f64], lambda: &[f64], n: &[f64], c: &[f64]) {
    h.fill(0.0);
    // w J_bi J_bj, as (sqrt(w) J_bi) (sqrt(w) J_bj).
    let factors = gauss_newton_weights(lambda, n).map(|w| w.map(|w| (w.sqrt(), w.sqrt())));
    add_jtwj(h, jac, factors);
    add_diagonal(h, c);
}

/// Each bin's Gauss-Newton weight: n / lambda^2, or 1 / lambda where the bin has no events;
/// `None` where it is not a positive finite number (the bin adds nothing).
pub(super) fn gauss_newton_weights<'a>(lambda: &'a [f64], n: &'a [f64]) -> impl Iterator<Item = Option<f64>> + 'a {
    lambda.iter().zip(n).map(|(&l, &nb_count)| {
        let w = if nb_count > 0.0 { nb_count / (l * l) } else { 1.0 / l.max(1e-300) };
        if !w.is_finite() || w == 0.0 { None } else { Some(w) }
    })
}

/// h += J^T W J for the rate Jacobian `jac` `[NB * P]` (row-major), each bin's weight given as
/// two factors `(a_b, c_b)` (`None`: the bin adds nothing): h_ij += (a_b J_bi) (c_b J_bj), which
/// fixes the rounding each caller has always had. One bin at a time, over the columns its row
/// touches (most parameters act on few bins), on and below the diagonal, then mirrored: `h` must
/// be symmetric.
fn add_jtwj(h: &mut DMatrix<f64>, jac: &[f64], factors: impl Iterator<Item = Option<(f64, f64)>>) {
    let p = h.nrows();
    let hs = h.as_mut_slice(); // column-major: h_ij = hs[j * p + i]
    let mut u = vec![0.0; p];
    for (b, factors) in factors.enumerate() {
        let Some((a, c)) = factors else { continue };
        let row = &jac[b * p..(b + 1) * p];
        for (ui, ji) in u.iter_mut().zip(row) {
            *ui = a * ji;
        }
        for (j, &jj) in row.iter().enumerate() {
            let vj = c * jj;
            if vj == 0.0 {
                continue;
            }
            // Column j of h, on and below the diagonal.
            for (hij, &ui) in hs[j * p + j..(j + 1) * p].iter_mut().zip(&u[j..]) {
                *hij += ui * vj;
            }
        }
    }
    mirror_lower(h);
}

/// h_ii += c_i.
fn add_diagonal(h: &mut DMatrix<f64>, c: &[f64]) {
    for (i, c) in c.iter().enumerate() {
        h[(i, i)] += c;
    }
}

/// Copy the lower triangle of `h` onto its upper triangle.
fn mirror_lower(h: &mut DMatrix<f64>) {
    let p = h.nrows();
    for j in 0..p {
        for i in j + 1..p {
            h[(j, i)] = h[(i, j)];
        }
    }
}
