//! Benchmark of large models: time and peak memory of one synthetic workspace of NBINS bins with
//! a staterror gamma per bin (`tests/common/synthetic.rs`: a signal scaled by the POI `mu`, two
//! normsys), from its JSON to the compiled model, a free fit with uncertainties, and the
//! asymptotic CLs (qmu_tilde, mu = 1); with NTOYS, also the CLs from that many toys per
//! hypothesis. One size per run: the peak resident memory (VmHWM) is the process's.
//! usage: cargo run --release -p fitfleet-engine --example large_model -- NBINS [NTOYS]
use std::time::Instant;

use candle_core::Device;
use fitfleet_engine::compute::CompiledModel;
use fitfleet_engine::infer::calculators::{AsymptoticCalculator, Hypotests, toys};
use fitfleet_engine::infer::{FitOptions, TestStatistic, fit};
use fitfleet_engine::model::{Model, ModelSettings};
use fitfleet_engine::spec::Workspace;

#[path = "../tests/common/synthetic.rs"]
mod synthetic;

/// Peak resident memory of this process, MiB (Linux's VmHWM).
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    fitfleet_engine::compute::configure_cpu_threads();
    let nbins: usize = std::env::args().nth(1).map_or(10_000, |s| s.parse().expect("NBINS"));
    let start = Instant::now();
    let t = Instant::now();
    let spec = synthetic::workspace(nbins, 1.0);
    let ws = Workspace::from_value(&spec).expect("workspace");
    let model = Model::new(&ws, &ModelSettings::default()).expect("model");
    let compiled = CompiledModel::new(&model, &Device::Cpu).expect("compiled model");
    drop((spec, ws, model));
    let compile_s = t.elapsed().as_secs_f64();
    let data = compiled.config().observed_data.clone();

    let t = Instant::now();
    let options = FitOptions { uncertainties: true, ..FitOptions::default() };
    let result = fit(&compiled, &data, &options).expect("fit");
    let fit_s = t.elapsed().as_secs_f64();
    let poi = compiled.config().poi_index.expect("a POI");

    let t = Instant::now();
    let calc = AsymptoticCalculator::new(&compiled, &data, TestStatistic::QmuTilde, &FitOptions::default())
        .expect("asymptotic calculator");
    let cls = calc.hypotests(&[1.0]).expect("hypotest").remove(0);
    let cls_s = t.elapsed().as_secs_f64();
    let total_s = start.elapsed().as_secs_f64();

    let ntoys: Option<usize> = std::env::args().nth(2).map(|s| s.parse().expect("NTOYS"));
    let t = Instant::now();
    let toys_cls = ntoys.map(|n| {
        let r = toys::hypotest(&compiled, &data, 1.0, TestStatistic::QmuTilde, n, 1, &FitOptions::default());
        r.expect("toys").cls_obs
    });
    let toys = toys_cls.map_or(String::new(), |c| {
        format!(
            ", \"toys\": {}, \"toys_s\": {:.3}, \"toys_cls_obs\": {c:.6}",
            ntoys.unwrap_or(0),
            t.elapsed().as_secs_f64()
        )
    });

    println!(
        "{{\"nbins\": {nbins}, \"npars\": {}, \"compile_s\": {compile_s:.3}, \"fit_s\": {fit_s:.3}, \
         \"cls_s\": {cls_s:.3}, \"total_s\": {total_s:.3}, \"peak_rss_mib\": {:.1}, \"mu_hat\": {:.6}, \
         \"mu_uncertainty\": {:.6}, \"fit_converged\": {}, \"fit_iterations\": {}, \"cls_obs\": {:.6}{toys}}}",
        compiled.npars(),
        peak_rss_mib(),
        result.bestfit[poi],
        result.uncertainties[poi],
        result.converged,
        result.iterations,
        cls.cls_obs,
    );
}
