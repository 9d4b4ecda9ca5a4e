//! The Gauss-Newton (Fisher) matrix of a large model by its structure, with no P x P matrix:
//! `H = J^T W J + diag(c)` from the sparse rate Jacobian, solved by block elimination.
//!
//! A free parameter whose Jacobian column touches one bin at most (a staterror, shapesys or
//! shapefactor gamma) is local; the others (the POI, normsys, histosys, lumi) are global. In
//! Jacobi-scaled coordinates, with `a_b` the global and `u_b` the local entries of bin `b`,
//!
//! ```text
//! H = [[A, B], [B^T, D]],   A = sum_b w_b a_b a_b^T + diag,   B_b = w_b a_b u_b^T,
//! D = block-diagonal per bin, D_b = w_b u_b u_b^T + diag
//! S = A - B D^-1 B^T = diag + sum_b w_b (1 - w_b u_b^T D_b^-1 u_b) a_b a_b^T
//! ```
//!
//! so the Schur complement `S` (G x G over the globals) takes one rank-one term per bin, and a
//! solve costs the model's size plus a G x G Cholesky. The damping and the tiny ridge are those
//! of the dense solve (`linalg.rs`), so the step is the same up to rounding.
use nalgebra::{DMatrix, DVector};

use super::curvature::gauss_newton_weights;
use crate::compute::{CompiledModel, Observations, Result, SparseJacobian};

/// The curvature of the NLL of `obs` (its first dataset) at `x` by its structure: the Fisher
/// information (`expected`, weights 1 / lambda, as [`super::fisher_curvatures`]) or the
/// Gauss-Newton matrix (weights n / lambda^2, as a Gauss-Newton step).
pub fn structured_curvature(
    model: &CompiledModel,
    obs: &Observations,
    x: &[f64],
    expected: bool,
) -> Result<StructuredCurvature> {
    let e = model.nll_grad_sparse_jacobian(&model.params(&[x.to_vec()])?, obs)?;
    let data = obs.row(0);
    let nb = model.nbins();
    let c = model.constraint_curvature(x, data);
    let jacobian = e.jacobians.into_iter().next().expect("one point");
    Ok(if expected {
        let weights = e.lambda.iter().map(|l| Some(1.0 / l.max(1e-300)));
        StructuredCurvature::new(jacobian, weights, &c)
    } else {
        StructuredCurvature::new(jacobian, gauss_newton_weights(&e.lambda, &data[..nb]), &c)
    })
}

/// Where a parameter's Jacobian column lies.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Support {
    None,
    Bin(u32),
    Many,
}

/// `J^T W J + diag(c)` kept as its pieces.
#[derive(Debug, Clone, Default)]
pub struct StructuredCurvature {
    jacobian: SparseJacobian,
    /// Per bin: its weight, 0 where the bin adds nothing.
    weights: Vec<f64>,
    /// The constraints' curvature.
    c: Vec<f64>,
    /// `H_ii`.
    diagonal: Vec<f64>,
    support: Vec<Support>,
}

/// What the scaled matrix adds to its diagonal besides the constraints: the damping `mu`, and
/// for solves (`ridge`) 1e-12 where `H_ii <= 0`, as `linalg::solve`.
#[derive(Debug, Clone, Copy)]
struct Added {
    mu: f64,
    ridge: bool,
}

/// Per-bin pieces of a solve: the scaled global entries `a_b` (as indices into the globals) and
/// the free local entries `u_b` (as parameters).
struct BinSplit {
    globals: Vec<(usize, f64)>,
    locals: Vec<(usize, f64)>,
}

impl StructuredCurvature {
    /// From the rate Jacobian, each bin's weight (`None`: the bin adds nothing) and the
    /// constraints' curvature.
    pub fn new(jacobian: SparseJacobian, weights: impl Iterator<Item = Option<f64>>, c: &[f64]) -> Self {
        let p = jacobian.npars();
        let weights: Vec<f64> = weights.map(|w| w.filter(|w| w.is_finite() && *w != 0.0).unwrap_or(0.0)).collect();
        let mut diagonal = c.to_vec();
        let mut support = vec![Support::None; p];
        for (b, &w) in weights.iter().enumerate() {
            let (params, values) = jacobian.row(b);
            for (&i, &v) in params.iter().zip(values) {
                let i = i as usize;
                diagonal[i] += w * v * v;
                support[i] = match support[i] {
                    Support::None => Support::Bin(b as u32),
                    Support::Bin(o) if o == b as u32 => Support::Bin(o),
                    _ => Support::Many,
                };
            }
        }
        StructuredCurvature { jacobian, weights, c: c.to_vec(), diagonal, support }
    }

