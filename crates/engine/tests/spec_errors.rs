//! Every kind of bad input gives an error that names the file, the JSON path and the reason.
mod common;

use std::io::Write;
use std::path::Path;

use fitfleet_engine::spec::{
    LoadedWorkspace, PatchSet, PatchValue, PatchedWorkspace, SpecError, SpecErrorKind, Workspace, digest,
    load_workspace_with_patch,
};
use serde_json::{Value, json};

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec_pretty(v).expect("serialises")
}

/// The workspace with `edit` applied, loaded from bytes named "ws.json": the error.
fn error_after(edit: impl FnOnce(&mut Value)) -> SpecError {
    let mut ws = common::small_workspace();
    edit(&mut ws);
    match Workspace::from_slice("ws.json", &bytes(&ws)) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

fn at<'a>(v: &'a mut Value, pointer: &str) -> &'a mut Value {
    v.pointer_mut(pointer).unwrap_or_else(|| panic!("no {pointer} in the test workspace"))
}

fn assert_problem(e: &SpecError, kind: SpecErrorKind, line: &str) {
    let text = e.to_string();
    assert_eq!(e.kind, kind, "{text}");
    assert!(text.lines().any(|l| l.starts_with(line)), "expected a line starting with\n  {line}\ngot\n{text}");
}

#[test]
fn the_small_workspace_is_valid() {
    let loaded =
        LoadedWorkspace::from_slice("ws.json", &bytes(&common::small_workspace())).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.workspace.channels.len(), 2);
    assert_eq!(loaded.digest, digest(&common::small_workspace()));
}

#[test]
fn bad_json_gives_line_and_column() {
    let text = "{\n  \"channels\": [\n    {\"name\": \"SR\", \"samples\": [}\n  ]\n}\n";
    let e = Workspace::from_slice("BkgOnly.json", text.as_bytes()).unwrap_err();
    assert_problem(&e, SpecErrorKind::Syntax, "BkgOnly.json: channels[0].samples");
    assert!(e.to_string().contains("at line 3 column"), "{e}");
}

#[test]
fn empty_input_is_bad_json() {
    let e = Workspace::from_slice("empty.json", b"").unwrap_err();
    assert_problem(&e, SpecErrorKind::Syntax, "empty.json: not valid JSON: EOF while parsing");
}

#[test]
fn missing_field_names_its_object() {
    let e = error_after(|ws| {
        at(ws, "/channels/0/samples/1").as_object_mut().unwrap().remove("modifiers");
    });
    assert_problem(&e, SpecErrorKind::Format, "ws.json: channels[0].samples[1]: missing field `modifiers`");
}

#[test]
fn wrong_type_names_the_value() {
    let e = error_after(|ws| *at(ws, "/channels/0/samples/0/data/1") = json!("ten"));
    assert_problem(&e, SpecErrorKind::Format, "ws.json: channels[0].samples[0].data[1]: invalid type: string \"ten\"");
    let e = error_after(|ws| *at(ws, "/measurements/0/config/parameters/1/bounds/0") = json!([0, 1, 2]));
    assert_problem(
        &e,
        SpecErrorKind::Format,
        "ws.json: measurements[0].config.parameters[1].bounds[0]: invalid length 3",
    );
}

#[test]
fn unknown_field_is_an_error() {
    let e = error_after(|ws| {
        ws.as_object_mut().unwrap().insert("channel".into(), json!([]));
    });
    assert_problem(&e, SpecErrorKind::Format, "ws.json: channel: unknown field `channel`");
}

#[test]
fn unknown_modifier_type_points_at_type() {
    let e = error_after(|ws| *at(ws, "/channels/0/samples/1/modifiers/3/type") = json!("shapesyst"));
    assert_problem(
        &e,
        SpecErrorKind::Format,
        "ws.json: channels[0].samples[1].modifiers[3].type: unknown modifier type \"shapesyst\"",
    );
}

