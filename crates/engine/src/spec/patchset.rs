//! pyhf patchsets: the signal hypotheses of a search, as JSON patches to its background-only
//! workspace.
//!
//! A patchset (pyhf's `patchset.json` schema, as published on HEPData) names the workspace it
//! belongs to by digest (`metadata.digests`), the axes of the signal grid (`metadata.labels`,
//! e.g. the two masses `["m1", "m2"]`) and holds one patch per signal point, each with its name,
//! its coordinates on the grid (`metadata.values`) and RFC 6902 operations that add the signal
//! samples to the channels (and may remove channels the point does not use).
//!
//! Like pyhf's `PatchSet.apply`, a patch is applied to the whole workspace JSON.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::digest::{DigestAlgorithm, digest_with};
use super::error::{Problems, SpecError, SpecErrorKind, join_path, nested_error, path_string};
use super::load::{LoadedWorkspace, parse, read_raw};
use super::patch_limits::{PatchFailure, patch_bounded};
use super::sample_patch::apply_adding_samples;
use super::similar::closest;
use super::validate::validate_workspace;
use super::workspace::Workspace;

/// The only patchset format version pyhf knows.
pub const PATCHSET_VERSION: &str = "1.0.0";

/// Numbers in patch values closer than this (relative to their size, at least 1) are equal.
pub const VALUE_TOLERANCE: f64 = 1e-6;

/// A patchset, parsed once; patches are looked up by name or by their grid values.
#[derive(Debug, Clone)]
pub struct PatchSet {
    /// The file name, or the name given to the bytes; used in error messages.
    pub source_name: String,
    pub metadata: PatchSetMetadata,
    pub version: String,
    patches: Vec<Patch>,
    by_name: HashMap<String, usize>,
}

/// What the patchset says about itself.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PatchSetMetadata {
    /// Optional name (HEPData's pallets carry none; pyhf allows extra keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub description: String,
    /// Digests of the background-only workspace the patches were made for.
    pub digests: Digests,
    /// The axes of the signal grid, one per entry of each patch's `values`.
    pub labels: Vec<String>,
    pub references: References,
    /// Any other keys, kept as they are.
    #[serde(skip)]
    pub extra: Map<String, Value>,
}

/// `metadata.digests`: pyhf's digests of the background-only workspace.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Digests {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
}

/// `metadata.references`: where the likelihood is published.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct References {
    /// The HEPData record, `ins` and seven digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hepdata: Option<String>,
}

/// One signal point: its name, its grid values and the JSON patch operations.
///
/// The operations (the bulk of a patchset: the signal yields) are kept as JSON text and read
/// when the patch is applied, so that loading a patchset of hundreds of signal points to pick
/// one stays fast.
#[derive(Debug, Clone)]
pub struct Patch {
    /// Position in the patchset's `patches` array (for error messages: `patches[12]`).
    pub index: usize,
    pub metadata: PatchMetadata,
    /// The RFC 6902 operations (`patch` in the JSON), as written.
    operations: Box<RawValue>,
}

impl PartialEq for Patch {
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index && self.metadata == other.metadata && self.operations.get() == other.operations.get()
    }
}

/// A patch's `metadata`: name, values on the grid, and any other keys.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PatchMetadata {
    pub name: String,
    /// The point's coordinates, in the order of the patchset's labels.
    pub values: Vec<PatchValue>,
    /// Any other keys, kept as they are.
    #[serde(skip)]
    pub extra: Map<String, Value>,
}

/// One coordinate of a signal point: a number (a mass, say) or a string.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PatchValue {
    Number(serde_json::Number),
    Text(String),
}

impl Patch {
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    pub fn values(&self) -> &[PatchValue] {
        &self.metadata.values
    }

    /// The JSON text of the patch's operations, as in the patchset.
    pub fn operations_json(&self) -> &str {
        self.operations.get()
    }
}

impl PatchValue {
    /// Numbers equal within [`VALUE_TOLERANCE`]; strings exactly.
    pub fn matches(&self, other: &PatchValue) -> bool {
        match (self.as_f64(), other.as_f64()) {
            (Some(a), Some(b)) => (a - b).abs() <= VALUE_TOLERANCE * a.abs().max(b.abs()).max(1.0),
            _ => self == other,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            PatchValue::Number(n) => n.as_f64(),
            PatchValue::Text(_) => None,
        }
    }
}

impl std::fmt::Display for PatchValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PatchValue::Number(n) => write!(f, "{n}"),
            PatchValue::Text(s) => write!(f, "{s:?}"),
        }
    }
}

