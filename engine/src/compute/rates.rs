//! Expected rates for a batch of parameter vectors, and their exact reverse-mode derivative.
use candle_core::{Tensor, D};

use super::{with_ones_column, CompiledModel, Result, DTYPE};
use crate::interpolators::{self, code4, Basis};
use crate::model::NormsysInterp;

/// Expected main rates `lambda` `[B, NB]` and what the reverse pass reuses.
pub struct Rates {
    pub lambda: Tensor,
    /// `[theta, 1]` gathered for every formula, `[B, K]`.
    pub(super) gathered: Tensor,
    /// nominal + histosys deltas, `[B, S*NB]`.
    base: Tensor,
    /// exp(ln N), the normsys factor per mega-bin, `[B, S*NB]`.
    normsys_factor: Option<Tensor>,
    /// The linear factors per layer, `[B, S*NB]` each.
    layers: Vec<Tensor>,
    /// Everything multiplying `base`, `[B, S*NB]`.
    scale: Tensor,
    /// base * scale.
    rate: Tensor,
    histosys_basis: Option<Basis>,
    normsys_basis: Option<Basis>,
    /// Code 4: d ln(1 + p) / d alpha per entry, `[B, E]`.
    code4_dlog: Option<Tensor>,
}

impl CompiledModel {
    /// Expected main rates for parameter rows `theta` `[B, P]`.
    pub fn rates(&self, theta: &Tensor) -> Result<Rates> {
        let b = theta.dim(0)?;
        let nsb = self.nsamples * self.nbins;
        let gathered = with_ones_column(theta)?.index_select(&self.gather, 1)?;
        let part = |(start, len): (usize, usize)| gathered.narrow(1, start, len);

        let (base, histosys_basis) = match &self.histosys {
            None => (self.nominal.broadcast_as((b, nsb))?.contiguous()?, None),
            Some(h) => {
                let alpha = part(self.parts.histosys)?.contiguous()?;
                let basis = interpolators::histosys_basis(h.code, &alpha)?;
                let phi = Tensor::cat(&basis.values, 1)?;
                let delta = phi.matmul(&h.coeffs)?;
                (delta.broadcast_add(&self.nominal)?, Some(basis))
            }
        };

        let (normsys_factor, normsys_basis, code4_dlog) = match &self.normsys {
            None => (None, None, None),
            Some(n) => {
                let alpha = part(self.parts.normsys_params)?.contiguous()?;
                let basis = match n.code {
                    NormsysInterp::Code1 => interpolators::code1::basis(&alpha)?,
                    NormsysInterp::Code4 => code4::outside_basis(&alpha)?,
                };
                let mut ln_group = Tensor::cat(&basis.values, 1)?.matmul(&n.coeffs)?;
                let mut dlog = None;
                if let Some(e) = &n.entries {
                    let alpha_e = part(self.parts.normsys_entries)?.contiguous()?;
                    let inside = code4::inside_mask(&alpha_e)?;
                    let (ln_f, d) = code4::inside_log_factor(&alpha_e, &inside, &e.rows)?;
                    ln_group = ln_group.index_add(&e.group, &ln_f, 1)?;
                    dlog = Some(d);
                }
                let factor = ln_group.index_select(&n.sb_group, 1)?.exp()?;
                (Some(factor), Some(basis), dlog)
            }
        };

        let layers: Vec<Tensor> = self
            .parts
            .layers
            .iter()
            .map(|&p| part(p)?.contiguous())
            .collect::<Result<_>>()?;
        let mut scale = normsys_factor.clone();
        for f in &layers {
            scale = Some(match scale {
                None => f.clone(),
                Some(s) => (s * f)?,
            });
        }
        let scale = match scale {
            Some(s) => s,
            None => Tensor::ones((b, nsb), DTYPE, theta.device())?,
        };
        let rate = (&base * &scale)?;
        let lambda = rate.reshape((b, self.nsamples, self.nbins))?.sum(1)?;
        Ok(Rates {
            lambda,
            gathered,
            base,
            normsys_factor,
            layers,
            scale,
            rate,
            histosys_basis,
            normsys_basis,
            code4_dlog,
        })
    }

