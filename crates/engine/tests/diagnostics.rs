//! Fit diagnostics against pyhf 0.7.6 with iminuit on tttt and a 1Lbb patch
//! (`tests/data/pyhf-diagnostics.json`, made by `scripts/pyhf/diagnostics.py`): best fits,
//! uncertainties, correlations, pre-fit widths, and per-sample yields with their uncertainties
//! before and after the fit, propagated as cabinetry does.
//!
//! Tolerances, and why:
//! - pre-fit widths: 1e-9 relative (the same constraint widths; the reference keeps ten digits);
//! - pre-fit yields and their uncertainties: 1e-9 relative (no fit involved: the same model at
//!   the same points, the same propagation);
//! - twice NLL: within 1e-3 (pyhf's own spread across backends is ~1e-4; minuit stops within
//!   its EDM);
//! - best-fit parameters: within 1e-3 of their uncertainty (minuit's minimum, tolerance 1e-5,
//!   against ours; measured 6e-5 on tttt);
//! - uncertainties and correlations against the inverse of the exact Hessian (jax's autodiff
//!   at minuit's best fit): 1e-4 relative and 1e-4 absolute. Ours come from central
//!   differences of the exact gradient with steps of 1e-4 of each parameter's width;
//! - against minuit's Hesse: 2.5e-2 relative and 1e-2 absolute. Minuit's Hesse is a
//!   finite-difference estimate: on tttt it gives 0.99335 for the width of nuisance parameters
//!   the data do not constrain at all (exactly 1 from the exact Hessian) and is 1.0% below the
//!   exact value for NF_ttbar_HFe, on the 1Lbb patch up to 2.1% off (the reference's
//!   `uncertainty` against `uncertainty_exact`);
//! - post-fit yields: 1e-4 relative; their uncertainties (the reference propagates the exact
//!   covariance) 1e-4 relative.
//!
//! The measured differences are printed by the test (`--nocapture`).
mod common;

use candle_core::Device;
use fitfleet_engine::compute::CompiledModel;
use fitfleet_engine::infer::FitOptions;
use fitfleet_engine::infer::diagnostics::{Yields, postfit, postfit_yields, prefit_widths, prefit_yields, pulls};
use fitfleet_engine::model::{Model, ModelSettings};
use serde_json::Value;

fn reference() -> Vec<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pyhf-diagnostics.json");
    common::read_json(&path)["cases"].as_array().expect("cases").clone()
}

fn load(case: &Value) -> (Model, CompiledModel) {
    let ws = common::workspace(case);
    let model = Model::new(&ws, &ModelSettings::default()).unwrap();
    let compiled = CompiledModel::new(&model, &Device::Cpu).unwrap();
    (model, compiled)
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-12)
}

/// The largest deviation seen, with where.
#[derive(Default)]
struct Worst(f64, String);

impl Worst {
    fn see(&mut self, v: f64, at: impl FnOnce() -> String) {
        assert!(!v.is_nan(), "NaN at {}", at());
        if v > self.0 {
            *self = Worst(v, at());
        }
    }
    fn check(&self, what: &str, case: &str, tol: f64) {
        eprintln!("{case}: {what}: largest difference {:.3e} ({})", self.0, self.1);
        assert!(self.0 <= tol, "{case}: {what} differ from pyhf by {:.3e} > {tol:e} at {}", self.0, self.1);
    }
}

fn find<'a>(
    y: &'a Yields,
    channel: &str,
    sample: Option<&str>,
) -> &'a fitfleet_engine::infer::diagnostics::SampleYields {
    let ch = y.channels.iter().find(|c| c.name == channel).unwrap_or_else(|| panic!("no channel {channel}"));
    match sample {
        None => &ch.total,
        Some(s) => ch.samples.iter().find(|x| x.name == s).unwrap_or_else(|| panic!("no sample {s} in {channel}")),
    }
}

