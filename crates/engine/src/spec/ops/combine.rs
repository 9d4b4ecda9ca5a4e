//! pyhf's `Workspace.combine`: two workspaces into one, by channels, observations and
//! measurements, with pyhf's four join modes.
//!
//! - `none`: every item of both; the two may share no channel, observation or measurement name;
//! - `outer`: items of the second that are not equal (Python's `==`) to one of the first are
//!   added; a name then used twice is an error; measurements of one name are merged when their
//!   POI agree, their parameter configurations joined the same way;
//! - `left outer` / `right outer`: the first (second) workspace's items, plus those of the other
//!   whose name it lacks (pyhf warns these silence the conflicts `outer` reports);
//! - `merge_channels` (not with `none`): a channel of both keeps the primary's samples plus the
//!   other's samples of new names.

use std::fmt;

use serde_json::{Map, Value, json};

use super::super::error::{SpecError, SpecErrorKind};
use super::{items, name_of, py_eq, quoted};

/// How two workspaces are joined (pyhf's `Workspace.valid_joins`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Join {
    None,
    Outer,
    LeftOuter,
    RightOuter,
}

impl Join {
    pub const ALL: [Join; 4] = [Join::None, Join::Outer, Join::LeftOuter, Join::RightOuter];

    /// pyhf's name: `none`, `outer`, `left outer`, `right outer`.
    pub fn as_str(self) -> &'static str {
        match self {
            Join::None => "none",
            Join::Outer => "outer",
            Join::LeftOuter => "left outer",
            Join::RightOuter => "right outer",
        }
    }

    pub fn from_name(name: &str) -> Option<Join> {
        Join::ALL.into_iter().find(|j| j.as_str() == name)
    }
}

impl fmt::Display for Join {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The combination of two workspaces (JSON), as pyhf's `Workspace.combine(left, right, join,
/// merge_channels)` makes it; not yet checked against the schema (see
/// [`Checked`](super::Checked)). Errors name `source_name` (the two files, say).
pub fn combine(
    source_name: &str,
    left: &Value,
    right: &Value,
    join: Join,
    merge_channels: bool,
) -> Result<Value, SpecError> {
    let err = |path: &str, reason: String| SpecError::new(SpecErrorKind::Operation, source_name, path, reason);
    if merge_channels && join == Join::None {
        return Err(SpecError::new(
            SpecErrorKind::Usage,
            source_name,
            "",
            "channels can only be merged with the join \"outer\", \"left outer\" or \"right outer\", not \"none\"",
        ));
    }
    let (lv, rv) = (left.get("version"), right.get("version"));
    if lv != rv {
        return Err(err("version", format!("workspaces of different versions cannot be combined: {lv:?} != {rv:?}")));
    }
    let channels =
        join_items(join, items(left, "channels"), items(right, "channels"), merge_channels.then_some("samples"));
    check_names(join, "channels", items(left, "channels"), items(right, "channels"), &channels)
        .map_err(|r| err("channels", r))?;
    let observations = join_items(join, items(left, "observations"), items(right, "observations"), None);
    check_names(join, "observations", items(left, "observations"), items(right, "observations"), &observations)
        .map_err(|r| err("observations", r))?;
    let measurements = join_measurements(join, items(left, "measurements"), items(right, "measurements"))
        .map_err(|r| err("measurements", r))?;
    let mut out = Map::new();
    out.insert("channels".into(), Value::Array(channels));
    out.insert("measurements".into(), Value::Array(measurements));
    out.insert("observations".into(), Value::Array(observations));
    out.insert("version".into(), lv.cloned().unwrap_or(Value::Null));
    Ok(Value::Object(out))
}

/// pyhf's `_join_items`: the primary's items, then those of the other as the join says; with
/// `deep_merge_key`, an item of a name the primary has gets that list joined `left outer`.
fn join_items(join: Join, left: &[Value], right: &[Value], deep_merge_key: Option<&str>) -> Vec<Value> {
    let (primary, secondary) = if join == Join::RightOuter { (right, left) } else { (left, right) };
    let mut joined: Vec<Value> = primary.to_vec();
    // The primary's names, as they were before anything was added.
    let keys: Vec<String> = joined.iter().map(|i| name_of(i).to_string()).collect();
    for item in secondary {
        let position = keys.iter().position(|k| k == name_of(item));
        if let (Some(key), Some(i)) = (deep_merge_key, position) {
            let merged = join_items(Join::LeftOuter, super::items(&joined[i], key), super::items(item, key), None);
            joined[i][key] = Value::Array(merged);
        } else if match join {
            Join::None => true,
            Join::Outer => !primary.iter().any(|p| py_eq(p, item)),
            Join::LeftOuter | Join::RightOuter => position.is_none(),
        } {
            joined.push(item.clone());
        }
    }
    joined
}

/// pyhf's checks after joining channels or observations: no name in common with `none`, no
/// name twice after `outer`.
fn check_names(join: Join, what: &str, left: &[Value], right: &[Value], joined: &[Value]) -> Result<(), String> {
    match join {
        Join::None => {
            let mut common: Vec<&str> =
                left.iter().map(name_of).filter(|n| right.iter().any(|r| name_of(r) == *n)).collect();
            common.sort_unstable();
            common.dedup();
            if !common.is_empty() {
                return Err(format!(
                    "the workspaces have {what} of the same name in common: {} (join \"none\"; try \"outer\", \
                     \"left outer\" or \"right outer\")",
                    quoted(common)
                ));
            }
        }
        Join::Outer => {
            let twice = repeated(joined);
            if !twice.is_empty() {
                return Err(format!(
                    "the workspaces have {what} of the same name but different content: {} (join \"outer\"; \
                     \"left outer\" or \"right outer\" keep one side's)",
                    quoted(twice)
                ));
            }
        }
        Join::LeftOuter | Join::RightOuter => {}
    }
    Ok(())
}

/// Names used more than once, in order of first use.
fn repeated(items: &[Value]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let name = name_of(item);
        if !out.contains(&name) && items[..i].iter().any(|p| name_of(p) == name) {
            out.push(name);
        }
    }
    out
}

