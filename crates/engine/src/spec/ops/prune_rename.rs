//! pyhf's `Workspace.prune` and `Workspace.rename` (one function in pyhf,
//! `_prune_and_rename`): remove or rename channels, samples, modifiers and measurements.
//!
//! As in pyhf:
//! - every name given must be in the workspace, else nothing is done and the error names it;
//! - a pruned channel takes its observation with it, a renamed one renames its observation;
//! - a pruned modifier takes its parameter configurations in every measurement with it (by
//!   name; a modifier type pruned leaves them), a renamed one renames them and the POI;
//! - a modifier type is "in the workspace" as pyhf's `dict(ws.modifiers).values()` says: for a
//!   name used by several types (a `normsys` and a `histosys` sharing a parameter) only the
//!   last type in alphabetical order counts, so pruning `histosys` where every `histosys`
//!   shares its name with a `normsys` is refused, as pyhf refuses it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use super::super::error::{SpecError, SpecErrorKind};
use super::super::similar::closest;
use super::super::workspace::ModifierType;
use super::{items, name_of};

/// What to remove (pyhf's `Workspace.prune` arguments).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prune {
    pub channels: Vec<String>,
    pub samples: Vec<String>,
    pub modifiers: Vec<String>,
    pub modifier_types: Vec<ModifierType>,
    pub measurements: Vec<String>,
}

/// What to rename, old name to new (pyhf's `Workspace.rename` dictionaries: of an old name
/// given twice, the last new name counts).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rename {
    pub channels: Vec<(String, String)>,
    pub samples: Vec<(String, String)>,
    pub modifiers: Vec<(String, String)>,
    pub measurements: Vec<(String, String)>,
}

/// The workspace (JSON) without what `what` names; errors name `source_name`.
pub fn prune(source_name: &str, workspace: &Value, what: &Prune) -> Result<Value, SpecError> {
    prune_and_rename(source_name, workspace, what, &Rename::default())
}

/// The workspace (JSON) with the names `what` maps renamed; errors name `source_name`.
pub fn rename(source_name: &str, workspace: &Value, what: &Rename) -> Result<Value, SpecError> {
    prune_and_rename(source_name, workspace, &Prune::default(), what)
}

/// The names in a workspace, as pyhf's `_ChannelSummaryMixin` and `measurement_names` list them.
struct Names {
    channels: BTreeSet<String>,
    samples: BTreeSet<String>,
    /// Modifier name -> the type pyhf's `dict(ws.modifiers)` gives it (the last of its types).
    modifiers: BTreeMap<String, ModifierType>,
    measurements: Vec<String>,
}

impl Names {
    fn of(workspace: &Value) -> Names {
        let mut names = Names {
            channels: BTreeSet::new(),
            samples: BTreeSet::new(),
            modifiers: BTreeMap::new(),
            measurements: items(workspace, "measurements").iter().map(|m| name_of(m).to_string()).collect(),
        };
        for channel in items(workspace, "channels") {
            names.channels.insert(name_of(channel).to_string());
            for sample in items(channel, "samples") {
                names.samples.insert(name_of(sample).to_string());
                for modifier in items(sample, "modifiers") {
                    let Some(t) = modifier.get("type").and_then(Value::as_str).and_then(ModifierType::from_name) else {
                        continue;
                    };
                    let entry = names.modifiers.entry(name_of(modifier).to_string()).or_insert(t);
                    *entry = (*entry).max(t);
                }
            }
        }
        names
    }
}