impl From<f64> for PatchValue {
    fn from(x: f64) -> Self {
        serde_json::Number::from_f64(x).map_or(PatchValue::Text(x.to_string()), PatchValue::Number)
    }
}

impl From<i64> for PatchValue {
    fn from(x: i64) -> Self {
        PatchValue::Number(x.into())
    }
}

impl From<&str> for PatchValue {
    fn from(s: &str) -> Self {
        PatchValue::Text(s.to_string())
    }
}

fn values_text(values: &[PatchValue]) -> String {
    let items: Vec<String> = values.iter().map(ToString::to_string).collect();
    format!("[{}]", items.join(", "))
}

impl PatchSet {
    /// Reads and checks a patchset file (`.json` or gzip-compressed).
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, SpecError> {
        let path = path.as_ref();
        let bytes = read_raw(path)?;
        Self::from_slice(&path.display().to_string(), &bytes)
    }

    /// Parses and checks a patchset from bytes; `source_name` names them in errors.
    pub fn from_slice(source_name: &str, bytes: &[u8]) -> Result<Self, SpecError> {
        let raw: RawPatchSet = parse(source_name, bytes)?;
        let patches: Vec<Patch> = raw
            .patches
            .into_iter()
            .enumerate()
            .map(|(index, p)| Patch { index, metadata: p.metadata.0, operations: p.patch })
            .collect();
        let by_name = patches.iter().map(|p| (p.metadata.name.clone(), p.index)).collect();
        let set = PatchSet {
            source_name: source_name.to_string(),
            metadata: raw.metadata.0,
            version: raw.version,
            patches,
            by_name,
        };
        set.check()?;
        Ok(set)
    }

    /// The checks of pyhf's schema and `PatchSet` constructor.
    fn check(&self) -> Result<(), SpecError> {
        let mut p = Problems::default();
        if self.version != PATCHSET_VERSION {
            p.push("version", format!("version {:?} is not supported (expected {PATCHSET_VERSION:?})", self.version));
        }
        let md = &self.metadata;
        if md.labels.is_empty() {
            p.push("metadata.labels", "a patchset needs at least one label");
        }
        for (i, label) in md.labels.iter().enumerate() {
            if !is_identifier(label) {
                p.push(
                    format!("metadata.labels[{i}]"),
                    format!("label {label:?} may only have letters, digits and underscores"),
                );
            }
        }
        match (&md.digests.sha256, &md.digests.md5) {
            (None, None) => p.push("metadata.digests", "needs a sha256 or an md5 digest"),
            (sha256, md5) => {
                if sha256.as_ref().is_some_and(|d| !is_hex(d, 64, true)) {
                    p.push("metadata.digests.sha256", "a sha256 digest is 64 hexadecimal digits");
                }
                if md5.as_ref().is_some_and(|d| !is_hex(d, 32, false)) {
                    p.push("metadata.digests.md5", "an md5 digest is 32 lower-case hexadecimal digits");
                }
            }
        }
        match &md.references.hepdata {
            None => p.push("metadata.references", "needs a reference (hepdata)"),
            Some(h) if !(h.len() == 10 && h.starts_with("ins") && h[3..].bytes().all(|b| b.is_ascii_digit())) => {
                p.push(
                    "metadata.references.hepdata",
                    format!("{h:?} is not a HEPData record id (\"ins\" and seven digits)"),
                );
            }
            Some(_) => {}
        }
        if self.patches.is_empty() {
            p.push("patches", "a patchset needs at least one patch");
        }
        let mut names: HashMap<&str, usize> = HashMap::new();
        for patch in &self.patches {
            let path = format!("patches[{}].metadata", patch.index);
            let name = patch.name();
            if !is_identifier(name) {
                p.push(
                    format!("{path}.name"),
                    format!("patch name {name:?} may only have letters, digits and underscores"),
                );
            }
            if let Some(first) = names.insert(name, patch.index) {
                names.insert(name, first);
                p.push(format!("{path}.name"), format!("patch {name:?} is already defined at patches[{first}]"));
            }
            if patch.values().len() != md.labels.len() {
                p.push(
                    format!("{path}.values"),
                    format!(
                        "{} values for the {} labels {}",
                        patch.values().len(),
                        md.labels.len(),
                        md.labels.join(", ")
                    ),
                );
            } else if let Some(other) = self.patches[..patch.index].iter().find(|q| q.values() == patch.values()) {
                p.push(
                    format!("{path}.values"),
                    format!(
                        "values {} are already those of patches[{}] ({})",
                        values_text(patch.values()),
                        other.index,
                        other.name()
                    ),
                );
            }
        }
        p.into_result(SpecErrorKind::Invalid, &self.source_name)
    }