/// pyhf's `_join_measurements`: joined as items; with `outer`, measurements of one name must
/// have the same POI and are merged, their parameter configurations joined `outer`.
fn join_measurements(join: Join, left: &[Value], right: &[Value]) -> Result<Vec<Value>, String> {
    let joined = join_items(join, left, right, None);
    match join {
        Join::None => {
            check_names(join, "measurements", left, right, &joined)?;
            Ok(joined)
        }
        Join::Outer => {
            // Name -> its measurements, in order of first appearance.
            let mut groups: Vec<(String, Vec<&Value>)> = Vec::new();
            for m in &joined {
                match groups.iter_mut().find(|(n, _)| n == name_of(m)) {
                    Some((_, list)) => list.push(m),
                    None => groups.push((name_of(m).to_string(), vec![m])),
                }
            }
            let poi = |m: &Value| m.pointer("/config/poi").cloned().unwrap_or(Value::Null);
            let conflicting: Vec<&str> = groups
                .iter()
                .filter(|(_, list)| list.iter().any(|m| !py_eq(&poi(m), &poi(list[0]))))
                .map(|(n, _)| n.as_str())
                .collect();
            if !conflicting.is_empty() {
                return Err(format!(
                    "the workspaces have measurements of the same name with different POIs: {}",
                    quoted(conflicting)
                ));
            }
            groups
                .iter()
                .map(|(name, list)| {
                    if list.len() == 1 {
                        return Ok(list[0].clone());
                    }
                    let mut parameters = parameters_of(list[0]).to_vec();
                    for m in &list[1..] {
                        parameters = join_parameter_configs(name, &parameters, parameters_of(m))?;
                    }
                    Ok(json!({"name": name, "config": {"poi": poi(list[0]), "parameters": parameters}}))
                })
                .collect()
        }
        Join::LeftOuter | Join::RightOuter => Ok(joined),
    }
}

