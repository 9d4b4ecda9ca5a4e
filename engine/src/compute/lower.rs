//! Lowering a [`Model`] into the tensors of a [`CompiledModel`].
use std::collections::BTreeMap;

use candle_core::{Device, Tensor};

use super::constraints::ConstraintTensors;
use super::{
    AuxSlot, Code4Entries, CompiledModel, HistosysTensors, NormsysTensors, Parts, Result, DTYPE,
};
use crate::interpolators::{self, code4};
use crate::model::{Constraint, Model, NormsysInterp};

pub(super) fn lower(model: &Model, device: &Device) -> Result<CompiledModel> {
    let npars = model.npars();
    let nbins = model.nbins();
    let nsamples = model.samples.len();
    let nsb = nsamples * nbins;
    let ones_column = npars as u32;

    let nominal: Vec<f64> = model.nominal.iter().flat_map(|r| r.iter().copied()).collect();
    let nominal = Tensor::from_vec(nominal, (1, nsb), device)?;

    let mut gather: Vec<u32> = Vec::new();
    let mut parts = Parts::default();
    let mut push_part = |indices: &[u32]| {
        let start = gather.len();
        gather.extend_from_slice(indices);
        (start, indices.len())
    };

    // histosys: one column pair per parameter.
    let histosys = if model.terms.histosys.is_empty() {
        None
    } else {
        let params = distinct(model.terms.histosys.iter().map(|t| t.param));
        let h = params.len();
        let code = model.settings.histosys;
        let mut coeffs = vec![0.0; 2 * h * nsb];
        for t in &model.terms.histosys {
            let row = params[&t.param];
            for (j, b) in t.bins.clone().enumerate() {
                let c = interpolators::histosys_coefficients(code, t.lo[j], t.nom[j], t.hi[j]);
                let col = t.sample * nbins + b;
                coeffs[row * nsb + col] += c[0];
                coeffs[(h + row) * nsb + col] += c[1];
            }
        }
        parts.histosys = push_part(&ordered(&params));
        let coeffs = Tensor::from_vec(coeffs, (2 * h, nsb), device)?;
        Some(HistosysTensors { code, coeffs_t: coeffs.t()?.contiguous()?, coeffs })
    };

    // normsys: ln f summed per (sample, channel) group.
    let normsys = if model.terms.normsys.is_empty() {
        None
    } else {
        let params = distinct(model.terms.normsys.iter().map(|t| t.param));
        let n = params.len();
        let mut group_of: BTreeMap<(usize, usize), usize> = BTreeMap::new();
        for t in &model.terms.normsys {
            let next = group_of.len();
            group_of.entry((t.sample, t.bins.start)).or_insert(next);
        }
        let groups = group_of.len();
        let code = model.settings.normsys;
        // The last column is the group of mega-bins without normsys: always zero.
        let mut coeffs = vec![0.0; 2 * n * (groups + 1)];
        let mut entry_group = Vec::new();
        let mut entry_params = Vec::new();
        let mut poly: [Vec<f64>; 6] = Default::default();
        for t in &model.terms.normsys {
            let g = group_of[&(t.sample, t.bins.start)];
            let row = params[&t.param];
            let c = interpolators::code1::coefficients(t.lo, t.hi);
            coeffs[row * (groups + 1) + g] += c[0];
            coeffs[(n + row) * (groups + 1) + g] += c[1];
            if code == NormsysInterp::Code4 {
                entry_group.push(g as u32);
                entry_params.push(t.param as u32);
                for (k, a) in code4::polynomial(t.lo, t.hi).iter().enumerate() {
                    poly[k].push(*a);
                }
            }
        }
        let mut sb_group = vec![groups as u32; nsb];
        for (&(sample, start), &g) in &group_of {
            let channel = model.channels.iter().find(|c| c.offset == start).expect("channel");
            for b in start..start + channel.nbins {
                sb_group[sample * nbins + b] = g as u32;
            }
        }
        parts.normsys_params = push_part(&ordered(&params));
        let entries = if code == NormsysInterp::Code4 {
            parts.normsys_entries = push_part(&entry_params);
            let e = entry_group.len();
            let rows = |scaled: bool| -> Result<[Tensor; 6]> {
                let mut out = Vec::with_capacity(6);
                for (k, v) in poly.iter().enumerate() {
                    let scale = if scaled { (k + 1) as f64 } else { 1.0 };
                    out.push(Tensor::from_vec(v.iter().map(|x| x * scale).collect(), (1, e), device)?);
                }
                Ok(out.try_into().expect("six coefficient rows"))
            };
            Some(Code4Entries {
                group: Tensor::from_vec(entry_group, e, device)?,
                rows: code4::PolynomialRows { a: rows(false)?, da: rows(true)? },
            })
        } else {
            None
        };
        let coeffs = Tensor::from_vec(coeffs, (2 * n, groups + 1), device)?;
        Some(NormsysTensors {
            code,
            groups,
            coeffs_t: coeffs.t()?.contiguous()?,
            coeffs,
            sb_group: Tensor::from_vec(sb_group, nsb, device)?,
            entries,
        })
    };

    // Linear factors: layer j holds the j-th factor of each mega-bin (or the ones column).
    let mut per_sb: Vec<Vec<u32>> = vec![Vec::new(); nsb];
    for t in &model.terms.factors {
        for (j, b) in t.bins.clone().enumerate() {
            per_sb[t.sample * nbins + b].push(t.params[j] as u32);
        }
    }
    let nlayers = per_sb.iter().map(|v| v.len()).max().unwrap_or(0);
    for j in 0..nlayers {
        let layer: Vec<u32> =
            per_sb.iter().map(|v| v.get(j).copied().unwrap_or(ones_column)).collect();
        parts.layers.push(push_part(&layer));
    }

    // Constraints, and the auxiliary data layout in pyhf's order.
    let mut aux_layout = Vec::new();
    let mut gauss = (Vec::new(), Vec::new(), Vec::new()); // params, sigmas, aux positions
    let mut poisson = (Vec::new(), Vec::new(), Vec::new()); // params, factors, aux positions
    for set in &model.paramsets {
        for i in 0..set.len() {
            let param = set.offset + i;
            match &set.constraint {
                Constraint::Unconstrained => {}
                Constraint::Normal { sigmas, .. } => {
                    gauss.0.push(param as u32);
                    gauss.1.push(sigmas[i]);
                    gauss.2.push(aux_layout.len());
                    aux_layout.push(AuxSlot::Gauss { param });
                }
                Constraint::Poisson { factors, .. } => {
                    poisson.0.push(param as u32);
                    poisson.1.push(factors[i]);
                    poisson.2.push(aux_layout.len());
                    aux_layout.push(AuxSlot::Poisson { param, factor: factors[i] });
                }
            }
        }
    }
    parts.gauss = push_part(&gauss.0);
    parts.poisson = push_part(&poisson.0);
    let constraints = ConstraintTensors::new(gauss.1, gauss.2, poisson.1, poisson.2, device)?;

    let gather_len = gather.len();
    Ok(CompiledModel {
        device: device.clone(),
        npars,
        nbins,
        nsamples,
        nominal: nominal.to_dtype(DTYPE)?,
        gather: Tensor::from_vec(gather, gather_len, device)?,
        parts,
        histosys,
        normsys,
        constraints,
        aux_layout,
    })
}

/// Distinct values in order of value, each with its row number.
fn distinct(values: impl Iterator<Item = usize>) -> BTreeMap<usize, usize> {
    let mut set: Vec<usize> = values.collect();
    set.sort_unstable();
    set.dedup();
    set.into_iter().enumerate().map(|(row, v)| (v, row)).collect()
}

/// The values of a [`distinct`] map in row order, as gather indices.
fn ordered(map: &BTreeMap<usize, usize>) -> Vec<u32> {
    let mut v = vec![0u32; map.len()];
    for (&value, &row) in map {
        v[row] = value as u32;
    }
    v
}
