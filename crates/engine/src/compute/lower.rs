//! Lowering a [`Model`] into the tensors of a [`CompiledModel`].
use candle_core::{Device, Tensor};

use super::constraints::ConstraintTensors;
use super::{AuxSlot, CompiledModel, Parts, Result};
use crate::model::modifiers::histosys::{self, HistosysTensors};
use crate::model::modifiers::normsys::{self, NormsysTensors};
use crate::model::{Constraint, Model};

pub(super) fn lower(model: &Model, device: &Device) -> Result<CompiledModel> {
    let npars = model.npars();
    let nbins = model.nbins();
    let nsamples = model.samples.len();
    let nsb = nsamples * nbins;

    let mut kinked = vec![false; npars];
    histosys::mark_kinked(&model.terms.histosys, model.settings.histosys, &mut kinked);
    normsys::mark_kinked(&model.terms.normsys, model.settings.normsys, &mut kinked);
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

    // histosys, then normsys: lowered in their files, each reading its alphas from the gather.
    let (terms, settings) = (&model.terms, &model.settings);
    let histosys =
        HistosysTensors::new(&terms.histosys, settings.histosys, nbins, nsb, device)?.map(|(tensors, alphas)| {
            parts.histosys = push_part(&alphas);
            tensors
        });
    let normsys = NormsysTensors::new(&terms.normsys, &model.channels, settings.normsys, nbins, nsb, device)?.map(
        |(tensors, alphas)| {
            parts.normsys = push_part(&alphas);
            tensors
        },
    );

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
        host_constants: Default::default(),
    })
}