    pub fn patches(&self) -> &[Patch] {
        &self.patches
    }

    pub fn len(&self) -> usize {
        self.patches.len()
    }

    pub fn is_empty(&self) -> bool {
        self.patches.is_empty()
    }

    pub fn labels(&self) -> &[String] {
        &self.metadata.labels
    }

    /// The patches' names, in the patchset's order.
    pub fn patch_names(&self) -> Vec<&str> {
        self.patches.iter().map(Patch::name).collect()
    }

    /// The patch of that name; an unknown name is an error listing the closest names.
    pub fn get(&self, name: &str) -> Result<&Patch, SpecError> {
        if let Some(&i) = self.by_name.get(name) {
            return Ok(&self.patches[i]);
        }
        let suggestions = closest(name, self.patches.iter().map(Patch::name), 5);
        Err(SpecError::new(
            SpecErrorKind::UnknownPatch,
            &self.source_name,
            "patches",
            format!(
                "no patch named {name:?} among its {} patches; closest: {}",
                self.patches.len(),
                suggestions.join(", ")
            ),
        ))
    }

    /// The patch a user names, as pyhf's `patchset[key]` finds it: by its name, or by its
    /// values written comma-separated (`1000,0` for a patch with values `[1000, 0]`; numbers
    /// compared within [`VALUE_TOLERANCE`], other items as text).
    pub fn find(&self, key: &str) -> Result<&Patch, SpecError> {
        if self.by_name.contains_key(key) {
            return self.get(key);
        }
        let values: Vec<PatchValue> = key
            .split(',')
            .map(str::trim)
            .map(|item| match item.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
                Some(n) => PatchValue::Number(n),
                None => PatchValue::Text(item.to_string()),
            })
            .collect();
        let looks_like_values = key.contains(',') || values.iter().all(|v| v.as_f64().is_some());
        if looks_like_values { self.by_values(&values) } else { self.get(key) }
    }

    /// The patch at those grid values (numbers compared within [`VALUE_TOLERANCE`]).
    pub fn by_values(&self, values: &[PatchValue]) -> Result<&Patch, SpecError> {
        let found: Vec<&Patch> = self
            .patches
            .iter()
            .filter(|p| p.values().len() == values.len() && p.values().iter().zip(values).all(|(a, b)| a.matches(b)))
            .collect();
        match found.as_slice() {
            [patch] => Ok(patch),
            [] => {
                let mut near: Vec<(f64, &Patch)> =
                    self.patches.iter().map(|p| (value_distance(p.values(), values), p)).collect();
                near.sort_by(|a, b| a.0.total_cmp(&b.0));
                let near: Vec<String> =
                    near.iter().take(3).map(|(_, p)| format!("{} {}", p.name(), values_text(p.values()))).collect();
                Err(SpecError::new(
                    SpecErrorKind::UnknownPatch,
                    &self.source_name,
                    "patches",
                    format!(
                        "no patch with values {} (labels {}); closest: {}",
                        values_text(values),
                        self.labels().join(", "),
                        near.join(", ")
                    ),
                ))
            }
            several => Err(SpecError::new(
                SpecErrorKind::UnknownPatch,
                &self.source_name,
                "patches",
                format!(
                    "values {} match several patches: {}",
                    values_text(values),
                    several.iter().map(|p| p.name()).collect::<Vec<_>>().join(", ")
                ),
            )),
        }
    }

    /// Checks that `workspace` is the background-only workspace the patchset was made for,
    /// as pyhf's `PatchSet.verify` does: every recorded digest must match.
    pub fn verify_digest(&self, workspace: &Value) -> Result<(), SpecError> {
        self.verify_digest_knowing(workspace, None)
    }

    /// As [`PatchSet::verify_digest`], with the workspace's sha256 digest when already known.
    pub(crate) fn verify_digest_knowing(&self, workspace: &Value, sha256: Option<&str>) -> Result<(), SpecError> {
        let recorded = [
            (DigestAlgorithm::Sha256, &self.metadata.digests.sha256),
            (DigestAlgorithm::Md5, &self.metadata.digests.md5),
        ];
        for (algorithm, expected) in recorded {
            let Some(expected) = expected else { continue };
            let actual = match (algorithm, sha256) {
                (DigestAlgorithm::Sha256, Some(known)) => known.to_string(),
                _ => digest_with(workspace, algorithm),
            };
            if !actual.eq_ignore_ascii_case(expected) {
                return Err(SpecError::new(
                    SpecErrorKind::DigestMismatch,
                    &self.source_name,
                    format!("metadata.digests.{}", algorithm.name()),
                    format!("workspace digest is {actual} but the patchset was made for {expected}"),
                ));
            }
        }
        Ok(())
    }

    /// The patch's RFC 6902 operations, read from the patchset's JSON.
    pub fn operations(&self, patch: &Patch) -> Result<json_patch::Patch, SpecError> {
        let mut de = serde_json::Deserializer::from_str(patch.operations.get());
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let inner_path = path_string(e.path());
            let inner = e.into_inner();
            // serde_json's position is within the patch's text: of no use to the reader.
            let mut reason = inner.to_string();
            if inner.line() > 0
                && let Some(at) = reason.rfind(" at line ")
            {
                reason.truncate(at);
            }
            SpecError::new(
                SpecErrorKind::Format,
                &self.source_name,
                join_path(&format!("patches[{}].patch", patch.index), &inner_path),
                reason,
            )
        })
    }

    /// The workspace JSON with the patch applied (not checked: see [`PatchSet::apply`]).
    ///
    /// Errors name the patch and the operation: `patches[12].patch[3]: path
    /// /channels/9/samples/- does not exist`.
    pub fn patched_value(&self, workspace: &Value, patch: &Patch) -> Result<Value, SpecError> {
        let operations = self.operations(patch)?;
        let mut doc = workspace.clone();
        patch_bounded(&mut doc, &operations).map_err(|failure| {
            let e = match failure {
                PatchFailure::Operation(e) => e,
                PatchFailure::TooLarge { operation, reason } => {
                    return SpecError::new(
                        SpecErrorKind::Patch,
                        &self.source_name,
                        format!("patches[{}].patch[{operation}]", patch.index),
                        format!("{reason} (patch {})", patch.name()),
                    );
                }
            };
            let op = operations.0.get(e.operation);
            let from = op.and_then(|op| match op {
                json_patch::PatchOperation::Move(m) => Some(m.from.to_string()),
                json_patch::PatchOperation::Copy(c) => Some(c.from.to_string()),
                _ => None,
            });
            let reason = match (&e.kind, from) {
                (json_patch::PatchErrorKind::InvalidPointer, _) => {
                    format!("path {} does not exist in the workspace", e.path)
                }
                (json_patch::PatchErrorKind::InvalidFromPointer, Some(from)) => {
                    format!("from path {from} does not exist in the workspace")
                }
                (json_patch::PatchErrorKind::TestFailed, _) => {
                    format!("test failed: the workspace has another value at {}", e.path)
                }
                (kind, _) => format!("{kind} (path {})", e.path),
            };
            SpecError::new(
                SpecErrorKind::Patch,
                &self.source_name,
                format!("patches[{}].patch[{}]", patch.index, e.operation),
                format!("{reason} (patch {})", patch.name()),
            )
        })?;
        Ok(doc)
    }

    /// Applies the patch to the workspace JSON, then types and validates the result.
    ///
    /// The digest is not checked here (pyhf's `PatchSet.apply` does both): call
    /// [`PatchSet::verify_digest`] once for the workspace, or use
    /// [`PatchedWorkspace::new`](super::PatchedWorkspace::new).
    pub fn apply(&self, workspace: &Value, patch: &Patch) -> Result<Workspace, SpecError> {
        let patched = self.patched_value(workspace, patch)?;
        self.check_patched(workspace, &patched, patch)
    }

    /// [`PatchSet::apply`] to a loaded workspace, the same result: a patch that only adds
    /// samples (every published signal patch) is applied to the typed workspace, the others
    /// to its JSON (see `sample_patch.rs`).
    pub fn apply_to(&self, background: &LoadedWorkspace, patch: &Patch) -> Result<Workspace, SpecError> {
        if let Ok(operations) = self.operations(patch)
            && let Some(result) = apply_adding_samples(&background.workspace, &operations, &self.patched_source(patch))
        {
            return result;
        }
        self.apply(&background.value, patch)
    }

    /// How a patched workspace is named in errors.
    fn patched_source(&self, patch: &Patch) -> String {
        format!("workspace patched with {} ({} patches[{}])", patch.name(), self.source_name, patch.index)
    }

    /// Types and validates a patched workspace; observations of channels the patch removed
    /// may remain (pyhf ignores them).
    pub(crate) fn check_patched(
        &self,
        original: &Value,
        patched: &Value,
        patch: &Patch,
    ) -> Result<Workspace, SpecError> {
        check_patched_workspace(&self.patched_source(patch), original, patched)
    }
}