    /// `H_ii`.
    pub fn diagonal(&self, i: usize) -> f64 {
        self.diagonal[i]
    }

    /// Jacobi scale `1 / sqrt(H_ii)` (1 where `H_ii <= 0`).
    fn scale(&self, i: usize) -> f64 {
        let d = self.diagonal[i];
        if d > 0.0 { 1.0 / d.sqrt() } else { 1.0 }
    }

    /// The globals among `free` (their positions, -1 for the others) and the per-bin splits of
    /// the scaled Jacobian over `free`.
    fn split(&self, free: &[usize]) -> (Vec<usize>, Vec<isize>, Vec<BinSplit>) {
        let p = self.diagonal.len();
        let mut position = vec![-1isize; p];
        let mut is_free = vec![false; p];
        let mut globals = Vec::new();
        for &i in free {
            is_free[i] = true;
            if self.support[i] == Support::Many {
                position[i] = globals.len() as isize;
                globals.push(i);
            }
        }
        let bins = (0..self.weights.len())
            .map(|b| {
                let mut split = BinSplit { globals: Vec::new(), locals: Vec::new() };
                if self.weights[b] == 0.0 {
                    return split;
                }
                let (params, values) = self.jacobian.row(b);
                for (&i, &v) in params.iter().zip(values) {
                    let i = i as usize;
                    if !is_free[i] {
                        continue;
                    }
                    let scaled = v * self.scale(i);
                    if position[i] >= 0 {
                        split.globals.push((position[i] as usize, scaled));
                    } else {
                        split.locals.push((i, scaled));
                    }
                }
                split
            })
            .collect();
        (globals, position, bins)
    }

    /// The scaled matrix's diagonal beyond `J^T W J`: the constraints and what `added` says.
    fn extra(&self, i: usize, added: Added) -> f64 {
        let s = self.scale(i);
        self.c[i] * s * s + added.mu + if added.ridge && self.diagonal[i] <= 0.0 { 1e-12 } else { 0.0 }
    }

    /// Solve `(H_FF + mu diag H_FF) d = -g_F` on the parameters `free`; `d` in the order of
    /// `free`. `None` where the matrix is not positive definite.
    pub fn solve(&self, g: &[f64], free: &[usize], mu: f64) -> Option<Vec<f64>> {
        let rhs: Vec<f64> = g.iter().enumerate().map(|(i, g)| -g * self.scale(i)).collect();
        let x = self.solve_scaled(&rhs, free, mu)?;
        Some(free.iter().map(|&i| x[i] * self.scale(i)).collect())
    }

    /// The scaled system `M x = r` over `free` (x indexed by parameter).
    fn solve_scaled(&self, r: &[f64], free: &[usize], mu: f64) -> Option<Vec<f64>> {
        let added = Added { mu, ridge: true };
        let (globals, _, bins) = self.split(free);
        let ng = globals.len();
        let mut x = vec![0.0; r.len()];
        // Locals in no weighted bin: their own diagonal.
        for &i in free {
            if self.support[i] != Support::Many {
                let lam = self.extra(i, added);
                if lam <= 0.0 {
                    if r[i] != 0.0 && !self.in_weighted_bin(i) {
                        return None;
                    }
                    continue;
                }
                x[i] = r[i] / lam;
            }
        }
        // Per bin: z = D_b^-1 u_b and y = D_b^-1 r_b (kept per local, in `z` and `x`), and the
        // bin's rank-one term of S and of its right-hand side.
        let mut z = vec![0.0; r.len()];
        let mut s = DMatrix::zeros(ng, ng);
        for (a, &i) in globals.iter().enumerate() {
            s[(a, a)] = self.extra(i, added);
        }
        let mut rhs = DVector::from_iterator(ng, globals.iter().map(|&i| r[i]));
        for (b, split) in bins.iter().enumerate() {
            if split.globals.is_empty() && split.locals.is_empty() {
                continue;
            }
            let w = self.weights[b];
            let (uz, uy) = self.local_block(split, w, added, r, &mut z, &mut x)?;
            let coupling = w * (1.0 - w * uz);
            for &(a, va) in &split.globals {
                rhs[a] -= w * va * uy;
                for &(c, vc) in &split.globals {
                    s[(a, c)] += coupling * va * vc;
                }
            }
        }
        let xg = if ng > 0 { s.cholesky()?.solve(&rhs) } else { DVector::zeros(0) };
        for (a, &i) in globals.iter().enumerate() {
            x[i] = xg[a];
        }
        // Back-substitution: x_L = y - w (a_b . x_G) z.
        for (b, split) in bins.iter().enumerate() {
            if split.locals.is_empty() || split.globals.is_empty() {
                continue;
            }
            let ax: f64 = split.globals.iter().map(|&(a, v)| v * xg[a]).sum();
            for &(i, _) in &split.locals {
                x[i] -= self.weights[b] * ax * z[i];
            }
        }
        Some(x)
    }

