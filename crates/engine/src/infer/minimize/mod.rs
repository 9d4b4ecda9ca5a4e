//! Bounded minimisation of the NLL, batched over many fits at once.
//!
//! The default, [`minimize`], depends on the model:
//! - smooth NLL (interpolation codes 4/4p, 2: no kinks): gradient-only BFGS (`bfgs.rs`) started
//!   from the Fisher information at each start (one batched Jacobian evaluation,
//!   `curvature.rs`), then projected Gauss-Newton (`gauss_newton.rs`) from BFGS's minimum:
//!   Gauss-Newton's convergence test certifies it, usually at its first evaluation. Where BFGS
//!   does not converge (a line search rejecting 3 trials in a row stops it, as on ERJR's very
//!   stiff constraints), Gauss-Newton makes the fit from the start. A BFGS step needs only the
//!   gradient and O(P^2) work, a Gauss-Newton step the Jacobian and a Cholesky factorisation:
//!   the 1Lbb and tttt fits take 55-60% of the time of Gauss-Newton alone, at the same minima
//!   over the whole parity suite (docs/benchmarks.md);
//! - NLL with kinks (histosys code 0, normsys code 1): projected Gauss-Newton with its handling
//!   of kinks, [`minimize_gauss_newton`].
//!
//! Toys fit by BFGS alone, from one expected curvature for all ([`expected_curvature`],
//! [`minimize_from_curvatures`]).
//!
//! Large models ([`dense_curvature`] false: over a thousand parameters, such as a staterror
//! gamma per bin of a big histogram) never form a P x P matrix: every fit is projected
//! Gauss-Newton on the structured Gauss-Newton matrix (`structured.rs`), from the sparse rate
//! Jacobian, in time and memory linear in the model's size.
//!
//! Files: `types.rs` (what a fit is asked and answers), `step.rs` (the state of a fit, the loop
//! over batched evaluations and the line search, shared by both methods), `curvature.rs`
//! (`J^T W J` plus the constraints: Fisher information and Gauss-Newton matrix), `linalg.rs`
//! (solves and inverses on the free parameters), `structured.rs` (the same for large models,
//! without a P x P matrix), `gauss_newton.rs`, `bfgs.rs`. Nothing imports
//! from this file but the rest of the crate.
mod bfgs;
mod curvature;
mod gauss_newton;
mod linalg;
mod step;
mod structured;
mod types;

pub use bfgs::minimize_from_curvatures;
pub use curvature::{expected_curvature, fisher_curvatures};
pub use gauss_newton::minimize_gauss_newton;
pub use structured::{StructuredCurvature, structured_curvature};
pub use types::{FitOptions, Minimum, Start};

use crate::compute::{CompiledModel, Observations, Result};

/// Minimise the NLL of `model` on `obs` from each start by the default method: BFGS certified
/// by Gauss-Newton where the NLL is smooth, Gauss-Newton with its trials across kinks
/// ([`minimize_gauss_newton`]) where it has kinks. `obs` holds one dataset per start, or one
/// dataset shared by all.
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

/// Models with more parameters than this fit without any P x P matrix (`structured.rs`).
pub const DENSE_MAX_PARAMS: usize = 1000;
/// ... or with a dense rate Jacobian `[NB, P]` of more values than this (8 bytes each).
pub const DENSE_MAX_JACOBIAN: usize = 4_000_000;

/// Whether fits of `model` use dense P x P curvature matrices (small models: the dense rate
/// Jacobian, Gauss-Newton's secant correction and BFGS), or the structured Gauss-Newton matrix
/// from the sparse rate Jacobian, linear in the model's size (large models).
pub fn dense_curvature(model: &CompiledModel) -> bool {
    dense_size(model.npars(), model.nbins())
}

/// [`dense_curvature`] from the counts (also what `model::Footprint` estimates with).
pub fn dense_size(npars: usize, nbins: usize) -> bool {
    npars <= DENSE_MAX_PARAMS && npars.saturating_mul(nbins) <= DENSE_MAX_JACOBIAN
}

/// Trials one BFGS line search may reject before the descent hands over to Gauss-Newton. Over
/// the parity suite's smooth fits BFGS rejects at most 3 trials in a whole fit in all but a
/// handful; the stiff constraints of ERJR make it reject hundreds (and, alone, not converge).
const BFGS_MAX_REJECTIONS: usize = 3;

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
    if !dense_curvature(model) {
        // BFGS would hold a P x P inverse: Gauss-Newton from the start.
        return gauss_newton::descend(model, obs, starts, bounds, options);
    }
    let xs: Vec<Vec<f64>> = starts.iter().map(|s| step::clamp_free(s, bounds)).collect();
    let curvatures = fisher_curvatures(model, obs, &xs)?;
    let quick = minimize_from_curvatures(model, obs, starts, bounds, &curvatures, Some(BFGS_MAX_REJECTIONS), options)?;
    // Where BFGS did not converge, Gauss-Newton starts afresh: from where BFGS gave up on a stiff
    // problem it can crawl for a hundred steps (ERJR's signal patches) where from the start it
    // takes a handful.
    let polish: Vec<Start> = quick
        .iter()
        .zip(starts)
        .map(|(m, s)| Start { x: if m.converged { m.x.clone() } else { s.x.clone() }, fixed: s.fixed.clone() })
        .collect();
    let mut out = gauss_newton::descend(model, obs, &polish, bounds, options)?;
    for (m, q) in out.iter_mut().zip(&quick) {
        m.iterations += q.iterations;
        m.evaluations += q.evaluations + 1;
    }
    Ok(out)
}