/// Types and validates a patched workspace as [`PatchSet::apply`] does: observations of
/// channels the patch removed may remain (pyhf ignores them).
pub fn check_patched_workspace(source: &str, original: &Value, patched: &Value) -> Result<Workspace, SpecError> {
    let ws = Workspace::from_value_unchecked(source, patched)?;
    let kept: HashSet<&str> = ws.channels.iter().map(|c| c.name.as_str()).collect();
    let removed: HashSet<&str> = channel_names(original).filter(|n| !kept.contains(n)).collect();
    validate_workspace(&ws, source, &removed)?;
    Ok(ws)
}

/// Apply one patch given by its name and its RFC 6902 operations (JSON text, as tasks carry
/// them) to a loaded workspace, and type and validate the result like [`PatchSet::apply_to`].
pub fn apply_operations(
    source_name: &str,
    background: &LoadedWorkspace,
    patch_name: &str,
    operations: &str,
) -> Result<Workspace, SpecError> {
    let bad = |reason: String| {
        SpecError::new(SpecErrorKind::Patch, source_name, "patch", format!("{reason} (patch {patch_name})"))
    };
    let ops: json_patch::Patch =
        serde_json::from_str(operations).map_err(|e| bad(format!("operations are not RFC 6902 JSON Patch: {e}")))?;
    let patched_source = format!("{source_name} patched with {patch_name}");
    if let Some(result) = apply_adding_samples(&background.workspace, &ops, &patched_source) {
        return result;
    }
    let mut doc = background.value.clone();
    patch_bounded(&mut doc, &ops).map_err(|failure| match failure {
        PatchFailure::Operation(e) => bad(format!("operation {}: {} (path {})", e.operation, e.kind, e.path)),
        PatchFailure::TooLarge { operation, reason } => bad(format!("operation {operation}: {reason}")),
    })?;
    check_patched_workspace(&patched_source, &background.value, &doc)
}

