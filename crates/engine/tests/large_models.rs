//! Large models cost time and memory linear in their size: the sparse rate Jacobian equals the
//! dense reverse pass on every published model family, and a 10,000-bin model with a staterror
//! gamma per bin fits and tests by the structured path to the answers of its 20-bin equivalent,
//! which takes the dense path, well within the memory a P x P matrix would take.
mod common;

use std::collections::BTreeSet;

use candle_core::Device;
use fitfleet_engine::compute::CompiledModel;
use fitfleet_engine::infer::calculators::{AsymptoticCalculator, Hypotests};
use fitfleet_engine::infer::minimize::{dense_curvature, structured_curvature};
use fitfleet_engine::infer::{FitOptions, TestStatistic, fit};
use fitfleet_engine::model::{Model, ModelSettings, NormsysInterp};
use fitfleet_engine::spec::Workspace;

use common::synthetic;

/// Points spread over the interpolations' regions, and the suggested start (alphas exactly on
/// the kinks of codes 0 and 1).
fn points(c: &CompiledModel) -> Vec<Vec<f64>> {
    let cfg = c.config();
    let mut out = vec![cfg.suggested_init.clone()];
    for k in 0..2 {
        out.push(
            cfg.suggested_init
                .iter()
                .zip(&cfg.suggested_bounds)
                .enumerate()
                .map(|(i, (x, b))| {
                    let u = (((i * 7 + k * 13) % 11) as f64 / 10.0 - 0.5) * 3.0; // -1.5 .. 1.5
                    let v = if *x == 0.0 { u } else { x * (1.0 + 0.05 * u) };
                    v.clamp(b[0], b[1])
                })
                .collect(),
        );
    }
    out
}

/// The sparse Jacobian, its gradient and rates against the dense reverse pass, at `points`.
fn check_against_reverse_pass(c: &CompiledModel, what: &str) {
    let xs = points(c);
    let obs = c.observations(&[c.config().observed_data.clone()]).unwrap();
    let theta = c.params(&xs).unwrap();
    let dense = c.nll_grad_jacobian(&theta, &obs).unwrap();
    let sparse = c.nll_grad_sparse_jacobian(&theta, &obs).unwrap();
    let (p, nb) = (c.npars(), c.nbins());
    let close = |a: f64, b: f64, scale: f64| (a - b).abs() <= 1e-12 * scale.max(a.abs()).max(1e-300);
    for (k, j) in sparse.jacobians.iter().enumerate() {
        assert_eq!((j.nbins(), j.npars()), (nb, p), "{what}");
        let got = j.to_dense();
        let want = &dense.jacobian[k * nb * p..(k + 1) * nb * p];
        for b in 0..nb {
            let row = &want[b * p..(b + 1) * p];
            let scale = row.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            for i in 0..p {
                let (x, y) = (row[i], got[b * p + i]);
                assert!(
                    close(x, y, scale),
                    "{what} point {k}: d lambda_{b} / d theta_{i}: reverse pass {x}, sparse {y}"
                );
            }
        }
        let scale = dense.grad[k * p..(k + 1) * p].iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for i in 0..p {
            let (x, y) = (dense.grad[k * p + i], sparse.grad[k * p + i]);
            assert!(close(x, y, scale), "{what} point {k}: grad[{i}] {x} vs {y}");
            assert!(close(dense.kink[k * p + i], sparse.kink[k * p + i], scale), "{what} point {k}: kink[{i}]");
        }
        assert_eq!(&dense.lambda[k * nb..(k + 1) * nb], &sparse.lambda[k * nb..(k + 1) * nb], "{what}");
    }
}

#[test]
fn sparse_jacobian_equals_the_reverse_pass_on_every_model_family() {
    // One patch of each published workspace and validation model, under both interpolations.
    let mut seen = BTreeSet::new();
    for case in common::cases() {
        let key = (case["workspace"].to_string(), case["patchset"].to_string(), case["interp"].to_string());
        if seen.insert(key) {
            let (_, c) = common::model(&case);
            check_against_reverse_pass(&c, &common::id(&case));
        }
    }
    assert!(seen.len() >= 10, "only {} model families", seen.len());
    check_against_reverse_pass(&compile(&synthetic::workspace(60, 1.0), &ModelSettings::default()), "synthetic");
}

