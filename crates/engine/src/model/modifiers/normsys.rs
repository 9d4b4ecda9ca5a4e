//! `normsys`: a normalisation variation (pyhf's `pyhf/modifiers/normsys.py`).
//!
//! - Data: `{"lo": ..., "hi": ...}` (`NormsysData`), the sample's yield relative to nominal with
//!   the nuisance parameter alpha at -1 and at +1.
//! - Parameter: as histosys's, one scalar alpha per name, initial value 0, bounds [-5, 5], a unit
//!   Gaussian constraint with auxiliary datum 0 (`requirement`); normsys and histosys may share
//!   it. The measurement may configure what `CONFIGURABLE` lists.
//! - Validation (`validate`): `lo` and `hi` are finite.
//! - Action: multiplicative. Every bin of the sample is scaled by a factor that is `lo` at
//!   alpha = -1, 1 at 0 and `hi` at +1, interpolated by the normsys code (`interpolators/`: code
//!   1, exponential, or code 4, a polynomial inside |alpha| < 1). `NormsysTensors` lowers every
//!   normsys of the model: the factor being the same on every bin of a (sample, channel), it is
//!   computed per such group, in logs where the normsys of a group add up, then spread to the
//!   group's bins; the shared rate kernel (`compute/rates.rs`) multiplies it with the other
//!   factors.
use std::collections::BTreeMap;
use std::ops::Range;

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::{distinct, ordered};
use crate::compute::{DTYPE, with_transpose};
use crate::interpolators::{self, Basis, code4, combine_basis};
use crate::model::paramset::Requirement;
use crate::model::{ChannelBins, NormsysInterp};
use crate::spec::{At, ModifierType, Problems, not_finite};

/// A normsys's `data` in the JSON.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NormsysData {
    pub lo: f64,
    pub hi: f64,
}

/// One normsys acting on one (channel, sample).
#[derive(Debug, Clone, PartialEq)]
pub struct NormsysTerm {
    pub param: usize,
    pub sample: usize,
    pub bins: Range<usize>,
    pub lo: f64,
    pub hi: f64,
}

/// What a normsys asks of its parameter.
pub fn requirement() -> Requirement {
    Requirement::unit_gaussian(ModifierType::Normsys)
}

/// What a measurement's parameter configuration may set for a normsys parameter.
pub const CONFIGURABLE: &[&str] = &["inits", "bounds", "fixed", "auxdata"];

/// Spec validation: `lo` and `hi` are finite numbers.
pub(crate) fn validate(p: &mut Problems, at: At, lo: f64, hi: f64) {
    for (field, v) in [("lo", lo), ("hi", hi)] {
        if !v.is_finite() {
            p.push(format!("{}.data.{field}", at.path()), not_finite(v));
        }
    }
}

/// The parameters of `terms` have a kink at alpha = 0 under code 1 (piecewise exponential).
pub(crate) fn mark_kinked(terms: &[NormsysTerm], code: NormsysInterp, kinked: &mut [bool]) {
    if code == NormsysInterp::Code1 {
        terms.iter().for_each(|t| kinked[t.param] = true);
    }
}

/// The normsys terms lowered for the batched rates. A normsys scales every bin of its (sample,
/// channel) alike, so the factors are computed per such group `g`, in logs:
/// `ln N_g = C^T [phi_1; phi_2](alpha)` (code 1, and code 4 outside |alpha| < 1), plus for code 4
/// `ln prod_n (1 + p_ng(alpha_n))` with its polynomial inside |alpha| < 1; then spread to the
/// mega-bins of each group.
#[derive(Debug, Clone)]
pub(crate) struct NormsysTensors {
    code: NormsysInterp,
    /// `[2N, G]` coefficients of (phi_1, phi_2) in ln f (code 1, or code 4 outside |alpha| < 1),
    /// and its transpose; the last group collects mega-bins without normsys and stays 0.
    coeffs: Tensor,
    coeffs_t: Tensor,
    /// u32 `[S*NB]`: the group of each mega-bin.
    bin_group: Tensor,
    groups: usize,
    /// Code 4 only: the polynomial of each (parameter, group) in slots `[1, K, G]`.
    polynomial: Option<code4::PolynomialRows>,
}

/// What the reverse pass of code 4 reuses from the forward pass: the polynomial's
/// d ln(1 + p) / d alpha per (slot, group) `[B, K, G]` and the mask of alphas inside |alpha| < 1
/// `[N, B]`.
pub(crate) type PolynomialRatio = (Tensor, Tensor);

