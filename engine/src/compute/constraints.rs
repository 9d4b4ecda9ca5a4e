//! Constraint terms of the auxiliary measurements, batched.
//!
//! Gaussian: 0.5 ((theta - a) / sigma)^2. Poisson (shapesys): the Poisson deviance
//! r - a - a ln(r / a) with r = gamma tau, which stays accurate when tau is huge (a shapesys with
//! a tiny relative uncertainty has tau ~ 1e11; the textbook form r - a ln r would lose every
//! digit of the NLL to cancellation). The data-only remainder of -ln L is in the constant.
use candle_core::{Device, Tensor};

use super::Result;

#[derive(Debug, Clone)]
pub(super) struct ConstraintTensors {
    pub gauss: Option<GaussTensors>,
    pub poisson: Option<PoissonTensors>,
}

#[derive(Debug, Clone)]
pub(super) struct GaussTensors {
    /// `[1, Ng]`: 1 / sigma and 1 / sigma^2.
    pub inv_sigma: Tensor,
    pub inv_var: Tensor,
    /// Sum of ln(sigma sqrt(2 pi)): the normalisation pyhf includes.
    pub log_norm: f64,
    /// Position of each Gaussian constraint's datum in the auxiliary data.
    pub aux_pos: Vec<usize>,
}

#[derive(Debug, Clone)]
pub(super) struct PoissonTensors {
    /// `[1, Np]`: tau of each bin.
    pub factors: Tensor,
    pub aux_pos: Vec<usize>,
}

impl ConstraintTensors {
    pub fn new(
        sigmas: Vec<f64>,
        gauss_pos: Vec<usize>,
        factors: Vec<f64>,
        poisson_pos: Vec<usize>,
        device: &Device,
    ) -> Result<Self> {
        let gauss = if sigmas.is_empty() {
            None
        } else {
            let n = sigmas.len();
            let log_norm =
                sigmas.iter().map(|s| (s * (2.0 * std::f64::consts::PI).sqrt()).ln()).sum();
            Some(GaussTensors {
                inv_sigma: Tensor::from_vec(sigmas.iter().map(|s| 1.0 / s).collect(), (1, n), device)?,
                inv_var: Tensor::from_vec(sigmas.iter().map(|s| 1.0 / (s * s)).collect(), (1, n), device)?,
                log_norm,
                aux_pos: gauss_pos,
            })
        };
        let poisson = if factors.is_empty() {
            None
        } else {
            let n = factors.len();
            Some(PoissonTensors {
                factors: Tensor::from_vec(factors, (1, n), device)?,
                aux_pos: poisson_pos,
            })
        };
        Ok(ConstraintTensors { gauss, poisson })
    }
}
