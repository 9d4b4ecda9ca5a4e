//! Profiling aid: time the batched likelihood of a reference model at batch size B.
//! usage: cargo run --release -p engine --example profile_batch -- WORKSPACE [B] [PATCHSET PATCH]
use std::time::Instant;

fn main() {
    fitfleet_engine::compute::configure_cpu_threads();
    let args: Vec<String> = std::env::args().collect();
    let b: usize = args.get(2).map(|s| s.parse().unwrap()).unwrap_or(1);
    let patched = fitfleet_engine::spec::load_workspace_with_patch(
        &args[1],
        args.get(3).map(std::path::Path::new),
        args.get(4).map(String::as_str),
    )
    .unwrap();
    let model = fitfleet_engine::model::Model::new(&patched.workspace, &Default::default()).unwrap();
    let cm = fitfleet_engine::compute::CompiledModel::new(&model, &candle_core::Device::Cpu).unwrap();
    let obs = cm.observations(&[cm.config().observed_data.clone()]).unwrap();
    let x = cm.config().suggested_init.clone();
    let theta = cm.params(&vec![x; b]).unwrap();
    for (what, n) in [("nll", 20), ("nll_grad", 20), ("nll_grad_jacobian", 20)] {
        let t = Instant::now();
        for _ in 0..n {
            match what {
                "nll" => drop(cm.nll(&theta, &obs).unwrap()),
                "nll_grad" => drop(cm.nll_grad(&theta, &obs).unwrap()),
                _ => drop(cm.nll_grad_jacobian(&theta, &obs).unwrap()),
            }
        }
        println!("{what} B={b}: {:?} per call", t.elapsed() / n);
    }
    let data = cm.config().observed_data.clone();
    let t = Instant::now();
    let mut it = 0;
    for _ in 0..20 {
        it = fitfleet_engine::infer::fit(&cm, &data, &Default::default()).unwrap().iterations;
    }
    println!("fit: {:?} per fit, {it} iterations", t.elapsed() / 20);
}