impl NormsysTensors {
    /// Lowers `terms` onto the mega-sample grid (`channels`, `nbins` global bins, `nsb` = samples
    /// x bins mega-bins), with the parameter each row of alpha reads (for the model's gather);
    /// `None` when there are none.
    pub(crate) fn new(
        terms: &[NormsysTerm],
        channels: &[ChannelBins],
        code: NormsysInterp,
        nbins: usize,
        nsb: usize,
        device: &Device,
    ) -> candle_core::Result<Option<(NormsysTensors, Vec<Option<usize>>)>> {
        if terms.is_empty() {
            return Ok(None);
        }
        let params = distinct(terms.iter().map(|t| t.param));
        let n = params.len();
        let mut group_of: BTreeMap<(usize, usize), usize> = BTreeMap::new();
        for t in terms {
            let next = group_of.len();
            group_of.entry((t.sample, t.bins.start)).or_insert(next);
        }
        let groups = group_of.len() + 1; // the last group: mega-bins without normsys
        let mut coeffs = vec![0.0; 2 * n * groups];
        // Code 4's polynomials, per group: the (parameter row, coefficients) of its entries.
        let mut entries: Vec<Vec<(usize, [f64; 6])>> = vec![Vec::new(); groups];
        for t in terms {
            let g = group_of[&(t.sample, t.bins.start)];
            let row = params[&t.param];
            let c = interpolators::code1::coefficients(t.lo, t.hi);
            coeffs[row * groups + g] += c[0];
            coeffs[(n + row) * groups + g] += c[1];
            if code == NormsysInterp::Code4 {
                entries[g].push((row, code4::polynomial(t.lo, t.hi)));
            }
        }
        let mut bin_group = vec![groups - 1; nsb];
        for (&(sample, start), &g) in &group_of {
            let channel = channels.iter().find(|c| c.offset == start).expect("channel");
            for b in start..start + channel.nbins {
                bin_group[sample * nbins + b] = g;
            }
        }
        let polynomial = if code == NormsysInterp::Code4 {
            // Slots [K, G]: dense (slot k of every group is parameter k) when most parameters act
            // on most groups, else packed (each group's entries first, empty slots inert).
            let most = entries.iter().map(Vec::len).max().unwrap_or(0).max(1);
            let dense = most as f64 > 0.8 * n as f64;
            let k_slots = if dense { n } else { most };
            let mut slot_param = vec![0u32; k_slots * groups];
            let mut poly = vec![[0.0; 6]; k_slots * groups];
            for (g, list) in entries.iter().enumerate() {
                for (j, (row, a)) in list.iter().enumerate() {
                    let k = if dense { *row } else { j };
                    slot_param[k * groups + g] = *row as u32;
                    poly[k * groups + g] = *a;
                }
            }
            let rows = |scaled: bool| -> candle_core::Result<[Tensor; 6]> {
                let mut out = Vec::with_capacity(6);
                for k in 0..6 {
                    let scale = if scaled { (k + 1) as f64 } else { 1.0 };
                    let v: Vec<f64> = poly.iter().map(|a| a[k] * scale).collect();
                    out.push(Tensor::from_vec(v, (1, k_slots, groups), device)?);
                }
                Ok(out.try_into().expect("six coefficient rows"))
            };
            let gather = Tensor::from_vec(slot_param, k_slots * groups, device)?;
            let slots = if dense { None } else { Some(gather.clone()) };
            let (a, da) = (rows(false)?, rows(true)?);
            let by_power = if dense { Some(code4::PolynomialRows::stack_by_power(&a, &da)?) } else { None };
            Some(code4::PolynomialRows { a, da, slots, gather, by_power })
        } else {
            None
        };
        let (coeffs, coeffs_t) = with_transpose(Tensor::from_vec(coeffs, (2 * n, groups), device)?)?;
        let bin_group: Vec<u32> = bin_group.iter().map(|g| *g as u32).collect();
        let tensors = NormsysTensors {
            code,
            coeffs,
            coeffs_t,
            bin_group: Tensor::from_vec(bin_group, nsb, device)?,
            groups,
            polynomial,
        };
        Ok(Some((tensors, ordered(&params, n))))
    }

    /// How it acts: the factor of every mega-bin `[S*NB, B]` at alphas `[N, B]` (1 on bins
    /// without normsys), with what the reverse pass reuses: the basis and, for code 4, the
    /// polynomial's d ln(1 + p) / d alpha per (slot, group) `[B, K, G]` and the mask of alphas
    /// inside |alpha| < 1 `[N, B]`.
    pub(crate) fn factor(&self, alpha: &Tensor) -> candle_core::Result<(Tensor, Basis, Option<PolynomialRatio>)> {
        let (basis, inside) = match self.code {
            NormsysInterp::Code1 => (interpolators::code1::basis(alpha)?, None),
            NormsysInterp::Code4 => {
                let (basis, inside) = code4::outside_basis(alpha)?;
                (basis, Some(inside))
            }
        };
        let mut ln_group = self.coeffs_t.matmul(&Tensor::cat(&basis.values, 0)?)?;
        let mut ratio = None;
        if let (Some(rows), Some(inside)) = (&self.polynomial, inside) {
            let (ln_inside, r) = code4::inside_log_factor(&(alpha * &inside)?, rows)?;
            ln_group = (ln_group + ln_inside)?;
            ratio = Some((r, inside));
        }
        let factor = ln_group.exp()?.index_select(&self.bin_group, 0)?;
        Ok((factor, basis, ratio))
    }