#[test]
fn bad_modifier_data_points_inside_data() {
    let e = error_after(|ws| *at(ws, "/channels/0/samples/1/modifiers/1/data/hi_data/2") = json!(null));
    assert_problem(
        &e,
        SpecErrorKind::Format,
        "ws.json: channels[0].samples[1].modifiers[1].data.hi_data[2]: invalid type: null",
    );
    let e = error_after(|ws| {
        at(ws, "/channels/0/samples/1/modifiers/0/data").as_object_mut().unwrap().remove("hi");
    });
    assert_problem(&e, SpecErrorKind::Format, "ws.json: channels[0].samples[1].modifiers[0].data: missing field `hi`");
    let e = error_after(|ws| *at(ws, "/channels/0/samples/0/modifiers/0/data") = json!([1.0]));
    assert_problem(
        &e,
        SpecErrorKind::Format,
        "ws.json: channels[0].samples[0].modifiers[0].data: a normfactor modifier takes null data",
    );
}

#[test]
fn histosys_with_wrong_bin_count() {
    let e = error_after(|ws| {
        at(ws, "/channels/0/samples/1/modifiers/1/data/hi_data").as_array_mut().unwrap().pop();
    });
    assert_problem(
        &e,
        SpecErrorKind::Invalid,
        "ws.json: channels[0].samples[1].modifiers[1].data.hi_data: 2 values for 3 bins",
    );
}

#[test]
fn staterror_and_shapesys_with_wrong_bin_count() {
    let e = error_after(|ws| {
        at(ws, "/channels/0/samples/1/modifiers/2/data").as_array_mut().unwrap().push(json!(1.0));
        at(ws, "/channels/0/samples/1/modifiers/3/data").as_array_mut().unwrap().pop();
    });
    assert_problem(
        &e,
        SpecErrorKind::Invalid,
        "ws.json: channels[0].samples[1].modifiers[2].data: 4 values for 3 bins",
    );
    assert_problem(
        &e,
        SpecErrorKind::Invalid,
        "ws.json: channels[0].samples[1].modifiers[3].data: 2 values for 3 bins",
    );
}

#[test]
fn samples_of_a_channel_have_the_same_bins() {
    let e = error_after(|ws| {
        at(ws, "/channels/0/samples/1/data").as_array_mut().unwrap().push(json!(1.0));
    });
    assert_problem(&e, SpecErrorKind::Invalid, "ws.json: channels[0].samples[1].data: 4 bins, but sample \"signal\"");
}

#[test]
fn observation_with_wrong_bin_count() {
    let e = error_after(|ws| {
        at(ws, "/observations/0/data").as_array_mut().unwrap().pop();
    });
    assert_problem(&e, SpecErrorKind::Invalid, "ws.json: observations[0].data: 2 values for 3 bins of channel \"SR\"");
}

#[test]
fn observations_must_match_the_channels() {
    let e = error_after(|ws| *at(ws, "/observations/1/name") = json!("CR_typo"));
    assert_problem(
        &e,
        SpecErrorKind::Invalid,
        "ws.json: observations[1].name: observation for \"CR_typo\", but there is no channel",
    );
    assert_problem(
        &e,
        SpecErrorKind::Invalid,
        "ws.json: observations: no observation for channel \"CR\" (channels[1])",
    );
    let e = error_after(|ws| {
        let obs = at(ws, "/observations/0").clone();
        at(ws, "/observations").as_array_mut().unwrap().push(obs);
    });
    assert_problem(
        &e,
        SpecErrorKind::Invalid,
        "ws.json: observations[2].name: channel \"SR\" already has an observation at observations[0]",
    );
}

#[test]
fn negative_observed_counts() {
    let e = error_after(|ws| *at(ws, "/observations/0/data/2") = json!(-1));
    assert_problem(&e, SpecErrorKind::Invalid, "ws.json: observations[0].data[2]: negative observed count -1");
}

#[test]
fn version_and_empty_lists() {
    let e = error_after(|ws| *at(ws, "/version") = json!("1.1.0"));
    assert_problem(&e, SpecErrorKind::Invalid, "ws.json: version: version \"1.1.0\" is not supported");
    let e = error_after(|ws| *at(ws, "/measurements") = json!([]));
    assert_problem(&e, SpecErrorKind::Invalid, "ws.json: measurements: a workspace needs at least one entry");
    let e = error_after(|ws| *at(ws, "/channels/1/samples") = json!([]));
    assert_problem(&e, SpecErrorKind::Invalid, "ws.json: channels[1].samples: a channel needs at least one sample");
}

