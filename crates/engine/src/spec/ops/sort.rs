//! pyhf's `Workspace.sorted`: channels, samples, measurements, parameter configurations and
//! observations by name, modifiers by name and type; a stable sort, as Python's.

use serde_json::Value;

use super::name_of;

/// The workspace (JSON) sorted as pyhf's `Workspace.sorted` sorts it.
pub fn sorted(workspace: &Value) -> Value {
    let mut out = workspace.clone();
    let by_name = |list: &mut Value| {
        if let Some(items) = list.as_array_mut() {
            items.sort_by(|a, b| name_of(a).cmp(name_of(b)));
        }
    };
    let type_of = |m: &Value| m.get("type").and_then(Value::as_str).unwrap_or("").to_string();
    if let Some(channels) = out.get_mut("channels") {
        by_name(channels);
        for channel in channels.as_array_mut().into_iter().flatten() {
            let Some(samples) = channel.get_mut("samples") else { continue };
            by_name(samples);
            for sample in samples.as_array_mut().into_iter().flatten() {
                if let Some(modifiers) = sample.get_mut("modifiers").and_then(Value::as_array_mut) {
                    modifiers.sort_by(|a, b| (name_of(a), type_of(a)).cmp(&(name_of(b), type_of(b))));
                }
            }
        }
    }
    if let Some(measurements) = out.get_mut("measurements") {
        by_name(measurements);
        for measurement in measurements.as_array_mut().into_iter().flatten() {
            if let Some(parameters) = measurement.pointer_mut("/config/parameters") {
                by_name(parameters);
            }
        }
    }
    if let Some(observations) = out.get_mut("observations") {
        by_name(observations);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_by_name_then_type_and_keeps_equal_names_in_order() {
        let ws = json!({
            "channels": [
                {"name": "b", "samples": [
                    {"name": "z", "data": [1], "modifiers": [
                        {"name": "x", "type": "normsys", "data": 1},
                        {"name": "x", "type": "histosys", "data": 2},
                        {"name": "B", "type": "lumi", "data": 3}
                    ]},
                    {"name": "a", "data": [2], "modifiers": []}
                ]},
                {"name": "a", "samples": []}
            ],
            "measurements": [{"name": "m", "config": {"poi": "p", "parameters": [{"name": "y"}, {"name": "x", "n": 1}, {"name": "x", "n": 2}]}}],
            "observations": [{"name": "é"}, {"name": "b"}, {"name": "a"}],
            "version": "1.0.0"
        });
        let s = sorted(&ws);
        assert_eq!(s["channels"][0]["name"], "a");
        assert_eq!(s["channels"][1]["samples"][0]["name"], "a");
        let mods: Vec<i64> = s["channels"][1]["samples"][1]["modifiers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["data"].as_i64().unwrap())
            .collect();
        assert_eq!(mods, [3, 2, 1]);
        assert_eq!(
            s["measurements"][0]["config"]["parameters"],
            json!([{"name": "x", "n": 1}, {"name": "x", "n": 2}, {"name": "y"}])
        );
        assert_eq!(s["observations"], json!([{"name": "a"}, {"name": "b"}, {"name": "é"}]));
    }
}