fn parameters_of(measurement: &Value) -> &[Value] {
    measurement.pointer("/config/parameters").and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// pyhf's `_join_parameter_configs`: joined `outer`; a parameter configured differently on the
/// two sides is an error.
fn join_parameter_configs(measurement: &str, left: &[Value], right: &[Value]) -> Result<Vec<Value>, String> {
    let joined = join_items(Join::Outer, left, right, None);
    let twice = repeated(&joined);
    if !twice.is_empty() {
        return Err(format!(
            "measurement {measurement:?} configures parameters differently in the two workspaces: {} (join \
             \"outer\"; \"left outer\" or \"right outer\" keep one side's)",
            quoted(twice)
        ));
    }
    Ok(joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws(channel: &str, sample: &str, obs: i64, poi: &str, lumi_sigma: f64) -> Value {
        json!({
            "channels": [{"name": channel, "samples": [{"name": sample, "data": [1], "modifiers": []}]}],
            "observations": [{"name": channel, "data": [obs]}],
            "measurements": [{"name": "meas", "config": {"poi": poi, "parameters": [
                {"name": "lumi", "sigmas": [lumi_sigma]}
            ]}}],
            "version": "1.0.0"
        })
    }

    fn names(v: &Value, field: &str) -> Vec<String> {
        items(v, field).iter().map(|i| name_of(i).to_string()).collect()
    }

    #[test]
    fn join_none_refuses_shared_names_and_keeps_all_else() {
        let a = ws("SR", "b", 1, "mu", 0.02);
        let e = combine("a+b", &a, &a, Join::None, false).unwrap_err();
        assert_eq!((e.kind, e.path.as_str()), (SpecErrorKind::Operation, "channels"));
        assert!(e.reason.contains("\"SR\""), "{e}");
        let b = ws("CR", "b", 1, "mu", 0.02);
        let e = combine("a+b", &a, &b, Join::None, false).unwrap_err();
        assert_eq!(e.path, "measurements", "{e}");
        let e = combine("a+b", &a, &b, Join::None, true).unwrap_err();
        assert_eq!(e.kind, SpecErrorKind::Usage);
    }

    #[test]
    fn outer_dedupes_equal_items_and_merges_measurements() {
        let a = ws("SR", "b", 1, "mu", 0.02);
        let mut a_float = a.clone();
        a_float["observations"][0]["data"] = json!([1.0]);
        // Equal as Python sees it (1 == 1.0): nothing is added.
        assert_eq!(combine("x", &a, &a_float, Join::Outer, false).unwrap(), a);
        let b = ws("CR", "b", 1, "mu", 0.02);
        let both = combine("x", &a, &b, Join::Outer, false).unwrap();
        assert_eq!(names(&both, "channels"), ["SR", "CR"]);
        assert_eq!(names(&both, "measurements"), ["meas"]);
        let other_poi = ws("CR", "b", 1, "nu", 0.02);
        let e = combine("x", &a, &other_poi, Join::Outer, false).unwrap_err();
        assert!(e.reason.contains("different POIs: \"meas\""), "{e}");
        let other_config = ws("CR", "b", 1, "mu", 0.05);
        let e = combine("x", &a, &other_config, Join::Outer, false).unwrap_err();
        assert!(e.reason.contains("differently in the two workspaces: \"lumi\""), "{e}");
        let other_data = ws("SR", "b", 2, "mu", 0.02);
        let e = combine("x", &a, &other_data, Join::Outer, false).unwrap_err();
        assert_eq!(e.path, "observations", "{e}");
    }

    #[test]
    fn left_and_right_outer_keep_one_side_and_merge_samples() {
        let a = ws("SR", "b", 1, "mu", 0.02);
        let b = ws("SR", "s", 2, "nu", 0.05);
        assert_eq!(combine("x", &a, &b, Join::LeftOuter, false).unwrap(), a);
        assert_eq!(combine("x", &a, &b, Join::RightOuter, false).unwrap(), b);
        let merged = combine("x", &a, &b, Join::RightOuter, true).unwrap();
        let samples: Vec<&str> = items(&merged["channels"][0], "samples").iter().map(name_of).collect();
        assert_eq!(samples, ["s", "b"]);
        assert_eq!(merged["observations"], b["observations"]);
        assert_eq!(Join::from_name("left outer"), Some(Join::LeftOuter));
    }
}