#[test]
fn names_must_be_unique() {
    let e = error_after(|ws| *at(ws, "/channels/1/name") = json!("SR"));
    assert_problem(
        &e,
        SpecErrorKind::Invalid,
        "ws.json: channels[1].name: channel \"SR\" is already defined at channels[0]",
    );
    let e = error_after(|ws| *at(ws, "/channels/0/samples/1/name") = json!("signal"));
    assert_problem(
        &e,
        SpecErrorKind::Invalid,
        "ws.json: channels[0].samples[1].name: sample \"signal\" is already defined",
    );
}

#[test]
fn lumi_must_be_named_lumi() {
    let e = error_after(|ws| *at(ws, "/channels/0/samples/0/modifiers/1/name") = json!("Lumi"));
    assert_problem(
        &e,
        SpecErrorKind::Invalid,
        "ws.json: channels[0].samples[0].modifiers[1].name: a lumi modifier must be named \"lumi\"",
    );
}

#[test]
fn shapesys_is_not_shared() {
    let e = error_after(|ws| {
        let m = at(ws, "/channels/0/samples/1/modifiers/3").clone();
        let mut m1 = m.clone();
        m1["data"] = json!([1.0]);
        at(ws, "/channels/1/samples/0/modifiers").as_array_mut().unwrap().push(m1);
    });
    assert_problem(
        &e,
        SpecErrorKind::Invalid,
        "ws.json: channels[1].samples[0].modifiers[1].name: shapesys \"bkg_unc\" is already used at channels[0].samples[1].modifiers[3]",
    );
}

#[test]
fn one_name_for_incompatible_modifier_types() {
    let e = error_after(|ws| *at(ws, "/channels/0/samples/1/modifiers/4/name") = json!("mu"));
    assert_problem(
        &e,
        SpecErrorKind::Invalid,
        "ws.json: channels[0].samples[1].modifiers[4].name: parameter \"mu\" is a shapefactor here but a normfactor at channels[0].samples[0].modifiers[0]",
    );
}

#[test]
fn parameter_configs() {
    let e = error_after(|ws| *at(ws, "/measurements/0/config/parameters/1/bounds/0") = json!([5, 1]));
    assert_problem(
        &e,
        SpecErrorKind::Invalid,
        "ws.json: measurements[0].config.parameters[1].bounds[0]: lower bound 5 is above the upper bound 1",
    );
    let e = error_after(|ws| *at(ws, "/measurements/0/config/parameters/1/inits/0") = json!(12.5));
    assert_problem(
        &e,
        SpecErrorKind::Invalid,
        "ws.json: measurements[0].config.parameters[1].inits[0]: initial value 12.5 is outside the bounds [0, 10]",
    );
    let e = error_after(|ws| {
        let p = at(ws, "/measurements/0/config/parameters/1").clone();
        at(ws, "/measurements/0/config/parameters").as_array_mut().unwrap().push(p);
    });
    assert_problem(
        &e,
        SpecErrorKind::Invalid,
        "ws.json: measurements[0].config.parameters[3].name: parameter \"mu\" is already configured at parameters[1]",
    );
    let e = error_after(|ws| {
        at(ws, "/measurements/0/config/parameters")
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "jes", "sigmas": [0.5]}));
    });
    assert_problem(
        &e,
        SpecErrorKind::Invalid,
        "ws.json: measurements[0].config.parameters[3].sigmas: \"jes\" is a normsys parameter, which does not use sigmas",
    );
    let e = error_after(|ws| *at(ws, "/measurements/0/config/parameters/2/inits") = json!([1.0, 1.0]));
    assert_problem(
        &e,
        SpecErrorKind::Invalid,
        "ws.json: measurements[0].config.parameters[2].inits: 2 values for the 3 parameters of shapesys \"bkg_unc\"",
    );
}

#[test]
fn lumi_needs_its_configuration() {
    let e = error_after(|ws| {
        at(ws, "/measurements/0/config/parameters/0").as_object_mut().unwrap().remove("sigmas");
    });
    assert_problem(
        &e,
        SpecErrorKind::Invalid,
        "ws.json: measurements[0].config.parameters[0]: the luminosity needs inits, bounds, auxdata and sigmas; missing: sigmas",
    );
    let e = error_after(|ws| {
        at(ws, "/measurements/0/config/parameters").as_array_mut().unwrap().remove(0);
    });
    assert_problem(
        &e,
        SpecErrorKind::Invalid,
        "ws.json: measurements[0].config.parameters: the workspace has a lumi modifier",
    );
}

