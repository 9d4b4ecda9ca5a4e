//! Plots of the ATLAS 1Lbb grid (125 signal points, arXiv:1909.09226), computed here with the
//! engine: the contour figures are well-formed PNG and SVG, and the contours lie where the
//! computed CLs values say they must.
//!
//! Needs the shared reference data (`FITFLEET_REFERENCE`, or `shared/reference` beside the
//! repository); fails, never skips, without it.
use std::path::Path;
use std::sync::OnceLock;
use std::time::Instant;

use candle_core::Device;
use fitfleet::plot::{self, PlotOptions, Polyline};
use fitfleet::results::{Entry, ResultsDoc};
use fitfleet_engine::compute::CompiledModel;
use fitfleet_engine::infer::calculators::{AsymptoticCalculator, Hypotests};
use fitfleet_engine::infer::{FitOptions, TestStatistic};
use fitfleet_engine::model::{Model, ModelSettings};
use fitfleet_engine::spec::{LoadedWorkspace, PatchSet, PatchedWorkspace};
use fitfleet_protocol::PatchValue;

use fitfleet_testkit::jobs::reference_dir;

/// CLs at mu = 1 (qtilde, asymptotics) for every patch, on two threads; computed once.
fn lbb() -> &'static ResultsDoc {
    static DOC: OnceLock<ResultsDoc> = OnceLock::new();
    DOC.get_or_init(|| {
        let dir = reference_dir().join("atlas-susy-2019-08-1lbb");
        let start = Instant::now();
        let bkg = LoadedWorkspace::from_path(dir.join("BkgOnly.json")).expect("BkgOnly.json");
        let set = PatchSet::from_path(dir.join("patchset.json")).expect("patchset.json");
        let names: Vec<String> = set.patch_names().iter().map(|s| s.to_string()).collect();
        assert_eq!(names.len(), 125);
        let labels = set.labels().to_vec();
        let entries: Vec<(String, Entry)> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..2)
                .map(|t| {
                    let (names, bkg, set, labels) = (&names, &bkg, &set, &labels);
                    s.spawn(move || {
                        names
                            .iter()
                            .skip(t)
                            .step_by(2)
                            .map(|n| (n.clone(), hypotest(bkg, set, n, labels)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers.into_iter().flat_map(|w| w.join().expect("worker thread")).collect()
        });
        eprintln!("1Lbb: 125 hypotests in {:.1} s", start.elapsed().as_secs_f64());
        entries.into_iter().collect()
    })
}

fn hypotest(bkg: &LoadedWorkspace, set: &PatchSet, name: &str, labels: &[String]) -> Entry {
    let t = Instant::now();
    let patched = PatchedWorkspace::new(bkg.clone(), Some(set), Some(name)).expect("patch applies");
    let model = Model::new(&patched.workspace, &ModelSettings::default()).expect("model");
    let compiled = CompiledModel::new(&model, &Device::Cpu).expect("compiled model");
    let data = compiled.config().observed_data.clone();
    let calc =
        AsymptoticCalculator::new(&compiled, &data, TestStatistic::QmuTilde, &FitOptions::default()).expect("fits");
    let r = calc.hypotests(&[1.0]).expect("hypotest").remove(0);
    let values = set
        .get(name)
        .expect("patch")
        .values()
        .iter()
        .map(|v| PatchValue::Number(v.as_f64().expect("numeric mass")))
        .collect();
    Entry {
        cls_obs: Some(r.cls_obs),
        cls_exp: Some(r.cls_exp),
        mass_hypotheses: values,
        labels: labels.to_vec(),
        fit_time: t.elapsed().as_secs_f64(),
        status: "succeeded".into(),
        ..Default::default()
    }
}

fn out_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

/// Where the segment a-b crosses polyline `l`, if it does.
fn crosses(a: (f64, f64), b: (f64, f64), l: &Polyline) -> bool {
    let cross = |o: (f64, f64), p: (f64, f64), q: (f64, f64)| (p.0 - o.0) * (q.1 - o.1) - (p.1 - o.1) * (q.0 - o.0);
    l.windows(2).any(|w| {
        let (p, q) = (w[0], w[1]);
        let d1 = cross(p, q, a);
        let d2 = cross(p, q, b);
        let d3 = cross(a, b, p);
        let d4 = cross(a, b, q);
        d1 * d2 <= 0.0 && d3 * d4 <= 0.0
    })
}

#[test]
fn png_is_well_formed_and_of_the_asked_size() {
    let doc = lbb();
    let dir = out_dir();
    let path = dir.path().join("1lbb.png");
    let opts =
        PlotOptions { width: 1000, height: 760, title: Some("ATLAS 1Lbb, fitfleet".into()), ..Default::default() };
    let c = plot::contour(doc, &path, &opts).expect("contour plot");
    assert_eq!(c.points.len(), 125);
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
    let mut reader = decoder.read_info().expect("a PNG header");
    let (w, h) = (reader.info().width, reader.info().height);
    assert_eq!((w, h), (1000, 760));
    let mut buf = vec![0; reader.output_buffer_size().expect("buffer size")];
    let frame = reader.next_frame(&mut buf).expect("PNG data decodes");
    let pixels = &buf[..frame.buffer_size()];
    // Not blank: white background, and some red of the observed contour.
    let px = frame.color_type.samples();
    let red = pixels.chunks(px).filter(|p| p[0] > 180 && p[1] < 30 && p[2] < 30).count();
    let white = pixels.chunks(px).filter(|p| p[0] == 255 && p[1] == 255 && p[2] == 255).count();
    assert!(red > 500, "the observed contour is missing ({red} red pixels)");
    assert!(white > pixels.len() / px / 3, "the background is not white");
    // Kept for the documentation when asked: FITFLEET_SAVE_PLOTS=DIR.
    if let Some(save) = std::env::var_os("FITFLEET_SAVE_PLOTS") {
        std::fs::create_dir_all(&save).unwrap();
        std::fs::copy(&path, Path::new(&save).join("1lbb-contour.png")).unwrap();
        std::fs::write(Path::new(&save).join("1lbb-results.json"), serde_json::to_string_pretty(doc).unwrap()).unwrap();
    }
}

#[test]
fn svg_parses_and_holds_the_curves_and_texts() {
    let doc = lbb();
    let dir = out_dir();
    let path = dir.path().join("1lbb.svg");
    plot::contour(doc, &path, &PlotOptions::default()).expect("contour plot");
    let text = std::fs::read_to_string(&path).unwrap();
    let svg = roxmltree::Document::parse(&text).expect("the SVG is well-formed XML");
    let root = svg.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.attribute("width"), Some("1100"));
    let texts: Vec<String> = svg
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text().map(|t| t.trim().to_string()))
        .collect();
    for want in [
        "m1",
        "m2",
        "Exclusion at 95% CL",
        "Observed limit (95% CL)",
        "Expected limit (95% CL)",
        "Expected ±1σ",
        "Observed CLs",
    ] {
        assert!(texts.iter().any(|t| t.contains(want)), "no text {want:?} in the SVG: {texts:?}");
    }
    assert!(texts.iter().any(|t| t.starts_with("125 points")), "metadata line missing: {texts:?}");
    // The observed contour: polylines stroked in its red; the band: polygons.
    let red_lines = svg
        .descendants()
        .filter(|n| {
            n.has_tag_name("polyline") && n.attribute("stroke").is_some_and(|s| s.eq_ignore_ascii_case("#C80000"))
        })
        .count();
    assert!(red_lines >= 1, "no observed contour polyline");
    let polygons = svg.descendants().filter(|n| n.has_tag_name("polygon")).count();
    assert!(polygons > 10, "the band has {polygons} pieces");
    let circles = svg.descendants().filter(|n| n.has_tag_name("circle")).count();
    assert!(circles >= 2 * 125, "grid points missing: {circles} circles");
}

