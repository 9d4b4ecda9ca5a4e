//! Expected rates for a batch of parameter points, and their exact reverse-mode derivative.
//! Tensors are feature-major: `[features, batch]`.
use candle_core::Tensor;

use super::{CompiledModel, DTYPE, Result};
use crate::interpolators::Basis;

/// Expected main rates `lambda` `[NB, B]` and what the reverse pass reuses.
pub struct Rates {
    pub lambda: Tensor,
    /// `[theta; 1][gather]`: everything the modifiers and constraints read, `[K, B]`.
    pub(super) x: Tensor,
    /// nominal + histosys deltas, `[S*NB, B]`.
    pub(super) base: Tensor,
    /// exp(ln N), the normsys factor per mega-bin, `[S*NB, B]`.
    pub(super) normsys_factor: Option<Tensor>,
    /// The linear factors per layer, `[S*NB, B]` each.
    pub(super) layers: Vec<Tensor>,
    /// Everything multiplying `base`, `[S*NB, B]`.
    pub(super) scale: Tensor,
    /// base * scale.
    pub(super) rate: Tensor,
    pub(super) histosys_basis: Option<Basis>,
    pub(super) normsys_basis: Option<Basis>,
    /// Code 4: d ln(1 + p) / d alpha per (slot, group), batch-major `[B, K, G]`, and the mask of
    /// parameters inside |alpha| < 1, `[N, B]`.
    pub(super) polynomial_ratio: Option<(Tensor, Tensor)>,
}

impl Rates {
    /// For each linear-factor layer j, `d rate / d F_j = base * N * prod_{i != j} F_i`
    /// `[S*NB, B]`, by prefix and suffix products (no division: a factor may be 0). What the
    /// reverse pass and the sparse Jacobian both multiply.
    pub(super) fn other_factors(&self) -> Result<Vec<Tensor>> {
        let mut front = match &self.normsys_factor {
            Some(f) => (&self.base * f)?,
            None => self.base.clone(),
        };
        let nl = self.layers.len();
        let mut backs: Vec<Option<Tensor>> = vec![None; nl];
        for j in (0..nl.saturating_sub(1)).rev() {
            let next = &self.layers[j + 1];
            backs[j] = Some(match &backs[j + 1] {
                None => next.clone(),
                Some(b) => (b * next)?,
            });
        }
        let mut out = Vec::with_capacity(nl);
        for (back, layer) in backs.iter().zip(&self.layers) {
            out.push(match back {
                None => front.clone(),
                Some(b) => (&front * b)?,
            });
            front = (&front * layer)?;
        }
        Ok(out)
    }
}

impl CompiledModel {
    /// Expected main rates at parameter points `theta` `[P, B]`.
    pub fn rates(&self, theta: &Tensor) -> Result<Rates> {
        let b = theta.dim(1)?;
        let nsb = self.nsamples * self.nbins;
        let ones = Tensor::ones((1, b), DTYPE, theta.device())?;
        let x = Tensor::cat(&[theta, &ones], 0)?.index_select(&self.gather, 0)?;
        let part = |(start, len): (usize, usize)| x.narrow(0, start, len);

        let (base, histosys_basis) = match &self.histosys {
            None => (self.nominal.broadcast_as((nsb, b))?.contiguous()?, None),
            Some(h) => {
                let (delta, basis) = h.delta(&part(self.parts.histosys)?)?;
                (delta.broadcast_add(&self.nominal)?, Some(basis))
            }
        };

        let (normsys_factor, normsys_basis, polynomial_ratio) = match &self.normsys {
            None => (None, None, None),
            Some(n) => {
                let (factor, basis, ratio) = n.factor(&part(self.parts.normsys)?)?;
                (Some(factor), Some(basis), ratio)
            }
        };

        let layers: Vec<Tensor> = self.parts.layers.iter().map(|&p| part(p)).collect::<Result<_>>()?;
        let mut scale = normsys_factor.clone();
        for f in &layers {
            scale = Some(match scale {
                None => f.clone(),
                Some(s) => (s * f)?,
            });
        }
        let scale = match scale {
            Some(s) => s,
            None => Tensor::ones((nsb, b), DTYPE, theta.device())?,
        };
        let rate = (&base * &scale)?;
        let lambda = rate.reshape((self.nsamples, self.nbins, b))?.sum(0)?;
        Ok(Rates {
            lambda,
            x,
            base,
            normsys_factor,
            layers,
            scale,
            rate,
            histosys_basis,
            normsys_basis,
            polynomial_ratio,
        })
    }