#[test]
fn every_problem_is_reported_up_to_a_cap() {
    let e = error_after(|ws| {
        *at(ws, "/version") = json!("2");
        *at(ws, "/observations/0/data/0") = json!(-3);
        *at(ws, "/channels/1/name") = json!("SR");
    });
    let text = e.to_string();
    assert_eq!(e.problems().count(), text.lines().count(), "{text}");
    assert!(e.problems().count() >= 3, "{text}");
    assert!(text.lines().all(|l| l.starts_with("ws.json: ")), "{text}");

    let e = error_after(|ws| *at(ws, "/observations/0/data") = json!(vec![-1.0; 30]));
    assert_eq!(e.problems().count(), fitfleet_engine::spec::MAX_REPORTED_PROBLEMS);
    assert!(e.omitted > 0 && e.to_string().contains("more problems"), "{e}");
}

#[test]
fn non_finite_numbers_are_invalid() {
    // JSON cannot carry NaN, but a workspace built in memory can.
    let mut ws = Workspace::from_value(&common::small_workspace()).expect("valid");
    ws.channels[0].samples[1].data[1] = f64::NAN;
    ws.observations[1].data[0] = f64::INFINITY;
    let e = ws.validate("built").unwrap_err();
    assert_problem(&e, SpecErrorKind::Invalid, "built: channels[0].samples[1].data[1]: NaN is not a finite number");
    assert_problem(&e, SpecErrorKind::Invalid, "built: observations[1].data[0]: inf is not a finite number");
}

fn write(dir: &Path, name: &str, content: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("writes the test file");
    path
}

fn gzip(content: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(content).expect("compresses");
    enc.finish().expect("compresses")
}

#[test]
fn gzip_files_load_like_plain_ones() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let plain = bytes(&common::small_workspace());
    let json = write(dir.path(), "ws.json", &plain);
    let gz = write(dir.path(), "ws.json.gz", &gzip(&plain));
    // gzip is recognised by content, not by name
    let misnamed = write(dir.path(), "ws-gz.json", &gzip(&plain));
    let a = LoadedWorkspace::from_path(&json).expect("plain");
    let b = LoadedWorkspace::from_path(&gz).expect("gzip");
    let c = LoadedWorkspace::from_path(&misnamed).expect("gzip named .json");
    assert_eq!(a.workspace, b.workspace);
    assert_eq!(a.value, c.value);
    assert_eq!(a.digest, b.digest);
}

#[test]
fn gzip_that_unpacks_past_the_bound_is_refused_unpacked_no_further() {
    let text = bytes(&common::small_workspace());
    let gz = gzip(&text);
    let limit = text.len() as u64 - 1;
    let e = fitfleet_engine::spec::decompress_at_most("bomb.json.gz", &gz, limit).unwrap_err();
    assert_eq!(e.kind, SpecErrorKind::Gzip, "{e}");
    assert_eq!(
        e.to_string(),
        format!("bomb.json.gz: unpacks to more than {limit} bytes, the most a gzip-compressed document may hold")
    );
    let exact = fitfleet_engine::spec::decompress_at_most("ok.json.gz", &gz, text.len() as u64).expect("at the bound");
    assert_eq!(exact.as_ref(), text.as_slice());
    assert_eq!(fitfleet_engine::spec::MAX_DECOMPRESSED_BYTES, 1 << 30);
}

#[test]
fn gzip_files_with_bad_content() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let gz = gzip(&bytes(&common::small_workspace()));
    let truncated = write(dir.path(), "truncated.json.gz", &gz[..gz.len() / 2]);
    let e = Workspace::from_path(&truncated).unwrap_err();
    assert_eq!(e.kind, SpecErrorKind::Gzip, "{e}");
    assert!(
        e.to_string().starts_with(&format!("{}: starts like gzip but does not decompress", truncated.display())),
        "{e}"
    );

    let bad_json = write(dir.path(), "bad.json.gz", &gzip(b"{\"channels\": [1,,]}"));
    let e = Workspace::from_path(&bad_json).unwrap_err();
    assert_eq!(e.kind, SpecErrorKind::Syntax, "{e}");
    let text = e.to_string();
    assert!(text.starts_with(&format!("{}: channels[1]: not valid JSON", bad_json.display())), "{text}");
    assert!(text.contains("line 1 column 17") && text.contains("(in the decompressed text)"), "{text}");

    let not_gzip = write(dir.path(), "plain.json.gz", b"not json at all");
    let e = Workspace::from_path(&not_gzip).unwrap_err();
    assert!(e.to_string().contains("the file is named .gz but is not gzip-compressed"), "{e}");
}