fn prune_and_rename(source_name: &str, ws: &Value, prune: &Prune, rename: &Rename) -> Result<Value, SpecError> {
    let names = Names::of(ws);
    check_names(source_name, &names, prune, rename)?;
    let map = |pairs: &[(String, String)]| -> HashMap<String, String> { pairs.iter().cloned().collect() };
    let (channel_to, sample_to, modifier_to, measurement_to) =
        (map(&rename.channels), map(&rename.samples), map(&rename.modifiers), map(&rename.measurements));
    let renamed = |item: &Value, to: &HashMap<String, String>| -> Value {
        let mut item = item.clone();
        if let Some(new) = to.get(name_of(&item)) {
            item["name"] = Value::String(new.clone());
        }
        item
    };
    let mut out = ws.clone();
    let channels: Vec<Value> = items(ws, "channels")
        .iter()
        .filter(|c| !prune.channels.iter().any(|n| n == name_of(c)))
        .map(|channel| {
            let mut channel = renamed(channel, &channel_to);
            let samples: Vec<Value> = items(&channel, "samples")
                .iter()
                .filter(|s| !prune.samples.iter().any(|n| n == name_of(s)))
                .map(|sample| {
                    let mut sample = renamed(sample, &sample_to);
                    let modifiers: Vec<Value> = items(&sample, "modifiers")
                        .iter()
                        .filter(|m| {
                            let t = m.get("type").and_then(Value::as_str).and_then(ModifierType::from_name);
                            !prune.modifiers.iter().any(|n| n == name_of(m))
                                && !t.is_some_and(|t| prune.modifier_types.contains(&t))
                        })
                        .map(|m| renamed(m, &modifier_to))
                        .collect();
                    sample["modifiers"] = Value::Array(modifiers);
                    sample
                })
                .collect();
            channel["samples"] = Value::Array(samples);
            channel
        })
        .collect();
    let measurements: Vec<Value> = items(ws, "measurements")
        .iter()
        .filter(|m| !prune.measurements.iter().any(|n| n == name_of(m)))
        .map(|measurement| {
            let mut measurement = renamed(measurement, &measurement_to);
            let parameters: Vec<Value> = measurement
                .pointer("/config/parameters")
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .filter(|p| !prune.modifiers.iter().any(|n| n == name_of(p)))
                .map(|p| renamed(p, &modifier_to))
                .collect();
            if let Some(config) = measurement.get_mut("config") {
                config["parameters"] = Value::Array(parameters);
                if let Some(new) = config.get("poi").and_then(Value::as_str).and_then(|poi| modifier_to.get(poi)) {
                    config["poi"] = Value::String(new.clone());
                }
            }
            measurement
        })
        .collect();
    let observations: Vec<Value> = items(ws, "observations")
        .iter()
        .filter(|o| !prune.channels.iter().any(|n| n == name_of(o)))
        .map(|o| renamed(o, &channel_to))
        .collect();
    out["channels"] = Value::Array(channels);
    out["measurements"] = Value::Array(measurements);
    out["observations"] = Value::Array(observations);
    Ok(out)
}

