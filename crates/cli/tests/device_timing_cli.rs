//! `fitfleet device-timing` through the binary, on the example pallet (a signal patch): one
//! timing per batch size and evaluation, the batched rows checked against the same points
//! alone, bad batch sizes refused, and a GPU this binary or machine lacks named.
mod common;

use std::process::Output;

use serde_json::Value;

fn run(args: &[&str]) -> Output {
    let ws = common::pallet_workspace();
    let ps = common::pallet_patchset();
    let mut all =
        vec!["device-timing", ws.to_str().unwrap(), "--patchset", ps.to_str().unwrap(), "--patch", "SIG_300_0"];
    all.extend(args);
    common::fitfleet(None).args(&all).env_remove("FITFLEET_DEVICE").output().expect("fitfleet runs")
}

#[test]
fn every_batch_size_is_timed_and_checked() {
    let o = run(&["--batch", "8,1,8,3", "--repeats", "3"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let d: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(d["device"], "cpu");
    let npars = d["model"]["parameters"].as_u64().unwrap();
    assert!(npars > 1 && d["model"]["bins"].as_u64().unwrap() > 1, "{d}");
    assert_eq!(d["model"]["curvature"], "dense", "a small model fits with dense curvature");
    let timings = d["timings"].as_array().unwrap();
    // Sorted, without the repeated 8, for both evaluations.
    let seen: Vec<(String, u64)> =
        timings.iter().map(|t| (t["evaluation"].as_str().unwrap().to_string(), t["batch"].as_u64().unwrap())).collect();
    let want: Vec<(String, u64)> =
        ["nll_grad", "nll_grad_jacobian"].iter().flat_map(|e| [1, 3, 8].map(|b| (e.to_string(), b))).collect();
    assert_eq!(seen, want);
    for t in timings {
        let per_call = t["median_seconds_per_call"].as_f64().unwrap();
        let per_point = t["microseconds_per_point"].as_f64().unwrap();
        assert!(per_call > 0.0, "{t}");
        assert!((per_point - per_call * 1e6 / t["batch"].as_f64().unwrap()).abs() < 1e-9 * per_point.max(1.0), "{t}");
        assert!(t["per_point_speedup_vs_batch_1"].as_f64().unwrap() > 0.0, "{t}");
    }
    let checks = &d["checks"];
    assert!(checks["batch_vs_single_max_rel_diff"].as_f64().unwrap() <= 1e-12, "{checks}");
    assert!(checks["device_vs_cpu_max_rel_diff"].is_null(), "on the cpu there is nothing to compare with");
    assert_eq!(d["passed"], true);
}

#[test]
fn bad_batch_sizes_and_missing_gpus_are_refused() {
    for bad in ["0", "65537", "x"] {
        let o = run(&["--batch", bad]);
        assert_eq!(o.status.code(), Some(2), "--batch {bad}");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains("--batch"), "{stderr}");
    }
    let o = run(&["--repeats", "0"]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["--device", "cuda:1"]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("device cuda:1: "));
}
