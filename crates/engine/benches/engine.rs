//! `cargo bench -p engine`: timings of the engine on published workspaces, medians of repeats.
//!
//! Prints one JSON line per measurement (`{"case", "what", "median_s", "runs"}`) so that
//! `scripts/bench-vs-pyhf` can put them beside pyhf's timings from the same machine and run.
//! Reads ../shared/reference (or $FITFLEET_REFERENCE). `FITFLEET_BENCH_QUICK=1` runs each
//! measurement fewer times.
use std::path::PathBuf;
use std::time::Instant;

use candle_core::Device;
use fitfleet_engine::compute::CompiledModel;
use fitfleet_engine::infer::calculators::{AsymptoticCalculator, Hypotests, toys};
use fitfleet_engine::infer::minimize;
use fitfleet_engine::infer::{FitOptions, TestStatistic, UpperLimitOptions, fit, upper_limit};
use fitfleet_engine::model::{Model, ModelSettings};

fn reference() -> PathBuf {
    std::env::var_os("FITFLEET_REFERENCE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference"))
}

fn compile(workspace: &str, patchset: Option<&str>, patch: Option<&str>) -> CompiledModel {
    let dir = reference();
    let patched = fitfleet_engine::spec::load_workspace_with_patch(
        dir.join(workspace),
        patchset.map(|p| dir.join(p)).as_deref(),
        patch,
    )
    .expect("reference workspace");
    let model = Model::new(&patched.workspace, &ModelSettings::default()).expect("model");
    CompiledModel::new(&model, &Device::Cpu).expect("compiled model")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn measure(case: &str, what: &str, runs: usize, mut f: impl FnMut()) {
    f(); // warm-up
    let times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    println!("{}", serde_json::json!({"case": case, "what": what, "median_s": median(times.clone()), "runs": runs}));
}

fn main() {
    fitfleet_engine::compute::configure_cpu_threads();
    let quick = std::env::var_os("FITFLEET_BENCH_QUICK").is_some();
    let runs = |n: usize| if quick { n.div_ceil(4).max(1) } else { n };
    let cases = [
        (
            "1lbb_C1N2_Wh_hbb_1000_0",
            "atlas-susy-2019-08-1lbb/BkgOnly.json",
            Some("atlas-susy-2019-08-1lbb/patchset.json"),
            Some("C1N2_Wh_hbb_1000_0"),
        ),
        ("tttt", "atlas-tttt/workspace.json", None, None),
        (
            "erjr_ERJR_350p0_200p0",
            "atlas-susy-2018-06-3l-erjr/BkgOnly.json",
            Some("atlas-susy-2018-06-3l-erjr/patchset.json"),
            Some("ERJR_350p0_200p0"),
        ),
    ];
    for (case, ws, ps, patch) in cases {
        let model = compile(ws, ps, patch);
        let data = model.config().observed_data.clone();
        let obs = model.observations(std::slice::from_ref(&data)).unwrap();
        let x = model.config().suggested_init.clone();
        let one = model.params(std::slice::from_ref(&x)).unwrap();
        measure(case, "nll_grad", runs(200), || {
            model.nll_grad(&one, &obs).unwrap();
        });
        measure(case, "fit", runs(20), || {
            assert!(fit(&model, &data, &FitOptions::default()).unwrap().converged);
        });
        // The optimizer's choice. `fit` above is the default: for smooth models (these three)
        // BFGS from the Fisher information at the start, certified and finished by Gauss-Newton.
        // Beside it, the same fit by projected Gauss-Newton alone (the previous default, still
        // the method where interpolation codes 0/1 put kinks in the NLL)...
        measure(case, "fit_gauss_newton", runs(20), || {
            let start = fitfleet_engine::infer::mle::suggested_start(&model);
            let bounds = &model.config().suggested_bounds;
            let m = minimize::minimize_gauss_newton(&model, &obs, &[start], bounds, &FitOptions::default()).unwrap();
            assert!(m[0].converged, "{}", m[0].message);
        });
        // ...and by gradient-only BFGS alone (the quasi-Newton family of L-BFGS-B, what toys
        // use), started from the expected curvature at the start, without the Gauss-Newton
        // certificate. Curvature included in the time. Alone it does not converge on ERJR's very
        // stiff constraints (the default hands such fits to Gauss-Newton): no row there.
        let fit_bfgs = || {
            let start = fitfleet_engine::infer::mle::suggested_start(&model);
            let h = [minimize::expected_curvature(&model, &start.x).unwrap()];
            let bounds = &model.config().suggested_bounds;
            let m =
                minimize::minimize_from_curvatures(&model, &obs, &[start], bounds, &h, None, &FitOptions::default())
                    .unwrap();
            m.into_iter().next().unwrap()
        };
        let bfgs = fit_bfgs();
        if bfgs.converged {
            measure(case, "fit_bfgs", runs(20), || {
                let m = fit_bfgs();
                assert!(m.converged, "{}", m.message);
            });
        } else {
            eprintln!("{case}: no fit_bfgs row: BFGS alone does not converge ({})", bfgs.message);
        }
        // Batched: 32 fits of the same data from jittered starts, time per fit.
        let starts: Vec<fitfleet_engine::infer::Start> = (0..32)
            .map(|i| {
                let mut s = fitfleet_engine::infer::mle::suggested_start(&model);
                let poi = model.config().poi_index.unwrap_or(0);
                s.x[poi] *= 1.0 + 0.01 * i as f64;
                s
            })
            .collect();
        let t = Instant::now();
        let n = runs(4);
        for _ in 0..n {
            fitfleet_engine::infer::mle::fit_batch(&model, &obs, &starts, &FitOptions::default()).unwrap();
        }
        println!(
            "{}",
            serde_json::json!({"case": case, "what": "fit_batched_per_item", "median_s": t.elapsed().as_secs_f64() / (n * 32) as f64, "runs": n})
        );
        if model.config().poi_index.is_some() {
            measure(case, "hypotest", runs(12), || {
                let calc =
                    AsymptoticCalculator::new(&model, &data, TestStatistic::QmuTilde, &FitOptions::default()).unwrap();
                calc.hypotests(&[1.0]).unwrap();
            });
        }
        if case.starts_with("1lbb") {
            measure(case, "upper_limit", runs(3), || {
                let calc =
                    AsymptoticCalculator::new(&model, &data, TestStatistic::QmuTilde, &FitOptions::default()).unwrap();
                upper_limit(&calc, &UpperLimitOptions::default()).unwrap();
            });
        }
        if case == "tttt" {
            let ntoys = if quick { 100 } else { 1000 };
            measure(case, &format!("toys_{ntoys}"), 1, || {
                toys::hypotest(&model, &data, 1.0, TestStatistic::QmuTilde, ntoys, 1, &FitOptions::default()).unwrap();
            });
        }
    }
}
