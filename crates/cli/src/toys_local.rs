//! Toys on this machine for `fitfleet cls --calctype toys`: the toys are cut into shards fitted
//! on every core, with a progress bar, and merged as the fleet merges them. Shards of one seed
//! give exactly the test statistics of one long run (each toy has its own random stream), so
//! the answer does not depend on the cut or the cores.
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Result;
use fitfleet_engine::compute::CompiledModel;
use fitfleet_engine::infer::calculators::toys;
use fitfleet_engine::infer::{FitOptions, HypotestResult, Interrupt, TestStatistic, ToyShard};

use crate::progress;

/// Toys per shard: a hundredth of the run (a bar that moves), at least a batch of the engine's.
fn shard_size(ntoys: u64) -> u64 {
    (ntoys / 100).max(64)
}

/// CLs at `mu` from `ntoys` toys per hypothesis of `seed`, on every core.
pub fn hypotest(
    model: &CompiledModel,
    data: &[f64],
    mu: f64,
    stat: TestStatistic,
    ntoys: usize,
    seed: u64,
) -> Result<HypotestResult> {
    let ntoys = ntoys as u64;
    let size = shard_size(ntoys);
    let starts: Vec<u64> = (0..ntoys).step_by(size as usize).collect();
    let bar = progress::toys_bar(2 * ntoys);
    let next = AtomicU64::new(0);
    let shards: Mutex<Vec<Result<ToyShard>>> = Mutex::new(Vec::new());
    let failed = AtomicU64::new(0);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(starts.len()).max(1);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    let Some(&first) = starts.get(i) else { break };
                    let count = size.min(ntoys - first);
                    let options = FitOptions::default();
                    let shard = toys::shard(model, data, mu, stat, seed, first, count, &options, &Interrupt::none());
                    if let Ok(shard) = &shard {
                        let f = failed.fetch_add(shard.failed as u64, Ordering::Relaxed) + shard.failed as u64;
                        bar.set_message(progress::failures_message(f));
                    }
                    bar.inc(2 * count);
                    shards.lock().unwrap_or_else(|e| e.into_inner()).push(shard.map_err(anyhow::Error::from));
                }
            });
        }
    });
    bar.finish_and_clear();
    let shards = shards.into_inner().unwrap_or_else(|e| e.into_inner()).into_iter().collect::<Result<Vec<_>>>()?;
    Ok(toys::result(&shards)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two bins, a signal with the POI over a background with a staterror and a normsys.
    const WORKSPACE: &str = r#"{"channels": [{"name": "sr", "samples": [
        {"name": "sig", "data": [3.0, 5.0], "modifiers": [{"name": "mu", "type": "normfactor", "data": null}]},
        {"name": "bkg", "data": [20.0, 12.0], "modifiers": [
            {"name": "stat", "type": "staterror", "data": [2.0, 1.5]},
            {"name": "norm", "type": "normsys", "data": {"hi": 1.1, "lo": 0.9}}]}]}],
      "observations": [{"name": "sr", "data": [22.0, 13.0]}],
      "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}], "version": "1.0.0"}"#;

    #[test]
    fn shards_on_every_core_give_the_single_run_exactly_with_the_toy_counts() {
        let value: serde_json::Value = serde_json::from_str(WORKSPACE).unwrap();
        let ws = fitfleet_engine::spec::Workspace::from_value_named("two bins", &value).unwrap();
        let model = fitfleet_engine::model::Model::new(&ws, &Default::default()).unwrap();
        let compiled = CompiledModel::new(&model, &candle_core::Device::Cpu).unwrap();
        let data = compiled.config().observed_data.clone();
        let stat = TestStatistic::QmuTilde;
        let here = hypotest(&compiled, &data, 1.0, stat, 300, 11).unwrap();
        let once = toys::hypotest(&compiled, &data, 1.0, stat, 300, 11, &FitOptions::default()).unwrap();
        assert_eq!(here, once);
        let counts = here.toys.unwrap();
        assert_eq!((counts.signal_plus_background, counts.background_only), (300, 300));
    }

    #[test]
    fn shards_are_a_hundredth_of_the_run_and_at_least_a_batch() {
        assert_eq!(shard_size(100), 64);
        assert_eq!(shard_size(2000), 64);
        assert_eq!(shard_size(100_000), 1000);
    }
}
