//! Shared helpers for the engine's tests: where the reference data lives, and its cases.
#![allow(dead_code)]
use std::path::{Path, PathBuf};

use candle_core::Device;
use engine::compute::CompiledModel;
use engine::model::{HistosysInterp, Model, ModelSettings, NormsysInterp};
use engine::spec::Workspace;
use serde_json::Value;

/// `../shared/reference` beside the repository (or `$FITFLEET_REFERENCE`). Tests that need it
/// fail, never skip, when it is missing.
pub fn reference_dir() -> PathBuf {
    let dir = match std::env::var_os("FITFLEET_REFERENCE") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference"),
    };
    assert!(
        dir.join("cases.json").is_file(),
        "reference data not found at {} (set FITFLEET_REFERENCE to the folder holding cases.json)",
        dir.display()
    );
    dir
}

fn read_json(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// pyhf's answers: `../shared/reference/cases.json` (pyhf 0.7's default interpolation) and the
/// project's own `tests/data/pyhf-code1-cases.json` (normsys code1, histosys code0).
pub fn cases() -> Vec<Value> {
    let mut all = read_json(&reference_dir().join("cases.json"))["cases"].as_array().unwrap().clone();
    let code1 = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/pyhf-code1-cases.json");
    all.extend(read_json(&code1)["cases"].as_array().unwrap().iter().cloned());
    all
}

/// The CLs of the pyhf + funcX study for 1Lbb patches.
pub fn seed_cases() -> Vec<Value> {
    let dir = reference_dir().join("atlas-susy-2019-08-1lbb");
    let doc = read_json(&dir.join("seed-results-cases.json"));
    doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let mut c = c.clone();
            for key in ["workspace", "patchset"] {
                c[key] = Value::from(format!("atlas-susy-2019-08-1lbb/{}", c[key].as_str().unwrap()));
            }
            c
        })
        .collect()
}

/// The workspace of a case, with its patch applied.
pub fn workspace(case: &Value) -> Workspace {
    let dir = reference_dir();
    let mut ws = read_json(&dir.join(case["workspace"].as_str().unwrap()));
    if let Some(ps) = case.get("patchset").and_then(Value::as_str) {
        let ps = read_json(&dir.join(ps));
        let name = case["patch"].as_str().unwrap();
        let p = ps["patches"].as_array().unwrap().iter().find(|p| p["metadata"]["name"] == name).unwrap();
        let patch: json_patch::Patch = serde_json::from_value(p["patch"].clone()).unwrap();
        json_patch::patch(&mut ws, &patch).unwrap();
    }
    serde_json::from_value(ws).unwrap()
}

pub fn settings(case: &Value) -> ModelSettings {
    match case["interp"].as_str().unwrap() {
        "code1" => ModelSettings {
            measurement: None,
            normsys: NormsysInterp::Code1,
            histosys: HistosysInterp::Code0,
        },
        _ => ModelSettings::default(),
    }
}

/// The model of a case and its compiled form.
pub fn model(case: &Value) -> (Model, CompiledModel) {
    let model = Model::new(&workspace(case), &settings(case)).unwrap();
    let compiled = CompiledModel::new(&model, &Device::Cpu).unwrap();
    (model, compiled)
}

pub fn id(case: &Value) -> String {
    format!("{} [{}]", case["id"].as_str().unwrap(), case["interp"].as_str().unwrap())
}

pub fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect()
}
