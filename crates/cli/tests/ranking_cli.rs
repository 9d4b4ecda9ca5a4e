//! `fitfleet ranking` and `fitfleet scan` through the binary, on the example pallet (a signal
//! patch): the ranking is ordered, covers every free parameter but the POI, is the same on
//! this machine and on a fleet of the test's own (real RabbitMQ and Redis, the real worker
//! service); scans have their minimum at the best fit and a 68% interval around it; figures are
//! written; a forged impacts task becomes a failed result naming the reason.
mod common;

use std::process::Output;
use std::time::Duration;

use fitfleet_protocol::{Status, Work};
use serde_json::Value;

/// A point whose best-fit signal strength is inside its bounds (0.57): at most of the example's
/// points the data sit below the background and mu_hat is at its bound 0, where fixing a
/// nuisance parameter cannot move it.
const PATCH: &str = "SIG_1100_0";

fn fitfleet(cfg: Option<&fitfleet_fleet::FleetConfig>, args: &[&str]) -> Output {
    let ws = common::pallet_workspace();
    let ps = common::pallet_patchset();
    let mut all = vec![args[0], ws.to_str().unwrap(), "--patchset", ps.to_str().unwrap(), "--patch", PATCH];
    all.extend(&args[1..]);
    common::fitfleet(cfg).args(&all).output().expect("fitfleet runs")
}

