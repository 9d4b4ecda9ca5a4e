//! The negative log-likelihood and its gradient, batched: written once, used by every fit,
//! toy, scan point and device.
//!
//! For speed and accuracy the optimiser sees the deviance form
//! `sum_b [lambda - n - n ln(lambda / n)] + constraints`, which differs from -ln L by a
//! data-only constant ([`Observations`] holds it); [`CompiledModel::twice_nll`] adds it back.
use candle_core::Tensor;

use super::data::PoissonData;
use super::rates::Rates;
use super::{CompiledModel, DTYPE, Observations, Result, SparseJacobian};

/// NLL (deviance form) per point and its gradient, row-major `[B * P]`.
pub struct NllGrad {
    pub nll: Vec<f64>,
    pub grad: Vec<f64>,
    /// `[B * P]`: half the jump of the derivative of parameters sitting on a kink (code 0 and
    /// code 1 at alpha = 0), 0 elsewhere; the one-sided derivatives are grad -+ kink.
    pub kink: Vec<f64>,
}

/// NLL, gradient, Jacobian of the rates and the rates themselves at each point: what a
/// Gauss-Newton step needs, from one batched forward and one batched reverse pass.
pub struct NllGradJacobian {
    pub nll: Vec<f64>,
    /// `[B * P]`, row-major.
    pub grad: Vec<f64>,
    /// `[B * NB * P]`: d lambda_b / d theta_p.
    pub jacobian: Vec<f64>,
    /// `[B * NB]`.
    pub lambda: Vec<f64>,
    /// `[B * P]`, as [`NllGrad::kink`].
    pub kink: Vec<f64>,
}

/// NLL, gradient, the rates and their sparse Jacobian at each point: what a Gauss-Newton step
/// of a large model needs, linear in the model's size.
pub struct NllGradSparseJacobian {
    pub nll: Vec<f64>,
    /// `[B * P]`, row-major.
    pub grad: Vec<f64>,
    /// One per point.
    pub jacobians: Vec<SparseJacobian>,
    /// `[B * NB]`.
    pub lambda: Vec<f64>,
    /// `[B * P]`, as [`NllGrad::kink`].
    pub kink: Vec<f64>,
}

impl CompiledModel {
    /// NLL (deviance form) at parameter points `theta` `[P, B]` given `obs` (B datasets, or
    /// one shared by all points).
    pub fn nll(&self, theta: &Tensor, obs: &Observations) -> Result<Vec<f64>> {
        let rates = self.rates(theta)?;
        let (terms, _) = self.nll_terms(&rates, obs, false)?;
        terms.to_vec1()
    }

    /// NLL and its exact gradient.
    pub fn nll_grad(&self, theta: &Tensor, obs: &Observations) -> Result<NllGrad> {
        let rates = self.rates(theta)?;
        let (terms, upstream) = self.nll_terms(&rates, obs, true)?;
        let (d_lambda, d_constraints) = upstream.expect("gradient asked for");
        let (grad, kink) = self.rates_vjp(&rates, &d_lambda, 1, d_constraints.as_ref())?;
        Ok(NllGrad {
            nll: terms.to_vec1()?,
            grad: grad.t()?.flatten_all()?.to_vec1()?,
            kink: kink.t()?.flatten_all()?.to_vec1()?,
        })
    }

    /// NLL, gradient and rate Jacobian at parameter points `theta` `[P, B]`.
    pub fn nll_grad_jacobian(&self, theta: &Tensor, obs: &Observations) -> Result<NllGradJacobian> {
        let rates = self.rates(theta)?;
        let (terms, upstream) = self.nll_terms(&rates, obs, true)?;
        let (d_lambda, d_constraints) = upstream.expect("gradient asked for");
        let (b, nb, p) = (theta.dim(1)?, self.nbins, self.npars);
        // Per point: NB unit columns (the Jacobian) then d NLL / d lambda (the gradient).
        let eye = Tensor::eye(nb, DTYPE, theta.device())?.unsqueeze(1)?.broadcast_as((nb, b, nb))?;
        let g = Tensor::cat(&[eye, d_lambda.unsqueeze(2)?], 2)?.reshape((nb, b * (nb + 1)))?;
        // Constraint gradients only in the gradient columns.
        let constraints = match &d_constraints {
            None => None,
            Some(c) => {
                let (width, _) = c.dims2()?;
                let zeros = Tensor::zeros((width, b, nb), DTYPE, theta.device())?;
                Some(Tensor::cat(&[zeros, c.unsqueeze(2)?], 2)?.reshape((width, b * (nb + 1)))?)
            }
        };
        let (all, kink) = self.rates_vjp(&rates, &g, nb + 1, constraints.as_ref())?; // [P, B*(NB+1)]
        let all = all.reshape((p, b, nb + 1))?.permute((1, 2, 0))?.contiguous()?; // [B, NB+1, P]
        let kink = kink.reshape((p, b, nb + 1))?.narrow(2, nb, 1)?.squeeze(2)?.t()?; // [B, P]
        Ok(NllGradJacobian {
            nll: terms.to_vec1()?,
            grad: all.narrow(1, nb, 1)?.flatten_all()?.to_vec1()?,
            jacobian: all.narrow(1, 0, nb)?.flatten_all()?.to_vec1()?,
            lambda: rates.lambda.t()?.flatten_all()?.to_vec1()?,
            kink: kink.flatten_all()?.to_vec1()?,
        })
    }

