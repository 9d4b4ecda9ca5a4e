//! What the descents share: the state of one fit between batched evaluations, the loop that
//! evaluates every unfinished fit's trial point in one batch, the trial point along a step
//! (clamped into the step's bounds), the Armijo test and backtracking, the test that holds a
//! parameter at a bound, and the ways a fit stops.
use candle_core::Tensor;

use super::types::{FitOptions, Minimum, Start};
use crate::compute::{CompiledModel, NllGrad, NllGradJacobian, Observations, Result};

/// One fit between evaluations: what every method keeps, and the method's own state `S`.
pub(super) struct Row<S> {
    pub x: Vec<f64>,
    pub fixed: Vec<bool>,
    /// Values at `x`.
    pub f: f64,
    pub g: Vec<f64>,
    /// Bounds of the current step: the box (Gauss-Newton narrows it to one side of each kink).
    pub step_bounds: Vec<[f64; 2]>,
    /// The proposed direction, and the trial point `x + t step` clamped into `step_bounds`.
    pub step: Vec<f64>,
    pub trial: Vec<f64>,
    /// Step length of the current trial.
    pub t: f64,
    /// Accepted steps.
    pub iterations: usize,
    pub evaluations: usize,
    /// Set when the fit stops: whether it converged, and why it stopped.
    pub done: Option<(bool, String)>,
    pub own: S,
}

/// The start's values, free ones clamped into `bounds`; fixed ones stay where they are asked to
/// be (a hypothesis test may fix the POI beyond its fit range).
pub(super) fn clamp_free(s: &Start, bounds: &[[f64; 2]]) -> Vec<f64> {
    s.x.iter().zip(bounds).zip(&s.fixed).map(|((v, b), fixed)| if *fixed { *v } else { v.clamp(b[0], b[1]) }).collect()
}

impl<S> Row<S> {
    /// A fit of `p` parameters from `start`, whose first trial is the start (clamped).
    pub fn new(start: &Start, bounds: &[[f64; 2]], p: usize, own: S) -> Self {
        let x = clamp_free(start, bounds);
        Row {
            trial: x.clone(),
            x,
            fixed: start.fixed.clone(),
            f: f64::NAN,
            g: vec![0.0; p],
            step_bounds: bounds.to_vec(),
            step: vec![0.0; p],
            t: 1.0,
            iterations: 0,
            evaluations: 0,
            done: None,
            own,
        }
    }

    /// Whether the NLL `f` at the trial point decreases enough (Armijo) along the gradient `g`
    /// the step was taken on; and the predicted change `(trial - x).g`.
    pub fn sufficient_decrease(&self, f: f64, g: &[f64]) -> (bool, f64) {
        let dx: f64 = self.trial.iter().zip(&self.x).zip(g).map(|((t, x), g)| (t - x) * g).sum();
        (f.is_finite() && f <= self.f + 1e-4 * dx.min(0.0), dx)
    }

    /// The trial point `x + t step`, clamped into the step's bounds (fixed parameters stay).
    pub fn set_trial(&mut self) {
        self.trial = self
            .x
            .iter()
            .zip(&self.step)
            .zip(&self.step_bounds)
            .zip(&self.fixed)
            .map(|(((x, s), b), fixed)| if *fixed { *x } else { (x + self.t * s).clamp(b[0], b[1]) })
            .collect();
    }

    /// Quarter the step length and take the new trial, unless it is no longer than `shortest`
    /// (then false).
    pub fn backtrack(&mut self, shortest: f64) -> bool {
        if self.t > shortest {
            self.t *= 0.25;
            self.set_trial();
            true
        } else {
            false
        }
    }

    /// Move to the trial point, where the NLL is `f` and its gradient `g`.
    pub fn accept(&mut self, f: f64, g: &[f64]) {
        self.x = self.trial.clone();
        self.f = f;
        self.g.copy_from_slice(g);
    }

    /// Whether parameter `i`, at (within rounding of the `range` it may take) a bound of the
    /// step, has a gradient `g` pushing it outward: the step holds it there.
    pub fn pushed_out(&self, i: usize, g: f64, range: [f64; 2]) -> bool {
        let [lo, hi] = self.step_bounds[i];
        let eps = 1e-10 * (1.0 + (range[1] - range[0]).abs());
        (self.x[i] <= lo + eps && g > 0.0) || (self.x[i] >= hi - eps && g < 0.0)
    }

    pub fn finish(&mut self, converged: bool, message: impl Into<String>) {
        self.done = Some((converged, message.into()));
    }

