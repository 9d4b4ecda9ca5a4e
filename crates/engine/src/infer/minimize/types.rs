//! What a fit is asked and what it answers, the same for every method.

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