    /// Reverse pass: for upstream columns `g` `[NB, R]`, the gradient of `sum_b g_b lambda_b`
    /// with respect to theta, `[P, R]`. Upstream column `r` belongs to point `r / k`: `k = 1`
    /// gives gradients, `k = NB` with unit columns the Jacobian. `constraints` adds the
    /// gradients of the constraint terms, `[Ng + Np, R]`.
    ///
    /// Also returns, for parameters sitting exactly on the kink at alpha = 0 of a piecewise
    /// interpolation (code 0, code 1), half the jump of the derivative across it, `[P, R]`:
    /// the one-sided derivatives are the gradient plus and minus it.
    pub(super) fn rates_vjp(
        &self,
        rates: &Rates,
        g: &Tensor,
        k: usize,
        constraints: Option<&Tensor>,
    ) -> Result<(Tensor, Tensor)> {
        let r = g.dim(1)?;
        let b = rates.lambda.dim(1)?;
        let (s, nb) = (self.nsamples, self.nbins);
        let expand = |t: &Tensor| -> Result<Tensor> {
            if k == 1 || b == 1 {
                Ok(t.clone())
            } else {
                let (f, b) = t.dims2()?;
                t.unsqueeze(2)?.broadcast_as((f, b, k))?.contiguous()?.reshape((f, b * k))
            }
        };
        // d/d rate_sb = g_b for every sample; w = d/d ln(factor) of any multiplicative factor.
        let v = g.unsqueeze(0)?.broadcast_as((s, nb, r))?.contiguous()?.reshape((s * nb, r))?;
        // d/dx, in the order of `gather`, and the kinks' half-jumps.
        let mut pieces: Vec<Tensor> = Vec::new();
        let mut kinks: Vec<Tensor> = Vec::new();

        if let (Some(h), Some(basis)) = (&self.histosys, &rates.histosys_basis) {
            // rate = (nominal + delta) * scale
            let d_delta = v.broadcast_mul(&expand(&rates.scale)?)?;
            let (d, kink) = h.delta_vjp(&d_delta, basis, &expand)?;
            pieces.push(d);
            kinks.push(kink);
        }
        if let (Some(n), Some(basis)) = (&self.normsys, &rates.normsys_basis) {
            // rate = base * N * prod F: d rate / d ln N = rate
            let w = v.broadcast_mul(&expand(&rates.rate)?)?;
            let (d_alpha, kink) = n.factor_vjp(&w, basis, rates.polynomial_ratio.as_ref(), b, &expand)?;
            kinks.push(kink);
            pieces.push(d_alpha);
        }
        // d/dF_j = v * base * N * prod_{i != j} F_i.
        for others in rates.other_factors()? {
            pieces.push(v.broadcast_mul(&expand(&others)?)?);
        }
        if let Some(c) = constraints {
            pieces.push(c.clone());
        }
        let scatter = |pieces: &[Tensor]| -> Result<Tensor> {
            let width: usize = pieces.iter().map(|t| t.dim(0)).sum::<Result<usize>>()?;
            let zeros = Tensor::zeros((self.npars + 1, r), DTYPE, g.device())?;
            if width == 0 {
                return zeros.narrow(0, 0, self.npars);
            }
            let index = self.gather.narrow(0, 0, width)?;
            zeros.index_add(&index, &Tensor::cat(pieces, 0)?, 0)?.narrow(0, 0, self.npars)
        };
        Ok((scatter(&pieces)?, scatter(&kinks)?))
    }
}