    /// Reverse pass: from `w` = d/d ln(factor) of every mega-bin `[S*NB, R]` (upstream column
    /// `r` belonging to point `r / (R / b)` of `b` points), d/d alpha `[N, R]` and the half-jumps
    /// at the kinks (see [`combine_basis`]). `basis` and `polynomial_ratio` come from
    /// [`NormsysTensors::factor`].
    pub(crate) fn factor_vjp(
        &self,
        w: &Tensor,
        basis: &Basis,
        polynomial_ratio: Option<&PolynomialRatio>,
        b: usize,
        expand: &dyn Fn(&Tensor) -> candle_core::Result<Tensor>,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        let r = w.dim(1)?;
        let u = Tensor::zeros((self.groups, r), DTYPE, w.device())?.index_add(&self.bin_group, w, 0)?;
        self.group_vjp(&u, basis, polynomial_ratio, b, expand)
    }

    /// The derivatives d ln N_g / d alpha_n of the log factor of each group, `[N, B * G]` (column
    /// `k * G + g` for point `k` of `b` and group `g`): the reverse pass fed with one unit vector
    /// per group, code 4's polynomial included. The kinks' half-jumps are left out (the
    /// gradient's reverse pass gives them).
    pub(crate) fn log_factor_jacobian(
        &self,
        basis: &Basis,
        polynomial_ratio: Option<&PolynomialRatio>,
        b: usize,
    ) -> candle_core::Result<Tensor> {
        let g = self.groups;
        let device = basis.values[0].device();
        let u =
            Tensor::eye(g, DTYPE, device)?.unsqueeze(1)?.broadcast_as((g, b, g))?.contiguous()?.reshape((g, b * g))?;
        let expand = |t: &Tensor| -> candle_core::Result<Tensor> {
            let (f, b) = t.dims2()?;
            t.unsqueeze(2)?.broadcast_as((f, b, g))?.contiguous()?.reshape((f, b * g))
        };
        Ok(self.group_vjp(&u, basis, polynomial_ratio, b, &expand)?.0)
    }

    /// The groups in which each mega-bin lies (the last group: mega-bins without normsys), and
    /// the number of groups.
    pub(crate) fn bin_groups(&self) -> candle_core::Result<(Vec<u32>, usize)> {
        Ok((self.bin_group.to_vec1()?, self.groups))
    }

    /// The reverse pass from d/d ln N per group `u` `[G, R]`: d/d alpha `[N, R]` and the
    /// half-jumps at the kinks.
    fn group_vjp(
        &self,
        u: &Tensor,
        basis: &Basis,
        polynomial_ratio: Option<&PolynomialRatio>,
        b: usize,
        expand: &dyn Fn(&Tensor) -> candle_core::Result<Tensor>,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        let r = u.dim(1)?;
        let (mut d_alpha, kink) = combine_basis(&self.coeffs.matmul(u)?, basis, expand)?;
        if let (Some((ratio, inside)), Some(rows)) = (polynomial_ratio, &self.polynomial) {
            // sum over the slots of each parameter of p'/(1 + p) u_g, per point's columns.
            let (_, slots, groups) = ratio.dims3()?; // [B, K, G]
            let np = d_alpha.dim(0)?;
            let d = match &rows.slots {
                None if b == 1 => ratio.squeeze(0)?.matmul(u)?,
                None => {
                    let u = u.reshape((groups, b, r / b))?.permute((1, 0, 2))?.contiguous()?;
                    ratio.matmul(&u)?.permute((1, 0, 2))?.contiguous()?.reshape((np, r))?
                }
                Some(index) => {
                    let per_slot = if b == 1 {
                        ratio.squeeze(0)?.unsqueeze(2)?.broadcast_mul(&u.unsqueeze(0)?)? // [K, G, R]
                    } else {
                        let u = u.reshape((groups, b, r / b))?.unsqueeze(0)?;
                        ratio.permute((1, 2, 0))?.contiguous()?.unsqueeze(3)?.broadcast_mul(&u)?
                    };
                    Tensor::zeros((np, r), DTYPE, u.device())?.index_add(
                        index,
                        &per_slot.reshape((slots * groups, r))?,
                        0,
                    )?
                }
            };
            d_alpha = (d_alpha + d.broadcast_mul(&expand(inside)?)?)?;
        }
        Ok((d_alpha, kink))
    }

    /// Bytes held by the tensors.
    pub(crate) fn memory_bytes(&self) -> usize {
        let size = |t: &Tensor| t.elem_count() * t.dtype().size_in_bytes();
        let mut n = size(&self.coeffs) + size(&self.coeffs_t) + size(&self.bin_group);
        if let Some(p) = &self.polynomial {
            n += p.a.iter().chain(&p.da).chain(p.by_power.iter().flatten()).map(size).sum::<usize>();
        }
        n
    }
}
