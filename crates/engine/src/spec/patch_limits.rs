//! Applying RFC 6902 operations with bounds, so that a small patch cannot make a huge or
//! absurdly deep document.
//!
//! `copy` duplicates a value of the document: `[{"op": "copy", "from": "", "path": "/a"},
//! {"op": "copy", "from": "", "path": "/b"}, ...]` doubles the document with every operation,
//! so thirty operations (a kilobyte of JSON) would ask for 2^30 times the workspace's memory
//! (see docs/security.md). Here the values copied by one patch may hold in all at
//! most as many JSON values as the workspace itself, plus [`COPY_ALLOWANCE`]: a patched
//! workspace stays within about twice the workspace and the patch's own size. Pointers may
//! have at most [`MAX_POINTER_DEPTH`] parts, which bounds the depth of the result (the values a
//! patch adds are at most 128 deep: serde_json's recursion limit).

use serde_json::Value;

/// JSON values that a patch may copy beyond the size of the workspace it patches.
pub const COPY_ALLOWANCE: u64 = 100_000;

/// The most parts a JSON pointer of a patch may have (a workspace's deepest is about 7).
pub const MAX_POINTER_DEPTH: usize = 64;

/// Why a patch was not applied.
#[derive(Debug)]
pub(crate) enum PatchFailure {
    /// An operation failed as RFC 6902 says (missing path, failed test, ...).
    Operation(json_patch::PatchError),
    /// An operation would exceed a bound; the reason says which.
    TooLarge { operation: usize, reason: String },
}

/// Applies `ops` to `doc` in order, as `json_patch::patch_unsafe` does (on error, `doc` is
/// left part-patched), within the bounds above.
pub(crate) fn patch_bounded(doc: &mut Value, ops: &json_patch::Patch) -> Result<(), PatchFailure> {
    use json_patch::PatchOperation as Op;
    let mut copy_budget = count_values(doc, u64::MAX).saturating_add(COPY_ALLOWANCE);
    for (i, op) in ops.0.iter().enumerate() {
        let too_large = |reason: String| PatchFailure::TooLarge { operation: i, reason };
        let from = match op {
            Op::Move(m) => Some(&m.from),
            Op::Copy(c) => Some(&c.from),
            _ => None,
        };
        let depths = [from.map_or(0, |p| p.count()), op.path().count()];
        for depth in depths {
            if depth > MAX_POINTER_DEPTH {
                return Err(too_large(format!("pointer with {depth} parts (at most {MAX_POINTER_DEPTH})")));
            }
        }
        if let Op::Copy(c) = op
            && let Some(value) = doc.pointer(c.from.as_str())
        {
            let n = count_values(value, copy_budget);
            if n > copy_budget {
                return Err(too_large(format!(
                    "copying {} would make the workspace too large (a patch may copy at most \
                     as many JSON values as the workspace holds, plus {COPY_ALLOWANCE})",
                    if c.from.as_str().is_empty() { "the whole document" } else { c.from.as_str() }
                )));
            }
            copy_budget -= n;
        }
        json_patch::patch_unsafe(doc, std::slice::from_ref(op)).map_err(|mut e| {
            e.operation = i;
            PatchFailure::Operation(e)
        })?;
    }
    Ok(())
}

/// The number of JSON values in `v` (itself included), counting stopped past `limit`.
fn count_values(v: &Value, limit: u64) -> u64 {
    let mut stack = vec![v];
    let mut n: u64 = 0;
    while let Some(v) = stack.pop() {
        n += 1;
        if n > limit {
            break;
        }
        match v {
            Value::Array(a) => stack.extend(a),
            Value::Object(o) => stack.extend(o.values()),
            _ => {}
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ops(v: Value) -> json_patch::Patch {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn ordinary_operations_apply_as_rfc_6902_says() {
        let mut doc = json!({"a": [1, 2], "b": {"c": 3}});
        patch_bounded(
            &mut doc,
            &ops(json!([
                {"op": "add", "path": "/a/-", "value": 4},
                {"op": "copy", "from": "/b", "path": "/d"},
                {"op": "move", "from": "/b/c", "path": "/e"},
                {"op": "test", "path": "/e", "value": 3},
                {"op": "remove", "path": "/a/0"},
            ])),
        )
        .unwrap();
        assert_eq!(doc, json!({"a": [2, 4], "b": {}, "d": {"c": 3}, "e": 3}));
    }

    #[test]
    fn errors_name_the_failing_operation() {
        let mut doc = json!({"a": 1});
        let e = patch_bounded(
            &mut doc,
            &ops(json!([{"op": "add", "path": "/b", "value": 2}, {"op": "remove", "path": "/x"}])),
        )
        .unwrap_err();
        let PatchFailure::Operation(e) = e else { panic!("{e:?}") };
        assert_eq!(e.operation, 1);
    }

    #[test]
    fn doubling_copies_are_refused_before_they_allocate() {
        // Each copy of the root doubles the document.
        let mut doc = json!({"channels": [{"name": "c", "samples": [1, 2, 3]}]});
        let doubling: Vec<Value> =
            (0..40).map(|i| json!({"op": "copy", "from": "", "path": format!("/x{i}")})).collect();
        let e = patch_bounded(&mut doc, &ops(Value::Array(doubling))).unwrap_err();
        let PatchFailure::TooLarge { operation, reason } = e else { panic!("{e:?}") };
        // 100 000 values of allowance: 2^13 times a 7-value document, give or take.
        assert!((5..40).contains(&operation), "stopped at operation {operation}");
        assert!(reason.contains("too large"), "{reason}");
        assert!(count_values(&doc, u64::MAX) < 2 * 7 + 2 * COPY_ALLOWANCE);
    }

    #[test]
    fn the_worker_and_the_client_report_a_doubling_patch_as_a_patch_error() {
        let ws = json!({
            "channels": [{"name": "c", "samples": [{"name": "b", "data": [1.0], "modifiers": []}]}],
            "observations": [{"name": "c", "data": [1.0]}],
            "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
            "version": "1.0.0"
        });
        let ws = crate::spec::LoadedWorkspace::from_value("ws.json", ws).unwrap();
        let ops: Vec<Value> = (0..40).map(|i| json!({"op": "copy", "from": "", "path": format!("/x{i}")})).collect();
        let text = Value::Array(ops).to_string();
        let e = crate::spec::apply_operations("ws.json", &ws, "bomb", &text).unwrap_err();
        assert_eq!(e.kind, crate::spec::SpecErrorKind::Patch);
        let msg = e.to_string();
        assert!(msg.contains("copying the whole document would make the workspace too large"), "{msg}");
        assert!(msg.contains("(patch bomb)"), "{msg}");
    }

    #[test]
    fn deep_pointers_are_refused() {
        let mut doc = json!({});
        let path = "/a".repeat(MAX_POINTER_DEPTH + 1);
        let e = patch_bounded(&mut doc, &ops(json!([{"op": "add", "path": path, "value": 1}]))).unwrap_err();
        assert!(matches!(e, PatchFailure::TooLarge { operation: 0, .. }), "{e:?}");
    }
}
