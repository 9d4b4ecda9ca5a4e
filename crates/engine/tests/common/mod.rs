//! Helpers shared by the engine's integration tests: where the reference data is and its
//! cases with pyhf's answers, a small workspace to break in tests, and running Python for
//! independent answers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use candle_core::Device;
use fitfleet_engine::compute::CompiledModel;
use fitfleet_engine::model::{HistosysInterp, Model, ModelSettings, NormsysInterp};
use fitfleet_engine::spec::Workspace;
use serde_json::Value;

pub mod synthetic;

/// The shared reference data (published workspaces and pyhf's answers).
///
/// `FITFLEET_REFERENCE` when set, else `shared/reference` beside the repository's root (from
/// `crates/engine/`: `../../../shared/reference`). Panics with a clear message when it is missing: tests
/// that need it fail rather than skip.
pub fn reference_dir() -> PathBuf {
    let (dir, how) = match std::env::var_os("FITFLEET_REFERENCE") {
        Some(dir) => (PathBuf::from(dir), "FITFLEET_REFERENCE"),
        None => (
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference"),
            "the default beside the repository (set FITFLEET_REFERENCE to override)",
        ),
    };
    assert!(
        dir.join("README.md").is_file(),
        "reference data not found at {} ({how}): these tests need the shared reference \
         workspaces",
        dir.display()
    );
    dir.canonicalize().unwrap_or(dir)
}

/// A reference file, relative to [`reference_dir`]; panics when it is missing.
pub fn reference_file(relative: &str) -> PathBuf {
    let path = reference_dir().join(relative);
    assert!(path.is_file(), "reference file {} is missing", path.display());
    path
}

/// Every `.json` file below `dir`, sorted.
pub fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Runs `python3 -c script args...` and returns its standard output; panics when Python is
/// missing or the script fails.
pub fn python(script: &str, args: &[&Path]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 (needed for independent answers): {e}"));
    assert!(out.status.success(), "python3 failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("python3 prints UTF-8")
}

/// `pyhf.utils.digest` of each file (plain or gzip JSON) as Python computes it, from the
/// definition in pyhf 0.7's `pyhf/utils.py`; pyhf itself need not be installed.
pub fn python_digests(files: &[&Path]) -> Vec<String> {
    let script = r#"
import gzip, hashlib, json, sys
for name in sys.argv[1:]:
    with open(name, 'rb') as f:
        raw = f.read()
    if raw[:2] == b'\x1f\x8b':
        raw = gzip.decompress(raw)
    obj = json.loads(raw)
    print(hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False).encode('utf8')).hexdigest())
"#;
    python(script, files).lines().map(str::to_string).collect()
}

/// A small valid workspace using every modifier type: one channel of three bins, plus a
/// one-bin control region.
pub fn small_workspace() -> serde_json::Value {
    serde_json::json!({
        "channels": [
            {
                "name": "SR",
                "samples": [
                    {
                        "name": "signal",
                        "data": [5.0, 10.0, 3.0],
                        "modifiers": [
                            {"name": "mu", "type": "normfactor", "data": null},
                            {"name": "lumi", "type": "lumi", "data": null}
                        ]
                    },
                    {
                        "name": "background",
                        "data": [50.0, 60.0, 20.0],
                        "modifiers": [
                            {"name": "jes", "type": "normsys", "data": {"lo": 0.9, "hi": 1.1}},
                            {"name": "shape", "type": "histosys",
                             "data": {"lo_data": [48.0, 61.0, 19.0], "hi_data": [52.0, 59.0, 21.0]}},
                            {"name": "staterror_SR", "type": "staterror", "data": [2.0, 3.0, 1.5]},
                            {"name": "bkg_unc", "type": "shapesys", "data": [5.0, 6.0, 2.0]},
                            {"name": "sf", "type": "shapefactor", "data": null},
                            {"name": "lumi", "type": "lumi", "data": null}
                        ]
                    }
                ]
            },
            {
                "name": "CR",
                "samples": [
                    {
                        "name": "background",
                        "data": [100],
                        "modifiers": [
                            {"name": "jes", "type": "histosys", "data": {"lo_data": [95], "hi_data": [105]}}
                        ]
                    }
                ]
            }
        ],
        "observations": [
            {"name": "SR", "data": [55, 70, 22]},
            {"name": "CR", "data": [101]}
        ],
        "measurements": [
            {
                "name": "meas",
                "config": {
                    "poi": "mu",
                    "parameters": [
                        {"name": "lumi", "auxdata": [1.0], "sigmas": [0.017], "bounds": [[0.9, 1.1]], "inits": [1.0]},
                        {"name": "mu", "bounds": [[0, 10]], "inits": [1.0]},
                        {"name": "bkg_unc", "inits": [1.0, 1.0, 1.0]}
                    ]
                }
            }
        ],
        "version": "1.0.0"
    })
}

/// A patchset for [`small_workspace`]: two signal points adding a sample to SR.
pub fn small_patchset(workspace_digest: &str) -> serde_json::Value {
    let patch = |name: &str, m1: u32, m2: f64, scale: f64| {
        serde_json::json!({
            "metadata": {"name": name, "values": [m1, m2], "note": "extra keys are allowed"},
            "patch": [
                {"op": "add", "path": "/channels/0/samples/-", "value": {
                    "name": "susy", "data": [scale, 2.0 * scale, 0.5 * scale],
                    "modifiers": [{"name": "mu_SIG", "type": "normfactor", "data": null}]
                }}
            ]
        })
    };
    serde_json::json!({
        "metadata": {
            "description": "signal grid for the small workspace",
            "digests": {"sha256": workspace_digest},
            "labels": ["m1", "m2"],
            "references": {"hepdata": "ins1234567"}
        },
        "patches": [
            patch("grid_300_100", 300, 100.0, 4.0),
            patch("grid_400_100", 400, 100.0, 2.0),
            patch("grid_400_200", 400, 200.5, 1.0)
        ],
        "version": "1.0.0"
    })
}

pub fn read_json(path: &Path) -> Value {
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

/// The workspace of a case, with its patch applied, read by `fitfleet_engine::spec`.
pub fn workspace(case: &Value) -> Workspace {
    let dir = reference_dir();
    let patchset = case.get("patchset").and_then(Value::as_str).map(|p| dir.join(p));
    fitfleet_engine::spec::load_workspace_with_patch(
        dir.join(case["workspace"].as_str().unwrap()),
        patchset.as_deref(),
        case.get("patch").and_then(Value::as_str),
    )
    .unwrap_or_else(|e| panic!("{e}"))
    .workspace
}

pub fn settings(case: &Value) -> ModelSettings {
    match case["interp"].as_str().unwrap() {
        "code1" => ModelSettings { measurement: None, normsys: NormsysInterp::Code1, histosys: HistosysInterp::Code0 },
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