fn ok(cfg: Option<&fitfleet_fleet::FleetConfig>, args: &[&str]) -> Output {
    let o = fitfleet(cfg, args);
    assert!(o.status.success(), "fitfleet {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    o
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn png_size(path: &std::path::Path) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let reader = decoder.read_info().expect("a PNG");
    (reader.info().width, reader.info().height)
}

#[test]
fn the_ranking_is_ordered_complete_and_the_same_on_the_fleet() {
    let local = json(&ok(None, &["ranking", "--format", "json"]));
    let impacts = local["impacts"].as_array().unwrap();
    let pulls = json(&ok(None, &["pulls", "--format", "json"]));
    // Every constrained and free parameter but the POI, each once.
    let expected = pulls["constrained"].as_array().unwrap().len() + pulls["free"].as_array().unwrap().len();
    assert_eq!(impacts.len(), expected);
    assert!(impacts.iter().all(|i| i["parameter"] != local["poi"]));
    let size = |i: &Value| f(&i["postfit_up"]).abs() + f(&i["postfit_down"]).abs();
    for w in impacts.windows(2) {
        assert!(size(&w[0]) >= size(&w[1]), "not ordered: {} before {}", w[0]["parameter"], w[1]["parameter"]);
    }
    assert!(size(&impacts[0]) > 1e-3, "the largest impact is not zero: {}", impacts[0]);
    for i in impacts {
        assert_eq!(i["converged"], true, "{i}");
        // Pre-fit impacts exist exactly for constrained parameters.
        assert_eq!(i["prefit_up"].is_null(), f(&i["prefit_width"]) == 0.0, "{i}");
        // Fixing a parameter above its best fit moves the POI one way, below it the other
        // (the likelihood is smooth and the shifts small), unless the impact is negligible.
        let (up, down) = (f(&i["postfit_up"]), f(&i["postfit_down"]));
        if up.abs().min(down.abs()) > 1e-4 {
            assert!(up * down < 0.0, "{i}");
        }
    }

    // --top and the formats.
    let top = json(&ok(None, &["ranking", "--format", "json", "--top", "3"]));
    assert_eq!(top["impacts"].as_array().unwrap()[..], impacts[..3]);
    let csv = ok(None, &["ranking", "--format", "csv"]);
    assert_eq!(String::from_utf8_lossy(&csv.stdout).lines().count(), impacts.len() + 1);
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("ranking.png");
    let table = ok(None, &["ranking", "--plot", png.to_str().unwrap(), "--top", "5"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("impacts on mu_SIG") && text.contains(impacts[0]["parameter"].as_str().unwrap()), "{text}");
    assert_eq!(png_size(&png), (1100, 420), "five rows: the smallest height");

    // The same ranking from a fleet of the test's own, two parameters per task.
    let cfg = common::config("ranking");
    let _cleanup = common::Cleanup::both(&cfg);
    common::require_services(&cfg);
    let _worker = common::TestWorker::start(&cfg);
    let o = ok(Some(&cfg), &["ranking", "--fleet", "--per-task", "2", "--format", "json"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    let tasks = expected.div_ceil(2);
    assert!(stderr.contains(&format!("({tasks} tasks)")), "{stderr}");
    let fleet = json(&o);
    assert_eq!(fleet["poi_bestfit"], local["poi_bestfit"]);
    let fleet_impacts = fleet["impacts"].as_array().unwrap();
    assert_eq!(fleet_impacts.len(), impacts.len());
    for (a, b) in impacts.iter().zip(fleet_impacts) {
        assert_eq!(a["parameter"], b["parameter"]);
        for k in ["postfit_up", "postfit_down"] {
            assert!((f(&a[k]) - f(&b[k])).abs() <= 1e-9, "{}: {k} {} vs {}", a["parameter"], a[k], b[k]);
        }
    }
}

#[test]
fn scans_have_their_minimum_at_the_best_fit_and_an_interval_around_it() {
    let s = json(&ok(None, &["scan", "--format", "json"]));
    assert_eq!(s["parameters"], serde_json::json!(["mu_SIG"]));
    let points = s["points"].as_array().unwrap();
    assert_eq!(points.len(), 21);
    let best = f(&s["bestfit"][0]);
    // mu_hat is 1.6 sigma above the bound 0, which the grid starts at: the interval's lower
    // end is beyond the scan (null), the upper one above the best fit.
    assert!(s["interval"][0].is_null(), "{}", s["interval"]);
    assert!(f(&s["interval"][1]) > best, "{}", s["interval"]);
    assert_eq!(f(&points[0]["values"][0]), 0.0, "the grid starts at the bound");
    for p in points {
        assert_eq!(p["converged"], true, "{p}");
        assert!(f(&p["delta_twice_nll"]) >= -1e-9, "below the minimum: {p}");
    }
    // Convex around the minimum: the deltas fall, then rise.
    let d: Vec<f64> = points.iter().map(|p| f(&p["delta_twice_nll"])).collect();
    let m = d.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
    assert!(d[..m].windows(2).all(|w| w[0] >= w[1]) && d[m..].windows(2).all(|w| w[0] <= w[1]), "{d:?}");
    // The default range reaches 3 sigma above the best fit, past -2 Delta ln L = 4.
    assert!(d[d.len() - 1] > 4.0, "{d:?}");

    // A 2D scan of the POI and the largest-impact parameter, with a figure.
    let ranking = json(&ok(None, &["ranking", "--format", "json", "--top", "1"]));
    let np = ranking["impacts"][0]["parameter"].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("scan2d.svg");
    let csv = ok(
        None,
        &[
            "scan",
            "--parameter",
            "mu_SIG",
            "--parameter",
            &np,
            "--points",
            "5",
            "--format",
            "csv",
            "--plot",
            svg.to_str().unwrap(),
        ],
    );
    assert_eq!(String::from_utf8_lossy(&csv.stdout).lines().count(), 26);
    let text = std::fs::read_to_string(&svg).unwrap();
    roxmltree::Document::parse(&text).expect("well-formed SVG");
    let png = dir.path().join("scan.png");
    ok(None, &["scan", "--points", "7", "--plot", png.to_str().unwrap()]);
    assert_eq!(png_size(&png), (1100, 700));

    // Outside the bounds, or unknown: refused, naming why.
    let o = fitfleet(None, &["scan", "--range", "-1,2"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("mu_SIG must stay within its bounds"), "{stderr}");
    let o = fitfleet(None, &["scan", "--parameter", "no_such"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("no parameter \"no_such\""));
}

#[test]
fn forged_impacts_tasks_become_failed_results_naming_the_reason() {
    let cfg = common::config("impacts-forged");
    let _cleanup = common::Cleanup::both(&cfg);
    common::require_services(&cfg);
    let rt = common::runtime();
    let store = rt.block_on(fitfleet_testkit::services::require_services(&cfg));
    let bytes = std::fs::read(common::pallet_workspace()).unwrap();
    let put = rt.block_on(store.put_workspace(&bytes)).unwrap();
    let patchset = fitfleet_engine::spec::PatchSet::from_path(common::pallet_patchset()).unwrap();
    let patch = fitfleet_testkit::jobs::task_patch(patchset.get(PATCH).unwrap());
    let job = fitfleet_protocol::JobId::generate();
    let task = |parameters: Vec<String>| {
        fitfleet_protocol::Task::new(
            job.clone(),
            put.digest.clone(),
            Some(patch.clone()),
            fitfleet_engine::model::ModelSettings::default(),
            Work::Impacts { parameters },
            fitfleet_protocol::now_ms(),
        )
    };
    let tasks = vec![
        task(vec!["no_such_parameter".into()]),
        task(vec!["x".into(); fitfleet_protocol::MAX_IMPACTS_PER_TASK + 1]),
        task(vec!["mu_SIG".into()]),
    ];
    rt.block_on(fitfleet_testkit::jobs::create_and_publish(&cfg, &store, &tasks));
    let _worker = common::TestWorker::start(&cfg);
    rt.block_on(fitfleet_testkit::jobs::wait_done(&store, &job, Duration::from_secs(120)));
    let results = rt.block_on(fitfleet_testkit::jobs::assert_exactly_once(&store, &tasks));
    let reason = |t: &fitfleet_protocol::Task| {
        let r = results.iter().find(|r| r.task_id == t.task_id).unwrap();
        match &r.status {
            Status::Failed { reason } => reason.clone(),
            Status::Succeeded => panic!("a forged task succeeded: {:?}", r.outcome),
        }
    };
    assert!(reason(&tasks[0]).contains("no parameter \"no_such_parameter\""), "{}", reason(&tasks[0]));
    assert!(reason(&tasks[1]).contains("work.parameters is 1001 names"), "{}", reason(&tasks[1]));
    assert!(reason(&tasks[2]).contains("mu_SIG is the POI or fixed"), "{}", reason(&tasks[2]));
}
