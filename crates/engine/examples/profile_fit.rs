//! Profiling aid: where a single fit's time goes on a reference model (evaluations of the
//! likelihood by kind, and the rest: the optimiser's linear algebra and bookkeeping).
//! usage: cargo run --release -p engine --example profile_fit -- WORKSPACE [PATCHSET PATCH]
use std::time::Instant;

use fitfleet_engine::infer::{FitOptions, minimize, mle};

fn per_call(n: u32, mut f: impl FnMut()) -> f64 {
    f();
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed().as_secs_f64() / n as f64
}

fn main() {
    fitfleet_engine::compute::configure_cpu_threads();
    let args: Vec<String> = std::env::args().collect();
    let patched = fitfleet_engine::spec::load_workspace_with_patch(
        &args[1],
        args.get(2).map(std::path::Path::new),
        args.get(3).map(String::as_str),
    )
    .unwrap();
    let model = fitfleet_engine::model::Model::new(&patched.workspace, &Default::default()).unwrap();
    let cm = fitfleet_engine::compute::CompiledModel::new(&model, &candle_core::Device::Cpu).unwrap();
    println!("P = {}, NB = {}", cm.npars(), cm.nbins());
    let data = cm.config().observed_data.clone();
    let obs = cm.observations(std::slice::from_ref(&data)).unwrap();
    let x = cm.config().suggested_init.clone();
    let theta = cm.params(std::slice::from_ref(&x)).unwrap();
    let t_nll = per_call(200, || drop(cm.nll(&theta, &obs).unwrap()));
    let t_grad = per_call(200, || drop(cm.nll_grad(&theta, &obs).unwrap()));
    let t_jac = per_call(200, || drop(cm.nll_grad_jacobian(&theta, &obs).unwrap()));
    let t_params = per_call(200, || drop(cm.params(std::slice::from_ref(&x)).unwrap()));
    let t_obs = per_call(200, || drop(obs.select(&cm, &[0]).unwrap()));
    println!(
        "per call: nll {:.1} us, nll_grad {:.1} us, nll_grad_jacobian {:.1} us, params {:.1} us, obs.select {:.1} us",
        t_nll * 1e6,
        t_grad * 1e6,
        t_jac * 1e6,
        t_params * 1e6,
        t_obs * 1e6
    );
    let opts = FitOptions::default();
    let start = mle::suggested_start(&cm);
    let mut gn = None;
    let t_gn =
        per_call(20, || gn = Some(mle::fit_batch(&cm, &obs, std::slice::from_ref(&start), &opts).unwrap().remove(0)));
    let gn = gn.unwrap();
    let mut gn_only = None;
    let t_gn_only = per_call(5, || {
        gn_only = Some(
            minimize::minimize_gauss_newton(
                &cm,
                &obs,
                std::slice::from_ref(&start),
                &cm.config().suggested_bounds,
                &opts,
            )
            .unwrap()
            .remove(0),
        )
    });
    let gn_only = gn_only.unwrap();
    println!(
        "Gauss-Newton alone: {:.2} ms, {} iterations, {} evaluations, twice nll {}",
        t_gn_only * 1e3,
        gn_only.iterations,
        gn_only.evaluations,
        cm.twice_nll_from(&[gn_only.nll], &obs)[0]
    );
    println!(
        "default fit: {:.2} ms, {} iterations, {} evaluations (jacobian part {:.2} ms), twice nll {}",
        t_gn * 1e3,
        gn.iterations,
        gn.evaluations,
        gn.evaluations as f64 * t_jac * 1e3,
        cm.twice_nll_from(&[gn.nll], &obs)[0]
    );
    let t_curv = per_call(20, || drop(minimize::expected_curvature(&cm, &start.x).unwrap()));
    let h = [minimize::expected_curvature(&cm, &start.x).unwrap()];
    let bounds = &cm.config().suggested_bounds;
    let mut bf = None;
    let t_bf = per_call(20, || {
        bf = Some(
            minimize::minimize_from_curvatures(&cm, &obs, std::slice::from_ref(&start), bounds, &h, None, &opts)
                .unwrap()
                .remove(0),
        )
    });
    let bf = bf.unwrap();
    println!(
        "BFGS fit: {:.2} ms + curvature {:.2} ms, {} iterations, {} evaluations (gradient part {:.2} ms), twice nll {}, {}",
        t_bf * 1e3,
        t_curv * 1e3,
        bf.iterations,
        bf.evaluations,
        bf.evaluations as f64 * t_grad * 1e3,
        cm.twice_nll_from(&[bf.nll], &obs)[0],
        bf.message
    );
    if cm.config().poi_index.is_some() {
        use fitfleet_engine::infer::calculators::{AsymptoticCalculator, Hypotests};
        let t_h = per_call(20, || {
            let calc =
                AsymptoticCalculator::new(&cm, &data, fitfleet_engine::infer::TestStatistic::QmuTilde, &opts).unwrap();
            calc.hypotests(&[1.0]).unwrap();
        });
        println!("hypotest (qtilde, mu = 1): {:.2} ms", t_h * 1e3);
    }
}
