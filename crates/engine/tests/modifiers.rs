//! Each modifier type on a small workspace, against rates, parameters and likelihoods computed
//! by hand.
use candle_core::Device;
use fitfleet_engine::compute::CompiledModel;
use fitfleet_engine::interpolators::code4;
use fitfleet_engine::model::{Constraint, HistosysInterp, Model, ModelSettings, NormsysInterp};
use fitfleet_engine::spec::Workspace;
use serde_json::{Value, json};

/// A one-channel workspace with a signal and a background sample.
fn workspace(signal_mods: Value, background_mods: Value, parameters: Value) -> Workspace {
    serde_json::from_value(json!({
        "channels": [{"name": "SR", "samples": [
            {"name": "signal", "data": [5.0, 10.0], "modifiers": signal_mods},
            {"name": "background", "data": [50.0, 60.0], "modifiers": background_mods}
        ]}],
        "observations": [{"name": "SR", "data": [53.0, 65.0]}],
        "measurements": [{"name": "meas", "config": {"poi": "mu", "parameters": parameters}}],
        "version": "1.0.0"
    }))
    .unwrap()
}

fn mu() -> Value {
    json!([{"name": "mu", "type": "normfactor", "data": null}])
}

fn build(ws: &Workspace, settings: &ModelSettings) -> (Model, CompiledModel) {
    let model = Model::new(ws, settings).unwrap();
    let compiled = CompiledModel::new(&model, &Device::Cpu).unwrap();
    (model, compiled)
}

/// Expected main data at parameters given by name (others at their initial values).
fn rates(model: &Model, compiled: &CompiledModel, values: &[(&str, f64)]) -> Vec<f64> {
    let mut x = model.suggested_init();
    let names = model.par_names();
    for (name, v) in values {
        x[names.iter().position(|n| n == name).unwrap_or_else(|| panic!("no {name}"))] = *v;
    }
    compiled.expected_data(&[x]).unwrap().remove(0)[..model.nbins()].to_vec()
}

fn assert_close(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= 1e-12 * w.abs().max(1.0), "{got:?} vs {want:?}");
    }
}

#[test]
fn normfactor_scales_its_sample() {
    let (m, c) = build(&workspace(mu(), json!([]), json!([])), &ModelSettings::default());
    assert_eq!(m.par_names(), ["mu"]);
    assert_eq!(m.suggested_bounds(), [[0.0, 10.0]]);
    assert_close(&rates(&m, &c, &[("mu", 2.0)]), &[60.0, 80.0]);
    assert_close(&rates(&m, &c, &[("mu", 0.0)]), &[50.0, 60.0]);
}

#[test]
fn normsys_interpolates_the_normalisation() {
    let bkg = json!([{"name": "xsec", "type": "normsys", "data": {"lo": 0.9, "hi": 1.2}}]);
    let ws = workspace(mu(), bkg, json!([]));
    let code1 = ModelSettings { normsys: NormsysInterp::Code1, ..Default::default() };
    let (m, c) = build(&ws, &code1);
    assert_eq!(m.par_names(), ["mu", "xsec"]); // normfactor before normsys, pyhf's order
    let f = 1.2f64.powf(0.5);
    assert_close(&rates(&m, &c, &[("xsec", 0.5)]), &[5.0 + 50.0 * f, 10.0 + 60.0 * f]);
    let f = 0.9f64.powf(2.0);
    assert_close(&rates(&m, &c, &[("xsec", -2.0)]), &[5.0 + 50.0 * f, 10.0 + 60.0 * f]);
    // code 4: the polynomial inside, the exponential outside.
    let (m, c) = build(&ws, &ModelSettings::default());
    let f = fitfleet_engine::interpolators::code4::factor(0.5, 0.9, 1.2);
    assert_close(&rates(&m, &c, &[("xsec", 0.5)]), &[5.0 + 50.0 * f, 10.0 + 60.0 * f]);
    let f = 1.2f64.powf(1.5);
    assert_close(&rates(&m, &c, &[("xsec", 1.5)]), &[5.0 + 50.0 * f, 10.0 + 60.0 * f]);
}

