//! Lowering a [`Model`] into the tensors of a [`CompiledModel`].
use std::collections::BTreeMap;

use candle_core::{Device, Tensor};

use super::constraints::ConstraintTensors;
use super::{with_transpose, AuxSlot, CompiledModel, HistosysTensors, NormsysTensors, Parts, Result};
use crate::interpolators::{self, code4};
use crate::model::{Constraint, Model, NormsysInterp};

pub(super) fn lower(model: &Model, device: &Device) -> Result<CompiledModel> {
    let npars = model.npars();
    let nbins = model.nbins();
    let nsamples = model.samples.len();
    let nsb = nsamples * nbins;

    let mut kinked = vec![false; npars];
    if model.settings.histosys == crate::model::HistosysInterp::Code0 {
        model.terms.histosys.iter().for_each(|t| kinked[t.param] = true);
    }
    if model.settings.normsys == NormsysInterp::Code1 {
        model.terms.normsys.iter().for_each(|t| kinked[t.param] = true);
    }
    let nominal: Vec<f64> = model.nominal.iter().flat_map(|r| r.iter().copied()).collect();
    let nominal = Tensor::from_vec(nominal, (nsb, 1), device)?;

    // The rows of [theta; 1] the modifiers and constraints read (`None` reads the row of ones,
    // used for padding).
    let mut gather: Vec<u32> = Vec::new();
    let mut parts = Parts::default();
    let ones_row = npars as u32;
    let mut push_part = |params: &[Option<usize>]| {
        let start = gather.len();
        gather.extend(params.iter().map(|p| p.map_or(ones_row, |p| p as u32)));
        (start, params.len())
    };

    // histosys: one (phi_1, phi_2) row pair per parameter.
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
        parts.histosys = push_part(&ordered(&params, h));
        let (coeffs, coeffs_t) = with_transpose(Tensor::from_vec(coeffs, (2 * h, nsb), device)?)?;
        Some(HistosysTensors { code, coeffs, coeffs_t })
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
        let groups = group_of.len() + 1; // the last group: mega-bins without normsys
        let code = model.settings.normsys;
        let mut coeffs = vec![0.0; 2 * n * groups];
        // Code 4's polynomials, per group: the (parameter row, coefficients) of its entries.
        let mut entries: Vec<Vec<(usize, [f64; 6])>> = vec![Vec::new(); groups];
        for t in &model.terms.normsys {
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
            let channel = model.channels.iter().find(|c| c.offset == start).expect("channel");
            for b in start..start + channel.nbins {
                bin_group[sample * nbins + b] = g;
            }
        }
        parts.normsys = push_part(&ordered(&params, n));
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
            let rows = |scaled: bool| -> Result<[Tensor; 6]> {
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
            Some(code4::PolynomialRows { a: rows(false)?, da: rows(true)?, slots, gather })
        } else {
            None
        };
        let (coeffs, coeffs_t) = with_transpose(Tensor::from_vec(coeffs, (2 * n, groups), device)?)?;
        let bin_group: Vec<u32> = bin_group.iter().map(|g| *g as u32).collect();
        Some(NormsysTensors {
            code,
            coeffs,
            coeffs_t,
            bin_group: Tensor::from_vec(bin_group, nsb, device)?,
            groups,
            polynomial,
        })
    };

    // Linear factors: layer j holds the j-th factor of each mega-bin (1 where there is none).
    let mut per_sb: Vec<Vec<usize>> = vec![Vec::new(); nsb];
    for t in &model.terms.factors {
        for (j, b) in t.bins.clone().enumerate() {
            per_sb[t.sample * nbins + b].push(t.params[j]);
        }
    }
    let count = per_sb.iter().map(|v| v.len()).max().unwrap_or(0);
    for j in 0..count {
        let layer: Vec<Option<usize>> = per_sb.iter().map(|v| v.get(j).copied()).collect();
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
                    gauss.0.push(Some(param));
                    gauss.1.push(sigmas[i]);
                    gauss.2.push(aux_layout.len());
                    aux_layout.push(AuxSlot::Gauss { param });
                }
                Constraint::Poisson { factors, .. } => {
                    poisson.0.push(Some(param));
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
        nominal,
        gather: Tensor::from_vec(gather, gather_len, device)?,
        parts,
        histosys,
        normsys,
        constraints,
        aux_layout,
        kinked,
        config: super::ModelConfig::new(model),
    })
}

/// Distinct values in order of value, each with its row number.
fn distinct(values: impl Iterator<Item = usize>) -> BTreeMap<usize, usize> {
    let mut set: Vec<usize> = values.collect();
    set.sort_unstable();
    set.dedup();
    set.into_iter().enumerate().map(|(row, v)| (v, row)).collect()
}

/// The values of a [`distinct`] map in row order, padded with `None` to `width`.
fn ordered(map: &BTreeMap<usize, usize>, width: usize) -> Vec<Option<usize>> {
    let mut v = vec![None; width];
    for (&value, &row) in map {
        v[row] = Some(value);
    }
    v
}
