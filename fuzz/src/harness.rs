//! What each fuzz target does with its input, as the worker and the client would.
//!
//! Included (`#[path]`) by the libFuzzer targets in `fuzz_targets/` and by the corpus replay
//! test `tests/fuzz_corpus.rs` of the main workspace, so both run exactly the same code. A
//! function here may return early on an error (bad input is expected); it must never panic,
//! hang or allocate without bound, whatever the bytes.
#![allow(dead_code)]

use fitfleet_engine::model::{Model, ModelSettings};
use fitfleet_engine::spec::{LoadedWorkspace, PatchSet, apply_operations};
use fitfleet_protocol::{Task, TaskResult, Work};

/// The background-only workspace the patchset and task targets patch: two channels, the
/// modifier types pyhf knows, one measurement. Small, so that an execution stays fast.
pub const BACKGROUND: &str = r#"{
  "channels": [
    {"name": "SR", "samples": [
      {"name": "bkg", "data": [10.0, 5.0], "modifiers": [
        {"name": "bkg_norm", "type": "normsys", "data": {"hi": 1.1, "lo": 0.9}},
        {"name": "jes", "type": "histosys", "data": {"hi_data": [11.0, 5.5], "lo_data": [9.0, 4.5]}},
        {"name": "staterror_SR", "type": "staterror", "data": [1.0, 0.7]},
        {"name": "lumi", "type": "lumi", "data": null}
      ]}
    ]},
    {"name": "CR", "samples": [
      {"name": "bkg", "data": [100.0], "modifiers": [
        {"name": "mu_bkg", "type": "normfactor", "data": null},
        {"name": "shape_CR", "type": "shapesys", "data": [5.0]}
      ]}
    ]}
  ],
  "observations": [
    {"name": "SR", "data": [12.0, 4.0]},
    {"name": "CR", "data": [98.0]}
  ],
  "measurements": [
    {"name": "meas", "config": {"poi": "mu_SIG", "parameters": [
      {"name": "lumi", "auxdata": [1.0], "sigmas": [0.02], "bounds": [[0.9, 1.1]], "inits": [1.0]},
      {"name": "mu_SIG", "bounds": [[0.0, 10.0]]}
    ]}}
  ],
  "version": "1.0.0"
}"#;

/// At most this many patches of one input are applied (each application clones the
/// workspace; the checks of the patchset itself cover all of them).
const MAX_APPLIED: usize = 8;

fn background() -> LoadedWorkspace {
    LoadedWorkspace::from_slice("fuzz-background.json", BACKGROUND.as_bytes())
        .expect("the fuzz background workspace is valid")
}

/// Bytes as a workspace file (plain or gzip JSON): parse, type, validate, then build the
/// model as the worker does.
pub fn workspace(data: &[u8]) {
    let Ok(loaded) = LoadedWorkspace::from_slice("fuzz.json", data) else {
        return;
    };
    let _ = Model::new(&loaded.workspace, &ModelSettings::default());
}

/// Bytes as a patchset file: parse and check it, then apply its patches to [`BACKGROUND`]
/// as the client does (`PatchSet::apply_to`, checked against the general `PatchSet::apply`)
/// and as the worker does (`apply_operations` on the
/// operations text a task carries), and build the model of each patched workspace.
pub fn patchset(data: &[u8]) {
    let Ok(set) = PatchSet::from_slice("fuzz-patchset.json", data) else {
        return;
    };
    let bg = background();
    let _ = set.verify_digest(&bg.value);
    for patch in set.patches().iter().take(MAX_APPLIED) {
        let _ = set.by_values(patch.values());
        let general = set.apply(&bg.value, patch);
        let typed = set.apply_to(&bg, patch);
        assert_eq!(general.is_ok(), typed.is_ok(), "a patch applies to the typed workspace as to its JSON");
        if let Ok(ws) = general {
            assert_eq!(Some(&ws), typed.as_ref().ok(), "the same patched workspace either way");
            let _ = Model::new(&ws, &ModelSettings::default());
        }
        let _ = apply_operations("fuzz", &bg, patch.name(), patch.operations_json());
    }
}

/// Bytes as a queue message: decode a task (and a result, the other message kind), encode
/// what decoded and decode it again, and do what a worker does before fitting: apply the
/// task's patch to [`BACKGROUND`] and lay out its scan grid.
pub fn task(data: &[u8]) {
    if let Ok(result) = TaskResult::decode(data) {
        let bytes = result.encode().expect("a decoded result encodes");
        TaskResult::decode(&bytes).expect("an encoded result decodes");
    }
    let Ok(task) = Task::decode(data) else {
        return;
    };
    let bytes = task.encode().expect("a decoded task encodes");
    let again = Task::decode(&bytes).expect("an encoded task decodes");
    assert_eq!(again.task_id, task.task_id, "task ids survive a round trip");
    let _ = task.label();
    // As the worker: the work is checked before anything is laid out for it.
    if task.work.check().is_ok()
        && let Work::UpperLimit { scan: Some(grid), .. } = &task.work
    {
        assert!(grid.values().len() <= fitfleet_protocol::MAX_SCAN_POINTS as usize);
    }
    if let Some(patch) = &task.patch
        && let Ok(ws) = apply_operations("fuzz", &background(), &patch.name, &patch.operations)
    {
        let _ = Model::new(&ws, &task.settings);
    }
}
