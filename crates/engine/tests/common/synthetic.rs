//! Synthetic large workspaces: one channel of many bins, a signal sample scaled by the POI `mu`
//! with a normsys, and a background with a normsys and a staterror gamma per bin. Shared by the
//! engine's tests and the `large_model` example (which includes this file by path).
#![allow(dead_code)]

use serde_json::{Value, json};

/// One bin's yields, staterror and count.
#[derive(Debug, Clone, Copy)]
pub struct Bin {
    pub signal: f64,
    pub background: f64,
    /// The staterror's absolute uncertainty on the background.
    pub uncertainty: f64,
    pub observed: f64,
}

/// Bin `b` of the 20 distinct bins the workspaces repeat.
pub fn pattern(b: usize) -> Bin {
    let b = (b % PATTERN) as f64;
    let background = 40.0 + 25.0 * (0.7 * b).sin() + 2.0 * b;
    let signal = 6.0 * (-(b - 9.0).powi(2) / 12.0).exp();
    let uncertainty = (0.04 + 0.01 * (b % 5.0)) * background;
    // Counts near background + signal/2, fluctuating by about sqrt(background), deterministic.
    let fluctuation = (1.3 * b + 0.4).sin() * background.sqrt();
    let observed = (background + 0.5 * signal + fluctuation).round().max(0.0);
    Bin { signal, background, uncertainty, observed }
}

/// Number of distinct bins of [`pattern`].
pub const PATTERN: usize = 20;

/// The workspace of `nbins` bins repeating [`pattern`], each bin's yields and counts times
/// `scale` and its staterror uncertainty times sqrt(`scale`).
///
/// With `scale = copies`, the 20-bin workspace has the likelihood of the `20 * copies`-bin one
/// (unscaled) profiled over its gammas: the Poisson terms of `copies` equal bins add up to one
/// term with `copies` times the rate and the count (up to a constant), and their Gaussian
/// constraints to one whose width is 1/sqrt(`copies`) as large, which is what the relative
/// staterror width `sqrt(scale) delta / (scale nu)` gives; the normsys constraints appear once
/// in both.
pub fn workspace(nbins: usize, scale: f64) -> Value {
    let bins: Vec<Bin> = (0..nbins).map(pattern).collect();
    let column = |f: fn(&Bin) -> f64, scale: f64| -> Vec<f64> { bins.iter().map(|b| f(b) * scale).collect() };
    json!({
        "channels": [{
            "name": "SR",
            "samples": [
                {
                    "name": "signal",
                    "data": column(|b| b.signal, scale),
                    "modifiers": [
                        {"name": "mu", "type": "normfactor", "data": null},
                        {"name": "signal_acceptance", "type": "normsys", "data": {"hi": 1.08, "lo": 0.93}}
                    ]
                },
                {
                    "name": "background",
                    "data": column(|b| b.background, scale),
                    "modifiers": [
                        {"name": "background_norm", "type": "normsys", "data": {"hi": 1.05, "lo": 0.96}},
                        {"name": "staterror_SR", "type": "staterror", "data": column(|b| b.uncertainty, scale.sqrt())}
                    ]
                }
            ]
        }],
        "observations": [{"name": "SR", "data": column(|b| b.observed, scale)}],
        "measurements": [{"name": "meas", "config": {"poi": "mu", "parameters": []}}],
        "version": "1.0.0"
    })
}