#[test]
fn missing_file_is_named() {
    let e = Workspace::from_path("/nonexistent/BkgOnly.json").unwrap_err();
    assert_eq!(e.kind, SpecErrorKind::Io);
    assert!(e.to_string().starts_with("/nonexistent/BkgOnly.json: cannot read: "), "{e}");
}

fn small_patchset() -> (Value, PatchSet) {
    let ws = common::small_workspace();
    let ps = common::small_patchset(&digest(&ws));
    let set = PatchSet::from_slice("patchset.json", &bytes(&ps)).unwrap_or_else(|e| panic!("{e}"));
    (ws, set)
}

#[test]
fn patches_by_name_and_by_values() {
    let (ws, set) = small_patchset();
    assert_eq!(set.patch_names(), ["grid_300_100", "grid_400_100", "grid_400_200"]);
    let patch = set.get("grid_400_100").expect("known patch");
    assert_eq!(patch.index, 1);
    assert_eq!(patch.metadata.extra["note"], json!("extra keys are allowed"));
    let by_values = set.by_values(&[PatchValue::from(400.0), PatchValue::from(100)]).expect("values");
    assert_eq!(by_values.name(), "grid_400_100");
    let near = set.by_values(&[PatchValue::from(400), PatchValue::from(200.5000000001)]).expect("tolerance");
    assert_eq!(near.name(), "grid_400_200");
    set.verify_digest(&ws).expect("the patchset was made for this workspace");
    let patched = apply_both(&set, &ws, patch).unwrap_or_else(|e| panic!("{e}"));
    let susy = patched.channels[0].samples.last().expect("a sample");
    assert_eq!(susy.name, "susy");
    assert_eq!(susy.data, [2.0, 4.0, 1.0]);
}

#[test]
fn unknown_patch_name_lists_close_names() {
    let (_, set) = small_patchset();
    let e = set.get("grid_400_10").unwrap_err();
    assert_eq!(e.kind, SpecErrorKind::UnknownPatch);
    let text = e.to_string();
    assert!(
        text.starts_with(
            "patchset.json: patches: no patch named \"grid_400_10\" among its 3 patches; closest: grid_400_100,"
        ),
        "{text}"
    );
    let e = set.by_values(&[PatchValue::from(500), PatchValue::from(100)]).unwrap_err();
    assert!(
        e.to_string().contains("no patch with values [500, 100] (labels m1, m2); closest: grid_400_100 [400, 100.0]"),
        "{e}"
    );
}

#[test]
fn digest_mismatch_names_both_digests() {
    let (mut ws, set) = small_patchset();
    let expected = digest(&ws);
    *at(&mut ws, "/observations/1/data/0") = json!(102);
    let actual = digest(&ws);
    let e = set.verify_digest(&ws).unwrap_err();
    assert_eq!(e.kind, SpecErrorKind::DigestMismatch);
    assert_eq!(
        e.to_string(),
        format!(
            "patchset.json: metadata.digests.sha256: workspace digest is {actual} but the patchset was made for {expected}"
        )
    );
}

#[test]
fn failing_patch_operation_names_patch_and_op() {
    let ws = common::small_workspace();
    let mut ps = common::small_patchset(&digest(&ws));
    let ops = at(&mut ps, "/patches/2/patch").as_array_mut().unwrap();
    ops.insert(0, json!({"op": "remove", "path": "/channels/1"}));
    ops.push(json!({"op": "add", "path": "/channels/9/samples/-", "value": {}}));
    let set = PatchSet::from_slice("patchset.json", &bytes(&ps)).expect("valid patchset");
    let e = apply_both(&set, &ws, set.get("grid_400_200").unwrap()).unwrap_err();
    assert_eq!(e.kind, SpecErrorKind::Patch);
    assert_eq!(
        e.to_string(),
        "patchset.json: patches[2].patch[2]: path /channels/9/samples/- does not exist in the workspace (patch grid_400_200)"
    );
}

