//! What pyhf's `Workspace(spec)` checks of a workspace an operation made: its JSON schema.
//!
//! pyhf's operations accept and return any workspace its schema allows; fitfleet's own
//! validation ([`Workspace::validate`]) also refuses what pyhf only refuses when it builds the
//! model (a sample name used twice in a channel, an observation of no channel, ...). So an
//! operation's result is an error only where pyhf's schema refuses it, and the further problems
//! come with it as warnings: pyhf reads such a workspace back but cannot fit it.

use std::collections::HashSet;

use serde_json::Value;

use super::super::error::{Problems, SpecError, SpecErrorKind};
use super::super::validate::{check_version_and_lists, validate_workspace};
use super::super::workspace::{ModifierKind, Workspace};

/// A workspace as pyhf's schema accepts it: its JSON, typed, and what else fitfleet would
/// refuse in it.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The JSON, numbers as written.
    pub value: Value,
    pub workspace: Workspace,
    /// Problems beyond pyhf's schema (pyhf reads the workspace, but cannot build its model).
    pub warnings: Option<SpecError>,
}

impl Checked {
    /// Checks `value` against pyhf's workspace schema (an error names `source_name`, the path
    /// and the reason), and collects fitfleet's further problems as warnings.
    pub fn new(source_name: &str, value: Value) -> Result<Self, SpecError> {
        Self::with_removed(source_name, value, &HashSet::new())
    }

    /// [`Checked::new`] for a patched workspace: observations of the channels the patch removed
    /// are no problem (pyhf ignores them).
    pub(crate) fn with_removed(source_name: &str, value: Value, removed: &HashSet<&str>) -> Result<Self, SpecError> {
        let workspace = Workspace::from_value_unchecked(source_name, &value)?;
        let mut p = Problems::default();
        schema_problems(&workspace, &mut p);
        p.into_result(SpecErrorKind::Invalid, source_name)?;
        let warnings = validate_workspace(&workspace, source_name, removed).err();
        Ok(Checked { value, workspace, warnings })
    }
}

/// pyhf's schema beyond the types (which typing the workspace checks): non-empty lists, the
/// version, `lumi`'s name.
fn schema_problems(ws: &Workspace, p: &mut Problems) {
    check_version_and_lists(ws, p);
    for (c, channel) in ws.channels.iter().enumerate() {
        if channel.samples.is_empty() {
            p.push(format!("channels[{c}].samples"), format!("channel {:?} has no samples left", channel.name));
        }
        for (s, sample) in channel.samples.iter().enumerate() {
            if sample.data.is_empty() {
                p.push(format!("channels[{c}].samples[{s}].data"), "a sample needs at least one bin");
            }
            for (m, modifier) in sample.modifiers.iter().enumerate() {
                if matches!(modifier.kind, ModifierKind::Lumi) && modifier.name != "lumi" {
                    p.push(
                        format!("channels[{c}].samples[{s}].modifiers[{m}].name"),
                        format!("a lumi modifier must be named \"lumi\" (pyhf's schema), not {:?}", modifier.name),
                    );
                }
            }
        }
    }
    for (o, obs) in ws.observations.iter().enumerate() {
        if obs.data.is_empty() {
            p.push(format!("observations[{o}].data"), "an observation needs at least one bin");
        }
    }
    for (i, measurement) in ws.measurements.iter().enumerate() {
        for (j, config) in measurement.config.parameters.iter().enumerate() {
            let lists = [
                ("inits", config.inits.as_ref().map(Vec::len)),
                ("bounds", config.bounds.as_ref().map(Vec::len)),
                ("auxdata", config.auxdata.as_ref().map(Vec::len)),
                ("factors", config.factors.as_ref().map(Vec::len)),
                ("sigmas", config.sigmas.as_ref().map(Vec::len)),
            ];
            for (field, len) in lists {
                if len == Some(0) {
                    p.push(
                        format!("measurements[{i}].config.parameters[{j}].{field}"),
                        format!("{field} needs at least one value"),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ws() -> Value {
        json!({
            "channels": [{"name": "SR", "samples": [
                {"name": "b", "data": [1], "modifiers": [{"name": "lumi", "type": "lumi", "data": null}]},
                {"name": "b", "data": [2], "modifiers": []}
            ]}],
            "observations": [{"name": "SR", "data": [3]}],
            "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": [
                {"name": "lumi", "auxdata": [1.0], "sigmas": [0.02], "bounds": [[0.9, 1.1]], "inits": [1.0]}
            ]}}],
            "version": "1.0.0"
        })
    }

    #[test]
    fn what_pyhf_accepts_passes_with_fitfleets_problems_as_warnings() {
        let checked = Checked::new("ws.json", ws()).unwrap();
        let warnings = checked.warnings.expect("a sample name used twice").to_string();
        assert!(warnings.contains("channels[0].samples[1].name"), "{warnings}");
    }

    #[test]
    fn what_pyhfs_schema_refuses_is_an_error_naming_the_place() {
        let mut v = ws();
        v["channels"][0]["samples"][0]["modifiers"][0]["name"] = json!("luminosity");
        v["channels"][0]["samples"][1]["data"] = json!([]);
        let e = Checked::new("renamed.json", v).unwrap_err();
        assert_eq!(e.kind, SpecErrorKind::Invalid);
        let text = e.to_string();
        assert!(
            text.contains("renamed.json: channels[0].samples[0].modifiers[0].name: a lumi modifier must be named"),
            "{text}"
        );
        assert!(text.contains("channels[0].samples[1].data: a sample needs at least one bin"), "{text}");
        let mut v = ws();
        v["channels"] = json!([]);
        assert!(Checked::new("x", v).unwrap_err().to_string().contains("x: channels: a workspace needs"));
    }
}
