//! What a model will cost in memory, estimated from its workspace before anything is built:
//! the admission control of the fleet (`max_model_bytes`) refuses a model whose estimate is
//! over budget with the numbers that make it so, before a byte of it is allocated.
//!
//! The estimate follows the layout of the compiled model and the fits (`compute/mod.rs`,
//! `infer/minimize`): rates live on the mega-sample grid of `S * NB` rows (every sample name
//! times every bin), histosys keeps two coefficient tables of `2 H` rows on that grid, normsys
//! two of `2 N` rows over the (sample, channel) groups; a batch of points holds the gathered
//! parameters and a few grid-sized intermediates per point; a fit holds its rate Jacobian and
//! curvature: dense (`NB x P` and `P x P` per point) for small models, sparse (entries per
//! modifier and bin, plus the global parameters' square) for large ones. It is an upper bound
//! of the engine's peak within a small factor, not a measurement (docs/benchmarks.md compares
//! the two).
use std::collections::{BTreeMap, BTreeSet};

use crate::spec::{ModifierKind, Workspace};

/// Points a batch of toys evaluates at once: the largest batch of any work.
pub const TOYS_BATCH: u64 = 64;

/// The counts that size a model, and its estimated peak memory in a fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    /// Distinct sample names (rows of the mega-sample grid per bin).
    pub samples: u64,
    /// Main bins, all channels.
    pub bins: u64,
    pub parameters: u64,
    /// Distinct histosys and normsys parameters.
    pub histosys: u64,
    pub normsys: u64,
    /// Estimated bytes of the compiled model.
    pub model_bytes: u64,
    /// Estimated bytes each point of a batch of fits adds at its peak.
    pub point_bytes: u64,
}

impl std::fmt::Display for Footprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} samples x {} bins, {} parameters ({} histosys, {} normsys)",
            self.samples, self.bins, self.parameters, self.histosys, self.normsys
        )
    }
}

impl Footprint {
    /// Estimated peak bytes of the model and a batch of `batch` fits ([`TOYS_BATCH`] for toys).
    pub fn bytes(&self, batch: u64) -> u64 {
        self.model_bytes.saturating_add(self.point_bytes.saturating_mul(batch))
    }

    /// The footprint of the model `workspace` makes (any measurement: they share the shape).
    /// Linear in the workspace's size; nothing grid-sized is allocated.
    pub fn of(workspace: &Workspace) -> Footprint {
        let mut samples = BTreeSet::new();
        let mut bins: u64 = 0;
        // Parameters by name: per-bin ones count the bins of their channel once.
        let mut scalar: BTreeSet<&str> = BTreeSet::new();
        let mut per_bin: BTreeMap<&str, u64> = BTreeMap::new();
        let (mut histosys, mut normsys) = (BTreeSet::new(), BTreeSet::new());
        let (mut groups, mut layers, mut entries) = (0u64, 0u64, 0u64);
        for channel in &workspace.channels {
            let nb = channel.samples.iter().map(|s| s.data.len() as u64).max().unwrap_or(0);
            bins += nb;
            for sample in &channel.samples {
                samples.insert(sample.name.as_str());
                let mut factors = 0u64;
                let mut has_normsys = false;
                for m in &sample.modifiers {
                    match &m.kind {
                        ModifierKind::Histosys { .. } => {
                            histosys.insert(m.name.as_str());
                            scalar.insert(m.name.as_str());
                        }
                        ModifierKind::Normsys { .. } => {
                            normsys.insert(m.name.as_str());
                            scalar.insert(m.name.as_str());
                            has_normsys = true;
                        }
                        ModifierKind::Normfactor | ModifierKind::Lumi => {
                            scalar.insert(m.name.as_str());
                            factors += 1;
                        }
                        ModifierKind::Shapefactor | ModifierKind::Shapesys { .. } | ModifierKind::Staterror { .. } => {
                            let n = per_bin.entry(m.name.as_str()).or_default();
                            *n = (*n).max(nb);
                            factors += 1;
                        }
                    }
                }
                groups += u64::from(has_normsys);
                layers = layers.max(factors);
                // Jacobian entries: each modifier of the sample, on each of its bins.
                entries = entries.saturating_add(nb.saturating_mul(sample.modifiers.len() as u64));
            }
        }
        let per_bin_params: u64 = per_bin.values().sum();
        let globals = scalar.len() as u64;
        let parameters = globals + per_bin_params;
        let (s, h, n) = (samples.len() as u64, histosys.len() as u64, normsys.len() as u64);
        let (model, point) =
            estimate_words(Counts { s, nb: bins, p: parameters, globals, h, n, groups, layers, entries });
        let bytes = |words: u128| u64::try_from(words.saturating_mul(8)).unwrap_or(u64::MAX);
        Footprint {
            samples: s,
            bins,
            parameters,
            histosys: h,
            normsys: n,
            model_bytes: bytes(model),
            point_bytes: bytes(point),
        }
    }
}

/// What the estimate is made of.
struct Counts {
    s: u64,
    nb: u64,
    p: u64,
    globals: u64,
    h: u64,
    n: u64,
    groups: u64,
    layers: u64,
    entries: u64,
}