#[test]
fn patched_workspace_is_validated() {
    let ws = common::small_workspace();
    let mut ps = common::small_patchset(&digest(&ws));
    *at(&mut ps, "/patches/0/patch/0/value/data") = json!([1.0, 2.0]);
    let set = PatchSet::from_slice("patchset.json", &bytes(&ps)).expect("valid patchset");
    let e = apply_both(&set, &ws, set.get("grid_300_100").unwrap()).unwrap_err();
    assert_problem(
        &e,
        SpecErrorKind::Invalid,
        "workspace patched with grid_300_100 (patchset.json patches[0]): channels[0].samples[2].data: 2 bins",
    );
}

#[test]
fn samples_added_at_an_index_land_where_rfc_6902_puts_them() {
    let ws = common::small_workspace();
    let mut ps = common::small_patchset(&digest(&ws));
    let ops = at(&mut ps, "/patches/0/patch").as_array_mut().unwrap();
    let mut first = ops[0].clone();
    first["path"] = json!("/channels/0/samples/0");
    first["value"]["name"] = json!("first");
    let mut second = ops[0].clone();
    second["path"] = json!("/channels/0/samples/1");
    second["value"]["name"] = json!("second");
    ops.extend([first, second]);
    let set = PatchSet::from_slice("patchset.json", &bytes(&ps)).expect("valid patchset");
    let patched = apply_both(&set, &ws, set.get("grid_300_100").unwrap()).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = patched.channels[0].samples.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names[..2], ["first", "second"]);
    assert_eq!(names.last(), Some(&"susy"));

    // Past the end: refused, by the general way's words.
    let mut ps = common::small_patchset(&digest(&ws));
    *at(&mut ps, "/patches/0/patch/0/path") = json!("/channels/0/samples/7");
    let set = PatchSet::from_slice("patchset.json", &bytes(&ps)).expect("valid patchset");
    let e = apply_both(&set, &ws, set.get("grid_300_100").unwrap()).unwrap_err();
    assert_eq!(e.kind, SpecErrorKind::Patch);
}

