mod common;
use engine::compute::CompiledModel;
use engine::model::{Model, ModelSettings};
use engine::spec::Workspace;
use candle_core::Device;

fn load(case: &serde_json::Value) -> Workspace {
    let dir = common::reference_dir();
    let ws: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join(case["workspace"].as_str().unwrap())).unwrap()).unwrap();
    let mut ws = ws;
    if let Some(ps) = case["patchset"].as_str() {
        let ps: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join(ps)).unwrap()).unwrap();
        let name = case["patch"].as_str().unwrap();
        let p = ps["patches"].as_array().unwrap().iter().find(|p| p["metadata"]["name"] == name).unwrap();
        let patch: json_patch::Patch = serde_json::from_value(p["patch"].clone()).unwrap();
        json_patch::patch(&mut ws, &patch).unwrap();
    }
    serde_json::from_value(ws).unwrap()
}

#[test]
fn expected_data_at_init() {
    let dir = common::reference_dir();
    let cases: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("cases.json")).unwrap()).unwrap();
    for case in cases["cases"].as_array().unwrap() {
        let ws = load(case);
        let model = Model::new(&ws, &ModelSettings::default()).unwrap();
        let po: Vec<String> = case["par_order"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
        assert_eq!(model.par_order(), po, "{}", case["id"]);
        let cm = CompiledModel::new(&model, &Device::Cpu).unwrap();
        let theta = cm.params(&[model.suggested_init()]).unwrap();
        let (main, aux) = cm.expected_data(&theta).unwrap();
        let mut got: Vec<f64> = main.to_vec2::<f64>().unwrap().remove(0);
        got.extend(aux.to_vec2::<f64>().unwrap().remove(0));
        let want: Vec<f64> = case["expected_data_at_init"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        assert_eq!(got.len(), want.len(), "{}", case["id"]);
        let mut worst = 0f64;
        for (g, w) in got.iter().zip(&want) {
            let rel = (g - w).abs() / w.abs().max(1e-300);
            if !(g == w) { worst = worst.max(rel); }
        }
        println!("{} worst rel {worst:e} npars {}", case["id"], model.npars());
        assert!(worst < 1e-9, "{}: {worst}", case["id"]);
    }
}
