//! `fitfleet yields`, `pulls` and `correlations` through the binary, on the example pallet (a
//! signal patch): the table, CSV and JSON say the same, the pre-fit yields are the workspace's
//! nominal histograms, sums add up, and the figures are written and decode.
mod common;

use std::process::Output;

use serde_json::Value;

const PATCH: &str = "SIG_300_0";

fn run(args: &[&str]) -> Output {
    let ws = common::pallet_workspace();
    let ps = common::pallet_patchset();
    let mut all = vec![args[0], ws.to_str().unwrap(), "--patchset", ps.to_str().unwrap(), "--patch", PATCH];
    all.extend(&args[1..]);
    let o = common::fitfleet(None).args(&all).output().expect("fitfleet runs");
    assert!(o.status.success(), "fitfleet {all:?}: {}", String::from_utf8_lossy(&o.stderr));
    o
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
}

fn csv_rows(o: &Output) -> Vec<csv::StringRecord> {
    csv::Reader::from_reader(o.stdout.as_slice()).records().map(|r| r.expect("a CSV record")).collect()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn yields_agree_across_formats_and_start_from_the_nominal_histograms() {
    let doc = json(&run(&["yields", "--format", "json"]));
    let bkg: Value = serde_json::from_str(&std::fs::read_to_string(common::pallet_workspace()).unwrap()).unwrap();
    let channels = doc["prefit"]["channels"].as_array().unwrap();
    assert_eq!(channels.len(), bkg["channels"].as_array().unwrap().len());
    for stage in ["prefit", "postfit"] {
        for ch in doc[stage]["channels"].as_array().unwrap() {
            let name = ch["name"].as_str().unwrap();
            let spec = bkg["channels"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap();
            let samples = ch["samples"].as_array().unwrap();
            // The background samples and the patch's signal.
            assert_eq!(samples.len(), spec["samples"].as_array().unwrap().len() + 1, "{name}");
            let nb = ch["observed"].as_array().unwrap().len();
            for b in 0..nb {
                let sum: f64 = samples.iter().map(|s| f(&s["yields"][b])).sum();
                assert!((f(&ch["total"]["yields"][b]) - sum).abs() < 1e-9 * sum.max(1.0), "{stage} {name}[{b}]");
                // Uncertainties are positive where the sample has events.
                for s in samples {
                    if f(&s["yields"][b]) > 0.0 {
                        assert!(f(&s["uncertainties"][b]) > 0.0, "{stage} {name} {}[{b}]", s["name"]);
                    }
                }
            }
            let obs = bkg["observations"].as_array().unwrap().iter().find(|o| o["name"] == name).unwrap();
            assert_eq!(ch["observed"], obs["data"], "{name}");
            if stage == "prefit" {
                // At the suggested initial values every factor is 1: the nominal histograms.
                for spec_sample in spec["samples"].as_array().unwrap() {
                    let s = samples.iter().find(|s| s["name"] == spec_sample["name"]).unwrap();
                    for (y, want) in s["yields"].as_array().unwrap().iter().zip(spec_sample["data"].as_array().unwrap())
                    {
                        assert!((f(y) - f(want)).abs() < 1e-9 * f(want).max(1.0), "{name} {}", s["name"]);
                    }
                }
            }
        }
    }

    // CSV: the same numbers, one row per stage, channel, sample and bin.
    let rows = csv_rows(&run(&["yields", "--format", "csv"]));
    let mut compared = 0;
    for r in &rows {
        let (stage, channel, sample, bin) = (&r[0], &r[1], &r[2], &r[3]);
        if stage == "observed" {
            continue;
        }
        let ch = doc[stage]["channels"].as_array().unwrap().iter().find(|c| c["name"] == channel).unwrap();
        let s = if sample == "total" {
            &ch["total"]
        } else {
            ch["samples"].as_array().unwrap().iter().find(|s| s["name"] == sample).unwrap()
        };
        let (y, u) = if bin == "sum" {
            (f(&s["sum"]), f(&s["sum_uncertainty"]))
        } else {
            let b: usize = bin.parse().unwrap();
            (f(&s["yields"][b]), f(&s["uncertainties"][b]))
        };
        assert_eq!(r[4].parse::<f64>().unwrap(), y);
        assert_eq!(r[5].parse::<f64>().unwrap(), u);
        compared += 1;
    }
    assert!(compared > 40, "{compared} CSV rows compared");

    // The table, into a file: both stages, every channel, the data row.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("yields.txt");
    run(&["yields", "--out", out.to_str().unwrap()]);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("Pre-fit yields") && text.contains("Post-fit yields"), "{text}");
    for ch in channels {
        assert_eq!(text.matches(ch["name"].as_str().unwrap()).count(), 2, "{text}");
    }
    assert!(text.lines().any(|l| l.starts_with("data ")) && text.contains(" ± "), "{text}");
}

#[test]
fn pulls_group_the_parameters_and_draw_them() {
    let doc = json(&run(&["pulls", "--format", "json"]));
    assert_eq!(doc["poi"][0]["name"], "mu_SIG");
    assert!(doc["poi"][0]["pull"].is_null());
    let constrained = doc["constrained"].as_array().unwrap();
    assert!(constrained.iter().any(|p| p["name"] == "lumi"));
    for p in constrained {
        let want = (f(&p["bestfit"]) - f(&p["init"])) / f(&p["prefit_width"]);
        assert!((f(&p["pull"]) - want).abs() < 1e-12, "{p}");
        assert!((f(&p["constraint"]) - f(&p["uncertainty"]) / f(&p["prefit_width"])).abs() < 1e-12, "{p}");
        // A constraint is at most about 1: the data only add information.
        assert!(f(&p["constraint"]) > 0.0 && f(&p["constraint"]) < 1.05, "{p}");
    }
    let rows = csv_rows(&run(&["pulls", "--format", "csv"]));
    let all =
        constrained.len() + ["poi", "free", "fixed"].iter().map(|k| doc[k].as_array().unwrap().len()).sum::<usize>();
    assert_eq!(rows.len(), all);

    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("pulls.png");
    let o = run(&["pulls", "--plot", png.to_str().unwrap(), "--label", "Example  139 fb⁻¹"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("Constrained nuisance parameters") && text.contains("mu_SIG"), "{text}");
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let reader = decoder.read_info().expect("a PNG");
    let info = reader.info();
    assert_eq!(info.width, 1100);
    assert_eq!(info.height, (170 + 22 * constrained.len() as u32).max(400));

    let svg = dir.path().join("pulls.svg");
    run(&["pulls", "--plot", svg.to_str().unwrap(), "--format", "json"]);
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc_svg = roxmltree::Document::parse(&text).expect("well-formed SVG");
    let texts: Vec<&str> = doc_svg.descendants().filter_map(|n| n.text()).map(str::trim).collect();
    for p in constrained {
        assert!(texts.contains(&p["name"].as_str().unwrap()), "{} not drawn", p["name"]);
    }
}

#[test]
fn correlations_are_a_correlation_matrix_and_the_threshold_selects() {
    let all = json(&run(&["correlations", "--format", "json"]));
    let names = all["names"].as_array().unwrap();
    let m = all["matrix"].as_array().unwrap();
    assert_eq!(m.len(), names.len());
    for (i, row) in m.iter().enumerate() {
        for (j, v) in row.as_array().unwrap().iter().enumerate() {
            let v = f(v);
            assert!(v.abs() <= 1.0 + 1e-9);
            assert!((v - f(&m[j][i])).abs() < 1e-9, "not symmetric at {i},{j}");
            if i == j {
                assert!(v == 1.0 || v == 0.0, "diagonal {v}");
            }
        }
    }
    let threshold = 0.3;
    let some = json(&run(&["correlations", "--format", "json", "--threshold", "0.3"]));
    let kept: Vec<&str> = some["names"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(!kept.is_empty() && kept.len() < names.len(), "{kept:?} of {}", names.len());
    for (i, name) in names.iter().enumerate() {
        let strong = m[i].as_array().unwrap().iter().enumerate().any(|(j, v)| j != i && f(v).abs() >= threshold);
        assert_eq!(kept.contains(&name.as_str().unwrap()), strong, "{name}");
    }
    let rows = csv_rows(&run(&["correlations", "--format", "csv", "--threshold", "0.3"]));
    assert_eq!(rows.len(), kept.len());

    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("corr.png");
    let o = run(&["correlations", "--plot", png.to_str().unwrap(), "--threshold", "0.3"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("Correlations of the"));
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    reader.next_frame(&mut buf).expect("pixels");
    assert!(reader.info().height >= 400);
    // Red and blue cells: both signs drawn.
    let px: Vec<&[u8]> = buf.chunks(3).collect();
    assert!(px.iter().any(|p| p[0] > 150 && p[1] < 120 && p[2] < 120), "no red cell");

    let o = common::fitfleet(None)
        .args(["correlations", common::pallet_workspace().to_str().unwrap(), "--threshold", "2"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--threshold"), "{}", String::from_utf8_lossy(&o.stderr));
}