    /// Whether the solves take the structured path: the globals, whose Schur complement is the
    /// only dense matrix, number `globals` of `free`.
    pub fn globals(&self, free: &[usize]) -> usize {
        free.iter().filter(|&&i| self.support[i] == Support::Many).count()
    }

    /// Whether parameter `i` has an entry in a bin of nonzero weight.
    fn in_weighted_bin(&self, i: usize) -> bool {
        matches!(self.support[i], Support::Bin(b) if self.weights[b as usize] != 0.0)
    }

    /// Solve bin `b`'s local block `D_b = w u u^T + diag(extra)` for `u` (into `z`) and the
    /// locals' right-hand side (into `x`); returns `(u . z, u . y)`.
    fn local_block(
        &self,
        split: &BinSplit,
        w: f64,
        added: Added,
        r: &[f64],
        z: &mut [f64],
        x: &mut [f64],
    ) -> Option<(f64, f64)> {
        match split.locals.as_slice() {
            [] => Some((0.0, 0.0)),
            &[(i, u)] => {
                let d = self.extra(i, added) + w * u * u;
                if d.is_nan() || d <= 0.0 {
                    return None;
                }
                z[i] = u / d;
                x[i] = r[i] / d;
                Some((u * z[i], u * x[i]))
            }
            locals => {
                let m = locals.len();
                let block = DMatrix::from_fn(m, m, |a, c| {
                    w * locals[a].1 * locals[c].1 + if a == c { self.extra(locals[a].0, added) } else { 0.0 }
                });
                let chol = block.cholesky()?;
                let zu = chol.solve(&DVector::from_iterator(m, locals.iter().map(|l| l.1)));
                let yr = chol.solve(&DVector::from_iterator(m, locals.iter().map(|l| r[l.0])));
                let (mut uz, mut uy) = (0.0, 0.0);
                for (a, &(i, u)) in locals.iter().enumerate() {
                    z[i] = zu[a];
                    x[i] = yr[a];
                    uz += u * zu[a];
                    uy += u * yr[a];
                }
                Some((uz, uy))
            }
        }
    }