#[test]
fn the_exact_contours_pass_between_points_that_straddle_alpha() {
    let doc = lbb();
    let exact = PlotOptions { smoothing: 0, ..Default::default() };
    let c = plot::contours_with(doc, &exact).expect("contours");
    assert!(!c.observed.is_empty() && !c.expected.is_empty());
    assert!(!c.band.fill.is_empty() && !c.band.minus_1sigma.is_empty() && !c.band.plus_1sigma.is_empty());
    // Neighbours along m1 at m2 = 0: where the CLs of two consecutive points straddle 0.05,
    // the contour crosses the segment between them.
    let mut row: Vec<_> = c.points.iter().filter(|p| p.y == 0.0).collect();
    row.sort_by(|a, b| a.x.total_cmp(&b.x));
    let mut checked = (0, 0);
    for w in row.windows(2) {
        let (a, b) = (w[0], w[1]);
        let (ea, eb) = (a.cls_exp.unwrap()[2], b.cls_exp.unwrap()[2]);
        if (ea < 0.05) != (eb < 0.05) {
            assert!(
                c.expected.iter().any(|l| crosses((a.x, a.y), (b.x, b.y), l)),
                "expected contour misses {} - {}",
                a.name,
                b.name
            );
            checked.0 += 1;
        }
        let (oa, ob) = (a.cls_obs.unwrap(), b.cls_obs.unwrap());
        if (oa < 0.05) != (ob < 0.05) {
            assert!(
                c.observed.iter().any(|l| crosses((a.x, a.y), (b.x, b.y), l)),
                "observed contour misses {} - {}",
                a.name,
                b.name
            );
            checked.1 += 1;
        }
    }
    assert!(checked.0 >= 1 && checked.1 >= 1, "no straddling neighbours at m2 = 0: {checked:?}");
    // And no contour crosses between two neighbours on the same side.
    for w in row.windows(2) {
        let (a, b) = (w[0], w[1]);
        let (ea, eb) = (a.cls_exp.unwrap()[2], b.cls_exp.unwrap()[2]);
        if (ea < 0.05) == (eb < 0.05) {
            assert!(
                !c.expected.iter().any(|l| crosses((a.x, a.y), (b.x, b.y), l)),
                "expected contour crosses {} - {}",
                a.name,
                b.name
            );
        }
    }
}

