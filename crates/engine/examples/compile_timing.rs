//! Profiling aid: where the time of turning a background workspace and one patch into a
//! compiled model goes (patching, typing and validating, building the model, lowering it to
//! tensors), medians over the patches of a patchset.
//! usage: cargo run --release -p engine --example compile_timing -- WORKSPACE PATCHSET [N]
use std::time::Instant;

use fitfleet_engine::compute::CompiledModel;
use fitfleet_engine::model::{Model, ModelSettings};
use fitfleet_engine::spec::{LoadedWorkspace, PatchSet};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    fitfleet_engine::compute::configure_cpu_threads();
    let args: Vec<String> = std::env::args().collect();
    let t = Instant::now();
    let loaded = LoadedWorkspace::from_path(&args[1]).unwrap();
    println!("parse and validate the workspace: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    let set = PatchSet::from_path(&args[2]).unwrap();
    let n: usize = args.get(3).map_or(20, |s| s.parse().unwrap());
    let settings = ModelSettings::default();
    let (mut general, mut apply, mut model, mut lower) = (vec![], vec![], vec![], vec![]);
    for patch in set.patches().iter().take(n) {
        let t = Instant::now();
        set.apply(&loaded.value, patch).unwrap();
        general.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let ws = set.apply_to(&loaded, patch).unwrap();
        apply.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let m = Model::new(&ws, &settings).unwrap();
        model.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        CompiledModel::new(&m, &candle_core::Device::Cpu).unwrap();
        lower.push(t.elapsed().as_secs_f64());
    }
    for (what, v) in [
        ("apply the patch to the JSON (type, validate)", general),
        ("apply the patch to the typed workspace (validate)", apply),
        ("build the model", model),
        ("lower to tensors", lower),
    ] {
        println!("{what}: median {:.2} ms over {} patches", median(v) * 1e3, n.min(set.len()));
    }
}
