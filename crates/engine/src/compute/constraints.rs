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
    /// `[Ng, 1]`: 1 / sigma and 1 / sigma^2.
    pub inv_sigma: Tensor,
    pub inv_var: Tensor,
    pub sigmas: Vec<f64>,
    /// Sum of ln(sigma sqrt(2 pi)): the normalisation pyhf includes.
    pub log_norm: f64,
    /// Position of each Gaussian constraint's datum in the auxiliary data.
    pub aux_pos: Vec<usize>,
}

#[derive(Debug, Clone)]
pub(super) struct PoissonTensors {
    /// `[Np, 1]`: tau of each bin.
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
            let log_norm = sigmas.iter().map(|s| (s * (2.0 * std::f64::consts::PI).sqrt()).ln()).sum();
            Some(GaussTensors {
                inv_sigma: Tensor::from_vec(sigmas.iter().map(|s| 1.0 / s).collect(), (n, 1), device)?,
                inv_var: Tensor::from_vec(sigmas.iter().map(|s| 1.0 / (s * s)).collect(), (n, 1), device)?,
                log_norm,
                sigmas,
                aux_pos: gauss_pos,
            })
        };
        let poisson = if factors.is_empty() {
            None
        } else {
            let n = factors.len();
            Some(PoissonTensors { factors: Tensor::from_vec(factors, (n, 1), device)?, aux_pos: poisson_pos })
        };
        Ok(ConstraintTensors { gauss, poisson })
    }
}

impl super::CompiledModel {
    /// Diagonal second derivatives of the constraint terms at `x` for dataset `data` (main then
    /// auxiliary): 1/sigma^2 for Gaussian, a/gamma^2 for Poisson constraints, 0 elsewhere.
    pub fn constraint_curvature(&self, x: &[f64], data: &[f64]) -> Vec<f64> {
        let mut c = vec![0.0; self.npars];
        let aux = &data[self.nbins..];
        let mut sigmas = self.constraints.gauss.iter().flat_map(|g| g.sigmas.iter());
        for (slot, a) in self.aux_layout.iter().zip(aux) {
            match *slot {
                super::AuxSlot::Gauss { param } => {
                    let s = sigmas.next().copied().unwrap_or(1.0);
                    c[param] += 1.0 / (s * s);
                }
                super::AuxSlot::Poisson { param, .. } => {
                    let g = x[param];
                    c[param] += a / (g * g);
                }
            }
        }
        c
    }
}
