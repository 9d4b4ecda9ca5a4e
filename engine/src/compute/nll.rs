//! The negative log-likelihood and its gradient, batched: written once, used by every fit,
//! toy, scan point and device.
//!
//! For speed and accuracy the optimiser sees the deviance form
//! `sum_b [lambda - n - n ln(lambda / n)] + constraints`, which differs from -ln L by a
//! data-only constant ([`Observations`] holds it); [`CompiledModel::twice_nll`] adds it back.
use candle_core::Tensor;

use super::data::PoissonData;
use super::rates::Rates;
use super::{CompiledModel, Observations, Result};

/// NLL (deviance form) per row and its gradient `[B, P]`.
pub struct NllGrad {
    pub nll: Vec<f64>,
    pub grad: Tensor,
}

impl CompiledModel {
    /// NLL (deviance form) of parameter rows `theta` `[B, P]` given `obs` (B datasets, or one
    /// shared by all rows).
    pub fn nll(&self, theta: &Tensor, obs: &Observations) -> Result<Vec<f64>> {
        let rates = self.rates(theta)?;
        let (terms, _) = self.nll_terms(&rates, obs, false)?;
        terms.to_vec1()
    }

    /// NLL and its exact gradient.
    pub fn nll_grad(&self, theta: &Tensor, obs: &Observations) -> Result<NllGrad> {
        let rates = self.rates(theta)?;
        let (terms, upstream) = self.nll_terms(&rates, obs, true)?;
        let (d_lambda, constraint_grads) = upstream.expect("gradient asked for");
        let mut pieces = vec![self.rates_vjp(&rates, &d_lambda, 1)?];
        pieces.extend(constraint_grads);
        let grad = self.scatter(&Tensor::cat(&pieces, 1)?)?;
        Ok(NllGrad { nll: terms.to_vec1()?, grad })
    }

    /// -2 ln L with every constant pyhf includes (pyhf's `twice_nll`).
    pub fn twice_nll(&self, theta: &Tensor, obs: &Observations) -> Result<Vec<f64>> {
        let nll = self.nll(theta, obs)?;
        Ok(self.twice_nll_from(&nll, obs))
    }

    /// Add the data constants to deviance-form NLL values: -2 ln L per row.
    pub fn twice_nll_from(&self, nll: &[f64], obs: &Observations) -> Vec<f64> {
        nll.iter()
            .enumerate()
            .map(|(i, v)| 2.0 * (v + obs.constant[if obs.rows == 1 { 0 } else { i }]))
            .collect()
    }

    /// The NLL terms summed per row `[B]` and, when asked, d NLL / d lambda `[B, NB]` and the
    /// constraint gradients in the gather layout.
    #[allow(clippy::type_complexity)]
    fn nll_terms(
        &self,
        rates: &Rates,
        obs: &Observations,
        gradient: bool,
    ) -> Result<(Tensor, Option<(Tensor, Vec<Tensor>)>)> {
        let (main, d_lambda) = poisson_deviance(&rates.lambda, &obs.main, gradient)?;
        let mut total = main.sum(1)?;
        let mut constraint_grads = Vec::new();
        if let (Some(g), Some(aux)) = (&self.constraints.gauss, &obs.gauss_aux) {
            let theta = rates.gathered.narrow(1, self.parts.gauss.0, self.parts.gauss.1)?;
            let diff = theta.broadcast_sub(aux)?;
            let z = diff.broadcast_mul(&g.inv_sigma)?;
            total = (total + (z.sqr()?.sum(1)? * 0.5)?)?;
            if gradient {
                constraint_grads.push(diff.broadcast_mul(&g.inv_var)?);
            }
        }
        if let (Some(p), Some(aux)) = (&self.constraints.poisson, &obs.poisson_aux) {
            let gamma = rates.gathered.narrow(1, self.parts.poisson.0, self.parts.poisson.1)?;
            let r = gamma.broadcast_mul(&p.factors)?;
            let (dev, d_r) = poisson_deviance(&r, aux, gradient)?;
            total = (total + dev.sum(1)?)?;
            if let Some(d_r) = d_r {
                constraint_grads.push(d_r.broadcast_mul(&p.factors)?);
            }
        }
        Ok((total, d_lambda.map(|d| (d, constraint_grads))))
    }
}

/// lambda - n - n ln(lambda / n) elementwise (0 ln 0 = 0), and its derivative 1 - n / lambda.
fn poisson_deviance(
    lambda: &Tensor,
    data: &PoissonData,
    gradient: bool,
) -> Result<(Tensor, Option<Tensor>)> {
    // Where n = 0 the log's argument is lambda + 1 and its weight n is 0.
    let safe = lambda.broadcast_add(&data.zero)?;
    let log_ratio = safe.broadcast_mul(&data.inv)?.log()?;
    let dev = (lambda.broadcast_sub(&data.n)? - log_ratio.broadcast_mul(&data.n)?)?;
    let grad = if gradient {
        Some(((data.n.broadcast_div(&safe)? * -1.0)? + 1.0)?)
    } else {
        None
    };
    Ok((dev, grad))
}