    /// Converged: the predicted distance to the minimum is `distance`.
    pub fn converged_at(&mut self, distance: f64) {
        self.finish(true, format!("converged: predicted distance {distance:.1e}"));
    }

    /// Converged if a line search that finds no decrease predicted one of `distance`, below what
    /// the NLL's rounding hides; whether it did.
    pub fn converged_at_precision(&mut self, distance: f64, options: &FitOptions) -> bool {
        let converged = distance < 1e3 * options.tolerance.max(f64::EPSILON * self.f.abs());
        if converged {
            self.finish(true, "converged: no further decrease at numerical precision");
        }
        converged
    }

    /// Stops the fit, unconverged, once it has taken the steps allowed; whether it did.
    pub fn out_of_iterations(&mut self, options: &FitOptions) -> bool {
        let out = self.iterations >= options.max_iterations;
        if out {
            self.finish(false, format!("no convergence in {} steps", self.iterations));
        }
        out
    }

    pub fn into_minimum(self) -> Minimum {
        let (converged, message) = self.done.expect("every row finished");
        let (x, nll, iterations, evaluations) = (self.x, self.f, self.iterations, self.evaluations);
        Minimum { x, nll, converged, iterations, evaluations, message }
    }
}

/// A batched evaluation: the NLL and gradient of each point, and what else a method needs.
pub(super) trait Evaluation {
    fn nll(&self) -> &[f64];
    /// `[B * P]`, row-major.
    fn grad(&self) -> &[f64];
}

impl Evaluation for NllGrad {
    fn nll(&self) -> &[f64] {
        &self.nll
    }
    fn grad(&self) -> &[f64] {
        &self.grad
    }
}

impl Evaluation for NllGradJacobian {
    fn nll(&self) -> &[f64] {
        &self.nll
    }
    fn grad(&self) -> &[f64] {
        &self.grad
    }
}

/// What one row is handed after an evaluation: the NLL `f` and gradient `g` at its trial point,
/// the whole batch `eval` where it is entry `k`, its index `i` among the rows, and whether this
/// was the first evaluation (at the starting points, where there is nothing to accept or
/// reject).
pub(super) struct Evaluated<'a, E> {
    pub f: f64,
    pub g: &'a [f64],
    pub eval: &'a E,
    pub k: usize,
    pub i: usize,
    pub first: bool,
}

/// Evaluates the trial point of every unfinished row in one batch with `evaluate`, first at the
/// starting points, and hands each row its values (`visit` accepts or rejects the trial and
/// proposes the next), until every row is done. A row whose NLL is not finite at its start
/// stops there.
pub(super) fn evaluate_until_done<S, E: Evaluation>(
    model: &CompiledModel,
    obs: &Observations,
    rows: &mut [Row<S>],
    evaluate: impl Fn(&Tensor, &Observations) -> Result<E>,
    mut visit: impl FnMut(&mut Row<S>, Evaluated<'_, E>),
) -> Result<()> {
    let p = model.npars();
    let mut first = true;
    loop {
        let pending: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].done.is_none()).collect();
        if pending.is_empty() {
            return Ok(());
        }
        let theta: Vec<Vec<f64>> = pending.iter().map(|&i| rows[i].trial.clone()).collect();
        let sub_obs = obs.select(model, &pending)?;
        let eval = evaluate(&model.params(&theta)?, &sub_obs)?;
        for (k, &i) in pending.iter().enumerate() {
            let row = &mut rows[i];
            row.evaluations += 1;
            let f = eval.nll()[k];
            if first && !f.is_finite() {
                let why = negative_count(model, &row.trial).unwrap_or_default();
                row.finish(false, format!("the likelihood is not finite at the starting point{why}"));
                continue;
            }
            let g = &eval.grad()[k * p..(k + 1) * p];
            visit(row, Evaluated { f, g, eval: &eval, k, i, first });
        }
        first = false;
    }
}

/// Where `x` leaves the likelihood's domain, the first bin that expects a negative count, as
/// ": channel SR bin 1 expects -2.000e-1 events; ..." (no comma: it goes into CSV exports);
/// `None` when every count is at least zero.
fn negative_count(model: &CompiledModel, x: &[f64]) -> Option<String> {
    let expected = model.expected_data(&[x.to_vec()]).ok()?.remove(0);
    let channels = &model.config().channels;
    channels.iter().find_map(|c| {
        let bins = expected.get(c.offset..c.offset + c.nbins)?;
        let (bin, count) = bins.iter().enumerate().find(|(_, v)| **v < 0.0)?;
        Some(format!(": channel {} bin {bin} expects {count:.3e} events; a Poisson mean cannot be negative", c.name))
    })
}