#[test]
fn histosys_adds_interpolated_shape_deltas() {
    let bkg = json!([{"name": "jes", "type": "histosys", "data": {"lo_data": [45.0, 58.0], "hi_data": [56.0, 61.0]}}]);
    let ws = workspace(mu(), bkg, json!([]));
    let code0 = ModelSettings { histosys: HistosysInterp::Code0, ..Default::default() };
    let (m, c) = build(&ws, &code0);
    assert_close(&rates(&m, &c, &[("jes", 0.5)]), &[5.0 + 53.0, 10.0 + 60.5]);
    assert_close(&rates(&m, &c, &[("jes", -1.0)]), &[5.0 + 45.0, 10.0 + 58.0]);
    let (m, c) = build(&ws, &ModelSettings::default());
    let d = |lo, nom, hi| fitfleet_engine::interpolators::code4p::delta(0.5, lo, nom, hi);
    assert_close(&rates(&m, &c, &[("jes", 0.5)]), &[55.0 + d(45.0, 50.0, 56.0), 70.0 + d(58.0, 60.0, 61.0)]);
}

#[test]
fn lumi_takes_its_configuration_from_the_measurement() {
    let lumi =
        json!([{"name": "mu", "type": "normfactor", "data": null}, {"name": "lumi", "type": "lumi", "data": null}]);
    let pars =
        json!([{"name": "lumi", "auxdata": [1.0], "sigmas": [0.017], "bounds": [[0.915, 1.085]], "inits": [1.0]}]);
    let (m, c) = build(
        &workspace(lumi, json!([{"name": "lumi", "type": "lumi", "data": null}]), pars),
        &ModelSettings::default(),
    );
    assert_eq!(m.par_names(), ["lumi", "mu"]);
    assert_eq!(m.auxdata(), [1.0]);
    assert_close(&rates(&m, &c, &[("lumi", 1.05)]), &[55.0 * 1.05, 70.0 * 1.05]);
    let set = m.paramsets.iter().find(|p| p.name == "lumi").unwrap();
    assert_eq!(set.constraint, Constraint::Normal { auxdata: vec![1.0], sigmas: vec![0.017] });
    // Without a configuration a lumi parameter has no initial value: a clear error.
    let ws = workspace(json!([{"name": "lumi", "type": "lumi", "data": null}]), json!([]), json!([]));
    let err = Model::new(&ws, &ModelSettings::default()).unwrap_err().to_string();
    assert!(err.contains("lumi") && err.contains("inits"), "{err}");
}

#[test]
fn shapefactor_scales_each_bin_freely() {
    let bkg = json!([{"name": "shape", "type": "shapefactor", "data": null}]);
    let (m, c) = build(&workspace(mu(), bkg, json!([])), &ModelSettings::default());
    assert_eq!(m.par_names(), ["mu", "shape[0]", "shape[1]"]);
    assert_close(&rates(&m, &c, &[("shape[0]", 2.0), ("shape[1]", 0.5)]), &[105.0, 40.0]);
}

#[test]
fn shapesys_has_barlow_beeston_poisson_constraints_and_fixes_empty_bins() {
    // Uncertainty 5 on 50 (tau = 100) and 0 on 60 (bin left out: fixed, tau = 1).
    let bkg = json!([{"name": "bb", "type": "shapesys", "data": [5.0, 0.0]}]);
    let (m, c) = build(&workspace(mu(), bkg, json!([])), &ModelSettings::default());
    let set = m.paramsets.iter().find(|p| p.name == "bb").unwrap();
    assert_eq!(set.fixed, [false, true]);
    assert_eq!(set.constraint, Constraint::Poisson { auxdata: vec![100.0, 1.0], factors: vec![100.0, 1.0] });
    assert_eq!(set.bounds, [[1e-10, 10.0], [1e-10, 10.0]]);
    assert_close(&rates(&m, &c, &[("bb[0]", 1.1)]), &[5.0 + 55.0, 70.0]);
    // Expected auxiliary data: gamma * tau.
    let mut x = m.suggested_init();
    x[1] = 1.1;
    let full = c.expected_data(&[x]).unwrap().remove(0);
    assert_close(&full[2..], &[110.0, 1.0]);
}

