//! pyhf's workspace operations, on the workspace JSON, with pyhf's results and errors.
//!
//! Each operation takes the JSON as read (numbers as written: an integer count stays an
//! integer, so the result's digest is pyhf's) and returns a new workspace, checked as pyhf's
//! `Workspace(spec)` checks it (its JSON schema: [`Checked::new`]):
//! - `combine.rs`: [`combine`], pyhf's `Workspace.combine` with its four [`Join`] modes;
//! - `prune_rename.rs`: [`prune`] and [`rename`], pyhf's `Workspace.prune` and `.rename` (one
//!   function in pyhf, `_prune_and_rename`);
//! - `sort.rs`: [`sorted`], pyhf's `Workspace.sorted`;
//! - `extract.rs`: [`extract`], a patch's operations as `pyhf patchset extract` writes them, and
//!   [`apply_patch`], `pyhf patchset apply`;
//! - `py_eq.rs`: Python's `==` on JSON values (`1 == 1.0`), which decides what pyhf's joins
//!   treat as the same item.
mod combine;
mod extract;
mod prune_rename;
mod py_eq;
mod schema;
mod sort;

pub use combine::{Join, combine};
pub use extract::{apply_patch, extract};
pub use prune_rename::{Prune, Rename, prune, rename};
pub use py_eq::py_eq;
pub use schema::Checked;
pub use sort::sorted;

use serde_json::Value;

/// The items of an array field of a JSON object (empty when absent or not an array).
fn items<'a>(value: &'a Value, field: &str) -> &'a [Value] {
    value.get(field).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// The `name` of an item (empty when absent).
fn name_of(item: &Value) -> &str {
    item.get("name").and_then(Value::as_str).unwrap_or("")
}

/// Names quoted and comma-separated, for messages.
fn quoted<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names.into_iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ")
}