    /// The diagonal of `H^-1` on the parameters `free` (0 elsewhere), with the tiny ridge of
    /// `linalg::inverse_on_free`; `None` where `H` is not positive definite.
    pub fn inverse_diagonal(&self, free: &[usize]) -> Option<Vec<f64>> {
        let added = Added { mu: 1e-10, ridge: false };
        let (globals, _, bins) = self.split(free);
        let ng = globals.len();
        let mut out = vec![0.0; self.diagonal.len()];
        let mut z = vec![0.0; out.len()];
        let mut y = vec![0.0; out.len()];
        let r = vec![0.0; out.len()];
        let mut s = DMatrix::zeros(ng, ng);
        for (a, &i) in globals.iter().enumerate() {
            s[(a, a)] = self.extra(i, added);
        }
        for &i in free {
            if self.support[i] != Support::Many {
                out[i] = 1.0 / self.extra(i, added);
            }
        }
        for (b, split) in bins.iter().enumerate() {
            let w = self.weights[b];
            let (uz, _) = self.local_block(split, w, added, &r, &mut z, &mut y)?;
            let coupling = w * (1.0 - w * uz);
            for &(a, va) in &split.globals {
                for &(c, vc) in &split.globals {
                    s[(a, c)] += coupling * va * vc;
                }
            }
            // (D_b^-1)_ii: one local, or the block's inverse.
            match split.locals.as_slice() {
                [] => {}
                &[(i, u)] => out[i] = 1.0 / (self.extra(i, added) + w * u * u),
                locals => {
                    let m = locals.len();
                    let block = DMatrix::from_fn(m, m, |a, c| {
                        w * locals[a].1 * locals[c].1 + if a == c { self.extra(locals[a].0, added) } else { 0.0 }
                    });
                    let inv = block.cholesky()?.inverse();
                    for (a, &(i, _)) in locals.iter().enumerate() {
                        out[i] = inv[(a, a)];
                    }
                }
            }
        }
        let s_inv = if ng > 0 { s.cholesky()?.inverse() } else { DMatrix::zeros(0, 0) };
        for (a, &i) in globals.iter().enumerate() {
            out[i] = s_inv[(a, a)];
        }
        // Locals: + (w z_i)^2 a_b^T S^-1 a_b.
        for (b, split) in bins.iter().enumerate() {
            if split.locals.is_empty() || split.globals.is_empty() {
                continue;
            }
            let mut asa = 0.0;
            for &(a, va) in &split.globals {
                for &(c, vc) in &split.globals {
                    asa += va * s_inv[(a, c)] * vc;
                }
            }
            let w = self.weights[b];
            for &(i, _) in &split.locals {
                out[i] += (w * z[i]).powi(2) * asa;
            }
        }
        for &i in free {
            let s = self.scale(i);
            out[i] *= s * s;
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use nalgebra::DMatrix;

    use super::StructuredCurvature;
    use crate::compute::SparseJacobian;
    use crate::infer::minimize::linalg::{inverse_on_free, solve};

    /// A deterministic sequence in [-1, 1).
    fn noise(k: usize) -> f64 {
        ((k as f64 * 12.9898).sin() * 43758.5453).fract()
    }

    /// 40 bins; parameters 0..3 global (every bin), 3..43 one gamma per bin, 43..53 a second
    /// gamma in the first ten bins (two locals in one bin), 53 a parameter in no bin. Bin 7 has
    /// no weight.
    fn case() -> (SparseJacobian, Vec<Option<f64>>, Vec<f64>) {
        let (nb, p) = (40, 54);
        let mut triplets = Vec::new();
        for b in 0..nb {
            for g in 0..3 {
                triplets.push((b as u32, g as u32, 2.0 + noise(b * 7 + g)));
            }
            triplets.push((b as u32, (3 + b) as u32, 10.0 + 5.0 * noise(b * 3 + 100)));
            if b < 10 {
                triplets.push((b as u32, (43 + b) as u32, 4.0 + noise(b + 300)));
            }
        }
        let weights = (0..nb).map(|b| if b == 7 { None } else { Some(0.05 + 0.02 * noise(b + 500)) }).collect();
        let mut c = vec![0.0; p];
        for (i, c) in c.iter_mut().enumerate().skip(3) {
            *c = 1.0 + noise(i + 900).abs() * 20.0;
        }
        c[1] = 1.0; // a normsys-like unit constraint; 0 and 2 unconstrained
        (SparseJacobian::from_triplets(nb, p, &triplets), weights, c)
    }

    fn dense(j: &SparseJacobian, weights: &[Option<f64>], c: &[f64]) -> DMatrix<f64> {
        let p = j.npars();
        let jd = j.to_dense();
        let mut h = DMatrix::from_diagonal(&nalgebra::DVector::from_column_slice(c));
        for (b, w) in weights.iter().enumerate() {
            let Some(w) = w else { continue };
            for r in 0..p {
                for s in 0..p {
                    h[(r, s)] += w * jd[b * p + r] * jd[b * p + s];
                }
            }
        }
        h
    }

    #[test]
    fn solves_and_inverse_diagonal_equal_the_dense_ones() {
        let (j, weights, c) = case();
        let h = dense(&j, &weights, &c);
        let s = StructuredCurvature::new(j.clone(), weights.iter().copied(), &c);
        let p = j.npars();
        let g: Vec<f64> = (0..p).map(|i| noise(i + 2000)).collect();
        // Everything free, then the first global and some gammas fixed.
        let frees: [Vec<usize>; 2] = [(0..p).collect(), (1..p).filter(|i| i % 5 != 0).collect()];
        for free in &frees {
            assert_eq!(s.globals(free), if free.contains(&0) { 3 } else { 2 });
            for mu in [0.0, 1e-3, 1.0] {
                let want = solve(&h, &g, free, mu).expect("positive definite");
                let got = s.solve(&g, free, mu).expect("positive definite");
                for (a, (x, y)) in want.iter().zip(&got).enumerate() {
                    assert!((x - y).abs() <= 1e-9 * (1.0 + x.abs()), "free {a}, mu {mu}: dense {x}, structured {y}");
                }
            }
            let fixed: Vec<bool> = (0..p).map(|i| !free.contains(&i)).collect();
            let inverse = inverse_on_free(&h, &fixed);
            let diagonal = s.inverse_diagonal(free).expect("positive definite");
            for i in 0..p {
                let (x, y) = (inverse[(i, i)], diagonal[i]);
                assert!((x - y).abs() <= 1e-8 * x.abs().max(1e-300), "parameter {i}: dense {x}, structured {y}");
            }
        }
    }
}
