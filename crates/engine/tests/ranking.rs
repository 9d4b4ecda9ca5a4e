//! The ranking's fixed fits and the likelihood scan against pyhf 0.7.6 with iminuit on tttt and
//! a 1Lbb patch (`tests/data/pyhf-ranking.json`, made by `scripts/pyhf/ranking.py`).
//!
//! For each chosen parameter, pyhf fixed it at its post-fit and pre-fit +-1 sigma (from pyhf's
//! free fit) and refitted, from two starts (the suggested values and its best fit), keeping the
//! deeper minimum. Here the same parameter is fixed at the same values and fitted as
//! `fitfleet ranking` fits ([`profile_fits`]); the impact on the POI (fixed fit's POI minus the
//! free fit's) must agree within 1e-3, and so must twice the NLL.
//!
//! When our fit is deeper than pyhf's by more than 1e-3 in twice the NLL, pyhf's minimizer
//! stopped in a shallower minimum: that is evidence about pyhf's fit, not a disagreement about
//! the likelihood, so the point is reported (with both values) and its POI not compared. Ours
//! shallower than pyhf's by more than 1e-3 is a failure. The test prints every difference
//! (`--nocapture`).
//!
//! Measured (December 2026): 109 fits agree, the POI within 7e-6 and twice the NLL within 5e-8.
//! One does not: on 1Lbb with `mu_Top` fixed at 0.73225 (its post-fit -1 sigma) pyhf's deeper
//! start stops at twice NLL 220.04401 with mu_SIG = 1.0474, ours at 220.02234 with 1.1709.
//! pyhf's own likelihood at our minimum is 220.02234, and pyhf refitted from our minimum stays
//! there (mu_SIG = 1.1709): the deeper minimum is one pyhf's fit missed.
mod common;

use candle_core::Device;
use fitfleet_engine::compute::CompiledModel;
use fitfleet_engine::infer::diagnostics::{Anchor, Reference, profile_fits};
use fitfleet_engine::infer::{FitOptions, Interrupt};
use fitfleet_engine::model::{Model, ModelSettings};
use serde_json::Value;

const TOLERANCE: f64 = 1e-3;

fn reference() -> Vec<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pyhf-ranking.json");
    common::read_json(&path)["cases"].as_array().expect("cases").clone()
}

/// How one fixed fit compares with pyhf's.
enum Compared {
    Agrees {
        d_poi: f64,
        d_twice_nll: f64,
    },
    /// Ours deeper than pyhf's by more than the tolerance in twice the NLL.
    PyhfShallower,
}

fn compare(ours_poi: f64, ours_twice_nll: f64, pyhf_poi: f64, pyhf_twice_nll: f64, at: &str) -> Compared {
    let deeper = pyhf_twice_nll - ours_twice_nll;
    if deeper > TOLERANCE {
        eprintln!("{at}: ours is deeper than pyhf's by {deeper:.4} in twice NLL (POI {ours_poi:.5} vs {pyhf_poi:.5})");
        return Compared::PyhfShallower;
    }
    let (d_poi, d_twice_nll) = ((ours_poi - pyhf_poi).abs(), (ours_twice_nll - pyhf_twice_nll).abs());
    assert!(
        d_poi <= TOLERANCE && d_twice_nll <= TOLERANCE,
        "{at}: POI {ours_poi} vs pyhf's {pyhf_poi}, twice NLL {ours_twice_nll} vs {pyhf_twice_nll}"
    );
    Compared::Agrees { d_poi, d_twice_nll }
}

