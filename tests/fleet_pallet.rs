//! The whole ATLAS 1Lbb pallet (125 signal patches, CLs at mu = 1) through two real
//! `fitfleet-worker` processes: every task's result exactly once, the same CLs as the engine
//! in-process and as pyhf. Prints the wall time and the model cache's hit rate.
mod fleet_common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use candle_core::Device;
use fitfleet_engine::compute::CompiledModel;
use fitfleet_engine::infer::{Calculator, FitOptions, HypotestOptions, HypotestResult, TestStatistic, hypotest};
use fitfleet_engine::model::{Model, ModelSettings};
use fitfleet_engine::spec::PatchSet;
use fitfleet_protocol::Outcome;
use fleet_common::*;

/// CLs of a patch computed here, by the engine alone.
fn engine_hypotest(workspace: &[u8], patchset: &PatchSet, patch: &str) -> HypotestResult {
    let value: serde_json::Value = serde_json::from_slice(workspace).unwrap();
    let ws = patchset.apply(&value, patchset.get(patch).unwrap()).unwrap();
    let model = Model::new(&ws, &ModelSettings::default()).unwrap();
    let compiled = CompiledModel::new(&model, &Device::Cpu).unwrap();
    let data = compiled.config().observed_data.clone();
    let options = HypotestOptions {
        test_stat: TestStatistic::QmuTilde,
        calculator: Calculator::Asymptotics,
        fit: FitOptions::default(),
    };
    hypotest(&compiled, &data, 1.0, &options).unwrap()
}

/// pyhf's CLs for 1Lbb patches (code4 interpolation, qtilde, mu = 1): name → (obs, exp, tol).
fn pyhf_1lbb() -> HashMap<String, (f64, Vec<f64>, f64)> {
    let path = reference_dir().join("cases.json");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["workspace"] == "atlas-susy-2019-08-1lbb/BkgOnly.json"
                && c["interp"] == "code4"
                && c["patch"].is_string()
                && c["cls"]["test_stat"] == "qtilde"
                && c["cls"]["mu"] == 1.0
        })
        .map(|c| {
            let cls = &c["cls"];
            let exp = cls["CLs_exp"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
            (
                c["patch"].as_str().unwrap().to_owned(),
                (cls["CLs_obs"].as_f64().unwrap(), exp, cls["tol"].as_f64().unwrap()),
            )
        })
        .collect()
}

#[test]
fn pallet_1lbb_through_two_workers() {
    let _serial = serial();
    runtime().block_on(async {
        let cfg = config("pallet");
        let store = require_services(&cfg).await;
        let _cleanup = Cleanup::both(&cfg);
        let (workspace, patchset) = pallet_1lbb();
        let patches: Vec<_> = patchset.patches().iter().collect();
        assert_eq!(patches.len(), 125);

        // One fit slot each: two fits at once on this two-core machine.
        let w1 = spawn_worker(&cfg, "w1", 1, &[]);
        let w2 = spawn_worker(&cfg, "w2", 1, &["--dead-letter-recorder", "false"]);

        let submitted_ms = fitfleet_protocol::now_ms();
        let start = Instant::now();
        let tasks = submit(&cfg, &store, &workspace, &patches).await;
        let job = tasks[0].job_id.clone();
        wait_done(&store, &job, Duration::from_secs(900)).await;
        let wall = start.elapsed();

        let results = assert_exactly_once(&store, &tasks).await;
        let failed: Vec<_> = results.iter().filter(|r| !r.is_success()).map(|r| (&r.patch, &r.status)).collect();
        assert!(failed.is_empty(), "failed tasks: {failed:?}");
        let by_worker = |pid: u32| results.iter().filter(|r| r.worker.pid == pid).count();
        let (n1, n2) = (by_worker(w1.pid()), by_worker(w2.pid()));
        assert_eq!(n1 + n2, results.len(), "every result comes from one of the two workers");
        assert!(n1 > 0 && n2 > 0, "both workers took tasks: {n1} and {n2}");
        let last_ms = results.iter().map(|r| r.finished_at_ms).max().unwrap();

        let cls: HashMap<&str, &HypotestResult> = results
            .iter()
            .map(|r| match &r.outcome {
                Some(Outcome::Hypotest(h)) => (r.patch.as_ref().unwrap().name.as_str(), h),
                other => panic!("not a hypotest outcome: {other:?}"),
            })
            .collect();

        // The same numbers as the engine run here, on a few patches.
        for name in ["C1N2_Wh_hbb_1000_0", "C1N2_Wh_hbb_300_25", "C1N2_Wh_hbb_700_100"] {
            let here = engine_hypotest(&workspace, &patchset, name);
            let fleet = cls[name];
            assert!(
                (fleet.cls_obs - here.cls_obs).abs() <= 1e-9,
                "{name}: CLs_obs {} vs {}",
                fleet.cls_obs,
                here.cls_obs
            );
            for (i, (got, want)) in fleet.cls_exp.iter().zip(&here.cls_exp).enumerate() {
                assert!((got - want).abs() <= 1e-9, "{name}: CLs_exp[{i}] {got} vs {want}");
            }
        }

        // And pyhf's, within the reference's tolerance.
        let pyhf = pyhf_1lbb();
        assert!(pyhf.len() >= 5, "pyhf references for 1Lbb patches: {}", pyhf.len());
        for (name, (obs, exp, tol)) in &pyhf {
            let fleet = cls[name.as_str()];
            assert!((fleet.cls_obs - obs).abs() <= *tol, "{name}: CLs_obs {} vs pyhf {obs}", fleet.cls_obs);
            for (i, (got, want)) in fleet.cls_exp.iter().zip(exp).enumerate() {
                assert!((got - want).abs() <= *tol, "{name}: CLs_exp[{i}] {got} vs pyhf {want}");
            }
        }

        // The workers' own account, from their metrics endpoints.
        let (mut hits, mut misses, mut done) = (0.0, 0.0, 0.0);
        for w in [&w1, &w2] {
            let m = w.metrics();
            hits += metric(&m, "fitfleet_worker_model_cache_hits_total");
            misses += metric(&m, "fitfleet_worker_model_cache_misses_total");
            done += metric(&m, "fitfleet_worker_tasks_total{outcome=\"succeeded\"}");
        }
        assert_eq!(done as usize, results.len(), "the workers count what they stored");
        let fit_s: f64 = results.iter().map(|r| r.timings.fit_s).sum();
        let compile_s: f64 = results.iter().map(|r| r.timings.compile_s).sum();
        let fetch_s: f64 = results.iter().map(|r| r.timings.workspace_fetch_s).sum();
        println!(
            "1Lbb pallet, {} hypotests, 2 workers x 1 slot: submit -> job done {:.1} s, submit -> last result {:.1} s \
             ({} + {} tasks); per task: fit {:.2} s, compile {:.2} s, workspace fetch {:.3} s; \
             model cache hit rate {:.1}% ({hits} hits, {misses} misses); {} pyhf references agree",
            results.len(),
            wall.as_secs_f64(),
            (last_ms - submitted_ms) as f64 / 1000.0,
            n1,
            n2,
            fit_s / results.len() as f64,
            compile_s / results.len() as f64,
            fetch_s / results.len() as f64,
            100.0 * hits / (hits + misses).max(1.0),
            pyhf.len(),
        );
    });
}