/// The channel names in a workspace's JSON.
fn channel_names(workspace: &Value) -> impl Iterator<Item = &str> {
    workspace
        .get("channels")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str))
}

fn value_distance(a: &[PatchValue], b: &[PatchValue]) -> f64 {
    if a.len() != b.len() {
        return f64::INFINITY;
    }
    a.iter()
        .zip(b)
        .map(|(x, y)| match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => (x - y).powi(2),
            _ if x == y => 0.0,
            _ => f64::INFINITY,
        })
        .sum()
}

/// pyhf's pattern for labels and patch names: `^[a-zA-Z0-9_]+$`.
fn is_identifier(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn is_hex(s: &str, len: usize, upper_allowed: bool) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || (upper_allowed && (b'A'..=b'F').contains(&b)))
}

/// The patchset as written in JSON.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPatchSet {
    metadata: PatchSetMetadataWithExtra,
    patches: Vec<RawPatch>,
    version: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPatch {
    metadata: PatchMetadataWithExtra,
    patch: Box<RawValue>,
}

/// Reads an object of which some keys are known and the others kept: the known part is read
/// with paths kept for errors (serde's `flatten` would lose them).
fn read_with_extra<T: de::DeserializeOwned, E: de::Error>(
    mut map: Map<String, Value>,
    known: &[&str],
) -> Result<(T, Map<String, Value>), E> {
    let mut extra = Map::new();
    let keys: Vec<String> = map.keys().filter(|k| !known.contains(&k.as_str())).cloned().collect();
    for k in keys {
        if let Some(v) = map.remove(&k) {
            extra.insert(k, v);
        }
    }
    let value = Value::Object(map);
    let known: T = serde_path_to_error::deserialize(&value)
        .map_err(|e| E::custom(nested_error(&path_string(e.path()), e.into_inner())))?;
    Ok((known, extra))
}

struct PatchSetMetadataWithExtra(PatchSetMetadata);
struct PatchMetadataWithExtra(PatchMetadata);

impl<'de> Deserialize<'de> for PatchSetMetadataWithExtra {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = Map::deserialize(d)?;
        let (mut md, extra): (PatchSetMetadata, _) =
            read_with_extra(map, &["name", "description", "digests", "labels", "references"])?;
        md.extra = extra;
        Ok(PatchSetMetadataWithExtra(md))
    }
}

impl<'de> Deserialize<'de> for PatchMetadataWithExtra {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = Map::deserialize(d)?;
        let (mut md, extra): (PatchMetadata, _) = read_with_extra(map, &["name", "values"])?;
        md.extra = extra;
        Ok(PatchMetadataWithExtra(md))
    }
}

impl<'de> Deserialize<'de> for PatchValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Number(n) => Ok(PatchValue::Number(n)),
            Value::String(s) => Ok(PatchValue::Text(s)),
            other => Err(de::Error::custom(format!("a patch value is a number or a string, not {other}"))),
        }
    }
}