/// 8-byte words of the model and of each point of a batch at the peak, in u128 so that no
/// count can overflow them. The per-point factors are calibrated on measured peaks
/// (docs/benchmarks.md): a batch of 64 toys on a 10,000-bin staterror model peaked at 764 MiB,
/// 150 words per bin and point, which the structured path's terms below cover.
fn estimate_words(c: Counts) -> (u128, u128) {
    let w = |x: u64| u128::from(x);
    let grid = w(c.s) * w(c.nb);
    let npad = w(c.n).next_power_of_two();
    let gathered = w(c.layers) * grid + w(c.h) + npad + w(c.p);
    // The model: nominal rates (built and compiled), histosys's and normsys's coefficient
    // tables with their transposes, the gather, data and names.
    let model = 2 * grid + 4 * w(c.h) * grid + 4 * npad * w(c.groups) + gathered + 2 * w(c.nb) + 16 * w(c.p);
    // Per point of a batch: the gathered rows, the grid-sized intermediates of the forward and
    // reverse passes, and the fit's Jacobian and curvature.
    let dense = crate::infer::minimize::dense_size(
        usize::try_from(c.p).unwrap_or(usize::MAX),
        usize::try_from(c.nb).unwrap_or(usize::MAX),
    );
    let fit = if dense {
        2 * w(c.nb) * w(c.p) + 6 * w(c.p) * w(c.p)
    } else {
        // The sparse Jacobian (values, indices, per-bin rows), its products and the
        // structured curvature, several copies alive at once in a batched step.
        20 * w(c.entries) + 6 * w(c.globals) * w(c.globals) + 16 * w(c.p)
    };
    let point = 2 * gathered + 2 * (w(c.layers) + 8) * grid + fit;
    (model, point)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `channels` channels of `bins` bins, each with a signal and a background sample; the
    /// background has a staterror per bin and `normsys` normsys.
    fn workspace(channels: usize, bins: usize, normsys: usize) -> Workspace {
        let chans: Vec<serde_json::Value> = (0..channels)
            .map(|c| {
                let mut bkg_mods = vec![serde_json::json!({"name": format!("stat_{c}"), "type": "staterror", "data": vec![1.0; bins]})];
                for k in 0..normsys {
                    bkg_mods.push(serde_json::json!({"name": format!("sys_{k}"), "type": "normsys", "data": {"hi": 1.1, "lo": 0.9}}));
                }
                serde_json::json!({"name": format!("ch{c}"), "samples": [
                    {"name": "signal", "data": vec![1.0; bins], "modifiers": [{"name": "mu", "type": "normfactor", "data": null}]},
                    {"name": "background", "data": vec![10.0; bins], "modifiers": bkg_mods}]})
            })
            .collect();
        let obs: Vec<serde_json::Value> =
            (0..channels).map(|c| serde_json::json!({"name": format!("ch{c}"), "data": vec![10.0; bins]})).collect();
        let ws = serde_json::json!({"channels": chans, "observations": obs, "version": "1.0.0",
            "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}]});
        Workspace::from_value_named("synthetic", &ws).unwrap()
    }

    #[test]
    fn counts_follow_the_workspace() {
        let f = Footprint::of(&workspace(3, 10, 2));
        assert_eq!((f.samples, f.bins, f.histosys, f.normsys), (2, 30, 0, 2));
        // mu, two normsys, a staterror gamma per bin.
        assert_eq!(f.parameters, 1 + 2 + 30);
        assert_eq!(f.to_string(), "2 samples x 30 bins, 33 parameters (0 histosys, 2 normsys)");
    }

    #[test]
    fn large_per_bin_models_grow_linearly_and_stay_small() {
        let small = Footprint::of(&workspace(1, 10_000, 2));
        let large = Footprint::of(&workspace(1, 100_000, 2));
        let ratio = large.bytes(TOYS_BATCH) as f64 / small.bytes(TOYS_BATCH) as f64;
        assert!((9.0..11.0).contains(&ratio), "10x the bins, {ratio}x the bytes");
        // The goals for a CLs (a few fits at once): 10,000 bins within 512 MiB,
        // 100,000 within 4 GiB; a batch of toys within a few GiB.
        assert!(small.bytes(8) < 512 << 20, "{small:?}");
        assert!(large.bytes(8) < 4 << 30, "{large:?}");
        assert!(small.bytes(TOYS_BATCH) < 2 << 30, "{small:?}");
    }

    #[test]
    fn grids_of_many_samples_over_many_bins_are_seen_before_they_are_built() {
        // A sample name of its own in each of 300 channels of 300 bins: a 301 x 90,000 grid.
        let mut ws = workspace(300, 300, 0);
        for (c, ch) in ws.channels.iter_mut().enumerate() {
            ch.samples[1].name = format!("background_{c}");
        }
        let f = Footprint::of(&ws);
        assert_eq!((f.samples, f.bins), (301, 90_000));
        assert!(f.bytes(4) > 16 << 30, "{f:?}");
    }
}