#[test]
fn staterror_combines_the_samples_uncertainties_in_quadrature() {
    let sig = json!([{"name": "mu", "type": "normfactor", "data": null}, {"name": "stat", "type": "staterror", "data": [1.0, 0.0]}]);
    let bkg = json!([{"name": "stat", "type": "staterror", "data": [5.0, 0.0]}]);
    let (m, c) = build(&workspace(sig, bkg, json!([])), &ModelSettings::default());
    let set = m.paramsets.iter().find(|p| p.name == "stat").unwrap();
    // Bin 0: sqrt(1 + 25) / 55; bin 1: no uncertainty, fixed with width 1.
    let sigma0 = 26f64.sqrt() / 55.0;
    assert_eq!(set.fixed, [false, true]);
    match &set.constraint {
        Constraint::Normal { auxdata, sigmas } => {
            assert_eq!(auxdata, &[1.0, 1.0]);
            assert!((sigmas[0] - sigma0).abs() < 1e-15 && sigmas[1] == 1.0);
        }
        other => panic!("{other:?}"),
    }
    assert_close(&rates(&m, &c, &[("stat[0]", 1.1)]), &[55.0 * 1.1, 70.0]);
}

/// -2 ln L of a tiny model at a chosen point, written out by hand.
#[test]
fn twice_nll_includes_every_constant_pyhf_includes() {
    let bkg = json!([
        {"name": "xsec", "type": "normsys", "data": {"lo": 0.9, "hi": 1.2}},
        {"name": "bb", "type": "shapesys", "data": [5.0, 6.0]}
    ]);
    let settings = ModelSettings { normsys: NormsysInterp::Code1, ..Default::default() };
    let (m, c) = build(&workspace(mu(), bkg, json!([])), &settings);
    assert_eq!(m.par_names(), ["mu", "xsec", "bb[0]", "bb[1]"]);
    let x = vec![0.5, 0.3, 1.05, 0.97];
    let f = 1.2f64.powf(0.3);
    let lambda = [2.5 + 50.0 * f * 1.05, 5.0 + 60.0 * f * 0.97];
    let lgamma = |n: f64| statrs::function::gamma::ln_gamma(n + 1.0);
    let pois = |n: f64, l: f64| n * l.ln() - l - lgamma(n);
    let mut logl = pois(53.0, lambda[0]) + pois(65.0, lambda[1]);
    logl += -0.5 * 0.3f64.powi(2) - (2.0 * std::f64::consts::PI).sqrt().ln(); // xsec ~ N(0 | 0.3, 1)
    logl += pois(100.0, 100.0 * 1.05) + pois(100.0, 100.0 * 0.97); // tau = (50/5)^2 = (60/6)^2
    let obs = c.observations(&[m.observed_data()]).unwrap();
    let ours = c.twice_nll(&c.params(&[x]).unwrap(), &obs).unwrap()[0];
    assert!((ours - (-2.0 * logl)).abs() < 1e-9, "{ours} vs {}", -2.0 * logl);
}

/// The analytic gradient of the NLL agrees with finite differences, for every modifier type at
/// once and both interpolation settings.
#[test]
fn gradient_matches_finite_differences() {
    let sig = json!([{"name": "mu", "type": "normfactor", "data": null}, {"name": "stat", "type": "staterror", "data": [1.0, 2.0]}]);
    let bkg = json!([
        {"name": "xsec", "type": "normsys", "data": {"lo": 0.9, "hi": 1.2}},
        {"name": "jes", "type": "histosys", "data": {"lo_data": [45.0, 58.0], "hi_data": [56.0, 61.0]}},
        {"name": "stat", "type": "staterror", "data": [5.0, 4.0]},
        {"name": "bb", "type": "shapesys", "data": [3.0, 2.0]},
        {"name": "shape", "type": "shapefactor", "data": null}
    ]);
    let ws = workspace(sig, bkg, json!([]));
    for settings in [
        ModelSettings::default(),
        ModelSettings { normsys: NormsysInterp::Code1, histosys: HistosysInterp::Code0, ..Default::default() },
        ModelSettings { histosys: HistosysInterp::Code2, ..Default::default() },
    ] {
        let (m, c) = build(&ws, &settings);
        let obs = c.observations(&[m.observed_data()]).unwrap();
        let names = m.par_names();
        // Away from the kinks (0) and joins (+-1) of the interpolations.
        let x: Vec<f64> = names
            .iter()
            .map(|n| match n.as_str() {
                "mu" => 1.3,
                "xsec" => 0.4,
                "jes" => -0.6,
                _ => 1.05,
            })
            .collect();
        assert_gradients_match_finite_differences(&c, &obs, &[x], &names, &format!("{settings:?}"));
    }
}