/// pyhf's checks, in its order: modifier types, modifiers, samples, channels, measurements.
fn check_names(source_name: &str, names: &Names, prune: &Prune, rename: &Rename) -> Result<(), SpecError> {
    let types: BTreeSet<ModifierType> = names.modifiers.values().copied().collect();
    for t in &prune.modifier_types {
        if !types.contains(t) {
            let present: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
            return Err(SpecError::new(
                SpecErrorKind::Operation,
                source_name,
                "channels[].samples[].modifiers[].type",
                format!(
                    "{t} is not one of the modifier types in this workspace (as pyhf counts them, one type per \
                     modifier name: {})",
                    present.join(", ")
                ),
            ));
        }
    }
    let olds = |pairs: &[(String, String)]| pairs.iter().map(|(old, _)| old.clone()).collect::<Vec<_>>();
    let modifiers: Vec<&str> = names.modifiers.keys().map(String::as_str).collect();
    let checks: [(&str, &str, Vec<String>, Vec<&str>); 4] = [
        (
            "modifiers",
            "channels[].samples[].modifiers[].name",
            [&prune.modifiers[..], &olds(&rename.modifiers)].concat(),
            modifiers,
        ),
        (
            "samples",
            "channels[].samples[].name",
            [&prune.samples[..], &olds(&rename.samples)].concat(),
            names.samples.iter().map(String::as_str).collect(),
        ),
        (
            "channels",
            "channels[].name",
            [&prune.channels[..], &olds(&rename.channels)].concat(),
            names.channels.iter().map(String::as_str).collect(),
        ),
        (
            "measurements",
            "measurements[].name",
            [&prune.measurements[..], &olds(&rename.measurements)].concat(),
            names.measurements.iter().map(String::as_str).collect(),
        ),
    ];
    for (what, path, asked, present) in checks {
        if let Some(missing) = asked.iter().find(|n| !present.contains(&n.as_str())) {
            return Err(SpecError::new(
                SpecErrorKind::Operation,
                source_name,
                path,
                format!(
                    "{missing:?} is not one of the {what} in this workspace; closest: {}",
                    closest(missing, present.iter().copied(), 3).join(", ")
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ws() -> Value {
        json!({
            "channels": [
                {"name": "SR", "samples": [
                    {"name": "sig", "data": [1], "modifiers": [{"name": "mu", "type": "normfactor", "data": null}]},
                    {"name": "bkg", "data": [2], "modifiers": [
                        {"name": "jes", "type": "normsys", "data": {"hi": 1.1, "lo": 0.9}},
                        {"name": "jes", "type": "histosys", "data": {"hi_data": [3], "lo_data": [1]}}
                    ]}
                ]},
                {"name": "CR", "samples": [{"name": "bkg", "data": [5], "modifiers": []}]}
            ],
            "observations": [{"name": "SR", "data": [3]}, {"name": "CR", "data": [5]}],
            "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": [{"name": "jes", "inits": [0.0]}]}}],
            "version": "1.0.0"
        })
    }

    #[test]
    fn prune_removes_channels_with_observations_and_modifiers_with_configs() {
        let what = Prune { channels: vec!["CR".into()], modifiers: vec!["jes".into()], ..Prune::default() };
        let out = prune("ws.json", &ws(), &what).unwrap();
        assert_eq!(out["observations"], json!([{"name": "SR", "data": [3]}]));
        assert_eq!(out["channels"][0]["samples"][1]["modifiers"], json!([]));
        assert_eq!(out["measurements"][0]["config"]["parameters"], json!([]));
        assert_eq!(out["channels"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn a_type_shadowed_by_another_of_the_same_name_is_refused_as_pyhf_does() {
        let what = Prune { modifier_types: vec![ModifierType::Histosys], ..Prune::default() };
        let e = prune("ws.json", &ws(), &what).unwrap_err();
        assert_eq!(e.kind, SpecErrorKind::Operation);
        assert!(e.reason.starts_with("histosys is not one of the modifier types"), "{e}");
        let what = Prune { modifier_types: vec![ModifierType::Normsys], ..Prune::default() };
        let out = prune("ws.json", &ws(), &what).unwrap();
        assert_eq!(out["channels"][0]["samples"][1]["modifiers"][0]["type"], "histosys");
        // The configuration of a pruned type stays (pyhf prunes configurations by name only).
        assert_eq!(out["measurements"][0]["config"]["parameters"][0]["name"], "jes");
    }

    #[test]
    fn rename_renames_observations_configs_and_the_poi() {
        let what = Rename {
            channels: vec![("SR".into(), "SR_x".into())],
            samples: vec![("bkg".into(), "b".into())],
            modifiers: vec![("mu".into(), "nu".into()), ("jes".into(), "x".into()), ("jes".into(), "jet".into())],
            measurements: vec![("m".into(), "meas".into())],
        };
        let out = rename("ws.json", &ws(), &what).unwrap();
        assert_eq!(out["observations"][0]["name"], "SR_x");
        assert_eq!(out["channels"][1]["samples"][0]["name"], "b");
        assert_eq!(out["channels"][0]["samples"][1]["modifiers"][1]["name"], "jet");
        assert_eq!(
            out["measurements"][0],
            json!({"name": "meas", "config": {"poi": "nu", "parameters": [{"name": "jet", "inits": [0.0]}]}})
        );
    }

    #[test]
    fn unknown_names_are_errors_naming_the_closest() {
        let what = Rename { samples: vec![("bgk".into(), "x".into())], ..Rename::default() };
        let e = rename("ws.json", &ws(), &what).unwrap_err();
        assert_eq!(e.path, "channels[].samples[].name");
        assert!(e.to_string().contains("\"bgk\" is not one of the samples in this workspace; closest: bkg"), "{e}");
        let what = Prune { measurements: vec!["x".into()], ..Prune::default() };
        assert_eq!(prune("ws.json", &ws(), &what).unwrap_err().path, "measurements[].name");
    }
}