#[test]
fn diagnostics_match_pyhf_with_minuit() {
    for case in reference() {
        let id = format!("{} {}", case["workspace"].as_str().unwrap(), case["patch"].as_str().unwrap_or(""));
        let (model, compiled) = load(&case);
        let names = &compiled.config().par_names;
        let index = |n: &str| names.iter().position(|x| x == n).unwrap_or_else(|| panic!("{id}: no parameter {n}"));
        let data = compiled.config().observed_data.clone();
        let post = postfit(&compiled, &data, &FitOptions::default()).unwrap();
        assert!(post.fit.converged, "{id}: {}", post.fit.message);
        let widths = prefit_widths(&model);
        let twice_nll = case["twice_nll"].as_f64().unwrap();
        eprintln!("{id}: twice NLL {} (pyhf {twice_nll})", post.fit.twice_nll);
        assert!((post.fit.twice_nll - twice_nll).abs() < 1e-3, "{id}: twice NLL {} vs {twice_nll}", post.fit.twice_nll);

        let (mut w_width, mut w_best, mut w_unc, mut w_corr) = Default::default();
        let (mut w_unc_minuit, mut w_corr_minuit) = Default::default();
        let pull_rows = pulls(&model, &post);
        for p in case["parameters"].as_array().unwrap() {
            let name = p["name"].as_str().unwrap();
            let i = index(name);
            let width = p["prefit_width"].as_f64().unwrap();
            Worst::see(&mut w_width, if width == 0.0 { widths[i].abs() } else { rel(widths[i], width) }, || {
                name.into()
            });
            let unc = p["uncertainty"].as_f64().unwrap();
            let shift = (post.fit.bestfit[i] - p["bestfit"].as_f64().unwrap()).abs() / unc.max(1e-12);
            Worst::see(&mut w_best, shift, || name.into());
            Worst::see(&mut w_unc, rel(post.fit.uncertainties[i], p["uncertainty_exact"].as_f64().unwrap()), || {
                name.into()
            });
            Worst::see(&mut w_unc_minuit, rel(post.fit.uncertainties[i], unc), || name.into());
            // The pull table says the same as the numbers it is made of.
            let row = &pull_rows[i];
            assert_eq!(row.name, name);
            if width > 0.0 {
                let pull = row.pull.expect("a constrained parameter has a pull");
                let want = (post.fit.bestfit[i] - p["init"].as_f64().unwrap()) / width;
                // The reference's numbers have ten significant digits.
                assert!((pull - want).abs() < 1e-8 * want.abs().max(1.0), "{id}: pull of {name}: {pull} vs {want}");
            } else {
                assert!(row.pull.is_none(), "{id}: {name} is not constrained, yet has a pull");
            }
        }
        for c in case["correlations"].as_array().unwrap() {
            let (a, b) = (c["a"].as_str().unwrap(), c["b"].as_str().unwrap());
            let ours = post.correlations[(index(a), index(b))];
            Worst::see(&mut w_corr, (ours - c["corr_exact"].as_f64().unwrap()).abs(), || format!("{a} x {b}"));
            Worst::see(&mut w_corr_minuit, (ours - c["corr"].as_f64().unwrap()).abs(), || format!("{a} x {b}"));
        }
        w_width.check("pre-fit widths", &id, 1e-9);
        w_best.check("best fits (in sigma)", &id, 1e-3);
        w_unc.check("uncertainties, exact Hessian (relative)", &id, 1e-4);
        w_corr.check("correlations, exact Hessian (absolute)", &id, 1e-4);
        w_unc_minuit.check("uncertainties, minuit's Hesse (relative)", &id, 2.5e-2);
        w_corr_minuit.check("correlations, minuit's Hesse (absolute)", &id, 1e-2);

        let pre = prefit_yields(&model, &compiled, &mut |_, _| {}).unwrap();
        let postfit = postfit_yields(&model, &compiled, &post, &mut |_, _| {}).unwrap();
        let (mut pre_y, mut pre_u, mut post_y, mut post_u) = Default::default();
        let mut compared = 0;
        for row in case["yields"].as_array().unwrap() {
            let channel = row["channel"].as_str().unwrap();
            let b = row["bin"].as_u64().unwrap() as usize;
            let ch = pre.channels.iter().find(|c| c.name == channel).unwrap();
            assert_eq!(ch.observed[b], row["observed"].as_f64().unwrap(), "{id}: observed {channel}[{b}]");
            let mut cells: Vec<(Option<&str>, &Value)> = vec![(None, &row["total"])];
            let samples = row["samples"].as_object().unwrap();
            assert_eq!(ch.samples.len(), samples.len(), "{id}: samples of {channel}");
            cells.extend(samples.iter().map(|(s, v)| (Some(s.as_str()), v)));
            for (sample, want) in cells {
                let at = || format!("{channel}[{b}] {}", sample.unwrap_or("total"));
                let (p, q) = (find(&pre, channel, sample), find(&postfit, channel, sample));
                Worst::see(&mut pre_y, rel(p.yields[b], want["prefit"].as_f64().unwrap()), at);
                Worst::see(&mut pre_u, rel(p.uncertainties[b], want["prefit_unc"].as_f64().unwrap()), at);
                Worst::see(&mut post_y, rel(q.yields[b], want["postfit"].as_f64().unwrap()), at);
                Worst::see(&mut post_u, rel(q.uncertainties[b], want["postfit_unc"].as_f64().unwrap()), at);
                compared += 1;
            }
        }
        assert!(compared > 50, "{id}: only {compared} yields compared");
        pre_y.check("pre-fit yields", &id, 1e-9);
        pre_u.check("pre-fit yield uncertainties", &id, 1e-9);
        post_y.check("post-fit yields", &id, 1e-4);
        post_u.check("post-fit yield uncertainties", &id, 1e-4);
    }
}

