//! Expected yields per channel, sample and bin, their sums, and their uncertainties, before or
//! after the fit (see the module's conventions in `mod.rs`).
use nalgebra::DMatrix;
use serde::Serialize;

use super::postfit::{PostFit, prefit_widths};
use crate::compute::CompiledModel;
use crate::infer::InferError;
use crate::model::Model;

/// Before the fit (suggested initial values, constraint widths) or after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Prefit,
    Postfit,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Prefit => "prefit",
            Stage::Postfit => "postfit",
        }
    }
}

/// The yields of one stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Yields {
    pub stage: Stage,
    pub channels: Vec<ChannelYields>,
}

/// One channel: the samples it declares, their sum and the observed data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelYields {
    pub name: String,
    pub samples: Vec<SampleYields>,
    /// The sum of the samples (`name` "total").
    pub total: SampleYields,
    pub observed: Vec<f64>,
    pub observed_sum: f64,
}

/// One sample's (or the total's) yield per bin and summed over the channel's bins.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleYields {
    pub name: String,
    pub yields: Vec<f64>,
    pub uncertainties: Vec<f64>,
    pub sum: f64,
    pub sum_uncertainty: f64,
}

/// Yields before the fit: at the suggested initial values, each parameter varied by its
/// constraint's width, without correlations. `progress(done, total)` follows the variations.
pub fn prefit_yields(
    model: &Model,
    compiled: &CompiledModel,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Yields, InferError> {
    let x = compiled.config().suggested_init.clone();
    yields(model, compiled, Stage::Prefit, &x, &prefit_widths(model), None, progress)
}

/// Yields after the fit: at the best fit, varied by the post-fit uncertainties with their
/// correlations.
pub fn postfit_yields(
    model: &Model,
    compiled: &CompiledModel,
    post: &PostFit,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Yields, InferError> {
    let f = &post.fit;
    yields(model, compiled, Stage::Postfit, &f.bestfit, &f.uncertainties, Some(&post.correlations), progress)
}

/// How many varied parameter points one batch of the forward pass evaluates, at most.
const MAX_BATCH_VALUES: usize = 4_000_000;

/// Yields at `x`, each parameter with `sigma[i] > 0` varied by +-sigma, correlated by
/// `correlations` (none: independent).
pub fn yields(
    model: &Model,
    compiled: &CompiledModel,
    stage: Stage,
    x: &[f64],
    sigma: &[f64],
    correlations: Option<&DMatrix<f64>>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Yields, InferError> {
    let nb = compiled.nbins();
    let flat = |by_sample: Vec<Vec<f64>>| -> Vec<f64> { by_sample.into_iter().flatten().collect() };
    let nominal = flat(compiled.expected_by_sample(&[x.to_vec()])?.remove(0));
    let ns = nominal.len() / nb.max(1);

    // d[v][s * nb + b]: the symmetrised change of each yield for parameter varied[v].
    let varied: Vec<usize> = (0..x.len()).filter(|&i| sigma[i].is_finite() && sigma[i] > 0.0).collect();
    if sigma.iter().any(|s| s.is_nan()) {
        tracing::warn!("some parameters have no uncertainty (NaN): their variations are left out of the yields'");
    }
    let chunk = (MAX_BATCH_VALUES / (2 * nominal.len().max(1))).max(1);
    let mut d: Vec<Vec<f64>> = Vec::with_capacity(varied.len());
    progress(0, varied.len());
    for group in varied.chunks(chunk) {
        let mut points = Vec::with_capacity(2 * group.len());
        for &i in group {
            for sign in [1.0, -1.0] {
                let mut p = x.to_vec();
                p[i] += sign * sigma[i];
                points.push(p);
            }
        }
        let rates = compiled.expected_by_sample(&points)?;
        for pair in rates.chunks(2) {
            let (up, down) = (flat(pair[0].clone()), flat(pair[1].clone()));
            d.push(up.iter().zip(&down).map(|(u, w)| (u - w) / 2.0).collect());
        }
        progress(d.len(), varied.len());
    }
    let rho = correlations.map(|c| DMatrix::from_fn(varied.len(), varied.len(), |a, b| c[(varied[a], varied[b])]));
    // The uncertainty of a sum of yields (s, b): the same propagation on the summed changes.
    let uncertainty = |cells: &[(usize, usize)]| -> f64 {
        let delta: Vec<f64> = d.iter().map(|dv| cells.iter().map(|&(s, b)| dv[s * nb + b]).sum()).collect();
        let variance = match &rho {
            None => delta.iter().map(|v| v * v).sum::<f64>(),
            Some(r) => {
                let v = nalgebra::DVector::from_vec(delta);
                (v.transpose() * r * &v)[(0, 0)]
            }
        };
        variance.max(0.0).sqrt()
    };
    let row = |name: String, cells_per_bin: Vec<Vec<(usize, usize)>>| -> SampleYields {
        let yields: Vec<f64> =
            cells_per_bin.iter().map(|cs| cs.iter().map(|&(s, b)| nominal[s * nb + b]).sum()).collect();
        let uncertainties = cells_per_bin.iter().map(|cs| uncertainty(cs)).collect();
        let all: Vec<(usize, usize)> = cells_per_bin.concat();
        SampleYields { name, sum: yields.iter().sum(), yields, uncertainties, sum_uncertainty: uncertainty(&all) }
    };

    let mut channels = Vec::with_capacity(model.channels.len());
    for (c, ch) in model.channels.iter().enumerate() {
        let bins = ch.offset..ch.offset + ch.nbins;
        let present: Vec<usize> = (0..ns).filter(|&s| model.present[c][s]).collect();
        let samples = present
            .iter()
            .map(|&s| row(model.samples[s].clone(), bins.clone().map(|b| vec![(s, b)]).collect()))
            .collect();
        let total = row("total".to_string(), bins.clone().map(|b| present.iter().map(|&s| (s, b)).collect()).collect());
        let observed = model.observed[bins].to_vec();
        channels.push(ChannelYields {
            name: ch.name.clone(),
            samples,
            total,
            observed_sum: observed.iter().sum(),
            observed,
        });
    }
    Ok(Yields { stage, channels })
}
