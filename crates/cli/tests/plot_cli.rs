//! `fitfleet plot` and `fitfleet export --format harvest` on a made-up grid whose exclusion
//! contour is known: CLs = 10^(-3 + 4 (x/1000)^2 + 2 (y/500)^2)... falls below 0.05 inside an
//! ellipse.
use std::process::Command;

use fitfleet::results::{Entry, ResultsDoc};
use fitfleet_protocol::PatchValue;

/// log10 CLs on the made-up grid.
fn log_cls(x: f64, y: f64) -> f64 {
    -3.0 + 4.0 * (x / 1000.0).powi(2) + 2.0 * (y / 500.0).powi(2)
}

fn doc() -> ResultsDoc {
    let mut doc = ResultsDoc::new();
    for i in 1..=10 {
        for j in 0..=i.min(8) {
            let (x, y) = (100.0 * i as f64, 50.0 * j as f64);
            let c = |shift: f64| 10f64.powf(log_cls(x, y) + shift);
            let failed = (i, j) == (6, 2);
            doc.insert(
                format!("grid_{x}_{y}"),
                Entry {
                    cls_obs: (!failed).then(|| c(0.1)),
                    cls_exp: (!failed).then(|| [c(-0.6), c(-0.3), c(0.0), c(0.3), c(0.6)]),
                    mass_hypotheses: vec![PatchValue::Number(x), PatchValue::Number(y)],
                    labels: vec!["mC1".into(), "mN1".into()],
                    fit_time: 0.1,
                    status: if failed { "failed" } else { "succeeded" }.into(),
                    reason: failed.then(|| "worker lost".into()),
                    ..Default::default()
                },
            );
        }
    }
    doc
}

fn fitfleet(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_fitfleet")).args(args).output().expect("fitfleet runs")
}

#[test]
fn plot_writes_the_contour_and_says_what_it_drew() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results.json");
    std::fs::write(&results, serde_json::to_string(&doc()).unwrap()).unwrap();
    let out = dir.path().join("contour.svg");
    let o = fitfleet(&[
        "plot",
        "--results",
        results.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--title",
        "Made-up grid",
        "--label",
        "Made-up  √s = 13 TeV, 139 fb⁻¹",
        "--y-title",
        "m(χ̃₁⁰) [GeV]",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("contour over mC1 and mN1") && stderr.contains("(1 failed)"), "{stderr}");
    let text = std::fs::read_to_string(&out).unwrap();
    let svg = roxmltree::Document::parse(&text).expect("well-formed SVG");
    let texts: Vec<&str> =
        svg.descendants().filter(|n| n.has_tag_name("text")).filter_map(|n| n.text()).map(str::trim).collect();
    assert!(texts.contains(&"Made-up grid"), "{texts:?}");
    // The x axis titled from its mass label with the unit, the y axis as asked, and the label.
    assert!(texts.contains(&"mC1 [GeV]") && texts.contains(&"m(χ̃₁⁰) [GeV]"), "{texts:?}");
    assert!(texts.contains(&"Made-up  √s = 13 TeV, 139 fb⁻¹"), "{texts:?}");

    // The expected contour lies on the ellipse log_cls = log10 0.05 within a grid spacing.
    let c = fitfleet::plot::contours(&doc()).unwrap();
    assert!(!c.expected.is_empty());
    for &(x, y) in c.expected.iter().flatten() {
        // Distance to the ellipse, in grid steps, through the field's gradient.
        let f = log_cls(x, y) - 0.05f64.log10();
        let g = ((8.0 * x / 1e6) * 100.0).hypot((4.0 * y / 250_000.0) * 50.0);
        assert!(f.abs() / g < 1.0, "({x:.0}, {y:.0}) is {:.2} grid steps off the ellipse", f.abs() / g);
    }

    // Axes by name, PNG, and errors.
    let png = dir.path().join("swapped.png");
    let o = fitfleet(&[
        "plot",
        "--results",
        results.to_str().unwrap(),
        "--out",
        png.to_str().unwrap(),
        "--x",
        "mN1",
        "--y",
        "mC1",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(png.is_file());
    let o = fitfleet(&["plot", "--results", results.to_str().unwrap(), "--out", png.to_str().unwrap(), "--x", "m9"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no label \"m9\""));
}

#[test]
fn export_writes_the_harvest_list() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results.json");
    std::fs::write(&results, serde_json::to_string(&doc()).unwrap()).unwrap();
    let o = fitfleet(&["export", "--results", results.to_str().unwrap(), "--format", "harvest"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let h: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    let list = h.as_array().unwrap();
    assert_eq!(list.len(), doc().len());
    for o in list {
        for k in ["CLs", "CLsexp", "clsd1s", "clsd2s", "clsu1s", "clsu2s", "mC1", "mN1", "fitstatus", "failedstatus"] {
            assert!(o.get(k).is_some(), "{k} missing in {o}");
        }
    }
    let failed: Vec<_> = list.iter().filter(|o| o["failedstatus"] == 1).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["mC1"], 600);
    let ok = list.iter().find(|o| o["mC1"] == 300 && o["mN1"] == 100).unwrap();
    let want = 10f64.powf(log_cls(300.0, 100.0));
    assert!((ok["CLsexp"].as_f64().unwrap() - want).abs() < 1e-12 * want.max(1.0));
    assert!(ok["clsd1s"].as_f64().unwrap() < ok["CLsexp"].as_f64().unwrap());

    let out = dir.path().join("harvest.json");
    let o = fitfleet(&[
        "export",
        "--results",
        results.to_str().unwrap(),
        "--format",
        "harvest",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let again: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(again, h);
}

#[test]
fn export_writes_csv_from_a_document_and_plot_wants_one_source() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results.json");
    std::fs::write(&results, serde_json::to_string(&doc()).unwrap()).unwrap();
    let o = fitfleet(&["export", "--results", results.to_str().unwrap(), "--format", "csv"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = String::from_utf8(o.stdout).unwrap();
    assert!(csv.starts_with("patch,"), "{csv}");
    assert_eq!(csv.lines().count(), doc().len() + 1, "a header and one row per entry");
    // A job and a file at once, or neither, is a usage error.
    let o = fitfleet(&[
        "plot",
        "0123456789abcdef0123456789abcdef",
        "--results",
        results.to_str().unwrap(),
        "--out",
        "x.png",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = fitfleet(&["plot", "--out", "x.png"]);
    assert_eq!(o.status.code(), Some(2));
}