/// The batched analytic gradient at each of `points` agrees with central differences of the NLL.
fn assert_gradients_match_finite_differences(
    c: &CompiledModel,
    obs: &fitfleet_engine::compute::Observations,
    points: &[Vec<f64>],
    names: &[String],
    what: &str,
) {
    let g = c.nll_grad(&c.params(points).unwrap(), obs).unwrap().grad;
    let p = names.len();
    for (j, x) in points.iter().enumerate() {
        for i in 0..p {
            let h = 1e-6;
            let (mut up, mut dn) = (x.clone(), x.clone());
            up[i] += h;
            dn[i] -= h;
            let f = c.nll(&c.params(&[up, dn]).unwrap(), obs).unwrap();
            let fd = (f[0] - f[1]) / (2.0 * h);
            let ours = g[j * p + i];
            assert!((ours - fd).abs() < 1e-5 * (1.0 + fd.abs()), "{what}, point {j}, d/d{}: {ours} vs {fd}", names[i]);
        }
    }
}

/// Code 4's polynomial over many normsys at once, in both of its layouts (dense: every
/// parameter acts on every sample; packed: each acts on few): the rates are the products of
/// pyhf's factors, and the batched gradient agrees with finite differences, inside |alpha| < 1
/// and outside.
#[test]
fn code4_normsys_products_in_dense_and_packed_layouts() {
    let kappas = [(0.9, 1.2), (0.8, 1.1), (1.05, 0.97), (0.7, 1.4), (0.95, 1.02)];
    let normsys = |names: &[usize]| -> Value {
        names
            .iter()
            .map(|&i| json!({"name": format!("n{i}"), "type": "normsys", "data": {"lo": kappas[i].0, "hi": kappas[i].1}}))
            .collect()
    };
    // Which normsys each of the three samples carries.
    let dense = [vec![0, 1, 2, 3, 4], vec![0, 1, 2, 3, 4], vec![0, 1, 2, 3, 4]];
    let packed = [vec![0, 1], vec![2, 3], vec![4]];
    for layout in [dense, packed] {
        let samples: Vec<Value> = layout
            .iter()
            .enumerate()
            .map(|(s, names)| {
                let mut mods = normsys(names);
                if s == 0 {
                    mods.as_array_mut().unwrap().push(json!({"name": "mu", "type": "normfactor", "data": null}));
                }
                json!({"name": format!("s{s}"), "data": [10.0 * (s + 1) as f64, 20.0], "modifiers": mods})
            })
            .collect();
        let ws: Workspace = serde_json::from_value(json!({
            "channels": [{"name": "SR", "samples": samples}],
            "observations": [{"name": "SR", "data": [70.0, 64.0]}],
            "measurements": [{"name": "meas", "config": {"poi": "mu", "parameters": []}}],
            "version": "1.0.0"
        }))
        .unwrap();
        let (m, c) = build(&ws, &ModelSettings::default());
        let names = m.par_names();
        let alphas = [[0.3, -0.7, 0.9, -0.2, 0.5], [1.4, -0.1, -1.3, 0.6, 0.0], [-0.95, 0.45, 0.2, 2.0, -0.6]];
        let points: Vec<Vec<f64>> = alphas
            .iter()
            .map(|a| names.iter().map(|n| if n == "mu" { 1.2 } else { a[n[1..].parse::<usize>().unwrap()] }).collect())
            .collect();
        let expected = c.expected_data(&points).unwrap();
        for (a, rates) in alphas.iter().zip(&expected) {
            for (b, rate) in rates[..2].iter().enumerate() {
                let want: f64 = layout
                    .iter()
                    .enumerate()
                    .map(|(s, ns)| {
                        let nominal = if b == 0 { 10.0 * (s + 1) as f64 } else { 20.0 };
                        let mu = if s == 0 { 1.2 } else { 1.0 };
                        nominal
                            * mu
                            * ns.iter().map(|&i| code4::factor(a[i], kappas[i].0, kappas[i].1)).product::<f64>()
                    })
                    .sum();
                assert!((rate - want).abs() < 1e-12 * want, "bin {b} at {a:?}: {rate} vs {want}");
            }
        }
        let obs = c.observations(&[m.observed_data()]).unwrap();
        assert_gradients_match_finite_differences(&c, &obs, &points, &names, "code 4");
    }
}