    /// Reverse pass: for upstream rows `g` `[R, NB]`, the gradient of `sum_b g_b lambda_b` in the
    /// gather layout, `[R, K_main]` (all but the constraint slots). Upstream row `r` belongs to
    /// parameter row `r / k`: `k = 1` gives gradients, `k = NB` with unit rows the Jacobian.
    pub(super) fn rates_vjp(&self, rates: &Rates, g: &Tensor, k: usize) -> Result<Tensor> {
        let rows = g.dim(0)?;
        let (s, nb) = (self.nsamples, self.nbins);
        let expand = |t: &Tensor| -> Result<Tensor> {
            if k == 1 || t.dim(0)? == 1 {
                Ok(t.clone())
            } else {
                let (b, w) = t.dims2()?;
                t.unsqueeze(1)?.broadcast_as((b, k, w))?.contiguous()?.reshape((b * k, w))
            }
        };
        // d/d rate_sb = g_b for every sample.
        let v = g.unsqueeze(1)?.broadcast_as((rows, s, nb))?.contiguous()?.reshape((rows, s * nb))?;
        // w = d/d ln(factor) of any multiplicative factor.
        let w = v.broadcast_mul(&expand(&rates.rate)?)?;
        let mut pieces: Vec<Tensor> = Vec::new();

        if let (Some(h), Some(basis)) = (&self.histosys, &rates.histosys_basis) {
            let d_delta = v.broadcast_mul(&expand(&rates.scale)?)?;
            let d_phi = d_delta.matmul(&h.coeffs_t)?;
            pieces.push(combine_basis(&d_phi, basis, &expand)?);
        }
        if let (Some(n), Some(basis)) = (&self.normsys, &rates.normsys_basis) {
            let u_group = Tensor::zeros((rows, n.groups + 1), DTYPE, g.device())?
                .index_add(&n.sb_group, &w, 1)?;
            let d_phi = u_group.matmul(&n.coeffs_t)?;
            pieces.push(combine_basis(&d_phi, basis, &expand)?);
            if let (Some(e), Some(dlog)) = (&n.entries, &rates.code4_dlog) {
                pieces.push(u_group.index_select(&e.group, 1)?.broadcast_mul(&expand(dlog)?)?);
            }
        }
        if !rates.layers.is_empty() {
            // d/dF_j = v * base * N * prod_{i != j} F_i.
            let mut front = match &rates.normsys_factor {
                Some(f) => (&rates.base * f)?,
                None => rates.base.clone(),
            };
            let nl = rates.layers.len();
            let mut backs: Vec<Option<Tensor>> = vec![None; nl];
            for j in (0..nl.saturating_sub(1)).rev() {
                let next = &rates.layers[j + 1];
                backs[j] = Some(match &backs[j + 1] {
                    None => next.clone(),
                    Some(b) => (b * next)?,
                });
            }
            for j in 0..nl {
                let others = match &backs[j] {
                    None => front.clone(),
                    Some(b) => (&front * b)?,
                };
                pieces.push(v.broadcast_mul(&expand(&others)?)?);
                front = (&front * &rates.layers[j])?;
            }
        }
        if pieces.is_empty() {
            return Tensor::zeros((rows, 0), DTYPE, g.device());
        }
        Tensor::cat(&pieces, 1)
    }

    /// Scatter contributions in the gather layout `[R, K']` (the first K' slots) onto the
    /// parameters, `[R, P]`.
    pub(super) fn scatter(&self, contributions: &Tensor) -> Result<Tensor> {
        let (rows, width) = contributions.dims2()?;
        let index = self.gather.narrow(0, 0, width)?;
        Tensor::zeros((rows, self.npars + 1), DTYPE, contributions.device())?
            .index_add(&index, contributions, 1)?
            .narrow(1, 0, self.npars)
    }

    /// The Jacobian d lambda_b / d theta_p of each parameter row: `[B, NB, P]`.
    pub fn rates_jacobian(&self, rates: &Rates) -> Result<Tensor> {
        let b = rates.lambda.dim(0)?;
        let nb = self.nbins;
        let eye = Tensor::eye(nb, DTYPE, rates.lambda.device())?;
        let g = eye.unsqueeze(0)?.broadcast_as((b, nb, nb))?.contiguous()?.reshape((b * nb, nb))?;
        let contributions = self.rates_vjp(rates, &g, nb)?;
        self.scatter(&contributions)?.reshape((b, nb, self.npars))
    }
}

/// d/d alpha from d/d(phi_1, phi_2): `d_phi` `[R, 2M]` times the basis derivatives.
fn combine_basis(
    d_phi: &Tensor,
    basis: &Basis,
    expand: &dyn Fn(&Tensor) -> Result<Tensor>,
) -> Result<Tensor> {
    let m = d_phi.dim(D::Minus1)? / 2;
    let first = d_phi.narrow(1, 0, m)?.broadcast_mul(&expand(&basis.derivatives[0])?)?;
    let second = d_phi.narrow(1, m, m)?.broadcast_mul(&expand(&basis.derivatives[1])?)?;
    first + second
}
