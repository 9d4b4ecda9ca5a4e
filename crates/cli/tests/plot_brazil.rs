//! The Brazil band of an upper-limit scan: from an engine scan of a 1Lbb signal point, and from
//! hand-made scans for the choice of entry and the errors.
use std::path::Path;

use fitfleet::plot::{self, Drawn, PlotKind, PlotOptions};
use fitfleet::results::{Entry, ResultsDoc};
use fitfleet_engine::infer::{ScanPoint, UpperLimitResult};
use fitfleet_protocol::PatchValue;

use fitfleet_testkit::jobs::reference_dir;

fn decode_png(path: &Path) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().expect("a PNG header");
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    reader.next_frame(&mut buf).expect("PNG data decodes");
    (reader.info().width, reader.info().height)
}

/// A scan of a made-up CLs curve falling with mu.
fn made_up(obs_scale: f64) -> UpperLimitResult {
    let scan: Vec<ScanPoint> = (0..=20)
        .map(|i| {
            let mu = i as f64 * 0.25;
            let f = |s: f64| (-mu * s).exp();
            ScanPoint { mu, cls_obs: f(obs_scale), cls_exp: [f(2.2), f(1.6), f(1.2), f(0.9), f(0.7)] }
        })
        .collect();
    let limit = |s: f64| Some(-(0.05f64.ln()) / s);
    UpperLimitResult {
        alpha: 0.05,
        obs: limit(obs_scale),
        exp: [limit(2.2), limit(1.6), limit(1.2), limit(0.9), limit(0.7)],
        scan: Some(scan),
        notes: vec![],
    }
}

fn entry(ul: Option<UpperLimitResult>) -> Entry {
    Entry {
        mass_hypotheses: vec![PatchValue::Number(500.0), PatchValue::Number(100.0)],
        labels: vec!["m1".into(), "m2".into()],
        status: "succeeded".into(),
        upper_limit: ul,
        ..Default::default()
    }
}

#[test]
fn an_engine_scan_of_a_1lbb_point_draws_its_brazil_band() {
    use candle_core::Device;
    use fitfleet_engine::compute::CompiledModel;
    use fitfleet_engine::infer::calculators::AsymptoticCalculator;
    use fitfleet_engine::infer::{FitOptions, TestStatistic, UpperLimitOptions, intervals};
    use fitfleet_engine::model::{Model, ModelSettings};

    let dir = reference_dir().join("atlas-susy-2019-08-1lbb");
    let patched = fitfleet_engine::spec::load_workspace_with_patch(
        dir.join("BkgOnly.json"),
        Some(&dir.join("patchset.json")),
        Some("C1N2_Wh_hbb_900_0"),
    )
    .unwrap();
    let model = Model::new(&patched.workspace, &ModelSettings::default()).unwrap();
    let compiled = CompiledModel::new(&model, &Device::Cpu).unwrap();
    let data = compiled.config().observed_data.clone();
    let calc = AsymptoticCalculator::new(&compiled, &data, TestStatistic::QmuTilde, &FitOptions::default()).unwrap();
    let options = UpperLimitOptions { scan: Some(intervals::linspace(0.0, 4.0, 41)), ..Default::default() };
    let ul = fitfleet_engine::infer::upper_limit(&calc, &options).unwrap();
    assert!(
        ul.obs.is_some_and(|v| v > 1.0),
        "CLs_obs at mu = 1 is 0.35 for (900, 0): the limit lies above 1, got {:?}",
        ul.obs
    );

    let mut doc = ResultsDoc::new();
    doc.insert("C1N2_Wh_hbb_900_0".into(), entry(Some(ul)));
    let out = tempfile::tempdir().unwrap();
    // Chosen automatically: the only entry with a scan.
    let png = out.path().join("brazil.png");
    assert_eq!(plot::plot(&doc, &png, &PlotOptions::default()).unwrap(), Drawn::Brazil("C1N2_Wh_hbb_900_0".into()));
    assert_eq!(decode_png(&png), (1100, 800));
    if let Some(save) = std::env::var_os("FITFLEET_SAVE_PLOTS") {
        std::fs::create_dir_all(&save).unwrap();
        std::fs::copy(&png, Path::new(&save).join("1lbb-900-0-brazil.png")).unwrap();
    }
    let svg = out.path().join("brazil.svg");
    plot::brazil(&doc, &svg, &PlotOptions::default()).unwrap();
    let text = std::fs::read_to_string(&svg).unwrap();
    let xml = roxmltree::Document::parse(&text).expect("well-formed SVG");
    let texts: Vec<String> = xml
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text().map(|t| t.trim().to_string()))
        .collect();
    for want in [
        "Expected ±1σ",
        "Expected ±2σ",
        "Observed CLs",
        "Expected CLs (median)",
        "CLs = 0.05",
        "Observed limit μ =",
        "Expected limit μ =",
        "CLs",
        "μ (signal strength)",
    ] {
        assert!(texts.iter().any(|t| t.contains(want)), "no text {want:?}: {texts:?}");
    }
    // The two bands are filled polygons.
    assert!(xml.descendants().filter(|n| n.has_tag_name("polygon")).count() >= 2);
}

#[test]
fn the_entry_is_chosen_by_name_or_by_being_the_only_scan() {
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("b.svg");
    let mut doc = ResultsDoc::new();
    doc.insert("a".into(), entry(Some(made_up(1.0))));
    doc.insert("b".into(), entry(Some(made_up(1.4))));
    doc.insert("no-scan".into(), entry(Some(UpperLimitResult { scan: None, ..made_up(1.0) })));
    let e = plot::plot(&doc, &path, &PlotOptions::default()).unwrap_err().to_string();
    assert!(e.contains("2 entries have upper-limit scans") && e.contains("--patch"), "{e}");
    let opts = PlotOptions { patch: Some("b".into()), ..Default::default() };
    assert_eq!(plot::plot(&doc, &path, &opts).unwrap(), Drawn::Brazil("b".into()));
    let opts = PlotOptions { patch: Some("no-scan".into()), ..Default::default() };
    assert!(plot::plot(&doc, &path, &opts).unwrap_err().to_string().contains("no upper-limit scan"));
    let opts = PlotOptions { patch: Some("missing".into()), ..Default::default() };
    assert!(plot::plot(&doc, &path, &opts).unwrap_err().to_string().contains("no entry \"missing\""));
    // A limit outside the scan is said so, and the figure still draws.
    let mut far = made_up(0.3);
    far.obs = None;
    doc.insert("far".into(), entry(Some(far)));
    let opts = PlotOptions { patch: Some("far".into()), kind: Some(PlotKind::Brazil), ..Default::default() };
    plot::plot(&doc, &path, &opts).unwrap();
    assert!(std::fs::read_to_string(&path).unwrap().contains("observed limit outside the scan"));
}

#[test]
fn nothing_to_draw_is_an_error_not_an_empty_picture() {
    let out = tempfile::tempdir().unwrap();
    let mut doc = ResultsDoc::new();
    doc.insert("fit".into(), entry(None));
    let e = plot::plot(&doc, &out.path().join("x.png"), &PlotOptions::default()).unwrap_err().to_string();
    assert!(e.contains("nothing to plot"), "{e}");
    let mut doc = ResultsDoc::new();
    doc.insert("a".into(), entry(Some(made_up(1.0))));
    let e = plot::plot(&doc, &out.path().join("x.pdf"), &PlotOptions::default()).unwrap_err().to_string();
    assert!(e.contains(".png or .svg"), "{e}");
    assert!(!out.path().join("x.pdf").exists());
}
