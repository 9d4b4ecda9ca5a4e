//! Signal patches applied to the typed workspace.
//!
//! A published patchset (pyhf's, HistFitter's) adds one signal sample to some channels and
//! does nothing else: `[{"op": "add", "path": "/channels/3/samples/-", "value": {...}}, ...]`.
//! Patching the JSON document means copying the whole background workspace, then typing and
//! validating it again, for every patch; for the 1Lbb pallet that was most of a model's
//! compile time. A patch of that shape is applied here instead, by typing only the added
//! samples and inserting them into a copy of the typed background, with the same meaning as
//! RFC 6902 (`-` appends, an index inserts before the sample at it). Every other patch, and one
//! whose path or sample this does not take as it is, goes the general way, which also names
//! the error: [`added_samples`] only decides whether the short way applies.

use std::collections::HashSet;

use json_patch::PatchOperation;
use serde::Deserialize;

use super::error::SpecError;
use super::validate::validate_workspace;
use super::workspace::{Sample, Workspace};

/// The patch applied the short way and the result validated (errors named after `source`),
/// or `None` when the patch must go the general way.
pub(crate) fn apply_adding_samples(
    ws: &Workspace,
    ops: &json_patch::Patch,
    source: &str,
) -> Option<Result<Workspace, SpecError>> {
    let patched = added_samples(ws, ops)?;
    // A patch that only adds samples removes no channel.
    Some(validate_workspace(&patched, source, &HashSet::new()).map(|()| patched))
}

/// `ws` with the patch's samples added, when every operation adds a well-formed sample to an
/// existing channel at a valid position; `None` when the patch must go the general way. The
/// result is not validated.
fn added_samples(ws: &Workspace, ops: &json_patch::Patch) -> Option<Workspace> {
    let mut patched = ws.clone();
    for op in &ops.0 {
        let PatchOperation::Add(add) = op else { return None };
        let (channel, position) = sample_position(add.path.as_str())?;
        let samples = &mut patched.channels.get_mut(channel)?.samples;
        let at = match position {
            None => samples.len(),
            Some(i) if i <= samples.len() => i,
            Some(_) => return None,
        };
        let sample = Sample::deserialize(&add.value).ok()?;
        samples.insert(at, sample);
    }
    Some(patched)
}

/// `/channels/<c>/samples/<i>` or `/channels/<c>/samples/-`: the channel index and the
/// position (`None` for the end).
fn sample_position(pointer: &str) -> Option<(usize, Option<usize>)> {
    let mut parts = pointer.strip_prefix('/')?.split('/');
    let (Some("channels"), Some(c), Some("samples"), Some(i), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let position = if i == "-" { None } else { Some(array_index(i)?) };
    Some((array_index(c)?, position))
}

/// An array index as RFC 6901 writes it: decimal digits without a leading zero.
fn array_index(token: &str) -> Option<usize> {
    let canonical = token == "0" || (!token.starts_with('0') && !token.is_empty());
    if canonical && token.bytes().all(|b| b.is_ascii_digit()) { token.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_positions_as_rfc_6901_writes_them() {
        assert_eq!(sample_position("/channels/3/samples/-"), Some((3, None)));
        assert_eq!(sample_position("/channels/0/samples/12"), Some((0, Some(12))));
        for other in [
            "/channels/3/samples",
            "/channels/3/samples/-/name",
            "/channels/03/samples/-",
            "/channels/-/samples/-",
            "/channels/1/samples/+1",
            "/observations/0/data/-",
            "channels/0/samples/-",
            "",
        ] {
            assert_eq!(sample_position(other), None, "{other}");
        }
    }
}