#[test]
fn the_exclusion_reaches_the_published_chargino_mass() {
    // arXiv:1909.09226: chargino masses up to about 740 GeV excluded for a massless neutralino.
    let c = plot::contours(lbb()).expect("contours");
    let reach = |lines: &[Polyline]| {
        // The largest m1 where a contour crosses low m2 (below 50 GeV).
        lines.iter().flatten().filter(|p| p.1 <= 50.0).map(|p| p.0).fold(f64::NAN, f64::max)
    };
    let obs = reach(&c.observed);
    let exp = reach(&c.expected);
    eprintln!("1Lbb reach at low m2: observed {obs:.0} GeV, expected {exp:.0} GeV");
    assert!((680.0..=800.0).contains(&obs), "observed reach {obs}");
    // The expected reach follows from the median expected CLs at m2 = 0: 0.030 at m1 = 800 and
    // 0.107 at 900 (as pyhf's in the pyhf + funcX study's results), so it lies between them.
    assert!((800.0..=900.0).contains(&exp), "expected reach {exp}");
}

#[test]
fn partial_results_still_draw() {
    // Every third point failed: the figure still draws, with crosses and the remaining contour.
    let mut doc = lbb().clone();
    for (i, e) in doc.values_mut().enumerate() {
        if i % 3 == 0 {
            e.status = "failed".into();
            e.reason = Some("worker lost".into());
            e.cls_obs = None;
            e.cls_exp = None;
        }
    }
    let dir = out_dir();
    let c = plot::contour(&doc, &dir.path().join("partial.svg"), &PlotOptions::default()).expect("contour plot");
    assert_eq!(c.failed(), 42);
    assert!(!c.observed.is_empty());
    let text = std::fs::read_to_string(dir.path().join("partial.svg")).unwrap();
    assert!(text.contains("Failed (42)"));
    roxmltree::Document::parse(&text).expect("well-formed");
    // Only three points left: no contour, but still a figure.
    let few: ResultsDoc = lbb().iter().take(2).map(|(k, v)| (k.clone(), v.clone())).collect();
    let c = plot::contour(&few, &dir.path().join("few.png"), &PlotOptions::default()).expect("a figure of two points");
    assert!(c.observed.is_empty() && !c.notes.is_empty());
}