#[test]
fn removing_a_channel_may_leave_its_observation() {
    // As the sbottom patchsets do: pyhf ignores observations of channels the model lacks.
    let ws = common::small_workspace();
    let mut ps = common::small_patchset(&digest(&ws));
    at(&mut ps, "/patches/0/patch").as_array_mut().unwrap().push(json!({"op": "remove", "path": "/channels/1"}));
    let set = PatchSet::from_slice("patchset.json", &bytes(&ps)).expect("valid patchset");
    let patched = apply_both(&set, &ws, set.get("grid_300_100").unwrap()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(patched.channels.len(), 1);
    assert_eq!(patched.observations.len(), 2);
}

#[test]
fn bad_patchsets() {
    let ws = common::small_workspace();
    let mut ps = common::small_patchset(&digest(&ws));
    *at(&mut ps, "/patches/1/metadata/name") = json!("grid_300_100");
    at(&mut ps, "/patches/2/metadata/values").as_array_mut().unwrap().pop();
    *at(&mut ps, "/metadata/references/hepdata") = json!("1234567");
    let e = PatchSet::from_slice("patchset.json", &bytes(&ps)).unwrap_err();
    assert_problem(
        &e,
        SpecErrorKind::Invalid,
        "patchset.json: patches[1].metadata.name: patch \"grid_300_100\" is already defined at patches[0]",
    );
    assert_problem(
        &e,
        SpecErrorKind::Invalid,
        "patchset.json: patches[2].metadata.values: 1 values for the 2 labels m1, m2",
    );
    assert_problem(
        &e,
        SpecErrorKind::Invalid,
        "patchset.json: metadata.references.hepdata: \"1234567\" is not a HEPData record id",
    );

    // Operations are read when the patch is applied.
    let mut ps = common::small_patchset(&digest(&ws));
    *at(&mut ps, "/patches/1/patch/0/op") = json!("append");
    let set = PatchSet::from_slice("patchset.json", &bytes(&ps)).expect("operations are read later");
    let e = apply_both(&set, &ws, set.get("grid_400_100").unwrap()).unwrap_err();
    assert_problem(&e, SpecErrorKind::Format, "patchset.json: patches[1].patch[0].op: unknown variant `append`");
    assert!(!e.to_string().contains("line 1"), "{e}");

    let mut ps = common::small_patchset(&digest(&ws));
    *at(&mut ps, "/patches/0/metadata/values/1") = json!(true);
    *at(&mut ps, "/metadata/labels") = json!("m1");
    let e = PatchSet::from_slice("patchset.json", &bytes(&ps)).unwrap_err();
    assert_problem(
        &e,
        SpecErrorKind::Format,
        "patchset.json: metadata.labels: invalid type: string \"m1\", expected a sequence",
    );

    let mut ps = common::small_patchset(&digest(&ws));
    *at(&mut ps, "/patches/0/metadata/values/1") = json!(true);
    let e = PatchSet::from_slice("patchset.json", &bytes(&ps)).unwrap_err();
    assert_problem(
        &e,
        SpecErrorKind::Format,
        "patchset.json: patches[0].metadata.values[1]: a patch value is a number or a string, not true",
    );
}

#[test]
fn workspace_with_patch_in_one_call() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let ws = common::small_workspace();
    let ws_path = write(dir.path(), "BkgOnly.json", &bytes(&ws));
    let ps_path = write(dir.path(), "patchset.json", &bytes(&common::small_patchset(&digest(&ws))));

    let plain = load_workspace_with_patch(&ws_path, None, None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plain.value, ws);
    assert_eq!(plain.background_digest, digest(&ws));
    assert_eq!(plain.patch, None);

    let patched =
        load_workspace_with_patch(&ws_path, Some(&ps_path), Some("grid_400_200")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(patched.background_digest, digest(&ws));
    assert_eq!(patched.patch.as_deref(), Some("grid_400_200"));
    assert_eq!(patched.value["channels"][0]["samples"][2]["name"], json!("susy"));
    assert_eq!(Workspace::from_value(&patched.value).expect("valid"), patched.workspace);

    let e = load_workspace_with_patch(&ws_path, Some(&ps_path), None).unwrap_err();
    assert_eq!(e.kind, SpecErrorKind::Usage);
    assert!(
        e.to_string().contains(
            "needs the name of the patch to apply: one of grid_300_100, grid_400_100, grid_400_200 (3 patches)"
        ),
        "{e}"
    );
    let e = load_workspace_with_patch(&ws_path, None, Some("grid_400_200")).unwrap_err();
    assert_eq!(e.kind, SpecErrorKind::Usage);

    // A patchset made for another workspace is refused.
    let mut other = ws.clone();
    *at(&mut other, "/channels/1/samples/0/data/0") = json!(100.5);
    let other_path = write(dir.path(), "Other.json", &bytes(&other));
    let e = load_workspace_with_patch(&other_path, Some(&ps_path), Some("grid_400_200")).unwrap_err();
    assert_eq!(e.kind, SpecErrorKind::DigestMismatch, "{e}");

    // The same from bytes, as a worker holds them.
    let loaded = LoadedWorkspace::from_slice("ws-from-broker", &bytes(&ws)).expect("valid");
    let set = PatchSet::from_slice("patchset-from-broker", &std::fs::read(&ps_path).unwrap()).expect("valid");
    let from_bytes = PatchedWorkspace::new(loaded, Some(&set), Some("grid_400_200")).expect("applies");
    assert_eq!(from_bytes, patched);
}

/// Applies `patch` both ways, to the workspace's JSON ([`PatchSet::apply`]) and to the typed
/// workspace ([`PatchSet::apply_to`], which takes a short way for patches that only add
/// samples), and checks that they agree to the letter of the error.
fn apply_both(set: &PatchSet, ws: &Value, patch: &fitfleet_engine::spec::Patch) -> Result<Workspace, SpecError> {
    let general = set.apply(ws, patch);
    let loaded = LoadedWorkspace::from_value("workspace.json", ws.clone()).expect("a valid background");
    let typed = set.apply_to(&loaded, patch);
    match (&general, &typed) {
        (Ok(a), Ok(b)) => assert!(a == b, "the typed patch differs from the JSON patch"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        _ => panic!("one way fails, the other not: {general:?} / {typed:?}"),
    }
    general
}
