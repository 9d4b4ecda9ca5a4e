//! Profiling aid: time `ntoys` pseudo-experiments per hypothesis on a workspace.
//! usage: cargo run -p engine --example toys_timing -- WORKSPACE NTOYS
fn main() {
    fitfleet_engine::compute::configure_cpu_threads();
    let args: Vec<String> = std::env::args().collect();
    let ws = fitfleet_engine::spec::Workspace::from_path(&args[1]).unwrap();
    let n: usize = args[2].parse().unwrap();
    let model = fitfleet_engine::model::Model::new(&ws, &Default::default()).unwrap();
    let cm = fitfleet_engine::compute::CompiledModel::new(&model, &candle_core::Device::Cpu).unwrap();
    let data = cm.config().observed_data.clone();
    let t = std::time::Instant::now();
    let shard = fitfleet_engine::infer::calculators::toys::shard(
        &cm,
        &data,
        1.0,
        fitfleet_engine::infer::TestStatistic::QmuTilde,
        1,
        0,
        n as u64,
        &Default::default(),
        &fitfleet_engine::infer::Interrupt::none(),
    )
    .unwrap();
    let r = fitfleet_engine::infer::calculators::toys::result(std::slice::from_ref(&shard)).unwrap();
    println!("{n} toys: {:?}, failed {}, CLs {} {:?}", t.elapsed(), shard.failed, r.cls_obs, r.cls_exp);
}