#[test]
fn the_harvest_lists_every_point_with_its_masses() {
    let h = fitfleet::export::harvest(lbb());
    let list = h.as_array().unwrap();
    assert_eq!(list.len(), 125);
    let p = list.iter().find(|o| o["m1"] == 1000 && o["m2"] == 0).expect("the (1000, 0) point");
    let e = &lbb()["C1N2_Wh_hbb_1000_0"];
    assert_eq!(p["CLs"].as_f64(), e.cls_obs);
    assert_eq!(p["CLsexp"].as_f64(), Some(e.cls_exp.unwrap()[2]));
    assert_eq!(p["clsd1s"].as_f64(), Some(e.cls_exp.unwrap()[1]));
    assert_eq!(p["fitstatus"], 0);
}

/// How many times the polylines cross the horizontal line y between x0 and x1.
fn crossings_at(lines: &[Polyline], y: f64, x0: f64, x1: f64) -> usize {
    lines
        .iter()
        .flat_map(|l| l.windows(2))
        .filter(|w| {
            let (a, b) = (w[0], w[1]);
            if (a.1 < y) == (b.1 < y) {
                return false;
            }
            let x = a.0 + (y - a.1) / (b.1 - a.1) * (b.0 - a.0);
            (x0..=x1).contains(&x)
        })
        .count()
}

#[test]
fn the_smoothed_expected_contour_has_no_finger_around_an_off_trend_point() {
    // The median expected CLs at (750, 300) is 0.037 between 0.057 at (700, 300) and 0.067 at
    // (800, 300), with 0.049 below it at (750, 250): the exact level set reaches up around that
    // one point in a finger one grid cell wide, which crosses the line m2 = 275 twice more than
    // the contour's two sides do. Smoothed (the default), the curve rises on the left and falls
    // on the right, once each.
    let doc = lbb();
    let at = |m1: f64, m2: f64| {
        doc.values()
            .find(|e| e.masses().first() == Some(&Some(m1)) && e.masses().get(1) == Some(&Some(m2)))
            .and_then(|e| e.cls_exp)
            .map(|c| c[2])
            .expect("the 1Lbb grid point")
    };
    assert!(at(750.0, 300.0) < 0.05 && at(700.0, 300.0) > 0.05 && at(800.0, 300.0) > 0.05, "the off-trend point moved");
    let exact = plot::contours_with(doc, &PlotOptions { smoothing: 0, ..Default::default() }).expect("contours");
    let smooth = plot::contours(doc).expect("contours");
    assert_eq!(crossings_at(&exact.expected, 275.0, 0.0, 2000.0), 4, "the exact contour's finger");
    assert_eq!(crossings_at(&smooth.expected, 275.0, 0.0, 2000.0), 2, "{:?}", smooth.expected);
    // No closed loops, in either contour, and one curve each.
    for lines in [&smooth.expected, &smooth.observed] {
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_ne!(lines[0].first(), lines[0].last(), "a closed loop");
    }
    // Where the points follow their trend the smoothed curve stays near the exact one: along
    // m2 = 50, the two cross within 25 GeV of each other.
    for (name, a, b) in
        [("expected", &exact.expected, &smooth.expected), ("observed", &exact.observed, &smooth.observed)]
    {
        let x = |lines: &[Polyline]| -> f64 {
            lines
                .iter()
                .flat_map(|l| l.windows(2))
                .filter(|w| (w[0].1 < 50.0) != (w[1].1 < 50.0))
                .map(|w| w[0].0 + (50.0 - w[0].1) / (w[1].1 - w[0].1) * (w[1].0 - w[0].0))
                .fold(f64::NAN, f64::max)
        };
        let (xa, xb) = (x(a), x(b));
        assert!((xa - xb).abs() < 25.0, "{name}: exact {xa:.0} GeV, smoothed {xb:.0} GeV at m2 = 50");
    }
}