fn compile(workspace: &serde_json::Value, settings: &ModelSettings) -> CompiledModel {
    let ws = Workspace::from_value(workspace).unwrap();
    let model = Model::new(&ws, settings).unwrap();
    CompiledModel::new(&model, &Device::Cpu).unwrap()
}

fn assert_close(what: &str, large: f64, small: f64, tolerance: f64) {
    assert!((large - small).abs() <= tolerance, "{what}: 10,000 bins {large}, 20-bin equivalent {small}");
}

#[test]
fn ten_thousand_staterror_bins_give_the_answers_of_their_twenty_bin_equivalent() {
    same_answers_as_the_twenty_bin_equivalent(&ModelSettings::default());
}

/// Normsys code 1: a kink at alpha = 0, where fits take Gauss-Newton with its kink trials.
#[test]
fn ten_thousand_bins_with_kinked_normsys_too() {
    let settings = ModelSettings { normsys: NormsysInterp::Code1, ..ModelSettings::default() };
    same_answers_as_the_twenty_bin_equivalent(&settings);
}

fn same_answers_as_the_twenty_bin_equivalent(settings: &ModelSettings) {
    let copies = 500;
    let large = compile(&synthetic::workspace(synthetic::PATTERN * copies, 1.0), settings);
    let small = compile(&synthetic::workspace(synthetic::PATTERN, copies as f64), settings);
    assert_eq!(large.kinked().iter().any(|k| *k), settings.normsys == NormsysInterp::Code1);
    assert!(!dense_curvature(&large), "the 10,000-bin model takes the structured path");
    assert!(dense_curvature(&small), "the 20-bin model takes the dense path");
    let poi = large.config().poi_index.unwrap();
    assert_eq!(small.config().poi_index, Some(poi));

    // The structured curvature's dense part is the Schur complement over the few globals.
    let data = large.config().observed_data.clone();
    let obs = large.observations(std::slice::from_ref(&data)).unwrap();
    let h = structured_curvature(&large, &obs, &large.config().suggested_init, true).unwrap();
    let free: Vec<usize> = (0..large.npars()).collect();
    assert_eq!(h.globals(&free), 3, "mu and the two normsys are global, the gammas local");

    let options = FitOptions { uncertainties: true, ..FitOptions::default() };
    let (fl, fs) =
        (fit(&large, &data, &options).unwrap(), fit(&small, &small.config().observed_data, &options).unwrap());
    assert!(fl.converged && fs.converged, "{} / {}", fl.message, fs.message);
    let name = |c: &CompiledModel, n: &str| c.config().par_names.iter().position(|p| p == n).unwrap();
    // Fits stop within 1e-9 of the minimum in NLL: along the shallow valley of mu and the
    // signal's normsys, parameters may differ by about sqrt(2e-9 / curvature).
    for n in ["mu", "signal_acceptance", "background_norm"] {
        assert_close(n, fl.bestfit[name(&large, n)], fs.bestfit[name(&small, n)], 1e-4);
    }
    // Every copy of a bin has the gamma of the equivalent's bin.
    let gamma0 = name(&large, "staterror_SR[0]");
    for b in 0..large.nbins() {
        let small_gamma = fs.bestfit[name(&small, "staterror_SR[0]") + b % synthetic::PATTERN];
        assert_close(&format!("gamma {b}"), fl.bestfit[gamma0 + b], small_gamma, 1e-5);
    }
    // The uncertainties: the POI's from the Gauss-Newton matrix's structure, within a few per
    // cent of the exact Hessian's on the equivalent; each gamma's positive and finite.
    let (sl, ss) = (fl.uncertainties[poi], fs.uncertainties[poi]);
    assert!((sl / ss - 1.0).abs() < 0.05, "uncertainty of mu: {sl} vs {ss}");
    assert!(fl.uncertainties.iter().all(|u| u.is_finite() && *u > 0.0));

    // Tested where CLs is neither 0 nor 1: 1.5 standard deviations above the best fit.
    let tested = fs.bestfit[poi] + 1.5 * ss;
    let test = |c: &CompiledModel| {
        let calc =
            AsymptoticCalculator::new(c, &c.config().observed_data, TestStatistic::QmuTilde, &FitOptions::default())
                .unwrap();
        calc.hypotests(&[tested]).unwrap().remove(0)
    };
    let (hl, hs) = (test(&large), test(&small));
    assert_close("mu_hat", hl.mu_hat, hs.mu_hat, 1e-5);
    assert_close("qmu_tilde", hl.test_stat_obs, hs.test_stat_obs, 1e-5 * (1.0 + hs.test_stat_obs));
    assert_close("CLs_obs", hl.cls_obs, hs.cls_obs, 1e-6);
    for (k, (l, s)) in hl.cls_exp.iter().zip(&hs.cls_exp).enumerate() {
        assert_close(&format!("CLs_exp[{k}]"), *l, *s, 1e-6);
    }
    assert!(hs.cls_obs > 0.01 && hs.cls_obs < 0.5, "CLs {} at mu = {tested}", hs.cls_obs);

    // No P x P matrix anywhere: one would be 800 MB at P = 10,003 (Linux only: VmHWM).
    if let Some(peak) = peak_rss_mib() {
        assert!(peak < 512.0, "peak resident memory {peak:.0} MiB");
    }
}

