//! The rate Jacobian `d lambda_b / d theta_p` as a sparse matrix, read off the forward pass's
//! intermediates ([`Rates`]): its size is the number of (modifier, bin) pairs, linear in the
//! model, where the reverse pass fed with one unit vector per bin
//! ([`CompiledModel::nll_grad_jacobian`]) costs NB gradients and a dense `[NB, P]` result.
//!
//! With `rate_sb = base_sb N_sb prod_j F_j,sb` (see [`super`]), the entries of bin `b` are, over
//! the samples `s` of its mega-bins `sb`:
//!
//! ```text
//! linear factor j:  d rate_sb / d F_j,sb  = base_sb N_sb prod_{i != j} F_i,sb
//! normsys n:        d rate_sb / d alpha_n = rate_sb d ln N_g / d alpha_n     (g the group of sb)
//! histosys h:       d rate_sb / d alpha_h = scale_sb (c_1 phi_1'(alpha_h) + c_2 phi_2'(alpha_h))
//! ```
//!
//! each for the parameter its row of the gather reads (the row of ones, padding, is skipped);
//! entries of one bin for one parameter are summed. At a kink (code 0, code 1 at alpha = 0)
//! the derivative is the mean of the one-sided ones, as in the gradient's reverse pass.
use std::borrow::Cow;

use candle_core::Tensor;

use super::{CompiledModel, Rates, Result};

/// The rate Jacobian of one point, row by row: bin `b`'s entries are `(params, values)` in
/// `start[b]..start[b + 1]`, each parameter at most once, in increasing order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseJacobian {
    npars: usize,
    start: Vec<usize>,
    params: Vec<u32>,
    values: Vec<f64>,
}

impl SparseJacobian {
    /// From `(bin, parameter, value)` triplets in any order; duplicates are summed.
    pub fn from_triplets(nbins: usize, npars: usize, triplets: &[(u32, u32, f64)]) -> Self {
        let mut start = vec![0usize; nbins + 1];
        for &(b, _, _) in triplets {
            start[b as usize + 1] += 1;
        }
        for b in 0..nbins {
            start[b + 1] += start[b];
        }
        let mut fill = start.clone();
        let mut entries = vec![(0u32, 0.0); triplets.len()];
        for &(b, p, v) in triplets {
            entries[fill[b as usize]] = (p, v);
            fill[b as usize] += 1;
        }
        let mut out = SparseJacobian { npars, start: vec![0; nbins + 1], params: Vec::new(), values: Vec::new() };
        out.params.reserve(entries.len());
        out.values.reserve(entries.len());
        for b in 0..nbins {
            let row = &mut entries[start[b]..start[b + 1]];
            row.sort_by_key(|e| e.0);
            for &(p, v) in row.iter() {
                if out.params.len() > out.start[b] && *out.params.last().expect("an entry") == p {
                    *out.values.last_mut().expect("an entry") += v;
                } else {
                    out.params.push(p);
                    out.values.push(v);
                }
            }
            out.start[b + 1] = out.params.len();
        }
        out
    }

    pub fn nbins(&self) -> usize {
        self.start.len().saturating_sub(1)
    }

    pub fn npars(&self) -> usize {
        self.npars
    }

    /// The parameters and derivatives of bin `b`.
    pub fn row(&self, b: usize) -> (&[u32], &[f64]) {
        let range = self.start[b]..self.start[b + 1];
        (&self.params[range.clone()], &self.values[range])
    }

    /// Number of stored entries.
    pub fn nonzeros(&self) -> usize {
        self.params.len()
    }

    /// The dense Jacobian `[NB * P]`, row-major (as [`super::NllGradJacobian::jacobian`]).
    pub fn to_dense(&self) -> Vec<f64> {
        let p = self.npars;
        let mut out = vec![0.0; self.nbins() * p];
        for b in 0..self.nbins() {
            let (params, values) = self.row(b);
            for (&i, &v) in params.iter().zip(values) {
                out[b * p + i as usize] += v;
            }
        }
        out
    }

    /// `J^T u` for `u` over the bins: the gradient of `sum_b u_b lambda_b`.
    pub fn transpose_mul(&self, u: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.npars];
        for (b, ub) in u.iter().enumerate().take(self.nbins()) {
            let (params, values) = self.row(b);
            for (&i, &v) in params.iter().zip(values) {
                out[i as usize] += v * ub;
            }
        }
        out
    }
}

/// The model's constant index and coefficient tensors, copied to the host once (see
/// `CompiledModel::host_constants`).
#[derive(Debug, Clone)]
pub(crate) struct HostConstants {
    gather: Vec<u32>,
    /// The normsys group of each mega-bin, and the number of groups.
    bin_groups: Option<(Vec<u32>, usize)>,
    /// Histosys coefficients `[2H * S*NB]`, row-major.
    histosys_coefficients: Option<Vec<f64>>,
}