#[test]
fn fixed_parameter_fits_and_scans_match_pyhf() {
    let mut compared = 0;
    let mut pyhf_shallower = 0;
    for case in reference() {
        let name = case["name"].as_str().unwrap().to_string();
        let spec = Model::new(&common::workspace(&case), &ModelSettings::default()).unwrap();
        let model = CompiledModel::new(&spec, &Device::Cpu).unwrap();
        let c = model.config();
        let data = c.observed_data.clone();
        let obs = model.observations(std::slice::from_ref(&data)).unwrap();
        let reference = Reference::fit(&model, &data, &FitOptions::default()).unwrap();
        assert!(reference.fit.converged, "{name}: {}", reference.fit.message);
        let poi = c.poi_index.unwrap();
        let d_hat = (reference.fit.bestfit[poi] - case["bestfit_poi"].as_f64().unwrap()).abs();
        eprintln!("{name}: POI at the free fit differs from pyhf's by {d_hat:.2e}");
        assert!(d_hat <= TOLERANCE, "{name}: POI_hat differs by {d_hat}");
        let anchor = Anchor { bestfit: &reference.fit.bestfit, covariance: reference.covariance.as_ref() };
        let mut worst = (0.0f64, 0.0f64);
        let mut see = |r: Compared| match r {
            Compared::Agrees { d_poi, d_twice_nll } => {
                worst = (worst.0.max(d_poi), worst.1.max(d_twice_nll));
                compared += 1;
            }
            Compared::PyhfShallower => pyhf_shallower += 1,
        };
        for p in case["parameters"].as_array().unwrap() {
            let pname = p["name"].as_str().unwrap();
            let k = c.par_names.iter().position(|n| n == pname).unwrap_or_else(|| panic!("{name}: no {pname}"));
            let fits = p["fits"].as_array().unwrap();
            let points: Vec<Vec<(usize, f64)>> = fits.iter().map(|f| vec![(k, f["value"].as_f64().unwrap())]).collect();
            let neighbours: Vec<Vec<usize>> =
                (0..points.len()).map(|i| (0..points.len()).filter(|&j| j != i).collect()).collect();
            let minima =
                profile_fits(&model, &obs, anchor, &points, &neighbours, &FitOptions::default(), &Interrupt::none())
                    .unwrap();
            for (f, m) in fits.iter().zip(&minima) {
                assert!(m.converged, "{name}: {pname} = {}: {}", f["value"], m.message);
                let twice = model.twice_nll_from(&[m.nll], &obs)[0];
                // Impacts: each side's POI relative to its own free fit.
                let ours = m.x[poi] - reference.fit.bestfit[poi];
                let theirs = f["poi"].as_f64().unwrap() - case["bestfit_poi"].as_f64().unwrap();
                let at = format!("{name}: {pname} = {}", f["value"]);
                see(compare(ours, twice, theirs, f["twice_nll"].as_f64().unwrap(), &at));
            }
        }
        eprintln!("{name}: impacts: largest differences: POI {:.2e}, twice NLL {:.2e}", worst.0, worst.1);

        // The scan in the POI, at pyhf's values.
        let scan = case["scan"]["points"].as_array().unwrap();
        let points: Vec<Vec<(usize, f64)>> = scan.iter().map(|p| vec![(poi, p["value"].as_f64().unwrap())]).collect();
        let neighbours: Vec<Vec<usize>> = (0..points.len())
            .map(|i| [i.wrapping_sub(1), i + 1].into_iter().filter(|&j| j < points.len()).collect())
            .collect();
        let minima =
            profile_fits(&model, &obs, anchor, &points, &neighbours, &FitOptions::default(), &Interrupt::none())
                .unwrap();
        let mut worst = 0.0f64;
        for (p, m) in scan.iter().zip(&minima) {
            let twice = model.twice_nll_from(&[m.nll], &obs)[0];
            let value = p["value"].as_f64().unwrap();
            let at = format!("{name}: scan at {} = {value}", case["poi"]);
            match compare(value, twice, value, p["twice_nll"].as_f64().unwrap(), &at) {
                Compared::Agrees { d_twice_nll, .. } => {
                    worst = worst.max(d_twice_nll);
                    compared += 1;
                }
                Compared::PyhfShallower => pyhf_shallower += 1,
            }
        }
        eprintln!("{name}: scan: largest difference of twice NLL {worst:.2e}");
    }
    eprintln!("{compared} fits agree with pyhf; {pyhf_shallower} where pyhf stopped in a shallower minimum");
    assert!(compared >= 60, "only {compared} fits compared");
}