/// The ranking's impacts and a POI scan on the 10,000-bin model, whose fits take the structured
/// path with no covariance start, equal those of its 20-bin equivalent (dense path, covariance
/// start): the profile fits cost linear time and memory too.
#[test]
fn ten_thousand_bins_rank_and_scan_as_their_twenty_bin_equivalent() {
    use fitfleet_engine::infer::Interrupt;
    use fitfleet_engine::infer::diagnostics::{Reference, impacts, parameter_indices, scan};
    let copies = 500;
    let settings = ModelSettings::default();
    let large = compile(&synthetic::workspace(synthetic::PATTERN * copies, 1.0), &settings);
    let small = compile(&synthetic::workspace(synthetic::PATTERN, copies as f64), &settings);
    let names = ["signal_acceptance".to_string(), "background_norm".to_string()];
    let rank = |c: &CompiledModel| {
        let data = c.config().observed_data.clone();
        let reference = Reference::fit(c, &data, &FitOptions::default()).unwrap();
        let obs = c.observations(std::slice::from_ref(&data)).unwrap();
        let indices = parameter_indices(c, &names).unwrap();
        let none = Interrupt::none();
        (
            reference.covariance.is_some(),
            impacts(c, &obs, &reference, &indices, &FitOptions::default(), &none, &mut |_, _| {}).unwrap(),
        )
    };
    let ((dense_l, il), (dense_s, is)) = (rank(&large), rank(&small));
    assert!(!dense_l && dense_s, "the large model has no covariance, the small one has");
    for (l, s) in il.iter().zip(&is) {
        assert!(l.converged && s.converged, "{}", l.parameter);
        // The fixed values come from each model's own uncertainties, a few per cent apart on the
        // structured path (see above): the impacts agree to that.
        for (a, b) in [(l.postfit_up, s.postfit_up), (l.postfit_down, s.postfit_down)] {
            assert!((a - b).abs() <= 0.05 * b.abs() + 1e-4, "{}: {a} vs {b}", l.parameter);
        }
        for (a, b) in [(l.prefit_up.unwrap(), s.prefit_up.unwrap()), (l.prefit_down.unwrap(), s.prefit_down.unwrap())] {
            assert_close(&format!("{} pre-fit", l.parameter), a, b, 1e-4);
        }
    }
    let poi = large.config().poi_index.unwrap();
    let grid = vec![vec![0.0, 0.5, 1.0, 1.5, 2.0]];
    let profile = |c: &CompiledModel| {
        let data = c.config().observed_data.clone();
        let reference = Reference::fit(c, &data, &FitOptions::default()).unwrap();
        scan(c, &data, &reference, &[poi], &grid, &FitOptions::default(), &Interrupt::none(), &mut |_, _| {}).unwrap()
    };
    let (sl, ss) = (profile(&large), profile(&small));
    for (l, s) in sl.points.iter().zip(&ss.points) {
        assert_close(&format!("-2 Delta ln L at mu = {}", l.values[0]), l.delta_twice_nll, s.delta_twice_nll, 1e-4);
    }
    if let Some(peak) = peak_rss_mib() {
        assert!(peak < 512.0, "peak resident memory {peak:.0} MiB");
    }
}

/// Peak resident memory of this process, MiB (Linux's VmHWM); `None` where it is unknown.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?.trim().trim_end_matches("kB").trim();
    kb.parse::<f64>().ok().map(|kb| kb / 1024.0)
}