impl CompiledModel {
    /// The constants the sparse Jacobian reads. On a GPU they are copied from the device once
    /// and kept; on the cpu, where the copy is a plain memcpy, they are read each time and not
    /// held twice.
    fn host_constants(&self) -> Result<Cow<'_, HostConstants>> {
        if let Some(h) = self.host_constants.get() {
            return Ok(Cow::Borrowed(h));
        }
        let h = HostConstants {
            gather: self.gather.to_vec1()?,
            bin_groups: self.normsys.as_ref().map(|n| n.bin_groups()).transpose()?,
            histosys_coefficients: self.histosys.as_ref().map(|h| h.coefficient_rows()).transpose()?,
        };
        if self.device.is_cpu() {
            return Ok(Cow::Owned(h));
        }
        Ok(Cow::Borrowed(self.host_constants.get_or_init(|| h)))
    }

    /// Bytes of the host copies kept for a GPU model (0 on the cpu, or before first use).
    pub(crate) fn host_constants_bytes(&self) -> usize {
        self.host_constants.get().map_or(0, |h| {
            4 * h.gather.len()
                + h.bin_groups.as_ref().map_or(0, |(g, _)| 4 * g.len())
                + h.histosys_coefficients.as_ref().map_or(0, |c| 8 * c.len())
        })
    }

    /// The sparse rate Jacobian of each point of `rates` (see the module's formulas).
    pub fn rate_jacobians(&self, rates: &Rates) -> Result<Vec<SparseJacobian>> {
        let b = rates.lambda.dim(1)?;
        let (nb, nsb, p) = (self.nbins, self.nsamples * self.nbins, self.npars);
        let host = self.host_constants()?;
        let gather = &host.gather;
        // Batch-major copies: one row of S*NB values per point.
        let per_point = |t: &Tensor| -> Result<Vec<Vec<f64>>> { t.t()?.contiguous()?.to_vec2() };
        let mut triplets: Vec<Vec<(u32, u32, f64)>> = vec![Vec::new(); b];

        // The products of the other factors, as the reverse pass forms them.
        for (others, &(start, _)) in rates.other_factors()?.iter().zip(&self.parts.layers) {
            for (k, row) in per_point(others)?.into_iter().enumerate() {
                for (sb, v) in row.into_iter().enumerate() {
                    let param = gather[start + sb];
                    if param as usize != p {
                        triplets[k].push(((sb % nb) as u32, param, v));
                    }
                }
            }
        }

        if let (Some(n), Some(basis), Some((bin_group, groups))) =
            (&self.normsys, &rates.normsys_basis, &host.bin_groups)
        {
            let groups = *groups;
            let d_ln = n.log_factor_jacobian(basis, rates.polynomial_ratio.as_ref(), b)?.to_vec2::<f64>()?;
            let start = self.parts.normsys.0;
            for (k, rate) in per_point(&rates.rate)?.into_iter().enumerate() {
                // Per group: the (parameter, d ln N_g / d alpha) that are not zero.
                let mut slopes: Vec<Vec<(u32, f64)>> = vec![Vec::new(); groups];
                for (row, d) in d_ln.iter().enumerate() {
                    let param = gather[start + row];
                    for (g, list) in slopes.iter_mut().enumerate().take(groups - 1) {
                        let v = d[k * groups + g];
                        if v != 0.0 && param as usize != p {
                            list.push((param, v));
                        }
                    }
                }
                for (sb, (&g, r)) in bin_group.iter().zip(rate).enumerate() {
                    for &(param, v) in &slopes[g as usize] {
                        triplets[k].push(((sb % nb) as u32, param, r * v));
                    }
                }
            }
        }

        if let (Some(coeffs), Some(basis)) = (&host.histosys_coefficients, &rates.histosys_basis) {
            let slopes = [basis.derivatives[0].to_vec2::<f64>()?, basis.derivatives[1].to_vec2::<f64>()?];
            let nh = slopes[0].len();
            let start = self.parts.histosys.0;
            for (k, scale) in per_point(&rates.scale)?.into_iter().enumerate() {
                for row in 0..nh {
                    let param = gather[start + row];
                    let (c1, c2) =
                        (&coeffs[row * nsb..(row + 1) * nsb], &coeffs[(nh + row) * nsb..(nh + row + 1) * nsb]);
                    let (d1, d2) = (slopes[0][row][k], slopes[1][row][k]);
                    for sb in 0..nsb {
                        if c1[sb] != 0.0 || c2[sb] != 0.0 {
                            let v = c1[sb] * scale[sb] * d1 + c2[sb] * scale[sb] * d2;
                            triplets[k].push(((sb % nb) as u32, param, v));
                        }
                    }
                }
            }
        }
        Ok(triplets.iter().map(|t| SparseJacobian::from_triplets(nb, p, t)).collect())
    }
}