    /// NLL, gradient (one reverse pass, as [`CompiledModel::nll_grad`]) and the sparse rate
    /// Jacobian at parameter points `theta` `[P, B]`.
    pub fn nll_grad_sparse_jacobian(&self, theta: &Tensor, obs: &Observations) -> Result<NllGradSparseJacobian> {
        let rates = self.rates(theta)?;
        let (terms, upstream) = self.nll_terms(&rates, obs, true)?;
        let (d_lambda, d_constraints) = upstream.expect("gradient asked for");
        let (grad, kink) = self.rates_vjp(&rates, &d_lambda, 1, d_constraints.as_ref())?;
        Ok(NllGradSparseJacobian {
            nll: terms.to_vec1()?,
            grad: grad.t()?.flatten_all()?.to_vec1()?,
            jacobians: self.rate_jacobians(&rates)?,
            lambda: rates.lambda.t()?.flatten_all()?.to_vec1()?,
            kink: kink.t()?.flatten_all()?.to_vec1()?,
        })
    }

    /// -2 ln L with every constant pyhf includes (pyhf's `twice_nll`).
    pub fn twice_nll(&self, theta: &Tensor, obs: &Observations) -> Result<Vec<f64>> {
        let nll = self.nll(theta, obs)?;
        Ok(self.twice_nll_from(&nll, obs))
    }

    /// Add the data constants to deviance-form NLL values: -2 ln L per point.
    pub fn twice_nll_from(&self, nll: &[f64], obs: &Observations) -> Vec<f64> {
        nll.iter().enumerate().map(|(i, v)| 2.0 * (v + obs.constant[if obs.rows == 1 { 0 } else { i }])).collect()
    }

    /// The NLL per point `[B]` and, when asked, d NLL / d lambda `[NB, B]` and the constraints'
    /// gradients `[Ng + Np, B]`.
    #[allow(clippy::type_complexity)]
    fn nll_terms(
        &self,
        rates: &Rates,
        obs: &Observations,
        gradient: bool,
    ) -> Result<(Tensor, Option<(Tensor, Option<Tensor>)>)> {
        let (main, d_lambda) = poisson_deviance(&rates.lambda, &obs.main, gradient)?;
        let mut total = main.sum(0)?;
        let mut constraint_grads = Vec::new();
        if let (Some(g), Some(aux)) = (&self.constraints.gauss, &obs.gauss_aux) {
            let theta = rates.x.narrow(0, self.parts.gauss.0, self.parts.gauss.1)?;
            let diff = theta.broadcast_sub(aux)?;
            let z = diff.broadcast_mul(&g.inv_sigma)?;
            total = (total + (z.sqr()?.sum(0)? * 0.5)?)?;
            if gradient {
                constraint_grads.push(diff.broadcast_mul(&g.inv_var)?);
            }
        }
        if let (Some(p), Some(aux)) = (&self.constraints.poisson, &obs.poisson_aux) {
            let gamma = rates.x.narrow(0, self.parts.poisson.0, self.parts.poisson.1)?;
            let r = gamma.broadcast_mul(&p.factors)?;
            let (dev, d_r) = poisson_deviance(&r, aux, gradient)?;
            total = (total + dev.sum(0)?)?;
            if let Some(d_r) = d_r {
                constraint_grads.push(d_r.broadcast_mul(&p.factors)?);
            }
        }
        let upstream = match d_lambda {
            None => None,
            Some(d) => {
                let c = if constraint_grads.is_empty() { None } else { Some(Tensor::cat(&constraint_grads, 0)?) };
                Some((d, c))
            }
        };
        Ok((total, upstream))
    }
}

/// lambda - n - n ln(lambda / n) elementwise (0 ln 0 = 0), and its derivative 1 - n / lambda.
///
/// A Poisson mean is never negative: where a bin expects a negative count (additive histosys
/// variations can push a small yield below zero) the deviance is NaN, a point outside the
/// likelihood's domain that every line search rejects. Bins with events already are (the log of
/// a negative number); an empty bin would otherwise score its negative rate as a gain without
/// bound (pyhf's behaviour, which takes its fits of such toys to twice NLL of -20,000), and a
/// fit would stop wherever the negative rate met some other wall.
fn poisson_deviance(lambda: &Tensor, data: &PoissonData, gradient: bool) -> Result<(Tensor, Option<Tensor>)> {
    // Where n = 0 the log's argument is lambda + 1 and its weight n is 0.
    let safe = lambda.broadcast_add(&data.zero)?;
    let log_ratio = safe.broadcast_mul(&data.inv)?.log()?;
    // 0 where lambda >= 0, NaN where it is negative.
    let domain = (lambda.sqrt()? * 0.0)?;
    let dev = ((lambda.broadcast_sub(&data.n)? - log_ratio.broadcast_mul(&data.n)?)? + domain)?;
    let grad = if gradient { Some(((data.n.broadcast_div(&safe)? * -1.0)? + 1.0)?) } else { None };
    Ok((dev, grad))
}