#[test]
fn sums_are_the_sums_of_their_parts_and_their_uncertainties_add_correlated() {
    let case = &reference()[1];
    let (model, compiled) = load(case);
    let data = compiled.config().observed_data.clone();
    let post = postfit(&compiled, &data, &FitOptions::default()).unwrap();
    let y = postfit_yields(&model, &compiled, &post, &mut |_, _| {}).unwrap();
    let pre = prefit_yields(&model, &compiled, &mut |_, _| {}).unwrap();
    // Expected data at the best fit: the totals per bin, in global bin order.
    let expected = compiled.expected_data(std::slice::from_ref(&post.fit.bestfit)).unwrap().remove(0);
    let mut offset = 0;
    for ch in &y.channels {
        for (b, t) in ch.total.yields.iter().enumerate() {
            let from_samples: f64 = ch.samples.iter().map(|s| s.yields[b]).sum();
            assert!(rel(*t, from_samples) < 1e-12);
            assert!(rel(*t, expected[offset + b]) < 1e-12, "{}[{b}]: {t} vs {}", ch.name, expected[offset + b]);
        }
        offset += ch.observed.len();
        for s in ch.samples.iter().chain([&ch.total]) {
            assert!(rel(s.sum, s.yields.iter().sum()) < 1e-12);
            // Correlations after the fit pull the total's uncertainty away from the
            // uncorrelated sum in quadrature of its bins; before the fit (no correlations
            // between parameters, but bins share them) it is at most the linear sum.
            let linear: f64 = s.uncertainties.iter().sum();
            assert!(s.sum_uncertainty <= linear * (1.0 + 1e-12), "{} {}", ch.name, s.name);
        }
    }
    // Fitted normalisations anti-correlated with each other make the post-fit total of a
    // control region better known than before the fit.
    let shrunk =
        y.channels.iter().zip(&pre.channels).filter(|(a, b)| a.total.sum_uncertainty < b.total.sum_uncertainty).count();
    assert!(
        shrunk >= y.channels.len() / 2,
        "only {shrunk} of {} channels better known after the fit",
        y.channels.len()
    );
}
